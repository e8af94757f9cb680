"""The processor's timing decisions read the injected clock, never the wall clock directly."""

from __future__ import annotations

import threading
import time

from queuecore import keys
from queuecore.clock import FrozenClock
from queuecore.handlers import HandlerTask, ServeMux
from queuecore.rdb.worker import WorkerStore
from queuecore.server import ServerConfig
from queuecore.server.processor import Processor
from tests.support.factories import seed_task

NOW = 1_700_000_000.0


def test_shutdown_grace_ends_when_the_injected_clock_passes_it(store: WorkerStore, redis_client):
    clock = FrozenClock(NOW)
    started = threading.Event()
    cancelled = threading.Event()
    mux = ServeMux()

    def hold(task: HandlerTask) -> None:
        started.set()
        if task.cancel_event.wait(30):
            cancelled.set()

    mux.register("email:send", hold)
    msg = seed_task(redis_client, "pending", now=clock.now())
    processor = Processor(store, mux, ServerConfig(concurrency=1, idle_poll_interval=0.05), clock)
    processor.start()
    try:
        assert started.wait(10)
        processor.stop(20)  # twenty seconds of grace (inside the 30 s lease), on the injected clock
        # The loop re-checks every idle_poll_interval; with the clock standing still the grace
        # never runs out, however long the wall clock says it has been.
        assert not processor.wait(0.3)
        assert redis_client.lrange(keys.active_key("default"), 0, -1) == [msg.id.encode()]
        clock.advance(21)
        assert processor.wait(10)
    finally:
        processor.stop_now()
        processor.wait(10)
        processor.close()
    # The handler was told to stop (its thread may end a moment after the processor's loop).
    assert cancelled.wait(10)
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == [msg.id.encode()]
    assert not redis_client.exists(keys.active_key("default"), keys.lease_key("default"))


def test_stop_now_ends_the_grace_at_once_whatever_the_clock_says(store: WorkerStore, redis_client):
    clock = FrozenClock(NOW)
    started = threading.Event()
    mux = ServeMux()

    def hold(task: HandlerTask) -> None:
        started.set()
        task.cancel_event.wait(30)

    mux.register("email:send", hold)
    msg = seed_task(redis_client, "pending", now=clock.now())
    processor = Processor(store, mux, ServerConfig(concurrency=1, idle_poll_interval=0.05), clock)
    processor.start()
    try:
        assert started.wait(10)
        processor.stop_now()
        assert processor.wait(10)
    finally:
        processor.close()
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == [msg.id.encode()]


def test_queued_jobs_are_dated_by_the_injected_clock(store: WorkerStore):
    clock = FrozenClock(NOW)
    processor = Processor(store, ServeMux(), ServerConfig(concurrency=1), clock)
    work = processor._work
    assert work.waiting_since() is None
    # No runner thread is started, so the job stays queued and its waiting time is the clock's.
    work.put_many([object()])  # type: ignore[list-item]
    assert work.waiting_since() == NOW
    clock.advance(5)
    work.unstick()
    assert work.waiting_since() == NOW + 5
    assert abs(time.monotonic() - NOW) > 1  # not the process's monotonic clock by chance
