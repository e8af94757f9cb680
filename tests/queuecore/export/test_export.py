"""Export of a queue's tasks to JSON Lines and CSV."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime

import pytest
import redis

from queuecore import keys
from queuecore.clock import FrozenClock
from queuecore.errors import QueueNotFoundError
from queuecore.export import (
    CSV_COLUMNS,
    ExportFilters,
    ExportStats,
    export_csv,
    export_jsonl,
)
from queuecore.inspector import Inspector
from tests.queuecore.export.conftest import BINARY, export_lines, records
from tests.support.factories import seed_task


def test_export_starts_with_a_header_and_ends_with_an_end_line(
    insp: Inspector, failures: dict[str, str]
) -> None:
    clock = FrozenClock(1_750_000_000)
    lines = export_lines(insp, "default", "archived", clock=clock, limit=50)
    header, *tasks, end = records(lines)
    assert header == {
        "format": "queuecore-export",
        "version": 1,
        "exported_at": "2025-06-15T15:06:40+00:00",
        "queue": "default",
        "state": "archived",
        "filters": {},
        "limit": 50,
    }
    assert end == {"end": True, "exported": 2, "scanned": 2, "skipped": 0, "limit_reached": False}
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert all(line.isascii() for line in lines)
    assert {t["id"] for t in tasks} == set(failures.values())


def test_export_writes_every_field_needed_to_recreate_a_task(
    insp: Inspector, failures: dict[str, str]
) -> None:
    tasks = {t["id"]: t for t in records(export_lines(insp, "default", "archived"))[1:-1]}
    text = tasks[failures["text"]]
    assert text["payload"] == {
        "b64": base64.b64encode('{"to": "ü@example.com", "n": 1}'.encode()).decode(),
        "text": '{"to": "ü@example.com", "n": 1}',
    }
    assert text["headers"] == {"trace_id": "abc123", "tenant": "acme"}
    assert (text["type"], text["queue"], text["state"]) == ("email:send", "default", "archived")
    assert (text["max_retry"], text["retried"], text["timeout"], text["retention"]) == (
        7,
        7,
        90,
        3600,
    )
    assert text["last_error"] == "smtp: connection refused"
    assert text["last_failed_at"] == "2023-11-14T22:13:20+00:00"
    assert isinstance(text["deadline"], str)
    assert (text["group"], text["result"], text["completed_at"]) == ("", None, None)
    binary = tasks[failures["binary"]]
    assert binary["payload"] == {"b64": base64.b64encode(BINARY).decode()}


def test_export_applies_the_search_filters(insp: Inspector, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "retry", type="email:send", payload=b'{"user": {"id": 7}}')
    seed_task(redis_client, "retry", type="email:welcome", error_msg="SMTP timeout")
    seed_task(redis_client, "retry", type="sms:send", payload=b"order 1001", error_msg="timeout")

    def types(**filters: object) -> list[str]:
        lines = export_lines(insp, "default", "retry", filters=ExportFilters(**filters))  # type: ignore[arg-type]
        return sorted(str(t["type"]) for t in records(lines)[1:-1])

    assert types(type="email:*") == ["email:send", "email:welcome"]
    assert types(type="sms:send") == ["sms:send"]
    assert types(error="TIMEOUT") == ["email:welcome", "sms:send"]
    assert types(text="ORDER 10") == ["sms:send"]
    assert types(json_fields={"user.id": 7}) == ["email:send"]
    assert types(type="email:*", error="smtp") == ["email:welcome"]
    header = records(export_lines(insp, "default", "retry", filters=ExportFilters(error="x")))[0]
    assert header["filters"] == {"error": "x"}


def test_export_reads_in_pages_and_stops_at_the_limit(
    insp: Inspector, redis_client: redis.Redis
) -> None:
    for n in range(7):
        seed_task(redis_client, "scheduled", score=1_800_000_000 + n)
    stats = ExportStats()
    whole = records(export_lines(insp, "default", "scheduled", page_budget=2, stats=stats))
    assert len(whole) == 9
    assert (stats.exported, stats.scanned, stats.finished, stats.limit_reached) == (
        7,
        7,
        True,
        False,
    )
    limited = ExportStats()
    lines = records(
        export_lines(insp, "default", "scheduled", page_budget=2, limit=3, stats=limited)
    )
    assert len(lines) == 5
    assert lines[-1] == {
        "end": True,
        "exported": 3,
        "scanned": 4,
        "skipped": 0,
        "limit_reached": True,
    }
    # In list order: the three earliest scheduled.
    assert [t["next_process_at"] for t in lines[1:-1]] == [
        datetime.fromtimestamp(1_800_000_000 + n, UTC).isoformat() for n in range(3)
    ]


def test_export_skips_and_counts_records_that_cannot_be_read(
    insp: Inspector, redis_client: redis.Redis
) -> None:
    good = seed_task(redis_client, "archived")
    corrupt = seed_task(redis_client, "archived")
    redis_client.hset(keys.task_key("default", corrupt.id), "msg", b"\xff\xfe not protobuf")
    redis_client.zadd(keys.archived_key("default"), {"no-such-record": 1})
    stats = ExportStats()
    lines = records(export_lines(insp, "default", "archived", stats=stats))
    assert [t["id"] for t in lines[1:-1]] == [good.id]
    assert (stats.exported, stats.skipped, stats.scanned) == (1, 2, 3)
    assert lines[-1]["skipped"] == 2


def test_export_of_a_missing_queue_fails_before_the_first_line(insp: Inspector) -> None:
    with pytest.raises(QueueNotFoundError):
        export_jsonl(insp, "nope", "archived")


def test_csv_export_is_one_row_per_task_with_formulas_defused(
    insp: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(
        redis_client,
        "archived",
        type="=cmd|' /C calc'!A0",
        payload=b'@SUM(1,2), "quoted"\nnext line',
        error_msg="-1 is not allowed",
        retried=2,
        last_failed_at=1_700_000_000,
        score=1,
    )
    seed_task(redis_client, "archived", payload=BINARY, score=2)
    rows = list(csv.reader(io.StringIO("".join(export_csv(insp, "default", "archived")))))
    assert tuple(rows[0]) == CSV_COLUMNS
    hostile = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert hostile["type"] == "'=cmd|' /C calc'!A0"
    assert hostile["payload_text"] == '\'@SUM(1,2), "quoted"\nnext line'
    assert hostile["last_error"] == "'-1 is not allowed"
    assert (hostile["retried"], hostile["failed_at"]) == ("2", "2023-11-14T22:13:20+00:00")
    assert dict(zip(CSV_COLUMNS, rows[2], strict=True))["payload_text"] == ""
