"""Replaying an export through the Client: options kept, bad input refused, nothing lost."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis

from queuecore.client import Client
from queuecore.export import ExportFilters
from queuecore.inspector import Inspector
from queuecore.replay import ImportFormatError, import_tasks
from queuecore.taskinfo import TaskState
from tests.queuecore.export.conftest import BINARY, export_lines, snapshot
from tests.support.factories import seed_task


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
