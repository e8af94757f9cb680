"""Names Redis holds as text, byte for byte, and their form for people."""

from __future__ import annotations

import pytest

from queuecore.names import decode_name, name_bytes, shown


@pytest.mark.parametrize("raw", [b"default", b"a/b", b"50%", "é".encode(), b"bad\xff\xfe", b"\x80"])
def test_every_byte_string_decodes_to_text_that_encodes_back_to_it(raw: bytes) -> None:
    assert name_bytes(decode_name(raw)) == raw


def test_shown_writes_bytes_that_are_not_utf8_as_escapes_and_leaves_text_alone() -> None:
    assert shown(decode_name(b"bad\xff\xfename")) == "bad\\xff\\xfename"
    assert shown("é/50%") == "é/50%"
    shown(decode_name(b"\xff")).encode("utf-8")  # storable and printable as UTF-8
