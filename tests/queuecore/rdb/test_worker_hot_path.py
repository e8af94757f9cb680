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


def test_a_batched_claim_leaves_active_and_lease_as_one_rpoplpush_per_task(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = WorkerStore.from_url(redis_url)
    older = seed_task(redis_client, "active", queue="default")
    msgs = [seed_task(redis_client, "pending", queue="default") for _ in range(3)]
    expected = redis.Redis.from_url(redis_url)  # replay Go's single dequeues on a copy of the ids
    expected.delete("replay:pending", "replay:active")
    expected.lpush("replay:active", older.id)
    expected.lpush("replay:pending", *[m.id for m in msgs])
    for _ in msgs:
        expected.rpoplpush("replay:pending", "replay:active")
    expiry = int(time.time()) + 30

    claimed = store.dequeue("default", expiry, 10)

    assert claimed is not None
    assert [m.id for m in claimed] == [m.id for m in msgs]  # oldest first
    assert redis_client.lrange(keys.active_key("default"), 0, -1) == expected.lrange(
        "replay:active", 0, -1
    )
    assert redis_client.zrange(keys.lease_key("default"), 0, -1, withscores=True) == sorted(
        [(older.id.encode(), float(redis_client.zscore(keys.lease_key("default"), older.id)))]
        + [(m.id.encode(), float(expiry)) for m in msgs],
        key=lambda pair: (pair[1], pair[0]),
    )
    expected.delete("replay:pending", "replay:active")


def test_batched_done_counts_like_one_go_done_per_task(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = WorkerStore.from_url(redis_url)
    msgs = [seed_task(redis_client, "active", queue="default") for _ in range(3)]
    now = time.time()
    batch = store.batch()
    batch.done("default", [DoneEntry(m.id) for m in msgs], now)

    (codes,) = batch.execute()

    assert codes == [None, None, None]
    daily = keys.processed_key("default", time.strftime("%Y-%m-%d", time.gmtime(now)))
    assert redis_client.get(daily) == b"3"
    assert redis_client.ttl(daily) > 80 * 24 * 3600  # EXPIREAT set when the batch created it
    assert redis_client.get(keys.processed_total_key("default")) == b"3"


def test_batched_done_wraps_the_lifetime_counter_at_max_int64_per_task(
    redis_url: str, redis_client: redis.Redis
) -> None:
    store = WorkerStore.from_url(redis_url)
    redis_client.set(keys.processed_total_key("default"), 9223372036854775806)
    msgs = [seed_task(redis_client, "active", queue="default") for _ in range(3)]
    batch = store.batch()
    batch.done("default", [DoneEntry(m.id) for m in msgs], time.time())

    batch.execute()

    # Go's script compares with tonumber(), a double, in which ...806 already equals MaxInt64:
    # one Go done per task gives 1, 2, 3, and so must the batch.
    assert redis_client.get(keys.processed_total_key("default")) == b"3"


def test_the_hot_connection_is_reused_and_checked_out_afresh_after_a_drop_or_a_fork(
    redis_url: str,
) -> None:
    from queuecore.rdb import wire

    client = redis.Redis.from_url(redis_url)
    hot = wire.HotConnection(client)

    replies = hot.send([("SET", "k", "1"), ("INCR", "k"), ("HGET", "k", "f")])
    assert replies is not None
    assert replies[:2] == [b"OK", 2]
    assert isinstance(replies[2], redis.ResponseError)  # WRONGTYPE comes back in place
    first = hot._conn
    hot.send([("PING",)])
    assert hot._conn is first
    hot.drop()
    assert first._sock is None  # closed and given back to the pool
    assert hot.send([("PING",)]) == [b"PONG"]
    assert hot._conn is not None
    before_fork = hot._conn
    wire._after_fork_in_child()  # what os.register_at_fork runs in a child
    hot.send([("PING",)])
    assert hot._conn is not before_fork
    assert before_fork._sock is not None  # the parent's socket was left alone


def test_the_hot_connection_reports_a_lost_link_as_none(redis_url: str) -> None:
    from queuecore.rdb import wire

    hot = wire.HotConnection(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5))

    assert hot.send([("PING",)]) is None
