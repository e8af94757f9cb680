"""The group aggregator: many groups in one pass, overlapping passes, asynq's bound of three."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import pytest

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.errors import RedisUnavailableError
from queuecore.messages import decode_task_message
from queuecore.rdb.worker import WorkerStore
from queuecore.server.aggregator import MAX_CONCURRENT_CHECKS, Aggregator
from tests.support.factories import seed_task
from tests.support.faults import FaultyWorkerStore

NOW = 1795621221.0
NOW_S = 1795621221
QUEUES = ["alpha", "beta", "gamma"]


def seed_groups(redis_client: Any, queues: list[str], groups: int, score: int) -> dict[bytes, str]:
    """``groups`` groups of 1-4 members in each queue; member payload -> its queue."""
    members: dict[bytes, str] = {}
    for queue in queues:
        for g in range(groups):
            for _ in range(1 + g % 4):
                msg = seed_task(
                    redis_client, "aggregating", queue=queue, group_key=f"g{g}", score=score
                )
                members[bytes(msg.payload)] = queue
    return members


def joined(group: str, tasks: list[Task]) -> Task:
    return Task("digest", b"\n".join(task.payload for task in tasks), headers={"group": group})


def aggregated_payloads(redis_client: Any, queue: str) -> list[bytes]:
    """The member payloads inside every aggregated task waiting on ``queue``."""
    found = []
    for task_id in redis_client.lrange(keys.pending_key(queue), 0, -1):
        raw = redis_client.hget(keys.task_key(queue, task_id.decode()), "msg")
        msg = decode_task_message(raw)
        assert msg.type == "digest"
        found.extend(bytes(msg.payload).split(b"\n"))
    return found


def test_one_pass_aggregates_every_ready_group_of_every_queue_and_loses_no_task(
    redis_url: str, redis_client: Any
) -> None:
    ready = seed_groups(redis_client, QUEUES, groups=20, score=NOW_S - 100)
    waiting = seed_task(redis_client, "aggregating", queue="beta", group_key="young", score=NOW_S)
    client = Client.from_url(redis_url, clock=FrozenClock(NOW))
    try:
        aggregator = Aggregator(
            WorkerStore.from_url(redis_url),
            QUEUES,
            FrozenClock(NOW),
            joined,
            lambda task, queue: client.enqueue(task, queue=queue),
        )
        assert aggregator.run_once() == 60
    finally:
        client.close()
    for queue in QUEUES:
        payloads = aggregated_payloads(redis_client, queue)
        assert Counter(payloads) == Counter(p for p, q in ready.items() if q == queue)
        assert redis_client.zcard(keys.all_aggregation_sets(queue)) == 0
        assert redis_client.keys(f"asynq:{{{queue}}}:g:*") == [
            *([keys.group_key("beta", "young").encode()] if queue == "beta" else [])
        ]
    # The young group's grace period has not passed: untouched.
    assert redis_client.smembers(keys.all_groups("beta")) == {b"young"}
    assert redis_client.zrange(keys.group_key("beta", "young"), 0, -1) == [waiting.id.encode()]
    assert redis_client.smembers(keys.all_groups("alpha")) == set()


def test_overlapping_passes_aggregate_each_member_exactly_once(
    redis_url: str, redis_client: Any
) -> None:
    members = seed_groups(redis_client, QUEUES, groups=15, score=NOW_S - 100)
    seen: list[bytes] = []
    lock = threading.Lock()
    start = threading.Barrier(MAX_CONCURRENT_CHECKS)

    def collect(group: str, tasks: list[Task]) -> Task:
        with lock:
            seen.extend(task.payload for task in tasks)
        return joined(group, tasks)

    aggregator = Aggregator(
        WorkerStore.from_url(redis_url), QUEUES, FrozenClock(NOW), collect, lambda t, q: None
    )
    counts: list[int] = []

    def one_pass() -> None:
        start.wait()
        counts.append(aggregator.run_once())

    passes = [threading.Thread(target=one_pass) for _ in range(MAX_CONCURRENT_CHECKS)]
    for thread in passes:
        thread.start()
    for thread in passes:
        thread.join()
    assert sum(counts) == 45
    assert Counter(seen) == Counter(members.keys())
    for queue in QUEUES:
        assert redis_client.zcard(keys.all_aggregation_sets(queue)) == 0
        assert redis_client.keys(f"asynq:{{{queue}}}:t:*") == []


class StopAfterTicks(threading.Event):
    """A stop event for run_forever: waits never sleep; after ``ticks`` waits it stops the loop
    and lets the blocked passes end (shutdown then waits for them, as asynq's does)."""

    def __init__(self, ticks: int, release: threading.Event) -> None:
        super().__init__()
        self.ticks = ticks
        self.release = release

    def wait(self, timeout: float | None = None) -> bool:
        self.ticks -= 1
        if self.ticks <= 0:
            self.release.set()
            self.set()
        return self.is_set()


def test_at_most_three_passes_run_at_once_and_a_busy_tick_is_skipped(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    aggregator = Aggregator(
        WorkerStore.from_url(redis_url),
        QUEUES,
        FrozenClock(NOW),
        joined,
        lambda t, q: None,
        interval=0.01,
    )
    release = threading.Event()
    lock = threading.Lock()
    running = 0
    most = 0
    finished = 0

    def slow_pass() -> int:
        nonlocal running, most, finished
        with lock:
            running += 1
            most = max(most, running)
        release.wait(30)
        with lock:
            running -= 1
            finished += 1
        return 0

    aggregator.run_once = slow_pass  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="queuecore.server.aggregator"):
        aggregator.run_forever(StopAfterTicks(ticks=8, release=release))
    assert most == MAX_CONCURRENT_CHECKS
    assert aggregator.skipped_ticks >= 1
    assert "aggregation checks in flight" in caplog.text
    # run_forever returned only after every pass it started had ended.
    assert (running, finished) == (0, MAX_CONCURRENT_CHECKS)


def test_a_queue_that_cannot_be_listed_does_not_stop_the_other_queues(
    redis_url: str, redis_client: Any
) -> None:
    members = seed_groups(redis_client, ["alpha", "beta"], groups=3, score=NOW_S - 100)
    store = FaultyWorkerStore.from_url(redis_url)
    store.fail("group_names", RedisUnavailableError("node of alpha is down"))
    seen: list[bytes] = []

    def collect(group: str, tasks: list[Task]) -> Task:
        seen.extend(task.payload for task in tasks)
        return joined(group, tasks)

    aggregator = Aggregator(store, ["alpha", "beta"], FrozenClock(NOW), collect, lambda t, q: None)
    # The pass still reports the failure (so run_forever backs off) after serving beta.
    with pytest.raises(RedisUnavailableError):
        aggregator.run_once()
    assert Counter(seen) == Counter(p for p, q in members.items() if q == "beta")
    assert aggregator.run_once() == 3  # alpha's turn once its node answers again
    assert Counter(seen) == Counter(members.keys())
