"""The worker Server on a real 3-master cluster: processing, retry, archive, heartbeat records,
and a node restart that fails only its own queues."""

from __future__ import annotations

import threading

import pytest

from queuecore.client import Client, Task
from queuecore.errors import RedisUnavailableError
from queuecore.handlers import ServeMux, SkipRetry
from queuecore.inspector import Inspector
from queuecore.server import Server
from queuecore.taskinfo import TaskState
from tests.support.cluster import ClusterSetup, key_slot

pytestmark = pytest.mark.cluster

BURST_DEADLINE = 60.0


def run_burst(url: str, queues: list[str], mux: ServeMux, **options: object) -> Server:
    server = Server.from_url(
        url,
        queues=dict.fromkeys(queues, 1),
        concurrency=4,
        mux=mux,
        shutdown_timeout=2,
        **options,
    )
    server.start(burst=True)
    assert server.wait(BURST_DEADLINE), "the burst-mode server did not finish"
    return server


def test_server_processes_tasks_from_every_master(
    cluster_url: str, spread_queues: list[str], cluster_client: Client, cluster_inspector: Inspector
) -> None:
    seen: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    mux = ServeMux()

    @mux.handle("work")
    def work(task: object) -> None:
        with lock:
            seen.append((task.queue, task.payload))  # type: ignore[attr-defined]

    expected = set()
    for qname in spread_queues:
        for i in range(10):
            payload = f"{qname}-{i}".encode()
            cluster_client.enqueue(Task("work", payload), queue=qname)
            expected.add((qname, payload))
        cluster_client.enqueue(Task("work", b"kept"), queue=qname, retention=600)
        expected.add((qname, b"kept"))
    run_burst(cluster_url, spread_queues, mux)
    assert set(seen) == expected
    for qname in spread_queues:
        info = cluster_inspector.get_queue_info(qname)
        assert (info.pending, info.active, info.completed) == (0, 0, 1)
        assert (info.processed, info.processed_total) == (11, 11)
        assert cluster_inspector.list_tasks(qname, TaskState.COMPLETED)[0].payload == b"kept"


def test_failing_tasks_go_to_retry_and_archive_on_every_master(
    cluster_url: str, spread_queues: list[str], cluster_client: Client, cluster_inspector: Inspector
) -> None:
    mux = ServeMux()

    @mux.handle("flaky")
    def flaky(task: object) -> None:
        raise RuntimeError("try later")

    @mux.handle("doomed")
    def doomed(task: object) -> None:
        raise SkipRetry("never works")

    for qname in spread_queues:
        cluster_client.enqueue(Task("flaky", b""), queue=qname, max_retry=3)
        cluster_client.enqueue(Task("doomed", b""), queue=qname, max_retry=3)
        cluster_client.enqueue(Task("flaky", b"last"), queue=qname, max_retry=0)
    run_burst(cluster_url, spread_queues, mux, retry_delay=lambda n, err, task: 3600)
    for qname in spread_queues:
        info = cluster_inspector.get_queue_info(qname)
        assert (info.retry, info.archived, info.failed_total) == (1, 2, 3)
        retried = cluster_inspector.list_tasks(qname, TaskState.RETRY)[0]
        assert (retried.retried, retried.last_err) == (1, "try later")
        archived = {t.last_err for t in cluster_inspector.list_tasks(qname, TaskState.ARCHIVED)}
        assert archived == {"never works", "try later"}


def test_running_server_registers_itself_and_its_workers(
    cluster_url: str, spread_queues: list[str], cluster_client: Client, cluster_inspector: Inspector
) -> None:
    started = threading.Event()
    release = threading.Event()
    mux = ServeMux()

    @mux.handle("slow")
    def slow(task: object) -> None:
        started.set()
        release.wait(30)

    cluster_client.enqueue(Task("slow", b""), queue=spread_queues[-1])
    server = Server.from_url(
        cluster_url, queues=dict.fromkeys(spread_queues, 1), concurrency=2, mux=mux
    )
    server.start()
    try:
        assert started.wait(30)
        servers: list = []
        for _ in range(100):
            servers = cluster_inspector.servers()
            if servers and servers[0].active_workers:
                break
            release.wait(0.05)
        assert len(servers) == 1
        assert sorted(servers[0].queues) == sorted(spread_queues)
        assert [w.queue for w in servers[0].active_workers] == [spread_queues[-1]]
    finally:
        release.set()
        server.shutdown(10)
    assert cluster_inspector.servers() == []


