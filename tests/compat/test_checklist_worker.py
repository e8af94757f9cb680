"""Spec §10 checklist, worker side: items 5, 6, 7, 8, 9, 10, 17, 18, 19 and 23.

Asserted on raw Redis keys (names, types, fields, integer scores, TTLs) after our worker's
operations, so a Go server or inspector reading the same keys sees what it would after Go's own.
"""

from __future__ import annotations

import threading

import pytest
import redis

from queuecore import keys
from queuecore.clock import FrozenClock, utc_date
from queuecore.handlers import ServeMux
from queuecore.inspector import Inspector
from queuecore.messages import ServerInfo, WorkerInfo, decode_task_message
from queuecore.rdb.worker import MAX_INT64, STATS_TTL_SECONDS, AckNotFoundError, WorkerStore
from queuecore.server import Server, ServerConfig
from queuecore.server.heartbeat import Heartbeat, ServerIdentity
from queuecore.server.processor import Processor
from queuecore.server.recoverer import Recoverer
from tests.support.factories import seed_task

NOW = 1795621221.25
NOW_S = 1795621221
TODAY = utc_date(NOW)


@pytest.fixture
def store(redis_url: str) -> WorkerStore:
    return WorkerStore.from_url(redis_url)


def task_hash(r: redis.Redis, queue: str, task_id: str) -> dict[bytes, bytes]:
    return r.hgetall(keys.task_key(queue, task_id))


def claim(store: WorkerStore, queue: str = "default", now: float = NOW, count: int = 1):
    msgs = store.dequeue(queue, int(now) + 30, count)
    assert msgs is not None
    return msgs


# -- item 5: dequeue -------------------------------------------------------------------------


def test_item5_dequeue_moves_the_oldest_pending_id_to_active_with_an_integer_lease(
    store, redis_client
):
    first = seed_task(redis_client, "pending", now=NOW)
    second = seed_task(redis_client, "pending", now=NOW)
    (msg,) = claim(store)
    assert msg.id == first.id  # LPUSHed first, so at the right end: the oldest
    assert redis_client.lrange(keys.active_key("default"), 0, -1) == [first.id.encode()]
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == [second.id.encode()]
    fields = task_hash(redis_client, "default", first.id)
    assert fields[b"state"] == b"active"
    assert b"pending_since" not in fields
    assert redis_client.zrange(keys.lease_key("default"), 0, -1, withscores=True) == [
        (first.id.encode(), float(NOW_S + 30))
    ]


def test_item5_a_batched_claim_is_the_same_as_that_many_single_claims(store, redis_client):
    seeded = [seed_task(redis_client, "pending", now=NOW) for _ in range(5)]
    msgs = claim(store, count=3)
    assert [m.id for m in msgs] == [s.id for s in seeded[:3]]
    assert redis_client.lrange(keys.active_key("default"), 0, -1) == [
        s.id.encode() for s in reversed(seeded[:3])
    ]
    assert redis_client.zcard(keys.lease_key("default")) == 3
    assert [m.id for m in claim(store, count=10)] == [s.id for s in seeded[3:]]
    assert claim(store, count=10) == []


def test_item5_dequeue_does_nothing_when_the_queue_is_paused(store, redis_client):
    seed_task(redis_client, "pending", now=NOW)
    redis_client.set(keys.paused_key("default"), NOW_S)
    assert store.dequeue("default", NOW_S + 30, 5) is None
    assert redis_client.llen(keys.pending_key("default")) == 1
    assert not redis_client.exists(keys.active_key("default"), keys.lease_key("default"))


def test_dequeue_drops_an_id_without_hash_instead_of_leaving_asynqs_stub(store, redis_client):
    # A deliberate departure from Go (README, "Poison data"): Go leaves a stub hash holding
    # only state=active and the ID in active and lease for good; nothing there can ever run.
    redis_client.lpush(keys.pending_key("default"), "ghost")
    assert claim(store) == []
    assert not redis_client.exists(keys.task_key("default", "ghost"))
    assert not redis_client.exists(keys.active_key("default"), keys.lease_key("default"))
    assert not redis_client.exists(keys.pending_key("default"))
    assert store.poison.total("default") == 1


