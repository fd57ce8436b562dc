"""Slack markup in command text, unwrapped the way the user meant it.

Slack turns what a user types into markup: links become ``<https://x|x>``, e-mail addresses
``<mailto:a@b|a@b>``, channels ``<#C1|name>``, and ``&``, ``<``, ``>`` are HTML-escaped.
User references (``<@U123>``) and special mentions stay as they are: they are meaningful values
(for ``notify``) and Slack renders them back as mentions.
"""

import re

_MARKUP = re.compile(r"<([^<>\s|]+)(?:\|([^<>]*))?>")
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"})


def _unwrap(match: re.Match[str]) -> str:
    target = match.group(1)
    if target.startswith(("@", "!")):
        return match.group(0)
    if target.startswith("#"):
        return target[1:]
    if target.startswith("mailto:"):
        return target[len("mailto:") :]
    return target


def unwrap_slack_markup(text: str) -> str:
    """Links, mailto and channel references to plain values; Slack's HTML escapes undone."""
    text = _MARKUP.sub(_unwrap, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def straighten_quotes(text: str) -> str:
    """Slack's smart quotes (“ ” ‘ ’) to plain ones, so quoting works as the user typed it."""
    return text.translate(_SMART_QUOTES)
