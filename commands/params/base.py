"""Field types and the base model shared by every pipeline's parameters."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from commands.dates import resolve_date


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs from outside the input: the day it is, and the oldest allowed date."""

    today: date
    max_date_age_days: int


def _context(info: ValidationInfo) -> ValidationContext:
    ctx = info.context
    if isinstance(ctx, ValidationContext):
        return ctx
    return ValidationContext(today=date.today(), max_date_age_days=270)


def _to_date(value: Any, info: ValidationInfo) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, date):
        resolved = value
    elif isinstance(value, str):
        resolved = resolve_date(value, _context(info).today)
    else:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
    ctx = _context(info)
    age = (ctx.today - resolved).days
    if age > ctx.max_date_age_days:
        raise ValueError(
            f"{resolved.isoformat()} is {age} days ago; dates within the last "
            f"{ctx.max_date_age_days} days are allowed"
        )
    return resolved.isoformat()


def _csv_items(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    raise ValueError("expected a comma-separated list")


def _to_csv_ints(value: Any) -> str:
    items = _csv_items(value)
    bad = [item for item in items if not item.lstrip("-").isdigit()]
    if bad:
        raise ValueError(f"expected comma-separated whole numbers, got {', '.join(repr(b) for b in bad)}")
    return ",".join(items)


def _to_csv(value: Any) -> str:
    return ",".join(_csv_items(value))


def _to_mentions(value: Any) -> str:
    """Slack user references: ``U123`` → ``<@U123>``; ``<@U123>``, ``<!subteam^S1>`` and ``@name`` stay."""
    refs = []
    for item in _csv_items(value):
        if item.startswith("<") or item.startswith("@"):
            refs.append(item)
        elif item[:1] in ("U", "W") and item.isalnum() and item.isupper():
            refs.append(f"<@{item}>")
        else:
            raise ValueError(f"expected Slack user references like <@U123> or U123, got '{item}'")
    return ",".join(refs)


Date = Annotated[
    str,
    BeforeValidator(_to_date),
    Field(json_schema_extra={"widget": "date"}),
]
"""A calendar day as ``YYYY-MM-DD``; empty means today (resolved when the run executes)."""

CsvInts = Annotated[str, BeforeValidator(_to_csv_ints), Field(json_schema_extra={"widget": "csv_ints"})]
"""Comma-separated whole numbers (ids); a JSON list is accepted too."""

Csv = Annotated[str, BeforeValidator(_to_csv), Field(json_schema_extra={"widget": "csv"})]
"""Comma-separated words; a JSON list is accepted too."""

Mentions = Annotated[str, BeforeValidator(_to_mentions), Field(json_schema_extra={"widget": "users"})]


class PipelineParams(BaseModel):
    """Base of every pipeline's parameters: strict about names, lenient about how values are typed.

    The option fields are about the run, not the pipeline, and are not sent to KFP: the seed's reply
    fields ``notify``, ``channel`` and ``slack_thread`` (where Charon reports the run and whom it
    mentions), and ``enable_caching``.
    """

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
        validate_default=False,
    )

    title: ClassVar[str] = ""
    """One line for the pipeline list."""

    option_fields: ClassVar[frozenset[str]] = frozenset({"notify", "channel", "slack_thread", "enable_caching"})

    notify: Mentions = Field("", description="Slack users to mention when the run ends (comma-separated).")
    channel: str = Field("", description="Slack channel id to report in; default: where the command was typed.")
    slack_thread: str = Field("", description="Slack thread (message ts) to reply in.")
    enable_caching: bool = Field(False, description="Let Kubeflow reuse cached step results (off by default).")

    @classmethod
    def pipeline_fields(cls) -> dict[str, Any]:
        """The fields that are KFP pipeline parameters, in declaration order."""
        return {n: f for n, f in cls.model_fields.items() if n not in cls.option_fields}

    def pipeline_arguments(self) -> dict[str, Any]:
        """Arguments for the KFP run: only pipeline fields, no ``None`` (the server rejects null)."""
        data = self.model_dump(include=set(self.pipeline_fields()))
        return {k: v for k, v in data.items() if v is not None}


def csv_choice(*choices: str) -> Any:
    """Comma-separated values, each one of ``choices`` (case-insensitive on input)."""
    allowed = {c.upper(): c for c in choices}

    def check(value: Any) -> str:
        items = _csv_items(value)
        bad = [item for item in items if item.upper() not in allowed]
        if bad:
            raise ValueError(f"expected any of {', '.join(choices)}; got {', '.join(repr(b) for b in bad)}")
        return ",".join(allowed[item.upper()] for item in items)

    return Annotated[
        str,
        BeforeValidator(check),
        Field(json_schema_extra={"widget": "multi_choice", "choices": list(choices)}),
    ]