# -- item 6: lease extension and recovery ----------------------------------------------------


def make_heartbeat(store: WorkerStore, processor: Processor, clock: FrozenClock) -> Heartbeat:
    return Heartbeat(
        store,
        processor,
        ServerIdentity("sid-1", host="host-a", pid=42),
        clock,
        queues={"default": 1},
        concurrency=10,
        strict_priority=False,
        started=clock.now(),
    )


def test_item6_lease_extension_keeps_a_task_from_being_recovered_and_recovery_follows_its_end(
    store, redis_client
):
    clock = FrozenClock(NOW)
    block = threading.Event()
    mux = ServeMux()
    mux.register("email:send", lambda task: block.wait(30))
    processor = Processor(store, mux, ServerConfig(concurrency=1), clock)
    heartbeat = make_heartbeat(store, processor, clock)
    recoverer = Recoverer(store, ["default"], clock, retry_delay=lambda n, e, t: 100)
    msg = seed_task(redis_client, "pending", now=NOW)
    processor.start()
    try:
        for _ in range(200):
            if processor.snapshot():
                break
            block.wait(0.01)
        assert [job.msg.id for job in processor.snapshot()] == [msg.id]
        # Five minutes of heartbeats every 5 s: the lease keeps moving, nothing is recovered.
        for _ in range(60):
            clock.advance(5)
            assert heartbeat.run_once() == 1
            assert recoverer.run_once() == 0
        lease = redis_client.zscore(keys.lease_key("default"), msg.id)
        assert lease == int(clock.now()) + 30
        assert task_hash(redis_client, "default", msg.id)[b"state"] == b"active"
        # The extensions stop (the worker died): 60 s later the lease is 30 s past expiry.
        clock.advance(60)
        assert recoverer.run_once() == 1
    finally:
        block.set()
        processor.stop(0)
        processor.wait(10)
        processor.close()
    fields = task_hash(redis_client, "default", msg.id)
    assert fields[b"state"] == b"retry"
    recovered = decode_task_message(fields[b"msg"])
    assert recovered.error_msg == "asynq: task lease expired"
    assert recovered.retried == msg.retried + 1
    assert redis_client.zscore(keys.retry_key("default"), msg.id) == int(clock.now()) + 100
    assert not redis_client.exists(keys.active_key("default"))


def test_item6_a_recovered_task_out_of_retries_is_archived(store, redis_client):
    msg = seed_task(redis_client, "active", now=NOW, score=NOW_S - 31, retry=2, retried=2)
    assert Recoverer(store, ["default"], FrozenClock(NOW)).run_once() == 1
    fields = task_hash(redis_client, "default", msg.id)
    assert fields[b"state"] == b"archived"
    archived = decode_task_message(fields[b"msg"])
    assert (archived.retried, archived.error_msg) == (2, "asynq: task lease expired")


def test_item6_leases_expired_less_than_the_cutoff_ago_are_left_alone(store, redis_client):
    seed_task(redis_client, "active", now=NOW, score=NOW_S - 29)
    assert Recoverer(store, ["default"], FrozenClock(NOW)).run_once() == 0
    assert redis_client.llen(keys.active_key("default")) == 1


# -- item 7: retry -----------------------------------------------------------------------------


