"""Notifiers tell people a run has finished: the terminal, Slack, webhooks — one interface."""

from typing import Protocol

from bot.runs import Run


class Notifier(Protocol):
    surfaces: tuple[str, ...]
    """The run origins (``Origin.surface``) this notifier reports."""

    def accepts(self, run: Run) -> bool:
        """Whether this process can deliver this run's notice (e.g. the right terminal session)."""
        ...

    async def run_finished(self, run: Run) -> None:
        """Deliver the final notice; raise to have it retried on the next cycle."""
        ...

    async def run_changed(self, run: Run) -> None:
        """A non-final state change (for live status messages); may do nothing."""
        ...
