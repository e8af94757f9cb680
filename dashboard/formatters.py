"""Payload and result formatters (Asynqmon's PayloadFormatter/ResultFormatter): the built-ins,
which one a task type gets, and the one place their output meets the dashboard and the API.

A formatter is ``fn(task_type: str, data: bytes)`` returning ``str`` (shown as is, escaped) or a
JSON-serialisable dict/list (shown as pretty JSON). It runs only on non-empty bytes. One that
raises, returns anything else or cannot be imported never breaks a page: the default rendering
is shown with a note saying why. The raw bytes (copy, download) are never formatted.
"""

from __future__ import annotations

import json
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from dashboard.payloads import BytesKind, BytesView, compact_preview, describe_bytes
from queuecore.contrib.django import display

PAYLOAD = "PAYLOAD_FORMATTERS"
RESULT = "RESULT_FORMATTERS"
FormatterFn = Callable[[str, bytes], object]

# A gzip bomb must not exhaust the web process: output beyond this is refused.
MAX_INFLATED = 8 * 1024 * 1024
MAX_NOTE = 300


# --- built-ins ------------------------------------------------------------------------------


def json_pretty(task_type: str, data: bytes) -> str:
    """JSON indented by two, non-ASCII kept (the default rendering, minus its text fallback)."""
    return json.dumps(json.loads(data), indent=2, ensure_ascii=False)