def test_item7_retry_writes_the_retry_zset_message_state_and_all_counters(store, redis_client):
    msg = seed_task(redis_client, "pending", now=NOW, retried=3, headers={"trace": "abc"})
    (claimed,) = claim(store)
    store.retry(claimed, NOW + 97.9, "boom", is_failure=True, now=NOW)
    assert redis_client.zrange(keys.retry_key("default"), 0, -1, withscores=True) == [
        (msg.id.encode(), float(int(NOW + 97.9)))
    ]
    fields = task_hash(redis_client, "default", msg.id)
    assert fields[b"state"] == b"retry"
    stored = decode_task_message(fields[b"msg"])
    assert (stored.retried, stored.error_msg, stored.last_failed_at) == (4, "boom", NOW_S)
    assert dict(stored.headers) == {"trace": "abc"}
    for key in (keys.processed_key("default", TODAY), keys.failed_key("default", TODAY)):
        assert redis_client.get(key) == b"1"
        assert redis_client.expiretime(key) == NOW_S + STATS_TTL_SECONDS
    assert redis_client.get(keys.processed_total_key("default")) == b"1"
    assert redis_client.get(keys.failed_total_key("default")) == b"1"
    assert not redis_client.exists(keys.active_key("default"), keys.lease_key("default"))


def test_item7_a_retry_that_is_not_a_failure_moves_no_counter_and_keeps_retried(
    store, redis_client
):
    seed_task(redis_client, "pending", now=NOW, retried=1)
    (claimed,) = claim(store)
    store.retry(claimed, NOW + 10, "not my fault", is_failure=False, now=NOW)
    stored = decode_task_message(task_hash(redis_client, "default", claimed.id)[b"msg"])
    assert (stored.retried, stored.error_msg) == (1, "not my fault")
    assert redis_client.keys("asynq:{default}:processed*") == []
    assert redis_client.keys("asynq:{default}:failed*") == []


def test_item7_forwarder_puts_a_due_retry_back_in_pending_with_pending_since(store, redis_client):
    msg = seed_task(redis_client, "retry", now=NOW, score=NOW_S - 1)
    assert store.forward("default", "retry", NOW) == 1
    fields = task_hash(redis_client, "default", msg.id)
    assert fields[b"state"] == b"pending"
    assert fields[b"pending_since"] == str(int(NOW * 1_000_000_000)).encode()
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == [msg.id.encode()]


def test_the_lifetime_counters_wrap_to_one_at_maxint64(store, redis_client):
    redis_client.set(keys.processed_total_key("default"), MAX_INT64)
    redis_client.set(keys.failed_total_key("default"), 12)
    seed_task(redis_client, "pending", now=NOW)
    (claimed,) = claim(store)
    store.retry(claimed, NOW + 10, "boom", is_failure=True, now=NOW)
    assert redis_client.get(keys.processed_total_key("default")) == b"1"
    assert redis_client.get(keys.failed_total_key("default")) == b"1"
    redis_client.set(keys.processed_total_key("default"), MAX_INT64)
    seed_task(redis_client, "pending", now=NOW)
    (claimed,) = claim(store)
    store.done(claimed, NOW)
    assert redis_client.get(keys.processed_total_key("default")) == b"1"


def test_the_daily_counter_keeps_its_first_expiry(store, redis_client):
    seed_task(redis_client, "pending", now=NOW)
    seed_task(redis_client, "pending", now=NOW)
    (first,) = claim(store)
    store.done(first, NOW)
    key = keys.processed_key("default", TODAY)
    assert redis_client.expiretime(key) == NOW_S + STATS_TTL_SECONDS
    redis_client.expireat(key, NOW_S + 1_000_000)
    (second,) = claim(store)
    store.done(second, NOW + 5)
    assert redis_client.get(key) == b"2"
    assert redis_client.expiretime(key) == NOW_S + 1_000_000


# -- item 8: archive ---------------------------------------------------------------------------


