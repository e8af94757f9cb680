"""The worker's hot path on a plain connection (queuecore.rdb.wire): same keys and states as the
pipeline path, and the wake-up that claims in the same round trip."""

from __future__ import annotations

import time

import redis

from queuecore import keys
from queuecore.rdb.worker import DoneEntry, WorkerStore
from tests.support.factories import seed_task


def test_wait_and_dequeue_claims_a_waiting_task_exactly_like_dequeue(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = WorkerStore.from_url(redis_url)
    msg = seed_task(redis_client, "pending", queue="default")
    expiry = int(time.time()) + 30

    claimed = store.wait_and_dequeue("default", 1.0, expiry, 10)

    assert claimed is not None
    assert [m.id for m in claimed] == [msg.id]
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == []
    assert redis_client.lrange(keys.active_key("default"), 0, -1) == [msg.id.encode()]
    assert redis_client.zscore(keys.lease_key("default"), msg.id) == expiry
    task = redis_client.hgetall(keys.task_key("default", msg.id))
    assert task[b"state"] == b"active"
    assert b"pending_since" not in task


def test_wait_and_dequeue_claims_nothing_from_a_paused_queue(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = WorkerStore.from_url(redis_url)
    msg = seed_task(redis_client, "pending", queue="default")
    redis_client.set(keys.paused_key("default"), "1")

    assert store.wait_and_dequeue("default", 0.01, int(time.time()) + 30, 10) is None
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == [msg.id.encode()]
    assert redis_client.hget(keys.task_key("default", msg.id), "state") == b"pending"


def test_wait_and_dequeue_returns_empty_when_nothing_arrives(redis_url: str) -> None:
    store = WorkerStore.from_url(redis_url)

    assert store.wait_and_dequeue("default", 0.01, int(time.time()) + 30, 10) == []


def test_wait_and_dequeue_reloads_a_forgotten_script(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = WorkerStore.from_url(redis_url)
    store.dequeue("default", int(time.time()) + 30)  # the script is known, then forgotten
    redis_client.script_flush()
    msg = seed_task(redis_client, "pending", queue="default")

    claimed = store.wait_and_dequeue("default", 1.0, int(time.time()) + 30, 10)

    assert claimed is not None
    assert [m.id for m in claimed] == [msg.id]


def test_batch_acknowledges_and_claims_in_one_round_trip(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = WorkerStore.from_url(redis_url)
    done = seed_task(redis_client, "active", queue="default")
    waiting = seed_task(redis_client, "pending", queue="default")
    now = time.time()
    batch = store.batch()
    acked = batch.done("default", [DoneEntry(done.id)], now)
    claim = batch.dequeue("default", int(now) + 30, 5)

    results = batch.execute()

    assert results[acked] == [None]
    assert [m.id for m in results[claim]] == [waiting.id]
    assert not redis_client.exists(keys.task_key("default", done.id))
    assert redis_client.get(keys.processed_total_key("default")) == b"1"
    assert redis_client.lrange(keys.active_key("default"), 0, -1) == [waiting.id.encode()]
