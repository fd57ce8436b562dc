"""Bolt listeners: acknowledge at once, then hand the work to ``SlackHandlers`` in the background.

The app runs with ``process_before_response=True``: Bolt sends the ack as soon as a listener returns, and
every listener returns right after ``ack()`` (forms first validate, which is pure and quick, so errors
arrive inside the ack). Every event type the manifest subscribes to has a listener here, or Bolt would
not ack it and Slack would deliver it again.
"""

import asyncio
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.render import render_text
from bot.slack.answers import Asker
from bot.slack.handlers import SlackHandlers
from bot.slack.modals import CALLBACK_ID, PICK_ACTION, FormContext

log = logging.getLogger(__name__)

SUBSCRIBED_EVENTS = ("app_mention", "message")
"""Bot events of the manifest (``message`` covers ``message.im``); each needs a listener to be acked."""
SHORTCUT_CALLBACK_ID = "run_pipeline"

Ack = Callable[..., Awaitable[None]]
Body = dict[str, Any]


class RecentKeys:
    """The last few thousand request keys: a redelivered event is dropped before any work is done."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """True the first time ``key`` is seen."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True


class Background:
    """Work started after an ack: kept alive until done, failures logged with a reference the user gets."""

    def __init__(self, tell: Callable[[Asker, str], Awaitable[None]]) -> None:
        self._tell = tell
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], asker: Asker) -> None:
        task = asyncio.create_task(self._guard(work, asker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, work: Coroutine[Any, Any, None], asker: Asker) -> None:
        try:
            await work
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("Slack request failed (reference %s)", reference)
            try:
                await self._tell(asker, render_text("internal_error", reference=reference))
            except Exception:
                log.warning("could not tell %s about failure %s", asker.user_id, reference, exc_info=True)

    async def drain(self, seconds: float) -> None:
        """Let work in progress finish (a request that was acked is not dropped on shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=seconds)


def register(app: AsyncApp, handlers: SlackHandlers, work: Background, slash_command: str) -> None:
    seen = RecentKeys()

    def message(event: Body, request: AsyncBoltRequest) -> None:
        key = f"slack:{event['channel']}:{event['ts']}"
        if not seen.add(key):
            return
        retry = request.headers.get("x-slack-retry-num", ["0"])[0]
        asker = Asker(event["user"], event["channel"], event.get("thread_ts") or event["ts"], event["ts"],
                      redelivered=retry not in ("", "0"))  # fmt: skip
        work.spawn(handlers.on_text(asker, event.get("text") or "", key), asker)

    @app.event("app_mention")
    async def on_mention(body: Body, request: AsyncBoltRequest) -> None:
        message(body["event"], request)

    @app.event("message")
    async def on_message(body: Body, request: AsyncBoltRequest) -> None:
        event = body["event"]
        if event.get("channel_type") == "im" and not event.get("subtype") and not event.get("bot_id"):
            message(event, request)  # a direct message is a command without a mention

    @app.command(slash_command)
    async def on_command(ack: Ack, body: Body) -> None:
        await ack()
        asker = Asker(body["user_id"], body["channel_id"], response_url=body.get("response_url"), in_thread=False)
        if body.get("text", "").strip():
            work.spawn(handlers.on_text(asker, body["text"], f"slack:trigger:{body['trigger_id']}"), asker)
        else:
            work.spawn(handlers.open_form(body["trigger_id"], FormContext(body["channel_id"])), asker)

    @app.shortcut(SHORTCUT_CALLBACK_ID)
    async def on_shortcut(ack: Ack, body: Body) -> None:
        await ack()
        channel = body["channel"]["id"]
        asker = Asker(body["user"]["id"], channel, response_url=body.get("response_url"), in_thread=False)
        work.spawn(handlers.open_form_for_message(body["trigger_id"], channel, body["message"]), asker)

    @app.action(PICK_ACTION)
    async def on_pick(ack: Ack, body: Body) -> None:
        await ack()
        pipeline = body["actions"][0]["selected_option"]["value"]
        work.spawn(handlers.pick_pipeline(body["view"], pipeline), _clicker(body))

    @app.action("open_form")
    async def on_open_form(ack: Ack, body: Body) -> None:
        await ack()
        asker = _clicker(body)
        work.spawn(handlers.on_open_form_button(body["trigger_id"], asker.channel, body["actions"][0]["value"]),
                   asker)  # fmt: skip

    @app.action(re.compile(r"^run_(cancel|retry|edit)$"))
    async def on_run_button(ack: Ack, body: Body) -> None:
        await ack()
        action, asker = body["actions"][0], _clicker(body)
        work.spawn(handlers.on_run_button(action["action_id"], action["value"], asker, body["trigger_id"]), asker)

    @app.action("run_open")
    async def on_link(ack: Ack) -> None:
        await ack()  # a link button: Slack opens the URL, but still reports the click

    @app.action(re.compile(r"^confirm_(launch|dismiss)$"))
    async def on_confirm(ack: Ack, body: Body) -> None:
        await ack()
        action, asker = body["actions"][0], _clicker(body)
        work.spawn(handlers.on_confirm_button(action["action_id"] == "confirm_launch", asker.user_id, asker.channel,
                                              body["container"]["message_ts"], action["value"], asker.response_url),
                   asker)  # fmt: skip

    @app.view(CALLBACK_ID)
    async def on_submit(ack: Ack, body: Body) -> None:
        view = body["view"]
        errors, command = handlers.check_form(view)
        if command is None:
            await ack(response_action="errors", errors=errors)
            return
        confirmation, line = handlers.submitted_view(command)
        await ack(response_action="update", view=confirmation)
        context = FormContext.load(view["private_metadata"])
        asker = Asker(body["user"]["id"], context.channel, context.thread_ts, in_thread=False)
        work.spawn(handlers.on_form_submitted(body["user"]["id"], view, command, line), asker)


def _clicker(body: Body) -> Asker:
    """Who clicked, answered privately where they clicked."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    if not channel and body.get("view"):
        channel = FormContext.load(body["view"]["private_metadata"]).channel
    return Asker(body["user"]["id"], channel, response_url=body.get("response_url"), in_thread=False)
