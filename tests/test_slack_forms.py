"""Forms: ``/charon`` alone, "Open form" after typing errors, the message shortcut, "Re-run with edits"."""

# ruff: noqa: F811  (the fixtures come from the harness module)

import json

import pytest

from commands.catalogue import PIPELINES
from commands.describe import describe
from tests.test_slack_harness import (  # noqa: F401  (fixtures are used by name)
    ALICE,
    World,
    _no_proxy,
    block_text,
    clicked,
    find_element,
    first_text,
    form_pipeline,
    has_element,
    inputs,
    link,
    world,
)

ELEMENTS = {
    "date": "datepicker", "checkbox": "checkboxes", "select": "static_select", "multi_choice": "multi_static_select",
    "integer": "number_input", "number": "number_input", "users": "multi_users_select", "text": "plain_text_input",
    "csv": "plain_text_input", "csv_ints": "plain_text_input",
}  # fmt: skip


async def open_picker(world: World) -> None:
    mark = world.emu.mark()
    ack = await world.slash("")
    assert ack.payload is None  # acknowledged at once, the form follows
    await world.emu.wait_for_call("views.open", lambda c: c.ok, since=mark)


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
async def test_slash_command_alone_opens_a_form_generated_from_the_model(world: World, pipeline: str) -> None:
    await open_picker(world)
    view = world.emu.last_view
    assert view.definition["title"]["text"] == "Run a pipeline" and "submit" not in view.definition
    picker = find_element(view.definition["blocks"], "pick_pipeline")
    assert [o["value"] for o in picker["options"]] == list(PIPELINES)

    await world.pick(view, pipeline)
    assert view.definition["submit"]["text"] == "Run"
    fields = inputs(view)
    params = [p for p in describe(PIPELINES[pipeline]) if p.name not in ("channel", "slack_thread")]
    assert list(fields) == [p.name for p in params]
    for p in params:
        block = fields[p.name]
        element = block["element"]
        assert element["type"] == ELEMENTS[p.widget], p.name
        assert block["optional"] is (not p.required or p.widget == "checkbox")
        if p.description and p.widget != "checkbox":
            assert block["hint"]["text"] == p.description
        if p.widget == "select":
            assert [o["value"] for o in element["options"]] == list(p.choices)
        if p.widget in ("integer", "number"):
            assert element["is_decimal_allowed"] is (p.widget == "number")
        if p.widget == "checkbox":
            assert bool(element.get("initial_options")) is p.default
        elif p.widget in ("integer", "number", "text") and p.default not in ("", None):
            assert element["initial_value"] == str(p.default)


async def test_invalid_form_input_is_answered_inside_the_form(world: World) -> None:
    await open_picker(world)
    view = await world.pick(world.emu.last_view, "fetch_calls_pipeline")
    ack = await world.submit(view, {"call_quantity": "0", "timezone": "Mars/Olympus", "start_date": "2020-01-01"})
    assert ack.payload is not None and ack.payload["response_action"] == "errors"
    errors = ack.payload["errors"]
    assert set(errors) == {"lang", "call_quantity", "timezone", "start_date"}
    assert errors["lang"].startswith("lang is required")
    assert errors["call_quantity"] == "call_quantity: expected a number ≥ 1, got '0'."
    assert "IANA time zone" in errors["timezone"] and "days ago" in errors["start_date"]
    assert view.last_errors == errors and not view.closed
    assert await world.runs() == []


async def test_submitted_form_shows_the_one_line_command_and_runs(world: World) -> None:
    await open_picker(world)
    view = await world.pick(world.emu.last_view, "smoke_pipeline")
    ack = await world.submit(view, {"a": "5", "fail": ["true"]})
    assert ack.payload is not None and ack.payload["response_action"] == "update"
    confirmation = block_text(ack.payload["view"])
    assert "/charon run smoke_pipeline a=5 fail=true" in confirmation

    [run] = await world.wait_runs()
    await world.emu.wait_until(lambda: "Running" in block_text(view.definition), what="the outcome in the form")
    assert f"Running {link(run.run_url, 'smoke_pipeline')}" in json.loads(block_text(view.definition))[0]["text"]["text"]
    assert "/charon run smoke_pipeline a=5 fail=true" in block_text(view.definition)
    # no thread to answer in: the status message starts one in the channel
    [status] = world.emu.messages_in(world.channel, bot_only=True)
    assert first_text(status) == f"Running {link(run.run_url, 'smoke_pipeline')}"
    await world.finished(status)
    await world.outcome(status.ts, "Run failed.")
    assert run.params["a"] == 5 and run.params["fail"] is True and run.requested_by == ALICE


