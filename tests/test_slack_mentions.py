"""Mentions and DMs: the seed's phrases in the request's thread, one live status message, reactions."""

# ruff: noqa: F811  (the fixtures come from the harness module)

import base64
import itertools
import json
from typing import Any

import pytest

from bot.settings import Settings
from tests.test_slack_harness import (  # noqa: F401  (fixtures are used by name)
    ALICE,
    BOB,
    World,
    _no_proxy,
    block_text,
    charon_serving,
    first_text,
    has_element,
    link,
    world,
)


async def test_run_answers_in_thread_and_reports_the_outcome(world: World) -> None:
    event = await world.mention("run fetch_calls_pipeline lang=en call_quantity=200 start_date=-7d")
    status = await world.status_message(event["ts"])
    [run] = await world.runs()
    assert run.pipeline == "fetch_calls_pipeline" and run.params["call_quantity"] == 200
    assert first_text(status) == f"Running {link(run.run_url, 'fetch_calls_pipeline')}"

    await world.finished(status)
    final = await world.outcome(event["ts"], "Run completed successfully.")
    done = await world.store.get(run.id)
    assert done is not None and done.state.value == "succeeded"
    assert final.text.startswith(link(run.run_url, "Run completed successfully."))
    assert "`calls`" in final.text and f"cc: <@{ALICE}>" in final.text
    assert status.text.startswith(link(run.run_url, "Run completed successfully."))
    assert world.reactions(event["ts"]) == ["eyes", "hourglass_flowing_sand", "white_check_mark"]
    assert world.emu.message(world.channel, event["ts"]).reactions == {"white_check_mark": [world.emu.bot_user_id]}
    replies = world.thread(event["ts"])
    assert [m.ts for m in replies] == [status.ts, final.ts]  # one status message, edited; one outcome


async def test_failure_names_the_step_and_error_without_a_traceback(world: World) -> None:
    event = await world.mention("run smoke_pipeline a=2 b=3 fail=true")
    status = await world.finished(await world.status_message(event["ts"]))
    final = await world.outcome(event["ts"], "Run failed.")
    [run] = await world.runs()
    assert final.text.startswith(link(run.run_url, "Run failed."))
    assert "Failed step `" in final.text and "Traceback" not in final.text
    assert "Run failed." in status.text and has_element(status, "run_retry")
    assert world.emu.message(world.channel, event["ts"]).reactions == {"x": [world.emu.bot_user_id]}


async def test_seed_json_block_and_b64_forms_still_work(world: World) -> None:
    block = await world.mention('run smoke_pipeline\n```{\n// the seed\'s comments\n"a": 4, "b": 5, "fail": False,\n}```')
    payload = base64.b64encode(json.dumps({"a": 6, "b": 7}).encode()).decode()
    b64 = await world.mention(f"run smoke_pipeline b64_{payload}")
    for event in (block, b64):
        await world.status_message(event["ts"])
    runs = sorted((r.params["a"], r.params["b"]) for r in await world.runs())
    assert runs == [(4, 5), (6, 7)]


async def test_help_for_a_pipeline_is_generated_from_its_model(world: World) -> None:
    event = await world.mention("help fetch_calls_pipeline")
    reply = await world.reply(event["ts"])
    assert reply.text.startswith("*fetch_calls_pipeline*")
    assert "`lang` (required) — one of en-US, en, hi" in reply.text
    assert "`call_quantity` — whole number, default `200`" in reply.text
    assert "lang" in block_text(reply)


async def test_runs_status_cancel_and_retry_by_id(world: World) -> None:
    event = await world.mention("run smoke_pipeline sleep_seconds=60")
    status = await world.status_message(event["ts"])
    [run] = await world.runs()

    asked = await world.mention(f"status {run.id}")
    reply = await world.reply(asked["ts"])
    assert reply.text.startswith(link(run.run_url, "Run in progress."))

    asked = await world.mention("runs")
    listed = await world.reply(asked["ts"])
    assert listed.text.startswith("Recent runs:") and f"`{run.id}`" in listed.text

    asked = await world.mention(f"cancel {run.id}")
    reply = await world.reply(asked["ts"])
    assert reply.text == f"Canceling {link(run.run_url, 'smoke_pipeline')} (run `{run.id}`)."
    await world.finished(status)
    assert status.text.startswith(link(run.run_url, "Run canceled."))
    await world.outcome(event["ts"], "Run canceled.")

    asked = await world.mention(f"retry {run.id}")
    reply = await world.status_message(asked["ts"])
    retried = [r for r in await world.runs() if r.retry_of == run.id]
    assert len(retried) == 1
    assert first_text(reply) == f"Running {link(retried[0].run_url, 'smoke_pipeline')}"


