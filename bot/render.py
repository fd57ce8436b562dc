"""Jinja2 rendering of every word users read; the templates themselves live in ``templates/``."""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

import templates

TEMPLATE_DIR = Path(templates.__file__).parent
_LINK = re.compile(r"<([^<>|\s]+)\|([^<>]*)>")


def slack_escape(value: Any) -> str:
    """User-supplied text inside mrkdwn: only ``&``, ``<`` and ``>`` need escaping."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(value: Any, limit: int = 300) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["mrkdwn"] = slack_escape
    env.filters["truncate_text"] = truncate
    env.filters["tojson_compact"] = lambda v: json.dumps(v, separators=(",", ":"))
    return env


def render(template: str, /, **context: Any) -> str:
    return environment().get_template(template).render(**context).strip()


def render_text(template: str, /, **context: Any) -> str:
    """A chat message (Slack mrkdwn) from ``templates/text/<name>.txt.j2``."""
    return render(f"text/{template}.txt.j2", **context)


def mrkdwn_to_terminal(text: str) -> str:
    """``<url|label>`` → ``label (url)``; the terminal shows the same words as Slack."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
