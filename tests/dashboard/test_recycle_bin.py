"""The recycle bin: dashboard deletes keep copies first, and the copies restore with their ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from dashboard import connection
from dashboard.models import AuditEntry, DeletedTask, Outcome
from queuecore import Inspector, TaskNotFoundError, TaskState
from queuecore.export import task_record
from tests.support.factories import seed_task

HTMX = {"HTTP_HX_REQUEST": "true"}
BIN = "/recently-deleted/"


@pytest.fixture
def bin_settings(settings: object, queuecore_settings: str) -> Callable[..., None]:
    def configure(**values: object) -> None:
        current = dict(settings.QUEUECORE)  # type: ignore[attr-defined]
        current.update({f"RECYCLE_BIN_{name.upper()}": value for name, value in values.items()})
        settings.QUEUECORE = current  # type: ignore[attr-defined]

    return configure


def state_of(insp: Inspector, task_id: str, queue: str = "default") -> TaskState | None:
    try:
        return insp.get_task_info(queue, task_id).state
    except TaskNotFoundError:
        return None


def test_deleting_one_task_keeps_its_exact_record_before_deleting(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    msg = seed_task(
        redis_client, "archived", error_msg="boom", retried=2, last_failed_at=1_700_000_000
    )
    before = task_record(insp.get_task_info("default", msg.id))
    response = operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    assert response.status_code == 200
    assert state_of(insp, msg.id) is None
    copy = DeletedTask.objects.get()
    entry = AuditEntry.objects.get()
    assert (copy.queue, copy.state, copy.task_id, copy.type) == (
        "default",
        "archived",
        msg.id,
        msg.type,
    )
    assert copy.record == before
    assert (copy.audit, copy.username) == (entry, "operator-user")
    assert entry.outcome == Outcome.SUCCEEDED
    assert "1 kept in the recycle bin" in entry.detail


def test_deleting_selected_tasks_keeps_a_copy_of_each_deleted_one(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    first, second = seed_task(redis_client, "retry"), seed_task(redis_client, "retry")
    response = operator.post(
        "/queues/default/selected/delete", {"ids": [first.id, second.id, "no-such-id"]}, **HTMX
    )
    assert response.status_code == 200
    assert {c.task_id for c in DeletedTask.objects.all()} == {first.id, second.id}
    entry = AuditEntry.objects.get()
    assert entry.outcome == Outcome.PARTIAL
    assert "2 kept in the recycle bin" in entry.detail


def test_deleting_all_in_a_state_keeps_every_record(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    msgs = [seed_task(redis_client, "scheduled", score=2_000_000_000 + i) for i in range(7)]
    records = {m.id: task_record(insp.get_task_info("default", m.id)) for m in msgs}
    response = operator.post("/queues/default/all/scheduled/delete", **HTMX)
    assert response.status_code == 200
    assert all(state_of(insp, m.id) is None for m in msgs)
    assert {c.task_id: c.record for c in DeletedTask.objects.all()} == records
    entry = AuditEntry.objects.get()
    assert (entry.count, entry.outcome) == (7, Outcome.SUCCEEDED)
    assert entry.detail == "7 kept in the recycle bin."


def test_deleting_all_pending_copies_chunk_by_chunk(
    operator: Client, insp: Inspector, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection.inspector(), "chunk_size", 2)
    msgs = [seed_task(redis_client, "pending") for _ in range(5)]
    response = operator.post("/queues/default/all/pending/delete", **HTMX)
    assert response.status_code == 200
    assert {c.task_id for c in DeletedTask.objects.all()} == {m.id for m in msgs}
    assert {c.state for c in DeletedTask.objects.all()} == {"pending"}
    assert insp.get_queue_info("default").pending == 0
    assert AuditEntry.objects.get().detail == "5 kept in the recycle bin."


def test_deleting_all_of_an_aggregating_group_keeps_copies(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    msgs = [seed_task(redis_client, "aggregating", group_key="g1") for _ in range(3)]
    response = operator.post("/queues/default/all/aggregating/delete", {"group": "g1"}, **HTMX)
    assert response.status_code == 200
    assert {c.task_id for c in DeletedTask.objects.all()} == {m.id for m in msgs}
    assert all(state_of(insp, m.id) is None for m in msgs)


def test_a_huge_delete_all_keeps_at_most_the_limit_and_says_so(
    operator: Client,
    insp: Inspector,
    redis_client: redis.Redis,
    bin_settings: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bin_settings(max_tasks=3)
    monkeypatch.setattr(connection.inspector(), "chunk_size", 2)
    msgs = [seed_task(redis_client, "retry", score=1_700_000_000 + i) for i in range(5)]
    response = operator.post("/queues/default/all/retry/delete", **HTMX)
    assert response.status_code == 200
    assert all(state_of(insp, m.id) is None for m in msgs)
    assert DeletedTask.objects.count() == 3
    entry = AuditEntry.objects.get()
    assert entry.count == 5
    assert "3 kept in the recycle bin, 2 deleted without a copy" in entry.detail


def test_restore_brings_back_type_binary_payload_headers_and_options_with_the_same_id(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    msg = seed_task(
        redis_client,
        "retry",
        payload=b"\x00\xff binary \x80",
        headers={"trace-id": "abc"},
        retry=7,
        timeout=90,
        error_msg="boom",
    )
    operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    copy = DeletedTask.objects.get()
    response = operator.post(BIN, {"only": copy.pk}, **HTMX)
    assert response.status_code == 200
    assert b"Restored 1 task." in response.content
    task = insp.get_task_info("default", msg.id)
    assert task.state is TaskState.PENDING
    assert (task.type, task.payload, dict(task.headers)) == (
        msg.type,
        msg.payload,
        {"trace-id": "abc"},
    )
    assert (task.max_retry, task.timeout, task.retried) == (7, timedelta(seconds=90), 0)
    assert not DeletedTask.objects.exists()
    audit = AuditEntry.objects.get(action="restore")
    assert (audit.count, audit.task_ids, audit.outcome) == (1, [msg.id], Outcome.SUCCEEDED)


def test_a_scheduled_task_restores_to_its_future_time(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    future = int(timezone.now().timestamp()) + 3600
    msg = seed_task(redis_client, "scheduled", score=future)
    operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    operator.post(BIN, {"ids": [DeletedTask.objects.get().pk]}, **HTMX)
    task = insp.get_task_info("default", msg.id)
    assert task.state is TaskState.SCHEDULED
    assert task.next_process_at is not None
    assert int(task.next_process_at.timestamp()) == future


def test_an_id_that_exists_again_is_skipped_and_never_overwritten(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    msg = seed_task(redis_client, "archived", payload=b"old")
    operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    seed_task(redis_client, "archived", id=msg.id, payload=b"new")
    response = operator.post(BIN, {"only": DeletedTask.objects.get().pk}, **HTMX)
    assert b"Skipped 1" in response.content
    task = insp.get_task_info("default", msg.id)
    assert (task.state, task.payload) == (TaskState.ARCHIVED, b"new")
    assert DeletedTask.objects.count() == 1
    assert AuditEntry.objects.get(action="restore").outcome == Outcome.PARTIAL


def test_restore_all_of_one_deletion_restores_only_its_copies(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    first = [seed_task(redis_client, "retry") for _ in range(3)]
    operator.post("/queues/default/all/retry/delete", **HTMX)
    other = seed_task(redis_client, "archived")
    operator.post(f"/queues/default/tasks/{other.id}/delete", **HTMX)
    deletion = AuditEntry.objects.get(action="delete_all")
    operator.post(BIN, {"audit": deletion.pk}, **HTMX)
    assert all(state_of(insp, m.id) is TaskState.PENDING for m in first)
    assert state_of(insp, other.id) is None
    assert [c.task_id for c in DeletedTask.objects.all()] == [other.id]


def test_copies_older_than_the_keeping_time_are_purged(
    operator: Client, redis_client: redis.Redis, bin_settings: Callable[..., None]
) -> None:
    bin_settings(hours=2)
    old, recent = seed_task(redis_client, "archived"), seed_task(redis_client, "archived")
    operator.post(f"/queues/default/tasks/{old.id}/delete", **HTMX)
    operator.post(f"/queues/default/tasks/{recent.id}/delete", **HTMX)
    DeletedTask.objects.filter(task_id=old.id).update(
        deleted_at=timezone.now() - timedelta(hours=3)
    )
    response = operator.get(BIN)
    assert response.status_code == 200
    assert [c.task_id for c in DeletedTask.objects.all()] == [recent.id]
    assert old.id.encode() not in response.content


def test_hours_zero_keeps_no_copies_and_still_deletes(
    operator: Client, insp: Inspector, redis_client: redis.Redis, bin_settings: Callable[..., None]
) -> None:
    bin_settings(hours=0)
    msg, other = seed_task(redis_client, "archived"), seed_task(redis_client, "retry")
    operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    operator.post("/queues/default/all/retry/delete", **HTMX)
    assert state_of(insp, other.id) is None
    assert state_of(insp, msg.id) is None
    assert not DeletedTask.objects.exists()
    assert b"recycle bin is off" in operator.get(BIN).content


def test_a_delete_whose_copy_cannot_be_written_is_refused(
    operator: Client, insp: Inspector, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise DatabaseError("disk full")

    monkeypatch.setattr(DeletedTask.objects, "bulk_create", broken)
    msg = seed_task(redis_client, "retry")
    response = operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    assert response.status_code == 409
    assert b"Nothing was deleted" in response.content
    assert state_of(insp, msg.id) is TaskState.RETRY
    response = operator.post("/queues/default/all/retry/delete", **HTMX)
    assert response.status_code == 409
    assert state_of(insp, msg.id) is TaskState.RETRY
    assert AuditEntry.objects.filter(outcome=Outcome.FAILED).count() == 2


def test_a_viewer_sees_the_bin_but_cannot_restore(
    login: Callable[[str | None], Client], queuecore_settings: str, redis_client: redis.Redis
) -> None:
    operator = login("operator")
    msg = seed_task(redis_client, "archived")
    operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    viewer = login("viewer")
    page = viewer.get(BIN)
    assert page.status_code == 200
    assert msg.id.encode() in page.content
    assert b'name="only"' not in page.content
    assert viewer.post(BIN, {"only": DeletedTask.objects.get().pk}).status_code == 403
    assert DeletedTask.objects.count() == 1


def test_restore_needs_a_csrf_token(
    make_user: Callable[..., object], queuecore_settings: str, redis_client: redis.Redis
) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("operator"))  # type: ignore[arg-type]
    assert strict.post(BIN, {"audit": "1"}).status_code == 403


def test_read_only_refuses_restore(
    operator: Client, redis_client: redis.Redis, bin_settings: Callable[..., None], settings: object
) -> None:
    msg = seed_task(redis_client, "archived")
    operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    settings.QUEUECORE = {**settings.QUEUECORE, "READ_ONLY": True}  # type: ignore[attr-defined]
    assert operator.post(BIN, {"only": DeletedTask.objects.get().pk}).status_code == 403
    assert DeletedTask.objects.count() == 1


def test_a_hostile_payload_is_escaped_on_the_bin_page(
    operator: Client, redis_client: redis.Redis
) -> None:
    msg = seed_task(redis_client, "archived", payload=b"<script>alert(1)</script>", type="<b>x</b>")
    operator.post(f"/queues/default/tasks/{msg.id}/delete", **HTMX)
    content = operator.get(BIN).content
    assert b"<script>alert(1)</script>" not in content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert b"<b>x</b>" not in content
