"""Command text → typed command. The one grammar shared by Slack, the terminal chat and the CLI.

Forms (after an optional leading bot mention; ``Reminder:`` prefixes and trailing periods from
Slack reminders are tolerated)::

    run PIPELINE [key=value ...] [```{json}```] [b64_<base64 json>]
    help [PIPELINE] | runs | status [RUN] | cancel [RUN] | retry [RUN]
    schedule PIPELINE cron="0 6 * * 1" [key=value ...] | schedules | unschedule ID | pause ID | resume ID
    create_recurring PIPELINE ...   (the seed's form; answered by creating a schedule)
"""

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from commands.catalogue import PIPELINES, normalise_name
from commands.errors import CommandError
from commands.markup import straighten_quotes, unwrap_slack_markup
from commands.payloads import find_b64_payload, parse_json_block, parse_key_values, split_tokens


@dataclass(frozen=True)
class RunCommand:
    pipeline: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HelpCommand:
    pipeline: str | None = None


@dataclass(frozen=True)
class RunsCommand:
    pass


@dataclass(frozen=True)
class StatusCommand:
    run_id: str | None = None


@dataclass(frozen=True)
class CancelCommand:
    run_id: str | None = None


@dataclass(frozen=True)
class RetryCommand:
    run_id: str | None = None


@dataclass(frozen=True)
class ScheduleCommand:
    pipeline: str
    cron: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateRecurringCommand:
    pipeline: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SchedulesCommand:
    pass


@dataclass(frozen=True)
class UnscheduleCommand:
    schedule_id: str


@dataclass(frozen=True)
class PauseCommand:
    schedule_id: str


@dataclass(frozen=True)
class ResumeCommand:
    schedule_id: str


Command = (
    RunCommand
    | HelpCommand
    | RunsCommand
    | StatusCommand
    | CancelCommand
    | RetryCommand
    | ScheduleCommand
    | CreateRecurringCommand
    | SchedulesCommand
    | UnscheduleCommand
    | PauseCommand
    | ResumeCommand
)

VERBS = (
    "run", "help", "runs", "status", "cancel", "retry",
    "schedule", "schedules", "unschedule", "pause", "resume", "create_recurring",
)  # fmt: skip

_MENTION_VERB = re.compile(r"<@[\w|.-]+>\s+(?=(?:" + "|".join(VERBS) + r")\b)", re.IGNORECASE)
_LEADING_MENTIONS = re.compile(r"^(?:\s*(?:reminder:\s*)?<@[\w|.-]+>)+", re.IGNORECASE)
_CODE_BLOCK = re.compile(r"```(.*?)(?:```|$)", re.DOTALL)


def parse(text: str) -> Command:
    """Parse one command; raises :class:`CommandError` (never anything else) on bad input."""
    text = unwrap_slack_markup(straighten_quotes(text))
    mention = _MENTION_VERB.search(text)
    text = text[mention.end() :] if mention else _LEADING_MENTIONS.sub("", text)
    text = text.strip().rstrip(".").strip()
    payload: dict[str, Any] = {}
    block = _CODE_BLOCK.search(text)
    if block:
        payload = parse_json_block(block.group(1))
        text = (text[: block.start()] + " " + text[block.end() :]).strip()
    b64 = find_b64_payload(text)
    if b64:
        text, decoded = b64
        payload = _merge(payload, decoded)
    tokens = split_tokens(text)
    if not tokens:
        return HelpCommand()
    verb, args = tokens[0].lower(), tokens[1:]
    if verb not in VERBS:
        raise CommandError(f"I don't know the command `{tokens[0]}`.{_suggest(verb, VERBS, 'command')}",
                           ["Commands: " + ", ".join(VERBS) + ". Try `help`."])  # fmt: skip
    if verb in ("run", "create_recurring", "schedule"):
        return _parse_pipeline_command(verb, args, payload)
    if payload:
        raise CommandError(f"`{verb}` takes no parameter block.")
    return _parse_simple(verb, args)


def _parse_pipeline_command(verb: str, args: list[str], payload: dict[str, Any]) -> Command:
    if not args:
        raise CommandError(f"`{verb}` needs a pipeline name, e.g. `{verb} fetch_calls_pipeline lang=en`.",
                           ["Pipelines: " + ", ".join(PIPELINES)])  # fmt: skip
    pipeline = pipeline_name(args[0])
    params = _merge(payload, parse_key_values(args[1:]))
    if verb == "run":
        return RunCommand(pipeline, params)
    if verb == "create_recurring":
        return CreateRecurringCommand(pipeline, params)
    cron = params.pop("cron", None)
    if not isinstance(cron, str) or not cron.strip():
        raise CommandError("`schedule` needs a cron expression, e.g. `cron=\"0 6 * * 1\"` (Mondays 06:00).")
    return ScheduleCommand(pipeline, cron.strip(), params)


def _parse_simple(verb: str, args: list[str]) -> Command:
    if verb == "help":
        if len(args) > 1:
            raise CommandError("`help` takes at most one pipeline name.")
        return HelpCommand(pipeline_name(args[0]) if args else None)
    if verb in ("runs", "schedules"):
        if args:
            raise CommandError(f"`{verb}` takes no arguments.")
        return RunsCommand() if verb == "runs" else SchedulesCommand()
    if len(args) > 1:
        raise CommandError(f"`{verb}` takes one id, got {len(args)} words.")
    ident = args[0] if args else None
    if verb == "status":
        return StatusCommand(ident)
    if verb == "cancel":
        return CancelCommand(ident)
    if verb == "retry":
        return RetryCommand(ident)
    if ident is None:
        raise CommandError(f"`{verb}` needs a schedule id; `schedules` lists them.")
    if verb == "unschedule":
        return UnscheduleCommand(ident)
    return PauseCommand(ident) if verb == "pause" else ResumeCommand(ident)


def pipeline_name(name: str) -> str:
    """A known pipeline's canonical name, or an error that names the nearest one."""
    canonical = normalise_name(name)
    if canonical in PIPELINES:
        return canonical
    raise CommandError(f"There is no pipeline `{name}`.{_suggest(canonical, PIPELINES, 'pipeline')}",
                       ["Pipelines: " + ", ".join(PIPELINES)])  # fmt: skip


def _merge(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    twice = sorted(set(first) & set(second))
    if twice:
        raise CommandError("Some parameters are given twice.", [f"`{key}` is given twice." for key in twice])
    return {**first, **second}


def _suggest(word: str, options: Any, kind: str) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" Did you mean the {kind} `{close[0]}`?" if close else ""
