"""Parameter forms: a pipeline's model → a modal; what was submitted → raw parameters and per-field errors.

Every form field's ``block_id`` is the parameter's name and its ``action_id`` is ``value``, so submitted
state and validation problems map onto each other by name. Typed values pre-fill the form only where
the widget can show them (a date it can resolve, a choice it offers); the rest are listed above the form.
"""

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from bot.slack.blocks import modal_view
from commands.catalogue import PIPELINES
from commands.dates import resolve_date
from commands.describe import ParamInfo, describe
from commands.params.base import PipelineParams

CALLBACK_ID = "charon_run"
PICK_ACTION = "pick_pipeline"
VALUE_ACTION = "value"
PLACE_FIELDS = frozenset({"channel", "slack_thread"})
"""Reply fields the form does not ask for: the place it was opened from decides where the run answers."""

_USER_ID = re.compile(r"^(?:<@)?([UW][A-Z0-9]+)(?:\|[^>]*)?>?$")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass(frozen=True)
class FormContext:
    """What a form carries in its ``private_metadata``: its pipeline and where its run will answer."""

    channel: str
    thread_ts: str | None = None
    request_ts: str | None = None
    """The message the form was opened from, if any: it gets the run's reactions."""
    pipeline: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    """Typed reply fields (``channel``, ``slack_thread``) the form keeps without showing."""

    def dump(self) -> str:
        data = {"c": self.channel, "t": self.thread_ts, "q": self.request_ts, "p": self.pipeline, "f": self.fixed}
        return json.dumps({k: v for k, v in data.items() if v}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> "FormContext":
        data = json.loads(text)
        return cls(data["c"], data.get("t"), data.get("q"), data.get("p"), data.get("f") or {})


@dataclass(frozen=True)
class FormField:
    info: ParamInfo
    initial: Any
    minimum: str | None
    maximum: str | None


def form_view(context: FormContext, today: date, raw: dict[str, Any] | None = None,
              problems: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The form for ``context.pipeline`` pre-filled from ``raw`` (defaults elsewhere); else only the picker."""
    raw = raw or {}
    fixed = {**context.fixed, **{k: v for k, v in raw.items() if k in PLACE_FIELDS and v}}
    context = replace(context, fixed=fixed)
    pipeline = context.pipeline
    fields = []
    if pipeline is not None:
        for info in describe(PIPELINES[pipeline]):
            if info.name not in PLACE_FIELDS:
                value = raw.get(info.name, info.default)
                fields.append(FormField(info, _initial(info, value, today), _bound(info, info.minimum),
                                        _bound(info, info.maximum)))  # fmt: skip
    return modal_view("run_form", pipelines=PIPELINES, pipeline=pipeline, fields=fields,
                      metadata=context.dump(), problems=problems or [])  # fmt: skip


def submitted_params(view: dict[str, Any]) -> dict[str, Any]:
    """A submitted form's values as raw parameters (left empty: not given, so the default applies)."""
    raw: dict[str, Any] = {}
    for block_id, actions in view["state"]["values"].items():
        entry = actions.get(VALUE_ACTION)
        value = _submitted(entry) if entry else None
        if value is not None:
            raw[block_id] = value
    return {**FormContext.load(view["private_metadata"]).fixed, **raw}


def form_errors(view: dict[str, Any], problems: list[tuple[str, str]]) -> dict[str, str]:
    """``response_action: errors`` for a form: each problem under its field's input block (else the first)."""
    inputs = [block["block_id"] for block in view["blocks"] if block.get("type") == "input"]
    errors: dict[str, str] = {}
    for name, message in problems:
        block_id = name if name in inputs else inputs[0]
        text = message.replace("`", "")
        errors[block_id] = f"{errors[block_id]} {text}" if block_id in errors else text
    return errors


def command_line(slash_command: str, pipeline: str, params: PipelineParams) -> str:
    """The one line that asks for the same run as a submitted form (only values that differ from defaults)."""
    given = params.model_dump(exclude_defaults=True)
    words = [slash_command, "run", pipeline]
    words += [f"{key}={_quote(_word(value))}" for key, value in given.items()]
    return " ".join(words)


def _word(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _quote(value: str) -> str:
    if value and not any(c.isspace() or c in "\"'" for c in value):
        return value
    return f"'{value}'" if '"' in value else f'"{value}"'


def _submitted(entry: dict[str, Any]) -> str | None:
    kind = entry.get("type")
    if kind == "checkboxes":
        return "true" if entry.get("selected_options") else "false"
    if kind == "datepicker":
        return entry.get("selected_date") or None
    if kind == "static_select":
        selected = entry.get("selected_option")
        return str(selected["value"]) if selected else None
    if kind == "multi_static_select":
        return ",".join(str(o["value"]) for o in entry.get("selected_options") or []) or None
    if kind == "multi_users_select":
        return ",".join(entry.get("selected_users") or []) or None
    value = entry.get("value")
    return None if value in (None, "") else str(value)


def _initial(info: ParamInfo, value: Any, today: date) -> Any:
    """What the widget can show of ``value``: ``None`` when it cannot (the problem is listed instead)."""
    if value is None or value == "":
        return None
    text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    match info.widget:
        case "date":
            try:
                return resolve_date(text, today).isoformat()
            except ValueError:
                return None
        case "checkbox":
            return True if text.lower() in _TRUE else False if text.lower() in _FALSE else None
        case "select":
            return text if text in info.choices else None
        case "multi_choice":
            wanted = {item.strip().upper() for item in text.split(",")}
            return [choice for choice in info.choices if choice.upper() in wanted] or None
        case "integer" | "number":
            return _number(info, text)
        case "users":
            ids = [m.group(1) for item in text.split(",") if (m := _USER_ID.match(item.strip()))]
            return ids or None
    return text


def _number(info: ParamInfo, text: str) -> str | None:
    try:
        number = int(text) if info.widget == "integer" else float(text)
    except ValueError:
        return None
    if (info.minimum is not None and number < info.minimum) or (info.maximum is not None and number > info.maximum):
        return None
    return str(number)


def _bound(info: ParamInfo, bound: float | None) -> str | None:
    if bound is None:
        return None
    return str(int(bound)) if info.widget == "integer" else str(bound)
