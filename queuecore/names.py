"""Names Redis holds (queues, task ids, groups) as Python text, byte for byte.

Redis keys are bytes and asynq never checks that a queue name is UTF-8. A name is decoded with
``surrogateescape``: valid UTF-8 reads as itself, and each byte that is not becomes one lone
surrogate (U+DC80..U+DCFF), so the text still names the real keys (the Redis clients encode it
back with the same error handler). :func:`shown` is the form for people: such bytes as ``\\xNN``.
"""

from __future__ import annotations

import codecs

ERRORS = "surrogateescape"


def decode_name(raw: bytes | str) -> str:
    """The name Redis holds as ``raw``, reversibly (see the module text)."""
    return raw.decode("utf-8", ERRORS) if isinstance(raw, bytes) else raw


def name_bytes(name: str) -> bytes:
    """The bytes Redis holds for ``name`` (the inverse of :func:`decode_name`)."""
    return name.encode("utf-8", ERRORS)


def _show_byte(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else "\\ufffd"
                   for c in bad), error.end  # fmt: skip


codecs.register_error("queuecore-shown", _show_byte)


def shown(text: str) -> str:
    """``text`` safe to display or store as UTF-8: each undecodable byte as ``\\xNN``."""
    if text.isascii():
        return text
    return text.encode("utf-8", "queuecore-shown").decode("utf-8")
