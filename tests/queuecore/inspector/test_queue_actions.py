"""Queue-level reads and actions: stats (checklist 10), history (21), pause, delete (22)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import redis

from queuecore import (
    InvalidArgumentError,
    QueueHasActiveTasksError,
    QueueNotEmptyError,
    QueueNotFoundError,
    QueuePausedStateError,
)
from queuecore.inspector import Inspector
from tests.queuecore.inspector.conftest import NOW, snapshot
from tests.support.factories import seed_task


def test_queue_info_counts_what_a_worker_leaves_after_done_and_archive(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    # What W3 (done) and W6 (archive) leave: the task gone / archived and all counters moved.
    for state in ("pending", "pending", "active", "scheduled", "retry", "archived", "completed"):
        seed_task(redis_client, state, now=NOW - 2)
    seed_task(redis_client, "aggregating", group_key="g1")
    seed_task(redis_client, "aggregating", group_key="g2")
    redis_client.mset(
        {
            "asynq:{default}:processed:2026-11-25": 7,
            "asynq:{default}:failed:2026-11-25": 3,
            "asynq:{default}:processed": 70,
            "asynq:{default}:failed": 30,
        }
    )
    info = inspector.get_queue_info("default")
    assert (info.pending, info.active, info.scheduled, info.retry) == (2, 1, 1, 1)
    assert (info.archived, info.completed, info.aggregating, info.groups) == (1, 1, 2, 2)
    assert info.size == 2 + 1 + 1 + 1 + 1 + 1 + 2
    assert (info.processed, info.failed, info.processed_total, info.failed_total) == (7, 3, 70, 30)
    assert info.latency == timedelta(seconds=2)
    assert info.paused is False
    assert info.memory_usage is not None
    assert info.memory_usage > 0


def test_cheap_queue_info_samples_groups_beyond_its_bound(
    redis_url: str, redis_client: redis.Redis
) -> None:
    for i in range(12):
        seed_task(redis_client, "aggregating", group_key=f"g{i}")
    insp = Inspector.from_url(redis_url, group_scan_bound=4)
    cheap = insp.get_queue_info("default", cheap=True)
    assert (cheap.groups, cheap.aggregating, cheap.aggregating_exact) == (12, 12, False)
    assert insp.get_queue_info("default").aggregating_exact
    insp.close()


def test_queue_info_of_a_queue_not_registered_is_queue_not_found(inspector: Inspector) -> None:
    with pytest.raises(QueueNotFoundError):
        inspector.get_queue_info("nope")
    with pytest.raises(InvalidArgumentError):
        inspector.get_queue_info("  ")


def test_history_gives_seven_utc_days_newest_first_with_missing_days_as_zero(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    redis_client.mset(
        {
            "asynq:{default}:processed:2026-11-25": 5,
            "asynq:{default}:failed:2026-11-25": 1,
            "asynq:{default}:processed:2026-11-23": 9,
        }
    )
    history = inspector.history("default", 7)
    assert [h.date for h in history] == [date(2026, 11, 25) - timedelta(days=i) for i in range(7)]
    assert [(h.processed, h.failed) for h in history[:3]] == [(5, 1), (0, 0), (9, 0)]
    assert all((h.processed, h.failed) == (0, 0) for h in history[3:])
    with pytest.raises(InvalidArgumentError):
        inspector.history("default", 0)


def test_pause_sets_the_paused_key_to_now_and_pausing_twice_is_an_error(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    inspector.pause_queue("unregistered-is-fine")
    assert redis_client.get("asynq:{unregistered-is-fine}:paused") == str(NOW).encode()
    assert redis_client.ttl("asynq:{unregistered-is-fine}:paused") == -1
    with pytest.raises(
        QueuePausedStateError, match='queue "unregistered-is-fine" is already paused'
    ):
        inspector.pause_queue("unregistered-is-fine")
    inspector.unpause_queue("unregistered-is-fine")
    with pytest.raises(QueuePausedStateError, match='queue "unregistered-is-fine" is not paused'):
        inspector.unpause_queue("unregistered-is-fine")


def test_delete_queue_refuses_a_non_empty_queue_and_force_refuses_active_tasks(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    active = seed_task(redis_client, "active")
    before = snapshot(redis_client)
    with pytest.raises(QueueNotEmptyError, match='queue is not empty: queue="default"'):
        inspector.delete_queue("default")
    with pytest.raises(QueueHasActiveTasksError):
        inspector.delete_queue("default", force=True)
    assert snapshot(redis_client) == before
    assert active.id
    with pytest.raises(QueueNotFoundError):
        inspector.delete_queue("nope")


def test_delete_queue_force_removes_the_same_keys_as_asynq_and_leaves_its_leftovers(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    for state in ("pending", "scheduled", "retry", "archived") * 5:
        seed_task(redis_client, state)
    completed = seed_task(redis_client, "completed")
    grouped = seed_task(redis_client, "aggregating", group_key="g1")
    redis_client.set("asynq:{default}:paused", NOW)
    redis_client.set("asynq:{default}:processed", 3)
    redis_client.set("asynq:{default}:unique:t:x", "someone")
    redis_client.zadd("asynq:{default}:lease", {"stale": NOW - 100})
    redis_client.sadd("asynq:queues", "other")
    progress: list[tuple[int, int]] = []
    inspector.delete_queue("default", force=True, progress=lambda d, t: progress.append((d, t)))
    assert progress  # 20 records in chunks of 7
    assert set(snapshot(redis_client)) == {
        "asynq:queues",
        "asynq:{default}:completed",
        f"asynq:{{default}}:t:{completed.id}",
        "asynq:{default}:groups",
        "asynq:{default}:g:g1",
        f"asynq:{{default}}:t:{grouped.id}",
        "asynq:{default}:paused",
        "asynq:{default}:processed",
        "asynq:{default}:unique:t:x",
    }
    assert redis_client.smembers("asynq:queues") == {b"other"}


def test_delete_queue_of_an_empty_queue_unregisters_it(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    redis_client.sadd("asynq:queues", "empty")
    inspector.delete_queue("empty")
    assert inspector.queues() == []


def test_groups_lists_each_group_with_its_size(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    for group in ("b", "a", "a"):
        seed_task(redis_client, "aggregating", group_key=group)
    assert [(g.group, g.size) for g in inspector.groups("default")] == [("a", 2), ("b", 1)]
