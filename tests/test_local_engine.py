"""Local runs end to end through the real kfp.local in child processes, against the demo warehouse."""

import asyncio
import csv
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.runs import Origin, Run, RunState
from bot.runtime import Charon

ORIGIN = Origin("chat", user_id="tester", session="s1")


async def _finish(charon: Charon, run_id: str, timeout: float = 60) -> Run:
    async with asyncio.timeout(timeout):
        await charon.local.wait(run_id)
        while True:
            await charon.poller.poll_once()
            run = await charon.store.get(run_id)
            assert run is not None
            if run.state.terminal:
                return run
            await asyncio.sleep(0.1)


async def _start(charon: Charon, text: str) -> Run:
    reply = await charon.service.handle_text(text, ORIGIN)
    assert reply.ok, reply.text
    assert reply.run is not None
    return reply.run


async def test_fetch_calls_samples_exactly_n_calls_with_every_filter(charon: Charon) -> None:
    zone = ZoneInfo("Asia/Kolkata")
    start = (datetime.now(zone) - timedelta(days=60)).date().isoformat()
    run = await _start(
        charon,
        "run fetch_calls_pipeline lang=en call_quantity=25 start_date=" + start + " end_date=-1d"
        " client_id=1,2,3,4,5 call_type=INBOUND,OUTBOUND min_duration=30 asr_provider=google"
        " intents=_confirm_,_cancel_,_maybe_,wont_pay,_callback_,_greeting_ states=COF,INTRO,ASK_PAYMENT_DATE"
        " flow_ids=1,2,3,4,5,6,7,8 ignore_callers=+910000000000 timezone=Asia/Kolkata",
    )
    assert run.run_url == charon.settings.run_page_url(run.id)
    done = await _finish(charon, run.id)
    assert done.state is RunState.SUCCEEDED, done.error
    assert [o["name"] for o in done.outputs] == ["calls"]
    with Path(done.outputs[0]["uri"]).open() as handle:
        rows = list(csv.DictReader(handle))
    call_ids = {int(r["call_id"]) for r in rows}
    assert len(call_ids) == 25
    calls = {r["id"]: r for r in await charon.store.pool.fetch("SELECT * FROM calls WHERE id = ANY($1)", list(call_ids))}
    first = datetime.fromisoformat(start).replace(tzinfo=zone)
    last = datetime.combine(datetime.now(zone).date(), datetime.min.time(), zone)
    for call in calls.values():
        assert call["language"] == "en" and call["client_id"] in {1, 2, 3, 4, 5}
        assert call["call_type"] in {"INBOUND", "OUTBOUND"} and call["duration_s"] >= 30
        assert call["flow_id"] <= 8 and call["caller_number"] != "+910000000000"
        assert first <= call["started_at"] < last
    for row in rows:
        assert row["asr_provider"] == "google" and row["audio_url"]
        assert row["intent"] in {"_confirm_", "_cancel_", "_maybe_", "wont_pay", "_callback_", "_greeting_"}
        assert row["state"] in {"COF", "INTRO", "ASK_PAYMENT_DATE"}
        assert datetime.fromisoformat(row["reftime"]).utcoffset() == timedelta(hours=5, minutes=30)


async def test_reported_and_template_filters(charon: Charon) -> None:
    run = await _start(charon, "run fetch_calls_pipeline lang=hi call_quantity=3 start_date=-80d reported=true"
                               " template_id=101 remove_empty_audios=false")  # fmt: skip
    done = await _finish(charon, run.id)
    assert done.state is RunState.SUCCEEDED, done.error
    with Path(done.outputs[0]["uri"]).open() as handle:
        rows = list(csv.DictReader(handle))
    ids = list({int(r["call_id"]) for r in rows})
    assert len(ids) == 3
    flags = await charon.store.pool.fetch("SELECT reported, template_id, language FROM calls WHERE id = ANY($1)", ids)
    assert all(f["reported"] and f["template_id"] == "101" and f["language"] == "hi" for f in flags)


async def test_failure_names_the_step_and_the_error_without_a_traceback(charon: Charon) -> None:
    run = await _start(charon, "run smoke_pipeline a=2 b=3 fail=true")
    done = await _finish(charon, run.id)
    assert done.state is RunState.FAILED
    assert done.error == {"task": "report", "message": "ValueError: asked to fail (total was 8)"}
    assert [(t["name"], t["state"]) for t in done.tasks] == [("add", "succeeded"), ("add-2", "succeeded"),
                                                             ("report", "failed")]  # in the order they ran
    status = await charon.service.handle_text(f"status {run.id}", ORIGIN)
    assert "Run failed." in status.text and "Traceback" not in status.text
    assert "Failed step `report`: ValueError: asked to fail (total was 8)" in status.text


async def test_cancel_kills_the_local_run(charon: Charon) -> None:
    run = await _start(charon, "run smoke_pipeline sleep_seconds=60")
    pid = charon.local.files(run.id).read_pid()
    assert pid is not None
    async with asyncio.timeout(30):  # the middle step sleeps once the first step has finished
        while "add" not in charon.local.files(run.id).task_dirs():
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    reply = await charon.service.handle_text(f"cancel {run.id}", ORIGIN)
    assert reply.ok and "Canceling" in reply.text
    done = await _finish(charon, run.id, timeout=20)
    assert done.state is RunState.CANCELED
    assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    again = await charon.service.handle_text(f"retry {run.id}", ORIGIN)
    assert again.ok and again.run is not None and again.run.retry_of == run.id


async def test_runs_queue_beyond_the_concurrency_limit(charon: Charon) -> None:
    limit = charon.settings.max_local_runs
    runs = [await _start(charon, f"run smoke_pipeline a={i} sleep_seconds=1") for i in range(limit + 1)]
    states = [(await charon.store.get(r.id)).state for r in runs]  # type: ignore[union-attr]
    assert states.count(RunState.RUNNING) == limit and states[-1] is RunState.PENDING
    finished = [await _finish(charon, r.id) for r in runs]
    assert all(r.state is RunState.SUCCEEDED for r in finished)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0
    except OSError:
        return True




async def test_a_run_whose_launching_process_died_is_failed_clearly(
    charon: Charon, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.launchers import base

    lost, _ = await charon.store.create_run(pipeline="smoke_pipeline", params={}, backend="local",
                                           origin=ORIGIN, idempotency_key=None)  # fmt: skip
    await charon.poller.poll_once()  # young: it may still be launching elsewhere
    assert (await charon.store.get(lost.id)).state is RunState.QUEUED  # type: ignore[union-attr]
    monkeypatch.setattr(base, "LAUNCH_GRACE_S", 0.0)
    charon.poller.wake()
    await charon.poller.poll_once()
    run = await charon.store.get(lost.id)
    assert run is not None and run.state is RunState.FAILED
    assert run.error == {"message": "Charon stopped while starting this run, so it never ran. Please run it again.",
                         "task": None}  # fmt: skip
