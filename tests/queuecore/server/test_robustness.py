"""A worker never dies from a Redis reply: failures injected at our own seam, real Redis behind."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import pytest
import redis
from redis.exceptions import ClusterDownError

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.handlers import ServeMux
from queuecore.server import Server, ServerConfig
from queuecore.server.aggregator import Aggregator
from queuecore.server.component import PeriodicComponent
from queuecore.server.forwarder import Forwarder
from queuecore.server.heartbeat import Heartbeat, ServerIdentity
from queuecore.server.janitor import Janitor
from queuecore.server.processor import Processor
from queuecore.server.recoverer import Recoverer
from queuecore.server.subscriber import Subscriber
from tests.queuecore.server.conftest import BURST_DEADLINE
from tests.support.factories import seed_task
from tests.support.faults import FaultyWorkerStore

NOW = 1795621221.0
NOW_S = 1795621221

UNEXPECTED_REPLIES = (
    ClusterDownError("CLUSTERDOWN The cluster is down"),
    redis.ResponseError("ERR unexpected reply"),
    RuntimeError("a bug in a decoder"),
)


class StopAfter(threading.Event):
    """A stop event whose wait() never sleeps: it records the delay and stops after ``rounds``."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds
        self.delays: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.delays.append(-1.0 if timeout is None else timeout)
        if len(self.delays) >= self.rounds:
            self.set()
        return self.is_set()


@pytest.fixture
def faulty(redis_url: str) -> FaultyWorkerStore:
    return FaultyWorkerStore.from_url(redis_url)


def counting_mux(seen: Counter[str]) -> ServeMux:
    mux = ServeMux()
    mux.register("email:send", lambda task: seen.update([task.id]))
    return mux


def enqueue(redis_url: str, count: int) -> set[str]:
    with Client.from_url(redis_url) as client:
        return {client.enqueue(Task("email:send", b"x")).id for _ in range(count)}


def run_burst(store: FaultyWorkerStore, mux: ServeMux, **config: Any) -> Server:
    server = Server(store, ServerConfig(concurrency=4, **config), mux=mux)
    server.start(burst=True)
    assert server.wait(BURST_DEADLINE), "the burst-mode server did not finish"
    return server


def test_the_processor_survives_unexpected_replies_and_runs_every_task_once(
    faulty, redis_url, redis_client
):
    ids = enqueue(redis_url, 20)
    faulty.fail("execute", *UNEXPECTED_REPLIES)
    seen: Counter[str] = Counter()
    server = run_burst(faulty, counting_mux(seen))
    assert faulty.exhausted.is_set()
    assert seen == Counter(dict.fromkeys(ids, 1))
    assert server.processor.processed == 20
    assert redis_client.get(keys.processed_total_key("default")) == b"20"
    assert redis_client.llen(keys.active_key("default")) == 0


def test_acks_whose_reply_was_lost_are_resent_alone_and_not_counted_twice(
    faulty, redis_url, redis_client, caplog
):
    ids = enqueue(redis_url, 12)
    faulty.lose_replies("done", 2)
    seen: Counter[str] = Counter()
    with caplog.at_level(logging.DEBUG, logger="queuecore.server.processor"):
        run_burst(faulty, counting_mux(seen))
    assert seen == Counter(dict.fromkeys(ids, 1))
    # Redis counted each task once although two done calls ran twice.
    assert redis_client.get(keys.processed_total_key("default")) == b"12"
    assert redis_client.keys("asynq:{default}:t:*") == []
    resent = [r for r in caplog.records if "re-sent done" in r.getMessage()]
    assert resent
    assert all(r.levelno == logging.DEBUG for r in resent)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "could not" in r.msg]


def test_an_idle_queue_waiter_survives_unexpected_replies(faulty, redis_url):
    faulty.fail("wait_for_pending", *UNEXPECTED_REPLIES)
    seen: Counter[str] = Counter()
    done = threading.Event()
    mux = ServeMux()

    def handle(task: Any) -> None:
        seen.update([task.id])
        done.set()

    mux.register("email:send", handle)
    config = ServerConfig(queues={"default": 1, "low": 1}, concurrency=2)
    server = Server(faulty, config, mux=mux)
    server.start()
    try:
        assert faulty.exhausted.wait(BURST_DEADLINE)
        waiters = {t.name for t in threading.enumerate() if t.name.startswith("queuecore-waiter")}
        assert waiters == {"queuecore-waiter-default", "queuecore-waiter-low"}
        enqueue(redis_url, 1)
        assert done.wait(BURST_DEADLINE)
    finally:
        server.stop(0)
        assert server.wait(BURST_DEADLINE)
    assert sum(seen.values()) == 1


