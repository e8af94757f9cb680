"""Server states as Go asynq's: active, stopped (Server.stop_processing, SIGTSTP), closed.

A stopped server takes no new task, lets the held ones finish and acknowledges them as usual,
keeps beating (status "stopped", leases extended), and shuts down as usual afterwards. Handlers
here block on an event the test sets, so what is in flight is known exactly; what crosses a
thread boundary (an acknowledgement reaching Redis) is polled with a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import redis

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.handlers import HandlerTask, ServeMux
from queuecore.inspector import Inspector
from queuecore.messages import ServerInfo
from queuecore.server import Server

DEADLINE = 20.0


class Holder:
    """A mux whose "hold" handler blocks until released; "quick" records and returns."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.quick_ran: list[str] = []
        self._started = 0
        self._lock = threading.Lock()
        self._all_started = threading.Event()
        self.expected = 0
        self.mux = ServeMux()
        self.mux.register("hold", self._hold)
        self.mux.register("quick", self._quick)

    def _hold(self, task: HandlerTask) -> None:
        with self._lock:
            self._started += 1
            if self._started >= self.expected:
                self._all_started.set()
        assert self.release.wait(DEADLINE), "the test never released the handler"

    def _quick(self, task: HandlerTask) -> None:
        self.quick_ran.append(task.id)

    def wait_started(self, count: int) -> None:
        with self._lock:
            self.expected = count
            if self._started >= count:
                return
        assert self._all_started.wait(DEADLINE), f"{count} held tasks never started"


@pytest.fixture
def holder() -> Iterator[Holder]:
    h = Holder()
    yield h
    h.release.set()  # never leave a runner thread blocked


@pytest.fixture
def serve(redis_url: str) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(mux: ServeMux, *, burst: bool = False, **options: object) -> Server:
        options.setdefault("concurrency", 4)
        server = Server.from_url(redis_url, mux=mux, **options)  # type: ignore[arg-type]
        server.start(burst=burst)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(0)
        assert server.wait(DEADLINE)


def enqueue(url: str, kind: str, count: int) -> list[str]:
    with Client.from_url(url) as client:
        return [client.enqueue(Task(kind, b""), retention=600).id for _ in range(count)]


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    pause = threading.Event()
    for _ in range(int(DEADLINE / 0.01)):
        if predicate():
            return
        pause.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def task_states(client: redis.Redis, ids: list[str]) -> list[bytes | None]:
    return [client.hget(keys.task_key("default", i), "state") for i in ids]


def pending_ids(client: redis.Redis) -> set[str]:
    return {m.decode() for m in client.lrange(keys.pending_key("default"), 0, -1)}


def server_status(url: str) -> list[str]:
    with Inspector.from_url(url) as inspector:
        return [s.status for s in inspector.servers()]


def test_stop_processing_leaves_queued_tasks_pending_while_in_flight_ones_complete(
    serve, holder, redis_url, redis_client
):
    held = enqueue(redis_url, "hold", 2)
    server = serve(holder.mux, concurrency=2)
    holder.wait_started(2)

    assert server.stop_processing() is True
    assert server.state == "stopped"
    queued = enqueue(redis_url, "quick", 3)
    # Leases of what it holds are still extended while stopped.
    assert server.heartbeat.run_once() == 2
    holder.release.set()
    wait_until(
        lambda: task_states(redis_client, held) == [b"completed", b"completed"],
        "the held tasks to be acknowledged",
    )
    # Had it been claiming, the pipeline that wrote those acks would have claimed for the two
    # freed slots.
    assert pending_ids(redis_client) == set(queued)
    assert task_states(redis_client, queued) == [b"pending"] * 3
    assert server.processor.snapshot() == []

    server.stop()
    assert server.wait(DEADLINE)
    assert holder.quick_ran == []
    assert pending_ids(redis_client) == set(queued)
    assert redis_client.zcard(keys.ALL_SERVERS) == 0  # Go's ClearServerState at shutdown


def test_the_stopped_status_is_written_at_once_and_decodes_back(
    serve, holder, redis_url, redis_client
):
    server = serve(holder.mux, heartbeat_interval=60)
    wait_until(lambda: server_status(redis_url) == ["active"], "the first heartbeat")

    assert server.stop_processing() is True
    ident = server.identity
    raw = redis_client.get(keys.server_info_key(ident.host, ident.pid, ident.server_id))
    assert ServerInfo.FromString(raw).status == "stopped"
    assert server_status(redis_url) == ["stopped"]


def test_the_closed_status_is_written_while_shutting_down_then_the_records_go(
    serve, holder, redis_url, redis_client
):
    enqueue(redis_url, "hold", 1)
    server = serve(holder.mux, heartbeat_interval=60, shutdown_timeout=DEADLINE)
    holder.wait_started(1)

    server.stop()
    server.heartbeat.run_once()  # a beat during the shutdown grace period
    assert server_status(redis_url) == ["closed"]
    assert server.state == "closed"
    holder.release.set()
    assert server.wait(DEADLINE)
    assert redis_client.keys("asynq:servers*") == []
    assert redis_client.keys("asynq:workers*") == []


def test_stop_processing_does_nothing_unless_the_server_is_active(serve, holder, redis_url):
    idle = Server.from_url(redis_url, mux=holder.mux)
    assert idle.stop_processing() is False
    assert idle.state == "new"

    server = serve(holder.mux)
    assert server.stop_processing() is True
    assert server.stop_processing() is False  # stopped already
    server.stop()
    assert server.stop_processing() is False
    assert server.state == "closed"


def test_sigterm_after_stop_processing_requeues_what_outlives_the_shutdown_timeout(
    serve, holder, redis_url, redis_client
):
    (held,) = enqueue(redis_url, "hold", 1)
    server = serve(holder.mux, shutdown_timeout=0)
    holder.wait_started(1)
    server.stop_processing()
    server.stop()  # what SIGTERM does
    assert server.wait(DEADLINE)
    assert pending_ids(redis_client) == {held}  # requeued, not lost


def test_a_burst_run_ends_once_stopped_and_its_held_tasks_are_done(
    serve, holder, redis_url, redis_client
):
    held = enqueue(redis_url, "hold", 1)
    server = serve(holder.mux, burst=True, concurrency=1)
    holder.wait_started(1)
    server.stop_processing()
    queued = enqueue(redis_url, "quick", 2)
    holder.release.set()
    assert server.wait(DEADLINE)
    assert task_states(redis_client, held) == [b"completed"]
    assert pending_ids(redis_client) == set(queued)
