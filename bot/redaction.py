"""Secrets out of anything a user or a log may see: tokens, passwords in URLs, bearer headers."""

import re

_PATTERNS = [
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]+"), "xox?-[redacted]"),
    (re.compile(r"xapp-[A-Za-z0-9-]+"), "xapp-[redacted]"),
    (re.compile(r"(?i)(bearer|token|authorization)([\"']?\s*[:=]?\s*[\"']?)([A-Za-z0-9._~+/=-]{8,})"),
     r"\1\2[redacted]"),
    (re.compile(r"(?i)((?:password|passwd|secret|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)([^\s\"',;]+)"), r"\1[redacted]"),
    (re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)"), r"\1[redacted]\3"),
    (re.compile(r"(?i)(X-Amz-Signature=|Signature=)[0-9a-f]+"), r"\1[redacted]"),
]  # fmt: skip

_known: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a configured secret so it is replaced wherever it appears verbatim."""
    if value and len(value) >= 6:
        _known.add(value)


def redact(text: str) -> str:
    for secret in _known:
        text = text.replace(secret, "[redacted]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
