"""Pagination and ordering as Go's Inspector (checklist 15) and the records asynq leaves behind
(checklist 26)."""

from __future__ import annotations

import pytest
import redis

from queuecore import InvalidArgumentError, QueueNotFoundError, TaskNotFoundError, TaskState
from queuecore.inspector import Inspector
from queuecore.messages import GO_ZERO_TIME_SECONDS
from tests.queuecore.inspector.conftest import NOW
from tests.support.factories import make_message, seed_task


def _seed_pending(client: redis.Redis, count: int) -> list[str]:
    """Enqueue ``count`` tasks in order; returns their ids oldest first."""
    return [seed_task(client, "pending", now=NOW + i).id for i in range(count)]


def test_pending_page_one_is_the_thirty_oldest_tasks_oldest_first(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    ids = _seed_pending(redis_client, 75)
    page = inspector.list_tasks("default", TaskState.PENDING)
    assert [t.id for t in page] == ids[:30]
    assert page.total == 75
    assert [t.id for t in inspector.list_tasks("default", "pending", page=3)] == ids[60:]
    assert [t.id for t in inspector.list_tasks("default", "pending", page=2, page_size=7)] == ids[
        7:14
    ]


def test_page_size_zero_returns_every_task(inspector: Inspector, redis_client: redis.Redis) -> None:
    ids = _seed_pending(redis_client, 45)
    assert [t.id for t in inspector.list_tasks("default", "pending", page_size=0)] == ids


def test_a_page_past_the_end_is_empty(inspector: Inspector, redis_client: redis.Redis) -> None:
    _seed_pending(redis_client, 3)
    assert inspector.list_tasks("default", "pending", page=2) == []


def test_zset_states_are_listed_in_ascending_score_order(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    scores = [NOW + 500, NOW + 100, NOW + 300, NOW + 200]
    ids = {seed_task(redis_client, "scheduled", score=s).id: s for s in scores}
    listed = inspector.list_tasks("default", TaskState.SCHEDULED)
    assert [t.id for t in listed] == sorted(ids, key=ids.__getitem__)
    assert [int(t.next_process_at.timestamp()) for t in listed] == sorted(scores)  # type: ignore[union-attr]


def test_active_tasks_are_oldest_first_and_orphaned_once_their_lease_expired(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    live = seed_task(redis_client, "active", score=NOW + 30)
    expired = seed_task(redis_client, "active", score=NOW - 1)
    listed = inspector.list_tasks("default", TaskState.ACTIVE)
    assert [(t.id, t.is_orphaned) for t in listed] == [(live.id, False), (expired.id, True)]


def test_listing_an_unknown_queue_fails_with_queue_not_found(inspector: Inspector) -> None:
    with pytest.raises(QueueNotFoundError):
        inspector.list_tasks("nope", "pending")


@pytest.mark.parametrize(("page", "page_size"), [(0, 30), (1, -1)])
def test_invalid_pages_are_refused(
    inspector: Inspector, redis_client: redis.Redis, page: int, page_size: int
) -> None:
    _seed_pending(redis_client, 1)
    with pytest.raises(InvalidArgumentError):
        inspector.list_tasks("default", "pending", page=page, page_size=page_size)


def test_aggregating_needs_a_group(inspector: Inspector, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "aggregating", group_key="g1")
    with pytest.raises(InvalidArgumentError):
        inspector.list_tasks("default", TaskState.AGGREGATING)
    assert len(inspector.list_tasks("default", TaskState.AGGREGATING, group="g1")) == 1


def test_ids_whose_record_is_gone_are_skipped_and_counted(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    kept = seed_task(redis_client, "archived", score=NOW)
    gone = seed_task(redis_client, "archived", score=NOW + 1)
    redis_client.delete(f"asynq:{{default}}:t:{gone.id}")
    page = inspector.list_tasks("default", "archived")
    assert [t.id for t in page] == [kept.id]
    assert page.skipped == 1
    assert page.total == 2


def test_undecodable_messages_and_foreign_key_types_do_not_break_a_page(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    good = seed_task(redis_client, "pending")
    redis_client.lpush("asynq:{default}:pending", "junk")
    redis_client.hset(
        "asynq:{default}:t:junk", mapping={"msg": b"\xff\xff\xff", "state": "pending"}
    )
    redis_client.lpush("asynq:{default}:pending", "not-a-hash")
    redis_client.set("asynq:{default}:t:not-a-hash", "x")
    redis_client.set("asynq:{default}:scheduled", "a foreign string where a zset belongs")
    page = inspector.list_tasks("default", "pending")
    assert [t.id for t in page] == [good.id]
    assert page.skipped == 2
    assert inspector.list_tasks("default", "scheduled") == []
    info = inspector.get_queue_info("default")
    assert (info.pending, info.scheduled) == (3, 0)


def test_leftovers_asynq_writes_are_read_without_error(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    # No pending_since (requeued or run by an inspector), "" group/unique_key fields.
    msg = seed_task(redis_client, "pending", now=NOW - 10)
    tkey = f"asynq:{{default}}:t:{msg.id}"
    redis_client.hdel(tkey, "pending_since")
    redis_client.hset(tkey, mapping={"group": "", "unique_key": ""})
    assert inspector.get_queue_info("default").latency.total_seconds() == 0
    assert inspector.get_task_info("default", msg.id).group == ""
    inspector.delete_task("default", msg.id)
    assert not redis_client.exists(tkey)


def test_go_zero_timestamps_read_as_none(inspector: Inspector, redis_client: redis.Redis) -> None:
    from queuecore.messages import SchedulerEntry

    entry = SchedulerEntry(id="e1", spec="@every 1m", task_type="t")
    entry.prev_enqueue_time.seconds = GO_ZERO_TIME_SECONDS
    entry.next_enqueue_time.seconds = NOW + 60
    redis_client.zadd("asynq:schedulers", {"asynq:schedulers:{h:1:s}": NOW + 20})
    redis_client.lpush("asynq:schedulers:{h:1:s}", entry.SerializeToString())
    (listed,) = inspector.scheduler_entries()
    assert listed.prev_enqueue_at is None
    assert listed.scheduler_id == "h:1:s"


def test_task_info_of_a_missing_task_is_task_not_found(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    with pytest.raises(TaskNotFoundError):
        inspector.get_task_info("default", "missing")


def test_task_info_gives_next_process_at_per_state(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    retry = seed_task(redis_client, "retry", score=NOW + 60)
    pending = seed_task(redis_client, "pending")
    archived = seed_task(redis_client, "archived")
    assert inspector.get_task_info("default", retry.id).next_process_at.timestamp() == NOW + 60  # type: ignore[union-attr]
    assert inspector.get_task_info("default", pending.id).next_process_at.timestamp() == NOW  # type: ignore[union-attr]
    assert inspector.get_task_info("default", archived.id).next_process_at is None


def test_headers_payload_and_result_are_returned_as_stored(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    msg = make_message(payload=b"\x00\xff", headers={"trace": "abc"})
    seed_task(redis_client, "completed", msg, score=NOW + 3600, result=b"\x01\x02")
    (task,) = inspector.list_tasks("default", "completed")
    assert (task.payload, dict(task.headers), task.result) == (
        b"\x00\xff",
        {"trace": "abc"},
        b"\x01\x02",
    )