async def test_status_cancel_retry_in_a_runs_thread_apply_to_that_run(world: World) -> None:
    event = await world.mention("run smoke_pipeline sleep_seconds=60")
    status = await world.status_message(event["ts"])
    [run] = await world.runs()

    await world.mention("status", thread_ts=event["ts"])
    progress = await world.reply(event["ts"], lambda m: "Run in progress." in m.text)
    assert progress.text.startswith(link(run.run_url, "Run in progress."))
    assert f"`{run.id}` smoke_pipeline · running" in progress.text

    await world.mention("cancel", thread_ts=event["ts"])
    await world.reply(event["ts"], lambda m: m.text.startswith("Canceling"))
    await world.finished(status)

    await world.mention("retry", thread_ts=event["ts"])
    second = await world.reply(event["ts"], lambda m: has_element(m, "run_edit") and m.ts != status.ts)
    runs = await world.runs()
    assert [r.retry_of for r in runs] == [None, run.id]
    assert first_text(second) == f"Running {link(runs[1].run_url, 'smoke_pipeline')}"


async def test_notify_users_are_mentioned_in_the_outcome(world: World) -> None:
    event = await world.mention(f"run smoke_pipeline notify=<@{BOB}>")
    await world.finished(await world.status_message(event["ts"]))
    final = await world.outcome(event["ts"], "Run completed successfully.")
    assert final.text.endswith(f"cc: <@{BOB}> <@{ALICE}>")


async def test_a_direct_message_needs_no_mention(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async with charon_serving(settings, monkeypatch, echo_bot_messages=True) as world:
        dm = "D0ALICE"
        event = world.emu.message_event("run smoke_pipeline", channel=dm)
        await world.emu.send_events_api(event)
        status = await world.status_message(event["ts"], channel=dm)
        await world.finished(status)
        await world.outcome(event["ts"], "Run completed successfully.", channel=dm)
        # Charon's own posts come back as message.im events: each is acknowledged and none is a command
        await world.emu.wait_until(lambda: len(world.emu.acks) == len(world.emu.envelopes), what="every ack")
        assert len(await world.runs(dm)) == 1 and len(world.thread(event["ts"], dm)) == 2


async def test_input_errors_list_every_problem(world: World) -> None:
    event = await world.mention("run smoke_pipeline a=x lnag=en")
    reply = await world.reply(event["ts"])
    assert reply.text.splitlines()[0] == "`smoke_pipeline` cannot run with these parameters:"
    assert "• `a`: expected a whole number, got 'x'." in reply.text
    assert "`lnag` is not a parameter of smoke_pipeline." in reply.text
    assert has_element(reply, "open_form") and await world.runs() == []
    assert world.emu.message(world.channel, event["ts"]).reactions == {}


async def test_a_queued_run_shows_each_state_in_its_status_message(world: World) -> None:
    busy = "C0BUSY"  # elsewhere, so their messages do not queue behind this channel's pacing
    for _ in range(2):  # the local engine runs two at a time: these hold both slots
        held = await world.mention("run smoke_pipeline sleep_seconds=2", channel=busy)
        await world.status_message(held["ts"], busy)
    event = await world.mention("run smoke_pipeline sleep_seconds=1.5")  # running long enough to be shown
    status = await world.finished(await world.status_message(event["ts"]))

    def state(version: dict[str, Any]) -> str:
        [facts] = [b for b in version["blocks"] if b.get("block_id") == "facts"]
        return str(facts["elements"][0]["text"]).split("*")[1]

    versions = [*status.history, {"text": status.text, "blocks": status.blocks}]
    shown = [state(v) for v in versions]
    assert [s for i, s in enumerate(shown) if i == 0 or shown[i - 1] != s] == ["pending", "running", "succeeded"]
    # Steps finishing while running edit it too, but an edit never repeats what is already shown.
    assert all(a["blocks"] != b["blocks"] for a, b in itertools.pairwise(versions))
