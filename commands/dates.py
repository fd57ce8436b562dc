"""Dates users type: ``YYYY-MM-DD``, ``today``, ``yesterday``, ``-7d`` (days ago)."""

import re
from datetime import date, timedelta

_RELATIVE = re.compile(r"^-(\d{1,4})d$")


def resolve_date(text: str, today: date) -> date:
    """A typed date to a calendar date; ``ValueError`` with a user-facing message otherwise."""
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    match = _RELATIVE.match(value)
    if match:
        return today - timedelta(days=int(match.group(1)))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"expected a date as YYYY-MM-DD, today, yesterday or -Nd (N days ago), got '{text}'"
        ) from None
