"""Parameter payloads: ``key=value`` tokens, the seed's JSON code block and its ``b64_`` form."""

import base64
import binascii
import json
import re
from typing import Any

from commands.errors import CommandError

_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_B64_TOKEN = re.compile(r"\bb64_([A-Za-z0-9+/]+={0,2})")


_TOKEN = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")
_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")


def _unquote(token: str) -> str:
    return _QUOTED.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), token)


def split_tokens(text: str) -> list[str]:
    """Shell-like split: quotes group words and may open mid-token (``url="a b"``); no escapes."""
    tokens: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if text[pos : match.start()].strip():
            break
        tokens.append(_unquote(match.group(0)))
        pos = match.end()
    if text[pos:].strip():
        raise CommandError("A quote is not closed.", [f"Check the quotes near: {text[pos:].strip()[:40]}"])
    return tokens


def parse_key_values(tokens: list[str]) -> dict[str, str]:
    """``key=value`` tokens to a dict; a value may itself contain ``=`` (URLs, base64)."""
    params: dict[str, str] = {}
    problems: list[str] = []
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"`{token}` is not a parameter: write it as key=value.")
        elif key in params:
            problems.append(f"`{key}` is given twice.")
        else:
            params[key] = value
    if problems:
        raise CommandError("Some parameters could not be read.", problems)
    return params


def _strip_comments_and_literals(source: str) -> str:
    """Whole-line ``//``, ``#`` and ``;`` comments out; Python literals to JSON outside strings."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("//", "#", ";"))]
    text = "\n".join(lines)
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch.isalpha():
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            out.append(_PY_LITERALS.get(word, word))
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    return _TRAILING_COMMA.sub(r"\1", "".join(out))


def parse_json_block(source: str) -> dict[str, Any]:
    """The seed's lenient JSON: comments, trailing commas and ``True``/``False`` are accepted."""
    source = source.strip()
    if source.startswith("json\n") or source.startswith("json "):
        source = source[4:]
    try:
        value = json.loads(_strip_comments_and_literals(source))
    except json.JSONDecodeError as exc:
        raise CommandError(
            "The JSON block could not be read.",
            [f"Line {exc.lineno}, column {exc.colno}: {exc.msg}."],
        ) from exc
    if not isinstance(value, dict):
        raise CommandError("The JSON block must be an object of parameters, like {\"lang\": \"en\"}.")
    return value


def find_b64_payload(text: str) -> tuple[str, dict[str, Any]] | None:
    """The seed's ``b64_<base64 JSON>`` token, if present: (text without it, decoded payload)."""
    match = _B64_TOKEN.search(text)
    if match is None:
        return None
    encoded = match.group(1)
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        payload = parse_json_block(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise CommandError("The b64_ payload is not valid base64-encoded JSON.") from exc
    return text[: match.start()] + text[match.end() :], payload


def encode_b64_payload(params: dict[str, Any]) -> str:
    """The inverse of :func:`find_b64_payload`, for ``create_recurring`` replies."""
    return "b64_" + base64.b64encode(json.dumps(params, separators=(",", ":")).encode()).decode()
