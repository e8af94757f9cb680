"""Live, checklist items 7, 9 and 11: one side's forwarder and janitor act on the other's tasks.

Go's forwarder first runs 5 s after start and its janitor 8 s after: the Go direction waits for
those once, in one Go server. Ours runs with an injected clock and waits for nothing.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from queuecore import Client, Inspector, Task
from queuecore.clock import FrozenClock
from queuecore.rdb.worker import WorkerStore
from queuecore.server.forwarder import Forwarder
from queuecore.server.janitor import Janitor
from tests.go.lab import EVENT_TIMEOUT, GoLab
from tests.go.py_side import PyWorker

pytestmark = [pytest.mark.go, pytest.mark.slow]


def test_items7_9_11_go_forwards_our_retry_and_scheduled_tasks_and_expires_our_completed(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    client = Client.from_url(redis_url)
    failing = client.enqueue(Task("lab:fail", b"again", max_retry=1))
    kept = client.enqueue(Task("lab:ok", b"kept", retention=timedelta(seconds=1)))
    # Our forwarder stays out of the way, so the retry waits for Go's.
    py_worker.start(forwarder_interval=3600)
    py_worker.wait_event("error", failing.id)
    py_worker.wait_event("done", kept.id)
    py_worker.stop()
    later = client.enqueue(Task("lab:ok", b"later"), process_in=timedelta(seconds=1))
    seen = go.inspect()["queue_info"]
    assert (seen["retry"], seen["completed"], seen["scheduled"]) == (1, 1, 1)
    worker = go.work()
    again = worker.wait_event("start", failing.id)
    assert (again["retried"], again["max_retry"]) == (1, 1)
    worker.wait_event("done", later.id)
    insp = Inspector.from_url(redis_url)
    deadline = time.monotonic() + EVENT_TIMEOUT
    while insp.get_queue_info("default").completed:
        assert time.monotonic() < deadline, "Go's janitor never deleted our completed task"
        time.sleep(0.2)
    worker.stop()
    info = insp.get_queue_info("default")
    assert (info.archived, info.processed, info.failed) == (1, 4, 2)


def test_items7_9_11_our_forwarder_and_janitor_act_on_go_tasks(go: GoLab, redis_url: str):
    go.enqueue("-type", "lab:ok", "-payload", "later", "-process-in", "30s")
    retried = go.enqueue("-type", "lab:fail", "-max-retry", "2")
    go.enqueue("-type", "lab:ok", "-payload", "kept", "-retention", "30s")
    worker = go.work()
    worker.wait_event("error", retried["id"])
    worker.wait_for(lambda e: e.get("payload") == "kept" and e["event"] == "done")
    worker.stop()
    seen = go.inspect()["queue_info"]
    assert (seen["scheduled"], seen["retry"], seen["completed"]) == (1, 1, 1)
    store = WorkerStore.from_url(redis_url)
    clock = FrozenClock(time.time() + 24 * 3600)  # past Go's retry delay, process-in and retention
    Forwarder(store, ["default"], clock).run_once()
    Janitor(store, ["default"], clock).run_once()
    seen = go.inspect()
    assert (seen["queue_info"]["pending"], seen["queue_info"]["completed"]) == (2, 0)
    assert {t["payload"] for t in seen["tasks"]["pending"]} == {"later", ""}
