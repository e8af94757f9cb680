"""Background duties (spec §4.3) through their run_once(), with a FrozenClock."""

from __future__ import annotations

import threading

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.handlers import ServeMux
from queuecore.messages import decode_task_message
from queuecore.server import ServerConfig
from queuecore.server.aggregator import Aggregator
from queuecore.server.forwarder import Forwarder
from queuecore.server.heartbeat import Heartbeat, ServerIdentity
from queuecore.server.janitor import Janitor
from queuecore.server.processor import Processor
from queuecore.server.recoverer import Recoverer
from queuecore.server.subscriber import Subscriber
from tests.support.factories import seed_task

NOW = 1795621221.0
NOW_S = 1795621221


def test_forwarder_moves_due_scheduled_and_retry_tasks_to_pending_in_batches_of_100(
    store, redis_client
):
    due = [seed_task(redis_client, "scheduled", score=NOW_S - i) for i in range(150)]
    retry = seed_task(redis_client, "retry", score=NOW_S)
    later = seed_task(redis_client, "scheduled", score=NOW_S + 1)
    assert store.forward("default", "scheduled", NOW) == 100
    forwarder = Forwarder(store, ["default"], FrozenClock(NOW))
    assert forwarder.run_once() == 51
    assert redis_client.llen(keys.pending_key("default")) == 151
    assert redis_client.zrange(keys.scheduled_key("default"), 0, -1) == [later.id.encode()]
    for msg in (due[0], retry):
        fields = redis_client.hgetall(keys.task_key("default", msg.id))
        assert fields[b"state"] == b"pending"
        assert fields[b"pending_since"] == str(int(NOW * 1e9)).encode()


def test_forwarder_sends_a_grouped_task_back_to_its_group_without_touching_groups(
    store, redis_client
):
    msg = seed_task(redis_client, "retry", score=NOW_S - 1)
    redis_client.hset(keys.task_key("default", msg.id), "group", "batch")
    assert store.forward("default", "retry", NOW) == 1
    assert redis_client.zscore(keys.group_key("default", "batch"), msg.id) == NOW_S
    assert redis_client.hget(keys.task_key("default", msg.id), "state") == b"aggregating"
    assert not redis_client.exists(keys.all_groups("default"))
    assert not redis_client.exists(keys.pending_key("default"))


def test_janitor_deletes_expired_completed_tasks_of_every_queue(store, redis_client):
    for queue in ("a", "b"):
        for _ in range(120):
            seed_task(redis_client, "completed", queue=queue, score=NOW_S - 1)
    kept = seed_task(redis_client, "completed", queue="a", score=NOW_S + 60)
    assert Janitor(store, ["a", "b"], FrozenClock(NOW)).run_once() == 240
    assert redis_client.zrange(keys.completed_key("a"), 0, -1) == [kept.id.encode()]
    assert redis_client.keys("asynq:{b}:t:*") == []


def seed_group(redis_client, group: str, count: int, score: int, queue: str = "default"):
    return [
        seed_task(redis_client, "aggregating", queue=queue, group_key=group, score=score)
        for _ in range(count)
    ]


def make_aggregator(store, clock, aggregate, enqueue, **options):
    return Aggregator(store, ["default"], clock, aggregate, enqueue, **options)


def test_aggregator_combines_a_group_after_its_grace_period(store, redis_client, redis_url):
    members = seed_group(redis_client, "digest", 3, NOW_S - 61)
    clock = FrozenClock(NOW)
    calls = []

    def combine(group, tasks):
        calls.append((group, sorted(t.payload for t in tasks)))
        return Task("digest:send", b"|".join(sorted(t.payload for t in tasks)))

    client = Client(redis_url, clock=clock)
    aggregator = make_aggregator(
        store, clock, combine, lambda task, queue: client.enqueue(task, queue=queue)
    )
    assert aggregator.run_once() == 1
    assert calls == [("digest", sorted(bytes(m.payload) for m in members))]
    for msg in members:
        assert not redis_client.exists(keys.task_key("default", msg.id))
    assert not redis_client.exists(keys.group_key("default", "digest"))
    assert not redis_client.sismember(keys.all_groups("default"), "digest")
    assert redis_client.zcard(keys.all_aggregation_sets("default")) == 0
    (new_id,) = redis_client.lrange(keys.pending_key("default"), 0, -1)
    created = decode_task_message(
        redis_client.hget(keys.task_key("default", new_id.decode()), "msg")
    )
    assert created.type == "digest:send"


