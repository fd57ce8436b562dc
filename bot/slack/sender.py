"""``SlackSender``: the only code that writes to Slack — redacted, paced per channel, text fallback always set."""

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.redaction import redact
from bot.render import truncate

log = logging.getLogger(__name__)

TEXT_LIMIT = 3000
"""Fallback ``text`` is what notifications show; Slack advises well under 4,000 characters."""

_HARMLESS_REACTION_ERRORS = {"already_reacted", "no_reaction", "message_not_found"}


class ChannelPacer:
    """A token bucket per channel: Slack takes about one message a second per channel, with short bursts.

    A run's few messages go out at once; a flood into one channel (100 runs finishing together) is spread
    out instead of being answered with 429s.
    """

    def __init__(self, rate: float = 1.0, burst: int = 4) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def wait(self, channel: str) -> None:
        async with self._locks[channel]:
            now = time.monotonic()
            tokens, last = self._buckets.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                await asyncio.sleep((1 - tokens) / self.rate)
                now, tokens = time.monotonic(), 1.0
            self._buckets[channel] = (tokens - 1, now)


def clean(value: Any) -> Any:
    """Secrets out of every string of a message or view, keeping its structure valid."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [clean(item) for item in value]
    if isinstance(value, dict):
        return {key: clean(item) for key, item in value.items()}
    return value


class SlackSender:
    def __init__(self, client: AsyncWebClient, pacer: ChannelPacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or ChannelPacer()

    async def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None,
                   thread_ts: str | None = None) -> str:  # fmt: skip
        """Post a message (in ``thread_ts``'s thread, if given); returns its ts."""
        await self.pacer.wait(channel)
        response = await self.client.chat_postMessage(
            channel=channel, text=_fallback(text), blocks=clean(blocks), thread_ts=thread_ts, unfurl_links=False
        )
        return str(response["ts"])

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        await self.pacer.wait(channel)
        await self.client.chat_update(channel=channel, ts=ts, text=_fallback(text), blocks=clean(blocks))

    async def ephemeral(self, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None,
                        thread_ts: str | None = None) -> None:  # fmt: skip
        await self.client.chat_postEphemeral(
            channel=channel, user=user, text=_fallback(text), blocks=clean(blocks), thread_ts=thread_ts
        )

    async def respond(self, response_url: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """A private answer through an interaction's ``response_url`` (works where the bot is no member)."""
        webhook = AsyncWebhookClient(response_url, session=self.client.session, proxy=self.client.proxy,
                                     retry_handlers=self.client.retry_handlers)  # fmt: skip
        response = await webhook.send(text=_fallback(text), blocks=clean(blocks), response_type="ephemeral")
        if response.status_code != 200:
            raise SlackRequestError(f"response_url answered HTTP {response.status_code}")

    async def react(self, channel: str, ts: str, add: str | None = None, remove: str | None = None) -> None:
        """Move Charon's reaction on a request; a reaction already there (or gone) is no failure."""
        for method, name in ((self.client.reactions_remove, remove), (self.client.reactions_add, add)):
            if name is None:
                continue
            try:
                await method(channel=channel, timestamp=ts, name=name)
            except SlackApiError as exc:
                if exc.response.get("error") not in _HARMLESS_REACTION_ERRORS:
                    raise

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        await self.client.views_open(trigger_id=trigger_id, view=clean(view))

    async def update_view(self, view_id: str, view: dict[str, Any], view_hash: str | None = None) -> None:
        await self.client.views_update(view_id=view_id, view=clean(view), hash=view_hash)

    async def group_members(self, group: str) -> list[str]:
        response = await self.client.usergroups_users_list(usergroup=group)
        return [str(user) for user in response.get("users") or []]


def _fallback(text: str) -> str:
    return truncate(redact(text), TEXT_LIMIT)