async def test_typed_errors_offer_a_form_prefilled_with_what_was_typed(world: World) -> None:
    event = await world.mention("run smoke_pipeline a=x b=7")
    errors = await world.reply(event["ts"])
    assert errors.text.startswith("`smoke_pipeline` cannot run with these parameters:")
    mark = world.emu.mark()
    await world.click(errors, "open_form")
    await world.emu.wait_for_call("views.open", lambda c: c.ok, since=mark)
    view = world.emu.last_view
    assert form_pipeline(view) == "smoke_pipeline"
    fields = inputs(view)
    assert fields["b"]["element"]["initial_value"] == "7"
    assert "initial_value" not in fields["a"]["element"]  # "x" is no number: listed above the form instead
    assert "`a`: expected a whole number, got 'x'." in block_text(view.definition)

    await world.submit(view, {"a": "3"})
    status = await world.status_message(event["ts"])  # the run answers in the thread it was asked in
    await world.finished(status)
    final = await world.outcome(event["ts"], "Run completed successfully.")
    [run] = await world.runs()
    assert (run.params["a"], run.params["b"]) == (3, 7)
    assert final.text.startswith(link(run.run_url, "Run completed successfully."))


async def test_slash_errors_are_private_and_open_the_same_form(world: World) -> None:
    await world.slash("run fetch_calls_pipeline call_quantity=12 start_date=-3d")
    text = await world.ephemeral(ALICE, lambda t: "cannot run" in t)
    assert "`lang` is required" in text
    post = world.emu.response_url_posts[-1]
    message = {"type": "message", "ts": "1700000000.000001", "text": post.body["text"], "blocks": post.body["blocks"]}
    action = clicked(post.body["blocks"], "open_form")
    mark = world.emu.mark()
    await world.emu.send_interactive(world.emu.block_actions_payload(action, message=message))
    await world.emu.wait_for_call("views.open", lambda c: c.ok, since=mark)
    fields = inputs(world.emu.last_view)
    assert fields["call_quantity"]["element"]["initial_value"] == "12"
    assert "initial_option" not in fields["lang"]["element"] and "initial_date" in fields["start_date"]["element"]
    assert world.emu.messages_in(world.channel, bot_only=True) == []  # nothing public


async def test_message_shortcut_prefills_from_the_message_and_answers_in_its_thread(world: World) -> None:
    asked = world.emu.seed_message("<@UBOT> run smoke_pipeline a=8 b=9", channel=world.channel)
    mark = world.emu.mark()
    ack = await world.emu.send_interactive(world.emu.message_action_payload("run_pipeline", asked))
    assert ack.payload is None
    await world.emu.wait_for_call("views.open", lambda c: c.ok, since=mark)
    view = world.emu.last_view
    assert form_pipeline(view) == "smoke_pipeline"
    assert inputs(view)["a"]["element"]["initial_value"] == "8"
    await world.submit(view)
    status = await world.status_message(asked.ts)
    await world.finished(status)
    await world.outcome(asked.ts, "Run completed successfully.")
    assert world.reactions(asked.ts) == ["hourglass_flowing_sand", "white_check_mark"]

    other = world.emu.seed_message("the nightly numbers look off", channel=world.channel)
    mark = world.emu.mark()
    await world.emu.send_interactive(world.emu.message_action_payload("run_pipeline", other))
    await world.emu.wait_for_call("views.open", lambda c: c.ok, since=mark)
    assert form_pipeline(world.emu.last_view) is None and inputs(world.emu.last_view) == {}


async def test_rerun_with_edits_opens_the_form_with_the_runs_parameters(world: World) -> None:
    event = await world.mention("run smoke_pipeline a=11 b=12")
    status = await world.finished(await world.status_message(event["ts"]))
    mark = world.emu.mark()
    await world.click(status, "run_edit")
    await world.emu.wait_for_call("views.open", lambda c: c.ok, since=mark)
    view = world.emu.last_view
    assert inputs(view)["a"]["element"]["initial_value"] == "11"
    await world.submit(view, {"b": "20"})
    await world.emu.wait_until(lambda: len([m for m in world.thread(event["ts"]) if has_element(m, "run_edit")]) == 2,
                               what="the new run's status message")  # fmt: skip
    runs = await world.wait_runs(2)
    assert [(r.params["a"], r.params["b"]) for r in runs] == [(11, 12), (11, 20)]