def test_restarting_node_fails_only_its_queues_then_they_resume(
    redis_cluster: ClusterSetup, cluster_url: str, spread_queues: list[str]
) -> None:
    # Enqueue and the Inspector's queue check touch asynq:queues, so keep its node up.
    registry_port = redis_cluster.port_of_slot(key_slot("asynq:queues"))
    candidates = [p for p in redis_cluster.ports if p != registry_port]
    down = candidates[0]
    down_queues = [q for q in spread_queues if redis_cluster.port_of_queue(q) == down]
    up_queues = [q for q in spread_queues if redis_cluster.port_of_queue(q) != down]
    with Client.from_url(cluster_url) as client:
        for qname in spread_queues:
            client.enqueue(Task("t", b"before"), queue=qname)
        redis_cluster.stop_node(down)
        try:
            for qname in down_queues:
                with pytest.raises(RedisUnavailableError):
                    client.enqueue(Task("t", b"during"), queue=qname)
            for qname in up_queues:
                client.enqueue(Task("t", b"during"), queue=qname)
            with Inspector.from_url(cluster_url) as inspector:
                for qname in up_queues:
                    assert inspector.get_queue_info(qname).pending == 2
                with pytest.raises(RedisUnavailableError):
                    inspector.get_queue_info(down_queues[0])
        finally:
            redis_cluster.start_node(down)
        for qname in down_queues:
            client.enqueue(Task("t", b"after"), queue=qname)
    with Inspector.from_url(cluster_url) as inspector:
        for qname in down_queues:
            # appendonly: the restarted node kept its task; the one refused while down is absent.
            assert inspector.get_queue_info(qname).pending == 2


def test_worker_keeps_serving_healthy_masters_while_one_restarts(
    redis_cluster: ClusterSetup, cluster_url: str, spread_queues: list[str], cluster_client: Client
) -> None:
    registry_port = redis_cluster.port_of_slot(key_slot("asynq:queues"))
    down = next(p for p in redis_cluster.ports if p != registry_port)
    down_queues = [q for q in spread_queues if redis_cluster.port_of_queue(q) == down]
    up_queues = [q for q in spread_queues if redis_cluster.port_of_queue(q) != down]
    done: list[bytes] = []
    progressed = threading.Condition()
    mux = ServeMux()

    @mux.handle("t")
    def handle(task: object) -> None:
        with progressed:
            done.append(task.payload)  # type: ignore[attr-defined]
            progressed.notify_all()

    def wait_for(payloads: set[bytes]) -> None:
        with progressed:
            assert progressed.wait_for(lambda: payloads <= set(done), timeout=45), (
                f"not processed: {sorted(payloads - set(done))}"
            )

    server = Server.from_url(
        cluster_url,
        queues=dict.fromkeys(spread_queues, 1),
        concurrency=4,
        mux=mux,
        shutdown_timeout=2,
        idle_poll_interval=0.2,
    )
    server.start()
    try:
        first = {f"first-{q}".encode() for q in spread_queues}
        for qname in spread_queues:
            cluster_client.enqueue(Task("t", f"first-{qname}".encode()), queue=qname)
        wait_for(first)
        redis_cluster.stop_node(down)
        try:
            during = {f"during-{q}".encode() for q in up_queues}
            for qname in up_queues:
                cluster_client.enqueue(Task("t", f"during-{qname}".encode()), queue=qname)
            wait_for(during)
        finally:
            redis_cluster.start_node(down)
        after = {f"after-{q}".encode() for q in down_queues}
        for qname in down_queues:
            cluster_client.enqueue(Task("t", f"after-{qname}".encode()), queue=qname)
        wait_for(after)
    finally:
        server.shutdown(10)