def test_aggregator_waits_while_the_group_is_still_growing(store, redis_client):
    seed_group(redis_client, "digest", 2, NOW_S - 10)
    aggregator = make_aggregator(store, FrozenClock(NOW), lambda g, t: None, lambda t, q: None)
    assert aggregator.run_once() == 0
    assert redis_client.zcard(keys.group_key("default", "digest")) == 2


def test_aggregator_cuts_a_full_group_at_max_size(store, redis_client):
    seed_group(redis_client, "digest", 5, NOW_S)
    sizes = []

    def combine(group, tasks):
        sizes.append(len(tasks))
        return Task("digest:send", b"")

    aggregator = make_aggregator(store, FrozenClock(NOW), combine, lambda t, q: None, max_size=2)
    assert aggregator.run_once() == 1
    assert sizes == [2]
    assert redis_client.zcard(keys.group_key("default", "digest")) == 3
    assert redis_client.sismember(keys.all_groups("default"), "digest")


def test_aggregator_honours_max_delay(store, redis_client):
    seed_group(redis_client, "digest", 1, NOW_S - 100)
    seed_group(redis_client, "digest", 1, NOW_S)
    aggregator = make_aggregator(
        store,
        FrozenClock(NOW),
        lambda g, t: Task("digest:send", b""),
        lambda t, q: None,
        max_delay=60,
    )
    assert aggregator.run_once() == 1
    assert not redis_client.exists(keys.group_key("default", "digest"))


def test_a_failed_aggregation_leaves_its_set_for_the_recoverer(store, redis_client):
    members = seed_group(redis_client, "digest", 2, NOW_S - 61)

    def broken(group, tasks):
        raise RuntimeError("no")

    clock = FrozenClock(NOW)
    assert make_aggregator(store, clock, broken, lambda t, q: None).run_once() == 0
    (set_key,) = redis_client.zrange(keys.all_aggregation_sets("default"), 0, -1)
    assert redis_client.zscore(keys.all_aggregation_sets("default"), set_key) == NOW_S + 120
    recoverer = Recoverer(store, ["default"], clock)
    recoverer.run_once()
    assert redis_client.zcard(keys.all_aggregation_sets("default")) == 1  # not stale yet
    clock.advance(120)
    recoverer.run_once()
    assert not redis_client.exists(set_key)
    assert redis_client.zcard(keys.all_aggregation_sets("default")) == 0
    group = redis_client.zrange(keys.group_key("default", "digest"), 0, -1, withscores=True)
    assert sorted(group) == sorted((m.id.encode(), float(NOW_S - 61)) for m in members)


def test_a_server_with_an_aggregator_enqueues_through_the_client(redis_url, redis_client, burst):
    seed_group(redis_client, "digest", 2, NOW_S - 1000)
    seen = []
    mux = ServeMux()
    mux.register("digest:send", lambda task: seen.append(task.payload))
    server = burst(
        mux,
        group_aggregator=lambda group, tasks: Task("digest:send", str(len(tasks)).encode()),
    )
    # A burst run aggregates ready groups before it exits, then processes the result.
    assert server.aggregator is not None
    assert seen == [b"2"]
    assert server.aggregator.run_once() == 0


