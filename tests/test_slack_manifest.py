"""The shipped app manifest asks for exactly what the code uses: its events, command, shortcut and scopes."""

from pathlib import Path

import pytest
import yaml

from bot.settings import Settings
from tests.test_slack_harness import (  # noqa: F401  (the autouse fixture is used by name)
    ALICE,
    BOB,
    World,
    _no_proxy,
    charon_serving,
)

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "slack-app-manifest.yaml").read_text())
METHOD_SCOPES = {  # from each method's page at https://docs.slack.dev/reference/methods
    "auth.test": None, "apps.connections.open": None, "views.open": None, "views.update": None,
    "chat.postMessage": "chat:write", "chat.update": "chat:write", "chat.postEphemeral": "chat:write",
    "reactions.add": "reactions:write", "reactions.remove": "reactions:write",
    "usergroups.users.list": "usergroups:read",
}  # fmt: skip
EVENT_SCOPES = {"app_mention": "app_mentions:read", "message.im": "im:history"}
POLICY = """
admins:
  groups: [S0ONCALL]
pipelines:
  smoke_pipeline:
    users: ["*"]
"""


def test_the_manifest_declares_what_the_listeners_handle() -> None:
    from bot.slack.listeners import SHORTCUT_CALLBACK_ID, SUBSCRIBED_EVENTS

    settings = MANIFEST["settings"]
    assert settings["socket_mode_enabled"] is True and settings["interactivity"]["is_enabled"] is True
    events = settings["event_subscriptions"]["bot_events"]
    assert {event.split(".")[0] for event in events} == set(SUBSCRIBED_EVENTS)
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == Settings.model_fields["slash_command"].default
    [shortcut] = MANIFEST["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", SHORTCUT_CALLBACK_ID)


async def test_every_scope_is_used_and_every_call_is_covered(settings: Settings,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    async with charon_serving(settings, monkeypatch, policy=POLICY, usergroups={"S0ONCALL": [ALICE]}) as world:
        await exercise(world)
        called = {call.method for call in world.emu.calls}
    needed = {METHOD_SCOPES[method] for method in called} - {None}
    needed |= {EVENT_SCOPES[event] for event in MANIFEST["settings"]["event_subscriptions"]["bot_events"]}
    needed |= {"commands", "chat:write.public"}  # the slash command and shortcut; posting where not a member
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


async def exercise(world: World) -> None:
    """A mention, a run to its end, private answers, a form, a DM: every kind of call Charon makes."""
    event = await world.mention("run smoke_pipeline")
    status = await world.finished(await world.status_message(event["ts"]))
    await world.outcome(event["ts"], "Run completed successfully.")
    await world.slash("status nope")
    await world.ephemeral(ALICE, lambda t: "There is no run" in t)
    await world.click(status, "run_edit")
    await world.emu.wait_for_call("views.open", lambda c: c.ok)
    await world.pick(world.emu.last_view, "fetch_calls_pipeline")
    dm = world.emu.message_event("help", channel="D0ALICE")
    await world.emu.send_events_api(dm)
    await world.reply(dm["ts"], channel="D0ALICE")
    await world.mention("run fetch_calls_pipeline lang=en", user=BOB)
    await world.ephemeral(BOB, lambda t: t.startswith("You may not run"))
