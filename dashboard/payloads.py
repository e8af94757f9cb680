"""How stored bytes (payloads, results) are shown: pretty JSON, text, or hex, never hiding data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

PREVIEW_CHARS = 120
# Above this the full rendering starts collapsed so a 1 MB payload cannot swamp the page.
COLLAPSE_BYTES = 16 * 1024
HEX_ROW = 16


class BytesKind(StrEnum):
    EMPTY = "empty"
    JSON = "json"
    TEXT = "text"
    BINARY = "binary"


@dataclass(frozen=True, kw_only=True)
class BytesView:
    kind: BytesKind
    length: int
    shown: str
    """The full rendering: pretty JSON, the text itself, or a hex dump."""
    raw_text: str
    """What "copy raw" copies: the exact text, or plain hex for binary."""
    preview: str
    collapsed: bool
    formatter: str = ""
    """The configured formatter whose output ``shown`` is (dashboard.formatters), if any."""
    note: str = ""
    """Why a configured formatter's output is not shown (it failed), shown beside the bytes."""


def describe_bytes(data: bytes | None) -> BytesView:
    data = data or b""
    if not data:
        return BytesView(
            kind=BytesKind.EMPTY, length=0, shown="", raw_text="", preview="", collapsed=False
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _binary(data)
    kind, shown = BytesKind.TEXT, text
    try:
        parsed = json.loads(text)
    except ValueError:
        pass
    else:
        kind, shown = BytesKind.JSON, json.dumps(parsed, indent=2, ensure_ascii=False)
    return BytesView(
        kind=kind,
        length=len(data),
        shown=shown,
        raw_text=text,
        preview=compact_preview(text),
        collapsed=len(data) > COLLAPSE_BYTES,
    )


def _binary(data: bytes) -> BytesView:
    return BytesView(
        kind=BytesKind.BINARY,
        length=len(data),
        shown=hex_dump(data),
        raw_text=data.hex(),
        preview=_preview(data[:48].hex(" ")),
        collapsed=len(data) > COLLAPSE_BYTES,
    )


def compact_preview(text: str) -> str:
    """One line: whitespace runs folded to a space, cut at PREVIEW_CHARS."""
    return _preview(" ".join(text.split()))


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def hex_dump(data: bytes) -> str:
    """Offset, hex bytes and printable ASCII, 16 bytes a row, like ``xxd``."""
    rows = []
    for offset in range(0, len(data), HEX_ROW):
        chunk = data[offset : offset + HEX_ROW]
        ascii_part = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        rows.append(f"{offset:08x}  {chunk.hex(' '):<47}  {ascii_part}")
    return "\n".join(rows)
