"""Export of a queue's tasks to JSON Lines/CSV, and their replay through the Client."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from queuecore import keys
from queuecore.client import Client
from queuecore.clock import FrozenClock
from queuecore.errors import QueueNotFoundError
from queuecore.export import (
    CSV_COLUMNS,
    ExportFilters,
    ExportStats,
    ImportFormatError,
    export_csv,
    export_jsonl,
    import_tasks,
)
from queuecore.inspector import Inspector
from queuecore.taskinfo import TaskState
from tests.support.factories import seed_task

BINARY = bytes(range(256)) + b"\x00\xff\xfe"


@pytest.fixture
def insp(redis_url: str) -> Iterator[Inspector]:
    inspector = Inspector.from_url(redis_url)
    yield inspector
    inspector.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[Client]:
    c = Client.from_url(redis_url)
    yield c
    c.close()


def export_lines(insp: Inspector, queue: str, state: str, **kwargs: object) -> list[str]:
    return list(export_jsonl(insp, queue, state, **kwargs))  # type: ignore[arg-type]


def records(lines: list[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines]


def snapshot(client: redis.Redis) -> dict[bytes, bytes | None]:
    return {key: client.dump(key) for key in sorted(client.keys("*"))}


@pytest.fixture
def failures(redis_client: redis.Redis) -> dict[str, str]:
    """Archived tasks as a Go worker leaves them: a text one with every option, a binary one."""
    deadline = int(time.time()) + 86_400
    text = seed_task(
        redis_client,
        "archived",
        type="email:send",
        payload='{"to": "ü@example.com", "n": 1}'.encode(),
        headers={"trace_id": "abc123", "tenant": "acme"},
        retry=7,
        retried=7,
        timeout=90,
        deadline=deadline,
        retention=3600,
        error_msg="smtp: connection refused",
        last_failed_at=1_700_000_000,
    )
    binary = seed_task(
        redis_client,
        "archived",
        type="image:resize",
        payload=BINARY,
        retry=3,
        timeout=0,
        deadline=deadline,
        error_msg="decode: bad header",
        last_failed_at=1_700_000_100,
    )
    return {"text": text.id, "binary": binary.id}


# -- export ---------------------------------------------------------------------------------------


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


# -- import ---------------------------------------------------------------------------------------


def test_round_trip_into_another_queue_reproduces_every_option(
    insp: Inspector, client: Client, failures: dict[str, str]
) -> None:
    lines = export_lines(insp, "default", "archived")
    result = import_tasks(lines, client, queue="staging")
    assert (result.read, result.enqueued, result.skipped_count, result.malformed_count) == (
        2,
        2,
        0,
        0,
    )
    assert result.complete is True
    originals = {t.type: t for t in insp.list_tasks("default", "archived")}
    copies = {t.type: t for t in insp.list_tasks("staging", "pending")}
    assert set(copies) == {"email:send", "image:resize"}
    for name, copy in copies.items():
        original = originals[name]
        assert copy.id not in failures.values()
        assert copy.id in result.task_ids
        assert copy.payload == original.payload
        assert copy.headers == original.headers
        assert (copy.max_retry, copy.deadline, copy.retention) == (
            original.max_retry,
            original.deadline,
            original.retention,
        )
        assert copy.timeout == original.timeout
        assert (copy.retried, copy.last_err, copy.queue) == (0, "", "staging")
    assert copies["image:resize"].payload == BINARY
    assert copies["email:send"].timeout == timedelta(seconds=90)


def test_import_keeps_each_task_queue_unless_told_otherwise(
    insp: Inspector, client: Client, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "retry", queue="critical", group_key="", type="a")
    lines = export_lines(insp, "critical", "retry")
    insp.delete_all("critical", "retry")
    result = import_tasks(lines, client)
    assert result.enqueued == 1
    assert [t.type for t in insp.list_tasks("critical", "pending")] == ["a"]


def test_import_with_a_group_adds_the_task_to_its_group(
    insp: Inspector, client: Client, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "aggregating", group_key="batch-1", type="agg")
    lines = export_lines(insp, "default", "aggregating", filters=ExportFilters(group="batch-1"))
    result = import_tasks(lines, client, queue="copy")
    assert [(p.state, p.queue) for p in result.sample] == [(TaskState.AGGREGATING, "copy")]
    assert [t.group for t in insp.list_tasks("copy", "aggregating", group="batch-1")] == ["batch-1"]


def test_import_as_pending_runs_now_and_otherwise_keeps_a_future_schedule(
    insp: Inspector, client: Client, redis_client: redis.Redis
) -> None:
    later = int(time.time()) + 3600
    seed_task(redis_client, "scheduled", score=later)
    lines = export_lines(insp, "default", "scheduled")
    import_tasks(lines, client, queue="now")
    assert insp.get_queue_info("now").pending == 1
    kept = import_tasks(lines, client, queue="later", as_pending=False)
    assert kept.sample[0].state is TaskState.SCHEDULED
    (task,) = insp.list_tasks("later", "scheduled")
    assert task.next_process_at == datetime.fromtimestamp(later, UTC)


def test_import_with_kept_ids_skips_a_conflict_and_never_overwrites_it(
    insp: Inspector, client: Client, redis_client: redis.Redis, failures: dict[str, str]
) -> None:
    lines = export_lines(insp, "default", "archived")
    before = snapshot(redis_client)
    result = import_tasks(lines, client, keep_ids=True)
    assert (result.enqueued, result.skipped_count) == (0, 2)
    assert result.skipped_by_reason == {"task ID conflicts with another task": 2}
    assert {p.task_id for p in result.skipped} == set(failures.values())
    assert [p.line for p in result.skipped] == [2, 3]
    assert snapshot(redis_client) == before

    elsewhere = import_tasks(lines, client, keep_ids=True, queue="staging")
    assert elsewhere.enqueued == 2
    assert set(elsewhere.task_ids) == set(failures.values())
    assert {t.id for t in insp.list_tasks("staging", "pending")} == set(failures.values())


def test_dry_run_writes_nothing_and_reports_what_it_would_do(
    insp: Inspector, client: Client, redis_client: redis.Redis, failures: dict[str, str]
) -> None:
    lines = export_lines(insp, "default", "archived")
    before = snapshot(redis_client)
    preview = import_tasks(lines, client, queue="staging", dry_run=True)
    assert (preview.dry_run, preview.read, preview.enqueued) == (True, 2, 2)
    assert {p.type for p in preview.sample} == {"email:send", "image:resize"}
    assert {p.id for p in preview.sample} == {""}  # new ids are only drawn when written
    conflicts = import_tasks(lines, client, keep_ids=True, dry_run=True, inspector=insp)
    assert (conflicts.enqueued, conflicts.skipped_count) == (0, 2)
    assert snapshot(redis_client) == before


def test_import_refuses_input_that_is_not_an_export_and_writes_nothing(
    client: Client, redis_client: redis.Redis
) -> None:
    task = '{"type": "a", "queue": "q", "payload": {"b64": ""}}'
    cases = {
        "": "empty",
        "\n\n": "empty",
        task: "not a queuecore export",
        '{"format": "other", "version": 1}\n' + task: "not a queuecore export",
        '{"format": "queuecore-export", "version": 2}\n' + task: "version 2 is not supported",
        '{"format": "queuecore-export"}\n' + task: "version None is not supported",
        "id,type\n": "not a queuecore export",
    }
    for text, message in cases.items():
        with pytest.raises(ImportFormatError, match=message):
            import_tasks(text.splitlines(), client)
    with pytest.raises(ImportFormatError, match="not UTF-8"):
        import_tasks([b"\xff\xfe\n"], client)
    assert redis_client.keys("*") == []


def test_import_reports_malformed_lines_by_number_and_imports_the_rest(
    client: Client, insp: Inspector
) -> None:
    good = '{"type": "ok", "queue": "q", "payload": {"b64": "aGk=", "text": "hi"}}'
    lines = [
        '\ufeff{"format": "queuecore-export", "version": 1}',  # 1 (a BOM is tolerated)
        good,  # 2
        "{not json",  # 3
        "",  # 4: blank lines are ignored
        "[1, 2]",  # 5
        '{"queue": "q", "payload": {"b64": ""}}',  # 6: no type
        '{"type": "x", "queue": "q", "payload": {"b64": "***"}}',  # 7
        '{"type": "x", "queue": "q", "payload": {"b64": "aGk=", "text": "edited"}}',  # 8
        '{"type": "x", "payload": {"b64": ""}}',  # 9: no queue
        '{"type": "x", "queue": "q", "payload": {"b64": ""}, "max_retry": "3"}',  # 10
        '{"type": "x", "queue": "q", "payload": {"b64": ""}, "headers": {"a": 1}}',  # 11
        '{"type": "x", "queue": "q", "payload": {"b64": ""}, "deadline": "tomorrow"}',  # 12
        '{"type": "hand", "queue": "q", "payload": {"text": "typed by hand"}}',  # 13
        '{"end": true, "exported": 11}',  # 14
        good,  # 15: after the end line
    ]
    result = import_tasks(lines, client)
    assert (result.read, result.enqueued, result.malformed_count) == (12, 2, 10)
    reasons = {p.line: p.reason for p in result.malformed}
    assert sorted(reasons) == [3, 5, 6, 7, 8, 9, 10, 11, 12, 15]
    assert reasons[3].startswith("not JSON")
    assert "type must be a string" in reasons[6]
    assert "not valid base64" in reasons[7]
    assert "disagree" in reasons[8]
    assert "no queue" in reasons[9]
    assert "max_retry must be a whole number" in reasons[10]
    assert "headers" in reasons[11]
    assert "ISO 8601" in reasons[12]
    assert "after the end line" in reasons[15]
    assert result.complete is True  # the 11 task lines before the end line are all there
    assert sorted(t.payload for t in insp.list_tasks("q", "pending")) == [b"hi", b"typed by hand"]


def test_import_of_a_file_cut_short_says_it_is_incomplete(
    insp: Inspector, client: Client, failures: dict[str, str]
) -> None:
    lines = export_lines(insp, "default", "archived")
    result = import_tasks(lines[:-1], client, queue="staging", dry_run=True)
    assert (result.enqueued, result.complete) == (2, False)
