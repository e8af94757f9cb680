"""A Sentinel-managed primary and replica: a worker, a producer and an Inspector keep working
through ``SENTINEL FAILOVER`` and every acknowledged task is processed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client as BrowserClient

from queuecore.client import Client, Task
from queuecore.errors import QueueCoreError
from queuecore.handlers import ServeMux
from queuecore.inspector import Inspector
from queuecore.server import Server
from tests.cluster.conftest import require_redis_binaries
from tests.support.cluster import SentinelSetup, start_sentinel
from tests.support.redis_server import free_port

pytestmark = pytest.mark.cluster

QUEUE = "failover"
PROCESS_DEADLINE = 60.0


@pytest.fixture(scope="module")
def sentinel() -> Iterator[SentinelSetup]:
    require_redis_binaries()
    setup = start_sentinel(replicas=1, sentinels=1)
    yield setup
    setup.stop()


class Recorder:
    """What the handler saw, for waiting on from the test thread."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.changed = threading.Condition()

    def add(self, payload: bytes) -> None:
        with self.changed:
            self.seen.add(payload)
            self.changed.notify_all()

    def wait_for(self, payloads: set[bytes], timeout: float) -> set[bytes]:
        """The payloads still missing after waiting up to ``timeout`` seconds."""
        with self.changed:
            self.changed.wait_for(lambda: payloads <= self.seen, timeout=timeout)
            return payloads - self.seen


class Producer(threading.Thread):
    """Enqueues one task at a time until stopped; remembers which were acknowledged."""

    def __init__(self, client: Client) -> None:
        super().__init__(name="producer", daemon=True)
        self.client = client
        self.acknowledged: list[bytes] = []
        self.refused: list[tuple[bytes, str]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        index = 0
        while not self.stop_event.is_set():
            payload = f"during-{index}".encode()
            index += 1
            try:
                self.client.enqueue(Task("job", payload), queue=QUEUE)
            except QueueCoreError as exc:
                self.refused.append((payload, str(exc)))
            else:
                self.acknowledged.append(payload)
            self.stop_event.wait(0.01)


@pytest.fixture
def dashboard(client: BrowserClient, settings: Any, sentinel: SentinelSetup) -> BrowserClient:
    settings.QUEUECORE = {**settings.QUEUECORE, "REDIS_URL": sentinel.url}
    user = User.objects.create_user("sentinel-viewer", password="pw-12345-long")
    user.groups.add(Group.objects.get(name="viewer"))
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_worker_processes_every_task_through_a_sentinel_failover(
    sentinel: SentinelSetup, dashboard: BrowserClient
) -> None:
    recorder = Recorder()
    mux = ServeMux()

    @mux.handle("job")
    def job(task: object) -> None:
        recorder.add(task.payload)  # type: ignore[attr-defined]

    url = sentinel.url
    server = Server.from_url(
        url, queues={QUEUE: 1}, concurrency=4, mux=mux, shutdown_timeout=2, idle_poll_interval=0.2
    )
    inspector = Inspector.from_url(url)
    client = Client.from_url(url)
    producer = Producer(Client.from_url(url))
    server.start()
    try:
        before = {f"before-{i}".encode() for i in range(50)}
        for payload in sorted(before):
            client.enqueue(Task("job", payload), queue=QUEUE)
        sentinel.wait_replicated()
        assert dashboard.get("/").status_code == 200
        producer.start()
        old_primary = sentinel.primary_port()
        new_primary = sentinel.failover()
        assert new_primary != old_primary
        sentinel.wait_demoted(old_primary)
        sentinel.wait_replicated()
        after = {f"after-{i}".encode() for i in range(50)}
        for payload in sorted(after):
            client.enqueue(Task("job", payload), queue=QUEUE)
        producer.stop_event.set()
        producer.join(60)
        assert producer.acknowledged, "the producer never got an enqueue through"
        missing = recorder.wait_for(before | after | set(producer.acknowledged), PROCESS_DEADLINE)
        assert missing == set()
        # The Inspector made before the failover reads the new primary by itself.
        info = inspector.redis_info()
        assert info.info["tcp_port"] == str(new_primary)
        assert info.info["role"] == "master"
        assert inspector.get_queue_info(QUEUE).pending == 0
        # So does the dashboard's shared Inspector.
        page = dashboard.get("/")
        assert page.status_code == 200
        assert QUEUE in page.content.decode()
    finally:
        producer.stop_event.set()
        server.shutdown(10)
        inspector.close()
        client.close()
        producer.client.close()


def test_sentinel_url_with_db_and_master_name_reaches_the_primary(
    sentinel: SentinelSetup,
) -> None:
    with Client.from_url(sentinel.url.replace("/0?", "/3?")) as client:
        client.enqueue(Task("job", b"db3"), queue="dbq")
    with Inspector.from_url(sentinel.url.replace("/0?", "/3?")) as inspector:
        assert inspector.queues() == ["dbq"]
    with Inspector.from_url(sentinel.url) as inspector:
        assert "dbq" not in inspector.queues()


def test_a_dead_sentinel_in_the_list_is_skipped(sentinel: SentinelSetup) -> None:
    live = ",".join(f"127.0.0.1:{s.port}" for s in sentinel.sentinels)
    url = f"redis-sentinel://127.0.0.1:{free_port()},{live}/0?master={sentinel.master_name}"
    with Client.from_url(url) as client:
        info = client.enqueue(Task("job", b"via-second-sentinel"), queue="skipq")
    with Inspector.from_url(url) as inspector:
        assert inspector.get_task_info("skipq", info.id).payload == b"via-second-sentinel"
