"""A local run's folder: the contract between the launcher and the child process that executes it.

    spec.json    pipeline and arguments (written by the launcher)
    claim        created exclusively by the one process that starts the run
    pid          the child's process id
    log.txt      the child's stdout and stderr (kfp's and the components' logs)
    outputs/     kfp.local's pipeline_root: one folder per task, artifacts inside
    result.json  the outcome, written atomically by the child (or by cancel)

Every process can tell a run's state from these files alone, so a restart loses nothing.
"""

import json
import os
import re
from pathlib import Path
from typing import Any

from bot.runs import Output, RunState, RunStatus, TaskStatus

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class RunFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.spec = folder / "spec.json"
        self.claim = folder / "claim"
        self.pid = folder / "pid"
        self.log = folder / "log.txt"
        self.outputs = folder / "outputs"
        self.result = folder / "result.json"

    def write_spec(self, pipeline: str, arguments: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.spec, {"pipeline": pipeline, "arguments": arguments})

    def read_spec(self) -> dict[str, Any]:
        return dict(json.loads(self.spec.read_text()))

    def try_claim(self) -> bool:
        """True for exactly one caller, across processes."""
        try:
            fd = os.open(self.claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True

    def write_result(self, status: RunStatus) -> None:
        _write_atomic(self.result, status_to_json(status))

    def read_result(self) -> RunStatus | None:
        try:
            return status_from_json(json.loads(self.result.read_text()))
        except FileNotFoundError:
            return None

    def read_pid(self) -> int | None:
        try:
            return int(self.pid.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def task_dirs(self) -> dict[str, Path]:
        """Task folders kfp.local made so far, by task name (one pipeline run per run folder)."""
        runs = sorted(self.outputs.glob("*/")) if self.outputs.exists() else []
        if not runs:
            return {}
        return {d.name: d for d in sorted(runs[-1].iterdir()) if d.is_dir()}

    def log_tail(self, lines: int = 60) -> str:
        try:
            with self.log.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - 16_384))
                text = handle.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(ANSI.sub("", text).splitlines()[-lines:])


def status_to_json(status: RunStatus) -> dict[str, Any]:
    return {
        "state": status.state.value,
        "tasks": [t.to_json() for t in status.tasks],
        "outputs": [o.to_json() for o in status.outputs],
        "error": status.error,
        "failed_task": status.failed_task,
    }


def status_from_json(data: dict[str, Any]) -> RunStatus:
    return RunStatus(
        state=RunState(data["state"]),
        tasks=tuple(TaskStatus(t["name"], t["state"], t.get("error")) for t in data.get("tasks", [])),
        outputs=tuple(Output(o["name"], o["uri"], o.get("url")) for o in data.get("outputs", [])),
        error=data.get("error"),
        failed_task=data.get("failed_task"),
    )


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
