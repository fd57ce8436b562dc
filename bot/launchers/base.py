"""The interface every launcher implements; the service and the poller know nothing more."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.runs import Run, RunState, RunStatus
from bot.store import ActiveRun

LAUNCH_GRACE_S = 120.0
"""A run still unlaunched this long after a poller first saw it lost the process launching it."""


@dataclass(frozen=True)
class Launched:
    external_id: str
    run_url: str
    state: RunState


class LaunchError(Exception):
    """The backend refused or could not be reached; ``str()`` is safe to show users."""


class Launcher(Protocol):
    name: str
    poll_interval: float

    async def launch(self, run: Run, arguments: dict[str, object]) -> Launched:
        """Start ``run`` with the pipeline's KFP ``arguments``; raises :class:`LaunchError`."""
        ...

    async def statuses(self, runs: Sequence[ActiveRun]) -> dict[str, RunStatus]:
        """Current status of many runs in as few backend calls as possible, keyed by run id.

        Runs the backend could not report on this time are left out (they are asked again later).
        """
        ...

    async def cancel(self, run: Run) -> None: ...

    async def retry(self, run: Run) -> Launched | None:
        """Retry in place where the backend can; ``None`` means start a new run instead."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> None:
        """``callback`` is called whenever the launcher knows a run changed (to wake the poller)."""
        ...

    async def close(self) -> None: ...
