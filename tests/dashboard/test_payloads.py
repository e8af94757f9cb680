"""How payload and result bytes are shown: JSON pretty, text, hex for binary, nothing lost."""

from __future__ import annotations

import json

from dashboard.payloads import COLLAPSE_BYTES, BytesKind, describe_bytes, hex_dump


def test_json_is_pretty_printed_and_raw_text_kept() -> None:
    view = describe_bytes(b'{"b":1,"a":"\xc3\xa9"}')
    assert view.kind is BytesKind.JSON
    assert view.shown == '{\n  "b": 1,\n  "a": "é"\n}'
    assert view.raw_text == '{"b":1,"a":"é"}'
    assert view.length == 16


def test_text_that_is_not_json_is_shown_as_is() -> None:
    view = describe_bytes(b"line one\nline two <script>")
    assert view.kind is BytesKind.TEXT
    assert view.shown == "line one\nline two <script>"
    assert view.preview == "line one line two <script>"


def test_invalid_utf8_is_shown_as_hex_with_its_length() -> None:
    data = b"\x89PNG\xff\xfe\x00abc"
    view = describe_bytes(data)
    assert view.kind is BytesKind.BINARY
    assert view.length == len(data)
    assert view.raw_text == data.hex()
    assert view.shown.startswith("00000000  89 50 4e 47 ff fe 00 61 62 63")
    assert view.shown.endswith(".PNG...abc")


def test_empty_and_missing_bytes_are_empty() -> None:
    assert describe_bytes(b"").kind is BytesKind.EMPTY
    assert describe_bytes(None).kind is BytesKind.EMPTY


def test_a_large_payload_is_collapsed_but_complete() -> None:
    data = json.dumps({"rows": ["x" * 100] * 10_000}).encode()
    view = describe_bytes(data)
    assert view.collapsed
    assert len(data) > COLLAPSE_BYTES
    assert json.loads(view.shown) == json.loads(data)
    assert len(view.preview) <= 120


def test_hex_dump_rows_hold_sixteen_bytes() -> None:
    assert hex_dump(bytes(range(20))).splitlines()[1].startswith("00000010  10 11 12 13")
