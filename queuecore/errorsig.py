"""Error signatures: a task's last error text with its variable parts replaced by placeholders.

Two failures of the same cause rarely have the same text ("timeout after 30s on 10.0.0.1:6379",
"timeout after 5s on 10.0.0.2:6380"), so grouping by raw text scatters them. A signature keeps the
words and replaces what varies (URLs, e-mail and network addresses, UUIDs, timestamps, hex ids,
quoted strings, numbers) with a placeholder, so they group as one: "timeout after <n>s on <addr>".
Pure functions, no Redis.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SIGNATURE_LENGTH", "PLACEHOLDERS", "error_signature", "search_text"]

# Signatures longer than this are cut (with "…"): a stack trace must not become a table cell.
MAX_SIGNATURE_LENGTH = 300
# Longest search text derived from an example message (the dashboard's search field takes 1,024).
MAX_SEARCH_TEXT = 200

# Order matters: the wider patterns go first, so a URL's host or a UUID's digit groups are not
# half-replaced by the narrower ones (addresses, hex, numbers) before they are recognised.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE), "<url>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (
        re.compile(
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE
        ),
        "<uuid>",
    ),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}\b)?"
        ),
        "<time>",
    ),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"), "<addr>"),
    (re.compile(r"\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d{1,5})?", re.IGNORECASE), "<addr>"),
    # Bare IPv6 (a "::" or a hex letter tells it from a clock time such as 15:40:21).
    (
        re.compile(
            r"(?<![\w:])(?=[0-9a-f:]*(?:::|[a-f]))(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])",
            re.IGNORECASE,
        ),
        "<addr>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE), "<hex>"),
    # Long hex runs (object ids, hashes) need a digit, so words such as "deadbeef" stay words.
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.IGNORECASE), "<hex>"),
    # A quote opens only after a non-word character, so apostrophes ("can't") are not quotes.
    (re.compile(r"(?<!\w)'[^'\n]*'(?!\w)"), "<str>"),
    (re.compile(r'"(?:[^"\\\n]|\\.)*"'), "<str>"),
    (re.compile(r"`[^`\n]*`"), "<str>"),
    # Digits glued to a preceding letter are part of a name (utf8, http2, s3), not a number.
    (re.compile(r"(?<![A-Za-z_])\d+(?:[.,]\d+)*"), "<n>"),
)
_SPACE = re.compile(r"\s+")
PLACEHOLDERS = frozenset(placeholder for _, placeholder in _RULES)
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in sorted(PLACEHOLDERS)))


def error_signature(message: str) -> str:
    """``message`` with its variable parts replaced by placeholders, whitespace collapsed, and
    cut to ``MAX_SIGNATURE_LENGTH`` characters; "" stays "" (no error)."""
    text = message
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > MAX_SIGNATURE_LENGTH:
        text = text[: MAX_SIGNATURE_LENGTH - 1] + "…"
    return text


def search_text(signature: str, example: str) -> str:
    """A substring to search last errors for the tasks of ``signature``: its longest literal
    (placeholder-free) part that also occurs in ``example``, else the start of ``example``.

    Substring search over-matches a little (other signatures sharing the words), never misses.
    """
    lowered = example.lower()
    parts = [p.strip() for p in _PLACEHOLDER.split(signature.removesuffix("…"))]
    found = [p for p in parts if len(p) >= 3 and p.lower() in lowered]
    if found:
        return max(found, key=len)[:MAX_SEARCH_TEXT]
    return example.strip()[:MAX_SEARCH_TEXT]