def test_item8_archive_scores_now_keeps_retried_and_counts_a_failure(store, redis_client):
    msg = seed_task(redis_client, "pending", now=NOW, retry=3, retried=3)
    (claimed,) = claim(store)
    store.archive(claimed, "gave up", NOW)
    assert redis_client.zrange(keys.archived_key("default"), 0, -1, withscores=True) == [
        (msg.id.encode(), float(NOW_S))
    ]
    fields = task_hash(redis_client, "default", msg.id)
    assert fields[b"state"] == b"archived"
    stored = decode_task_message(fields[b"msg"])
    assert (stored.retried, stored.error_msg, stored.last_failed_at) == (3, "gave up", NOW_S)
    assert redis_client.get(keys.failed_total_key("default")) == b"1"
    assert redis_client.get(keys.failed_key("default", TODAY)) == b"1"
    assert redis_client.get(keys.processed_key("default", TODAY)) == b"1"


def seed_archived(r: redis.Redis, count: int, score: int) -> list[str]:
    """``count`` archived IDs scored score, score+1, ... (oldest first)."""
    ids = [f"old-{score}-{i}" for i in range(count)]
    pipe = r.pipeline(transaction=False)
    for tid in ids:
        pipe.hset(keys.task_key("default", tid), mapping={"msg": b"", "state": "archived"})
    for start in range(0, count, 5000):
        chunk = {tid: score + start + i for i, tid in enumerate(ids[start : start + 5000])}
        pipe.zadd(keys.archived_key("default"), chunk)
    pipe.execute()
    return ids


def test_item8_archive_trims_to_9999_and_deletes_the_trimmed_hashes(store, redis_client):
    expired = seed_archived(redis_client, 3, NOW_S - 91 * 24 * 3600)
    recent = seed_archived(redis_client, 10_002, NOW_S - 20_000)
    msg = seed_task(redis_client, "pending", now=NOW)
    (claimed,) = claim(store)
    store.archive(claimed, "boom", NOW)
    archived = redis_client.zrange(keys.archived_key("default"), 0, -1)
    assert len(archived) == 9_999
    assert archived[-1] == msg.id.encode()
    trimmed = expired + recent[:4]  # 3 by age, then the oldest 4 over the cap
    for tid in trimmed:
        assert not redis_client.exists(keys.task_key("default", tid))
    assert redis_client.exists(keys.task_key("default", recent[4]))


def test_archive_survives_more_expired_ids_than_go_can_unpack(store, redis_client):
    expired = seed_archived(redis_client, 9_000, NOW_S - 100 * 24 * 3600)
    seed_task(redis_client, "pending", now=NOW)
    (claimed,) = claim(store)
    store.archive(claimed, "boom", NOW)
    assert redis_client.zrange(keys.archived_key("default"), 0, -1) == [claimed.id.encode()]
    assert not redis_client.exists(keys.task_key("default", expired[0]))
    assert not redis_client.exists(keys.task_key("default", expired[-1]))
    assert task_hash(redis_client, "default", claimed.id)[b"state"] == b"archived"


# -- item 9: completed with retention ----------------------------------------------------------


def test_item9_success_with_retention_keeps_the_task_as_completed(store, redis_client):
    msg = seed_task(redis_client, "pending", now=NOW, retention=60)
    redis_client.hset(keys.task_key("default", msg.id), "result", b"out")
    (claimed,) = claim(store)
    store.mark_complete(claimed, NOW)
    assert redis_client.zrange(keys.completed_key("default"), 0, -1, withscores=True) == [
        (msg.id.encode(), float(NOW_S + 60))
    ]
    fields = task_hash(redis_client, "default", msg.id)
    assert fields[b"state"] == b"completed"
    assert fields[b"result"] == b"out"
    assert decode_task_message(fields[b"msg"]).completed_at == NOW_S
    assert redis_client.get(keys.processed_total_key("default")) == b"1"
    assert redis_client.keys("asynq:{default}:failed*") == []


