"""Raw parameters → a validated parameter model, with every problem explained at once."""

import difflib
from typing import Any

from pydantic import ValidationError

from commands.catalogue import PIPELINES
from commands.describe import param_info
from commands.errors import CommandError
from commands.params.base import PipelineParams, ValidationContext

_EXPECTED = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "int_type": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
}
_BOUNDS = {
    "greater_than_equal": ("≥", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("≤", "le"),
    "less_than": ("<", "lt"),
}


def validate_params(pipeline: str, raw: dict[str, Any], context: ValidationContext) -> PipelineParams:
    """Validate ``raw`` against the pipeline's model; :class:`CommandError` lists every problem."""
    model = PIPELINES[pipeline]
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        problems = [describe_error(model, error) for error in exc.errors()]
        raise CommandError(f"`{pipeline}` cannot run with these parameters:", problems) from None


def problems_by_field(pipeline: str, raw: dict[str, Any], context: ValidationContext) -> list[tuple[str, str]]:
    """Every problem with ``raw`` as (parameter, sentence); the parameter is ``""`` when a problem concerns
    several (such as a date window). Empty when ``raw`` is valid. Forms show each problem at its field."""
    model = PIPELINES[pipeline]
    try:
        model.model_validate(raw, context=context)
    except ValidationError as exc:
        return [(str(e["loc"][0]) if e.get("loc") else "", describe_error(model, e)) for e in exc.errors()]
    return []


def describe_error(model: type[PipelineParams], error: Any) -> str:
    """One pydantic error as a sentence naming the parameter, what was expected and what was given."""
    loc = error.get("loc") or ()
    name = str(loc[0]) if loc else ""
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else f" `help {_name_of(model)}` lists them."
        return f"`{name}` is not a parameter of {_name_of(model)}.{hint}"
    if not name:
        return _message(error)
    if kind == "missing":
        field = model.model_fields[name]
        allowed = _allowed(model, name)
        return f"`{name}` is required: {field.description or ''}{allowed}".rstrip()
    if kind == "literal_error":
        return f"`{name}`: expected one of {', '.join(map(str, _choices(model, name)))}; got {_show(given)}."
    if kind in _EXPECTED:
        return f"`{name}`: expected {_EXPECTED[kind]}, got {_show(given)}."
    if kind in _BOUNDS:
        symbol, key = _BOUNDS[kind]
        return f"`{name}`: expected a number {symbol} {error['ctx'][key]}, got {_show(given)}."
    return f"`{name}`: {_message(error)}."


def _message(error: Any) -> str:
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "…'"


def _name_of(model: type[PipelineParams]) -> str:
    return next((name for name, m in PIPELINES.items() if m is model), model.__name__)


def _choices(model: type[PipelineParams], name: str) -> tuple[str, ...]:
    info = param_info(model, name)
    return info.choices if info else ()


def _allowed(model: type[PipelineParams], name: str) -> str:
    choices = _choices(model, name)
    return f" One of: {', '.join(map(str, choices))}." if choices else ""
