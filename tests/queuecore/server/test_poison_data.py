"""Poison data next to good work: every good task runs once, every bad record is taken out.

Garbage is written straight into asynq's keys (as an operator, a bug or another tool could), next
to 1,000 good tasks; a burst-mode worker then serves the queue and a queue whose ``pending`` key
is a string. The rule under test is the README's "Poison data".
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.handlers import ServeMux
from queuecore.health import HealthThresholds, collect
from queuecore.inspector import Inspector
from queuecore.rdb.worker import WorkerStore
from queuecore.server import Server
from queuecore.server.forwarder import Forwarder
from queuecore.server.recoverer import Recoverer
from queuecore.taskinfo import TaskState
from tests.queuecore.server.conftest import BURST_DEADLINE
from tests.support.factories import make_message, seed_task

GOOD = 1_000
# The ids of the garbage, by where it sits and what it is.
PENDING_BAD = {
    "bad-proto": "hash with a msg that is not protobuf",
    "bad-string": "task key is a string",
    "bad-list": "task key is a list",
    "no-msg": "hash without msg",
}
GHOST = "ghost"  # a pending id with no task key at all


def plant_garbage(redis_client, now: float) -> None:
    q = "default"
    pending = keys.pending_key(q)
    redis_client.hset(keys.task_key(q, "bad-proto"), mapping={"msg": b"not protobuf"})
    redis_client.hset(keys.task_key(q, "bad-proto"), "state", "pending")
    redis_client.set(keys.task_key(q, "bad-string"), "x")
    redis_client.rpush(keys.task_key(q, "bad-list"), "a", "b")
    redis_client.hset(keys.task_key(q, "no-msg"), "state", "pending")
    for task_id in (*PENDING_BAD, GHOST):
        redis_client.lpush(pending, task_id)
    # Due scheduled and retry ids with a string key or no key (the forwarder meets them).
    redis_client.set(keys.task_key(q, "sched-string"), "x")
    redis_client.zadd(keys.scheduled_key(q), {"sched-string": now - 5, "sched-ghost": now - 5})
    redis_client.zadd(keys.retry_key(q), {"retry-ghost": now - 5})
    # Active ids whose lease expired long ago (the recoverer meets them).
    redis_client.set(keys.task_key(q, "leased-string"), "x")
    redis_client.hset(keys.task_key(q, "leased-proto"), mapping={"msg": b"\xff" * 8})
    for task_id in ("leased-string", "leased-proto", "leased-ghost"):
        redis_client.lpush(keys.active_key(q), task_id)
        redis_client.zadd(keys.lease_key(q), {task_id: now - 1000})
    # A queue whose pending key is a string.
    redis_client.sadd(keys.ALL_QUEUES, "wrongtype")
    redis_client.set(keys.pending_key("wrongtype"), "not a list")


def test_good_tasks_all_run_once_next_to_every_kind_of_garbage(redis_url, redis_client):
    now = time.time()
    good: set[str] = set()
    with Client.from_url(redis_url) as client:
        for i in range(GOOD):
            if i == GOOD // 2:
                plant_garbage(redis_client, now)  # in the middle of the good ones
            queue = "low" if i % 10 == 0 else "default"
            good.add(client.enqueue(Task("ok", b"%d" % i), queue=queue).id)
        big = client.enqueue(Task("big", os.urandom(5 * 1024 * 1024))).id
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def record(task) -> None:  # type: ignore[no-untyped-def]
        with lock:
            seen[task.id] += 1

    mux = ServeMux()
    mux.register("ok", record)
    mux.register("big", lambda task: record(task) if len(task.payload) == 5 * 1024 * 1024 else 0)
    server = Server.from_url(
        redis_url,
        mux=mux,
        # The broken queue first in strict order: every claim round meets it before the others.
        queues={"wrongtype": 9, "default": 2, "low": 1},
        strict=True,
        concurrency=10,
    )
    server.start(burst=True)
    assert server.wait(BURST_DEADLINE), "the burst-mode server did not finish"

    assert seen == Counter(dict.fromkeys({*good, big}, 1))
    for q in ("default", "low"):
        assert redis_client.llen(keys.active_key(q)) == 0
        assert redis_client.zcard(keys.lease_key(q)) == 0
        assert redis_client.llen(keys.pending_key(q)) == 0
    archived = {m.decode() for m in redis_client.zrange(keys.archived_key("default"), 0, -1)}
    assert archived == {*PENDING_BAD, "sched-string", "leased-string", "leased-proto"}
    for ghost in (GHOST, "sched-ghost", "retry-ghost", "leased-ghost"):
        assert not redis_client.exists(keys.task_key("default", ghost))
    assert redis_client.zcard(keys.scheduled_key("default")) == 0
    assert redis_client.zcard(keys.retry_key("default")) == 0
    # Each bad record kept its bytes; a hash carries the state of where it now is.
    assert redis_client.get(keys.task_key("default", "bad-string")) == b"x"
    assert redis_client.hget(keys.task_key("default", "bad-proto"), "state") == b"archived"
    counts = server.store.poison.counts
    assert counts[("default", "archived")] == 7
    assert counts[("default", "dropped")] == 4
    # The broken queue was left as it was, and is reported.
    assert redis_client.get(keys.pending_key("wrongtype")) == b"not a list"
    insp = Inspector.from_url(redis_url)
    assert insp.get_queue_info("wrongtype").mistyped_keys == ("pending",)
    page = insp.list_tasks("default", TaskState.ARCHIVED, 1, 100)
    assert (len(page), page.skipped) == (0, 7)
    findings = collect(insp, HealthThresholds(), server.clock)
    assert [(f.rule, f.queue) for f in findings if f.rule == "mistyped_keys"] == [
        ("mistyped_keys", "wrongtype")
    ]


@pytest.mark.parametrize("strict", [True, False])
def test_a_worker_serving_a_mistyped_queue_runs_every_task_of_the_healthy_one(
    redis_url, redis_client, strict
):
    redis_client.sadd(keys.ALL_QUEUES, "wrongtype")
    redis_client.set(keys.pending_key("wrongtype"), "x")
    ids = {seed_task(redis_client, "pending", make_message(type="ok")).id for _ in range(20)}
    seen: Counter[str] = Counter()
    mux = ServeMux()
    mux.register("ok", lambda task: seen.update([task.id]))
    server = Server.from_url(
        redis_url, mux=mux, queues={"default": 1, "wrongtype": 1}, strict=strict, concurrency=10
    )
    server.start(burst=True)
    assert server.wait(BURST_DEADLINE), "the burst-mode server did not finish"
    assert seen == Counter(dict.fromkeys(ids, 1))


def test_forwarder_and_recoverer_go_on_with_the_other_queues_past_a_mistyped_one(
    redis_url, redis_client
):
    now = time.time()
    for name in ("pending", "lease"):
        redis_client.set(getattr(keys, f"{name}_key")("broken"), "x")
    seed_task(redis_client, "scheduled", queue="broken", score=int(now) - 5)
    due = seed_task(redis_client, "scheduled", score=int(now) - 5)
    stale = seed_task(redis_client, "active", score=int(now) - 100)
    store, clock = WorkerStore.from_url(redis_url), FrozenClock(now)
    assert Forwarder(store, ["broken", "default"], clock).run_once() == 1
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == [due.id.encode()]
    assert Recoverer(store, ["broken", "default"], clock).run_once() == 1
    assert redis_client.zscore(keys.retry_key("default"), stale.id) is not None
