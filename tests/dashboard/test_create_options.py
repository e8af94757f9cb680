"""Reading a scheduler entry's option strings (Go's Option.String() forms) as Client keywords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.cron_options import enqueue_keywords
from queuecore.errors import InvalidArgumentError
from queuecore.options import format_options, normalize_options
from tests.support.asynq_fixture import load_json


def go_option_strings() -> list[str]:
    """Every option string Go wrote in the fixtures: the populate record and the live entries."""
    found: set[str] = set()
    for task in load_json("populate-summary.json")["tasks"]:
        found.update(task["options"])
    for entry in load_json("inspect-all.json")["scheduler_entries"]:
        found.update(entry["opts"])
    return sorted(found)


def test_the_fixture_holds_every_kind_of_option_go_writes() -> None:
    names = {text.split("(")[0] for text in go_option_strings()}
    assert names >= {"Queue", "MaxRetry", "Timeout", "Deadline", "Unique", "ProcessAt",
                     "ProcessIn", "Retention", "TaskID", "Group"}  # fmt: skip


@pytest.mark.parametrize("text", go_option_strings())
def test_every_option_string_go_wrote_is_read(text: str) -> None:
    [(keyword, value)] = enqueue_keywords([text]).items()
    expected_type = {
        "queue": str, "task_id": str, "group": str, "max_retry": int, "timeout": timedelta,
        "unique": timedelta, "process_in": timedelta, "retention": timedelta,
        "deadline": datetime, "process_at": datetime,
    }[keyword]  # fmt: skip
    assert isinstance(value, expected_type)


def test_the_go_fixture_entries_read_as_their_options() -> None:
    entries = {e["id"]: e["opts"] for e in load_json("inspect-all.json")["scheduler_entries"]}
    assert enqueue_keywords(entries["2064b7ea-5712-4188-88db-6193c293228f"]) == {
        "queue": "low",
        "timeout": timedelta(minutes=2),
    }
    assert enqueue_keywords(entries["9e8e0443-d718-48b3-9b53-4bfa77a6c9cb"]) == {
        "queue": "low",
        "max_retry": 3,
    }


@pytest.mark.parametrize(
    ("text", "keyword", "value"),
    [
        ('Queue("critical")', "queue", "critical"),
        ('Queue("a \\"quoted\\" name\\n")', "queue", 'a "quoted" name\n'),
        ('Queue("späti")', "queue", "späti"),
        ("MaxRetry(0)", "max_retry", 0),
        ("MaxRetry(25)", "max_retry", 25),
        ("Timeout(1m30s)", "timeout", timedelta(seconds=90)),
        ("Timeout(1.5s)", "timeout", timedelta(seconds=1.5)),
        ("Timeout(300ms)", "timeout", timedelta(milliseconds=300)),
        ("Timeout(0s)", "timeout", timedelta(0)),
        ("Unique(2h0m0s)", "unique", timedelta(hours=2)),
        ("Retention(168h0m0s)", "retention", timedelta(days=7)),
        ("ProcessIn(40m0s)", "process_in", timedelta(minutes=40)),
        ("Deadline(Wed Nov 25 17:36:42 UTC 2026)", "deadline",
         datetime(2026, 11, 25, 17, 36, 42, tzinfo=UTC)),
        ("ProcessAt(Mon Jan  2 15:04:05 UTC 2006)", "process_at",
         datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Deadline(Mon Jan  2 15:04:05 GMT 2006)", "deadline",
         datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Deadline(Mon Jan  2 15:04:05 +0530 2006)", "deadline",
         datetime(2006, 1, 2, 9, 34, 5, tzinfo=UTC)),
        ('TaskID("nightly-1")', "task_id", "nightly-1"),
        ('Group("user:42:digest")', "group", "user:42:digest"),
        ('Header(["trace","x"])', "headers", {"trace": "x"}),
    ],
)  # fmt: skip
def test_go_formats_read_as_client_keywords(text: str, keyword: str, value: Any) -> None:
    assert enqueue_keywords([text]) == {keyword: value}


def test_later_options_win_as_in_go() -> None:
    texts = ['Queue("a")', 'Queue("b")', "ProcessIn(1h0m0s)",
             "ProcessAt(Mon Jan  2 15:04:05 UTC 2006)",
             'Header(["k","1"])', 'Header(["k","2"])', 'Header(["j","3"])']  # fmt: skip
    assert enqueue_keywords(texts) == {
        "queue": "b",
        "process_at": datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC),
        "headers": {"k": "2", "j": "3"},
    }
    assert "process_at" not in enqueue_keywords([texts[3], texts[2]])


def test_no_options_mean_the_clients_defaults() -> None:
    assert enqueue_keywords([]) == {}


def test_what_queuecores_scheduler_writes_reads_back_as_the_same_options() -> None:
    options = {
        "queue": "reports", "max_retry": 4, "timeout": 95, "unique": "1h",
        "retention": timedelta(days=2), "group": "g", "task_id": "t-1",
        "deadline": datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC), "headers": {"a": "1", "b": "2"},
    }  # fmt: skip
    assert enqueue_keywords(format_options(options)) == normalize_options(options)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Frobnicate(1)", "unknown option 'Frobnicate'"),
        ("MaxRetry(three)", "not an integer"),
        ("Queue(low)", '"Queue(low)"'),
        ("Timeout(forever)", '"Timeout(forever)"'),
        ("Deadline(tomorrow)", "Go UnixDate"),
        ("Deadline(Wed Nov 25 17:36:42 CET 2026)", 'time zone "CET"'),
        ("ProcessAt(Wed Nov 25 17:36:42 EST 2026)", 'time zone "EST"'),
        ("Header([1,2])", "not a [key, value] pair"),
        ("no parentheses", '"no parentheses"'),
        ("", '""'),
    ],
)
def test_an_option_it_cannot_read_exactly_refuses_the_whole_run(text: str, says: str) -> None:
    with pytest.raises(InvalidArgumentError, match="cannot run this entry") as caught:
        enqueue_keywords(['Queue("low")', text, "MaxRetry(3)"])
    assert says in str(caught.value)
