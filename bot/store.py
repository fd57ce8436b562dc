"""``RunStore``: runs, their state history and the audit log in PostgreSQL (asyncpg)."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from bot.runs import Origin, Run, RunState, RunStatus


@dataclass(frozen=True, slots=True)
class ActiveRun:
    """The few columns the poller needs per tracked run (keeps a poll cycle small at 10,000 runs)."""

    id: str
    backend: str
    external_id: str | None
    state: RunState


def new_run_id() -> str:
    return secrets.token_hex(4)


class RunStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create_run(
        self,
        *,
        pipeline: str,
        params: dict[str, Any],
        backend: str,
        origin: Origin,
        idempotency_key: str | None,
        retry_of: str | None = None,
        schedule_id: str | None = None,
    ) -> tuple[Run, bool]:
        """Record a new run; with a key seen before, the earlier run instead (``created`` False)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO runs (id, pipeline, params, backend, state, surface, requested_by, reply_to,"
                " idempotency_key, retry_of, schedule_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
                " ON CONFLICT (idempotency_key) DO NOTHING RETURNING *",
                new_run_id(), pipeline, params, backend, RunState.QUEUED.value, origin.surface,
                origin.user_id, origin.reply_to(), idempotency_key, retry_of, schedule_id,
            )  # fmt: skip
            if row is None:
                existing = await conn.fetchrow("SELECT * FROM runs WHERE idempotency_key = $1", idempotency_key)
                return Run.from_row(existing), False
            await conn.execute(
                "INSERT INTO run_events (run_id, state) VALUES ($1, $2)", row["id"], RunState.QUEUED.value
            )
            return Run.from_row(row), True

    async def set_launched(self, run_id: str, external_id: str, run_url: str, state: RunState) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            old = await conn.fetchval(
                "UPDATE runs SET external_id = $2, run_url = $3, updated_at = now() WHERE id = $1"
                " RETURNING state",
                run_id, external_id, run_url,
            )  # fmt: skip
            if old is not None and old != state.value and not RunState(old).terminal:
                await self._set_state(conn, run_id, state, None)

    async def record_status(self, run_id: str, status: RunStatus) -> bool:
        """Store what a launcher reported; True when people would see a change (state or steps)."""
        tasks = [t.to_json() for t in status.tasks]
        outputs = [o.to_json() for o in status.outputs]
        error = {"message": status.error, "task": status.failed_task} if status.error else None
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT state, tasks FROM runs WHERE id = $1 FOR UPDATE", run_id)
            if row is None or RunState(row["state"]).terminal:
                return False
            same_state = row["state"] == status.state.value
            if same_state and row["tasks"] == tasks and status.launched_as is None and not error:
                return False
            await conn.execute(
                "UPDATE runs SET tasks = $2, outputs = $3, error = $4, updated_at = now() WHERE id = $1",
                run_id, tasks, outputs, error,
            )  # fmt: skip
            if status.launched_as is not None:
                await conn.execute("UPDATE runs SET external_id = $2, run_url = $3 WHERE id = $1",
                                   run_id, *status.launched_as)  # fmt: skip
            if not same_state:
                await self._set_state(conn, run_id, status.state, error)
            return True

    async def fail_launch(self, run_id: str, message: str) -> None:
        """A run that could not be launched ends failed, with the reason users will read."""
        await self.record_status(run_id, RunStatus(RunState.FAILED, error=message))

    @staticmethod
    async def _set_state(conn: asyncpg.Connection, run_id: str, state: RunState, detail: Any) -> None:
        await conn.execute(
            "UPDATE runs SET state = $2, finished_at = CASE WHEN $3 THEN now() END WHERE id = $1",
            run_id, state.value, state.terminal,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO run_events (run_id, state, detail) VALUES ($1, $2, $3)", run_id, state.value, detail
        )

    async def get(self, ident: str) -> Run | None:
        """A run by Charon id or by its backend's id."""
        row = await self.pool.fetchrow(
            "SELECT * FROM runs WHERE id = $1 OR external_id = $1 ORDER BY id = $1 DESC LIMIT 1", ident
        )
        return Run.from_row(row) if row else None

    async def latest_in_thread(self, channel: str, thread_ts: str) -> Run | None:
        row = await self.pool.fetchrow(
            "SELECT * FROM runs WHERE reply_to->>'channel' = $1 AND reply_to->>'thread_ts' = $2"
            " ORDER BY created_at DESC LIMIT 1",
            channel, thread_ts,
        )  # fmt: skip
        return Run.from_row(row) if row else None

    async def recent(self, limit: int = 10, requested_by: str | None = None) -> list[Run]:
        rows = await self.pool.fetch(
            "SELECT * FROM runs WHERE $2::text IS NULL OR requested_by = $2 ORDER BY created_at DESC LIMIT $1",
            limit, requested_by,
        )  # fmt: skip
        return [Run.from_row(r) for r in rows]

    async def session_has_active_runs(self, session: str) -> bool:
        return bool(
            await self.pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM runs WHERE finished_at IS NULL AND reply_to->>'session' = $1)",
                session,
            )
        )

    async def active(self, backend: str | None = None) -> list[ActiveRun]:
        rows = await self.pool.fetch(
            "SELECT id, backend, external_id, state FROM runs"
            " WHERE finished_at IS NULL AND ($1::text IS NULL OR backend = $1)",
            backend,
        )
        return [ActiveRun(r["id"], r["backend"], r["external_id"], RunState(r["state"])) for r in rows]

    async def claim_notifications(self, surfaces: Sequence[str], lease_s: float = 60.0) -> list[Run]:
        """Finished runs nobody has reported yet, claimed by this process for ``lease_s`` seconds."""
        rows = await self.pool.fetch(
            "UPDATE runs SET notify_claimed_at = now() WHERE id IN ("
            " SELECT id FROM runs WHERE finished_at IS NOT NULL AND notified_at IS NULL"
            " AND surface = ANY($1::text[])"
            " AND (notify_claimed_at IS NULL OR notify_claimed_at < now() - make_interval(secs => $2))"
            " ORDER BY finished_at LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING *",
            list(surfaces), lease_s,
        )  # fmt: skip
        return [Run.from_row(r) for r in rows]

    async def delivered_notices(self, run_id: str) -> set[str]:
        rows = await self.pool.fetch("SELECT notifier FROM run_notices WHERE run_id = $1", run_id)
        return {r["notifier"] for r in rows}

    async def mark_delivered(self, run_id: str, notifier: str) -> None:
        await self.pool.execute(
            "INSERT INTO run_notices (run_id, notifier) VALUES ($1, $2) ON CONFLICT DO NOTHING", run_id, notifier
        )

    async def mark_notified(self, run_id: str) -> None:
        await self.pool.execute("UPDATE runs SET notified_at = now() WHERE id = $1", run_id)

    async def release_notification(self, run_id: str) -> None:
        """Give a claimed notice back so it is tried again on the next cycle."""
        await self.pool.execute("UPDATE runs SET notify_claimed_at = NULL WHERE id = $1", run_id)

    async def update_reply_to(self, run_id: str, patch: dict[str, Any]) -> None:
        await self.pool.execute("UPDATE runs SET reply_to = reply_to || $2 WHERE id = $1", run_id, patch)

    async def events(self, run_id: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT state, detail, at FROM run_events WHERE run_id = $1 ORDER BY id", run_id
        )
        return [dict(r) for r in rows]

    async def audit(
        self,
        origin: Origin,
        text: str,
        *,
        command: str | None,
        outcome: str,
        run_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self.pool.execute(
            "INSERT INTO audit_log (surface, user_id, channel, text, command, outcome, run_id, detail)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            origin.surface, origin.user_id, origin.channel, text, command, outcome, run_id, detail,
        )  # fmt: skip

    async def reopen(self, run_id: str, state: RunState) -> None:
        """A run retried in place by its backend becomes active again (and will be reported again)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE runs SET error = NULL, notified_at = NULL, notify_claimed_at = NULL WHERE id = $1", run_id
            )
            await conn.execute("DELETE FROM run_notices WHERE run_id = $1", run_id)
            await self._set_state(conn, run_id, state, {"retried": True})
