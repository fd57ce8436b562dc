"""The run store against real PostgreSQL: creation, idempotency, transitions, claims, audit."""

from bot.runs import Origin, RunState, RunStatus, TaskStatus
from bot.runtime import Charon


async def test_create_is_idempotent_per_key(charon: Charon) -> None:
    origin = Origin("slack", user_id="U1", channel="C1", thread_ts="1.2")
    first, created = await charon.store.create_run(
        pipeline="smoke_pipeline", params={"a": 1}, backend="local", origin=origin, idempotency_key="ev-1"
    )
    again, created_again = await charon.store.create_run(
        pipeline="smoke_pipeline", params={"a": 2}, backend="local", origin=origin, idempotency_key="ev-1"
    )
    assert created and not created_again
    assert again.id == first.id and again.params == {"a": 1}
    assert first.reply_to == {"channel": "C1", "thread_ts": "1.2"}


async def test_transitions_history_and_single_claim(charon: Charon) -> None:
    store = charon.store
    run, _ = await store.create_run(pipeline="smoke_pipeline", params={}, backend="local",
                                    origin=Origin("cli"), idempotency_key=None)  # fmt: skip
    assert await store.record_status(run.id, RunStatus(RunState.RUNNING, (TaskStatus("add", "running"),)))
    assert not await store.record_status(run.id, RunStatus(RunState.RUNNING, (TaskStatus("add", "running"),)))
    # A step finishing is a change people see (the live status message), though the state is the same.
    assert await store.record_status(run.id, RunStatus(RunState.RUNNING, (TaskStatus("add", "succeeded"),)))
    assert await store.record_status(run.id, RunStatus(RunState.FAILED, error="boom", failed_task="add"))
    # A final state is final: a late report cannot reopen it.
    assert not await store.record_status(run.id, RunStatus(RunState.RUNNING))
    done = await store.get(run.id)
    assert done is not None and done.state is RunState.FAILED and done.finished_at is not None
    assert done.error == {"message": "boom", "task": "add"}
    assert [e["state"] for e in await store.events(run.id)] == ["queued", "running", "failed"]  # steps aren't states
    claimed = await store.claim_notifications(["cli"])
    assert run.id in [r.id for r in claimed]
    assert run.id not in [r.id for r in await store.claim_notifications(["cli"])]


async def test_audit_records_commands(charon: Charon) -> None:
    origin = Origin("chat", user_id="alice")
    await charon.service.handle_text("run smoke_pipeline a=notanumber", origin)
    row = await charon.store.pool.fetchrow(
        "SELECT * FROM audit_log WHERE user_id = 'alice' ORDER BY id DESC LIMIT 1"
    )
    assert row["outcome"] == "refused:input_errors"
    assert row["text"] == "run smoke_pipeline a=notanumber"
    assert "whole number" in str(row["detail"])
