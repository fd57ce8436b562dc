"""Tests of the Slack emulator, mostly driving the real Bolt AsyncApp + slack_sdk Socket Mode stack."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_emulator import AckTimeoutError, SlackEmulator, button_action, option
from tests.slack_emulator_payloads import reaction_added_event

CHANNEL = "C0CHARON"

PARAM_MODAL_BLOCKS: list[dict[str, Any]] = [
    {
        "type": "input",
        "block_id": "run",
        "label": {"type": "plain_text", "text": "Run name"},
        "element": {"type": "plain_text_input", "action_id": "run_name"},
        "optional": True,
    },
    {
        "type": "input",
        "block_id": "env",
        "label": {"type": "plain_text", "text": "Environment"},
        "element": {
            "type": "static_select",
            "action_id": "env_select",
            "options": [option("staging", "Staging"), option("prod", "Production")],
            "initial_option": option("staging", "Staging"),
        },
    },
]


def param_modal(private_metadata: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "run_params",
        "title": {"type": "plain_text", "text": "Run pipeline"},
        "submit": {"type": "plain_text", "text": "Run"},
        "private_metadata": private_metadata,
        "blocks": PARAM_MODAL_BLOCKS,
    }


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk reads proxy variables itself and ignores NO_PROXY (slack.md §0)
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


def web_client(emu: SlackEmulator, *, retry_429: bool = True, token: str | None = None) -> AsyncWebClient:
    handlers: list[Any] = [AsyncConnectionErrorRetryHandler()]
    if retry_429:
        handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return AsyncWebClient(token=token or emu.bot_token, base_url=emu.api_url, retry_handlers=handlers)


def build_app(emu: SlackEmulator) -> tuple[AsyncApp, dict[str, list[Any]]]:
    """A toy Bolt app: mention → threaded reply, /charon → ack text + respond, shortcut → modal, …"""
    app = AsyncApp(client=web_client(emu))
    seen: dict[str, list[Any]] = {"retry_num": [], "retry_reason": [], "mentions": []}

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any, request: Any) -> None:
        seen["retry_num"].append(request.headers.get("x-slack-retry-num"))
        seen["retry_reason"].append(request.headers.get("x-slack-retry-reason"))
        seen["mentions"].append(event["text"])
        await say(text=f"on it: {event['text']}", thread_ts=event.get("thread_ts") or event["ts"])

    @app.event("message")
    async def on_message() -> None:  # every subscribed event type needs a listener or it is never acked
        return None

    @app.command("/charon")
    async def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack(f"Starting {command['text']}")
        await respond(f"queued {command['text']}")

    @app.shortcut("run_pipeline")
    async def on_shortcut(ack: Any, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        message = shortcut["message"]
        meta = {"c": shortcut["channel"]["id"], "t": message.get("thread_ts") or shortcut["message_ts"]}
        await client.views_open(trigger_id=shortcut["trigger_id"], view=param_modal(json.dumps(meta)))

    @app.view("run_params")
    async def on_submit(ack: Any, view: dict[str, Any], client: AsyncWebClient) -> None:
        values = view["state"]["values"]
        run_name = values["run"]["run_name"]["value"]
        if not run_name:
            await ack(response_action="errors", errors={"run": "Run name is required"})
            return
        await ack()
        env = values["env"]["env_select"]["selected_option"]["value"]
        meta = json.loads(view["private_metadata"])
        await client.chat_postMessage(
            channel=meta["c"], thread_ts=meta["t"], text=f"Running {run_name} on {env}"
        )

    @app.action("approve")
    async def on_approve(ack: Any, respond: Any) -> None:
        await ack()
        await respond(replace_original=True, text="Approved :white_check_mark:")

    return app, seen


@contextlib.asynccontextmanager
async def running(app: AsyncApp, emu: SlackEmulator, ping_interval: float = 1.0) -> AsyncIterator[Any]:
    handler = AsyncSocketModeHandler(app, emu.app_token, ping_interval=ping_interval)
    # the handler's SocketModeClient reuses app.client, so apps.connections.open hits the emulator
    assert handler.client.web_client.base_url == emu.api_url
    await asyncio.wait_for(handler.connect_async(), 5)  # a bad xapp- token would hang forever
    try:
        await emu.wait_connected()
        yield handler
    finally:
        await handler.close_async()


# ------------------------------------------------------------------------------------------------------
# Socket Mode with the real Bolt stack
# ------------------------------------------------------------------------------------------------------


async def test_connection_handshake(emu: SlackEmulator) -> None:
    app, _ = build_app(emu)
    async with running(app, emu):
        [open_call] = emu.calls_to("apps.connections.open")
        assert open_call.ok and open_call.response["url"].startswith(
            f"ws://127.0.0.1:{emu.port}/link/?ticket="
        )
        assert "Authorization" not in open_call.headers and "authorization" not in open_call.headers
        conn = await emu.wait_connected()
        assert conn.number == 1 and conn.hello_sent and conn.is_open
        await emu.wait_until(lambda: conn.pings >= 1, what="the SDK's sdk-ping-pong ping")
        assert emu.calls_to("auth.test") == []  # AsyncApp calls auth.test lazily (slack.md §2.1)

        # the ticket is single-use
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(open_call.response["url"])


async def test_event_delivered_acked_and_reply_in_thread(emu: SlackEmulator) -> None:
    app, seen = build_app(emu)
    async with running(app, emu):
        event = emu.app_mention_event("deploy nightly")
        ack = await emu.send_events_api(event)
        assert ack.type == "events_api" and ack.payload is None and ack.connection == 1
        assert 0 < ack.latency < 2
        assert ack.request["event"]["ts"] == event["ts"] and ack.request["type"] == "event_callback"

        call = await emu.wait_for_call("chat.postMessage", lambda c: c.ok)
        assert call.args["channel"] == CHANNEL and call.args["thread_ts"] == event["ts"]
        [reply] = emu.messages_in(CHANNEL, thread_ts=event["ts"])
        assert reply.text == f"on it: <@{emu.bot_user_id}> deploy nightly" and reply.bot_id == emu.bot_id
        assert emu.message(CHANNEL, event["ts"]).replies == [reply.ts]  # the mention was stored as parent

        # redelivery is visible as headers; a first delivery carries "0"
        await emu.send_events_api(emu.app_mention_event("again"), retry_attempt=1, retry_reason="timeout")
        assert seen["retry_num"] == [["0"], ["1"]] and seen["retry_reason"] == [[""], ["timeout"]]
        assert len(emu.calls_to("auth.test")) == 1  # lazy and cached


async def test_slash_command_ack_latency_and_respond(emu: SlackEmulator) -> None:
    app, _ = build_app(emu)
    async with running(app, emu):
        ack = await emu.send_slash_command("nightly", user_id="U0HUMAN")
        assert ack.type == "slash_commands" and ack.payload == {"text": "Starting nightly"}
        assert 0 < ack.latency < 3
        assert ack.envelope["accepts_response_payload"] is True
        req = ack.request
        assert (
            req["command"] == "/charon"
            and req["text"] == "nightly"
            and req["is_enterprise_install"] == "false"
        )
        assert [e.text for e in emu.ephemerals if e.source == "ack"] == ["Starting nightly"]
        post = await emu.wait_until(lambda: emu.response_url_posts, what="respond() post")
        assert post[0].body["text"] == "queued nightly" and post[0].source == "slash_command"


async def test_429_on_post_message_is_retried_and_delivered_once(emu: SlackEmulator) -> None:
    app, _ = build_app(emu)
    async with running(app, emu):
        emu.fail_next("chat.postMessage", retry_after=0)
        event = emu.app_mention_event("status")
        await emu.send_events_api(event)
        await emu.wait_until(lambda: emu.statuses("chat.postMessage") == [429, 200], what="[429, 200]")
        first = emu.calls_to("chat.postMessage")[0]
        assert first.error == "ratelimited"
        assert len(emu.messages_in(CHANNEL, thread_ts=event["ts"])) == 1


async def test_429_and_error_variants_without_retry_handler(emu: SlackEmulator) -> None:
    client = web_client(emu, retry_429=False)
    emu.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 429 and err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"

    emu.fail_next("chat.postMessage", error="channel_not_found", count=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel=CHANNEL, text="x")
        assert err.value.response.status_code == 200 and err.value.response["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel=CHANNEL, text="x"))["ok"]

    emu.rate_limit("chat.postMessage", min_interval=60)
    await client.chat_postMessage(channel="C0OTHER", text="first is fine")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0OTHER", text="too fast")
    assert err.value.response.status_code == 429
    assert (await client.chat_postMessage(channel=CHANNEL, text="other channel"))["ok"]


async def test_disconnect_reconnect_then_next_event_works(emu: SlackEmulator) -> None:
    app, seen = build_app(emu)
    async with running(app, emu, ping_interval=0.5):
        assert (await emu.send_events_api(emu.app_mention_event("one"))).connection == 1

        await emu.disconnect("refresh_requested", close_after=5)  # the client must act on the message itself
        conn2 = await emu.wait_connected(connections=2, timeout=2)
        assert conn2.number == 2 and len(emu.calls_to("apps.connections.open")) == 2
        ack = await emu.send_events_api(emu.app_mention_event("two"))
        assert ack.connection == 2 and emu.envelopes[-1].connection == 2
        await emu.wait_until(
            lambda: not emu.connections[0].is_open, 2, "the client to close the old connection"
        )

        await emu.close_connection()  # server close frame
        assert (await emu.wait_connected(connections=3)).number == 3
        emu.abort_connection()  # TCP reset, no close frame
        assert (await emu.wait_connected(connections=4)).number == 4
        emu.stall()  # half-open: pings unanswered → the SDK notices and reconnects
        assert (await emu.wait_connected(connections=5, timeout=10)).number == 5

        ack = await emu.send_events_api(emu.app_mention_event("three"))
        assert ack.connection == 5
        await emu.wait_until(lambda: len(emu.calls_to("chat.postMessage")) == 3, what="three replies")
        assert len(seen["mentions"]) == 3


async def test_connections_open_429_and_echoed_bot_posts() -> None:
    async with SlackEmulator(echo_bot_messages=True, ack_timeout=1) as emu:
        emu.fail_next("apps.connections.open", retry_after=0)  # the SDK sleeps Retry-After and asks again
        app, _ = build_app(emu)
        async with running(app, emu):
            assert emu.statuses("apps.connections.open") == [429, 200]
            event = emu.app_mention_event("echo me")
            await emu.send_events_api(event)
            echo = await emu.wait_until(
                lambda: [e for e in emu.envelopes if e.envelope["payload"]["event"].get("bot_id")],
                what="echo",
            )
            echoed = echo[0].envelope["payload"]["event"]
            assert echoed["type"] == "message" and echoed["thread_ts"] == event["ts"]
            assert echoed["user"] == emu.bot_user_id and echoed["bot_id"] == emu.bot_id


async def test_unacked_events_are_redelivered(emu: SlackEmulator) -> None:
    app, _ = build_app(emu)
    dropped: list[str] = []

    @app.middleware
    async def drop_first_delivery(body: dict[str, Any], request: Any, next: Any) -> None:
        if body.get("event", {}).get("type") == "app_mention" and request.headers.get(
            "x-slack-retry-num"
        ) == ["0"]:
            dropped.append(body["event_id"])
            return  # no next() → Bolt sends no ack
        await next()

    async with running(app, emu):
        ack = await emu.send_events_api(emu.app_mention_event("hi"), timeout=0.3, redeliver_unacked=True)
        assert ack.deliveries == 2 and ack.retry_attempt == 1 and ack.envelope["retry_reason"] == "timeout"
        assert ack.request["event_id"] == dropped[0]

        # no listener for reaction_added → never acked: 1 delivery + 3 redeliveries, then a clear error
        event = reaction_added_event("eyes", user="U0HUMAN", channel=CHANNEL, item_ts="1.000001")
        with pytest.raises(AckTimeoutError, match=r"not acked within 0\.2s after 4 deliveries"):
            await emu.send_events_api(event, timeout=0.2, redeliver_unacked=True)
        attempts = [e.envelope.get("retry_attempt") for e in emu.envelopes[-4:]]
        assert attempts == [0, 1, 2, 3]
        assert len({e.envelope["payload"]["event_id"] for e in emu.envelopes[-4:]}) == 1
        assert len({e.envelope["envelope_id"] for e in emu.envelopes[-4:]}) == 4


async def test_message_shortcut_modal_errors_then_submit(emu: SlackEmulator) -> None:
    app, _ = build_app(emu)
    async with running(app, emu):
        parent = emu.seed_message("nightly failed, please rerun")
        ack = await emu.send_interactive(emu.message_action_payload("run_pipeline", parent))
        assert ack.payload is None and ack.envelope["accepts_response_payload"] is False
        opened = await emu.wait_for_call("views.open")
        assert opened.ok, opened.response
        view = emu.last_view
        assert view.callback_id == "run_params" and json.loads(view.private_metadata)["t"] == parent.ts

        bad = await emu.send_interactive(emu.view_submission_payload(view.id, {"run": {"run_name": ""}}))
        assert bad.payload == {"response_action": "errors", "errors": {"run": "Run name is required"}}
        assert view.last_errors == {"run": "Run name is required"} and not view.closed

        good = emu.view_submission_payload(
            view.id, {"run": {"run_name": "rerun-1"}, "env": {"env_select": "prod"}}
        )
        state = good["view"]["state"]["values"]
        assert state["env"]["env_select"]["selected_option"]["value"] == "prod"
        assert state["env"]["env_select"]["selected_option"]["text"]["text"] == "Production"
        ack = await emu.send_interactive(good)
        assert ack.payload is None and view.closed
        await emu.wait_for_call("chat.postMessage", lambda c: c.ok)
        [reply] = emu.messages_in(CHANNEL, thread_ts=parent.ts)
        assert reply.text == "Running rerun-1 on prod"


async def test_block_actions_button_and_respond_replace_original(emu: SlackEmulator) -> None:
    app, _ = build_app(emu)
    client = web_client(emu)
    async with running(app, emu):
        blocks: list[dict[str, Any]] = [
            {"type": "section", "block_id": "q", "text": {"type": "mrkdwn", "text": "Approve deploy?"}},
            {
                "type": "actions",
                "block_id": "a",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "approve",
                        "value": "yes",
                        "text": {"type": "plain_text", "text": "OK"},
                    },
                ],
            },
        ]
        posted = await client.chat_postMessage(channel=CHANNEL, text="Approve deploy?", blocks=blocks)
        msg = emu.message(CHANNEL, posted["ts"])
        payload = emu.block_actions_payload(button_action("approve", "yes", block_id="a"), message=msg)
        assert payload["container"] == {
            "type": "message",
            "message_ts": msg.ts,
            "channel_id": CHANNEL,
            "is_ephemeral": False,
        }
        ack = await emu.send_interactive(payload)
        assert ack.payload is None and ack.envelope["accepts_response_payload"] is True
        await emu.wait_until(lambda: msg.text.startswith("Approved"), what="replace_original")
        assert msg.history[0]["text"] == "Approve deploy?"


# ------------------------------------------------------------------------------------------------------
# Web API
# ------------------------------------------------------------------------------------------------------


async def test_trigger_id_validation(emu: SlackEmulator) -> None:
    client = web_client(emu)
    view = param_modal("{}")
    trigger = emu.issue_trigger_id()
    opened = await client.views_open(trigger_id=trigger, view=view)
    assert (
        opened["view"]["callback_id"] == "run_params"
        and opened["view"]["root_view_id"] == opened["view"]["id"]
    )
    cases = [(trigger, "exchanged_trigger_id"), ("123.456.abc", "invalid_trigger_id")]
    expired = emu.issue_trigger_id(ttl=0.01)
    await asyncio.sleep(0.05)
    cases.append((expired, "expired_trigger_id"))
    for trigger_id, error in cases:
        with pytest.raises(SlackApiError) as err:
            await client.views_open(trigger_id=trigger_id, view=view)
        assert err.value.response["error"] == error

    no_callback = {k: v for k, v in view.items() if k != "callback_id"}
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=emu.issue_trigger_id(), view=no_callback)
    assert err.value.response["error"] == "invalid_arguments"
    assert "callback_id" in err.value.response["response_metadata"]["messages"][0]

    # views.update with hash, views.push up to a stack of 3
    vid, vhash = opened["view"]["id"], opened["view"]["hash"]
    updated = await client.views_update(view_id=vid, hash=vhash, view=view)
    assert updated["view"]["hash"] != vhash
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await client.views_update(view_id=vid, hash=vhash, view=view)
    for _ in range(2):
        await client.views_push(trigger_id=emu.issue_trigger_id(view_id=vid), view=view)
    with pytest.raises(SlackApiError, match="push_limit_reached"):
        await client.views_push(trigger_id=emu.issue_trigger_id(view_id=vid), view=view)


async def test_block_limits_and_required_args(emu: SlackEmulator) -> None:
    client = web_client(emu)

    def section(text: str) -> dict[str, Any]:
        return {"type": "section", "text": {"type": "mrkdwn", "text": text}}

    assert (await client.chat_postMessage(channel=CHANNEL, text="ok", blocks=[section("x")] * 50))["ok"]
    assert (await client.chat_postMessage(channel=CHANNEL, text="ok", blocks=[section("x" * 3000)]))["ok"]
    bad_cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {"channel": CHANNEL, "text": "x", "blocks": [section("x")] * 51},
            "invalid_blocks",
            "no more than 50",
        ),
        (
            {"channel": CHANNEL, "text": "x", "blocks": [section("x" * 3001)]},
            "invalid_blocks",
            "less than 3001",
        ),
        ({"channel": CHANNEL}, "no_text", ""),
        ({"text": "x"}, "channel_not_found", ""),
        ({"channel": "#no-such-channel", "text": "x"}, "channel_not_found", ""),
    ]
    for kwargs, error, message in bad_cases:
        with pytest.raises(SlackApiError) as err:
            await client.api_call("chat.postMessage", json=kwargs)  # raw: the SDK would refuse/warn first
        assert err.value.response["error"] == error
        assert message in json.dumps(err.value.response.data)

    view = {**param_modal("{}"), "blocks": [section("x")] * 100}
    assert (await client.views_open(trigger_id=emu.issue_trigger_id(), view=view))["ok"]
    for bad_view in (
        {**view, "blocks": [section("x")] * 101},
        {**param_modal("{}"), "submit": None},  # input blocks need a submit button
        {**param_modal("{}"), "title": {"type": "plain_text", "text": "x" * 25}},
        {**param_modal("x" * 3001)},
    ):
        with pytest.raises(SlackApiError) as err:
            await client.views_open(trigger_id=emu.issue_trigger_id(), view=bad_view)
        assert err.value.response["error"] == "invalid_arguments"


async def test_request_encodings_and_auth(emu: SlackEmulator) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    auth = {"Authorization": f"Bearer {emu.bot_token}"}
    async with aiohttp.ClientSession() as http:
        url = emu.api_url + "chat.postMessage"
        form = {"channel": CHANNEL, "text": "form", "blocks": json.dumps(blocks)}
        async with http.post(url, data=form, headers=auth) as r:
            assert (await r.json())["ok"]
        async with http.post(
            url, json={"channel": CHANNEL, "text": "json", "blocks": blocks}, headers=auth
        ) as r:
            assert (await r.json())["ok"]
        mp = aiohttp.FormData({"channel": CHANNEL, "text": "multipart"})
        mp.add_field("file", b"bytes", filename="a.txt", content_type="text/plain")
        async with http.post(url, data=mp, headers=auth) as r:
            assert (await r.json())["ok"]
        async with http.get(emu.api_url + "users.info?user=U0HUMAN", headers=auth) as r:
            assert (await r.json())["user"]["name"] == "alice"

        for method, token, error in [
            ("chat.postMessage", "xoxb-wrong", "invalid_auth"),
            ("chat.postMessage", emu.app_token, "not_allowed_token_type"),
            ("apps.connections.open", emu.bot_token, "not_allowed_token_type"),
            ("chat.postMessage", None, "not_authed"),
            ("no.such.method", emu.bot_token, "unknown_method"),
        ]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.post(
                emu.api_url + method, data={"channel": CHANNEL, "text": "x"}, headers=headers
            ) as r:
                assert (await r.json())["error"] == error

    posts = [c for c in emu.calls_to("chat.postMessage") if c.ok]
    assert [c.args["text"] for c in posts] == ["form", "json", "multipart"]
    assert posts[0].args["blocks"] == blocks and posts[1].args["blocks"] == blocks  # JSON strings decoded
    assert posts[2].args["file"]["data"] == b"bytes"
    assert all("Authorization" not in c.headers for c in emu.calls)


async def test_update_reactions_lookups_and_files(emu: SlackEmulator) -> None:
    client = web_client(emu)
    emu.add_usergroup("S0ONCALL", ["U0HUMAN", "U0BOB"])
    parent = emu.seed_message("run nightly")
    posted = await client.chat_postMessage(channel=CHANNEL, thread_ts=parent.ts, text="queued")
    assert posted["message"]["thread_ts"] == parent.ts and posted["message"]["parent_user_id"] == "U0HUMAN"
    updated = await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="running 50%")
    assert updated["text"] == "running 50%"
    msg = emu.message(CHANNEL, posted["ts"])
    assert msg.text == "running 50%" and [h["text"] for h in msg.history] == ["queued"]
    with pytest.raises(SlackApiError, match="cant_update_message"):
        await client.chat_update(channel=CHANNEL, ts=parent.ts, text="not mine")
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel=CHANNEL, ts="1.000000", text="x")

    await client.reactions_add(channel=CHANNEL, timestamp=parent.ts, name="eyes")
    with pytest.raises(SlackApiError, match="already_reacted"):
        await client.reactions_add(channel=CHANNEL, timestamp=parent.ts, name="eyes")
    assert parent.reactions == {"eyes": [emu.bot_user_id]}
    await client.reactions_remove(channel=CHANNEL, timestamp=parent.ts, name="eyes")
    assert parent.reactions == {}

    link = await client.chat_getPermalink(channel=CHANNEL, message_ts=posted["ts"])
    assert f"thread_ts={parent.ts}" in link["permalink"]
    assert (await client.users_info(user="U0BOB"))["user"]["id"] == "U0BOB"
    assert (await client.conversations_info(channel=CHANNEL))["channel"]["name"] == "charon-ops"
    assert (await client.usergroups_users_list(usergroup="S0ONCALL"))["users"] == ["U0HUMAN", "U0BOB"]
    replies = await client.conversations_replies(channel=CHANNEL, ts=parent.ts)
    assert [m["ts"] for m in replies["messages"]] == [parent.ts, posted["ts"]]
    eph = await client.chat_postEphemeral(channel=CHANNEL, user="U0HUMAN", text="only you")
    assert eph["message_ts"] and emu.ephemerals[-1].text == "only you"

    up = await client.files_upload_v2(
        channel=CHANNEL, thread_ts=parent.ts, content="log line", filename="run.log"
    )
    [f] = emu.files.values()
    assert up["file"]["id"] == f.id and f.data == b"log line" and f.completed
    assert (f.channel, f.thread_ts, f.filename) == (CHANNEL, parent.ts, "run.log")


async def test_wait_for_call_timeout_is_descriptive(emu: SlackEmulator) -> None:
    await web_client(emu).chat_postMessage(channel=CHANNEL, text="hello")
    with pytest.raises(TimeoutError, match=r"chat\.update call.*calls so far"):
        await emu.wait_for_call("chat.update", timeout=0.1)
    mark = emu.mark()
    with pytest.raises(TimeoutError):
        await emu.wait_for_call("chat.postMessage", timeout=0.1, since=mark)


async def test_payload_shapes(emu: SlackEmulator) -> None:
    mention = emu.app_mention_event("hi", thread_ts="1700000000.000100")
    assert mention["text"].startswith(f"<@{emu.bot_user_id}>") and mention["event_ts"] == mention["ts"]
    assert {"client_msg_id", "team", "blocks", "channel", "user", "thread_ts"} <= mention.keys()
    assert mention["blocks"][0]["elements"][0]["elements"][0] == {"type": "user", "user_id": emu.bot_user_id}
    msg = emu.message_event("plain", channel="D0DM")
    assert msg["channel_type"] == "im" and msg["type"] == "message"

    cmd = emu.slash_command_payload("nightly")
    assert set(cmd) == {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    }
    assert cmd["response_url"].startswith(f"{emu.base_url}/response_url/")

    shortcut = emu.message_action_payload("cb", emu.seed_message("x"))
    assert {
        "callback_id",
        "message",
        "channel",
        "trigger_id",
        "response_url",
        "message_ts",
    } <= shortcut.keys()
    assert emu.shortcut_payload("global")["type"] == "shortcut"

    opened = await web_client(emu).views_open(trigger_id=emu.issue_trigger_id(), view=param_modal("m"))
    sub = emu.view_submission_payload(opened["view"]["id"])
    assert sub["view"]["state"]["values"] == {
        "run": {"run_name": {"type": "plain_text_input", "value": None}},
        "env": {"env_select": {"type": "static_select", "selected_option": option("staging", "Staging")}},
    }
    assert {"hash", "private_metadata", "callback_id", "root_view_id"} <= sub["view"].keys()
    assert (
        emu.block_actions_payload(button_action("b"), view=opened["view"]["id"])["container"]["type"]
        == "view"
    )
    closed = emu.view_closed_payload(opened["view"]["id"])
    assert closed["type"] == "view_closed" and closed["is_cleared"] is False
