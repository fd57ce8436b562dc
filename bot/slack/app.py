"""``SlackBot``: Charon's Slack app — Bolt ``AsyncApp`` over ``CharonService``, in Socket Mode or over HTTP.

Every Web API call (``apps.connections.open`` included: the Socket Mode client reuses the app's client)
goes to ``SLACK_API_URL`` with retries for connection errors, 5xx and 429 (after ``Retry-After``).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import SLACK_ACK_SECONDS
from bot.policy_file import PolicyFile
from bot.runtime import Charon
from bot.slack.answers import Answers
from bot.slack.handlers import SlackHandlers
from bot.slack.listeners import Background, register
from bot.slack.notifier import SlackNotifier
from bot.slack.sender import SlackSender

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30.0
"""slack_sdk retries a refused Socket Mode connection forever (a wrong app token): give up loudly instead."""
PING_INTERVAL_S = 5.0
"""A dropped or half-open socket is noticed within one to four pings (Bolt's default of 10 s is deaf for long)."""
GROUPS_REFRESH_S = 600.0
DRAIN_S = 10.0


class SlackStartError(Exception):
    """Slack is configured but cannot start; ``str()`` says which setting to check."""


class _TimedSocketModeHandler(AsyncSocketModeHandler):
    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        await super().handle(client, req)
        SLACK_ACK_SECONDS.observe(time.perf_counter() - started)


class SlackBot:
    def __init__(self, charon: Charon, session: aiohttp.ClientSession) -> None:
        settings = charon.settings
        assert settings.slack_bot_token is not None
        self.charon = charon
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            session=session,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                AsyncServerErrorRetryHandler(max_retry_count=2),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            ],
        )
        self.sender = SlackSender(self.client)
        self.notifier = SlackNotifier(charon.store, self.sender)
        answers = Answers(self.sender, self.notifier)
        self.work = Background(lambda asker, text: answers.say(asker, text, private=True))
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        # Bolt reads SLACK_BOT_TOKEN itself and warns that our client's token wins: that is intended.
        logging.getLogger("slack_bolt.AsyncApp").addFilter(
            lambda record: "`token` will be unused" not in record.getMessage()
        )
        self.app = AsyncApp(client=self.client, signing_secret=secret, process_before_response=True)
        register(self.app, SlackHandlers(charon, self.sender, answers), self.work, settings.slash_command)
        self._socket: _TimedSocketModeHandler | None = None
        self._groups_task: asyncio.Task[None] | None = None

    @property
    def http_events(self) -> bool:
        """Events arrive at ``POST /slack/events`` (a signing secret and no app token)."""
        settings = self.charon.settings
        return settings.slack_app_token is None and settings.slack_signing_secret is not None

    async def start(self) -> None:
        policy = self.charon.service.policy
        if isinstance(policy, PolicyFile) and policy.groups:
            await self._resolve_groups(policy)
            self._groups_task = asyncio.create_task(self._refresh_groups(policy), name="slack-groups")
        app_token = self.charon.settings.slack_app_token
        if app_token is not None:
            self._socket = _TimedSocketModeHandler(self.app, app_token.get_secret_value(),
                                                   ping_interval=PING_INTERVAL_S)  # fmt: skip
            try:
                await asyncio.wait_for(self._socket.connect_async(), CONNECT_TIMEOUT_S)
            except TimeoutError:
                await self._socket.close_async()
                raise SlackStartError(
                    f"Slack Socket Mode did not connect within {CONNECT_TIMEOUT_S:.0f} s: check SLACK_APP_TOKEN "
                    "(an app-level token xapp-… with connections:write) and SLACK_API_URL."
                ) from None

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        if self._groups_task is not None:
            self._groups_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._groups_task
        await self.work.drain(DRAIN_S)
        await self.notifier.close()

    async def _resolve_groups(self, policy: PolicyFile) -> None:
        for group in sorted(policy.groups):
            try:
                policy.set_group_members(group, await self.sender.group_members(group))
            except Exception:
                log.warning("members of Slack user group %s could not be read; keeping the last known", group,
                            exc_info=True)  # fmt: skip

    async def _refresh_groups(self, policy: PolicyFile) -> None:
        while True:
            await asyncio.sleep(GROUPS_REFRESH_S)
            await self._resolve_groups(policy)


@asynccontextmanager
async def open_slack(charon: Charon) -> AsyncIterator[SlackBot | None]:
    """The Slack bot when ``SLACK_BOT_TOKEN`` is set (with an app token or a signing secret), else ``None``."""
    settings = charon.settings
    if settings.slack_bot_token is None:
        yield None
        return
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        raise SlackStartError("SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor "
                              "SLACK_SIGNING_SECRET (HTTP events at /slack/events) is.")  # fmt: skip
    async with aiohttp.ClientSession() as session:
        bot = SlackBot(charon, session)
        charon.poller.add_notifier(bot.notifier)
        try:
            await bot.start()
            log.warning("Slack is connected (%s)", "HTTP events at /slack/events" if bot.http_events else "Socket Mode")
            yield bot
        finally:
            await bot.close()
