"""Saying a ``Reply`` back in Slack: in the request's thread, privately, in a form, or as a run's status.

Where an answer goes follows from how the request came: a mention or DM is answered in its thread, a
slash command or a button privately (``response_url`` or an ephemeral message), a form in the form itself.
Refusals are always private. A started run is shown by its status message (``SlackNotifier.track``).
"""

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.render import render_text
from bot.runs import Origin
from bot.service import Reply
from bot.slack.blocks import message_blocks, modal_view, sections
from bot.slack.notifier import UNREACHABLE, SlackNotifier
from bot.slack.sender import SlackSender
from commands import grammar

log = logging.getLogger(__name__)

BUTTON_VALUE = 2000
STARTED = ("run_created", "launch_failed")


@dataclass(frozen=True)
class Asker:
    """Who asked, and where Charon answers them."""

    user_id: str
    channel: str
    thread_ts: str | None = None
    """The thread to answer in (``None``: the channel itself)."""
    request_ts: str | None = None
    """The message holding the request, if any: it gets the run's reactions."""
    response_url: str | None = None
    in_thread: bool = True
    """Ordinary answers go in the thread for everyone (mentions), or privately (slash commands, buttons)."""
    redelivered: bool = False
    """A redelivered event: a duplicate of it is not worth a word."""

    def origin(self, **extra: Any) -> Origin:
        if self.request_ts:
            extra["request"] = {"channel": self.channel, "ts": self.request_ts}
        return Origin("slack", self.user_id, self.channel, self.thread_ts, extra=extra)


class Answers:
    def __init__(self, sender: SlackSender, notifier: SlackNotifier) -> None:
        self.sender = sender
        self.notifier = notifier

    async def deliver(self, asker: Asker, reply: Reply, command: grammar.Command | None = None,
                      *, shown_in_form: bool = False) -> None:  # fmt: skip
        if reply.run is not None and reply.kind in STARTED:
            try:
                await self.notifier.track(reply.run.id)
            except SlackApiError as exc:
                if exc.response.get("error") not in UNREACHABLE:
                    raise
                await self.say(asker, render_text("slack_cannot_post", reply=reply.text), private=True)
        elif reply.kind == "confirm":
            await self.confirm_card(asker, reply)
        elif shown_in_form or (reply.kind == "duplicate" and asker.redelivered):
            pass
        elif reply.kind == "input_errors" and isinstance(command, grammar.RunCommand):
            value = _button_value({"p": command.pipeline, "r": command.params, "t": asker.thread_ts,
                                   "q": asker.request_ts}, drop="r")  # fmt: skip
            blocks = message_blocks("input_errors", sections=sections(reply.text), value=value)
            await self.say(asker, reply.text, blocks)
        else:
            if reply.kind == "canceling" and reply.run is not None:
                await self.notifier.refresh(reply.run.id)
            await self.say(asker, reply.text, private=reply.kind in ("refused", "duplicate"))

    async def say(self, asker: Asker, text: str, blocks: list[dict[str, Any]] | None = None,
                  *, private: bool = False) -> None:  # fmt: skip
        blocks = blocks or message_blocks("reply", sections=sections(text))
        if asker.in_thread and not private:
            await self.sender.post(asker.channel, text, blocks, thread_ts=asker.thread_ts)
        elif asker.response_url:
            await self.sender.respond(asker.response_url, text, blocks)
        else:
            await self.sender.ephemeral(asker.channel, asker.user_id, text, blocks, thread_ts=asker.thread_ts)

    async def confirm_card(self, asker: Asker, reply: Reply) -> None:
        """A card with Launch / Don't launch: the run starts only when its requester (or an admin) agrees."""
        value = _button_value({"p": reply.pipeline, "r": reply.params, "u": asker.user_id, "t": asker.thread_ts,
                               "q": asker.request_ts})  # fmt: skip
        if value is None:
            await self.say(asker, render_text("slack_confirm_too_long", pipeline=reply.pipeline), private=True)
            return
        blocks = message_blocks("confirm_run", sections=sections(reply.text), value=value, requester=asker.user_id)
        await self.sender.post(asker.channel, reply.text, blocks, thread_ts=asker.thread_ts)

    async def show_in_form(self, view_id: str, pipeline: str, command_line: str, reply: Reply) -> bool:
        """The outcome of a submitted form in the form itself; False when the form is gone (closed)."""
        view = modal_view("run_submitted", pipeline=pipeline, command=command_line, outcome=reply.text)
        try:
            await self.sender.update_view(view_id, view)
        except SlackApiError as exc:
            log.info("form %s was closed before its outcome (%s)", view_id, exc.response.get("error"))
            return False
        return True


def _button_value(data: dict[str, Any], drop: str | None = None) -> str | None:
    """Compact JSON for a button; without ``drop`` when too long (and ``None`` when still too long)."""
    text = json.dumps({k: v for k, v in data.items() if v}, separators=(",", ":"))
    if len(text) <= BUTTON_VALUE:
        return text
    return _button_value({k: v for k, v in data.items() if k != drop}) if drop else None
