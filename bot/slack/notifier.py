"""``SlackNotifier``: one status message per run, edited in place; the outcome as a threaded reply.

The status message is posted when a run starts from Slack (``track``) or, for runs asked elsewhere with a
channel to report in, at their first change. Its ts is stored in the run's ``reply_to``, so whichever
process sees the run next edits the same message. Edits are coalesced: changes that arrive while one edit
waits for its turn in the channel are shown together by the next.
"""

import asyncio
import contextlib
import json
import logging
from collections import defaultdict

from slack_sdk.errors import SlackApiError

from bot.render import render_text
from bot.runs import Run, RunState
from bot.slack.blocks import message_blocks, sections
from bot.slack.sender import SlackSender
from bot.store import RunStore

log = logging.getLogger(__name__)

RECEIVED, RUNNING = "eyes", "hourglass_flowing_sand"
OUTCOME_REACTIONS = {
    RunState.SUCCEEDED: "white_check_mark",
    RunState.FAILED: "x",
    RunState.CANCELED: "no_entry_sign",
    RunState.SKIPPED: "fast_forward",
}
_GONE = {"message_not_found", "cant_update_message"}
UNREACHABLE = {"channel_not_found", "not_in_channel", "is_archived", "restricted_action"}
"""The channel cannot take the notice at all: retrying would only repeat the failure forever."""


class SlackNotifier:
    name = "slack"
    surfaces: tuple[str, ...] = ("slack", "api", "schedule")

    def __init__(self, store: RunStore, sender: SlackSender) -> None:
        self.store = store
        self.sender = sender
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._shown: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._edits: dict[str, asyncio.Task[None]] = {}

    def accepts(self, run: Run) -> bool:
        return bool(run.reply_to.get("channel"))

    async def track(self, run_id: str) -> None:
        """Show a run that was just asked for in Slack: its status message, and the request's reaction."""
        await self._refresh(run_id, started=True)

    async def refresh(self, run_id: str) -> None:
        """Show a change made here (such as a cancel) without waiting for the poller."""
        await self._refresh(run_id, started=False)

    async def _refresh(self, run_id: str, *, started: bool) -> None:
        async with self._locks[run_id]:
            run = await self.store.get(run_id)
            if run is None:
                return
            await self._show(run)
            request = run.reply_to.get("request")
            if started and request and not run.state.terminal:
                await self.sender.react(request["channel"], request["ts"], add=RUNNING, remove=RECEIVED)

    async def run_changed(self, run: Run) -> None:
        """Schedule an edit; returns at once so the poller is never held up by Slack."""
        self._dirty.add(run.id)
        if run.id not in self._edits:
            self._edits[run.id] = asyncio.create_task(self._flush(run.id), name=f"slack-status-{run.id}")

    async def run_finished(self, run: Run) -> None:
        """Final status, the outcome reaction, then the outcome as a threaded reply (which notifies)."""
        self._dirty.discard(run.id)
        try:
            async with self._locks[run.id]:
                fresh = await self.store.get(run.id) or run
                await self._show(fresh)
                request = fresh.reply_to.get("request")
                if request:
                    outcome = OUTCOME_REACTIONS.get(fresh.state)
                    await self.sender.react(request["channel"], request["ts"], add=outcome, remove=RUNNING)
                text = render_text("run_finished", run=fresh, notify=fresh.reply_to.get("notify", []))
                blocks = message_blocks("reply", sections=sections(text, fresh.run_url), more_url=fresh.run_url)
                await self.sender.post(fresh.reply_to["channel"], text, blocks, thread_ts=_thread(fresh))
        except SlackApiError as exc:
            if exc.response.get("error") not in UNREACHABLE:
                raise
            log.warning("run %s: Slack cannot take its notice (%s); giving up", run.id, exc.response.get("error"))
        self._shown.pop(run.id, None)
        if not self._locks[run.id].locked() and run.id not in self._edits:
            del self._locks[run.id]

    async def close(self) -> None:
        for task in list(self._edits.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _flush(self, run_id: str) -> None:
        try:
            while run_id in self._dirty:
                self._dirty.discard(run_id)
                async with self._locks[run_id]:
                    run = await self.store.get(run_id)
                    if run is not None:
                        await self._show(run)
        except Exception:
            log.warning("status message of run %s could not be updated", run_id, exc_info=True)
        finally:
            self._edits.pop(run_id, None)

    async def _show(self, run: Run) -> None:
        """Post the status message, or edit it when what it shows has changed. Call with the run's lock."""
        text = render_text("slack_status", run=run, notify=[])
        blocks = message_blocks("run_status", run=run, headline=text, more_url=run.run_url)
        shown = json.dumps([text, blocks], sort_keys=True)
        channel, ts = run.reply_to["channel"], run.reply_to.get("status_ts")
        if ts is not None and self._shown.get(run.id) == shown:
            return
        if ts is not None:
            try:
                await self.sender.update(channel, ts, text, blocks)
            except SlackApiError as exc:
                if exc.response.get("error") not in _GONE:
                    raise
                ts = None  # deleted by someone: post it again
        if ts is None:
            thread = run.reply_to.get("thread_ts")
            ts = await self.sender.post(channel, text, blocks, thread_ts=thread)
            placed = {"status_ts": ts} | ({} if thread else {"thread_ts": ts})
            await self.store.update_reply_to(run.id, placed)
            run.reply_to.update(placed)
        self._shown[run.id] = shown


def _thread(run: Run) -> str:
    return str(run.reply_to.get("thread_ts") or run.reply_to["status_ts"])