def component_cases(store: FaultyWorkerStore) -> list[tuple[str, PeriodicComponent]]:
    clock = FrozenClock(NOW)
    processor = Processor(store, ServeMux(), ServerConfig(), clock)
    heartbeat = Heartbeat(
        store,
        processor,
        ServerIdentity("s1"),
        clock,
        queues={"default": 1},
        concurrency=1,
        strict_priority=False,
        started=NOW,
    )
    return [
        ("write_server_state", heartbeat),
        ("forward", Forwarder(store, ["default"], clock)),
        ("list_lease_expired", Recoverer(store, ["default"], clock)),
        ("delete_expired_completed", Janitor(store, ["default"], clock)),
        (
            "group_names",
            Aggregator(store, ["default"], clock, lambda g, t: None, lambda t, q: None),
        ),
    ]


@pytest.mark.parametrize("index", range(5), ids=lambda i: f"component-{i}")
def test_every_background_component_logs_a_failed_iteration_backs_off_and_goes_on(
    faulty, redis_client, index
):
    operation, component = component_cases(faulty)[index]
    seed_task(redis_client, "scheduled", score=NOW_S - 1)
    faulty.fail(operation, *UNEXPECTED_REPLIES)
    original = component.run_once
    successes: list[Any] = []

    def run_once() -> Any:
        result = original()
        successes.append(result)
        return result

    component.run_once = run_once  # type: ignore[method-assign]
    stop = StopAfter(rounds=5)
    component.run_forever(stop)  # returns: the stop event never sleeps
    assert faulty.exhausted.is_set()
    assert len(successes) >= 1, f"{component.name} never ran again after its failures"
    backoff = stop.delays[1:4] if not component.run_at_start else stop.delays[:3]
    assert backoff == sorted(backoff), "failures back off exponentially"
    assert backoff[0] < component.interval
    assert backoff[-1] <= component.interval
    # The heartbeat waits in early_check slices, to write a newly started task's record early.
    assert stop.delays[-1] == min(component.interval, component.early_check or component.interval)


def test_the_cancel_subscriber_resubscribes_after_unexpected_replies(faulty, redis_client):
    cancelled: list[str] = []
    stop = threading.Event()

    def on_cancel(task_id: str) -> bool:
        cancelled.append(task_id)
        stop.set()
        return False

    faulty.fail("subscribe_cancel", *UNEXPECTED_REPLIES)
    subscriber = Subscriber(faulty, on_cancel, retry_interval=0.05, poll_timeout=0.05)
    thread = threading.Thread(target=subscriber.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        assert faulty.exhausted.wait(BURST_DEADLINE)
        # Publish until heard: the resubscription happens on the subscriber's own thread.
        for _ in range(200):
            if stop.wait(0.05):
                break
            redis_client.publish(keys.CANCEL_CHANNEL, "task-1")
    finally:
        stop.set()
        thread.join(BURST_DEADLINE)
    assert not thread.is_alive()
    assert cancelled[:1] == ["task-1"]


def server_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("queuecore")}


def test_no_thread_of_a_burst_server_outlives_its_return(redis_url):
    before = set(threading.enumerate())
    enqueue(redis_url, 3)
    seen: Counter[str] = Counter()
    run_burst(FaultyWorkerStore.from_url(redis_url), counting_mux(seen))
    assert sum(seen.values()) == 3
    assert set(threading.enumerate()) - before == set()


def test_no_thread_of_a_stopped_server_outlives_its_shutdown(redis_url):
    before = set(threading.enumerate())
    mux = ServeMux()
    mux.register("email:send", lambda task: None)
    mux.register("email:async", _async_handler)
    server = Server.from_url(
        redis_url, mux=mux, queues={"default": 1, "low": 1}, group_aggregator=lambda g, t: None
    )
    server.start()
    with Client.from_url(redis_url) as client:
        client.enqueue(Task("email:async", b""))
    assert ASYNC_RAN.wait(BURST_DEADLINE)  # the asyncio loop thread is up too
    assert server_threads() - before
    server.stop(0)
    assert server.wait(BURST_DEADLINE)
    assert set(threading.enumerate()) - before == set()


ASYNC_RAN = threading.Event()


async def _async_handler(task: Any) -> None:
    ASYNC_RAN.set()
