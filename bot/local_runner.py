"""Child process that executes one local run with ``kfp.local``: ``python -m bot.local_runner RUN_DIR``.

One process per run because kfp.local keeps global state, rewires the root logger and streams
every task's output to stdout; here that stdout is the run's own log file.
"""

import importlib
import re
import sys
from pathlib import Path
from typing import Any

from bot.database import hold_embedded_server
from bot.launchers.local_files import ANSI, RunFiles
from bot.redaction import redact
from bot.runs import Output, RunState, RunStatus, TaskStatus

_INNER_TASK = re.compile(r"Inner task failed: '([^']+)'")
_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure))(?::\s*(.*))?$")


def main(run_dir: str) -> int:
    files = RunFiles(Path(run_dir))
    spec = files.read_spec()
    hold_embedded_server()
    from kfp import local

    module = importlib.import_module(f"pipelines.{spec['pipeline']}")
    dag_tasks = _dag_tasks(module.pipeline)
    local.init(local.SubprocessRunner(use_venv=False), pipeline_root=str(files.outputs), raise_on_error=True)
    try:
        task = module.pipeline(**spec["arguments"])
    except Exception as exc:  # kfp.local reports a failed task as RuntimeError; anything else is ours
        sys.stdout.flush()
        message = ANSI.sub("", str(exc))
        match = _INNER_TASK.search(message)
        failed = match.group(1) if match else None
        error = _last_exception(files) or message
        status = RunStatus(RunState.FAILED, _tasks(files, dag_tasks, failed), error=redact(error),
                           failed_task=failed)  # fmt: skip
    else:
        status = RunStatus(RunState.SUCCEEDED, _tasks(files, dag_tasks, None), _outputs(task))
    files.write_result(status)
    return 0 if status.state is RunState.SUCCEEDED else 1


def _dag_tasks(pipeline: Any) -> list[str]:
    """Task names in the order they run (dependencies first; the spec's map has no order)."""
    tasks = pipeline.pipeline_spec.root.dag.tasks
    waiting = {name: set(task.dependent_tasks) for name, task in tasks.items()}
    ordered: list[str] = []
    while waiting:
        ready = sorted(name for name, needs in waiting.items() if needs <= set(ordered)) or sorted(waiting)
        ordered.extend(ready)
        for name in ready:
            del waiting[name]
    return ordered


def _tasks(files: RunFiles, names: list[str], failed: str | None) -> tuple[TaskStatus, ...]:
    done = files.task_dirs()
    result = []
    for name in names:
        if name == failed:
            result.append(TaskStatus(name, RunState.FAILED.value))
        elif name in done and (done[name] / "executor_output.json").exists():
            result.append(TaskStatus(name, RunState.SUCCEEDED.value))
        else:
            result.append(TaskStatus(name, RunState.SKIPPED.value if failed else RunState.PENDING.value))
    return tuple(result)


def _outputs(task: Any) -> tuple[Output, ...]:
    outputs = []
    for value in (getattr(task, "outputs", None) or {}).values():
        uri = getattr(value, "uri", None)
        if uri:
            outputs.append(Output(Path(uri).name, uri))
    return tuple(outputs)


def _last_exception(files: RunFiles) -> str | None:
    """The failing component's exception line (``ValueError: …``), never the whole traceback."""
    found = None
    for line in ANSI.sub("", files.log.read_text(errors="replace")).splitlines():
        match = _EXCEPTION_LINE.match(line)
        if match and match.group(1) != "RuntimeError":
            found = f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2) or ''}".rstrip(": ")
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
