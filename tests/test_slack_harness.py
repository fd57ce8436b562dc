"""The Slack test harness: the real ``charon serve`` (Bolt + slack_sdk + Socket Mode) against the emulator.

Each ``world`` is a fresh emulator, a ``serve()`` task connected to it, and a channel of its own (the
database is shared by the session). Tests act as Slack users would — mention, slash command, click,
submit — and assert on what Slack shows: messages, their edits, reactions, ephemerals and modals.
"""

import asyncio
import contextlib
import json
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.database import open_pool
from bot.runs import Run
from bot.server import serve
from bot.settings import Settings
from bot.store import RunStore
from tests.slack_emulator import (
    AckResult,
    EmuMessage,
    EmuView,
    SlackEmulator,
    button_action,
    static_select_action,
)

FINISH_S = 90.0
BOT = "UBOT"
ALICE, BOB, ADMIN = "U0HUMAN", "U0BOB", "U0ADMIN"
SIGNING_SECRET = "emulator-signing-secret"
SECRET_MARKERS = ("Traceback", "xoxb-", "xapp-", 'File "/', "emulator-bot-token", "emulator-app-token")


@dataclass
class World:
    emu: SlackEmulator
    settings: Settings
    store: RunStore
    channel: str

    # -- acting as users ---------------------------------------------------------------------

    async def mention(self, text: str, user: str = ALICE, thread_ts: str | None = None,
                      channel: str | None = None) -> dict[str, Any]:  # fmt: skip
        """``@charon <text>`` posted by ``user``; returns the event (its ``ts`` is the request's)."""
        event = self.emu.app_mention_event(f"<@{BOT}> {text}", user=user, channel=channel or self.channel,
                                           thread_ts=thread_ts)  # fmt: skip
        await self.emu.send_events_api(event)
        return event

    async def slash(self, text: str, user: str = ALICE, channel: str | None = None) -> AckResult:
        return await self.emu.send_slash_command(text, self.settings.slash_command, user, channel or self.channel)

    async def click(self, message: EmuMessage, action_id: str, user: str = ALICE) -> AckResult:
        """Press the button ``action_id`` on ``message`` (as Slack shows it now)."""
        action = clicked(message.blocks or [], action_id)
        return await self.emu.send_interactive(
            self.emu.block_actions_payload(action, user=user, message=message, channel=message.channel)
        )

    async def submit(self, view: EmuView, values: dict[str, Any] | None = None, user: str | None = None) -> AckResult:
        """Submit a form; ``values`` maps a field (block id) to a plain value, e.g. ``{"a": "5"}``."""
        shaped = {field: {"value": value} for field, value in (values or {}).items()}
        return await self.emu.send_interactive(self.emu.view_submission_payload(view.id, shaped, user=user))

    async def pick(self, view: EmuView, pipeline: str) -> EmuView:
        """Choose ``pipeline`` in a form's picker; returns the form once it shows that pipeline."""
        action = static_select_action("pick_pipeline", pipeline, block_id="charon_pipeline")
        await self.emu.send_interactive(self.emu.block_actions_payload(action, view=view.id))
        await self.emu.wait_until(lambda: form_pipeline(view) == pipeline, what=f"the form for {pipeline}")
        return view

    # -- what users see ----------------------------------------------------------------------

    def thread(self, ts: str, channel: str | None = None) -> list[EmuMessage]:
        return self.emu.messages_in(channel or self.channel, thread_ts=ts)

    async def reply(self, ts: str, predicate: Callable[[EmuMessage], bool] = lambda m: True,
                    channel: str | None = None, timeout: float = 10.0) -> EmuMessage:  # fmt: skip
        """The first bot message in thread ``ts`` matching ``predicate`` (waits for it)."""

        def find() -> EmuMessage | None:
            return next((m for m in self.thread(ts, channel) if m.bot_id and predicate(m)), None)

        return await self.emu.wait_until(find, timeout, f"a reply in thread {ts}")

    async def status_message(self, ts: str, channel: str | None = None) -> EmuMessage:
        """A run's status message (the bot reply with the run's buttons) in thread ``ts``."""
        return await self.reply(ts, lambda m: has_element(m, "run_edit"), channel)

    async def outcome(self, ts: str, words: str, channel: str | None = None) -> EmuMessage:
        """The threaded reply (not the status message) that says ``words``."""
        return await self.reply(ts, lambda m: words in m.text and not has_element(m, "run_edit"), channel, FINISH_S)

    async def finished(self, status: EmuMessage) -> EmuMessage:
        """Waits until ``status`` shows a finished run (its Retry button appears); returns it."""
        await self.emu.wait_until(lambda: has_element(status, "run_retry"), FINISH_S, "the run to finish")
        return status

    async def ephemeral(self, user: str = ALICE, predicate: Callable[[str], bool] = lambda t: True,
                        timeout: float = 10.0) -> str:  # fmt: skip
        """The text of the first private answer to ``user`` (ephemeral message or response_url post)."""

        def find() -> str | None:
            texts = [e.text for e in self.emu.ephemerals if e.user == user]
            texts += [p.body.get("text", "") for p in self.emu.response_url_posts if p.user_id == user]
            return next((t for t in texts if predicate(t)), None)

        return await self.emu.wait_until(find, timeout, f"a private answer to {user}")

    def reactions(self, ts: str) -> list[str]:
        """The reactions Charon added to message ``ts``, in order (each replaces the one before)."""
        return [c.args["name"] for c in self.emu.calls_to("reactions.add") if c.ok and c.args["timestamp"] == ts]

    async def runs(self, channel: str | None = None) -> list[Run]:
        rows = await self.store.pool.fetch(
            "SELECT id FROM runs WHERE reply_to->>'channel' = $1 ORDER BY created_at", channel or self.channel
        )
        return [run for row in rows if (run := await self.store.get(row["id"])) is not None]

    async def wait_runs(self, count: int = 1, channel: str | None = None) -> list[Run]:
        """The channel's runs once there are at least ``count``."""
        async with asyncio.timeout(FINISH_S):
            while len(runs := await self.runs(channel)) < count:
                await asyncio.sleep(0.05)
        return runs

    def assert_nothing_secret(self) -> None:
        """No recorded Slack call carries a traceback or a token, whatever happened."""
        for call in self.emu.calls:
            if call.method == "apps.connections.open":
                continue
            dumped = json.dumps(call.args, default=str)
            leaked = [marker for marker in SECRET_MARKERS if marker in dumped]
            assert not leaked, f"{call.method} carried {leaked}: {dumped[:500]}"
        for post in self.emu.response_url_posts:
            dumped = json.dumps(post.body, default=str)
            assert not any(marker in dumped for marker in SECRET_MARKERS), dumped[:500]


