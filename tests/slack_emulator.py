"""A loopback Slack emulator (Web API + Socket Mode) for tests.

The real stack – Bolt ``AsyncApp`` + slack_sdk ``AsyncWebClient`` + slack_sdk's aiohttp ``SocketModeClient``
– runs against it unchanged; the only knob is the web client's ``base_url`` (see slack.md §2)::

    async with SlackEmulator() as emu:
        client = AsyncWebClient(token=emu.bot_token, base_url=emu.api_url,
                                retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
        app = AsyncApp(client=client)
        handler = AsyncSocketModeHandler(app, emu.app_token, ping_interval=1)
        await asyncio.wait_for(handler.connect_async(), 5)   # apps.connections.open → ws://…/link/
        await emu.wait_connected()
        ack = await emu.send_events_api(emu.app_mention_event("deploy nightly"))
        call = await emu.wait_for_call("chat.postMessage")
        await handler.close_async()

Served on one aiohttp server (127.0.0.1, free port): ``/api/<method>`` (GET/POST; query, form, multipart and
JSON bodies), ``/link/?ticket=…`` (Socket Mode websocket), ``/upload/v1/<file_id>`` (files_upload_v2 step 2)
and ``/response_url/<id>`` (``respond()``). Everything is recorded for assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from tests import slack_emulator_payloads as payloads
from tests.slack_emulator_payloads import JsonDict, button_action, option, static_select_action

__all__ = [
    "AckResult",
    "AckTimeoutError",
    "ApiCall",
    "EmuChannel",
    "EmuConnection",
    "EmuEphemeral",
    "EmuFile",
    "EmuMessage",
    "EmuUser",
    "EmuView",
    "ResponseUrlPost",
    "SentEnvelope",
    "SlackEmulator",
    "button_action",
    "option",
    "static_select_action",
    "validate_blocks",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_BOT_TOKEN = "xoxb-1-emulator-bot-token"
DEFAULT_APP_TOKEN = "xapp-1-A0CHARON-1-emulator-app-token"
_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")
_BOT_SCOPES = "app_mentions:read,channels:history,chat:write,commands,files:write,reactions:write,users:read"


class AckTimeoutError(TimeoutError):
    """A Socket Mode envelope was not acked in time (Bolt sends no ack when no listener matched)."""


class _ApiError(Exception):
    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        messages: list[str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(error)
        self.error, self.status, self.messages, self.retry_after = error, status, messages or [], retry_after


# ------------------------------------------------------------------------------------------------------
# records
# ------------------------------------------------------------------------------------------------------


@dataclass
class ApiCall:
    """One Web API request: parsed args (JSON-string fields decoded), headers without credentials."""

    index: int
    method: str
    args: JsonDict
    headers: dict[str, str]
    http_verb: str
    status: int
    response: JsonDict
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.response.get("error"))


@dataclass
class EmuMessage:
    channel: str
    ts: str
    text: str
    user: str
    blocks: list[JsonDict] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    metadata: JsonDict | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)
    history: list[JsonDict] = field(default_factory=list)  # earlier versions, oldest first
    deleted: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_slack(self, emu: SlackEmulator) -> JsonDict:
        m: JsonDict = {
            "user": self.user,
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "team": emu.team_id,
        }
        if self.bot_id:
            m.update(bot_id=self.bot_id, app_id=emu.app_id)
            m["bot_profile"] = {
                "id": self.bot_id,
                "app_id": emu.app_id,
                "name": emu.bot_name,
                "deleted": False,
                "team_id": emu.team_id,
            }
        if self.blocks is not None:
            m["blocks"] = self.blocks
        if self.thread_ts:
            m["thread_ts"] = self.thread_ts
            if self.is_reply:
                parent = emu.messages.get((self.channel, self.thread_ts))
                m["parent_user_id"] = parent.user if parent else self.user
            elif self.replies:
                m.update(reply_count=len(self.replies), latest_reply=self.replies[-1])
        if self.metadata:
            m["metadata"] = self.metadata
        if self.history:
            m["edited"] = {"user": self.user, "ts": self.history[-1]["edited_ts"]}
        if self.reactions:
            m["reactions"] = [{"name": n, "users": u, "count": len(u)} for n, u in self.reactions.items()]
        return m


@dataclass
class EmuView:
    id: str
    definition: JsonDict
    hash: str
    user_id: str
    root_view_id: str
    previous_view_id: str | None = None
    state_values: JsonDict = field(default_factory=dict)
    closed: bool = False
    history: list[JsonDict] = field(default_factory=list)
    last_errors: JsonDict | None = None

    @property
    def callback_id(self) -> str:
        return str(self.definition.get("callback_id", ""))

    @property
    def private_metadata(self) -> str:
        return str(self.definition.get("private_metadata", ""))

    def to_slack(self, emu: SlackEmulator) -> JsonDict:
        d = self.definition
        return {
            "id": self.id,
            "team_id": emu.team_id,
            "type": d.get("type", "modal"),
            "blocks": d.get("blocks", []),
            "private_metadata": d.get("private_metadata", ""),
            "callback_id": d.get("callback_id", ""),
            "state": {"values": self.state_values},
            "hash": self.hash,
            "title": d.get("title"),
            "clear_on_close": bool(d.get("clear_on_close", False)),
            "notify_on_close": bool(d.get("notify_on_close", False)),
            "close": d.get("close"),
            "submit": d.get("submit"),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": emu.app_id,
            "external_id": d.get("external_id", ""),
            "app_installed_team_id": emu.team_id,
            "bot_id": emu.bot_id,
        }


@dataclass
class EmuUser:
    id: str
    name: str
    real_name: str = ""
    email: str = ""
    tz: str = "Europe/London"
    is_bot: bool = False

    def to_slack(self, team_id: str) -> JsonDict:
        real = self.real_name or self.name
        profile = {
            "display_name": self.name,
            "real_name": real,
            "email": self.email or f"{self.name}@example.com",
        }
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": real,
            "deleted": False,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_admin": False,
            "profile": profile,
        }


@dataclass
class EmuChannel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False
    user: str | None = None  # the other party of a DM

    def to_slack(self) -> JsonDict:
        if self.id.startswith("D"):
            return {"id": self.id, "is_im": True, "user": self.user, "created": 1700000000, "is_open": True}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_member": self.is_member,
            "is_archived": self.is_archived,
            "is_general": False,
            "created": 1700000000,
            "creator": "U0CREATOR",
            "is_ext_shared": False,
            "is_shared": False,
        }


@dataclass
class EmuEphemeral:
    channel: str
    user: str
    text: str
    blocks: list[JsonDict] | None
    thread_ts: str | None
    source: str  # "chat.postEphemeral" | "ack" | "response_url"


@dataclass
class EmuFile:
    id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class ResponseUrlPost:
    url_id: str
    body: JsonDict
    source: str
    channel: str | None
    user_id: str | None


@dataclass
class SentEnvelope:
    envelope: JsonDict
    connection: int
    sent_at: float


@dataclass
class AckResult:
    """The ack of one envelope. ``latency`` is seconds from writing the envelope to reading the ack."""

    envelope_id: str
    type: str
    payload: JsonDict | None
    latency: float
    connection: int  # number of the connection the ack arrived on (1-based)
    envelope: JsonDict
    deliveries: int  # how many times the emulator had delivered the payload when this ack came

    @property
    def request(self) -> JsonDict:
        """The payload that was delivered (event_callback / slash command / interaction)."""
        return dict(self.envelope["payload"])

    @property
    def retry_attempt(self) -> int | None:
        return self.envelope.get("retry_attempt")


@dataclass
class EmuConnection:
    number: int
    ticket: str
    ws: web.WebSocketResponse
    transport: Any
    opened_at: float
    closed_at: float | None = None
    hello_sent: bool = False
    retiring: bool = False  # a disconnect was sent; no more deliveries
    stalled: bool = False  # half-open: pings and acks are ignored
    pings: int = 0

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and not self.ws.closed


@dataclass
class _Trigger:
    id: str
    issued: float
    ttl: float
    user_id: str
    view_id: str | None
    used: bool = False


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int | None
    remaining: int


@dataclass
class _Pending:
    envelope: JsonDict
    future: asyncio.Future[AckResult]
    delivery: int
    sent_at: float = 0.0


# ------------------------------------------------------------------------------------------------------
# Block Kit validation (the limits that matter, with Slack's error message style)
# ------------------------------------------------------------------------------------------------------

_BLOCK_TYPES = {
    "section",
    "divider",
    "header",
    "context",
    "actions",
    "input",
    "image",
    "rich_text",
    "file",
    "video",
    "markdown",
    "table",
    "context_actions",
}


def _check_text(obj: Any, ptr: str, max_len: int, errs: list[str], *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict):
        errs.append(f"[ERROR] missing required field: text [json-pointer:{ptr}]")
        return
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        errs.append(f"[ERROR] must be one of {list(allowed)} [json-pointer:{ptr}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errs.append(f"[ERROR] must be more than 0 characters [json-pointer:{ptr}/text]")
    elif len(text) > max_len:
        errs.append(f"[ERROR] must be less than {max_len + 1} characters [json-pointer:{ptr}/text]")


def _check_element(el: Any, ptr: str, errs: list[str]) -> None:
    if not isinstance(el, dict) or "type" not in el:
        errs.append(f"[ERROR] missing required field: type [json-pointer:{ptr}]")
        return
    if len(str(el.get("action_id", ""))) > 255:
        errs.append(f"[ERROR] must be less than 256 characters [json-pointer:{ptr}/action_id]")
    etype = el["type"]
    if etype == "button":
        _check_text(el.get("text"), f"{ptr}/text", 75, errs, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            errs.append(f"[ERROR] must be less than 2001 characters [json-pointer:{ptr}/value]")
    limit = {"checkboxes": 10, "radio_buttons": 10, "overflow": 5}.get(etype, 100)
    if isinstance(el.get("options"), list) and len(el["options"]) > limit:
        errs.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{ptr}/options]")
    if "placeholder" in el:
        _check_text(el["placeholder"], f"{ptr}/placeholder", 150, errs, plain_only=True)
    if etype == "number_input" and "is_decimal_allowed" not in el:
        errs.append(f"[ERROR] missing required field: is_decimal_allowed [json-pointer:{ptr}]")
    if etype == "plain_text_input" and int(el.get("max_length", 0) or 0) > 3000:
        errs.append(f"[ERROR] must be less than 3001 [json-pointer:{ptr}/max_length]")


def validate_blocks(blocks: Any, *, max_blocks: int, pointer: str = "/blocks") -> list[str]:
    """Slack-style ``[ERROR] … [json-pointer:…]`` messages for a blocks array; empty when valid."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{pointer}]"]
    errs: list[str] = []
    if len(blocks) > max_blocks:
        errs.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:{pointer}]")
    seen: set[str] = set()
    for i, b in enumerate(blocks):
        ptr = f"{pointer}/{i}"
        if not isinstance(b, dict) or b.get("type") not in _BLOCK_TYPES:
            errs.append(f"[ERROR] unsupported or missing block type [json-pointer:{ptr}/type]")
            continue
        block_id = b.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                errs.append(f"[ERROR] must be less than 256 characters [json-pointer:{ptr}/block_id]")
            if block_id in seen:
                errs.append(f"[ERROR] duplicate block_id {block_id!r} [json-pointer:{ptr}/block_id]")
            seen.add(str(block_id))
        btype = b["type"]
        if btype == "section":
            if "text" not in b and "fields" not in b:
                errs.append(f"[ERROR] must provide text or fields [json-pointer:{ptr}]")
            if "text" in b:
                _check_text(b["text"], f"{ptr}/text", 3000, errs)
            fields = b.get("fields") or []
            if len(fields) > 10:
                errs.append(f"[ERROR] no more than 10 items allowed [json-pointer:{ptr}/fields]")
            for j, f in enumerate(fields):
                _check_text(f, f"{ptr}/fields/{j}", 2000, errs)
            if "accessory" in b:
                _check_element(b["accessory"], f"{ptr}/accessory", errs)
        elif btype == "header":
            _check_text(b.get("text"), f"{ptr}/text", 150, errs, plain_only=True)
        elif btype in ("context", "actions"):
            elements = b.get("elements")
            limit = 10 if btype == "context" else 25
            if not isinstance(elements, list) or not elements:
                errs.append(f"[ERROR] must provide elements [json-pointer:{ptr}/elements]")
            elif len(elements) > limit:
                errs.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{ptr}/elements]")
            elif btype == "actions":
                for j, el in enumerate(elements):
                    _check_element(el, f"{ptr}/elements/{j}", errs)
        elif btype == "input":
            _check_text(b.get("label"), f"{ptr}/label", 2000, errs, plain_only=True)
            if "hint" in b:
                _check_text(b["hint"], f"{ptr}/hint", 2000, errs, plain_only=True)
            _check_element(b.get("element"), f"{ptr}/element", errs)
        elif btype == "markdown" and len(str(b.get("text", ""))) > 12000:
            errs.append(f"[ERROR] must be less than 12001 characters [json-pointer:{ptr}/text]")
    return errs


