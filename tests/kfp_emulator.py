"""Loopback emulator of the KFP v2beta1 REST API, for tests driven by the real ``kfp.Client``.

It mimics the wire behaviour of the KFP API server (grpc-gateway + protojson): snake_case JSON, int64 as
strings, RFC3339 timestamps, ``finished_at`` = 1970-01-01T00:00:00Z until finished, zero values omitted,
unknown request fields rejected, and errors as google.rpc.Status bodies with the matching HTTP status.

In-process use::

    async with KfpEmulator(token="t") as emu:          # on the test's event loop
        ...
    with running_emulator(token="t") as emu:           # on a background thread (sync tests)
        client = kfp.Client(host=emu.url, namespace="kubeflow-user", existing_token="t")

Standalone (drive a bot in another process, admin hooks over HTTP under ``/_emu``)::

    python -m tests.kfp_emulator --port 8888 [--token T] [--multi-user] [--auto-progress 1,2,SUCCEEDED]

Admin HTTP routes (never authenticated, never logged, never faulted):
    POST   /_emu/runs/{id}/state      {"state", "message"?, "failed_task"?, "current_task"?}
    POST   /_emu/runs/bulk            {"n", "state"?, "experiment_id"?}        -> {"run_ids": [...]}
    POST   /_emu/auto_progress        {"pending_s", "running_s", "final_state"?} or {} to disable
    POST   /_emu/faults               {"path_prefix", "status"?, "count"?, "delay_s"?, "method"?}
    DELETE /_emu/faults
    POST   /_emu/token                {"token": "..." | null}
    POST   /_emu/multi_user           {"multi_user": bool}
    GET    /_emu/requests             -> [{"method", "path", "query", "status"}]
    DELETE /_emu/requests
    POST   /_emu/recurringruns/{id}/fire                                       -> {"run_id"}
    POST   /_emu/reset
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import re
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

API = "/apis/v2beta1"
EPOCH = "1970-01-01T00:00:00Z"
STATES = frozenset(
    {"PENDING", "RUNNING", "SUCCEEDED", "SKIPPED", "FAILED", "CANCELING", "CANCELED", "PAUSED"}
)
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"})
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
MAX_LOGGED_REQUESTS = 100_000

# gRPC status code -> HTTP status, as grpc-gateway maps them.
HTTP_FOR_CODE = {
    1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429,
    9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
}  # fmt: skip
CODE_FOR_HTTP = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 6, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14}
CODE_FOR_HTTP |= {502: 14, 504: 4}

FILTER_OPS = {
    "EQUALS": 1, "NOT_EQUALS": 2, "GREATER_THAN": 3, "GREATER_THAN_EQUALS": 5,
    "LESS_THAN": 6, "LESS_THAN_EQUALS": 7, "IN": 8, "IS_SUBSTRING": 9,
}  # fmt: skip
_OP_NAMES = {v: k for k, v in FILTER_OPS.items()}

# A small two-task pipeline spec (IR) used by add_runs() when no spec is given.
SAMPLE_PIPELINE_SPEC: dict[str, Any] = {
    "pipelineInfo": {"name": "emulator-sample"},
    "schemaVersion": "2.1.0",
    "sdkVersion": "kfp-2.17.3",
    "root": {
        "dag": {
            "tasks": {
                "prepare": {"taskInfo": {"name": "prepare"}, "componentRef": {"name": "comp-prepare"}},
                "train": {
                    "taskInfo": {"name": "train"},
                    "componentRef": {"name": "comp-train"},
                    "dependentTasks": ["prepare"],
                },
            }
        },
        "inputDefinitions": {"parameters": {"n": {"parameterType": "NUMBER_INTEGER", "isOptional": True}}},
    },
}


class ApiError(Exception):
    """An error answered as a google.rpc.Status body."""

    def __init__(self, code: int, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or HTTP_FOR_CODE.get(code, 500)

    def response(self) -> web.Response:
        body = {"code": self.code, "message": self.message, "details": []}
        return web.json_response(body, status=self.http_status)


def _bad(message: str) -> ApiError:
    return ApiError(3, message)


def _ts(t: float | None) -> str:
    if not t:
        return EPOCH
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _parse_ts(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError) as exc:
        raise _bad(f"invalid timestamp {value!r}") from exc


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _fields(obj: Any, allowed: Iterable[str], what: str) -> dict[str, Any]:
    """Normalise a request message (camelCase accepted, like protojson); unknown fields give 400."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise _bad(f"proto: invalid value for {what}: expected an object")
    names = {n: n for n in allowed} | {_camel(n): n for n in allowed}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key not in names:
            raise _bad(f'proto: ({what}) unknown field "{key}"')
        out[names[key]] = value
    return out