def find_element(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        elements = block.get("elements") or ([block["accessory"]] if "accessory" in block else [])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element | {"_block_id": block.get("block_id")}
    raise AssertionError(f"no element {action_id} in {json.dumps(blocks)[:400]}")


def clicked(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The ``actions`` entry Slack sends when the button ``action_id`` in ``blocks`` is pressed."""
    button = find_element(blocks, action_id)
    return button_action(action_id, button.get("value"), block_id=button["_block_id"], text=button["text"]["text"],
                         style=button.get("style"))  # fmt: skip


def has_element(message: EmuMessage, action_id: str) -> bool:
    try:
        find_element(message.blocks or [], action_id)
    except AssertionError:
        return False
    return True


def block_text(message: EmuMessage | dict[str, Any]) -> str:
    """Everything a message or view says, its blocks' texts joined (what a reader sees)."""
    blocks = message.blocks if isinstance(message, EmuMessage) else message.get("blocks")
    return json.dumps(blocks or [], ensure_ascii=False)


def form_pipeline(view: EmuView) -> str | None:
    return json.loads(view.private_metadata).get("p") if view.private_metadata else None


def inputs(view: EmuView) -> dict[str, dict[str, Any]]:
    """A form's input blocks by block id."""
    return {b["block_id"]: b for b in view.definition["blocks"] if b["type"] == "input"}


def first_text(message: EmuMessage) -> str:
    """What a message said when it was posted (before any edit)."""
    return str(message.history[0]["text"]) if message.history else message.text


def link(url: str | None, label: str) -> str:
    return f"<{url}|{label}>"


def new_channel() -> str:
    return "C" + secrets.token_hex(4).upper()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def listening(settings: Settings) -> None:
    async with asyncio.timeout(60), aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{settings.base_url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


@contextlib.asynccontextmanager
async def charon_serving(settings: Settings, monkeypatch: pytest.MonkeyPatch, *, policy: str | None = None,
                         usergroups: dict[str, list[str]] | None = None, http_events: bool = False,
                         echo_bot_messages: bool = False, **env: str) -> AsyncIterator[World]:  # fmt: skip
    """``charon serve`` connected to a fresh emulator; ``policy`` is a policy file's YAML, where ``$CHANNEL``
    stands for the world's channel. With ``http_events``, Slack reaches it at ``POST /slack/events``; with
    ``echo_bot_messages``, Charon's own posts come back as events, as in Slack."""
    channel = new_channel()
    async with SlackEmulator(default_channel=channel, echo_bot_messages=echo_bot_messages) as emu:
        for group, members in (usergroups or {}).items():
            emu.add_usergroup(group, members)
        monkeypatch.setenv("SLACK_API_URL", emu.api_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", emu.bot_token)
        if http_events:
            monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
            monkeypatch.setenv("CHARON_HTTP_PORT", str(free_port()))
        else:
            monkeypatch.setenv("SLACK_APP_TOKEN", emu.app_token)
        if policy is not None:
            path = settings.data_path / "policy.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(policy.replace("$CHANNEL", channel))
            monkeypatch.setenv("CHARON_POLICY_FILE", str(path))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        served = Settings(_env_file=None)  # type: ignore[call-arg]
        stop = asyncio.Event()
        task = asyncio.create_task(serve(served, stop))
        connected = asyncio.create_task(listening(served) if http_events else emu.wait_connected(timeout=60))
        await asyncio.wait([task, connected], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            connected.cancel()
            task.result()  # raises what stopped serve()
        async with open_pool(served) as pool:
            world = World(emu, served, RunStore(pool), channel)
            try:
                yield world
                world.assert_nothing_secret()
            finally:
                stop.set()
                await task


@pytest.fixture
async def world(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    async with charon_serving(settings, monkeypatch) as serving:
        yield serving


async def test_help_answers_in_the_thread_of_the_mention(world: World) -> None:
    event = await world.mention("help")
    reply = await world.reply(event["ts"])
    assert reply.text.startswith("*Charon* runs Kubeflow pipelines.")
    assert "`smoke_pipeline`" in reply.text and re.search(r"run PIPELINE key=value", reply.text)
