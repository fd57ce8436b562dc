"""Notifiers tell people a run has finished: the terminal, Slack, webhooks — one interface."""

from typing import Protocol

from bot.runs import Run


class Notifier(Protocol):
    name: str
    """Unique per kind of delivery (``terminal``, ``slack``, ``webhook``): a run's notice is recorded
    as delivered per notifier name, so each is delivered once even when another one fails."""

    surfaces: tuple[str, ...]
    """The run origins (``Origin.surface``) this notifier may report."""

    def accepts(self, run: Run) -> bool:
        """Whether this notifier delivers this run's notice (the right session, a channel, a webhook…)."""
        ...

    async def run_finished(self, run: Run) -> None:
        """Deliver the final notice; raise to have it retried on the next cycle."""
        ...

    async def run_changed(self, run: Run) -> None:
        """A non-final state change (for live status messages); may do nothing."""
        ...
