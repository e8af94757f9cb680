"""Unreadable records on the dashboard, the API and the CLI: listed by id, exported, deleted and
audited; a queue with a key of a foreign type is reported on its page (README, "Poison data")."""

from __future__ import annotations

import io
import json

import pytest
import redis
from django.core.management import call_command
from django.test import Client

from dashboard.models import AuditEntry, Outcome
from queuecore import keys
from tests.support.factories import seed_task

Q = "default"


@pytest.fixture
def garbage(redis_client: redis.Redis, queuecore_settings: str) -> str:
    """A good archived task, a string record and a non-protobuf hash in archived."""
    good = seed_task(redis_client, "archived").id
    redis_client.set(keys.task_key(Q, "bad-string"), b"raw bytes\x00")
    redis_client.hset(keys.task_key(Q, "bad-proto"), mapping={"msg": b"not protobuf"})
    redis_client.zadd(keys.archived_key(Q), {"bad-string": 1, "bad-proto": 2})
    return good


def test_the_queue_page_names_each_unreadable_record_with_export_and_delete(
    operator: Client, garbage: str
) -> None:
    page = operator.get(f"/queues/{Q}/?state=archived").content.decode()
    assert "2 task records on this page could not be read" in page
    assert f"/queues/{Q}/unreadable/bad-string/export" in page
    assert f"/queues/{Q}/unreadable/bad-proto/delete" in page


def test_a_viewer_sees_export_but_no_delete(viewer: Client, garbage: str) -> None:
    page = viewer.get(f"/queues/{Q}/?state=archived").content.decode()
    assert "unreadable/bad-string/export" in page
    assert "unreadable/bad-string/delete" not in page
    assert viewer.post(f"/queues/{Q}/unreadable/bad-string/delete").status_code == 403


def test_export_gives_the_bytes_of_the_record(viewer: Client, garbage: str) -> None:
    response = viewer.get(f"/queues/{Q}/unreadable/bad-string/export")
    assert response.status_code == 200
    assert response.content == b"raw bytes\x00"
    assert response["Content-Type"] == "application/octet-stream"
    assert viewer.get(f"/queues/{Q}/unreadable/bad-proto/export").content == b"not protobuf"


def test_export_of_a_readable_task_is_refused(viewer: Client, garbage: str) -> None:
    assert viewer.get(f"/queues/{Q}/unreadable/{garbage}/export").status_code == 409


def test_delete_removes_the_record_everywhere_and_is_audited(
    operator: Client, garbage: str, redis_client: redis.Redis
) -> None:
    response = operator.post(f"/queues/{Q}/unreadable/bad-string/delete")
    assert response.status_code == 302
    assert not redis_client.exists(keys.task_key(Q, "bad-string"))
    assert redis_client.zscore(keys.archived_key(Q), "bad-string") is None
    assert redis_client.zscore(keys.archived_key(Q), garbage) is not None
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.queue, entry.task_ids, entry.outcome) == (
        "delete_unreadable",
        Q,
        ["bad-string"],
        Outcome.SUCCEEDED,
    )


def test_delete_of_a_readable_task_is_refused_and_audited_as_failed(
    operator: Client, garbage: str, redis_client: redis.Redis
) -> None:
    assert operator.post(f"/queues/{Q}/unreadable/{garbage}/delete").status_code == 409
    assert redis_client.exists(keys.task_key(Q, garbage))
    assert AuditEntry.objects.get().outcome == Outcome.FAILED


def test_the_api_task_list_says_how_many_records_it_skipped(admin: Client, garbage: str) -> None:
    body = admin.get(f"/api/queues/{Q}/archived_tasks").json()
    assert body["skipped"] == 2
    assert len(body["tasks"]) == 1


def test_the_queue_page_reports_a_pending_key_of_a_foreign_type(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    redis_client.sadd(keys.ALL_QUEUES, "wrongtype")
    redis_client.set(keys.pending_key("wrongtype"), "x")
    page = viewer.get("/queues/wrongtype/").content.decode()
    assert "data-mistyped-keys" in page
    assert "pending of this queue hold a type asynq never writes" in page


def cli(*args: str) -> str:
    out = io.StringIO()
    call_command("task", *args, stdout=out)
    return out.getvalue()


def test_the_cli_lists_skipped_ids_and_exports_and_deletes_an_unreadable_record(
    garbage: str, redis_client: redis.Redis, tmp_path
) -> None:
    listing = cli("ls", "-q", Q, "-s", "archived")
    assert "bad-string" in listing
    assert "bad-proto" in listing
    shown = cli("unreadable", "-q", Q, "-i", "bad-proto")
    assert "undecodable task message" in shown
    target = tmp_path / "record.bin"
    cli("unreadable", "-q", Q, "-i", "bad-string", "--output", str(target), "--delete")
    assert target.read_bytes() == b"raw bytes\x00"
    assert not redis_client.exists(keys.task_key(Q, "bad-string"))
    assert redis_client.zscore(keys.archived_key(Q), "bad-string") is None


def test_the_cli_deletes_a_dangling_id_with_no_record(
    redis_client: redis.Redis, queuecore_settings: str
) -> None:
    redis_client.sadd(keys.ALL_QUEUES, Q)
    redis_client.lpush(keys.active_key(Q), "ghost")
    redis_client.zadd(keys.lease_key(Q), {"ghost": 1})
    out = json.loads(cli("unreadable", "-q", Q, "-i", "ghost", "--delete", "--json"))
    assert out == {"record": None, "written": None, "deleted": True}
    assert not redis_client.exists(keys.active_key(Q), keys.lease_key(Q))


def test_the_api_answers_409_for_a_task_whose_message_is_corrupt(
    admin: Client, garbage: str
) -> None:
    response = admin.get(f"/api/queues/{Q}/tasks/bad-proto")
    assert response.status_code == 409
