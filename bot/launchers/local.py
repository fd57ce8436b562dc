"""``LocalLauncher``: runs pipelines on this machine with kfp.local, one child process per run."""

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.launchers import base
from bot.launchers.base import Launched
from bot.launchers.local_files import RunFiles
from bot.render import render_text
from bot.runs import Run, RunState, RunStatus, TaskStatus
from bot.store import ActiveRun

log = logging.getLogger(__name__)

_GRACE_S = 3.0


class LocalLauncher:
    name = "local"

    def __init__(
        self,
        runs_dir: Path,
        run_url: Callable[[str], str],
        *,
        max_running: int,
        poll_interval: float,
        child_env: dict[str, str],
    ) -> None:
        self.runs_dir = runs_dir
        self.poll_interval = poll_interval
        self._run_url = run_url
        self._slots = asyncio.Semaphore(max_running)
        self._env = {**os.environ, **child_env, "PYTHONUNBUFFERED": "1"}
        self._mine: dict[str, asyncio.Task[None]] = {}
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._callbacks: list[Callable[[], None]] = []
        self._unlaunched: dict[str, float] = {}
        """Run id → when a poll first saw it with no spec written yet."""

    def files(self, run_id: str) -> RunFiles:
        return RunFiles(self.runs_dir / run_id)

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    async def launch(self, run: Run, arguments: dict[str, object]) -> Launched:
        self.files(run.id).write_spec(run.pipeline, arguments)
        state = await self._start(run.id)
        return Launched(run.id, self._run_url(run.id), state)

    async def _start(self, run_id: str) -> RunState:
        """Start now if a slot is free (so a CLI that exits next still leaves it running), else queue."""
        if run_id in self._mine:
            return RunState.PENDING
        if not self._slots.locked():
            await self._slots.acquire()
            started = await self._spawn(run_id)
            self._mine[run_id] = asyncio.create_task(self._supervise(run_id, started))
            return RunState.RUNNING if started else RunState.PENDING
        self._mine[run_id] = asyncio.create_task(self._queued(run_id))
        return RunState.PENDING

    async def _queued(self, run_id: str) -> None:
        await self._slots.acquire()
        await self._supervise(run_id, await self._spawn(run_id))

    async def _spawn(self, run_id: str) -> bool:
        files = self.files(run_id)
        if files.result.exists() or not files.try_claim():
            return False
        with files.log.open("ab") as log_file:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.local_runner", str(files.folder),
                stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=asyncio.subprocess.STDOUT,
                env=self._env, start_new_session=True,
            )  # fmt: skip
        files.pid.write_text(str(proc.pid))
        self._procs[run_id] = proc
        return True

    async def _supervise(self, run_id: str, started: bool) -> None:
        try:
            proc = self._procs.get(run_id)
            if started and proc is not None:
                await proc.wait()
        finally:
            self._procs.pop(run_id, None)
            self._mine.pop(run_id, None)
            self._slots.release()
            for callback in self._callbacks:
                callback()

    async def statuses(self, runs: Sequence[ActiveRun]) -> dict[str, RunStatus]:
        now = time.monotonic()
        unlaunched = {r.id for r in runs if not self.files(r.id).spec.exists()}
        self._unlaunched = {i: self._unlaunched.get(i, now) for i in unlaunched}
        return {run.id: status for run in runs if (status := self._status(run.id, now)) is not None}

    def _status(self, run_id: str, now: float) -> RunStatus | None:
        files = self.files(run_id)
        if run_id in self._unlaunched:  # being launched by another process, or its launcher died
            if now - self._unlaunched[run_id] < base.LAUNCH_GRACE_S:
                return None
            return RunStatus(RunState.FAILED, error=render_text("never_launched", on_kfp=False))
        result = files.read_result()
        if result is not None:
            return result
        if run_id in self._procs or _alive(files.read_pid(), files.folder):
            return RunStatus(RunState.RUNNING, self._progress(files))
        if run_id in self._mine:
            return RunStatus(RunState.PENDING)
        if files.claim.exists():
            result = files.read_result()  # it may have finished between the two looks
            if result is not None:
                return result
            if files.pid.exists() or _age(files.claim) > 30:
                return RunStatus(RunState.FAILED, error="The local run's process stopped without a result.")
            return RunStatus(RunState.PENDING)
        # Accepted but never started (its process ended first): start it here.
        self._mine[run_id] = asyncio.create_task(self._queued(run_id))
        return RunStatus(RunState.PENDING)

    @staticmethod
    def _progress(files: RunFiles) -> tuple[TaskStatus, ...]:
        return tuple(
            TaskStatus(name, RunState.SUCCEEDED.value if (d / "executor_output.json").exists() else "running")
            for name, d in files.task_dirs().items()
        )

    async def cancel(self, run: Run) -> None:
        files = self.files(run.id)
        if files.read_result() is None:  # first, so a poll while the process dies reads "canceled", not "stopped"
            files.write_result(RunStatus(RunState.CANCELED, error="Canceled."))
        queued = self._mine.get(run.id)
        if queued is not None and run.id not in self._procs:
            queued.cancel()
        pid = files.read_pid()
        if pid is not None and _alive(pid, files.folder):
            await _kill_group(pid)
        else:
            files.try_claim()  # nobody may start it any more
        for callback in self._callbacks:
            callback()

    async def retry(self, run: Run) -> Launched | None:
        return None

    async def wait(self, run_id: str) -> None:
        """Until this process's child for ``run_id`` has exited (used by ``charon run --wait``)."""
        task = self._mine.get(run_id)
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        """Leave children running (they are detached); just stop watching them."""
        for task in self._mine.values():
            task.cancel()


def _alive(pid: int | None, folder: Path) -> bool:
    if pid is None:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    if not cmdline:  # a zombie: exited, not yet reaped
        return False
    return str(folder).encode() in cmdline


def _age(path: Path) -> float:
    return time.time() - path.stat().st_mtime


async def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    for _ in range(int(_GRACE_S / 0.05)):
        await asyncio.sleep(0.05)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
