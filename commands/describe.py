"""What a parameter model says about each field, for help text, forms and the API."""

import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic.fields import FieldInfo

from commands.params.base import PipelineParams


@dataclass(frozen=True)
class ParamInfo:
    name: str
    widget: str
    """``text``, ``number``, ``integer``, ``checkbox``, ``select``, ``multi_choice``, ``date``,
    ``csv``, ``csv_ints`` or ``users``: how a form should ask for it."""
    type_label: str
    required: bool
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    option: bool = False
    """A run option (reply fields, caching), not a pipeline parameter."""


_LABELS = {
    "text": "text", "number": "number", "integer": "whole number", "checkbox": "true/false",
    "select": "one of", "multi_choice": "any of", "date": "date", "csv": "comma-separated list",
    "csv_ints": "comma-separated numbers", "users": "Slack users",
}  # fmt: skip


@cache
def describe(model: type[PipelineParams]) -> tuple[ParamInfo, ...]:
    """Pipeline fields in declaration order (required first), then the run options."""
    infos = [_info(name, field, name in model.option_fields) for name, field in model.model_fields.items()]
    return tuple(sorted(infos, key=lambda i: (i.option, not i.required)))


def param_info(model: type[PipelineParams], name: str) -> ParamInfo | None:
    return next((info for info in describe(model) if info.name == name), None)


def _info(name: str, field: FieldInfo, option: bool) -> ParamInfo:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    annotation = field.annotation
    choices: tuple[str, ...] = ()
    if typing.get_origin(annotation) is typing.Literal:
        widget, choices = "select", tuple(str(a) for a in typing.get_args(annotation))
    elif "widget" in extra:
        widget = str(extra["widget"])
        choices = tuple(str(c) for c in extra.get("choices", []))  # type: ignore[union-attr]
    elif annotation is bool:
        widget = "checkbox"
    elif annotation is int:
        widget = "integer"
    elif annotation is float:
        widget = "number"
    else:
        widget = "text"
    minimum = _bound(field, "ge", "gt")
    maximum = _bound(field, "le", "lt")
    return ParamInfo(
        name=name,
        widget=widget,
        type_label=_LABELS[widget],
        required=field.is_required(),
        default=None if field.is_required() else field.default,
        description=field.description or "",
        choices=choices,
        minimum=minimum,
        maximum=maximum,
        option=option,
    )


def _bound(field: FieldInfo, *names: str) -> float | None:
    values = (getattr(m, n, None) for m in field.metadata for n in names)
    return next((float(v) for v in values if v is not None), None)
