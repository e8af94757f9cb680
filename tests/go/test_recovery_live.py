"""Live, checklist item 6: a worker SIGKILLed mid-task leaves a lease the other language recovers.

Neither side waits out a real 30 s lease: ours reads time from an injected clock, and the Python
worker process we kill runs on a clock 40 s behind, so the leases it writes are already past
Go's recoverer cutoff (now - 30 s) when Go's recoverer makes its first pass, at start.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from queuecore import Client, Inspector, Task
from queuecore.clock import FrozenClock
from queuecore.rdb.worker import WorkerStore
from queuecore.server.recoverer import Recoverer
from tests.go.lab import EVENT_TIMEOUT, PROJECT, GoLab
from tests.support.factories import seed_task

pytestmark = [pytest.mark.go, pytest.mark.slow]

LEASE_EXPIRED = "asynq: task lease expired"


def test_item6_our_recoverer_retries_a_task_whose_go_worker_was_killed(go: GoLab, redis_url: str):
    sent = go.enqueue("-type", "lab:slow", "-payload", "orphan")
    worker = go.work("-slow", "60s")
    worker.wait_event("start", sent["id"])
    worker.kill()
    insp = Inspector.from_url(redis_url)
    (active,) = insp.list_tasks("default", "active")
    assert active.id == sent["id"]
    assert not active.is_orphaned  # Go's lease (now + 30 s) has not run out yet
    # Our recoverer, on a clock one minute ahead (cutoff 30 s past Go's 30 s lease).
    clock = FrozenClock(time.time() + 61)
    recoverer = Recoverer(WorkerStore.from_url(redis_url), ["default"], clock)
    assert recoverer.run_once() == 1
    seen = go.taskinfo("default", sent["id"])
    assert (seen["state"], seen["last_err"], seen["retried"]) == ("retry", LEASE_EXPIRED, 1)
    info = go.inspect()["queue_info"]
    assert (info["processed"], info["failed"], info["active"]) == (1, 1, 0)


def test_item6_go_recovers_a_task_whose_python_worker_was_killed(go: GoLab, redis_url: str):
    info = Client.from_url(redis_url).enqueue(Task("lab:slow", b"orphan"))
    ours = subprocess.Popen(
        [sys.executable, "-m", "tests.go.py_side", redis_url, "-40"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert ours.stdout is not None
        first = json.loads(ours.stdout.readline())
        assert (first["event"], first["id"]) == ("start", info.id)
    finally:
        ours.kill()
        ours.wait()
    assert Inspector.from_url(redis_url).list_tasks("default", "active")[0].is_orphaned
    worker = go.work("-slow", "10ms")  # Go's recoverer runs once at start
    deadline = time.monotonic() + EVENT_TIMEOUT
    while (seen := go.taskinfo("default", info.id))["state"] != "retry":
        assert time.monotonic() < deadline, f"Go never recovered the task: {seen}"
        time.sleep(0.2)
    worker.stop()
    assert (seen["last_err"], seen["retried"]) == (LEASE_EXPIRED, 1)
    task = Inspector.from_url(redis_url).get_task_info("default", info.id)
    assert (task.state.value, task.last_err, task.retried) == ("retry", LEASE_EXPIRED, 1)


def test_item6_a_lease_our_worker_keeps_extending_is_left_alone_by_go_recoverer(
    go: GoLab, redis_url: str, redis_client
):
    info = Client.from_url(redis_url).enqueue(Task("lab:slow", b"alive"))
    # 31 s behind with a 2 s lease: each lease we write is 29 s old in Go's eyes, 1 s short of
    # Go's cutoff (now - 30 s), so only our extensions (every 0.5 s) keep it out of reach.
    ours = subprocess.Popen(
        [sys.executable, "-m", "tests.go.py_side", redis_url, "-31"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert ours.stdout is not None
        assert json.loads(ours.stdout.readline())["id"] == info.id
        lease = "asynq:{default}:lease"
        first = redis_client.zscore(lease, info.id)
        deadline = time.monotonic() + EVENT_TIMEOUT
        while redis_client.zscore(lease, info.id) < first + 2:  # extended, 2 s later
            assert time.monotonic() < deadline, "our worker never extended its lease"
            time.sleep(0.1)
        # A task whose lease did run out, so that Go's first recoverer pass can be seen.
        stale = seed_task(redis_client, "active", score=int(time.time()) - 100, type="lab:x")
        worker = go.work()  # nothing is pending: only its recoverer acts
        while go.taskinfo("default", stale.id)["state"] != "retry":
            assert time.monotonic() < deadline, "Go's recoverer never ran"
            time.sleep(0.1)
        worker.stop()
        assert go.taskinfo("default", info.id)["state"] == "active"
        assert ours.poll() is None
    finally:
        ours.kill()
        ours.wait()
