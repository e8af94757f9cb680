"""Live, checklist items 5, 17, 18, 19 and 23: servers, pause, cancel and shutdown across languages.

A Go server and ours share the queues: each sees the other in its server list with the task it
runs, honours the other's pause, cancels on the other's request, and takes over what the other
requeued on shutdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as DjangoClient

from queuecore import Client, Inspector, Task, TaskState
from queuecore.inspection import ServerInfo
from tests.go.lab import EVENT_TIMEOUT, GoLab
from tests.go.parity import go_time, same_instant
from tests.go.py_side import PyWorker

pytestmark = [pytest.mark.go, pytest.mark.slow]


def poll(read: Callable[[], Any], timeout: float = EVENT_TIMEOUT) -> Any:
    """A process boundary: poll what another process writes, with a short deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("the other process never wrote what was expected")
        time.sleep(0.1)


def servers_running(insp: Inspector, task_id: str) -> list[ServerInfo]:
    return [s for s in insp.servers() if any(w.task_id == task_id for w in s.active_workers)]


def test_item19_a_go_server_and_its_task_show_in_our_servers_dashboard_and_can_be_cancelled(
    go: GoLab, queuecore_settings: str, admin_client: DjangoClient
):
    sent = go.enqueue("-type", "lab:slow", "-payload", "long", "-timeout", "10m")
    worker = go.work("-slow", "60s", "-concurrency", "3", "-queues", "default=2,low=1")
    worker.wait_event("start", sent["id"])
    insp = Inspector.from_url(queuecore_settings)
    # Go writes its worker records on its 5 s heartbeat: the one wait for Go's timing here.
    (server,) = poll(lambda: servers_running(insp, sent["id"]))
    (theirs,) = [s for s in go.one("servers")["servers"] if s["id"] == server.id]
    assert (server.host, server.pid) == (theirs["host"], theirs["pid"])
    assert server.pid == worker.process.pid
    assert (server.concurrency, server.queues, server.status) == (
        3,
        {"default": 2, "low": 1},
        "active",
    )
    assert same_instant(server.started, theirs["started"])
    (running,) = server.active_workers
    (go_running,) = theirs["workers"]
    assert (running.task_type, running.task_payload, running.queue) == (
        "lab:slow",
        b"long",
        "default",
    )
    assert same_instant(running.started, go_running["started"])
    assert same_instant(running.deadline, go_running["deadline"])
    # Go takes the deadline (now + timeout) and the start time from two clock reads.
    assert abs(running.deadline - running.started - timedelta(minutes=10)) < timedelta(seconds=1)

    # The dashboard's active tab and Asynqmon's JSON API show Go's Started and Deadline.
    page = admin_client.get("/queues/default/?state=active").content.decode()
    assert running.started.isoformat(timespec="milliseconds") in page
    assert running.deadline.isoformat(timespec="milliseconds") in page
    (row,) = admin_client.get("/api/queues/default/active_tasks").json()["tasks"]
    # Asynqmon formats them with time.RFC3339: whole seconds.
    assert go_time(row["start_time"]) == running.started.replace(microsecond=0)
    assert go_time(row["deadline"]) == running.deadline.replace(microsecond=0)

    # Cancel from our dashboard reaches the Go worker (asynq:cancel), which retries the task.
    response = admin_client.post(f"/queues/default/tasks/{sent['id']}/cancel")
    assert response.status_code in (200, 302)
    assert worker.wait_event("canceled", sent["id"])["err"] == "context canceled"
    retried = poll(lambda: insp.list_tasks("default", TaskState.RETRY))
    assert (retried[0].id, retried[0].last_err) == (sent["id"], "context canceled")
    worker.stop()
    # A Go server that shut down is gone from the list at once (Go deletes its records).
    assert server.id not in {s.id for s in insp.servers()}


