"""Never lose or duplicate a request: redeliveries, double clicks, resubmitted forms, 429s, reconnects."""

# ruff: noqa: F811  (the fixtures come from the harness module)

import asyncio

import aiohttp
import pytest

from bot.runs import Origin, Output, RunState, RunStatus, TaskStatus
from bot.settings import Settings
from bot.slack.blocks import MESSAGE_BLOCKS, fit_blocks
from tests.test_slack_harness import (  # noqa: F401  (fixtures are used by name)
    ALICE,
    World,
    _no_proxy,
    block_text,
    charon_serving,
    free_port,
    has_element,
    link,
    listening,
    world,
)


async def test_a_redelivered_event_starts_one_run(world: World) -> None:
    event = world.emu.app_mention_event("run smoke_pipeline a=1", channel=world.channel)
    first = await world.emu.send_events_api(event, event_id="Ev0REDELIVER")
    again = await world.emu.send_events_api(event, event_id="Ev0REDELIVER", retry_attempt=1, retry_reason="timeout")
    assert first.payload is None and again.payload is None  # both acknowledged
    status = await world.finished(await world.status_message(event["ts"]))
    await world.outcome(event["ts"], "Run completed successfully.")
    assert len(await world.runs()) == 1
    assert [m.ts for m in world.thread(event["ts"]) if has_element(m, "run_edit")] == [status.ts]
    assert world.emu.ephemerals == []  # a redelivery is not worth a word


async def test_double_clicked_retry_starts_one_run(world: World) -> None:
    event = await world.mention("run smoke_pipeline fail=true")
    status = await world.finished(await world.status_message(event["ts"]))
    await asyncio.gather(world.click(status, "run_retry"), world.click(status, "run_retry"))
    await world.ephemeral(ALICE, lambda t: t.startswith("This request was already received"))
    runs = await world.wait_runs(2)
    await asyncio.sleep(0.5)  # give a second run every chance to appear
    assert len(await world.runs()) == 2 and runs[1].retry_of == runs[0].id


async def test_a_resubmitted_form_starts_one_run(world: World) -> None:
    await world.slash("")
    await world.emu.wait_for_call("views.open", lambda c: c.ok)
    view = await world.pick(world.emu.last_view, "smoke_pipeline")
    submission = world.emu.view_submission_payload(view.id, {"a": {"value": "9"}})
    acks = await asyncio.gather(*(world.emu.send_interactive(submission) for _ in range(2)))
    assert [a.payload["response_action"] for a in acks if a.payload] == ["update", "update"]
    await world.wait_runs()
    await world.emu.wait_until(lambda: "already received" in block_text(view.definition) or "Running" in
                               block_text(view.definition), what="the outcome")  # fmt: skip
    await asyncio.sleep(0.5)
    assert len(await world.runs()) == 1


async def test_a_429_on_post_message_is_retried_and_the_message_delivered_once(world: World) -> None:
    world.emu.fail_next("chat.postMessage", retry_after=1)
    event = await world.mention("run smoke_pipeline")
    status = await world.status_message(event["ts"])
    assert world.emu.statuses("chat.postMessage")[:2] == [429, 200]
    await world.finished(status)
    await world.outcome(event["ts"], "Run completed successfully.")
    assert len([m for m in world.thread(event["ts"]) if has_element(m, "run_edit")]) == 1


async def test_after_a_disconnect_the_next_command_works(world: World) -> None:
    await world.emu.disconnect("refresh_requested")
    await world.emu.wait_connected(connections=2)
    event = await world.mention("help")
    assert world.emu.acks[-1].connection == 2
    await world.reply(event["ts"])

    await world.emu.close_connection()  # a close frame, and then a dropped socket
    await world.emu.wait_connected(connections=3)
    world.emu.abort_connection()  # noticed at the next ping
    await world.emu.wait_connected(connections=4, timeout=30)
    event = await world.mention("run smoke_pipeline")
    await world.finished(await world.status_message(event["ts"]))


async def test_a_slack_failure_gets_a_reference_not_a_traceback(world: World) -> None:
    world.emu.fail_next("views.open", error="internal_error", count=1)
    await world.slash("")
    text = await world.ephemeral(ALICE, lambda t: "reference" in t)
    assert text.startswith("Something went wrong on Charon's side") and "Traceback" not in text


