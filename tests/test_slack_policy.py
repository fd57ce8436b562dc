"""The policy file: who may run what where, admins, buttons for the requester, confirmation before launch."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from tests.test_slack_harness import (  # noqa: F401  (fixtures are used by name)
    ADMIN,
    ALICE,
    BOB,
    World,
    _no_proxy,
    block_text,
    charon_serving,
    has_element,
    new_channel,
)

CAROL = "U0CAROL"
POLICY = """
admins:
  users: [U0ADMIN]
pipelines:
  "*":
    groups: [S0DATA]
  smoke_pipeline:
    users: [U0HUMAN, U0BOB]
    channels: [$CHANNEL]
"""
CONFIRM_POLICY = """
pipelines:
  smoke_pipeline:
    users: ["*"]
    confirm: true
"""


@pytest.fixture
async def guarded(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    async with charon_serving(settings, monkeypatch, policy=POLICY, usergroups={"S0DATA": [BOB]}) as world:
        yield world


async def audit(world: World, user: str) -> list[tuple[str, str]]:
    rows = await world.store.pool.fetch(
        "SELECT text, outcome FROM audit_log WHERE user_id = $1 AND channel = ANY($2::text[]) ORDER BY id",
        user, [world.channel, *world.emu.channels],
    )  # fmt: skip
    return [(r["text"], r["outcome"]) for r in rows]


async def test_users_and_channels_not_in_the_policy_are_refused_privately(guarded: World) -> None:
    world = guarded
    event = await world.mention("run smoke_pipeline", user=CAROL)
    refusal = await world.ephemeral(CAROL)
    assert refusal.splitlines() == ["You may not run `smoke_pipeline`.", f"Ask <@{ADMIN}> if you need it."]
    elsewhere = new_channel()
    await world.mention("run smoke_pipeline", user=ALICE, channel=elsewhere)
    refusal = await world.ephemeral(ALICE)
    assert refusal.startswith(f"`smoke_pipeline` can only be run in <#{world.channel}>.")
    assert await world.runs() == [] and await world.runs(elsewhere) == []
    assert world.thread(event["ts"]) == []  # nothing public
    assert await audit(world, CAROL) == [(f"<@{world.emu.bot_user_id}> run smoke_pipeline", "refused:refused")]


async def test_user_group_members_may_run_what_their_group_may(guarded: World) -> None:
    world = guarded
    await world.mention("run fetch_calls_pipeline call_quantity=3", user=ALICE)
    assert (await world.ephemeral(ALICE)).startswith("You may not run `fetch_calls_pipeline`.")
    event = await world.mention("run fetch_calls_pipeline call_quantity=3", user=BOB)
    errors = await world.reply(event["ts"])  # allowed: what is left is to fill in lang
    assert errors.text.startswith("`fetch_calls_pipeline` cannot run with these parameters:")


async def test_buttons_act_only_for_the_requester_or_an_admin(guarded: World) -> None:
    world = guarded
    event = await world.mention("run smoke_pipeline sleep_seconds=60", user=ALICE)
    status = await world.status_message(event["ts"])
    [run] = await world.runs()
    await world.click(status, "run_cancel", user=BOB)
    refusal = await world.ephemeral(BOB)
    assert refusal == f"Only <@{ALICE}> (who started run `{run.id}`) or a Charon admin can cancel it."
    await world.click(status, "run_edit", user=BOB)
    await world.ephemeral(BOB, lambda t: t.endswith("can rerun it."))
    assert not world.emu.calls_to("views.open")

    await world.click(status, "run_cancel", user=ADMIN)
    await world.finished(status)
    assert "Run canceled." in status.text
    assert await audit(world, BOB) == [(f"cancel {run.id}", "refused:refused"),
                                       (f"re-run with edits {run.id}", "refused:refused")]  # fmt: skip


async def test_confirmation_is_needed_before_launch(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async with charon_serving(settings, monkeypatch, policy=CONFIRM_POLICY) as world:
        event = await world.mention("run smoke_pipeline a=3", user=ALICE)
        card = await world.reply(event["ts"], lambda m: has_element(m, "confirm_launch"))
        assert card.text == "`smoke_pipeline` waits for a confirmation before it runs with `a=3`. Press *Launch* to start it."
        assert await world.runs() == []

        await world.click(card, "confirm_launch", user=BOB)
        assert (await world.ephemeral(BOB)).startswith("Only the person who asked for this run")
        await asyncio.gather(world.click(card, "confirm_launch"), world.click(card, "confirm_launch"))
        status = await world.status_message(event["ts"])
        await world.emu.wait_until(lambda: not has_element(card, "confirm_launch"), what="the card to be answered")
        assert f"Launched by <@{ALICE}>." in block_text(card)
        await world.finished(status)
        await world.outcome(event["ts"], "Run completed successfully.")
        [run] = await world.runs()
        assert run.params["a"] == 3 and run.reply_to["confirmed_by"] == ALICE

        other = await world.mention("run smoke_pipeline", user=BOB)
        card = await world.reply(other["ts"], lambda m: has_element(m, "confirm_dismiss"))
        await world.click(card, "confirm_dismiss", user=BOB)
        await world.emu.wait_until(lambda: "Not launched by" in block_text(card), what="the dismissed card")
        assert len(await world.runs()) == 1