def gzip_json(task_type: str, data: bytes) -> str:
    """gzip (or zlib) compressed JSON or UTF-8 text, inflated to at most MAX_INFLATED bytes."""
    inflater = zlib.decompressobj(wbits=32 + zlib.MAX_WBITS)  # +32: gzip or zlib header
    try:
        inflated = inflater.decompress(data, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise ValueError(f"not gzip data ({exc})") from None
    if len(inflated) > MAX_INFLATED:
        raise ValueError(f"inflates to more than {MAX_INFLATED} bytes")
    if not inflater.eof:
        raise ValueError("truncated gzip data")
    try:
        return json_pretty(task_type, inflated)
    except ValueError:
        return inflated.decode("utf-8")  # text, else UnicodeDecodeError says why


def protobuf_raw(task_type: str, data: bytes) -> str:
    """Any protobuf message without its schema, field numbers and wire values (as
    ``protoc --decode_raw``); nested messages indented, text quoted, other bytes in hex."""
    return "\n".join(_proto_lines(_proto_fields(data, depth=0), indent=""))


_MAX_DEPTH = 16


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


ProtoValue = int | str | bytes | list[tuple[int, Any]]


def _proto_fields(data: bytes, depth: int) -> list[tuple[int, ProtoValue]]:
    fields: list[tuple[int, ProtoValue]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        value: ProtoValue
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(data):
                raise ValueError("truncated fixed-width field")
            value, pos = int.from_bytes(data[pos : pos + size], "little"), pos + size
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated length-delimited field")
            value, pos = _proto_bytes(data[pos : pos + size], depth), pos + size
        else:  # groups (3, 4) are long deprecated; 6 and 7 do not exist
            raise ValueError(f"unsupported wire type {wire}")
        fields.append((number, value))
    return fields


def _proto_bytes(chunk: bytes, depth: int) -> ProtoValue:
    """Text when it reads as text, else a nested message when it parses as one, else bytes."""
    try:
        text: str | None = chunk.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not any(unicodedata.category(c) == "Cc" for c in text):
        return text
    if chunk and depth < _MAX_DEPTH:
        try:
            return _proto_fields(chunk, depth + 1)
        except ValueError:
            pass
    return text if text is not None else chunk


def _proto_lines(fields: list[tuple[int, ProtoValue]], indent: str) -> list[str]:
    lines = []
    for number, value in fields:
        if isinstance(value, list):
            lines.append(f"{indent}{number} {{")
            lines.extend(_proto_lines(value, indent + "  "))
            lines.append(f"{indent}}}")
        elif isinstance(value, str):
            lines.append(f"{indent}{number}: {json.dumps(value, ensure_ascii=False)}")
        elif isinstance(value, bytes):
            lines.append(f"{indent}{number}: 0x{value.hex()}")
        else:
            lines.append(f"{indent}{number}: {value}")
    return lines


# --- which formatter ------------------------------------------------------------------------


def pick(patterns: Iterable[str], task_type: str) -> str | None:
    """The pattern for ``task_type``: the type itself, else the longest ``prefix*``, else
    ``"*"``; None when none matches."""
    best: str | None = None
    for pattern in patterns:
        if pattern == task_type and not pattern.endswith("*"):
            return pattern
        prefix = pattern.endswith("*") and task_type.startswith(pattern[:-1])
        if prefix and (best is None or len(pattern) > len(best)):
            best = pattern
    return best


@dataclass(frozen=True, kw_only=True)
class Formatter:
    name: str
    fn: FormatterFn | None = None
    error: str = ""
    """Why it could not be loaded (then ``fn`` is None)."""


_lock = threading.Lock()
# Settings do not change at run time: a dotted path is imported once per process, and a failed
# import is remembered too rather than retried for every row of a page.
_imported: dict[tuple[str, str, str], Formatter] = {}


def _load(setting: str, pattern: str, value: object) -> Formatter:
    key = (setting, pattern, value) if isinstance(value, str) else None
    if key is not None:
        with _lock:
            found = _imported.get(key)
        if found is not None:
            return found
    name = display.formatter_name(value)
    try:
        found = Formatter(name=name, fn=display.load_formatter(setting, pattern, value))
    except ImproperlyConfigured as exc:
        found = Formatter(name=name, error=str(exc))
    if key is not None:
        with _lock:
            _imported[key] = found
    return found


def formatter_for(setting: str, task_type: str) -> Formatter | None:
    """The formatter configured for ``task_type`` under ``setting``; None: the default view."""
    try:
        entries = display.formatter_entries(setting)
    except ImproperlyConfigured:
        return None  # reported by the system check (queuecore.E008)
    pattern = pick((p for p in entries if isinstance(p, str) and p), task_type)
    if pattern is None:
        return None
    return _load(setting, pattern, entries[pattern])


@dataclass(frozen=True, kw_only=True)
class Formatted:
    text: str | None
    """The formatter's rendering; None when it failed."""
    note: str = ""


def run(formatter: Formatter, task_type: str, data: bytes) -> Formatted:
    """Call the formatter; any failure becomes a note, never an exception."""
    if formatter.fn is None:
        return Formatted(text=None, note=_note(formatter, formatter.error))
    try:
        value = formatter.fn(task_type, data)
        if isinstance(value, dict | list):
            value = json.dumps(value, indent=2, ensure_ascii=False)
    except Exception as exc:  # a user's code: whatever it raises, the page still renders
        return Formatted(text=None, note=_note(formatter, f"{type(exc).__name__}: {exc}"))
    if not isinstance(value, str):
        return Formatted(
            text=None, note=_note(formatter, f"returned {type(value).__name__}, not str")
        )
    # A plain str: a SafeString (mark_safe) must not slip past template escaping.
    return Formatted(text="".join((value,)))


def _note(formatter: Formatter, problem: str) -> str:
    note = f"formatter {formatter.name} failed: {problem}"
    return note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 1] + "…"


# --- where formatted text is used -----------------------------------------------------------


def describe(setting: str, task_type: str, data: bytes | None) -> BytesView:
    """describe_bytes, with the shown text and preview from the configured formatter."""
    view = describe_bytes(data)
    if view.kind is BytesKind.EMPTY:
        return view
    formatter = formatter_for(setting, task_type)
    if formatter is None:
        return view
    out = run(formatter, task_type, data or b"")
    if out.text is None:
        return replace(view, note=out.note)
    return replace(
        view, shown=out.text, preview=compact_preview(out.text), formatter=formatter.name
    )


def payload_view(task_type: str, data: bytes | None) -> BytesView:
    return describe(PAYLOAD, task_type, data)


def result_view(task_type: str, data: bytes | None) -> BytesView:
    return describe(RESULT, task_type, data)


def formatted_text(setting: str, task_type: str, data: bytes | None) -> str | None:
    """The formatter's text for the JSON API; None when none applies or it failed."""
    if not data:
        return None
    formatter = formatter_for(setting, task_type)
    if formatter is None:
        return None
    return run(formatter, task_type, data).text