async def test_secrets_in_a_failure_never_reach_slack(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    password = "s3cret-Warehouse-pw"
    warehouse = f"postgresql://charon:{password}@127.0.0.1:9/calls"
    async with charon_serving(settings, monkeypatch, CHARON_WAREHOUSE_URL=warehouse) as world:
        event = await world.mention("run fetch_calls_pipeline lang=en call_quantity=5")
        await world.finished(await world.status_message(event["ts"]))
        final = await world.outcome(event["ts"], "Run failed.")
        assert "Failed step `" in final.text
        every_call = str([c.args for c in world.emu.calls])
        assert password not in every_call and "Traceback" not in every_call


async def test_long_values_are_cut_with_a_link_to_the_rest(world: World) -> None:
    asked = world.emu.seed_message("started elsewhere", channel=world.channel)
    origin = Origin("slack", ALICE, world.channel, asked.ts)
    run, _ = await world.store.create_run(pipeline="smoke_pipeline", params={}, backend="local", origin=origin,
                                          idempotency_key=None)  # fmt: skip
    await world.store.set_launched(run.id, run.id, world.settings.run_page_url(run.id), RunState.RUNNING)
    tasks = tuple(TaskStatus(f"step-{i:03d}-" + "x" * 60, "succeeded") for i in range(120))
    outputs = tuple(Output(f"part-{i:04d}", "/data/" + "y" * 90) for i in range(400))
    await world.store.record_status(run.id, RunStatus(RunState.FAILED, tasks, outputs, error="boom " * 2000,
                                                      failed_task=tasks[-1].name))  # fmt: skip
    url = world.settings.run_page_url(run.id)
    final = await world.outcome(asked.ts, "Run failed.")
    status = await world.status_message(asked.ts)
    more = f"… {link(url, 'read the rest')}"
    assert final.blocks is not None and final.blocks[-1]["text"]["text"].endswith(more)
    tasks_block = next(b for b in status.blocks or [] if b.get("block_id") == "tasks")
    assert len(tasks_block["text"]["text"]) <= 3000 and tasks_block["text"]["text"].endswith(more)
    assert all(c.ok for c in world.emu.calls if c.method.startswith("chat."))


async def test_where_charon_cannot_post_the_run_is_reported_privately(world: World) -> None:
    private = world.emu.add_channel("G0PRIVATE", "secret-plans", is_private=True, is_member=False).id
    await world.slash("run smoke_pipeline", channel=private)
    [run] = await world.wait_runs(channel=private)
    text = await world.ephemeral(ALICE, lambda t: "cannot post" in t)
    assert text.startswith(f"Running {link(run.run_url, 'smoke_pipeline')}")
    assert "/invite @charon" in text and world.emu.messages_in(private) == []


async def test_a_run_asked_over_the_http_api_reports_in_its_channel(settings: Settings,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    port = free_port()
    async with charon_serving(settings, monkeypatch, CHARON_API_TOKENS="ci:api-test-token",
                              CHARON_HTTP_PORT=str(port)) as world:  # fmt: skip
        await listening(world.settings)
        async with aiohttp.ClientSession() as http:
            response = await http.post(f"{world.settings.base_url}/skit/pipelines/run/smoke_pipeline/",
                                       json={"a": 2, "channel": world.channel},
                                       headers={"Authorization": "Bearer api-test-token"})  # fmt: skip
            assert response.status == 200, await response.text()
        [run] = await world.wait_runs()
        [status] = await world.emu.wait_until(lambda: world.emu.messages_in(world.channel, bot_only=True),
                                              what="the status message")  # fmt: skip
        await world.finished(status)
        final = await world.outcome(status.ts, "Run completed successfully.")
        assert final.text.startswith(link(run.run_url, "Run completed successfully."))
        assert "asked by" not in block_text(status)  # an API caller is no Slack user


def test_too_many_blocks_end_with_how_many_were_left_out() -> None:
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": f"part {i}"}} for i in range(70)]
    buttons = {"type": "actions", "elements": [{"type": "button", "action_id": "run_edit", "value": "r",
                                                "text": {"type": "plain_text", "text": "Re-run with edits"}}]}  # fmt: skip
    shown = fit_blocks([*sections, buttons], MESSAGE_BLOCKS, "https://charon.example/runs/r1")
    assert len(shown) == 50 and shown[-1] == buttons and shown[-3]["text"]["text"] == "part 47"
    assert shown[-2]["elements"][0]["text"] == "… and 22 more on <https://charon.example/runs/r1|the run page>."
