"""Schedules: native KFP recurring runs (through the real kfp.Client and the emulator), and Charon's own
scheduler for the local engine — created, listed, paused, resumed, deleted, and each firing reported."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.runs import Origin, RunState
from bot.runtime import Charon
from bot.schedules import Scheduler
from tests.kfp_emulator import KfpEmulator

if TYPE_CHECKING:
    from tests.kfp_stack import Notices

pytest_plugins = ["tests.kfp_stack"]

BOB = Origin("slack", user_id="U0BOB", channel="C0TEAM", thread_ts="1700000000.000100")
FRIDAY = datetime(2026, 11, 27, 10, 2, tzinfo=UTC)


class Clock:
    """The scheduler's idea of now, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def scheduler(charon: Charon, now: datetime = FRIDAY) -> tuple[Scheduler, Clock]:
    schedules = charon.service.schedules
    assert isinstance(schedules, Scheduler)
    clock = Clock(now)
    schedules.clock = clock
    return schedules, clock


async def say(charon: Charon, text: str, origin: Origin = BOB) -> str:
    reply = await charon.service.handle_text(text, origin)
    return reply.text


async def recurring_run(emulator: KfpEmulator, recurring_run_id: str) -> tuple[int, dict[str, Any]]:
    headers = {"authorization": f"Bearer {emulator.token}"}
    url = f"{emulator.url}/apis/v2beta1/recurringruns/{recurring_run_id}"
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


# -- on Kubeflow ------------------------------------------------------------------------------------


async def test_a_schedule_is_a_kfp_recurring_run_with_six_field_cron(
    kfp_charon: Charon, emulator: KfpEmulator
) -> None:
    scheduler(kfp_charon)
    reply = await kfp_charon.service.handle_text(
        'schedule smoke_pipeline cron="0 6 * * 1" a=3 channel=C0REPORTS', BOB
    )
    assert reply.ok, reply.text
    [schedule] = await kfp_charon.service.schedules.store.all()
    assert reply.text.splitlines()[0] == (
        f"Scheduled smoke_pipeline as `{schedule.id}`: `0 6 * * 1` (UTC), a Kubeflow recurring run. "
        "Next run Mon 2026-11-30 06:00 UTC; each run is reported in <#C0REPORTS>."
    )
    status, recurring = await recurring_run(emulator, schedule.external_id or "")
    assert status == 200
    assert recurring["trigger"] == {"cron_schedule": {"cron": "0 0 6 * * 1"}}
    assert recurring["runtime_config"]["parameters"] == {"a": 3, "b": 2, "sleep_seconds": 0.0, "fail": False}
    assert (
        recurring["status"] == "ENABLED" and recurring["max_concurrency"] == "1" and recurring["no_catchup"]
    )


async def test_schedules_are_listed_paused_resumed_and_deleted(
    kfp_charon: Charon, emulator: KfpEmulator
) -> None:
    scheduler(kfp_charon)
    await say(kfp_charon, 'schedule smoke_pipeline cron="30 7 * * *"')
    [schedule] = await kfp_charon.service.schedules.store.all()
    listing = await say(kfp_charon, "schedules")
    assert listing == (
        "Schedules (times in UTC):\n"
        f"• `{schedule.id}` smoke_pipeline · `30 7 * * *` · next Sat 2026-11-28 07:30 · reports in <#C0TEAM> · by U0BOB"
    )
    assert "is paused" in await say(kfp_charon, f"pause {schedule.id}")
    assert (await recurring_run(emulator, schedule.external_id or ""))[1]["status"] == "DISABLED"
    assert "· paused ·" in await say(kfp_charon, "schedules")
    resumed = await say(kfp_charon, f"resume {schedule.id}")
    assert resumed.endswith("is resumed: next run Sat 2026-11-28 07:30 UTC.")
    assert (await recurring_run(emulator, schedule.external_id or ""))[1]["status"] == "ENABLED"
    assert "is deleted" in await say(kfp_charon, f"unschedule {schedule.id}")
    assert (await recurring_run(emulator, schedule.external_id or ""))[0] == 404
    assert (await say(kfp_charon, "schedules")).startswith("No schedules yet.")
    assert "There is no schedule `nope`." in await say(kfp_charon, "pause nope")