def test_item9_janitor_deletes_completed_tasks_once_their_retention_ends(store, redis_client):
    kept = seed_task(redis_client, "completed", now=NOW, score=NOW_S + 1)
    gone = [seed_task(redis_client, "completed", now=NOW, score=NOW_S - 5) for _ in range(150)]
    assert store.delete_expired_completed("default", NOW, 100) == 100
    assert store.delete_expired_completed("default", NOW, 100) == 50
    assert store.delete_expired_completed("default", NOW, 100) == 0
    assert redis_client.zrange(keys.completed_key("default"), 0, -1) == [kept.id.encode()]
    assert not redis_client.exists(keys.task_key("default", gone[0].id))


# -- item 10: counters read back through the inspector ---------------------------------------


def test_item10_queue_info_after_our_worker_matches_the_raw_keys(redis_url, redis_client):
    mux = ServeMux()
    mux.register("ok", lambda task: None)

    def fail(task):
        raise RuntimeError("nope")

    mux.register("fail", fail)
    for _ in range(3):
        seed_task(redis_client, "pending", type="ok")
    seed_task(redis_client, "pending", type="fail", retry=0)
    seed_task(redis_client, "pending", type="ok", retention=3600)
    server = Server.from_url(redis_url, mux=mux, concurrency=2)
    server.run(burst=True)
    info = Inspector.from_url(redis_url).get_queue_info("default")
    today = utc_date(info.timestamp.timestamp())
    assert (info.pending, info.active, info.archived, info.completed) == (0, 0, 1, 1)
    assert info.size == 2
    assert info.processed == int(redis_client.get(keys.processed_key("default", today))) == 5
    assert info.failed == int(redis_client.get(keys.failed_key("default", today))) == 1
    assert (info.processed_total, info.failed_total) == (5, 1)
    assert info.paused is False


# -- item 17: pause is honoured ----------------------------------------------------------------


def test_item17_a_paused_queue_is_not_served_while_others_are(redis_url, redis_client):
    seen: list[str] = []
    mux = ServeMux()
    mux.register("email:send", lambda task: seen.append(task.queue))
    seed_task(redis_client, "pending", queue="stopped")
    seed_task(redis_client, "pending", queue="open")
    Inspector.from_url(redis_url).pause_queue("stopped")
    assert redis_client.ttl(keys.paused_key("stopped")) == -1
    int(redis_client.get(keys.paused_key("stopped")))
    Server.from_url(redis_url, queues={"stopped": 1, "open": 1}, mux=mux).run(burst=True)
    assert seen == ["open"]
    assert redis_client.llen(keys.pending_key("stopped")) == 1


# -- item 18: cancellation ---------------------------------------------------------------------


def test_item18_cancel_processing_moves_the_running_task_to_retry_with_context_canceled(
    redis_url, redis_client
):
    started = threading.Event()
    mux = ServeMux()

    def wait_for_cancel(task):
        started.set()
        task.cancel_event.wait(30)

    mux.register("email:send", wait_for_cancel)
    msg = seed_task(redis_client, "pending")
    server = Server.from_url(redis_url, mux=mux, concurrency=1, retry_delay=lambda n, e, t: 3600)
    server.start(burst=True)
    try:
        assert started.wait(10)
        Inspector.from_url(redis_url).cancel_processing(msg.id)
        assert server.wait(10)
    finally:
        server.stop(0)
    fields = task_hash(redis_client, "default", msg.id)
    assert fields[b"state"] == b"retry"
    stored = decode_task_message(fields[b"msg"])
    assert (stored.error_msg, stored.retried) == ("context canceled", 1)


# -- item 19: server and worker info -----------------------------------------------------------


