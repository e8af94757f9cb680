"""Run, archive and delete of one task (spec §4.4 I1-I3, checklist 16): the error classes of
asynq and exactly the keys asynq leaves behind, checked by comparing every asynq:* key."""

from __future__ import annotations

import pytest
import redis

from queuecore import (
    QueueNotFoundError,
    TaskAlreadyArchivedError,
    TaskNotFoundError,
    TaskState,
    WrongStateError,
)
from queuecore.inspection import ActionOutcome
from queuecore.inspector import Inspector
from tests.queuecore.inspector.conftest import NOW, snapshot
from tests.support.factories import seed_task

T = "asynq:{default}:t:"


def test_run_task_moves_a_scheduled_task_to_the_left_of_pending_without_pending_since(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    older = seed_task(redis_client, "pending", now=NOW - 5)
    task = seed_task(redis_client, "scheduled", score=NOW + 60)
    before = snapshot(redis_client)
    inspector.run_task("default", task.id)
    after = snapshot(redis_client)
    expected = dict(before)
    del expected["asynq:{default}:scheduled"]
    expected["asynq:{default}:pending"] = [task.id.encode(), older.id.encode()]
    expected[T + task.id] = {**before[T + task.id], b"state": b"pending"}
    assert after == expected


@pytest.mark.parametrize("state", ["retry", "archived", "completed"])
def test_run_task_works_from_every_zset_state(
    inspector: Inspector, redis_client: redis.Redis, state: str
) -> None:
    task = seed_task(redis_client, state, score=NOW)
    inspector.run_task("default", task.id)
    assert redis_client.lrange("asynq:{default}:pending", 0, -1) == [task.id.encode()]
    assert not redis_client.exists(f"asynq:{{default}}:{state}")


def test_run_task_of_the_last_aggregating_task_removes_its_group(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    task = seed_task(redis_client, "aggregating", group_key="g1")
    inspector.run_task("default", task.id)
    assert not redis_client.exists("asynq:{default}:g:g1", "asynq:{default}:groups")
    assert redis_client.hget(T + task.id, "state") == b"pending"


@pytest.mark.parametrize(
    ("state", "error", "text"),
    [
        ("pending", WrongStateError, "task is already in pending state"),
        ("active", WrongStateError, "task is already running"),
    ],
)
def test_run_task_refuses_pending_and_active_tasks_with_asynq_errors(
    inspector: Inspector, redis_client: redis.Redis, state: str, error: type, text: str
) -> None:
    task = seed_task(redis_client, state)
    before = snapshot(redis_client)
    with pytest.raises(error) as caught:
        inspector.run_task("default", task.id)
    assert str(caught.value) == f"asynq: FAILED_PRECONDITION: {text}"
    assert snapshot(redis_client) == before


def test_archive_task_moves_a_pending_task_to_archived_without_rewriting_its_message(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    task = seed_task(redis_client, "pending")
    before = snapshot(redis_client)
    inspector.archive_task("default", task.id)
    after = snapshot(redis_client)
    expected = dict(before)
    del expected["asynq:{default}:pending"]
    expected["asynq:{default}:archived"] = [(task.id.encode(), float(NOW))]
    expected[T + task.id] = {**before[T + task.id], b"state": b"archived"}
    assert after == expected


def test_archive_task_trims_the_archive_like_asynq_and_deletes_what_it_trims(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    ancient = seed_task(redis_client, "archived", score=NOW - 91 * 86_400)
    pipe = redis_client.pipeline(transaction=False)
    for i in range(9_999):
        pipe.zadd("asynq:{default}:archived", {f"old-{i:05d}": NOW - 100 + i % 50})
        pipe.hset(f"{T}old-{i:05d}", mapping={"msg": b"", "state": "archived"})
    pipe.execute()
    task = seed_task(redis_client, "retry", score=NOW + 10)
    inspector.archive_task("default", task.id)
    archived = redis_client.zrange("asynq:{default}:archived", 0, -1)
    assert len(archived) == 9_999
    assert task.id.encode() in archived
    assert not redis_client.exists(T + ancient.id)
    trimmed = [f"old-{i:05d}" for i in range(9_999) if f"old-{i:05d}".encode() not in archived]
    assert len(trimmed) == 1
    assert not redis_client.exists(T + trimmed[0])


@pytest.mark.parametrize(
    ("state", "error", "text"),
    [
        ("archived", TaskAlreadyArchivedError, "task is already archived: id={id}, queue=default"),
        (
            "active",
            WrongStateError,
            "cannot archive task in active state. use CancelProcessing instead.",
        ),
    ],
)
def test_archive_task_refuses_archived_and_active_tasks_with_asynq_errors(
    inspector: Inspector, redis_client: redis.Redis, state: str, error: type, text: str
) -> None:
    task = seed_task(redis_client, state)
    before = snapshot(redis_client)
    with pytest.raises(error) as caught:
        inspector.archive_task("default", task.id)
    assert str(caught.value) == "asynq: FAILED_PRECONDITION: " + text.format(id=task.id)
    assert snapshot(redis_client) == before


def test_delete_task_removes_the_record_and_frees_the_unique_lock_it_holds(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    lock = "asynq:{default}:unique:email:send:abc"
    task = seed_task(redis_client, "retry", unique_key=lock)
    redis_client.set(lock, task.id)
    other_lock = "asynq:{default}:unique:email:send:def"
    other = seed_task(redis_client, "scheduled", unique_key=other_lock)
    redis_client.set(other_lock, "someone-else")
    before = snapshot(redis_client)
    inspector.delete_task("default", task.id)
    inspector.delete_task("default", other.id)
    expected = {
        k: v
        for k, v in before.items()
        if k
        not in (
            lock,
            T + task.id,
            T + other.id,
            "asynq:{default}:retry",
            "asynq:{default}:scheduled",
        )
    }
    assert snapshot(redis_client) == expected


def test_delete_task_removes_a_record_left_behind_by_an_archive_trim(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    redis_client.hset(T + "leaked", mapping={"msg": b"", "state": "archived"})
    inspector.delete_task("default", "leaked")
    assert not redis_client.exists(T + "leaked")


def test_delete_task_refuses_an_active_task(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    task = seed_task(redis_client, "active")
    with pytest.raises(WrongStateError, match="cannot delete task in active state"):
        inspector.delete_task("default", task.id)


@pytest.mark.parametrize("action", ["run_task", "archive_task", "delete_task"])
def test_actions_on_missing_tasks_and_queues_give_not_found(
    inspector: Inspector, redis_client: redis.Redis, action: str
) -> None:
    seed_task(redis_client, "pending")
    with pytest.raises(TaskNotFoundError):
        getattr(inspector, action)("default", "missing")
    with pytest.raises(QueueNotFoundError):
        getattr(inspector, action)("nope", "missing")


def test_batch_actions_report_an_outcome_per_id(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    archived = seed_task(redis_client, "archived")
    active = seed_task(redis_client, "active")
    result = inspector.run_tasks("default", [archived.id, active.id, "missing"])
    assert dict(result.outcomes) == {
        archived.id: ActionOutcome.OK,
        active.id: ActionOutcome.WRONG_STATE,
        "missing": ActionOutcome.NOT_FOUND,
    }
    assert result.succeeded == [archived.id]
    assert result.errors[active.id] == "asynq: FAILED_PRECONDITION: task is already running"
    assert inspector.archive_tasks("default", [archived.id]).succeeded == [archived.id]
    assert inspector.delete_tasks("default", [archived.id, active.id]).failed == [active.id]
    assert not redis_client.exists(T + archived.id)


def test_update_task_payload_rewrites_only_the_payload_of_a_scheduled_task(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    task = seed_task(redis_client, "scheduled", score=NOW + 60, headers={"k": "v"})
    updated = inspector.update_task_payload("default", task.id, b'{"new": 1}')
    assert updated.payload == b'{"new": 1}'
    assert (updated.type, dict(updated.headers), updated.state) == (
        task.type,
        {"k": "v"},
        TaskState.SCHEDULED,
    )
    pending = seed_task(redis_client, "pending")
    with pytest.raises(WrongStateError, match="cannot update task that is not in scheduled state"):
        inspector.update_task_payload("default", pending.id, b"x")


def test_cancel_processing_publishes_the_id_on_asynq_cancel(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "active", id="a1")
    seed_task(redis_client, "active", id="a2")
    pubsub = redis_client.pubsub()
    pubsub.subscribe("asynq:cancel")
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"  # type: ignore[index]
    inspector.cancel_processing("x1")
    assert inspector.cancel_all_active("default") == 2
    received = []
    for _ in range(3):
        message = pubsub.get_message(timeout=1)
        assert message is not None
        received.append(message["data"])
    pubsub.close()
    assert sorted(received) == [b"a1", b"a2", b"x1"]