def _int64(value: Any, what: str) -> int:
    if isinstance(value, bool) or value is None:
        raise _bad(f"invalid value for int64 field {what}: {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _bad(f"invalid value for int64 field {what}: {value!r}") from exc


def _put(d: dict[str, Any], key: str, value: Any) -> None:
    """Set a field the way protojson emits it: zero values (None, "", 0, False, [], {}) are omitted."""
    if value is None or value is False or (not isinstance(value, bool) and value in ("", 0, [], {})):
        return
    d[key] = value


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _inner_spec(spec: Any) -> dict[str, Any]:
    """The PipelineSpec itself; kfp sends {pipeline_spec, platform_spec} when a platform spec exists."""
    if isinstance(spec, dict) and "root" not in spec and isinstance(spec.get("pipeline_spec"), dict):
        return spec["pipeline_spec"]
    return spec if isinstance(spec, dict) else {}


def _task_names(spec: Any) -> list[str]:
    """Task display names from root.dag.tasks, in dependency order (stable by declaration order)."""
    tasks = ((_inner_spec(spec).get("root") or {}).get("dag") or {}).get("tasks") or {}
    order: list[str] = []
    done: set[str] = set()

    def visit(key: str, stack: frozenset[str]) -> None:
        if key in done or key in stack or key not in tasks:
            return
        for dep in tasks[key].get("dependentTasks") or []:
            visit(dep, stack | {key})
        done.add(key)
        order.append(key)

    for key in tasks:
        visit(key, frozenset())
    return [(tasks[k].get("taskInfo") or {}).get("name") or k for k in order]


_TYPE_CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "STRING": ("string", lambda v: isinstance(v, str)),
    "NUMBER_INTEGER": (
        "integer",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and float(v).is_integer(),
    ),
    "NUMBER_DOUBLE": ("double or integer", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "BOOLEAN": ("bool", lambda v: isinstance(v, bool)),
    "LIST": ("list", lambda v: isinstance(v, list)),
    "STRUCT": ("struct", lambda v: isinstance(v, dict)),
}


def validate_parameters(spec: Any, params: Mapping[str, Any]) -> None:
    """Check runtime parameters against root.inputDefinitions.parameters like validatePipelineJobInputs."""
    defs = ((_inner_spec(spec).get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    extra = sorted(set(params) - set(defs))
    if extra:
        raise _bad(f"parameter(s) provided are not required by pipeline: {extra}")
    for name, pdef in defs.items():
        if name not in params:
            if not pdef.get("isOptional") and "defaultValue" not in pdef:
                raise _bad(
                    f"input parameter {name} is not optional, "
                    "yet has neither default value nor user provided value"
                )
            continue
        value = params[name]
        ptype = pdef.get("parameterType", "")
        if value is None:
            raise _bad(f"input parameter {name} is null; a value of type {ptype} is required")
        if ptype not in _TYPE_CHECKS:
            raise _bad(f"input parameter {name} has unspecified type {ptype!r}")
        type_name, ok = _TYPE_CHECKS[ptype]
        if not ok(value):
            raise _bad(f"input parameter {name} requires type {type_name}, got {type(value).__name__}")


_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_MONTHS = {m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG"))}
_MONTHS |= {"SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
# (low, high, names, "?" allowed) per robfig/cron v1 field: sec min hour dom month dow
_CRON_FIELDS: list[tuple[int, int, dict[str, int], bool]] = [
    (0, 59, {}, False), (0, 59, {}, False), (0, 23, {}, False),
    (1, 31, {}, True), (1, 12, _MONTHS, False), (0, 6, _DAYS, True),
]  # fmt: skip


def validate_cron(expr: str) -> None:
    """robfig/cron v1 syntax: six fields, seconds first, or a descriptor (@daily, @every 1h, ...)."""
    expr = expr.strip()
    if expr.startswith("@"):
        if expr in _CRON_DESCRIPTORS:
            return
        if expr.startswith("@every ") and _GO_DURATION.match(expr[7:].strip()):
            return
        raise _bad(f"invalid cron descriptor {expr!r}")
    parts = expr.split()
    if len(parts) != 6:
        raise _bad(
            f"invalid cron expression {expr!r}: expected 6 fields (seconds minutes hours day-of-month "
            f"month day-of-week), got {len(parts)}"
        )
    for part, (low, high, names, question) in zip(parts, _CRON_FIELDS, strict=True):
        for item in part.split(","):
            rng, _, step = item.partition("/")
            if step and not step.isdigit():
                raise _bad(f"invalid cron step in {part!r}")
            if rng == "*" or (question and rng == "?"):
                continue
            for bound in rng.split("-", 1):
                value = names.get(bound.upper()) if bound.upper() in names else None
                if value is None and bound.isdigit():
                    value = int(bound)
                if value is None or not low <= value <= high:
                    raise _bad(f"invalid cron field {part!r} in {expr!r}")


# ---------------------------------------------------------------------------------------------- filters


@dataclass(slots=True)
class _Pred:
    key: str
    op: str
    values: list[Any]


_SCALAR_VALUE_FIELDS = ("string_value", "int_value", "long_value", "timestamp_value")
_LIST_VALUE_FIELDS = ("string_values", "int_values", "long_values")
_PRED_FIELDS = ("operation", "key", *_SCALAR_VALUE_FIELDS, *_LIST_VALUE_FIELDS)


def _parse_filter(raw: str, keys: Mapping[str, str]) -> list[_Pred]:
    if not raw:
        return []
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise _bad(f"failed to parse filter {raw!r}: {exc}") from exc
    preds: list[_Pred] = []
    for p in _fields(doc, ("predicates",), "Filter").get("predicates") or []:
        p = _fields(p, _PRED_FIELDS, "Predicate")
        op = p.get("operation", 0)
        op = _OP_NAMES.get(op) if isinstance(op, int) and not isinstance(op, bool) else op
        if op not in FILTER_OPS:
            raise _bad(f"invalid filter operation {p.get('operation')!r}")
        key = p.get("key", "")
        if key not in keys:
            raise _bad(f"invalid filter: no support for filtering on unrecognized field {key!r}")
        given = [f for f in (*_SCALAR_VALUE_FIELDS, *_LIST_VALUE_FIELDS) if f in p]
        if len(given) != 1:
            raise _bad(f"invalid filter predicate on {key!r}: exactly one value field is required")
        vfield = given[0]
        if (op == "IN") != (vfield in _LIST_VALUE_FIELDS):
            raise _bad(f"invalid filter predicate on {key!r}: {op} cannot be used with {vfield}")
        if op == "IN":
            raw_values = _fields(p[vfield], ("values",), vfield).get("values") or []
        else:
            raw_values = [p[vfield]]
        values: list[Any] = []
        for v in raw_values:
            if vfield.startswith("string"):
                if not isinstance(v, str):
                    raise _bad(f"invalid string value {v!r} in filter")
                values.append(v if keys[key] == "s" else _coerce_num(v))
            elif vfield == "timestamp_value":
                values.append(int(_parse_ts(v)) if isinstance(v, str) else _int64(v, vfield))
            else:
                num = _int64(v, vfield)
                values.append(num if keys[key] == "n" else str(num))
        preds.append(_Pred(key, op, values))
    return preds


def _coerce_num(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return int(_parse_ts(value))


def _matches(value: Any, pred: _Pred) -> bool:
    target = pred.values[0] if pred.values else None
    match pred.op:
        case "EQUALS":
            return bool(value == target)
        case "NOT_EQUALS":
            return bool(value != target)
        case "GREATER_THAN":
            return bool(value > target)
        case "GREATER_THAN_EQUALS":
            return bool(value >= target)
        case "LESS_THAN":
            return bool(value < target)
        case "LESS_THAN_EQUALS":
            return bool(value <= target)
        case "IN":
            return value in pred.values
        case _:  # IS_SUBSTRING
            return str(target) in str(value)


def _encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(_dumps(state).encode()).decode()


def _decode_token(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(state, dict) or not isinstance(state.get("o"), int) or state["o"] < 0:
            raise ValueError(token)
        return state
    except (ValueError, binascii.Error) as exc:
        raise _bad(f"invalid page token {token!r}") from exc


# ---------------------------------------------------------------------------------------------- records


@dataclass(slots=True)
class _Experiment:
    seq: int
    experiment_id: str
    display_name: str
    description: str
    namespace: str
    created_at: float
    storage_state: str = "AVAILABLE"
    last_run_created_at: float = 0.0

    def attr(self, key: str) -> Any:
        if key in ("created_at", "last_run_created_at"):
            return int(getattr(self, key))
        return getattr(self, key)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"experiment_id": self.experiment_id, "display_name": self.display_name}
        _put(d, "description", self.description)
        d["created_at"] = _ts(self.created_at)
        _put(d, "namespace", self.namespace)
        d["storage_state"] = self.storage_state
        d["last_run_created_at"] = _ts(self.last_run_created_at)
        return d


@dataclass(slots=True)
class _Run:
    seq: int
    run_id: str
    experiment_id: str
    namespace: str
    display_name: str
    description: str
    pipeline_spec: Any
    spec_json: str | None
    pipeline_version_reference: dict[str, Any] | None
    runtime_config: dict[str, Any]
    service_account: str
    created_at: float
    tasks: list[str]
    recurring_run_id: str = ""
    state: str = ""
    finished_at: float = 0.0
    started_at: float = 0.0
    error: dict[str, Any] | None = None
    state_history: list[tuple[float, str, dict[str, Any] | None]] = field(default_factory=list)
    storage_state: str = "AVAILABLE"
    current_task: int = 0
    failed_task: int | None = None
    schedule: list[tuple[float, str | None, int | None]] = field(default_factory=list)
    cancel_reads_left: int | None = None
    cache: str | None = None

    def attr(self, key: str) -> Any:
        if key == "created_at" or key == "scheduled_at":
            return int(self.created_at)
        if key == "finished_at":
            return int(self.finished_at)
        return getattr(self, key)

    def task_index(self, name: str) -> int:
        if name not in self.tasks:
            raise _bad(f"run {self.run_id} has no task {name!r}; tasks are {self.tasks}")
        return self.tasks.index(name)

    def _task_state(self, i: int) -> str:
        cur, state = self.current_task, self.state
        if state in ("PENDING", "SUCCEEDED", "SKIPPED"):
            return state
        if state == "FAILED":
            failed = self.failed_task if self.failed_task is not None else cur
            return "SUCCEEDED" if i < failed else "FAILED" if i == failed else "SKIPPED"
        if i < cur:
            return "SUCCEEDED"
        if i > cur:
            return "SKIPPED" if state == "CANCELED" else "PENDING"
        return state  # RUNNING / PAUSED / CANCELING / CANCELED for the current task

    def task_details(self) -> list[dict[str, Any]]:
        out = []
        ended_at = self.finished_at or (self.state_history[-1][0] if self.state_history else 0.0)
        base = uuid.UUID(self.run_id) if len(self.run_id) == 36 else uuid.NAMESPACE_OID
        for i, name in enumerate(self.tasks):
            state = self._task_state(i)
            started = state != "PENDING" and not (state == "SKIPPED" and self.state != "SKIPPED")
            detail: dict[str, Any] = {
                "run_id": self.run_id,
                "task_id": str(uuid.uuid5(base, f"{i}:{name}")),
                "display_name": name,
                "create_time": _ts(self.created_at),
                "start_time": _ts(self.started_at or ended_at) if started else EPOCH,
                "end_time": _ts(ended_at) if state in TERMINAL_STATES and started else EPOCH,
                "state": state,
            }
            if state == "FAILED" and self.error:
                detail["error"] = dict(self.error)
            out.append(detail)
        return out

    def render(self) -> str:
        """The wire JSON of the run; cached until the run changes."""
        if self.cache is not None:
            return self.cache
        d: dict[str, Any] = {"experiment_id": self.experiment_id, "run_id": self.run_id}
        d["display_name"] = self.display_name
        d["storage_state"] = self.storage_state
        _put(d, "description", self.description)
        _put(d, "pipeline_version_reference", self.pipeline_version_reference)
        _put(d, "runtime_config", self.runtime_config)
        _put(d, "service_account", self.service_account)
        d["created_at"] = d["scheduled_at"] = _ts(self.created_at)
        d["finished_at"] = _ts(self.finished_at)
        d["state"] = self.state
        _put(d, "error", self.error)
        _put(d, "run_details", {"task_details": self.task_details()} if self.tasks else None)
        _put(d, "recurring_run_id", self.recurring_run_id)
        history = []
        for at, state, error in self.state_history:
            entry: dict[str, Any] = {"update_time": _ts(at), "state": state}
            _put(entry, "error", error)
            history.append(entry)
        _put(d, "state_history", history)
        text = _dumps(d)
        if self.spec_json is not None:
            text = text[:-1] + ',"pipeline_spec":' + self.spec_json + "}"
        self.cache = text
        return text


@dataclass(slots=True)
class _RecurringRun:
    seq: int
    recurring_run_id: str
    display_name: str
    description: str
    experiment_id: str
    namespace: str
    pipeline_spec: Any
    pipeline_version_reference: dict[str, Any] | None
    runtime_config: dict[str, Any]
    service_account: str
    max_concurrency: int
    trigger: dict[str, Any]
    enabled: bool
    no_catchup: bool
    created_at: float
    updated_at: float
    fired: int = 0

    def attr(self, key: str) -> Any:
        if key in ("created_at", "updated_at"):
            return int(getattr(self, key))
        return getattr(self, key)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"recurring_run_id": self.recurring_run_id, "display_name": self.display_name}
        _put(d, "description", self.description)
        _put(d, "pipeline_spec", self.pipeline_spec)
        _put(d, "pipeline_version_reference", self.pipeline_version_reference)
        _put(d, "runtime_config", self.runtime_config)
        _put(d, "service_account", self.service_account)
        d["max_concurrency"] = str(self.max_concurrency)
        d["trigger"] = self.trigger
        d["mode"] = "ENABLE" if self.enabled else "DISABLE"
        d["created_at"] = _ts(self.created_at)
        d["updated_at"] = _ts(self.updated_at)
        d["status"] = "ENABLED" if self.enabled else "DISABLED"
        _put(d, "no_catchup", self.no_catchup)
        _put(d, "namespace", self.namespace)
        d["experiment_id"] = self.experiment_id
        return d


@dataclass(slots=True)
class _Fault:
    path_prefix: str
    status: int | None
    count: int | None
    delay_s: float | None
    method: str | None
    message: str


RUN_KEYS = {k: "s" for k in ("run_id", "display_name", "description", "storage_state", "namespace")}
RUN_KEYS |= {k: "s" for k in ("experiment_id", "state", "recurring_run_id")}
RUN_KEYS |= {k: "n" for k in ("created_at", "finished_at", "scheduled_at")}
EXPERIMENT_KEYS = {k: "s" for k in ("experiment_id", "display_name", "description", "namespace")}
EXPERIMENT_KEYS |= {"storage_state": "s", "created_at": "n", "last_run_created_at": "n"}
RECURRING_KEYS = {"recurring_run_id": "s", "display_name": "s", "description": "s"}
RECURRING_KEYS |= {"created_at": "n", "updated_at": "n"}

_RUN_FIELDS = (
    "experiment_id", "run_id", "display_name", "storage_state", "description", "pipeline_version_id",
    "pipeline_spec", "pipeline_version_reference", "runtime_config", "service_account", "created_at",
    "scheduled_at", "finished_at", "state", "error", "run_details", "recurring_run_id", "state_history",
    "plugins_input", "plugins_output",
)  # fmt: skip
_RECURRING_FIELDS = (
    "recurring_run_id", "display_name", "description", "pipeline_version_id", "pipeline_spec",
    "pipeline_version_reference", "runtime_config", "service_account", "max_concurrency", "trigger", "mode",
    "created_at", "updated_at", "status", "error", "no_catchup", "namespace", "experiment_id",
    "plugins_input",
)  # fmt: skip
_EXPERIMENT_FIELDS = (
    "experiment_id", "display_name", "description", "created_at", "namespace", "storage_state",
    "last_run_created_at",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------- emulator


class KfpEmulator:
    """In-memory KFP v2beta1 API server on loopback. Thread-safe: admin calls may come from any thread."""

    def __init__(
        self,
        *,
        token: str | None = None,
        multi_user: bool = False,
        default_namespace: str = "kubeflow-user",
        auto_progress: tuple[float, float, str] | None = None,
        cancel_after_reads: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.multi_user = multi_user
        self.default_namespace = default_namespace
        self.cancel_after_reads = cancel_after_reads
        self.clock = clock
        self._auto: tuple[float, float, str] | None = None
        if auto_progress:
            self.set_auto_progress(*auto_progress)
        self._lock = threading.RLock()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._pipeline_versions: dict[str, Any] = {}
        self.reset()

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        # An IN filter on 200 run ids makes a ~11 KB request line; Go's net/http accepts up to 1 MB of
        # headers, aiohttp only 8 KB by default.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, max_line_size=1 << 20, max_field_size=1 << 16
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1] if self._runner.addresses else port
        self._url = f"http://{host}:{bound}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> KfpEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("KfpEmulator is not started")
        return self._url

    # ------------------------------------------------------------------------------------------ admin API

    def reset(self) -> None:
        """Drop every run, experiment, recurring run, fault and logged request; recreate "Default"."""
        with self._lock:
            self._seq = 0
            self._runs: dict[str, _Run] = {}
            self._dynamic: set[str] = set()
            self._experiments: dict[str, _Experiment] = {}
            self._recurring: dict[str, _RecurringRun] = {}
            self._faults: list[_Fault] = []
            self._requests: deque[dict[str, Any]] = deque(maxlen=MAX_LOGGED_REQUESTS)
            ns = self.default_namespace if self.multi_user else ""
            self.default_experiment_id = self._new_experiment("Default", "", ns).experiment_id

    def set_token(self, token: str | None) -> None:
        """Require ``authorization: Bearer <token>`` on /apis requests (None: no auth)."""
        with self._lock:
            self.token = token

    def set_multi_user(self, multi_user: bool) -> None:
        with self._lock:
            self.multi_user = multi_user

    def set_auto_progress(self, pending_s: float, running_s: float, final_state: str = "SUCCEEDED") -> None:
        """Runs created (or retried) from now on go PENDING -> RUNNING after pending_s, then final_state."""
        if final_state not in TERMINAL_STATES:
            raise _bad(f"final_state must be one of {sorted(TERMINAL_STATES)}")
        if pending_s < 0 or running_s < 0:
            raise _bad("pending_s and running_s must be >= 0")
        self._auto = (float(pending_s), float(running_s), final_state)

    def disable_auto_progress(self) -> None:
        self._auto = None

    def inject_fault(
        self,
        path_prefix: str = API,
        status: int | None = 503,
        count: int | None = 1,
        delay_s: float | None = None,
        method: str | None = None,
        message: str = "injected fault",
    ) -> None:
        """Answer the next ``count`` (None: all) matching /apis requests with ``status`` after ``delay_s``.

        With ``status=None`` the request is only delayed and then served normally.
        """
        with self._lock:
            self._faults.append(
                _Fault(path_prefix, status, count, delay_s, method.upper() if method else None, message)
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Log of /apis requests: {method, path, query, status}."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def register_pipeline_version(self, pipeline_id: str, version_id: str, pipeline_spec: Any) -> None:
        """Give runs submitted with this pipeline_version_reference a spec (for parameters and tasks)."""
        with self._lock:
            self._pipeline_versions[f"{pipeline_id}/{version_id}"] = pipeline_spec

    def move_run(
        self,
        run_id: str,
        state: str,
        message: str | None = None,
        failed_task: str | None = None,
        current_task: str | None = None,
    ) -> dict[str, Any]:
        """Force a run into ``state`` (cancels its auto-progress). Returns the run's wire JSON."""
        with self._lock:
            run = self._get_run(run_id)
            if state not in STATES:
                raise _bad(f"unknown state {state!r}; expected one of {sorted(STATES)}")
            run.schedule.clear()
            if current_task is not None:
                run.current_task = run.task_index(current_task)
            failed = run.task_index(failed_task) if failed_task is not None else None
            if state != run.state or state == "FAILED":
                self._transition(run, state, self.clock(), message, failed)
            self._touch(run)
            return json.loads(run.render())

    def add_runs(
        self,
        n: int,
        state: str = "RUNNING",
        experiment_id: str | None = None,
        pipeline_spec: Any = None,
        display_name: str = "bulk-run",
        parameters: dict[str, Any] | None = None,
    ) -> list[str]:
        """Create ``n`` runs directly in ``state`` (no validation, no auto-progress). Returns their ids."""
        if state not in STATES:
            raise _bad(f"unknown state {state!r}")
        spec = SAMPLE_PIPELINE_SPEC if pipeline_spec is None else pipeline_spec
        spec_json, tasks = _dumps(spec), _task_names(spec)
        now = self.clock()
        ids: list[str] = []
        with self._lock:
            exp = self._get_experiment(experiment_id or self.default_experiment_id)
            for i in range(n):
                run = self._make_run(
                    exp, f"{display_name}-{i}", "", spec, spec_json, None, {"parameters": parameters or {}},
                    "", tasks, now,
                )  # fmt: skip
                if state != "PENDING":
                    self._transition(run, state, now, None, None)
                ids.append(run.run_id)
        return ids

    def fire_recurring(self, recurring_run_id: str, force: bool = False) -> str:
        """Create the run a recurring run's trigger would start now; returns its id."""
        with self._lock:
            rr = self._recurring.get(recurring_run_id)
            if rr is None:
                raise ApiError(5, f"recurring run {recurring_run_id} not found")
            if not rr.enabled and not force:
                raise ApiError(9, f"recurring run {recurring_run_id} is disabled")
            rr.fired += 1
            exp = self._get_experiment(rr.experiment_id)
            spec = rr.pipeline_spec
            if spec is None and rr.pipeline_version_reference:
                spec = self._registered_spec(rr.pipeline_version_reference)
            run = self._make_run(
                exp, f"{rr.display_name}-{rr.fired}", rr.description, rr.pipeline_spec,
                None if rr.pipeline_spec is None else _dumps(rr.pipeline_spec), rr.pipeline_version_reference,
                rr.runtime_config, rr.service_account, _task_names(spec), self.clock(),
            )  # fmt: skip
            run.recurring_run_id = rr.recurring_run_id
            self._schedule_auto(run, run.created_at)
            return run.run_id

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run's wire JSON (as GET /runs/{id} would answer, without counting as a client read)."""
        with self._lock:
            run = self._get_run(run_id)
            self._advance(run, self.clock())
            return json.loads(run.render())

    @property
    def run_ids(self) -> list[str]:
        with self._lock:
            return list(self._runs)

    # ------------------------------------------------------------------------------------------ internals

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _new_experiment(self, name: str, description: str, namespace: str) -> _Experiment:
        exp = _Experiment(self._next_seq(), str(uuid.uuid4()), name, description, namespace, self.clock())
        self._experiments[exp.experiment_id] = exp
        return exp

    def _get_experiment(self, experiment_id: str) -> _Experiment:
        exp = self._experiments.get(experiment_id)
        if exp is None:
            raise ApiError(5, f"experiment {experiment_id} not found")
        return exp

    def _experiment_for(self, experiment_id: str | None) -> _Experiment:
        """The experiment a new run goes to; multi-user servers cannot infer a namespace without one."""
        if not experiment_id and self.multi_user:
            raise _bad("Invalid input error: experiment_id is required in multi-user mode")
        return self._get_experiment(experiment_id or self.default_experiment_id)

    def _get_run(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            raise ApiError(5, f"Failed to get run {run_id}: run not found")
        return run

    def _make_run(
        self,
        exp: _Experiment,
        name: str,
        description: str,
        spec: Any,
        spec_json: str | None,
        ref: dict[str, Any] | None,
        runtime_config: dict[str, Any],
        service_account: str,
        tasks: list[str],
        now: float,
    ) -> _Run:
        rc = {k: v for k, v in runtime_config.items() if v not in (None, "", {})}
        run = _Run(
            self._next_seq(), str(uuid.uuid4()), exp.experiment_id, exp.namespace, name, description, spec,
            spec_json, ref, rc, service_account or "pipeline-runner", now, tasks,
        )  # fmt: skip
        self._transition(run, "PENDING", now, None, None)
        self._runs[run.run_id] = run
        exp.last_run_created_at = now
        return run

    def _transition(
        self, run: _Run, state: str, at: float, message: str | None, failed_task: int | None
    ) -> None:
        error = None
        if state == "FAILED":
            run.failed_task = (
                failed_task if failed_task is not None else min(run.current_task, max(len(run.tasks) - 1, 0))
            )
            task = run.tasks[run.failed_task] if run.tasks else "run"
            error = {"code": 2, "message": message or f"task {task!r} failed"}
        elif state == "RUNNING" and not run.started_at:
            run.started_at = at
        run.state = state
        run.error = error
        run.state_history.append((at, state, error))
        if state in TERMINAL_STATES:
            run.finished_at = at
            run.schedule.clear()
        else:
            run.finished_at = 0.0
        if state == "CANCELING":
            run.schedule.clear()
            run.cancel_reads_left = max(self.cancel_after_reads, 0)
        else:
            run.cancel_reads_left = None
        self._touch(run)

    def _touch(self, run: _Run) -> None:
        run.cache = None
        if run.schedule or run.cancel_reads_left is not None:
            self._dynamic.add(run.run_id)
        else:
            self._dynamic.discard(run.run_id)

    def _schedule_auto(self, run: _Run, start: float, skip_pending: bool = False) -> None:
        if self._auto is None:
            return
        pending_s, running_s, final = self._auto
        t = start if skip_pending else start + pending_s
        if not skip_pending:
            run.schedule.append((t, "RUNNING", None))
        for i in range(run.current_task + 1, len(run.tasks)):
            run.schedule.append((t + running_s * (i - run.current_task) / len(run.tasks), None, i))
        run.schedule.append((t + running_s, final, None))
        self._touch(run)

    def _advance(self, run: _Run, now: float) -> None:
        """Apply due auto-progress steps and the CANCELING -> CANCELED step."""
        if run.run_id not in self._dynamic:
            return
        while run.schedule and run.schedule[0][0] <= now:
            at, state, task = run.schedule.pop(0)
            if task is not None:
                run.current_task = task
                run.cache = None
            if state is not None:
                failed = len(run.tasks) - 1 if state == "FAILED" and run.tasks else None
                self._transition(run, state, at, f"auto-progress: run ended in {state}", failed)
        if run.state == "CANCELING" and run.cancel_reads_left == 0:
            self._transition(run, "CANCELED", now, None, None)
        self._touch(run)

    def _mark_read(self, run: _Run) -> None:
        if run.state == "CANCELING" and run.cancel_reads_left:
            run.cancel_reads_left -= 1

    def _page(
        self,
        query: Mapping[str, str],
        keys: Mapping[str, str],
        id_key: str,
        store: Mapping[str, Any],
        scope: Callable[[Any], bool],
        prepare: Callable[[Any], None] | None = None,
    ) -> tuple[list[Any], int, str]:
        """Filter, sort and page records like the KFP list APIs. Returns (page, total_size, next_token)."""
        sort_by, raw_filter, offset = query.get("sort_by", ""), query.get("filter", ""), 0
        token = query.get("page_token", "")
        if token:
            state = _decode_token(token)
            offset, sort_by, raw_filter = state["o"], state.get("s", ""), state.get("f", "")
        try:
            size = int(query.get("page_size") or 0)
        except ValueError as exc:
            raise _bad(f"invalid page_size {query.get('page_size')!r}") from exc
        if size < 0:
            raise _bad("page_size must not be negative")
        size = DEFAULT_PAGE_SIZE if size == 0 else min(size, MAX_PAGE_SIZE)
        preds = _parse_filter(raw_filter, keys)
        candidates: Iterable[Any] = store.values()
        for p in preds:  # narrow by id with dict lookups
            if p.key == id_key and p.op in ("EQUALS", "IN"):
                candidates = [store[i] for i in dict.fromkeys(p.values) if i in store]
                break
        field_name, _, direction = sort_by.strip().partition(" ")
        if field_name and field_name not in keys:
            raise _bad(f"invalid sorting field {field_name!r}")
        if direction.strip() not in ("", "desc", "asc"):
            raise _bad(f"invalid sort order {direction.strip()!r}")
        selected = []
        for rec in candidates:
            if not scope(rec):
                continue
            if prepare is not None:
                prepare(rec)
            if all(_matches(rec.attr(p.key), p) for p in preds):
                selected.append(rec)
        sort_field = field_name or "created_at"
        selected.sort(key=lambda r: (r.attr(sort_field), r.seq), reverse=direction.strip() == "desc")
        page = selected[offset : offset + size]
        nxt = ""
        if offset + size < len(selected):
            nxt = _encode_token({"o": offset + size, "s": sort_by, "f": raw_filter})
        return page, len(selected), nxt

    def _namespace_scope(
        self, query: Mapping[str, str], what: str, experiment_ok: bool
    ) -> Callable[[Any], bool]:
        exp_id = query.get("experiment_id", "") if experiment_ok else ""
        if exp_id:
            self._get_experiment(exp_id)
            return lambda rec: bool(rec.experiment_id == exp_id)
        ns = query.get("namespace", "")
        if not self.multi_user:
            return lambda rec: True
        if not ns:
            raise _bad(f"Invalid input error: {what} must filter by namespace in multi-user mode")
        return lambda rec: bool(rec.namespace == ns)

    def _check_auth(self, request: web.Request) -> None:
        if self.token is None:
            return
        header = request.headers.get("authorization", "")
        if not header:
            raise ApiError(16, "Unauthenticated: request has no bearer token")
        if header != f"Bearer {self.token}":
            raise ApiError(16, "Unauthenticated: invalid bearer token")

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix) and fault.method in (None, method):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if not request.path.startswith("/apis/"):
            try:
                return await _call(handler, request)
            except ApiError as exc:
                return exc.response()
        entry: dict[str, Any] = {"method": request.method, "path": request.path, "query": dict(request.query)}
        with self._lock:
            self._requests.append(entry)
        try:
            fault = self._take_fault(request.method, request.path)
            if fault is not None and fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            if fault is not None and fault.status:
                raise ApiError(CODE_FOR_HTTP.get(fault.status, 2), fault.message, fault.status)
            self._check_auth(request)
            response = await _call(handler, request)
        except ApiError as exc:
            response = exc.response()
        except Exception as exc:  # a bug in the emulator: answer like the server's INTERNAL error
            response = ApiError(13, f"emulator internal error: {exc!r}").response()
        entry["status"] = response.status
        return response

    # ------------------------------------------------------------------------------------------ routes

    def _add_routes(self, app: web.Application) -> None:
        rid = "{run_id:[^/:]+}"
        rrid = "{recurring_run_id:[^/:]+}"
        r = app.router
        r.add_get(f"{API}/healthz", self._h_healthz)
        r.add_post(f"{API}/experiments", self._h_create_experiment)
        r.add_get(f"{API}/experiments", self._h_list_experiments)
        r.add_get(f"{API}/experiments/{{experiment_id:[^/:]+}}", self._h_get_experiment)
        r.add_post(f"{API}/runs", self._h_create_run)
        r.add_get(f"{API}/runs", self._h_list_runs)
        r.add_get(f"{API}/runs/{rid}", self._h_get_run)
        r.add_delete(f"{API}/runs/{rid}", self._h_delete_run)
        r.add_post(f"{API}/runs/{rid}:{{verb}}", self._h_run_verb)
        r.add_post(f"{API}/recurringruns", self._h_create_recurring)
        r.add_get(f"{API}/recurringruns", self._h_list_recurring)
        r.add_get(f"{API}/recurringruns/{rrid}", self._h_get_recurring)
        r.add_delete(f"{API}/recurringruns/{rrid}", self._h_delete_recurring)
        r.add_post(f"{API}/recurringruns/{rrid}:{{verb}}", self._h_recurring_verb)
        r.add_route("*", "/apis/{tail:.*}", self._h_not_found)
        r.add_post("/_emu/runs/bulk", self._a_bulk)
        r.add_post("/_emu/runs/{run_id}/state", self._a_move)
        r.add_post("/_emu/auto_progress", self._a_auto)
        r.add_post("/_emu/faults", self._a_fault)
        r.add_delete("/_emu/faults", self._a_clear_faults)
        r.add_post("/_emu/token", self._a_token)
        r.add_post("/_emu/multi_user", self._a_multi_user)
        r.add_get("/_emu/requests", self._a_requests)
        r.add_delete("/_emu/requests", self._a_clear_requests)
        r.add_post("/_emu/recurringruns/{recurring_run_id}/fire", self._a_fire)
        r.add_post("/_emu/reset", self._a_reset)

    async def _h_not_found(self, request: web.Request) -> web.Response:
        raise ApiError(5, f"Not Found: {request.method} {request.path}")

    async def _h_healthz(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {"pipeline_store": "database"}
        _put(body, "multi_user", self.multi_user)
        return web.json_response(body)

    # experiments

    async def _h_create_experiment(self, request: web.Request) -> web.Response:
        body = _fields(await _body(request), _EXPERIMENT_FIELDS, "Experiment")
        name = body.get("display_name") or ""
        if not isinstance(name, str) or not name:
            raise _bad("Invalid input error: Experiment display name is empty")
        ns = body.get("namespace") or ""
        with self._lock:
            if self.multi_user and not ns:
                raise _bad("Invalid input error: Experiment namespace is empty in multi-user mode")
            ns = ns if self.multi_user else ""
            if any(e.display_name == name and e.namespace == ns for e in self._experiments.values()):
                raise ApiError(6, f"Failed to create a new experiment: experiment {name!r} already exists")
            exp = self._new_experiment(name, body.get("description") or "", ns)
            return web.json_response(exp.to_json())

    async def _h_get_experiment(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(self._get_experiment(request.match_info["experiment_id"]).to_json())

    async def _h_list_experiments(self, request: web.Request) -> web.Response:
        with self._lock:
            scope = self._namespace_scope(request.query, "ListExperiments", experiment_ok=False)
            page, total, nxt = self._page(
                request.query, EXPERIMENT_KEYS, "experiment_id", self._experiments, scope
            )
            body: dict[str, Any] = {}
            _put(body, "experiments", [e.to_json() for e in page])
            _put(body, "total_size", total)
            _put(body, "next_page_token", nxt)
            return web.json_response(body)

    # runs

    def _resolve_source(self, body: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None, Any]:
        """(pipeline_spec, pipeline_version_reference, spec used for validation)."""
        spec = body.get("pipeline_spec")
        ref = body.get("pipeline_version_reference")
        if ref is None and body.get("pipeline_version_id"):
            ref = {"pipeline_version_id": body["pipeline_version_id"]}
        if (spec is None) == (ref is None):
            raise _bad(
                "Invalid input error: exactly one of pipeline_spec or pipeline_version_reference is required"
            )
        if spec is not None:
            if not isinstance(spec, dict) or "root" not in _inner_spec(spec):
                raise _bad("Invalid input error: pipeline_spec is not a valid PipelineSpec (no root)")
            return spec, None, spec
        ref = _fields(ref, ("pipeline_id", "pipeline_version_id"), "PipelineVersionReference")
        return None, ref, self._registered_spec(ref)

    def _registered_spec(self, ref: Mapping[str, Any]) -> Any:
        return self._pipeline_versions.get(f"{ref.get('pipeline_id')}/{ref.get('pipeline_version_id')}")

    def _runtime_config(self, raw: Any, validate_against: Any) -> dict[str, Any]:
        rc = _fields(raw, ("parameters", "pipeline_root"), "RuntimeConfig")
        params = rc.get("parameters") or {}
        if not isinstance(params, dict):
            raise _bad("runtime_config.parameters must be an object")
        if validate_against is not None:
            validate_parameters(validate_against, params)
        return rc

    async def _h_create_run(self, request: web.Request) -> web.Response:
        body = _fields(await _body(request), _RUN_FIELDS, "Run")
        name = body.get("display_name") or ""
        if not isinstance(name, str) or not name:
            raise _bad("Invalid input error: run display_name is required")
        with self._lock:
            spec, ref, known = self._resolve_source(body)
            rc = self._runtime_config(body.get("runtime_config"), known)
            exp = self._experiment_for(body.get("experiment_id") or request.query.get("experiment_id"))
            if exp.storage_state == "ARCHIVED":
                raise _bad(f"experiment {exp.experiment_id} is archived")
            spec_json = None if spec is None else _dumps(spec)
            run = self._make_run(
                exp, name, body.get("description") or "", spec, spec_json, ref, rc,
                body.get("service_account") or "", _task_names(known), self.clock(),
            )  # fmt: skip
            self._schedule_auto(run, run.created_at)
            return _raw_json(run.render())

    async def _h_get_run(self, request: web.Request) -> web.Response:
        with self._lock:
            run = self._get_run(request.match_info["run_id"])
            self._advance(run, self.clock())
            text = run.render()
            self._mark_read(run)
            return _raw_json(text)

    async def _h_list_runs(self, request: web.Request) -> web.Response:
        now = self.clock()
        with self._lock:
            scope = self._namespace_scope(request.query, "ListRuns", experiment_ok=True)
            page, total, nxt = self._page(
                request.query, RUN_KEYS, "run_id", self._runs, scope, lambda r: self._advance(r, now)
            )
            parts = []
            if page:
                parts.append('"runs":[' + ",".join(r.render() for r in page) + "]")
                for run in page:
                    self._mark_read(run)
            if total:
                parts.append(f'"total_size":{total}')
            if nxt:
                parts.append(f'"next_page_token":{_dumps(nxt)}')
            return _raw_json("{" + ",".join(parts) + "}")

    async def _h_delete_run(self, request: web.Request) -> web.Response:
        with self._lock:
            run = self._get_run(request.match_info["run_id"])
            del self._runs[run.run_id]
            self._dynamic.discard(run.run_id)
            return web.json_response({})

    async def _h_run_verb(self, request: web.Request) -> web.Response:
        verb = request.match_info["verb"]
        now = self.clock()
        with self._lock:
            run = self._get_run(request.match_info["run_id"])
            self._advance(run, now)
            if verb == "terminate":
                if run.state in TERMINAL_STATES:
                    raise ApiError(9, f"Failed to terminate run {run.run_id}: run is already {run.state}")
                if run.state != "CANCELING":
                    self._transition(run, "CANCELING", now, None, None)
            elif verb == "retry":
                if run.storage_state == "ARCHIVED":
                    raise ApiError(9, f"Failed to retry run {run.run_id}: run is archived")
                if run.state not in ("FAILED", "CANCELED"):
                    raise ApiError(
                        9, f"Failed to retry run {run.run_id}: only FAILED or CANCELED runs can be retried, "
                        f"run is {run.state}",
                    )  # fmt: skip
                if run.failed_task is not None:
                    run.current_task = run.failed_task
                run.failed_task = None
                self._transition(run, "PENDING", now, None, None)
                self._transition(run, "RUNNING", now, None, None)
                self._schedule_auto(run, now, skip_pending=True)
            elif verb in ("archive", "unarchive"):
                run.storage_state = "ARCHIVED" if verb == "archive" else "AVAILABLE"
                self._touch(run)
            else:
                raise ApiError(5, f"Not Found: unknown run method {verb!r}")
            return web.json_response({})

    # recurring runs

    def _trigger(self, raw: Any) -> dict[str, Any]:
        trig = _fields(raw, ("cron_schedule", "periodic_schedule"), "Trigger")
        if ("cron_schedule" in trig) == ("periodic_schedule" in trig):
            raise _bad("Invalid input error: exactly one of cron_schedule or periodic_schedule is required")
        if "cron_schedule" in trig:
            cron = _fields(trig["cron_schedule"], ("start_time", "end_time", "cron"), "CronSchedule")
            expr = cron.get("cron")
            if not isinstance(expr, str) or not expr.strip():
                raise _bad("Invalid input error: cron expression is empty")
            validate_cron(expr)
            out = {"cron": expr}
            key = "cron_schedule"
            sched = cron
        else:
            allowed = ("start_time", "end_time", "interval_second")
            sched = _fields(trig["periodic_schedule"], allowed, "PeriodicSchedule")
            interval = _int64(sched.get("interval_second", 0), "interval_second")
            if interval < 1:
                raise _bad(f"Invalid input error: interval_second must be >= 1, got {interval}")
            out = {"interval_second": str(interval)}
            key = "periodic_schedule"
        for tkey in ("start_time", "end_time"):
            if sched.get(tkey):
                _parse_ts(sched[tkey])
                out[tkey] = sched[tkey]
        return {key: out}

    async def _h_create_recurring(self, request: web.Request) -> web.Response:
        body = _fields(await _body(request), _RECURRING_FIELDS, "RecurringRun")
        name = body.get("display_name") or ""
        if not isinstance(name, str) or not name:
            raise _bad("Invalid input error: recurring run display_name is required")
        trigger = self._trigger(body.get("trigger"))
        max_conc = _int64(body.get("max_concurrency", 0), "max_concurrency")
        if not 1 <= max_conc <= 10:
            raise _bad(f"Invalid input error: max_concurrency must be between 1 and 10, got {max_conc}")
        mode = body.get("mode", "MODE_UNSPECIFIED")
        if mode not in ("ENABLE", "DISABLE", "MODE_UNSPECIFIED", 0, 1, 2):
            raise _bad(f"invalid value for enum mode: {mode!r}")
        with self._lock:
            spec, ref, known = self._resolve_source(body)
            rc = self._runtime_config(body.get("runtime_config"), known)
            exp = self._experiment_for(body.get("experiment_id"))
            now = self.clock()
            rr = _RecurringRun(
                self._next_seq(), str(uuid.uuid4()), name, body.get("description") or "", exp.experiment_id,
                exp.namespace, spec, ref, {k: v for k, v in rc.items() if v not in (None, "", {})},
                body.get("service_account") or "pipeline-runner", max_conc, trigger, mode in ("ENABLE", 1),
                bool(body.get("no_catchup")), now, now,
            )  # fmt: skip
            self._recurring[rr.recurring_run_id] = rr
            return web.json_response(rr.to_json())

    def _get_recurring(self, request: web.Request) -> _RecurringRun:
        rr = self._recurring.get(request.match_info["recurring_run_id"])
        if rr is None:
            raise ApiError(5, f"recurring run {request.match_info['recurring_run_id']} not found")
        return rr

    async def _h_get_recurring(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(self._get_recurring(request).to_json())

    async def _h_list_recurring(self, request: web.Request) -> web.Response:
        with self._lock:
            scope = self._namespace_scope(request.query, "ListRecurringRuns", experiment_ok=True)
            page, total, nxt = self._page(
                request.query, RECURRING_KEYS, "recurring_run_id", self._recurring, scope
            )
            body: dict[str, Any] = {}
            _put(body, "recurringRuns", [rr.to_json() for rr in page])
            _put(body, "total_size", total)
            _put(body, "next_page_token", nxt)
            return web.json_response(body)

    async def _h_delete_recurring(self, request: web.Request) -> web.Response:
        with self._lock:
            del self._recurring[self._get_recurring(request).recurring_run_id]
            return web.json_response({})

    async def _h_recurring_verb(self, request: web.Request) -> web.Response:
        verb = request.match_info["verb"]
        with self._lock:
            rr = self._get_recurring(request)
            if verb not in ("enable", "disable"):
                raise ApiError(5, f"Not Found: unknown recurring run method {verb!r}")
            rr.enabled = verb == "enable"
            rr.updated_at = self.clock()
            return web.json_response({})

    # admin

    async def _a_move(self, request: web.Request) -> web.Response:
        body = _fields(await _body(request), ("state", "message", "failed_task", "current_task"), "move")
        run = self.move_run(
            request.match_info["run_id"], str(body.get("state", "")), body.get("message"),
            body.get("failed_task"), body.get("current_task"),
        )  # fmt: skip
        return web.json_response(run)

    async def _a_bulk(self, request: web.Request) -> web.Response:
        body = _fields(await _body(request), ("n", "state", "experiment_id"), "bulk")
        ids = self.add_runs(int(body.get("n", 1)), body.get("state", "RUNNING"), body.get("experiment_id"))
        return web.json_response({"run_ids": ids})

    async def _a_auto(self, request: web.Request) -> web.Response:
        body = _fields(await _body(request), ("pending_s", "running_s", "final_state"), "auto_progress")
        if not body:
            self.disable_auto_progress()
        else:
            self.set_auto_progress(
                float(body.get("pending_s", 0)), float(body.get("running_s", 0)),
                body.get("final_state", "SUCCEEDED"),
            )  # fmt: skip
        return web.json_response({"auto_progress": self._auto})

    async def _a_fault(self, request: web.Request) -> web.Response:
        body = _fields(
            await _body(request), ("path_prefix", "status", "count", "delay_s", "method", "message"), "fault"
        )
        self.inject_fault(
            body.get("path_prefix", API), body.get("status"), body.get("count", 1), body.get("delay_s"),
            body.get("method"), body.get("message", "injected fault"),
        )  # fmt: skip
        return web.json_response({})

    async def _a_clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({})

    async def _a_token(self, request: web.Request) -> web.Response:
        self.set_token(_fields(await _body(request), ("token",), "token").get("token"))
        return web.json_response({})

    async def _a_multi_user(self, request: web.Request) -> web.Response:
        body = _fields(await _body(request), ("multi_user",), "multi_user")
        self.set_multi_user(bool(body.get("multi_user")))
        return web.json_response({})

    async def _a_requests(self, request: web.Request) -> web.Response:
        return web.json_response(self.requests)

    async def _a_clear_requests(self, request: web.Request) -> web.Response:
        self.clear_requests()
        return web.json_response({})

    async def _a_fire(self, request: web.Request) -> web.Response:
        return web.json_response({"run_id": self.fire_recurring(request.match_info["recurring_run_id"])})

    async def _a_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({})


async def _call(handler: Callable[[web.Request], Any], request: web.Request) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        code = CODE_FOR_HTTP.get(exc.status, 2)
        return ApiError(code, exc.reason, exc.status).response()


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _bad(f"proto: syntax error in request body: {exc}") from exc


def _raw_json(text: str) -> web.Response:
    return web.Response(text=text, content_type="application/json")


@contextlib.contextmanager
def running_emulator(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> Iterator[KfpEmulator]:
    """Run a KfpEmulator on its own event loop in a daemon thread (for sync tests and kfp.Client)."""
    emu = KfpEmulator(**kwargs)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="kfp-emulator", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(emu.start(host, port), loop).result(timeout=30)
        yield emu
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


async def _serve(args: argparse.Namespace) -> None:
    auto = None
    if args.auto_progress:
        pending_s, running_s, final = args.auto_progress.split(",")
        auto = (float(pending_s), float(running_s), final.strip().upper())
    emu = KfpEmulator(token=args.token, multi_user=args.multi_user, auto_progress=auto)
    await emu.start(args.host, args.port)
    print(f"KFP emulator listening on {emu.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Loopback KFP v2beta1 REST emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--token", default=None, help="require this bearer token on /apis requests")
    parser.add_argument("--multi-user", action="store_true")
    parser.add_argument("--auto-progress", default=None, help="PENDING_S,RUNNING_S,FINAL_STATE")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