def test_item19_server_and_worker_info_decode_back_to_what_was_written(store, redis_client):
    clock = FrozenClock(NOW)
    block = threading.Event()
    mux = ServeMux()
    mux.register("email:send", lambda task: block.wait(30))
    config = ServerConfig(queues={"critical": 6, "default": 3}, concurrency=4)
    processor = Processor(store, mux, config, clock)
    heartbeat = Heartbeat(
        store,
        processor,
        ServerIdentity("7f1c2a9e-0000-4000-8000-000000000001", host="host-a", pid=4242),
        clock,
        queues=config.queues,
        concurrency=4,
        strict_priority=False,
        started=NOW - 60,
    )
    msg = seed_task(redis_client, "pending", now=NOW, timeout=120, payload=b"\x00\xffbytes")
    processor.start()
    try:
        for _ in range(200):
            if processor.snapshot():
                break
            block.wait(0.01)
        heartbeat.run_once()
    finally:
        block.set()
        processor.stop(0)
        processor.wait(10)
        processor.close()
    sid = "host-a:4242:7f1c2a9e-0000-4000-8000-000000000001"
    server_key = f"asynq:servers:{{{sid}}}"
    workers_key = f"asynq:workers:{{{sid}}}"
    assert redis_client.zscore(keys.ALL_SERVERS, server_key) == NOW_S + 10
    assert redis_client.zscore(keys.ALL_WORKERS, workers_key) == NOW_S + 10
    assert 0 < redis_client.ttl(server_key) <= 10
    assert 0 < redis_client.ttl(workers_key) <= 10
    info = ServerInfo.FromString(redis_client.get(server_key))
    assert (info.host, info.pid, info.server_id) == ("host-a", 4242, sid.split(":", 2)[2])
    assert (info.concurrency, dict(info.queues), info.strict_priority) == (
        4,
        {"critical": 6, "default": 3},
        False,
    )
    assert (info.status, info.active_worker_count) == ("active", 1)
    assert info.start_time.ToSeconds() == int(NOW - 60)
    worker = WorkerInfo.FromString(redis_client.hget(workers_key, msg.id))
    assert (worker.task_id, worker.task_type, worker.queue) == (msg.id, msg.type, "default")
    assert worker.task_payload == b"\x00\xffbytes"
    assert worker.start_time.ToSeconds() == NOW_S
    assert worker.deadline.ToSeconds() == NOW_S + 120


def test_item19_server_state_is_removed_on_shutdown(redis_url, redis_client):
    Server.from_url(redis_url, mux=ServeMux()).run(burst=True)
    assert redis_client.zcard(keys.ALL_SERVERS) == 0
    assert redis_client.zcard(keys.ALL_WORKERS) == 0
    assert redis_client.keys("asynq:servers:*") == []


# -- item 23: requeue on shutdown --------------------------------------------------------------


def test_item23_requeue_rpushes_the_task_sets_pending_and_changes_no_counter(store, redis_client):
    seed_task(redis_client, "pending", now=NOW)
    later = seed_task(redis_client, "pending", now=NOW)
    (claimed,) = claim(store)
    store.requeue(claimed)
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == [
        later.id.encode(),
        claimed.id.encode(),
    ]
    fields = task_hash(redis_client, "default", claimed.id)
    assert fields[b"state"] == b"pending"
    assert b"pending_since" not in fields
    assert not redis_client.exists(keys.active_key("default"), keys.lease_key("default"))
    assert redis_client.keys("asynq:{default}:processed*") == []
    # The requeued task is the next one out.
    assert claim(store)[0].id == claimed.id


def test_acknowledging_a_task_that_is_no_longer_active_is_not_found_and_counts_nothing(
    store, redis_client
):
    msg = seed_task(redis_client, "retry", now=NOW)
    for ack in (
        lambda: store.done(msg, NOW),
        lambda: store.mark_complete(msg, NOW),
        lambda: store.retry(msg, NOW + 10, "x", is_failure=True, now=NOW),
        lambda: store.archive(msg, "x", NOW),
        lambda: store.requeue(msg),
    ):
        with pytest.raises(AckNotFoundError):
            ack()
    assert task_hash(redis_client, "default", msg.id)[b"state"] == b"retry"
    assert redis_client.keys("asynq:{default}:processed*") == []
    assert redis_client.keys("asynq:{default}:failed*") == []
