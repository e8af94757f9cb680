"""Error signatures: variable parts of an error text become placeholders, the words stay."""

from __future__ import annotations

import pytest

from queuecore.errorsig import MAX_SIGNATURE_LENGTH, error_signature, search_text


@pytest.mark.parametrize(
    ("message", "signature"),
    [
        ("", ""),
        ("division by zero", "division by zero"),
        ("timeout after 30s on 10.0.0.1:6379", "timeout after <n>s on <addr>"),
        ("timeout after 5s on 10.0.0.2:6380", "timeout after <n>s on <addr>"),
        (
            "dial tcp [::1]:6379: connect: connection refused",
            "dial tcp <addr>: connect: connection refused",
        ),
        ("dial tcp fe80::1:6379 refused", "dial tcp <addr> refused"),
        ("task 3F2B8C1E-1234-4abc-9def-0123456789ab failed", "task <uuid> failed"),
        ("object 5f1d7e2a9b3c4d5e6f7a8b9c not found", "object <hex> not found"),
        ("bad pointer 0xDEADbeef", "bad pointer <hex>"),
        ("deadbeef facade", "deadbeef facade"),
        ("KeyError: 'user_id'", "KeyError: <str>"),
        ("can't reach 'db', don't retry", "can't reach <str>, don't retry"),
        (
            'json: cannot unmarshal "a\\"b" into Go value',
            "json: cannot unmarshal <str> into Go value",
        ),
        ("unknown column `name`", "unknown column <str>"),
        ("GET https://api.example.com/v1/users/42?x=1 returned 503", "GET <url> returned <n>"),
        ("mail to bob.smith+x@example.co.uk bounced", "mail to <email> bounced"),
        ("deadline 2026-11-25T15:40:21.5+01:00 exceeded", "deadline <time> exceeded"),
        ("retry at 15:40:21", "retry at <n>:<n>:<n>"),
        ("utf8 decode error at byte 1,234.5", "utf8 decode error at byte <n>"),
        ("http2 stream 7 reset", "http2 stream <n> reset"),
        ("worker-12 exited with -9", "worker-<n> exited with -<n>"),
        ("line one\n\tline two  ", "line one line two"),
    ],
)
def test_error_signature_replaces_variable_parts_with_placeholders(
    message: str, signature: str
) -> None:
    assert error_signature(message) == signature


def test_error_signature_cuts_long_messages() -> None:
    signature = error_signature("Traceback " + "frame " * 200)
    assert len(signature) == MAX_SIGNATURE_LENGTH
    assert signature.endswith("…")


@pytest.mark.parametrize(
    ("example", "text"),
    [
        ("timeout after 30s on 10.0.0.1:6379", "timeout after"),
        ("KeyError: 'user_id'", "KeyError:"),
        ("'only quoted'", "'only quoted'"),
        ("x  y 1", "x  y 1"),  # collapsed whitespace is not in the raw text: fall back to it
    ],
)
def test_search_text_is_the_longest_literal_part_found_in_the_example(
    example: str, text: str
) -> None:
    assert search_text(error_signature(example), example) == text
