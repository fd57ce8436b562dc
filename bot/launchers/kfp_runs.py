"""KFP v2beta1 run JSON (as the server sends it) → Charon's :class:`RunStatus`, and the UI links to runs.

Runs are read as raw JSON rather than kfp_server_api models: deserialising 200 runs into models
costs ~20x the CPU of ``json.loads``, which matters when thousands of runs are polled each cycle.
"""

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from bot.runs import Output, RunState, RunStatus, TaskStatus
from bot.settings import Settings

_STATES = {
    "PENDING": RunState.PENDING,
    "RUNNING": RunState.RUNNING,
    "PAUSED": RunState.RUNNING,  # paused mid-run (Argo suspend): not finished, not waiting to start
    "CANCELING": RunState.CANCELING,
    "SUCCEEDED": RunState.SUCCEEDED,
    "SKIPPED": RunState.SKIPPED,
    "FAILED": RunState.FAILED,
    "CANCELED": RunState.CANCELED,
}


def run_state(wire: dict[str, Any]) -> RunState:
    """The run's state; unknown or unspecified counts as pending (never as finished).

    Only the state says whether a run has ended: ``finished_at`` reads 1970-01-01 until it has.
    """
    return _STATES.get(str(wire.get("state") or ""), RunState.PENDING)


def run_status(wire: dict[str, Any], outputs: Sequence[Output] = ()) -> RunStatus:
    """Steps, and for a failed run the failing step(s) and the run's error message."""
    tasks = _tasks(wire)
    state = run_state(wire)
    if state is not RunState.FAILED:
        return RunStatus(state, tasks, tuple(outputs))
    failed = [t for t in tasks if t.state == RunState.FAILED.value]
    messages = [str((wire.get("error") or {}).get("message") or "")] + [t.error or "" for t in failed]
    error = next((m for m in messages if m), "Kubeflow gave no error message.")
    return RunStatus(state, tasks, tuple(outputs), error, ", ".join(t.name for t in failed) or None)


def _tasks(wire: dict[str, Any]) -> tuple[TaskStatus, ...]:
    """The pipeline's steps: task details without child tasks (the others are DAGs, e.g. the root)."""
    steps: dict[str, TaskStatus] = {}
    for detail in (wire.get("run_details") or {}).get("task_details") or []:
        if detail.get("child_tasks"):
            continue
        name = str(detail.get("display_name") or detail.get("task_id") or "")
        state = _STATES.get(str(detail.get("state") or ""), RunState.PENDING).value
        message = (detail.get("error") or {}).get("message") or None
        steps[name] = TaskStatus(name, state, message)
    return tuple(steps.values())


def run_link(settings: Settings, kfp_run_id: str) -> str:
    """The run in the KFP UI; the central-dashboard form when ``KFP_UI_MULTI_USER`` is set."""
    ui = (settings.kfp_ui_url or settings.kfp_host or "").rstrip("/")
    if settings.kfp_ui_multi_user:
        return f"{ui}/_/pipeline/?ns={quote(settings.kfp_namespace)}#/runs/details/{kfp_run_id}"
    return f"{ui}/#/runs/details/{kfp_run_id}"
