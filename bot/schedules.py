"""``Scheduler``: ``schedule``, ``schedules``, ``unschedule``, ``pause``, ``resume`` — and the firings.

With KFP a schedule is a native KFP recurring run: KFP starts each firing, and Charon adopts the
runs it finds (listed by recurring run, newer than the newest seen) so they are tracked and reported
like any other run. With the local engine Charon fires schedules itself (croniter); each firing is
claimed in the database, so it starts once however many Charon processes are up.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from bot.background import BackgroundLoop
from bot.launchers.base import Launcher, LaunchError
from bot.launchers.kfp import CACHING_PARAM
from bot.render import render_text
from bot.runs import Origin
from bot.schedules_cron import display_cron, next_fire, six_field_cron
from bot.schedules_store import Schedule, ScheduleStore
from bot.service import CharonService, Reply, route
from bot.store import new_run_id
from commands import grammar
from commands.catalogue import PIPELINES
from commands.errors import CommandError

if TYPE_CHECKING:
    from bot.launchers.kfp_recurring import Firing, KfpRecurringRuns

log = logging.getLogger(__name__)

KFP_PAGE = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler(BackgroundLoop):
    """Fires due schedules (local engine) and adopts the runs KFP recurring runs start."""

    task_name = "charon-scheduler"

    def __init__(
        self,
        service: CharonService,
        store: ScheduleStore,
        kfp: "KfpRecurringRuns | None",
        *,
        interval: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.service = service
        self.store = store
        self.kfp = kfp
        self.interval = interval
        self.clock = clock

    # -- commands -------------------------------------------------------------------------------

    async def execute(self, command: grammar.Command, origin: Origin) -> Reply:
        """Answer one schedule command; raises :class:`CommandError` for anything a user got wrong."""
        match command:
            case grammar.ScheduleCommand(pipeline, cron, params):
                return await self.create(pipeline, cron, params, origin)
            case grammar.SchedulesCommand():
                schedules = [self._view(s) for s in await self.store.all()]
                return Reply("schedules", render_text("schedules_list", schedules=schedules))
            case grammar.UnscheduleCommand(ident):
                return await self.unschedule(ident, origin)
            case grammar.PauseCommand(ident) | grammar.ResumeCommand(ident):
                return await self.set_enabled(ident, isinstance(command, grammar.ResumeCommand), origin)
        raise TypeError(f"not a schedule command: {command!r}")

    async def create(self, pipeline: str, cron_text: str, raw: dict[str, Any], origin: Origin) -> Reply:
        refused = self._refusal(origin, pipeline)
        if refused:
            return refused
        cron = six_field_cron(cron_text)
        params = self.service.validate(pipeline, raw)
        schedule_id = new_run_id()
        fields: dict[str, Any] = {"pipeline": pipeline, "cron": cron, "origin": origin}
        if self.kfp is not None:
            dumped = params.model_dump()
            try:
                external, created = await self.kfp.create(
                    f"{pipeline} {schedule_id}", pipeline, params.pipeline_arguments(), cron,
                    caching=dumped.get(CACHING_PARAM) is True,
                )  # fmt: skip
            except LaunchError as exc:
                return Reply("schedule_failed", str(exc), ok=False, pipeline=pipeline)
            fields |= {"params": dumped, "backend": "kfp", "external_id": external, "next_fire_at": None,
                       "seen_until": created}  # fmt: skip
        else:
            fields |= {"params": raw, "backend": "local", "external_id": None,
                       "next_fire_at": next_fire(cron, self.clock()), "seen_until": None}  # fmt: skip
        schedule = await self.store.add(schedule_id, **fields)
        text = render_text("schedule_created", schedule=self._view(schedule))
        return Reply("schedule_created", text, pipeline=pipeline, params=params.model_dump())

    async def unschedule(self, ident: str, origin: Origin) -> Reply:
        schedule = await self._find(ident)
        refused = self._refusal(origin, schedule.pipeline)
        if refused:
            return refused
        failed = await self._on_kfp(schedule, lambda kfp, external: kfp.delete(external))
        if failed:
            return failed
        await self.store.delete(schedule.id)
        text = render_text("schedule_changed", schedule=self._view(schedule), change="deleted")
        return Reply("schedule_deleted", text, pipeline=schedule.pipeline)

    async def set_enabled(self, ident: str, enabled: bool, origin: Origin) -> Reply:
        schedule = await self._find(ident)
        refused = self._refusal(origin, schedule.pipeline)
        if refused:
            return refused
        failed = await self._on_kfp(schedule, lambda kfp, external: kfp.set_enabled(external, enabled))
        if failed:
            return failed
        following = (
            next_fire(schedule.cron, self.clock()) if enabled and schedule.backend == "local" else None
        )
        changed = await self.store.set_enabled(schedule.id, enabled, following) or schedule
        change = "resumed" if enabled else "paused"
        text = render_text("schedule_changed", schedule=self._view(changed), change=change)
        return Reply(f"schedule_{change}", text, pipeline=schedule.pipeline)

    async def _find(self, ident: str) -> Schedule:
        schedule = await self.store.get(ident)
        if schedule is None:
            raise CommandError(f"There is no schedule `{ident}`. `schedules` lists them.")
        return schedule

    def _refusal(self, origin: Origin, pipeline: str) -> Reply | None:
        reason = self.service.policy.refuse(origin, "schedule", pipeline=pipeline)
        if reason is None:
            return None
        return Reply("refused", render_text("refused", reason=reason), ok=False, pipeline=pipeline)

    async def _on_kfp(self, schedule: Schedule, change: Callable[[Any, str], Any]) -> Reply | None:
        """Apply ``change`` to the schedule's KFP recurring run; a Reply if that could not be done."""
        if schedule.backend != "kfp" or schedule.external_id is None:
            return None
        if self.kfp is None:
            text = render_text("not_available", feature="KFP schedules", plural=True, where="without KFP_HOST",
                               hint="Set KFP_HOST to manage them.")  # fmt: skip
            return Reply("not_available", text, ok=False)
        try:
            await change(self.kfp, schedule.external_id)
        except LaunchError as exc:
            return Reply("schedule_failed", str(exc), ok=False, pipeline=schedule.pipeline)
        return None

    def _view(self, schedule: Schedule) -> dict[str, Any]:
        """What the templates show of a schedule."""
        upcoming = None
        if schedule.enabled:
            upcoming = schedule.next_fire_at or next_fire(schedule.cron, self.clock())
        return {
            "id": schedule.id, "pipeline": schedule.pipeline, "cron": display_cron(schedule.cron),
            "enabled": schedule.enabled, "next": upcoming, "on_kfp": schedule.backend == "kfp",
            "channel": schedule.params.get("channel") or schedule.reply_to.get("channel"),
            "requested_by": schedule.requested_by,
        }  # fmt: skip

    # -- firings --------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Start the local schedules that are due, and adopt the runs KFP started for ours."""
        await self._fire_due(self.clock())
        if self.kfp is not None:
            await self._adopt_firings(self.kfp)

    async def _fire_due(self, now: datetime) -> None:
        for schedule in await self.store.due(now):
            due = schedule.next_fire_at
            assert due is not None
            if not await self.store.claim_firing(schedule.id, due, next_fire(schedule.cron, now)):
                continue  # another process fired it
            try:
                reply = await self.service.start_run(
                    schedule.pipeline, schedule.params, schedule.firing_origin(),
                    idempotency_key=f"schedule:{schedule.id}:{due.isoformat()}", schedule_id=schedule.id,
                )  # fmt: skip
            except CommandError as exc:
                log.warning("schedule %s could not start %s: %s %s", schedule.id, schedule.pipeline,
                            exc.message, " ".join(exc.details))  # fmt: skip
                continue
            if reply.run is None:
                log.warning("schedule %s did not start %s: %s", schedule.id, schedule.pipeline, reply.kind)

    async def _adopt_firings(self, kfp: "KfpRecurringRuns") -> None:
        schedules = {s.external_id: s for s in await self.store.of_backend("kfp") if s.external_id}
        if not schedules:
            return
        since = min(s.seen_until or s.created_at for s in schedules.values())
        ids = list(schedules)
        newest = since
        for start in range(0, len(ids), KFP_PAGE):
            for firing in await kfp.firings(ids[start : start + KFP_PAGE], since):
                schedule = schedules.get(firing.recurring_run_id)
                if schedule is not None:
                    await self._adopt(schedule, firing)
                newest = max(newest, firing.created_at)
        await self.store.advance_kfp_watermark(newest)

    async def _adopt(self, schedule: Schedule, firing: "Firing") -> None:
        """Record a run KFP started for ``schedule``, reported where the schedule says."""
        model = PIPELINES.get(schedule.pipeline)
        if model is None:
            log.warning("schedule %s fired %s, which Charon no longer knows", schedule.id, schedule.pipeline)
            return
        # The arguments KFP runs with were validated when the schedule was made.
        origin = route(schedule.firing_origin(), model.model_construct(**schedule.params))
        store = self.service.store
        run, created = await store.create_run(
            pipeline=schedule.pipeline, params=schedule.params, backend="kfp", origin=origin,
            idempotency_key=f"kfp-run:{firing.kfp_run_id}", schedule_id=schedule.id,
        )  # fmt: skip
        if created:
            await store.set_launched(run.id, firing.kfp_run_id, firing.run_url, firing.state)
            self.service.poller.wake("kfp")

    # -- the loop -------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.warning("schedule tick failed; trying again in %.0f s", self.interval, exc_info=True)
            earliest = await self._earliest()
            delay = self.interval
            if earliest is not None:
                delay = min(delay, max(0.5, (earliest - self.clock()).total_seconds()))
            await asyncio.sleep(delay)

    async def _earliest(self) -> datetime | None:
        try:
            return await self.store.earliest_firing()
        except (OSError, asyncpg.PostgresError):
            return None

    async def stop(self) -> None:
        await self.stop_loop()


def build_scheduler(
    service: CharonService, pool: asyncpg.Pool, launchers: Mapping[str, Launcher]
) -> Scheduler:
    """KFP recurring runs when KFP is configured, else Charon's own firings."""
    kfp = None
    if "kfp" in launchers:
        from bot.launchers.kfp import KfpLauncher
        from bot.launchers.kfp_recurring import KfpRecurringRuns

        launcher = launchers["kfp"]
        assert isinstance(launcher, KfpLauncher)
        kfp = KfpRecurringRuns(launcher)
    return Scheduler(service, ScheduleStore(pool), kfp, interval=service.settings.poll_interval)