# ------------------------------------------------------------------------------------------------------
# the emulator
# ------------------------------------------------------------------------------------------------------


class SlackEmulator:
    """Loopback Slack: Web API at ``api_url``, Socket Mode at ``ws://…/link/``. See the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        team_id: str = "T0CHARON",
        team_domain: str = "charon-emu",
        app_id: str = "A0CHARON",
        bot_user_id: str = "UBOT",
        bot_id: str = "B0CHARON",
        bot_name: str = "charon",
        verification_token: str = "emu-verification-token",
        default_user: str = "U0HUMAN",
        default_channel: str = "C0CHARON",
        trigger_ttl: float = 30.0,
        ack_timeout: float = 5.0,
        redeliver_unacked: bool = False,
        max_redeliveries: int = 3,
        require_callback_id: bool = True,
        auto_create: bool = True,
        echo_bot_messages: bool = False,
    ) -> None:
        """
        Args:
            trigger_ttl: seconds a trigger_id stays valid (real Slack: 3).
            ack_timeout: seconds each delivery waits for its ack (real Slack redelivers after 3).
            redeliver_unacked: redeliver un-acked ``events_api`` envelopes (new envelope id,
                ``retry_attempt`` + 1, ``retry_reason`` "timeout"), at most ``max_redeliveries`` times.
            require_callback_id: views.open/push/update reject views without ``callback_id`` (stricter
                than Slack, which allows it: our bot routes on it).
            auto_create: any well-formed id (``C…``/``G…``/``D…``, ``U…``/``W…``) is a known channel/user;
                otherwise only those added with ``add_channel``/``add_user`` exist.
            echo_bot_messages: deliver every bot post back as a ``message`` event (like Slack does).
        """
        self.host, self._port = host, port
        self.bot_token, self.app_token = bot_token, app_token
        self.team_id, self.team_domain, self.app_id = team_id, team_domain, app_id
        self.bot_user_id, self.bot_id, self.bot_name = bot_user_id, bot_id, bot_name
        self.verification_token = verification_token
        self.default_user, self.default_channel = default_user, default_channel
        self.trigger_ttl, self.ack_timeout = trigger_ttl, ack_timeout
        self.redeliver_unacked, self.max_redeliveries = redeliver_unacked, max_redeliveries
        self.require_callback_id, self.auto_create = require_callback_id, auto_create
        self.echo_bot_messages = echo_bot_messages

        # state for assertions
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[str, str], EmuMessage] = {}
        self.ephemerals: list[EmuEphemeral] = []
        self.views: dict[str, EmuView] = {}
        self.files: dict[str, EmuFile] = {}
        self.response_url_posts: list[ResponseUrlPost] = []
        self.connections: list[EmuConnection] = []
        self.envelopes: list[SentEnvelope] = []
        self.acks: list[AckResult] = []
        self.users: dict[str, EmuUser] = {}
        self.channels: dict[str, EmuChannel] = {}
        self.usergroups: dict[str, list[str]] = {}

        self._triggers: dict[str, _Trigger] = {}
        self._tickets: dict[str, bool] = {}  # ticket → used
        self._response_urls: dict[str, JsonDict] = {}
        self._stacks: dict[str, list[str]] = {}  # root view id → view ids, bottom first
        self._faults: dict[str, list[_Fault]] = {}
        self._rate_limits: dict[str, tuple[float, bool, int]] = {}
        self._rate_last: dict[tuple[str, str], float] = {}
        self._pending: dict[str, _Pending] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._last_ts = 0
        self._runner: web.AppRunner | None = None

        self.add_user(bot_user_id, bot_name, is_bot=True)
        self.add_user(default_user, "alice", real_name="Alice Example")
        self.add_channel(default_channel, "charon-ops")
        self._api: dict[str, Callable[[JsonDict], JsonDict]] = {
            "api.test": lambda a: {"ok": True, "args": a},
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.replies": self._replies,
            "usergroups.users.list": self._usergroup_users,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> SlackEmulator:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/link/", self._handle_link)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/response_url/{url_id}", self._handle_response_url)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for pending in self._pending.values():
            pending.future.cancel()
        for conn in self.connections:
            if conn.is_open:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=1001, message=b"emulator stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def api_url(self) -> str:
        """What to pass as slack_sdk's ``base_url``."""
        return f"{self.base_url}/api/"

    # ---------------------------------------------------------------- seeding

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str = "",
        email: str = "",
        tz: str = "Europe/London",
        is_bot: bool = False,
    ) -> EmuUser:
        self.users[user_id] = EmuUser(user_id, name, real_name, email, tz, is_bot)
        return self.users[user_id]

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
    ) -> EmuChannel:
        self.channels[channel_id] = EmuChannel(channel_id, name, is_private, is_member, is_archived)
        return self.channels[channel_id]

    def add_usergroup(self, usergroup_id: str, users: Iterable[str]) -> None:
        self.usergroups[usergroup_id] = list(users)

    def seed_message(
        self,
        text: str,
        *,
        channel: str | None = None,
        user: str | None = None,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> EmuMessage:
        """Stores an existing (human) message without delivering an event."""
        msg = EmuMessage(
            channel or self.default_channel,
            ts or self._next_ts(),
            text,
            user or self.default_user,
            blocks=payloads.rich_text_blocks(text),
            thread_ts=thread_ts,
        )
        self._store(msg)
        return msg

    def issue_trigger_id(
        self, *, user_id: str | None = None, view_id: str | None = None, ttl: float | None = None
    ) -> str:
        """A trigger_id views.open/push will accept once, within ``ttl`` (default ``trigger_ttl``) seconds."""
        tid = f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._triggers[tid] = _Trigger(
            tid,
            time.monotonic(),
            self.trigger_ttl if ttl is None else ttl,
            user_id or self.default_user,
            view_id,
        )
        return tid

    def issue_response_url(
        self,
        *,
        channel: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
        source: str = "",
    ) -> str:
        url_id = secrets.token_hex(12)
        self._response_urls[url_id] = {
            "channel": channel,
            "user_id": user_id,
            "message_ts": message_ts,
            "source": source,
            "uses": 0,
        }
        return f"{self.base_url}/response_url/{url_id}"

    # ---------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        retry_after: int = 1,
        count: int = 1,
        error: str | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` fail before doing anything.

        Default: HTTP 429 + ``Retry-After: retry_after`` + ``{"ok":false,"error":"ratelimited"}``.
        With ``error=`` (e.g. "channel_not_found"): HTTP 200 ``{"ok":false,"error":error}`` unless ``status``.
        """
        err = error or "ratelimited"
        st = status if status is not None else (429 if err == "ratelimited" else 200)
        self._faults.setdefault(method, []).append(_Fault(st, err, retry_after if st == 429 else None, count))

    def rate_limit(
        self, method: str, min_interval: float = 1.0, *, per_channel: bool = True, retry_after: int = 1
    ) -> None:
        """Calls of ``method`` closer than ``min_interval`` s (per channel) to the last success get a 429."""
        self._rate_limits[method] = (min_interval, per_channel, retry_after)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._rate_limits.clear()

    # ---------------------------------------------------------------- inspection / waiting

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def statuses(self, method: str) -> list[int]:
        return [c.status for c in self.calls_to(method)]

    def mark(self) -> int:
        """Index to pass as ``since=`` to only consider later calls."""
        return len(self.calls)

    def messages_in(
        self, channel: str, thread_ts: str | None = None, *, bot_only: bool = False
    ) -> list[EmuMessage]:
        """Top-level messages of a channel, or – with ``thread_ts`` – that thread's replies (no parent)."""
        out = []
        for m in self.messages.values():
            if m.channel != channel or m.deleted or (bot_only and not m.bot_id):
                continue
            if (thread_ts is None and not m.is_reply) or (
                thread_ts is not None and m.is_reply and m.thread_ts == thread_ts
            ):
                out.append(m)
        return sorted(out, key=lambda m: m.ts)

    def message(self, channel: str, ts: str) -> EmuMessage:
        """Current state of a message (text/blocks after chat.update; ``history`` has older versions)."""
        return self.messages[(channel, ts)]

    @property
    def current_connection(self) -> EmuConnection | None:
        for conn in reversed(self.connections):
            if conn.is_open and conn.hello_sent and not conn.retiring and not conn.stalled:
                return conn
        return None

    async def wait_until(
        self, fn: Callable[[], T | None], timeout: float = 5.0, what: str = "condition"
    ) -> T:
        """Waits until ``fn()`` is truthy (re-checked on every emulator state change) and returns it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = fn()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"SlackEmulator: timed out after {timeout}s waiting for {what}")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, 0.25))

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> ApiCall:
        """First recorded call (index ≥ ``since``) of ``method`` matching ``predicate`` – past or future."""

        def find() -> ApiCall | None:
            for c in self.calls[since:]:
                if c.method == method and (predicate is None or predicate(c)):
                    return c
            return None

        seen = lambda: [(c.status, c.args) for c in self.calls_to(method)]  # noqa: E731
        try:
            return await self.wait_until(find, timeout, f"a {method} call")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; calls so far: {seen()}") from None

    async def wait_connected(self, connections: int | None = None, timeout: float = 5.0) -> EmuConnection:
        """Waits for a live connection that got ``hello`` (and for ≥ ``connections`` opened in total)."""

        def ready() -> EmuConnection | None:
            if connections is not None and len(self.connections) < connections:
                return None
            return self.current_connection

        return await self.wait_until(ready, timeout, f"Socket Mode connection #{connections or 1}")

    # ---------------------------------------------------------------- Socket Mode: connection control

    async def disconnect(self, reason: str = "refresh_requested", *, close_after: float | None = 1.0) -> None:
        """Sends ``{"type":"disconnect","reason":…}`` on the current connection and closes it after
        ``close_after`` s unless the client closed it first (None: leave it open)."""
        conn = self._require_conn()
        conn.retiring = True
        await conn.ws.send_str(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emu"}})
        )
        if close_after is not None:
            self._spawn(self._close_later(conn, close_after))
        self._notify()

    async def close_connection(self, code: int = 1000) -> None:
        """A server close frame on the current connection (the SDK reconnects at once)."""
        conn = self._require_conn()
        conn.retiring = True
        await conn.ws.close(code=code)

    def abort_connection(self) -> None:
        """Drops the current connection's TCP socket without a close frame."""
        conn = self._require_conn()
        conn.retiring = True
        conn.transport.abort()

    def stall(self) -> EmuConnection:
        """Half-open: the current connection stays up but stops answering pings and reading acks."""
        conn = self._require_conn()
        conn.stalled = True
        self._notify()
        return conn

    # ---------------------------------------------------------------- Socket Mode: deliveries

    async def send_envelope(
        self,
        envelope_type: str,
        payload: JsonDict,
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float | None = None,
        redeliver_unacked: bool | None = None,
    ) -> AckResult:
        """Delivers one envelope and returns its ack (raises ``AckTimeoutError`` if none comes)."""
        wait = self.ack_timeout if timeout is None else timeout
        redeliver = self.redeliver_unacked if redeliver_unacked is None else redeliver_unacked
        redeliver = redeliver and envelope_type == "events_api"
        futures: list[asyncio.Future[AckResult]] = []
        ids: list[str] = []
        while True:
            env: JsonDict = {
                "envelope_id": str(uuid.uuid4()),
                "payload": payload,
                "type": envelope_type,
                "accepts_response_payload": accepts_response_payload,
            }
            if retry_attempt is not None:
                env.update(retry_attempt=retry_attempt, retry_reason=retry_reason or "")
            pending = _Pending(env, asyncio.get_running_loop().create_future(), len(futures) + 1)
            self._pending[env["envelope_id"]] = pending
            await self._deliver(pending, wait)
            futures.append(pending.future)
            ids.append(env["envelope_id"])
            done, _ = await asyncio.wait(futures, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if done:
                return done.pop().result()
            if redeliver and len(futures) <= self.max_redeliveries:
                retry_attempt, retry_reason = (retry_attempt or 0) + 1, "timeout"
                continue
            raise AckTimeoutError(
                f"SlackEmulator: {envelope_type} envelope not acked within {wait}s after {len(futures)} "
                f"deliveries (envelope ids {ids}); Bolt sends no ack when no listener matched or a listener "
                f"did not call ack()."
            )

    async def send_events_api(
        self,
        event: JsonDict,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        *,
        timeout: float | None = None,
        redeliver_unacked: bool | None = None,
    ) -> AckResult:
        """Delivers an inner event (wrapped into event_callback) or a ready event_callback payload."""
        body = (
            event
            if event.get("type") == "event_callback"
            else payloads.event_callback(
                event,
                token=self.verification_token,
                team_id=self.team_id,
                api_app_id=self.app_id,
                bot_user_id=self.bot_user_id,
                event_id=event_id,
            )
        )
        inner = body["event"]
        if inner.get("type") in ("message", "app_mention") and inner.get("channel") and inner.get("ts"):
            key = (inner["channel"], inner["ts"])
            if key not in self.messages and inner.get("subtype") in (None, "thread_broadcast", "file_share"):
                self._store(
                    EmuMessage(
                        inner["channel"],
                        inner["ts"],
                        inner.get("text", ""),
                        inner.get("user", ""),
                        blocks=inner.get("blocks"),
                        thread_ts=inner.get("thread_ts"),
                        bot_id=inner.get("bot_id"),
                    )
                )
        return await self.send_envelope(
            "events_api",
            body,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=timeout,
            redeliver_unacked=redeliver_unacked,
        )

    async def send_slash_command(
        self,
        text: str,
        command: str = "/charon",
        user_id: str | None = None,
        channel_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> AckResult:
        """Delivers a slash command (with an emulator-issued trigger_id and response_url)."""
        return await self.send_envelope(
            "slash_commands",
            self.slash_command_payload(text, command, user_id, channel_id),
            accepts_response_payload=True,
            timeout=timeout,
        )

    async def send_interactive(self, payload: JsonDict, *, timeout: float | None = None) -> AckResult:
        """Delivers an interaction payload (build it with the ``*_payload`` helpers)."""
        if payload.get("type") == "view_closed":
            self._close_view(payload["view"]["id"], whole_stack=bool(payload.get("is_cleared")))
        accepts = payload.get("type") in ("block_actions", "view_submission", "block_suggestion")
        return await self.send_envelope(
            "interactive", payload, accepts_response_payload=accepts, timeout=timeout
        )

    # ---------------------------------------------------------------- payload builders (emulator ids)

    def _user(self, user_id: str | None) -> JsonDict:
        uid = user_id or self.default_user
        user = self.users.get(uid)
        return payloads.user_obj(uid, user.name if user else uid.lower(), self.team_id)

    def _channel_obj(self, channel_id: str) -> JsonDict:
        ch = self.channels.get(channel_id)
        return {"id": channel_id, "name": ch.name if ch else "directmessage"}

    def app_mention_event(
        self,
        text: str,
        user: str | None = None,
        channel: str | None = None,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> JsonDict:
        """An ``app_mention`` event; ``<@BOT> `` is prepended when ``text`` does not mention the bot."""
        mention = f"<@{self.bot_user_id}>"
        text = text if mention in text else f"{mention} {text}"
        return payloads.app_mention_event(
            text,
            user=user or self.default_user,
            channel=channel or self.default_channel,
            team=self.team_id,
            ts=ts or self._next_ts(),
            thread_ts=thread_ts,
        )

    def message_event(
        self,
        text: str,
        user: str | None = None,
        channel: str | None = None,
        ts: str | None = None,
        thread_ts: str | None = None,
        *,
        channel_type: str | None = None,
        subtype: str | None = None,
        bot_id: str | None = None,
    ) -> JsonDict:
        channel = channel or self.default_channel
        parent = self.messages.get((channel, thread_ts)) if thread_ts else None
        return payloads.message_event(
            text,
            user=user or self.default_user,
            channel=channel,
            team=self.team_id,
            ts=ts or self._next_ts(),
            thread_ts=thread_ts,
            channel_type=channel_type,
            subtype=subtype,
            bot_id=bot_id,
            parent_user_id=parent.user if parent else None,
        )

    def slash_command_payload(
        self, text: str, command: str = "/charon", user_id: str | None = None, channel_id: str | None = None
    ) -> JsonDict:
        user, channel = self._user(user_id), channel_id or self.default_channel
        return payloads.slash_command(
            text,
            command=command,
            token=self.verification_token,
            team_id=self.team_id,
            team_domain=self.team_domain,
            api_app_id=self.app_id,
            user_id=user["id"],
            user_name=user["name"],
            channel_id=channel,
            channel_name=self._channel_obj(channel)["name"],
            response_url=self.issue_response_url(channel=channel, user_id=user["id"], source="slash_command"),
            trigger_id=self.issue_trigger_id(user_id=user["id"]),
        )

    def block_actions_payload(
        self,
        actions: JsonDict | list[JsonDict],
        *,
        user: str | None = None,
        message: EmuMessage | JsonDict | str | None = None,
        channel: str | None = None,
        view: EmuView | str | None = None,
    ) -> JsonDict:
        """A click in a message (``message`` = EmuMessage, message dict or ts in ``channel``) or a modal."""
        acts = [actions] if isinstance(actions, dict) else list(actions)
        u = self._user(user)
        common: JsonDict = dict(
            token=self.verification_token,
            team_id=self.team_id,
            team_domain=self.team_domain,
            api_app_id=self.app_id,
            user=u,
        )
        if view is not None:
            v = self._view_of(view)
            return payloads.block_actions(
                acts,
                trigger_id=self.issue_trigger_id(user_id=u["id"], view_id=v.id),
                view=v.to_slack(self),
                **common,
            )
        msg = self._message_dict(message, channel)
        cid = channel or self.default_channel
        return payloads.block_actions(
            acts,
            trigger_id=self.issue_trigger_id(user_id=u["id"]),
            channel=self._channel_obj(cid),
            message=msg,
            response_url=self.issue_response_url(
                channel=cid, user_id=u["id"], message_ts=msg["ts"], source="block_actions"
            ),
            **common,
        )

    def view_submission_payload(
        self, view: EmuView | str, values: dict[str, dict[str, Any]] | None = None, user: str | None = None
    ) -> JsonDict:
        """Submitting an open view; ``values`` = ``{block_id: {action_id: value}}`` (plain values are
        shaped after the element type, e.g. a static_select value becomes ``selected_option``)."""
        v = self._view_of(view)
        v.state_values = payloads.build_state_values(v.definition.get("blocks", []), values)
        u = self._user(user or v.user_id)
        return payloads.view_submission(
            v.to_slack(self),
            token=self.verification_token,
            team_id=self.team_id,
            team_domain=self.team_domain,
            api_app_id=self.app_id,
            user=u,
            trigger_id=self.issue_trigger_id(user_id=u["id"], view_id=v.id),
        )

    def view_closed_payload(
        self, view: EmuView | str, user: str | None = None, is_cleared: bool = False
    ) -> JsonDict:
        v = self._view_of(view)
        return payloads.view_closed(
            v.to_slack(self),
            token=self.verification_token,
            team_id=self.team_id,
            team_domain=self.team_domain,
            api_app_id=self.app_id,
            user=self._user(user or v.user_id),
            is_cleared=is_cleared,
        )

    def message_action_payload(
        self,
        callback_id: str,
        message: EmuMessage | JsonDict | str,
        *,
        channel: str | None = None,
        user: str | None = None,
    ) -> JsonDict:
        """A message shortcut on ``message`` (EmuMessage, message dict, or a ts in ``channel``)."""
        msg = self._message_dict(message, channel)
        cid = message.channel if isinstance(message, EmuMessage) else (channel or self.default_channel)
        u = self._user(user)
        return payloads.message_action(
            callback_id,
            msg,
            token=self.verification_token,
            team_id=self.team_id,
            team_domain=self.team_domain,
            user=u,
            channel=self._channel_obj(cid),
            trigger_id=self.issue_trigger_id(user_id=u["id"]),
            response_url=self.issue_response_url(channel=cid, user_id=u["id"], source="message_action"),
        )

    def shortcut_payload(self, callback_id: str, user: str | None = None) -> JsonDict:
        u = self._user(user)
        return payloads.global_shortcut(
            callback_id,
            token=self.verification_token,
            team_id=self.team_id,
            team_domain=self.team_domain,
            user=u,
            trigger_id=self.issue_trigger_id(user_id=u["id"]),
        )

    def _message_dict(self, message: EmuMessage | JsonDict | str | None, channel: str | None) -> JsonDict:
        if isinstance(message, EmuMessage):
            return message.to_slack(self)
        if isinstance(message, dict):
            return message
        if message is None:
            bot_posts = self.messages_in(channel or self.default_channel, bot_only=True)
            assert bot_posts, "no message given and no bot message in the channel"
            return bot_posts[-1].to_slack(self)
        return self.message(channel or self.default_channel, message).to_slack(self)

    def _view_of(self, view: EmuView | str) -> EmuView:
        return view if isinstance(view, EmuView) else self.views[view]

    @property
    def last_view(self) -> EmuView:
        """The most recently opened/pushed view."""
        return list(self.views.values())[-1]

    # ---------------------------------------------------------------- internals: misc

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _next_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _store(self, msg: EmuMessage) -> None:
        self.messages[(msg.channel, msg.ts)] = msg
        parent = self.messages.get((msg.channel, msg.thread_ts)) if msg.is_reply and msg.thread_ts else None
        if parent is not None:
            parent.thread_ts = parent.ts
            parent.replies.append(msg.ts)
        self._notify()

    def _require_conn(self) -> EmuConnection:
        conn = self.current_connection
        if conn is None:
            raise RuntimeError("SlackEmulator: no live Socket Mode connection")
        return conn

    async def _close_later(self, conn: EmuConnection, delay: float) -> None:
        await asyncio.sleep(delay)
        if conn.is_open:
            await conn.ws.close(code=1000)

    # ---------------------------------------------------------------- internals: HTTP

    async def _parse_args(self, request: web.Request) -> JsonDict:
        args: JsonDict = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        args[key] = {
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "data": value.file.read(),
                        }
                    else:
                        args[key] = value
        for key in _JSON_FIELDS:
            if isinstance(args.get(key), str) and args[key][:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    def _check_auth(self, method: str, token: str | None) -> None:
        if method == "api.test":
            return
        if not token:
            raise _ApiError("not_authed")
        wanted, other = (self.app_token, self.bot_token)
        if method != "apps.connections.open":
            wanted, other = other, wanted
        if token == other:
            raise _ApiError("not_allowed_token_type")
        if token != wanted:
            raise _ApiError("invalid_auth")

    def _check_faults(self, method: str, args: JsonDict) -> None:
        faults = self._faults.get(method)
        if faults:
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
            raise _ApiError(fault.error, status=fault.status, retry_after=fault.retry_after)
        if method in self._rate_limits:
            interval, per_channel, retry_after = self._rate_limits[method]
            key = (method, str(args.get("channel") or args.get("channel_id") or "") if per_channel else "")
            last = self._rate_last.get(key)
            if last is not None and time.monotonic() - last < interval:
                raise _ApiError("ratelimited", status=429, retry_after=retry_after)
            self._rate_last[key] = time.monotonic()

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._parse_args(request)
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else args.pop("token", None)
        args.pop("token", None)
        headers: dict[str, str] = {"x-oauth-scopes": _BOT_SCOPES, "x-slack-req-id": secrets.token_hex(16)}
        status = 200
        try:
            handler = self._api.get(method)
            if handler is None:
                raise _ApiError("unknown_method")
            self._check_auth(method, token)
            self._check_faults(method, args)
            body = handler(args)
        except _ApiError as e:
            status, body = e.status, {"ok": False, "error": e.error}
            if e.status == 429:
                headers["Retry-After"] = str(1 if e.retry_after is None else e.retry_after)
            if e.messages:
                body["response_metadata"] = {"messages": e.messages}
                if e.error == "invalid_blocks":
                    body["errors"] = e.messages
        recorded = {k: v for k, v in request.headers.items() if k.lower() not in ("authorization", "cookie")}
        self.calls.append(
            ApiCall(len(self.calls), method, args, recorded, request.method, status, body, time.monotonic())
        )
        self._notify()
        return web.json_response(body, status=status, headers=headers)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        f = self.files.get(request.match_info["file_id"])
        if f is None:
            return web.Response(status=404, text="file not found")
        f.data = await request.read()
        self._notify()
        return web.Response(text=f"OK - {len(f.data)}", content_type="text/plain")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        url_id = request.match_info["url_id"]
        ctx = self._response_urls.get(url_id)
        if ctx is None:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        ctx["uses"] += 1
        if ctx["uses"] > 5:
            return web.json_response({"ok": False, "error": "used_url"}, status=404)
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = json.loads((await request.post()).get("payload", "{}"))  # type: ignore[arg-type]
        self.response_url_posts.append(
            ResponseUrlPost(url_id, body, ctx["source"], ctx["channel"], ctx["user_id"])
        )
        channel, msg = ctx["channel"], self.messages.get((ctx["channel"], ctx["message_ts"]))
        if body.get("delete_original") and msg is not None:
            msg.deleted = True
        elif body.get("replace_original") and msg is not None:
            self._apply_edit(msg, body.get("text"), body.get("blocks"))
        elif body.get("response_type") == "in_channel" and channel:
            self._store(
                EmuMessage(
                    channel,
                    self._next_ts(),
                    str(body.get("text", "")),
                    self.bot_user_id,
                    blocks=body.get("blocks"),
                    thread_ts=body.get("thread_ts"),
                    bot_id=self.bot_id,
                )
            )
        else:
            self.ephemerals.append(
                EmuEphemeral(
                    channel or "",
                    ctx["user_id"] or "",
                    str(body.get("text", "")),
                    body.get("blocks"),
                    body.get("thread_ts"),
                    "response_url",
                )
            )
        self._notify()
        return web.json_response({"ok": True})

    # ---------------------------------------------------------------- internals: Socket Mode

    async def _handle_link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if self._tickets.get(ticket) is not False:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets[ticket] = True
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = EmuConnection(len(self.connections) + 1, ticket, ws, request.transport, time.monotonic())
        self.connections.append(conn)
        hello = {
            "type": "hello",
            "num_connections": sum(1 for c in self.connections if c.is_open),
            "debug_info": {"host": "applink-emu", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        await ws.send_str(json.dumps(hello))
        conn.hello_sent = True
        self._notify()
        try:
            while True:
                msg = await ws.receive()
                if msg.type == WSMsgType.TEXT:
                    if not conn.stalled:
                        self._on_ack(conn, str(msg.data))
                elif msg.type == WSMsgType.PING:
                    conn.pings += 1
                    self._notify()
                    if not conn.stalled:
                        await ws.pong(msg.data)
                elif msg.type != WSMsgType.PONG:
                    break
        except (ConnectionError, RuntimeError) as e:
            log.debug("socket mode connection %s ended: %s", conn.number, e)
        finally:
            conn.closed_at = time.monotonic()
            self._notify()
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    async def _deliver(self, pending: _Pending, wait: float) -> None:
        while True:
            conn = await self.wait_until(
                lambda: self.current_connection, wait, "a live Socket Mode connection"
            )
            pending.sent_at = time.perf_counter()
            try:
                await conn.ws.send_str(json.dumps(pending.envelope))
            except (ConnectionError, RuntimeError):
                conn.retiring = True
                continue
            self.envelopes.append(SentEnvelope(pending.envelope, conn.number, time.monotonic()))
            self._notify()
            return

    def _on_ack(self, conn: EmuConnection, raw: str) -> None:
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("SlackEmulator: non-JSON frame from client: %r", raw)
            return
        pending = self._pending.get(data.get("envelope_id", "")) if isinstance(data, dict) else None
        if pending is None:
            log.warning("SlackEmulator: ack for an unknown envelope: %r", raw)
            return
        env = pending.envelope
        result = AckResult(
            env["envelope_id"],
            env["type"],
            data.get("payload"),
            time.perf_counter() - pending.sent_at,
            conn.number,
            env,
            pending.delivery,
        )
        self.acks.append(result)
        if not pending.future.done():
            pending.future.set_result(result)
        self._apply_ack(env, result.payload or {})
        self._notify()

    def _apply_ack(self, env: JsonDict, ack: JsonDict) -> None:
        req = env["payload"]
        if env["type"] == "slash_commands" and (ack.get("text") or ack.get("blocks")):
            self.ephemerals.append(
                EmuEphemeral(
                    req["channel_id"],
                    req["user_id"],
                    str(ack.get("text", "")),
                    ack.get("blocks"),
                    None,
                    "ack",
                )
            )
        if env["type"] != "interactive" or req.get("type") != "view_submission":
            return
        view = self.views.get(req["view"]["id"])
        if view is None:
            return
        action = ack.get("response_action")
        if action == "errors":
            view.last_errors = ack.get("errors")
        elif action == "update" and isinstance(ack.get("view"), dict):
            view.history.append(view.definition)
            view.definition, view.hash = self._with_block_ids(ack["view"]), self._new_hash()
        elif action == "push" and isinstance(ack.get("view"), dict):
            self._new_view(ack["view"], view.user_id, root=view.root_view_id)
        else:
            self._close_view(view.id, whole_stack=action == "clear")

    # ---------------------------------------------------------------- Web API methods

    def _channel(self, args: JsonDict, key: str = "channel") -> EmuChannel:
        ref = str(args.get(key) or "")
        if ref in self.channels:
            return self.channels[ref]
        for ch in self.channels.values():
            if ref.lstrip("#") == ch.name and not ch.id.startswith("D"):
                return ch
        if self.auto_create and re.fullmatch(r"[UW][A-Z0-9]{2,}", ref):
            dm = self.channels.setdefault("D" + ref[1:], EmuChannel("D" + ref[1:], ref, True))
            dm.user = ref
            return dm
        if self.auto_create and re.fullmatch(r"[CGD][A-Z0-9]{2,}", ref):
            return self.add_channel(ref, ref.lower(), is_private=ref.startswith("G"))
        raise _ApiError("channel_not_found")

    def _content(self, args: JsonDict, *, required: bool = True) -> tuple[str | None, list[JsonDict] | None]:
        text = args.get("text")
        blocks = args.get("blocks")
        if blocks in (None, ""):
            blocks = None
        elif not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        if required and not (text or "").strip() and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        if text is not None and len(str(text)) > 40000:
            raise _ApiError("msg_too_long")
        if blocks is not None and (errs := validate_blocks(blocks, max_blocks=50)):
            raise _ApiError("invalid_blocks", messages=errs)
        return (None if text is None else str(text)), blocks

    def _message_arg(self, args: JsonDict, ts_key: str) -> EmuMessage:
        ch = self._channel(args)
        msg = self.messages.get((ch.id, str(args.get(ts_key) or "")))
        if msg is None or msg.deleted:
            raise _ApiError("message_not_found")
        return msg

    def _apply_edit(self, msg: EmuMessage, text: Any, blocks: Any) -> None:
        msg.history.append({"text": msg.text, "blocks": msg.blocks, "edited_ts": self._next_ts()})
        if text is not None:
            msg.text = str(text)
        if blocks is not None:
            msg.blocks = blocks or None
        self._notify()

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Charon Emulator",
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _connections_open(self, args: JsonDict) -> JsonDict:
        ticket = str(uuid.uuid4())
        self._tickets[ticket] = False
        return {
            "ok": True,
            "url": f"ws://{self.host}:{self._port}/link/?ticket={ticket}&app_id={self.app_id}",
        }

    def _post_message(self, args: JsonDict) -> JsonDict:
        ch = self._channel(args)
        if ch.is_archived:
            raise _ApiError("is_archived")
        if not ch.is_member:
            raise _ApiError("not_in_channel")
        text, blocks = self._content(args)
        thread_ts = args.get("thread_ts") or None
        parent = self.messages.get((ch.id, str(thread_ts))) if thread_ts else None
        if parent is not None and parent.is_reply:
            thread_ts = parent.thread_ts  # replying to a reply lands in the parent's thread
        msg = EmuMessage(
            ch.id,
            self._next_ts(),
            text or "",
            self.bot_user_id,
            blocks=blocks,
            thread_ts=None if thread_ts is None else str(thread_ts),
            bot_id=self.bot_id,
            metadata=args.get("metadata"),
        )
        self._store(msg)
        if self.echo_bot_messages:
            self._spawn(self._echo(msg))
        return {"ok": True, "channel": ch.id, "ts": msg.ts, "message": msg.to_slack(self)}

    async def _echo(self, msg: EmuMessage) -> None:
        event = payloads.message_event(
            msg.text,
            user=msg.user,
            channel=msg.channel,
            team=self.team_id,
            ts=msg.ts,
            thread_ts=msg.thread_ts,
            bot_id=msg.bot_id,
        )
        with contextlib.suppress(TimeoutError):
            await self.send_events_api(event, redeliver_unacked=False)

    def _update(self, args: JsonDict) -> JsonDict:
        msg = self._message_arg(args, "ts")
        if msg.bot_id != self.bot_id:
            raise _ApiError("cant_update_message")
        text, blocks = self._content(args)
        self._apply_edit(msg, text, [] if blocks is None and "blocks" in args else blocks)
        return {
            "ok": True,
            "channel": msg.channel,
            "ts": msg.ts,
            "text": msg.text,
            "message": msg.to_slack(self),
        }

    def _delete(self, args: JsonDict) -> JsonDict:
        msg = self._message_arg(args, "ts")
        if msg.bot_id != self.bot_id:
            raise _ApiError("cant_delete_message")
        msg.deleted = True
        return {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def _post_ephemeral(self, args: JsonDict) -> JsonDict:
        ch = self._channel(args)
        user = str(args.get("user") or "")
        if not user:
            raise _ApiError("user_not_in_channel")
        text, blocks = self._content(args)
        self.ephemerals.append(
            EmuEphemeral(ch.id, user, text or "", blocks, args.get("thread_ts"), "chat.postEphemeral")
        )
        return {"ok": True, "message_ts": self._next_ts()}

    def _permalink(self, args: JsonDict) -> JsonDict:
        ch, ts = self._channel(args), str(args.get("message_ts") or "")
        if not ts:
            raise _ApiError("invalid_arguments", messages=["[ERROR] missing required field: message_ts"])
        link = f"https://{self.team_domain}.slack.com/archives/{ch.id}/p{ts.replace('.', '')}"
        msg = self.messages.get((ch.id, ts))
        if msg is not None and msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={ch.id}"
        return {"ok": True, "channel": ch.id, "permalink": link}

    def _reaction_target(self, args: JsonDict) -> tuple[EmuMessage, str]:
        name = str(args.get("name") or "").strip(":")
        if not re.fullmatch(r"[a-z0-9_+'\-]+(::skin-tone-[2-6])?", name):
            raise _ApiError("invalid_name")
        if not args.get("timestamp"):
            raise _ApiError("no_item_specified")
        return self._message_arg(args, "timestamp"), name

    def _reactions_add(self, args: JsonDict) -> JsonDict:
        msg, name = self._reaction_target(args)
        users = msg.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise _ApiError("already_reacted")
        users.append(self.bot_user_id)
        return {"ok": True}

    def _reactions_remove(self, args: JsonDict) -> JsonDict:
        msg, name = self._reaction_target(args)
        if self.bot_user_id not in msg.reactions.get(name, []):
            raise _ApiError("no_reaction")
        msg.reactions[name].remove(self.bot_user_id)
        if not msg.reactions[name]:
            del msg.reactions[name]
        return {"ok": True}

    # views

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _with_block_ids(self, view: JsonDict) -> JsonDict:
        view = dict(view)
        view["blocks"] = [
            b if "block_id" in b else {**b, "block_id": payloads.random_block_id()}
            for b in view.get("blocks", [])
        ]
        return view

    def _validate_view(self, view: Any, *, modal_only: bool = True) -> JsonDict:
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments", messages=["[ERROR] must be an object [json-pointer:/view]"])
        errs: list[str] = []
        vtype = view.get("type")
        if vtype not in (("modal",) if modal_only else ("modal", "home")):
            errs.append("[ERROR] missing or unsupported view type [json-pointer:/view/type]")
        if self.require_callback_id and not view.get("callback_id"):
            errs.append("[ERROR] missing required field: callback_id [json-pointer:/view/callback_id]")
        if len(str(view.get("callback_id", ""))) > 255:
            errs.append("[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]")
        if len(str(view.get("private_metadata", ""))) > 3000:
            errs.append("[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]")
        if vtype == "modal":
            _check_text(view.get("title"), "/view/title", 24, errs, plain_only=True)
            for key in ("submit", "close"):
                if key in view and view[key] is not None:
                    _check_text(view[key], f"/view/{key}", 24, errs, plain_only=True)
        blocks = view.get("blocks")
        errs += validate_blocks(blocks, max_blocks=100, pointer="/view/blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if vtype == "modal" and has_input and not view.get("submit"):
            errs.append(
                "[ERROR] submit is required when input blocks are present [json-pointer:/view/submit]"
            )
        if errs:
            raise _ApiError("invalid_arguments", messages=errs)
        if len(json.dumps(view)) > 250_000:
            raise _ApiError("view_too_large")
        return view

    def _consume_trigger(self, args: JsonDict) -> _Trigger:
        tid = str(args.get("trigger_id") or "")
        if not tid:
            raise _ApiError("invalid_arguments", messages=["[ERROR] missing required field: trigger_id"])
        trigger = self._triggers.get(tid)
        if trigger is None:
            raise _ApiError("invalid_trigger_id")
        if trigger.used:
            raise _ApiError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > trigger.ttl:
            raise _ApiError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _check_external_id(self, view: JsonDict, own_id: str | None = None) -> None:
        ext = view.get("external_id")
        if ext and any(
            v.definition.get("external_id") == ext and v.id != own_id and not v.closed
            for v in self.views.values()
        ):
            raise _ApiError("duplicate_external_id")

    def _new_view(self, definition: JsonDict, user_id: str, root: str | None = None) -> EmuView:
        vid = payloads.random_id("V", 10)
        stack = self._stacks.setdefault(root or vid, [])
        view = EmuView(
            vid,
            self._with_block_ids(definition),
            self._new_hash(),
            user_id,
            root or vid,
            previous_view_id=stack[-1] if stack else None,
        )
        stack.append(vid)
        self.views[vid] = view
        self._notify()
        return view

    def _close_view(self, view_id: str, *, whole_stack: bool = False) -> None:
        view = self.views.get(view_id)
        if view is None:
            return
        stack = self._stacks.get(view.root_view_id, [])
        for vid in list(stack) if whole_stack else [view_id]:
            self.views[vid].closed = True
            with contextlib.suppress(ValueError):
                stack.remove(vid)

    def _views_open(self, args: JsonDict) -> JsonDict:
        trigger = self._consume_trigger(args)
        view = self._validate_view(args.get("view"))
        self._check_external_id(view)
        return {"ok": True, "view": self._new_view(view, trigger.user_id).to_slack(self)}

    def _views_push(self, args: JsonDict) -> JsonDict:
        trigger = self._consume_trigger(args)
        view = self._validate_view(args.get("view"))
        current = self.views.get(trigger.view_id or "")
        if current is None:
            opened = [v for v in self.views.values() if not v.closed and v.user_id == trigger.user_id]
            if not opened:
                raise _ApiError("invalid_arguments", messages=["[ERROR] no open view to push onto"])
            current = opened[-1]
        if len(self._stacks[current.root_view_id]) >= 3:
            raise _ApiError("push_limit_reached")
        self._check_external_id(view)
        return {
            "ok": True,
            "view": self._new_view(view, trigger.user_id, root=current.root_view_id).to_slack(self),
        }

    def _views_update(self, args: JsonDict) -> JsonDict:
        vid, ext = args.get("view_id"), args.get("external_id")
        if not vid and not ext:
            raise _ApiError("invalid_arguments", messages=["[ERROR] view_id or external_id is required"])
        matches = [
            v
            for v in self.views.values()
            if (vid and v.id == vid) or (ext and v.definition.get("external_id") == ext)
        ]
        if not matches or matches[-1].closed:
            raise _ApiError("not_found")
        current = matches[-1]
        if args.get("hash") and args["hash"] != current.hash:
            raise _ApiError("hash_conflict")
        view = self._validate_view(args.get("view"), modal_only=False)
        self._check_external_id(view, own_id=current.id)
        current.history.append(current.definition)
        current.definition, current.hash = self._with_block_ids(view), self._new_hash()
        self._notify()
        return {"ok": True, "view": current.to_slack(self)}

    # lookups

    def _users_info(self, args: JsonDict) -> JsonDict:
        uid = str(args.get("user") or "")
        if uid not in self.users and self.auto_create and re.fullmatch(r"[UW][A-Z0-9]{2,}", uid):
            self.add_user(uid, uid.lower())
        if uid not in self.users:
            raise _ApiError("user_not_found")
        return {"ok": True, "user": self.users[uid].to_slack(self.team_id)}

    def _conversations_info(self, args: JsonDict) -> JsonDict:
        return {"ok": True, "channel": self._channel(args).to_slack()}

    def _replies(self, args: JsonDict) -> JsonDict:
        ch, ts = self._channel(args), str(args.get("ts") or "")
        parent = self.messages.get((ch.id, ts))
        if parent is None:
            raise _ApiError("thread_not_found")
        root = parent.thread_ts if parent.is_reply and parent.thread_ts else ts
        msgs = [self.messages[(ch.id, root)], *self.messages_in(ch.id, thread_ts=root)]
        return {"ok": True, "messages": [m.to_slack(self) for m in msgs], "has_more": False}

    def _usergroup_users(self, args: JsonDict) -> JsonDict:
        group = str(args.get("usergroup") or "")
        if group not in self.usergroups:
            raise _ApiError("no_such_subteam")
        return {"ok": True, "users": list(self.usergroups[group])}

    # files (upload v2)

    def _upload_url(self, args: JsonDict) -> JsonDict:
        filename, length = args.get("filename"), str(args.get("length") or "")
        if not filename or not length.isdigit() or int(length) <= 0:
            raise _ApiError("invalid_arguments", messages=["[ERROR] filename and a length > 0 are required"])
        f = EmuFile(payloads.random_id("F", 10), str(filename), int(length))
        self.files[f.id] = f
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{f.id}", "file_id": f.id}

    def _complete_upload(self, args: JsonDict) -> JsonDict:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments", messages=["[ERROR] files must be a non-empty JSON array"])
        channel = None
        if args.get("channel_id"):
            try:
                channel = self._channel(args, "channel_id").id
            except _ApiError:
                raise _ApiError("invalid_channel") from None
        out = []
        for entry in entries:
            f = self.files.get(str(entry.get("id")))
            if f is None or f.data is None:
                raise _ApiError("file_not_found")
            f.title, f.completed = entry.get("title") or f.filename, True
            f.channel, f.thread_ts, f.initial_comment = (
                channel,
                args.get("thread_ts"),
                args.get("initial_comment"),
            )
            out.append({"id": f.id, "title": f.title, "name": f.filename, "size": len(f.data)})
        self._notify()
        return {"ok": True, "files": out}