def test_subscriber_cancels_the_named_running_task(store, redis_client, redis_url):
    started = threading.Event()
    mux = ServeMux()

    def wait(task):
        started.set()
        task.cancel_event.wait(30)

    mux.register("email:send", wait)
    msg = seed_task(redis_client, "pending")
    processor = Processor(
        store, mux, ServerConfig(concurrency=1, retry_delay=lambda n, e, t: 3600), FrozenClock(NOW)
    )
    subscriber = Subscriber(store, processor.cancel)
    subscriber.connect()
    processor.start(burst=True)
    try:
        assert started.wait(10)
        assert redis_client.publish(keys.CANCEL_CHANNEL, "some-other-task") >= 1
        assert subscriber.run_once(timeout=5) == "some-other-task"
        assert redis_client.publish(keys.CANCEL_CHANNEL, msg.id) >= 1
        assert subscriber.run_once(timeout=5) == msg.id
        assert processor.wait(10)
    finally:
        subscriber.close()
        processor.stop(0)
        processor.close()
    fields = redis_client.hgetall(keys.task_key("default", msg.id))
    assert fields[b"state"] == b"retry"
    assert decode_task_message(fields[b"msg"]).error_msg == "context canceled"


def test_heartbeat_does_not_extend_a_lease_that_already_expired(store, redis_client):
    clock = FrozenClock(NOW)
    release = threading.Event()
    mux = ServeMux()
    mux.register("email:send", lambda task: release.wait(30))
    msg = seed_task(redis_client, "pending", now=NOW)
    processor = Processor(store, mux, ServerConfig(concurrency=1), clock)
    heartbeat = Heartbeat(
        store,
        processor,
        ServerIdentity("sid"),
        clock,
        queues={"default": 1},
        concurrency=1,
        strict_priority=False,
        started=NOW,
    )
    processor.start()
    try:
        for _ in range(300):
            if processor.snapshot():
                break
            release.wait(0.01)
        clock.advance(30)
        assert heartbeat.run_once() == 0
        assert redis_client.zscore(keys.lease_key("default"), msg.id) == NOW_S + 30
    finally:
        release.set()
        processor.stop(0)
        processor.wait(10)
        processor.close()


def test_heartbeat_writes_no_workers_hash_while_nothing_is_in_flight(store, redis_client):
    processor = Processor(store, ServeMux(), ServerConfig(), FrozenClock(NOW))
    heartbeat = Heartbeat(
        store,
        processor,
        ServerIdentity("sid", host="h", pid=1),
        FrozenClock(NOW),
        queues={"default": 1},
        concurrency=10,
        strict_priority=False,
        started=NOW,
    )
    heartbeat.run_once()
    assert redis_client.exists("asynq:servers:{h:1:sid}")
    assert not redis_client.exists("asynq:workers:{h:1:sid}")
    assert redis_client.zscore(keys.ALL_WORKERS, "asynq:workers:{h:1:sid}") == NOW_S + 10
    heartbeat.clear()
    assert redis_client.keys("asynq:*") == []


def test_heartbeat_is_due_early_once_a_task_starts_and_not_after_writing_it(store, redis_client):
    clock = FrozenClock(NOW)
    release = threading.Event()
    mux = ServeMux()
    mux.register("email:send", lambda task: release.wait(30))
    msg = seed_task(redis_client, "pending", now=NOW)
    processor = Processor(store, mux, ServerConfig(concurrency=1), clock)
    heartbeat = Heartbeat(
        store,
        processor,
        ServerIdentity("sid", host="h", pid=1),
        clock,
        queues={"default": 1},
        concurrency=1,
        strict_priority=False,
        started=NOW,
    )
    heartbeat.run_once()
    assert not heartbeat.due_early()
    processor.start()
    try:
        for _ in range(300):
            if processor.snapshot():
                break
            release.wait(0.01)
        # A task started since the last beat: its worker record is written without waiting 5 s.
        assert heartbeat.due_early()
        heartbeat.run_once()
        assert not heartbeat.due_early()
        assert redis_client.hexists("asynq:workers:{h:1:sid}", msg.id)
    finally:
        release.set()
        processor.stop(0)
        processor.wait(10)
        processor.close()
