"""The run record and its states: what every part of Charon passes around."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunState(StrEnum):
    """Charon's states: KFP's run states in lower case, plus ``queued`` (accepted, not yet launched)."""

    QUEUED = "queued"
    PENDING = "pending"
    RUNNING = "running"
    CANCELING = "canceling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.SKIPPED, RunState.CANCELED})


@dataclass(frozen=True)
class Origin:
    """Who asked and where the answers go; stored with the run so any process can finish the story."""

    surface: str
    """``cli``, ``chat``, ``slack``, ``api`` or ``schedule``."""
    user_id: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    session: str | None = None
    webhook_uri: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def reply_to(self) -> dict[str, Any]:
        data = {"channel": self.channel, "thread_ts": self.thread_ts, "session": self.session,
                "webhook_uri": self.webhook_uri, **self.extra}  # fmt: skip
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True)
class TaskStatus:
    name: str
    state: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"name": self.name, "state": self.state}
        return data | ({"error": self.error} if self.error else {})


@dataclass(frozen=True)
class Output:
    """One output artifact: ``uri`` is where it lives (file path, ``s3://``…); ``url`` a link, if any."""

    name: str
    uri: str
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "uri": self.uri} | ({"url": self.url} if self.url else {})


@dataclass(frozen=True)
class RunStatus:
    """What a launcher reports about one run."""

    state: RunState
    tasks: tuple[TaskStatus, ...] = ()
    outputs: tuple[Output, ...] = ()
    error: str | None = None
    failed_task: str | None = None
    launched_as: tuple[str, str] | None = None
    """(backend run id, run link) of a run found launched after its launching process died."""


@dataclass
class Run:
    id: str
    pipeline: str
    params: dict[str, Any]
    backend: str
    state: RunState
    surface: str
    external_id: str | None = None
    run_url: str | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    requested_by: str | None = None
    reply_to: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    retry_of: str | None = None
    schedule_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    notified_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> "Run":
        data = dict(row)
        data["state"] = RunState(data["state"])
        data.pop("notify_claimed_at", None)
        return cls(**data)
