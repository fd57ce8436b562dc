"""``KfpRecurringRuns``: schedules as native KFP recurring runs, and the runs they fire.

KFP starts each firing itself; Charon finds them by listing runs of its recurring runs created since
the newest one it has seen, and tracks them like any other run.
"""

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kfp_server_api

from bot.launchers.base import LaunchError
from bot.launchers.kfp import KfpLauncher
from bot.launchers.kfp_client import KfpError, response_json
from bot.launchers.kfp_runs import run_state
from bot.render import render_text
from bot.runs import RunState

MAX_CONCURRENCY = 1
"""Firings of one schedule running at once (KFP allows 1–10); a slow run delays the next, never piles up."""
FIRINGS_PAGE = 100
FIRINGS_PAGES_PER_TICK = 5


@dataclass(frozen=True)
class Firing:
    """A run KFP started for a recurring run."""

    kfp_run_id: str
    recurring_run_id: str
    created_at: datetime
    state: RunState
    run_url: str


class KfpRecurringRuns:
    """Every method raises :class:`LaunchError` (its text says why) when KFP cannot do it."""

    def __init__(self, launcher: KfpLauncher) -> None:
        self.launcher = launcher
        self.connection = launcher.connection

    async def create(
        self, name: str, pipeline: str, arguments: dict[str, Any], cron: str, caching: bool
    ) -> tuple[str, datetime]:
        """A recurring run of ``pipeline`` on the six-field ``cron``; returns its id and creation time.

        ``no_catchup``: after a pause or an outage, one firing runs, not one per missed slot.
        """
        with _launch_errors():
            body = kfp_server_api.V2beta1RecurringRun(
                display_name=name, description=f"Scheduled by Charon ({pipeline}).",
                experiment_id=await self.launcher.experiment_id(),
                pipeline_spec=await self.launcher.pipeline_spec(pipeline, caching),
                runtime_config=self.launcher.runtime_config(arguments),
                trigger=kfp_server_api.V2beta1Trigger(cron_schedule=kfp_server_api.V2beta1CronSchedule(cron=cron)),
                max_concurrency=MAX_CONCURRENCY, no_catchup=True, mode=kfp_server_api.RecurringRunMode.ENABLE,
            )  # fmt: skip
            wire = await self.connection.call(lambda c: response_json(
                c.recurring_runs.recurring_run_service_create_recurring_run(recurring_run=body, _preload_content=False)
            ))  # fmt: skip
        return str(wire["recurring_run_id"]), created_at(wire) or datetime.now(UTC)

    async def delete(self, recurring_run_id: str) -> None:
        """Delete it; one already gone (e.g. deleted in the KFP UI) is fine."""
        with _launch_errors(ok=(404,)):
            await self.connection.call(lambda c: c.delete_recurring_run(recurring_run_id))

    async def set_enabled(self, recurring_run_id: str, enabled: bool) -> None:
        with _launch_errors():
            if enabled:
                await self.connection.call(lambda c: c.enable_recurring_run(recurring_run_id))
            else:
                await self.connection.call(lambda c: c.disable_recurring_run(recurring_run_id))

    async def firings(self, recurring_run_ids: list[str], since: datetime) -> list[Firing]:
        """Runs of these recurring runs created at or after ``since`` (whole seconds), oldest first."""
        query = json.dumps({"predicates": [
            {"operation": "IN", "key": "recurring_run_id", "string_values": {"values": recurring_run_ids}},
            {"operation": "GREATER_THAN_EQUALS", "key": "created_at",
             "timestamp_value": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
        ]}, separators=(",", ":"))  # fmt: skip
        firings: list[Firing] = []
        token = ""
        for _ in range(FIRINGS_PAGES_PER_TICK):
            with _launch_errors():
                page = await self.connection.call(lambda c, token=token: response_json(  # type: ignore[misc]
                    c.runs.run_service_list_runs(
                        namespace=self.connection.namespace, page_token=token, page_size=FIRINGS_PAGE,
                        sort_by="created_at", filter=query, _preload_content=False,
                    )))  # fmt: skip
            for wire in page.get("runs") or []:
                kfp_id = str(wire["run_id"])
                firings.append(Firing(kfp_id, str(wire.get("recurring_run_id") or ""), created_at(wire) or since,
                                      run_state(wire), self.launcher.run_url(kfp_id)))  # fmt: skip
            token = str(page.get("next_page_token") or "")
            if not token:
                break
        return firings


@contextlib.contextmanager
def _launch_errors(ok: tuple[int, ...] = ()) -> Iterator[None]:
    """KFP's failures as :class:`LaunchError` (with the words users read); statuses in ``ok`` pass."""
    try:
        yield
    except KfpError as exc:
        if exc.status not in ok:
            raise LaunchError(render_text("kfp_error", error=exc)) from None


def created_at(wire: dict[str, Any]) -> datetime | None:
    value = wire.get("created_at")
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
