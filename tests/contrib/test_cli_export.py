"""``manage.py task export`` and ``task import``: a state's tasks to a file and back elsewhere."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from queuecore import Inspector
from tests.support.factories import seed_task

BINARY = b"\x00\x01\xfe\xff binary"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("task", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def staging_url(redis_url: str) -> str:
    """Another database of the test Redis, standing in for a second environment."""
    return redis_url.rsplit("/", 1)[0] + "/1"


@pytest.fixture
def staging(staging_url: str) -> Iterator[Inspector]:
    inspector = Inspector.from_url(staging_url)
    yield inspector
    inspector.close()


@pytest.fixture
def failures(redis_client: redis.Redis, queuecore_settings: str) -> None:
    seed_task(
        redis_client,
        "archived",
        type="email:send",
        payload=b'{"to": "a@example.com"}',
        headers={"trace_id": "t-1"},
        retry=5,
        timeout=60,
        error_msg="smtp: refused",
        score=1,
    )
    seed_task(
        redis_client, "archived", type="image:resize", payload=BINARY, error_msg="bad", score=2
    )
    seed_task(redis_client, "archived", type="sms:send", error_msg="quota", score=3)


def test_export_to_a_file_and_import_into_another_redis_round_trips(
    failures: None, tmp_path: Path, staging: Inspector, staging_url: str, queuecore_settings: str
) -> None:
    path = tmp_path / "failures.jsonl"
    out, err = run("export", "default", "archived", "-o", str(path))
    assert out == ""
    assert "Exported 3 archived tasks of queue 'default'" in err
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "queuecore-export"
    assert len(lines) == 5

    out, _ = run("--redis-url", staging_url, "import", str(path), "--queue", "debug")
    assert out.splitlines()[0] == "Enqueued 3 of 3 tasks; skipped 0, malformed 0."
    copies = {t.type: t for t in staging.list_tasks("debug", "pending")}
    with Inspector.from_url(queuecore_settings) as prod:
        originals = {t.type: t for t in prod.list_tasks("default", "archived")}
    assert set(copies) == {"email:send", "image:resize", "sms:send"}
    for name, copy in copies.items():
        assert copy.payload == originals[name].payload
        assert copy.headers == originals[name].headers
        assert (copy.max_retry, copy.timeout) == (
            originals[name].max_retry,
            originals[name].timeout,
        )
    assert copies["image:resize"].payload == BINARY


def test_export_filters_and_limit_and_writes_to_stdout(failures: None) -> None:
    out, err = run("export", "default", "archived", "--error", "SMTP")
    header, task, end = (json.loads(line) for line in out.splitlines())
    assert header["filters"] == {"error": "SMTP"}
    assert task["type"] == "email:send"
    assert end["exported"] == 1
    out, err = run("export", "default", "archived", "--type", "*", "--limit", "2")
    assert len(out.splitlines()) == 4
    assert "stopped at --limit" in err
    out, _ = run("export", "default", "archived", "--type", "sms:*")
    assert [json.loads(line).get("type") for line in out.splitlines()][1:-1] == ["sms:send"]


def test_export_as_csv_is_a_table_for_people(failures: None, tmp_path: Path) -> None:
    path = tmp_path / "failures.csv"
    run("export", "default", "archived", "--format", "csv", "-o", str(path))
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["type"] for r in rows] == ["email:send", "image:resize", "sms:send"]
    assert rows[0]["payload_text"] == '{"to": "a@example.com"}'
    assert rows[0]["last_error"] == "smtp: refused"
    assert rows[1]["payload_text"] == ""


def test_import_dry_run_writes_nothing_and_keep_ids_conflicts_are_skipped(
    failures: None, tmp_path: Path, redis_client: redis.Redis
) -> None:
    path = tmp_path / "failures.jsonl"
    run("export", "default", "archived", "-o", str(path))
    before = {k: redis_client.dump(k) for k in redis_client.keys("*")}
    out, _ = run("import", str(path), "--dry-run", "--queue", "debug")
    assert out.splitlines()[0] == "Would enqueue 3 of 3 tasks; skipped 0, malformed 0."
    out, _ = run("import", str(path), "--keep-ids", "--json")
    result = json.loads(out)
    assert (result["enqueued"], result["skipped_count"]) == (0, 3)
    assert result["skipped_by_reason"] == {"task ID conflicts with another task": 3}
    assert [p["line"] for p in result["skipped"]] == [2, 3, 4]
    assert {k: redis_client.dump(k) for k in redis_client.keys("*")} == before


def test_import_reports_malformed_lines_and_a_file_cut_short(
    failures: None, tmp_path: Path
) -> None:
    path = tmp_path / "failures.jsonl"
    run("export", "default", "archived", "-o", str(path))
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "{oops", lines[3]]) + "\n")
    out, err = run("import", str(path), "--queue", "debug")
    assert out.splitlines()[0] == "Enqueued 2 of 3 tasks; skipped 0, malformed 1."
    assert "line 3: malformed: not JSON" in out
    assert "may have been cut short" in err


def test_import_refuses_a_file_that_is_not_an_export(
    tmp_path: Path, queuecore_settings: str
) -> None:
    path = tmp_path / "tasks.csv"
    path.write_text("id,type\n1,a\n")
    with pytest.raises(CommandError, match="not a queuecore export"):
        run("import", str(path))
    with pytest.raises(CommandError, match="cannot read"):
        run("import", str(tmp_path / "missing.jsonl"))


def test_export_of_an_unknown_queue_is_a_command_error(queuecore_settings: str) -> None:
    with pytest.raises(CommandError, match="nope"):
        run("export", "nope", "archived")
