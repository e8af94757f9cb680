"""Go's textual forms of durations, dates, strings and enqueue options (spec §3.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from queuecore.errors import InvalidArgumentError
from queuecore.options import (
    OPTION_NAMES,
    ParsedOption,
    format_duration,
    format_duration_ns,
    format_options,
    format_unix_date,
    go_quote,
    go_unquote,
    normalize_options,
    parse_duration,
    parse_duration_ns,
    parse_option,
    parse_options,
    parse_unix_date,
)
from tests.support.asynq_fixture import load_json

NS, US, MS, S = 1, 1_000, 1_000_000, 1_000_000_000
M, H = 60 * S, 3600 * S


# Expected strings are what Go's time.Duration.String() prints for the same values.
@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1 * NS, "1ns"),
        (999 * NS, "999ns"),
        (1 * US, "1µs"),
        (1500 * NS, "1.5µs"),
        (1 * MS, "1ms"),
        (1_100 * US, "1.1ms"),
        (999_999_999 * NS, "999.999999ms"),
        (1 * S, "1s"),
        (1_500 * MS, "1.5s"),
        (2 * M, "2m0s"),
        (90 * S, "1m30s"),
        (30 * M, "30m0s"),
        (1 * H, "1h0m0s"),
        (24 * H, "24h0m0s"),
        (2 * H + 45 * M + 5 * S + 1, "2h45m5.000000001s"),
        (-1 * M, "-1m0s"),
        (-1_500 * US, "-1.5ms"),
        (2_540_400 * H + 10 * M + 10 * S, "2540400h10m10s"),
        ((1 << 63) - 1, "2562047h47m16.854775807s"),
    ],
)
def test_format_duration_writes_what_go_prints(ns: int, text: str) -> None:
    assert format_duration_ns(ns) == text
    assert parse_duration_ns(text) == ns


def test_format_duration_accepts_timedeltas_and_seconds() -> None:
    assert format_duration(timedelta(minutes=2)) == "2m0s"
    assert format_duration(timedelta(milliseconds=1500)) == "1.5s"
    assert format_duration(120) == "2m0s"
    assert format_duration(0.25) == "250ms"
    assert format_duration(timedelta(days=1)) == "24h0m0s"


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("+0", 0),
        ("-0", 0),
        ("5s", 5 * S),
        ("+5s", 5 * S),
        ("30s", 30 * S),
        ("1478s", 1478 * S),
        ("-5s", -5 * S),
        ("1.5h", 90 * M),
        ("1h30m", 90 * M),
        ("2h45m", 165 * M),
        (".5s", 500 * MS),
        ("1.s", 1 * S),
        ("1.004s", 1_004 * MS),
        ("100.00100s", 100_001 * MS),
        ("10ns", 10),
        ("11us", 11 * US),
        ("12µs", 12 * US),  # U+00B5 micro sign
        ("12μs", 12 * US),  # U+03BC Greek mu
        ("13ms", 13 * MS),
        ("14s", 14 * S),
        ("15m", 15 * M),
        ("16h", 16 * H),
        ("3h30m", 210 * M),
        ("10.5s4m", 4 * M + 10_500 * MS),
        ("-2m3.4s", -(2 * M + 3_400 * MS)),
        ("1h2m3s4ms5us6ns", H + 2 * M + 3 * S + 4 * MS + 5 * US + 6),
        ("39h9m14.425s", 39 * H + 9 * M + 14_425 * MS),
        ("52763797000ns", 52_763_797_000),
        ("0.3333333333333333333h", 20 * M),
        ("9007199254740993ns", (1 << 53) + 1),
        ("9223372036854775807ns", (1 << 63) - 1),
        ("9223372036854775.807us", (1 << 63) - 1),
        ("-9223372036854775808ns", -(1 << 63)),
        ("0.100000000000000000000h", 6 * M),
        ("0.830103483285477580700h", 49 * M + 48 * S + 372_539_827 * NS),
    ],
)
def test_parse_duration_reads_what_go_reads(text: str, ns: int) -> None:
    # Cases from Go's time package tests (ParseDuration), fractions and overflow edges included.
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("3", 'time: missing unit in duration "3"'),
        ("-", 'time: invalid duration "-"'),
        ("s", 'time: invalid duration "s"'),
        (".", 'time: invalid duration "."'),
        ("-.", 'time: invalid duration "-."'),
        (".s", 'time: invalid duration ".s"'),
        ("+.s", 'time: invalid duration "+.s"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("1e3s", 'time: unknown unit "e" in duration "1e3s"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("9223372036854775.808us", 'time: invalid duration "9223372036854775.808us"'),
        ("3000000h", 'time: invalid duration "3000000h"'),
    ],
)
def test_parse_duration_rejects_what_go_rejects_with_gos_message(text: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        parse_duration_ns(text)
    assert str(excinfo.value) == message


def test_parse_duration_gives_a_timedelta_truncated_to_microseconds() -> None:
    assert parse_duration("1h0m0s") == timedelta(hours=1)
    assert parse_duration("1.5µs") == timedelta(microseconds=1)
    assert parse_duration("-90s") == timedelta(seconds=-90)


def test_unix_date_is_gos_layout_in_utc_with_a_space_padded_day() -> None:
    assert format_unix_date(datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)) == (
        "Mon Jan  2 15:04:05 UTC 2006"
    )
    assert format_unix_date(datetime(2026, 11, 25, 17, 36, 42, tzinfo=UTC)) == (
        "Wed Nov 25 17:36:42 UTC 2026"
    )
    berlin = timezone(timedelta(hours=1))
    assert format_unix_date(datetime(2026, 11, 25, 18, 36, 42, tzinfo=berlin)) == (
        "Wed Nov 25 17:36:42 UTC 2026"
    )
    # A naive datetime is taken as UTC.
    assert format_unix_date(datetime(2026, 11, 5, 0, 0, 0)) == "Thu Nov  5 00:00:00 UTC 2026"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon Jan  2 15:04:05 UTC 2006", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Mon Jan 2 15:04:05 UTC 2006", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Wed Nov 25 17:36:42 UTC 2026", datetime(2026, 11, 25, 17, 36, 42, tzinfo=UTC)),
        # Go reads an abbreviation its local zone does not know as offset 0.
        ("Wed Nov 25 17:36:42 PST 2026", datetime(2026, 11, 25, 17, 36, 42, tzinfo=UTC)),
        ("Wed Nov 25 17:36:42 +0100 2026", datetime(2026, 11, 25, 16, 36, 42, tzinfo=UTC)),
    ],
)
def test_parse_unix_date_reads_gos_layout(text: str, expected: datetime) -> None:
    assert parse_unix_date(text) == expected


@pytest.mark.parametrize("text", ["", "2026-11-25", "Wed Foo 25 17:36:42 UTC 2026", "Mon Feb 30 1"])
def test_parse_unix_date_rejects_other_text(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_unix_date(text)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("low", '"low"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\tnew\nline", '"tab\\tnew\\nline"'),
        ("\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'),
        ("héllo 日本", '"héllo 日本"'),
        ("nbsp\u00a0", '"nbsp\\u00a0"'),
        ("bom\ufeff", '"bom\\ufeff"'),
        ("emoji 😀", '"emoji 😀"'),
        ("\U000e0001", '"\\U000e0001"'),
    ],
)
def test_go_quote_matches_strconv_quote_and_round_trips(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted
    assert go_unquote(quoted) == text


def test_go_unquote_reads_every_go_escape_and_raw_strings() -> None:
    assert go_unquote('"\\a\\b\\f\\v\\x41\\101\\u00e9\\U0001F600"') == "\a\b\f\vAAé😀"
    assert go_unquote("`raw \\n string`") == "raw \\n string"


@pytest.mark.parametrize("literal", ["low", '"open', '"bad \\q"', '"a"b"', "'c'", '"\\u12"'])
def test_go_unquote_rejects_what_is_not_a_go_string_literal(literal: str) -> None:
    with pytest.raises(InvalidArgumentError):
        go_unquote(literal)


def test_format_options_writes_each_option_as_go_does_in_a_fixed_order() -> None:
    options = {
        "headers": {"trace": "<x>", "a": "b"},
        "group": "digest",
        "task_id": "fixed-id",
        "retention": timedelta(hours=24),
        "process_in": 1.5,
        "process_at": datetime(2026, 11, 26, 15, 36, 42, tzinfo=UTC),
        "unique": "1h",
        "deadline": datetime(2026, 11, 25, 17, 36, 42, tzinfo=UTC),
        "timeout": 1800,
        "max_retry": 3,
        "queue": "low",
    }
    assert format_options(options) == [
        'Queue("low")',
        "MaxRetry(3)",
        "Timeout(30m0s)",
        "Deadline(Wed Nov 25 17:36:42 UTC 2026)",
        "Unique(1h0m0s)",
        "ProcessAt(Thu Nov 26 15:36:42 UTC 2026)",
        "ProcessIn(1.5s)",
        "Retention(24h0m0s)",
        'TaskID("fixed-id")',
        'Group("digest")',
        'Header(["a","b"])',
        'Header(["trace","\\u003cx\\u003e"])',
    ]


def test_format_options_leaves_out_options_not_given() -> None:
    assert format_options({}) == []
    assert format_options({"queue": None, "max_retry": 0}) == ["MaxRetry(0)"]


def test_normalize_options_reads_settings_values_into_canonical_types() -> None:
    values = normalize_options(
        {
            "timeout": "2m",
            "unique": 3600,
            "retention": timedelta(days=1),
            "deadline": "2026-11-25T17:36:42Z",
            "process_at": 1795707402,
        }
    )
    assert values == {
        "timeout": timedelta(minutes=2),
        "unique": timedelta(hours=1),
        "retention": timedelta(days=1),
        "deadline": datetime(2026, 11, 25, 17, 36, 42, tzinfo=UTC),
        "process_at": datetime(2026, 11, 26, 15, 36, 42, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"queues": "low"}, "unknown enqueue option(s) queues"),
        ({"queue": ""}, "'queue' must be a non-blank string"),
        ({"max_retry": "3"}, "'max_retry' must be an int"),
        ({"max_retry": True}, "'max_retry' must be an int"),
        ({"timeout": "2 minutes"}, "time: unknown unit"),
        ({"timeout": -1}, "'timeout' must not be negative"),
        ({"timeout": [1]}, "'timeout' must be a number of seconds"),
        ({"deadline": "tomorrow"}, "cannot parse"),
        ({"headers": {"k": 1}}, "'headers' must map strings to strings"),
    ],
)
def test_normalize_options_rejects_bad_values_clearly(options: dict, fragment: str) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        normalize_options(options)
    assert fragment in str(excinfo.value)


def test_option_names_are_the_clients_keywords() -> None:
    from queuecore.client import EnqueueOptions

    assert set(OPTION_NAMES) == set(EnqueueOptions.__dataclass_fields__)


@pytest.mark.parametrize(
    ("text", "name", "value", "display"),
    [
        ('Queue("low")', "Queue", "low", "queue=low"),
        ("MaxRetry(3)", "MaxRetry", 3, "max_retry=3"),
        ("Timeout(30m0s)", "Timeout", timedelta(minutes=30), "timeout=30m0s"),
        ("Unique(1h0m0s)", "Unique", timedelta(hours=1), "unique=1h0m0s"),
        ("ProcessIn(1.5s)", "ProcessIn", timedelta(seconds=1.5), "process_in=1.5s"),
        ("Retention(24h0m0s)", "Retention", timedelta(days=1), "retention=24h0m0s"),
        (
            "Deadline(Mon Jan  2 15:04:05 UTC 2006)",
            "Deadline",
            datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC),
            "deadline=2006-01-02T15:04:05+00:00",
        ),
        (
            "ProcessAt(Thu Nov 26 15:36:42 UTC 2026)",
            "ProcessAt",
            datetime(2026, 11, 26, 15, 36, 42, tzinfo=UTC),
            "process_at=2026-11-26T15:36:42+00:00",
        ),
        ('TaskID("x")', "TaskID", "x", "task_id=x"),
        ('Group("g")', "Group", "g", "group=g"),
        ('Header(["k","v"])', "Header", ("k", "v"), "header=k: v"),
        ('Queue("a)b")', "Queue", "a)b", "queue=a)b"),
    ],
)
def test_parse_option_reads_every_option_go_writes(
    text: str, name: str, value: object, display: str
) -> None:
    parsed = parse_option(text)
    assert parsed == ParsedOption(name=name, value=value, text=text)
    assert parsed.display() == display


@pytest.mark.parametrize(
    "text",
    ["Queue(low)", "MaxRetry(x)", "Timeout(30)", "Bogus(1)", "Queue", "(1)", 'Header(["k"])'],
)
def test_parse_option_rejects_unreadable_strings(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_option(text)


def test_parse_options_skips_unreadable_strings_as_gos_inspector_does() -> None:
    parsed = parse_options(['Queue("low")', "Bogus(1)", "MaxRetry(3)"])
    assert [p.name for p in parsed] == ["Queue", "MaxRetry"]


def test_options_written_by_go_read_back_and_format_identically() -> None:
    go_strings = [
        opt for entry in load_json("inspect-all.json")["scheduler_entries"] for opt in entry["opts"]
    ]
    assert go_strings  # Queue("low"), Timeout(2m0s), Queue("low"), MaxRetry(3)
    for text in go_strings:
        parsed = parse_option(text)
        assert format_options({parsed.keyword: parsed.value}) == [text]
