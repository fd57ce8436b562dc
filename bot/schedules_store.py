"""``ScheduleStore``: schedules in PostgreSQL, and the claims that make each firing happen once."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from bot.runs import Origin


@dataclass(frozen=True)
class Schedule:
    id: str
    pipeline: str
    params: dict[str, Any]
    """Local: as given (dates are resolved again at every firing). KFP: as submitted to the recurring run."""
    cron: str
    backend: str
    external_id: str | None
    enabled: bool
    surface: str
    requested_by: str | None
    reply_to: dict[str, Any]
    next_fire_at: datetime | None
    seen_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> "Schedule":
        return cls(**dict(row))

    def firing_origin(self) -> Origin:
        """Where each firing's run is reported: the channel the schedule was made in, unless its
        ``channel`` / ``slack_thread`` parameters say otherwise (they apply when the run starts)."""
        return Origin("schedule", self.requested_by, self.reply_to.get("channel"))


class ScheduleStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(
        self,
        schedule_id: str,
        *,
        pipeline: str,
        params: dict[str, Any],
        cron: str,
        backend: str,
        external_id: str | None,
        origin: Origin,
        next_fire_at: datetime | None,
        seen_until: datetime | None,
    ) -> Schedule:
        row = await self.pool.fetchrow(
            "INSERT INTO schedules (id, pipeline, params, cron, backend, external_id, surface, requested_by,"
            " reply_to, next_fire_at, seen_until) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING *",
            schedule_id, pipeline, params, cron, backend, external_id, origin.surface, origin.user_id,
            {"channel": origin.channel} if origin.channel else {}, next_fire_at, seen_until,
        )  # fmt: skip
        return Schedule.from_row(row)

    async def get(self, schedule_id: str) -> Schedule | None:
        row = await self.pool.fetchrow("SELECT * FROM schedules WHERE id = $1", schedule_id)
        return Schedule.from_row(row) if row else None

    async def all(self) -> list[Schedule]:
        rows = await self.pool.fetch("SELECT * FROM schedules ORDER BY created_at")
        return [Schedule.from_row(r) for r in rows]

    async def of_backend(self, backend: str) -> list[Schedule]:
        rows = await self.pool.fetch("SELECT * FROM schedules WHERE backend = $1 ORDER BY id", backend)
        return [Schedule.from_row(r) for r in rows]

    async def delete(self, schedule_id: str) -> None:
        await self.pool.execute("DELETE FROM schedules WHERE id = $1", schedule_id)

    async def set_enabled(
        self, schedule_id: str, enabled: bool, next_fire_at: datetime | None
    ) -> Schedule | None:
        row = await self.pool.fetchrow(
            "UPDATE schedules SET enabled = $2, next_fire_at = $3, updated_at = now() WHERE id = $1 RETURNING *",
            schedule_id, enabled, next_fire_at,
        )  # fmt: skip
        return Schedule.from_row(row) if row else None

    async def due(self, now: datetime) -> list[Schedule]:
        """Local schedules whose next firing has come."""
        rows = await self.pool.fetch(
            "SELECT * FROM schedules WHERE enabled AND backend = 'local' AND next_fire_at <= $1"
            " ORDER BY next_fire_at",
            now,
        )
        return [Schedule.from_row(r) for r in rows]

    async def earliest_firing(self) -> datetime | None:
        value: datetime | None = await self.pool.fetchval(
            "SELECT min(next_fire_at) FROM schedules WHERE enabled AND backend = 'local'"
        )
        return value

    async def claim_firing(self, schedule_id: str, due: datetime, following: datetime) -> bool:
        """Move the schedule past its ``due`` firing; True for exactly one caller, across processes."""
        result: str = await self.pool.execute(
            "UPDATE schedules SET next_fire_at = $3 WHERE id = $1 AND enabled AND next_fire_at = $2",
            schedule_id, due, following,
        )  # fmt: skip
        return result == "UPDATE 1"

    async def advance_kfp_watermark(self, seen: datetime) -> None:
        """Every KFP schedule has seen its firings up to ``seen`` (KFP's clock): later lists start there."""
        await self.pool.execute(
            "UPDATE schedules SET seen_until = GREATEST(seen_until, $1) WHERE backend = 'kfp'", seen
        )
