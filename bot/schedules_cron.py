"""Cron expressions: people write five fields; KFP (robfig/cron v1) reads six, seconds first.

A five-field expression sent to KFP as is would be read seconds-first (``0 6 * * 1`` would mean
"second 0, minute 6, every hour on the 1st"), so every schedule is stored and sent in six fields.
Times are UTC, for Charon's scheduler as for KFP's default.
"""

from datetime import datetime

from croniter import croniter

from commands.errors import CommandError

DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
EXAMPLE = '`cron="0 6 * * 1"` (Mondays 06:00 UTC)'


def six_field_cron(text: str) -> str:
    """The expression KFP and Charon's scheduler read; raises :class:`CommandError` naming the problem."""
    expr = " ".join(text.split())
    fields = expr.split(" ")
    if expr.lower() in DESCRIPTORS:
        return expr.lower()
    if len(fields) == 5:
        expr = f"0 {expr}"
    elif len(fields) != 6:
        raise CommandError(f"`{text}` is not a cron expression: it has {len(fields)} fields, not 5.",
                           [f"Write minute hour day-of-month month day-of-week, e.g. {EXAMPLE}."])  # fmt: skip
    if not croniter.is_valid(expr, second_at_beginning=True):
        raise CommandError(f"`{text}` is not a valid cron expression.",
                           [f"Write minute hour day-of-month month day-of-week, e.g. {EXAMPLE}."])  # fmt: skip
    return expr


def display_cron(cron: str) -> str:
    """The five-field form people wrote, where the seconds field is just 0."""
    fields = cron.split(" ")
    return " ".join(fields[1:]) if len(fields) == 6 and fields[0] == "0" else cron


def next_fire(cron: str, after: datetime) -> datetime:
    """The first firing strictly after ``after`` (an aware datetime)."""
    fire: datetime = croniter(cron, after, second_at_beginning=True).get_next(datetime)
    return fire