def test_item19_our_server_and_its_task_show_in_go_servers_and_go_cancels_it(
    go: GoLab, queuecore_settings: str, py_worker: PyWorker, admin_client: DjangoClient
):
    redis_url = queuecore_settings
    info = Client.from_url(redis_url).enqueue(
        Task("lab:slow", b"ours"), timeout=timedelta(minutes=5)
    )
    server = py_worker.start(concurrency=4, queues={"default": 3, "low": 1})
    py_worker.wait_event("start", info.id)

    def go_sees_task() -> list[dict[str, Any]]:
        return [s for s in go.one("servers")["servers"] if s["workers"]]

    (theirs,) = poll(go_sees_task)
    assert theirs["id"] == server.identity.server_id
    assert (theirs["pid"], theirs["concurrency"], theirs["status"]) == (
        server.identity.pid,
        4,
        "active",
    )
    assert theirs["queues"] == {"default": 3, "low": 1}
    (running,) = theirs["workers"]
    assert (running["task_id"], running["task_type"], running["payload"]) == (
        info.id,
        "lab:slow",
        "ours",
    )
    # Our times are floats (about 0.2 µs apart at today's Unix time): equal to within 1 µs.
    elapsed = go_time(running["deadline"]) - go_time(running["started"])
    assert abs(elapsed - timedelta(minutes=5)) <= timedelta(microseconds=1)
    # Our dashboard's active tab shows the Started and Deadline that Go reads.
    page = admin_client.get("/queues/default/?state=active").content.decode()
    for moment in ("started", "deadline"):
        assert go_time(running[moment]).isoformat(timespec="seconds")[:19] in page

    assert go.action("cancel", "default", info.id)["ok"]
    py_worker.wait_event("canceled", info.id)
    seen = poll(lambda: go.inspect()["tasks"]["retry"])
    assert (seen[0]["id"], seen[0]["last_err"]) == (info.id, "context canceled")
    py_worker.stop()
    assert server.identity.server_id not in {s["id"] for s in go.one("servers")["servers"]}


def test_item18_our_cancel_reaches_a_go_worker(go: GoLab, redis_url: str):
    sent = go.enqueue("-type", "lab:slow")
    worker = go.work("-slow", "60s")
    worker.wait_event("start", sent["id"])
    Inspector.from_url(redis_url).cancel_processing(sent["id"])
    assert worker.wait_event("canceled", sent["id"])["err"] == "context canceled"
    worker.stop()
    assert go.taskinfo("default", sent["id"])["last_err"] == "context canceled"


def test_items5_17_a_queue_paused_by_python_is_not_dequeued_by_go_until_resumed(
    go: GoLab, redis_url: str
):
    insp = Inspector.from_url(redis_url)
    client = Client.from_url(redis_url)
    held = client.enqueue(Task("lab:held", b"1"), queue="critical")
    insp.pause_queue("critical")
    assert go.inspect("critical")["queue_info"]["paused"] is True
    free = client.enqueue(Task("lab:free", b"2"))
    # Strict priority: were "critical" not paused, its task would be taken first.
    worker = go.work("-queues", "critical=6,default=1", "-strict", "-concurrency", "1")
    worker.wait_event("done", free.id)
    assert insp.get_task_info("critical", held.id).state is TaskState.PENDING
    insp.unpause_queue("critical")
    worker.wait_event("done", held.id)
    worker.stop()


def test_items5_17_a_queue_paused_by_go_is_not_dequeued_by_ours_until_resumed(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    held = go.enqueue("-queue", "critical", "-type", "lab:held")
    assert go.action("pause", "critical")["ok"]
    assert go.action("pause", "critical")["ok"] is False  # pausing twice is an error in Go
    insp = Inspector.from_url(redis_url)
    assert insp.get_queue_info("critical").paused
    free = go.enqueue("-type", "lab:free")
    py_worker.start(queues={"critical": 6, "default": 1}, strict=True, concurrency=1)
    py_worker.wait_event("done", free["id"])
    assert insp.get_task_info("critical", held["id"]).state is TaskState.PENDING
    assert go.action("unpause", "critical")["ok"]
    py_worker.wait_event("done", held["id"])


def test_item23_a_task_our_worker_requeues_at_shutdown_is_run_by_go(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    info = Client.from_url(redis_url).enqueue(Task("lab:slow", b"requeued"))
    py_worker.start(shutdown_timeout=0.0)
    py_worker.wait_event("start", info.id)
    py_worker.stop()
    seen = go.inspect()
    assert [t["id"] for t in seen["tasks"]["pending"]] == [info.id]
    assert (seen["queue_info"]["processed"], seen["queue_info"]["failed"]) == (0, 0)
    worker = go.work("-slow", "10ms")
    worker.wait_event("done", info.id)
    worker.stop()


def test_item23_a_task_a_go_worker_requeues_at_shutdown_is_run_by_ours(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    sent = go.enqueue("-type", "lab:slow", "-payload", "requeued")
    worker = go.work("-slow", "60s")
    worker.wait_event("start", sent["id"])
    worker.stop()  # -shutdown-timeout 1s: Go requeues the unfinished task
    assert Inspector.from_url(redis_url).get_task_info("default", sent["id"]).state is (
        TaskState.PENDING
    )
    py_worker.start(slow=0.01)
    py_worker.wait_event("done", sent["id"])
