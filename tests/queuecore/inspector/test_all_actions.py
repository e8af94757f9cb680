"""run_all / archive_all / delete_all: asynq's effects, done in bounded chunks with progress."""

from __future__ import annotations

import pytest
import redis

from queuecore import InvalidArgumentError, TaskState
from queuecore.inspector import Inspector
from tests.queuecore.inspector.conftest import NOW, snapshot
from tests.support.factories import seed_task

T = "asynq:{default}:t:"


def test_run_all_moves_every_archived_task_to_pending_in_chunks_lowest_score_first(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    ids = [seed_task(redis_client, "archived", score=NOW - 100 + i).id for i in range(20)]
    progress: list[tuple[int, int]] = []
    moved = inspector.run_all(
        "default", TaskState.ARCHIVED, progress=lambda d, t: progress.append((d, t))
    )
    assert moved == 20
    assert progress == [(7, 20), (14, 20), (20, 20)]
    assert not redis_client.exists("asynq:{default}:archived")
    # The lowest score was pushed first, so it is at the right end and runs first.
    assert [t.id for t in inspector.list_tasks("default", "pending", page_size=0)] == ids
    assert all(redis_client.hget(T + i, "state") == b"pending" for i in ids)
    assert not any(redis_client.hexists(T + i, "pending_since") for i in ids)


def test_run_all_of_a_group_removes_the_group(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    for _ in range(3):
        seed_task(redis_client, "aggregating", group_key="g1")
    seed_task(redis_client, "aggregating", group_key="g2")
    assert inspector.run_all("default", "aggregating", group="g1") == 3
    assert redis_client.smembers("asynq:{default}:groups") == {b"g2"}
    assert not redis_client.exists("asynq:{default}:g:g1")


def test_run_all_drops_ids_without_a_record_instead_of_pushing_stubs(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    task = seed_task(redis_client, "retry")
    redis_client.zadd("asynq:{default}:retry", {"ghost": NOW})
    assert inspector.run_all("default", "retry") == 1
    assert redis_client.lrange("asynq:{default}:pending", 0, -1) == [task.id.encode()]
    assert not redis_client.exists(T + "ghost")


def test_archive_all_pending_archives_oldest_first_and_keeps_asynq_keys(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    ids = [seed_task(redis_client, "pending", now=NOW - 50 + i).id for i in range(10)]
    before = snapshot(redis_client)
    assert inspector.archive_all("default", TaskState.PENDING) == 10
    after = snapshot(redis_client)
    expected = dict(before)
    del expected["asynq:{default}:pending"]
    expected["asynq:{default}:archived"] = sorted((i.encode(), float(NOW)) for i in ids)
    for i in ids:
        expected[T + i] = {**before[T + i], b"state": b"archived"}
    assert after == expected


def test_archive_all_beyond_the_cap_deletes_the_records_it_trims(
    redis_url: str, redis_client: redis.Redis
) -> None:
    pipe = redis_client.pipeline(transaction=False)
    for i in range(10_050):
        pipe.lpush("asynq:{default}:pending", f"p{i:05d}")
        pipe.hset(f"{T}p{i:05d}", mapping={"msg": b"", "state": "pending"})
    pipe.sadd("asynq:queues", "default")
    pipe.execute()
    with Inspector.from_url(redis_url) as insp:
        assert insp.archive_all("default", "pending") == 10_050
    assert redis_client.zcard("asynq:{default}:archived") == 9_999
    assert len(list(redis_client.scan_iter(match=f"{T}*", count=5000))) == 9_999


def test_delete_all_deletes_records_and_frees_locks_they_still_hold(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    locks = []
    for i in range(9):
        lock = f"asynq:{{default}}:unique:t:{i}"
        task = seed_task(redis_client, "pending", unique_key=lock)
        redis_client.set(lock, task.id)
        locks.append(lock)
    redis_client.lpush("asynq:{default}:pending", "ghost")
    other = seed_task(redis_client, "scheduled")
    assert inspector.delete_all("default", "pending") == 9
    assert set(snapshot(redis_client)) == {
        "asynq:queues",
        "asynq:{default}:scheduled",
        T + other.id,
    }


@pytest.mark.parametrize("state", ["scheduled", "retry", "archived", "completed"])
def test_delete_all_empties_each_zset_state(
    inspector: Inspector, redis_client: redis.Redis, state: str
) -> None:
    for _ in range(8):
        seed_task(redis_client, state)
    assert inspector.delete_all("default", state) == 8
    assert set(snapshot(redis_client)) == {"asynq:queues"}


@pytest.mark.parametrize(
    ("action", "state"),
    [
        ("run_all", "pending"),
        ("run_all", "active"),
        ("archive_all", "archived"),
        ("delete_all", "active"),
    ],
)
def test_all_actions_refuse_states_asynq_has_no_such_action_for(
    inspector: Inspector, redis_client: redis.Redis, action: str, state: str
) -> None:
    seed_task(redis_client, "pending")
    with pytest.raises(InvalidArgumentError):
        getattr(inspector, action)("default", state)
