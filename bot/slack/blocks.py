"""Block Kit from ``templates/slack/*.json.j2``, cut to Slack's limits so a long value never fails a post.

Long texts end with a link to where the rest can be read (the run page) instead of being refused by Slack
with ``invalid_blocks``; surplus blocks are replaced by one line saying how many were left out.
"""

import json
from typing import Any

from bot.render import render, render_text

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
MESSAGE_TEXT = 12000
"""Slack refuses messages whose blocks hold much more text in all (``msg_blocks_too_long``, ~13k characters)."""
FIELD_TEXT = 2000
LABEL_TEXT = 2000
HEADER_TEXT = 150
PLACEHOLDER_TEXT = 150
OPTION_TEXT = 75
BUTTON_TEXT = 75
VIEW_TITLE = 24
SELECT_OPTIONS = 100
CHECKBOX_OPTIONS = 10
INPUT_VALUE = 3000

Block = dict[str, Any]


def message_blocks(template: str, *, more_url: str | None = None, **context: Any) -> list[Block]:
    """A message's blocks from ``templates/slack/<template>.json.j2`` (at most 50)."""
    blocks = json.loads(render(f"slack/{template}.json.j2", **context))
    return fit_blocks(blocks, MESSAGE_BLOCKS, more_url)


def modal_view(template: str, **context: Any) -> dict[str, Any]:
    """A modal from ``templates/slack/<template>.json.j2`` (at most 100 blocks, a title of 24 characters)."""
    view: dict[str, Any] = json.loads(render(f"slack/{template}.json.j2", **context))
    view["blocks"] = fit_blocks(view["blocks"], VIEW_BLOCKS, None)
    for key, limit in (("title", VIEW_TITLE), ("submit", VIEW_TITLE), ("close", VIEW_TITLE)):
        if key in view:
            _cut_text(view[key], limit)
    return view


def sections(text: str, more_url: str | None = None) -> list[str]:
    """``text`` as section-sized pieces split between lines, within one message's budget (the rest: a link)."""
    pieces: list[str] = []
    current = ""
    for line in shorten(text, MESSAGE_TEXT, more_url).splitlines():
        if current and len(current) + 1 + len(line) > SECTION_TEXT:
            pieces.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    pieces.append(current or " ")
    return [shorten(piece, SECTION_TEXT, more_url) for piece in pieces]


def shorten(text: str, limit: int, more_url: str | None) -> str:
    """``text`` within ``limit`` characters; a cut one ends with a link to the rest, never inside a link."""
    if len(text) <= limit:
        return text
    suffix = render_text("slack_more", url=more_url)
    cut = text[: max(0, limit - len(suffix) - 1)]
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    return f"{cut.rstrip()} {suffix}"


def fit_blocks(blocks: list[Block], max_blocks: int, more_url: str | None) -> list[Block]:
    blocks = [_fit_block(block, more_url) for block in blocks]
    if len(blocks) <= max_blocks:
        return blocks
    tail = blocks[-1:] if blocks[-1].get("type") == "actions" else []
    keep = max_blocks - 1 - len(tail)
    left_out = len(blocks) - len(tail) - keep
    note = json.loads(render("slack/left_out.json.j2", count=left_out, url=more_url))
    return [*blocks[:keep], note, *tail]


def _fit_block(block: Block, more_url: str | None) -> Block:
    kind = block.get("type")
    if kind == "section":
        if "text" in block:
            block["text"]["text"] = shorten(block["text"]["text"], SECTION_TEXT, more_url)
        for field in block.get("fields", []):
            field["text"] = shorten(field["text"], FIELD_TEXT, more_url)
    elif kind == "context":
        for element in block.get("elements", []):
            if "text" in element:
                element["text"] = shorten(element["text"], FIELD_TEXT, more_url)
    elif kind == "header":
        _cut_text(block["text"], HEADER_TEXT)
    elif kind == "input":
        _cut_text(block["label"], LABEL_TEXT)
        if "hint" in block:
            _cut_text(block["hint"], LABEL_TEXT)
        _fit_element(block["element"])
    elif kind == "actions":
        for element in block.get("elements", []):
            _fit_element(element)
    return block


def _fit_element(element: Block) -> None:
    if "text" in element:
        _cut_text(element["text"], BUTTON_TEXT)
    if "placeholder" in element:
        _cut_text(element["placeholder"], PLACEHOLDER_TEXT)
    if "options" in element:
        limit = CHECKBOX_OPTIONS if element["type"] == "checkboxes" else SELECT_OPTIONS
        element["options"] = element["options"][:limit]
        for option in element["options"]:
            _cut_text(option["text"], OPTION_TEXT)
    if isinstance(element.get("initial_value"), str):
        element["initial_value"] = element["initial_value"][:INPUT_VALUE]


def _cut_text(text_object: dict[str, Any], limit: int) -> None:
    text = text_object["text"]
    if len(text) > limit:
        text_object["text"] = text[: limit - 1] + "…"
