"""Crash safety across real process boundaries: SIGKILL, SIGTERM, and a Redis restart.

The worker runs as a subprocess (tests/support/crash_worker.py) with leases of 2 s and a
recoverer every 0.5 s, so a killed worker's tasks come back within seconds. These tests poll
Redis with a deadline: that is the process boundary, not a wait for time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.handlers import ServeMux
from queuecore.server import Server
from tests.support.crash_worker import HANDLED_KEY, TASK_TYPE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
DEADLINE = 45.0


def start_worker(url: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.crash_worker", url, *extra],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def wait_until(predicate, what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def leftovers(redis_client) -> dict[str, int]:
    q = "default"
    return {
        "pending": redis_client.llen(keys.pending_key(q)),
        "active": redis_client.llen(keys.active_key(q)),
        "lease": redis_client.zcard(keys.lease_key(q)),
        "scheduled": redis_client.zcard(keys.scheduled_key(q)),
        "retry": redis_client.zcard(keys.retry_key(q)),
        "archived": redis_client.zcard(keys.archived_key(q)),
        "tasks": len(redis_client.keys("asynq:{default}:t:*")),
    }


def enqueue(url: str, count: int) -> set[str]:
    with Client.from_url(url) as client:
        infos = client.enqueue_many([Task(TASK_TYPE, b"x") for _ in range(count)])
    return {info.id for info in infos}


def handled(redis_client) -> set[str]:
    return {member.decode() for member in redis_client.smembers(HANDLED_KEY)}


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(30)


def test_sigkilled_workers_lose_no_task(redis_url, redis_client):
    ids = enqueue(redis_url, 2000)
    worker = start_worker(redis_url)
    try:
        for threshold in (300, 800, 1300):
            wait_until(lambda t=threshold: redis_client.scard(HANDLED_KEY) >= t, f"{threshold}")
            worker.kill()
            worker.wait(10)
            # The killed worker held tasks: they are active with leases nobody extends now.
            worker = start_worker(redis_url)
        wait_until(
            lambda: handled(redis_client) >= ids and leftovers(redis_client)["tasks"] == 0,
            "every task handled and acknowledged",
        )
    finally:
        assert stop(worker) == 0
    assert handled(redis_client) == ids
    assert leftovers(redis_client) == dict.fromkeys(leftovers(redis_client), 0)
    # The kills caught tasks in flight (at most 10 each): those came back through lease
    # expiry and the recoverer, which counts each as a failure ("asynq: task lease expired").
    assert 1 <= int(redis_client.get(keys.failed_total_key("default")) or 0) <= 30


def test_sigterm_mid_run_loses_nothing(redis_url, redis_client):
    ids = enqueue(redis_url, 1500)
    worker = start_worker(redis_url)
    try:
        wait_until(lambda: redis_client.scard(HANDLED_KEY) >= 400, "400 handled")
    finally:
        assert stop(worker) == 0
    state = leftovers(redis_client)
    assert (state["active"], state["lease"], state["retry"]) == (0, 0, 0)
    # Everything not handled is still pending (requeued or never claimed).
    assert state["pending"] == state["tasks"]
    assert len(handled(redis_client)) + state["pending"] >= len(ids)
    assert redis_client.zcard(keys.ALL_SERVERS) == 0  # it deregistered itself
    finisher = start_worker(redis_url, "burst")
    assert finisher.wait(DEADLINE) == 0
    assert handled(redis_client) == ids
    assert leftovers(redis_client)["tasks"] == 0


def test_a_redis_restart_mid_run_is_survived(redis_server, redis_url, redis_client):
    seen: set[str] = set()
    lock = threading.Lock()
    mux = ServeMux()

    def record(task):
        with lock:
            seen.add(task.id)

    mux.register(TASK_TYPE, record)
    server = Server.from_url(redis_url, mux=mux, heartbeat_interval=0.2)
    server.start()
    try:
        before = enqueue(redis_url, 50)
        wait_until(lambda: seen >= before, "tasks before the restart")
        redis_server.restart()  # no persistence: Redis comes back empty, scripts forgotten
        after = enqueue(redis_url, 50)
        wait_until(lambda: seen >= after, "tasks after the restart")
        wait_until(lambda: redis_client.zcard(keys.ALL_SERVERS) == 1, "the server registered again")
    finally:
        server.stop()
        assert server.wait(30)
    assert redis_client.get(keys.processed_total_key("default")) == b"50"
