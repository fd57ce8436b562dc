"""Who may do what. The default lets everyone do everything; Slack deployments load a policy file."""

from typing import Protocol

from bot.runs import Origin, Run


class Policy(Protocol):
    def refuse(self, origin: Origin, action: str, pipeline: str | None = None, run: Run | None = None) -> str | None:
        """``None`` if allowed, else the refusal a user reads. ``action``: run, cancel, retry, schedule…"""
        ...

    def needs_confirmation(self, origin: Origin, pipeline: str) -> bool:
        """Whether a run of ``pipeline`` asked from ``origin`` waits for a Launch click before it starts."""
        ...


class AllowAll:
    def refuse(self, origin: Origin, action: str, pipeline: str | None = None, run: Run | None = None) -> str | None:
        return None

    def needs_confirmation(self, origin: Origin, pipeline: str) -> bool:
        return False