async def test_each_firing_is_tracked_and_reported_in_the_schedules_channel(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    schedules, _ = scheduler(kfp_charon)
    await say(kfp_charon, 'schedule smoke_pipeline cron="0 6 * * *" notify=U0ANN')
    [schedule] = await schedules.store.all()
    kfp_ids = [
        emulator.fire_recurring(schedule.external_id or ""),
        emulator.fire_recurring(schedule.external_id or ""),
    ]
    await schedules.tick()
    await schedules.tick()  # seen already: not recorded twice
    runs = [run for run in await kfp_charon.store.recent(10) if run.schedule_id == schedule.id]
    assert sorted(run.external_id or "" for run in runs) == sorted(kfp_ids)
    for run in runs:
        assert run.surface == "schedule" and run.backend == "kfp" and run.requested_by == "U0BOB"
        assert run.reply_to == {"channel": "C0TEAM", "notify": ["<@U0ANN>"]}
    emulator.move_run(kfp_ids[0], "SUCCEEDED")
    await kfp_charon.poller.poll_once()
    [first] = [run for run in runs if run.external_id == kfp_ids[0]]
    assert notices.about(first)[0].startswith(f"[{first.id}] Run completed successfully.")
    assert notices.about(first)[0].endswith("cc: <@U0ANN>")


async def test_create_recurring_makes_a_schedule_when_given_a_cron(kfp_charon: Charon) -> None:
    scheduler(kfp_charon)
    made = await say(kfp_charon, 'create_recurring smoke_pipeline cron="0 9 * * 1-5" b=4')
    assert made.startswith("Scheduled smoke_pipeline as `") and "`0 9 * * 1-5`" in made
    explained = await say(kfp_charon, "create_recurring smoke_pipeline b=4")
    assert explained.startswith("To create a recurring run of smoke_pipeline use:")
    assert len(await kfp_charon.service.schedules.store.all()) == 1


async def test_a_bad_cron_is_explained(kfp_charon: Charon) -> None:
    reply = await kfp_charon.service.handle_text('schedule smoke_pipeline cron="0 6 * *"', BOB)
    assert not reply.ok
    assert reply.text.startswith("`0 6 * *` is not a cron expression: it has 4 fields, not 5.")
    reply = await kfp_charon.service.handle_text('schedule smoke_pipeline cron="99 6 * * *"', BOB)
    assert reply.text.startswith("`99 6 * * *` is not a valid cron expression.")
    assert await kfp_charon.service.schedules.store.all() == []


# -- with the local engine ---------------------------------------------------------------------------


async def test_the_local_scheduler_fires_each_due_slot_once(local_charon: Charon) -> None:
    schedules, clock = scheduler(local_charon)
    reply = await say(local_charon, 'schedule smoke_pipeline cron="*/5 * * * *" a=2 channel=C0REPORTS')
    assert "Next run Fri 2026-11-27 10:05 UTC; each run is reported in <#C0REPORTS>." in reply
    assert "Kubeflow" not in reply
    [schedule] = await schedules.store.all()

    async def fired() -> list[Any]:
        return [run for run in await local_charon.store.recent(50) if run.schedule_id == schedule.id]

    clock.now = datetime(2026, 11, 27, 10, 4, 59, tzinfo=UTC)
    await schedules.tick()
    assert await fired() == []
    clock.now = datetime(2026, 11, 27, 10, 5, 1, tzinfo=UTC)
    await schedules.tick()
    await schedules.tick()
    [run] = await fired()
    assert run.surface == "schedule" and run.backend == "local" and run.params["a"] == 2
    assert run.reply_to["channel"] == "C0REPORTS" and run.state is not RunState.QUEUED
    clock.now = datetime(2026, 11, 27, 10, 21, tzinfo=UTC)  # the 10:10, 10:15 and 10:20 slots were missed
    await schedules.tick()
    assert len(await fired()) == 2  # one catch-up run, not three
    assert "next Fri 2026-11-27 10:25" in await say(local_charon, "schedules")


async def test_a_paused_local_schedule_does_not_fire(local_charon: Charon) -> None:
    schedules, clock = scheduler(local_charon)
    await say(local_charon, 'schedule smoke_pipeline cron="0 * * * *"')
    [schedule] = await schedules.store.all()
    await say(local_charon, f"pause {schedule.id}")
    clock.now = datetime(2026, 11, 27, 13, 0, 1, tzinfo=UTC)
    await schedules.tick()
    assert [run for run in await local_charon.store.recent(50) if run.schedule_id == schedule.id] == []
    assert "next run Fri 2026-11-27 14:00 UTC" in await say(local_charon, f"resume {schedule.id}")
