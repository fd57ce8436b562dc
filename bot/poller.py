"""The one asyncio task that keeps every run's state current and hands finished runs to notifiers.

Each cycle reads the non-terminal runs from the store, asks each launcher for all of its runs in
one batch, records transitions, then claims finished-but-unreported runs and notifies. The claim
is in the database, so after a restart a notice is sent exactly once by whoever claims it.
"""

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Mapping, Sequence

from bot.launchers.base import Launcher
from bot.metrics import POLL_SECONDS
from bot.notifiers import Notifier
from bot.runs import Run
from bot.store import RunStore

log = logging.getLogger(__name__)


class Poller:
    def __init__(self, store: RunStore, launchers: Mapping[str, Launcher], notifiers: Sequence[Notifier]):
        self.store = store
        self.launchers = launchers
        self.notifiers = list(notifiers)
        self._wake = asyncio.Event()
        self._due: dict[str, float] = dict.fromkeys(launchers, 0.0)
        self._failures: dict[str, int] = dict.fromkeys(launchers, 0)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.cycles = 0
        for name, launcher in launchers.items():
            launcher.subscribe(functools.partial(self.wake, name))

    def wake(self, backend: str | None = None) -> None:
        """Poll now (all backends, or one) instead of waiting for the interval."""
        for name in [backend] if backend else list(self._due):
            self._due[name] = 0.0
        self._wake.set()

    def add_notifier(self, notifier: Notifier) -> None:
        self.notifiers.append(notifier)

    async def poll_once(self) -> None:
        """One full cycle for every backend that is due, then notices."""
        await self._poll_due()
        await self.deliver_notices()

    async def _poll_due(self) -> None:
        now = time.monotonic()
        for name, launcher in self.launchers.items():
            if self._due[name] <= now:
                await self._poll_backend(name, launcher)
        self.cycles += 1

    async def _poll_backend(self, name: str, launcher: Launcher) -> None:
        started = time.monotonic()
        try:
            active = await self.store.active(name)
            statuses = await launcher.statuses(active) if active else {}
        except Exception:
            self._failures[name] += 1
            backoff = min(300.0, launcher.poll_interval * 2 ** self._failures[name]) * random.uniform(0.8, 1.2)
            self._due[name] = time.monotonic() + backoff
            log.warning("polling %s failed; next try in %.0f s", name, backoff, exc_info=True)
            return
        POLL_SECONDS.labels(name).observe(time.monotonic() - started)
        self._failures[name] = 0
        jitter = random.uniform(0.9, 1.1)
        self._due[name] = time.monotonic() + launcher.poll_interval * jitter
        for run in active:
            status = statuses.get(run.id)
            if status is None:
                continue
            changed = await self.store.record_status(run.id, status)
            if changed and not status.state.terminal:
                await self._changed(run.id)

    async def _changed(self, run_id: str) -> None:
        run = await self.store.get(run_id)
        if run is None:
            return
        for notifier in self.notifiers:
            if run.surface in notifier.surfaces and notifier.accepts(run):
                try:
                    await notifier.run_changed(run)
                except Exception:
                    log.warning("status update for run %s failed", run_id, exc_info=True)

    async def deliver_notices(self) -> None:
        """Every notifier that accepts a finished run delivers its notice exactly once."""
        surfaces = sorted({s for n in self.notifiers for s in n.surfaces})
        if not surfaces:
            return
        claimed = await self.store.claim_notifications(surfaces)
        # Runs side by side: one slow or rate-limited channel must not hold up the others' notices.
        await asyncio.gather(*(self._deliver(run) for run in claimed))

    async def _deliver(self, run: Run) -> None:
        targets = [n for n in self.notifiers if run.surface in n.surfaces and n.accepts(run)]
        if not targets:
            return  # another process (a terminal session, the server) delivers it; the claim expires
        done = await self.store.delivered_notices(run.id)
        failed = False
        for notifier in targets:
            if notifier.name in done:
                continue
            try:
                await notifier.run_finished(run)
            except Exception:
                failed = True
                log.warning("%s notice for run %s failed; will retry", notifier.name, run.id, exc_info=True)
            else:
                await self.store.mark_delivered(run.id, notifier.name)
        if failed:
            await self.store.release_notification(run.id)
        else:
            await self.store.mark_notified(run.id)

    async def run_forever(self) -> None:
        """Polls on schedule while notices are delivered alongside, so Slack's pace never delays polling."""
        delivery: asyncio.Task[None] | None = None
        while not self._stopping:
            try:
                await self._poll_due()
            except Exception:
                log.exception("poll cycle failed")
            if delivery is None or delivery.done():
                delivery = asyncio.create_task(self._deliver_logged(), name="charon-notices")
            delay = max(0.05, min(self._due.values(), default=time.monotonic() + 1) - time.monotonic())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
        if delivery is not None:
            await delivery
        await self._deliver_logged()  # what finished during the last cycle

    async def _deliver_logged(self) -> None:
        try:
            await self.deliver_notices()
        except Exception:
            log.exception("delivering notices failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name="charon-poller")

    async def stop(self, grace_s: float = 10.0) -> None:
        """Let the current cycle finish (a claimed notice is delivered, not dropped), then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._stopping = False
