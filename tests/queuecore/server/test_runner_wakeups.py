"""Runner threads woken by need: quick handlers share one awake runner, and handlers that block
still all run at once (the stall check wakes a runner for every queued job)."""

from __future__ import annotations

import threading

from queuecore import keys
from queuecore.clock import SYSTEM_CLOCK
from queuecore.handlers import ServeMux
from queuecore.server.jobs import FAST_HANDLER_SECONDS, WorkQueue
from tests.support.factories import seed_task


def test_blocking_handlers_all_run_at_once_although_recent_handlers_were_quick(burst, redis_client):
    # Each handler waits for the other three: a worker that ran them one after the other on a
    # single runner would never get past the barrier.
    barrier = threading.Barrier(4, timeout=10)
    passed = []
    mux = ServeMux()
    mux.register("quick", lambda task: None)
    mux.register("meet", lambda task: passed.append(barrier.wait()))
    for _ in range(20):
        seed_task(redis_client, "pending", type="quick")
    for _ in range(4):
        seed_task(redis_client, "pending", queue="later", type="meet")

    burst(mux, queues={"default": 2, "later": 1}, strict_priority=True, concurrency=4)

    assert sorted(passed) == [0, 1, 2, 3]
    assert redis_client.get(keys.processed_total_key("later")) == b"4"


def sleeping_runners(work: WorkQueue, count: int) -> list[threading.Lock]:
    """Stand-ins for runner threads asleep in get(): one held lock each."""
    locks = [threading.Lock() for _ in range(count)]
    for lock in locks:
        lock.acquire()
        work._sleepers.append(lock)
    return locks


def test_a_batch_of_quick_jobs_wakes_only_the_runner_that_slept_last():
    work = WorkQueue(SYSTEM_CLOCK)
    locks = sleeping_runners(work, 3)

    work.put_many(["a", "b"])  # type: ignore[list-item]

    assert [lock.locked() for lock in locks] == [True, True, False]
    assert work.waiting_since() is not None


def test_jobs_left_waiting_wake_a_runner_each_when_unstuck():
    work = WorkQueue(SYSTEM_CLOCK)
    locks = sleeping_runners(work, 3)
    work.put_many(["a", "b"])  # type: ignore[list-item]

    work.unstick()  # what the I/O thread does once a job waited STALL_SECONDS

    assert [lock.locked() for lock in locks] == [False, False, False]


def test_queued_jobs_go_to_the_awake_runner_without_waking_another():
    work = WorkQueue(SYSTEM_CLOCK)
    locks = sleeping_runners(work, 2)
    work.add_runner()  # one runner is busy with a quick job

    work.put_many(["a"])  # type: ignore[list-item]

    assert [lock.locked() for lock in locks] == [True, True]
    assert work.get() == "a"


def test_slow_handlers_on_average_get_a_runner_per_job():
    work = WorkQueue(SYSTEM_CLOCK)
    work.record(FAST_HANDLER_SECONDS * 50)  # the running average says: slow handlers
    locks = sleeping_runners(work, 3)

    work.put_many(["a", "b"])  # type: ignore[list-item]

    assert [lock.locked() for lock in locks] == [True, False, False]
