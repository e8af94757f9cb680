"""An idle worker picks up new tasks at once, with no wake-up signal from the client.

The fallback poll is set to 60 s here, so a task picked up within the test's deadline was
found by the blocking wait (BLMOVE of the pending list onto itself), the way a task pushed by a
Go client would be. The wait itself must not change the list.
"""

from __future__ import annotations

import threading

import pytest

from queuecore import keys
from queuecore.handlers import ServeMux
from queuecore.inspector import Inspector
from queuecore.server import Server
from tests.support.factories import seed_task

PICKUP_DEADLINE = 10.0


@pytest.fixture
def served(redis_url):
    servers: list[Server] = []

    def start(mux: ServeMux, **options) -> Server:
        options.setdefault("idle_poll_interval", 60)
        server = Server.from_url(redis_url, mux=mux, **options)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(0)
        assert server.wait(10)


def recorder():
    seen: list[str] = []
    arrived = threading.Event()
    mux = ServeMux()

    def record(task):
        seen.append(task.queue)
        arrived.set()

    mux.register("email:send", record)
    return mux, seen, arrived


@pytest.mark.parametrize("queues", [{"default": 1}, {"critical": 3, "default": 1}])
def test_an_idle_worker_picks_up_a_task_pushed_without_any_signal(served, redis_client, queues):
    mux, seen, arrived = recorder()
    server = served(mux, queues=queues)
    # Let it go idle: the heartbeat has registered it and nothing is pending.
    for _ in range(500):
        if redis_client.zcard(keys.ALL_SERVERS):
            break
        arrived.wait(0.01)
    seed_task(redis_client, "pending")  # raw LPUSH, as a Go client does: no PUBLISH, nothing
    assert arrived.wait(PICKUP_DEADLINE)
    assert seen == ["default"]
    assert server.processor.processed <= 1


def test_a_paused_queue_is_served_again_after_unpause(served, redis_client, redis_url):
    mux, seen, arrived = recorder()
    inspector = Inspector.from_url(redis_url)
    inspector.pause_queue("default")
    seed_task(redis_client, "pending")
    server = served(mux, idle_poll_interval=0.2)
    # The worker has looked at the queue and found it paused: it took nothing.
    for _ in range(500):
        if "default" in server.processor._paused:
            break
        arrived.wait(0.01)
    assert "default" in server.processor._paused
    assert redis_client.llen(keys.pending_key("default")) == 1
    assert seen == []
    inspector.unpause_queue("default")
    assert arrived.wait(PICKUP_DEADLINE)
    assert seen == ["default"]
