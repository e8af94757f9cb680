"""SIGTSTP across a real process boundary: ``python -m queuecore.server``, single and pooled.

As Go asynq's ``Run()``: SIGTSTP stops taking new tasks (status "stopped"), in-flight tasks
finish as usual, SIGTERM then shuts down cleanly. The worker is a subprocess, so these tests
poll Redis with a deadline — the process boundary, not a wait for time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.inspector import Inspector
from tests.queuecore.server.lifecycle_handlers import HANDLED_KEY, RELEASE_KEY, STARTED_KEY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
DEADLINE = 30.0


@pytest.fixture
def worker(redis_url: str) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*extra: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "queuecore.server",
                "--redis-url",
                redis_url,
                "--import",
                "tests.queuecore.server.lifecycle_handlers",
                "--concurrency",
                "4",
                *extra,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "LIFECYCLE_REDIS_URL": redis_url},
            stderr=subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def enqueue(url: str, kind: str, count: int) -> list[str]:
    with Client.from_url(url) as client:
        return [
            client.enqueue(Task(f"lifecycle:{kind}", b""), retention=600).id for _ in range(count)
        ]


def statuses(url: str) -> list[str]:
    with Inspector.from_url(url) as inspector:
        return [s.status for s in inspector.servers()]


def states(client: redis.Redis, ids: list[str]) -> list[str]:
    return [(client.hget(keys.task_key("default", i), "state") or b"gone").decode() for i in ids]


def pending(client: redis.Redis) -> set[str]:
    return {m.decode() for m in client.lrange(keys.pending_key("default"), 0, -1)}


def test_sigtstp_stops_dequeuing_and_sigterm_then_exits_cleanly(worker, redis_url, redis_client):
    held = enqueue(redis_url, "hold", 2)
    process = worker()
    wait_until(lambda: redis_client.scard(STARTED_KEY) == 2, "both held tasks to start")
    assert statuses(redis_url) == ["active"]

    process.send_signal(signal.SIGTSTP)
    wait_until(lambda: statuses(redis_url) == ["stopped"], 'status "stopped"')
    assert process.poll() is None  # not suspended, not ended: Ctrl-Z does this in a terminal
    queued = enqueue(redis_url, "quick", 3)
    redis_client.set(RELEASE_KEY, 1)
    wait_until(lambda: states(redis_client, held) == ["completed"] * 2, "held tasks to complete")
    # The pipeline that acknowledged them would have claimed the freed slots, had it claimed.
    assert pending(redis_client) == set(queued)

    process.send_signal(signal.SIGTERM)
    assert process.wait(DEADLINE) == 0
    stderr = process.stderr.read().decode()
    assert "got SIGTSTP: taking no new tasks" in stderr
    assert states(redis_client, queued) == ["pending"] * 3  # nothing lost, nothing taken
    assert states(redis_client, held) == ["completed"] * 2
    assert {m.decode() for m in redis_client.smembers(HANDLED_KEY)} == set(held)
    assert redis_client.zcard(keys.ALL_SERVERS) == 0


def test_the_pool_forwards_sigtstp_to_every_worker_process(worker, redis_url, redis_client):
    (held,) = enqueue(redis_url, "hold", 1)
    process = worker("--processes", "2", "--shutdown-timeout", "0.5")
    wait_until(lambda: len(statuses(redis_url)) == 2, "both worker processes to register")
    wait_until(lambda: redis_client.scard(STARTED_KEY) == 1, "the held task to start")

    process.send_signal(signal.SIGTSTP)  # to the parent only
    wait_until(lambda: statuses(redis_url) == ["stopped", "stopped"], "both to stop")
    queued = enqueue(redis_url, "quick", 2)

    # SIGTERM with the held task still running: it outlives the shutdown timeout and is
    # requeued; the queued ones were never taken.
    process.send_signal(signal.SIGTERM)
    assert process.wait(DEADLINE) == 0
    assert pending(redis_client) == {held, *queued}
    assert states(redis_client, [held, *queued]) == ["pending"] * 3
    assert redis_client.smembers(HANDLED_KEY) == set()
    assert redis_client.zcard(keys.ALL_SERVERS) == 0
