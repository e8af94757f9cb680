"""Live, checklist items 1, 2, 11, 12 and 13: tasks enqueued by one language are run by the other.

Go asynq v0.26.0 (the lab) is the ground truth: what it reports about a task we wrote, and what
our Inspector and worker make of a task it wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from queuecore import Client, DuplicateTaskError, Inspector, Task, TaskIdConflictError
from queuecore.clock import utc_date
from tests.go.lab import GoLab
from tests.go.py_side import PyWorker

pytestmark = [pytest.mark.go, pytest.mark.slow]


def go_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_item1_a_python_task_is_processed_by_go_and_counted_as_go_counts(
    go: GoLab, redis_url: str, redis_client: redis.Redis
):
    info = Client.from_url(redis_url).enqueue(Task("lab:plain", b"hello"))
    worker = go.work()
    done = worker.wait_event("done", info.id)
    worker.stop()
    assert done["payload"] == "hello"
    assert not redis_client.exists(f"asynq:{{default}}:t:{info.id}")
    today = utc_date(datetime.now(UTC).timestamp())
    assert redis_client.get("asynq:{default}:processed") == b"1"
    assert redis_client.get(f"asynq:{{default}}:processed:{today}") == b"1"
    assert 7_776_000 - 60 < redis_client.ttl(f"asynq:{{default}}:processed:{today}") <= 7_776_000


def test_every_python_enqueue_option_reaches_the_go_handler_and_go_inspector(
    go: GoLab, redis_url: str
):
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    info = Client.from_url(redis_url).enqueue(
        Task("lab:options", b"opts"),
        queue="critical",
        max_retry=3,
        timeout=timedelta(minutes=10),
        deadline=deadline,
        retention=timedelta(hours=1),
        task_id="py-options-1",
        headers={"trace": "abc", "tenant": "t1"},
    )
    seen = go.taskinfo("critical", info.id)
    assert (seen["state"], seen["max_retry"], seen["timeout_s"]) == ("pending", 3, 600)
    assert (seen["retention_s"], seen["headers"]) == (3600, {"trace": "abc", "tenant": "t1"})
    assert go_time(seen["deadline"]) == deadline
    worker = go.work("-queues", "critical=1", "-result", "ok")
    start = worker.wait_event("start", "py-options-1")
    worker.wait_event("done", "py-options-1")
    worker.stop()
    assert start["headers"] == {"trace": "abc", "tenant": "t1"}
    assert (start["queue"], start["max_retry"], start["retried"]) == ("critical", 3, 0)
    # Go's context deadline: the earlier of start + timeout and the task's deadline.
    assert go_time(start["deadline"]) < deadline
    completed = go.taskinfo("critical", info.id)
    assert (completed["state"], completed["result"]) == ("completed", "ok")
    ours = Inspector.from_url(redis_url).get_task_info("critical", info.id)
    assert ours.completed_at == go_time(completed["completed_at"]).replace(microsecond=0)


def test_item11_python_process_in_and_process_at_are_scheduled_as_go_schedules(
    go: GoLab, redis_url: str
):
    client = Client.from_url(redis_url)
    later = client.enqueue(Task("lab:later", b"1"), process_in=timedelta(minutes=5))
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    fixed = client.enqueue(Task("lab:at", b"2"), process_at=at)
    seen = go.inspect()["tasks"]["scheduled"]
    assert [t["id"] for t in seen] == [later.id, fixed.id]
    assert go_time(seen[1]["next_process_at"]) == at
    ours = Inspector.from_url(redis_url).list_tasks("default", "scheduled")
    assert [(t.id, t.next_process_at) for t in ours] == [
        (t["id"], go_time(t["next_process_at"])) for t in seen
    ]
    # The score is whole seconds, as Go writes it, so the stored time is the requested one, cut.
    assert ours[0].next_process_at == later.next_process_at.replace(microsecond=0)


def test_item2_a_go_task_is_decoded_and_processed_by_our_worker(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    sent = go.enqueue("-type", "lab:from-go", "-payload", "gopay", "-header", "k=v")
    task = Inspector.from_url(redis_url).get_task_info("default", sent["id"])
    assert (task.type, task.payload, task.queue, task.max_retry) == (
        "lab:from-go",
        b"gopay",
        "default",
        25,
    )
    assert (task.timeout, task.deadline, dict(task.headers)) == (
        timedelta(seconds=1800),
        None,
        {"k": "v"},
    )
    py_worker.run_burst()
    done = py_worker.wait_event("done", sent["id"])
    assert done["payload"] == "gopay"
    assert py_worker.wait_event("start", sent["id"])["headers"] == {"k": "v"}
    assert go.taskinfo("default", sent["id"])["class"] == "task_not_found"
    assert go.inspect()["queue_info"]["processed"] == 1


def test_go_enqueue_options_reach_our_handler(go: GoLab, redis_url: str, py_worker: PyWorker):
    sent = go.enqueue(
        "-queue", "low", "-type", "lab:gopts", "-payload", "p", "-max-retry", "2",
        "-timeout", "90s", "-retention", "1h", "-task-id", "go-options-1",
    )  # fmt: skip
    task = Inspector.from_url(redis_url).get_task_info("low", sent["id"])
    assert (task.id, task.max_retry, task.timeout, task.retention) == (
        "go-options-1",
        2,
        timedelta(seconds=90),
        timedelta(hours=1),
    )
    py_worker.run_burst(queues={"low": 1})
    start = py_worker.wait_event("start", "go-options-1")
    assert start["max_retry"] == 2
    assert go.taskinfo("low", "go-options-1")["state"] == "completed"


def test_item12_a_unique_lock_taken_by_either_language_refuses_the_other(
    go: GoLab, redis_url: str, redis_client: redis.Redis
):
    client = Client.from_url(redis_url)
    ours = client.enqueue(Task("lab:uniq", b"same"), unique=timedelta(seconds=60))
    refused = go.run("enqueue", "-type", "lab:uniq", "-payload", "same", "-unique", "60s")
    assert refused == [refused[0]]
    assert refused[0]["class"] == "duplicate"
    theirs = go.enqueue("-type", "lab:uniq2", "-payload", "x", "-unique", "60s")
    with pytest.raises(DuplicateTaskError):
        client.enqueue(Task("lab:uniq2", b"x"), unique=timedelta(seconds=60))
    locks = sorted(k.decode() for k in redis_client.keys("asynq:{default}:unique:*"))
    assert len(locks) == 2
    assert all(redis_client.ttl(k) > 50 for k in locks)
    worker = go.work()
    worker.wait_event("done", ours.id)
    worker.wait_event("done", theirs["id"])
    worker.stop()
    # Go's done path frees the lock our enqueue took, and ours would free Go's (tests/compat).
    assert redis_client.keys("asynq:{default}:unique:*") == []


def test_item13_a_task_id_taken_in_one_language_conflicts_in_the_other(
    go: GoLab, redis_url: str, redis_client: redis.Redis
):
    client = Client.from_url(redis_url)
    client.enqueue(Task("lab:a", b"1"), task_id="shared-id")
    assert go.run("enqueue", "-task-id", "shared-id", "-type", "lab:b")[0]["class"] == "conflict"
    go.enqueue("-task-id", "go-id", "-type", "lab:c", "-process-in", "1h")
    before = {k: redis_client.type(k) for k in redis_client.keys("*")}
    with pytest.raises(TaskIdConflictError):
        client.enqueue(Task("lab:d", b"2"), task_id="go-id")
    assert {k: redis_client.type(k) for k in redis_client.keys("*")} == before


# -- deliberate differences (README "Differences from Go asynq, checked live") ----------------


def test_difference_a_unique_enqueue_refused_for_an_id_conflict_frees_its_lock_where_go_keeps_it(
    go: GoLab, redis_url: str, redis_client: redis.Redis
):
    go.enqueue("-type", "lab:first", "-task-id", "taken")
    refused = go.run("enqueue", "-type", "lab:go", "-task-id", "taken", "-unique", "1h")
    assert refused[0]["class"] == "conflict"
    with pytest.raises(TaskIdConflictError):
        Client.from_url(redis_url).enqueue(
            Task("lab:py", b""), task_id="taken", unique=timedelta(hours=1)
        )
    found = redis_client.keys("asynq:{default}:unique:*")
    locks = {k.decode().split(":unique:")[1].rsplit(":", 1)[0] for k in found}
    assert locks == {"lab:go"}  # Go's lock stays for its TTL; ours was released


def test_difference_every_enqueue_registers_its_queue_again_after_go_deletes_it(
    go: GoLab, redis_url: str
):
    client = Client.from_url(redis_url)
    client.enqueue(Task("lab:x", b"1"), queue="again", task_id="first")
    assert go.action("delete", "again", "first")["ok"]
    assert go.action("deletequeue", "again")["ok"]
    assert "again" not in go.action("queues")["queues"]
    client.enqueue(Task("lab:x", b"2"), queue="again")  # the same Client: no stale cache
    assert "again" in go.action("queues")["queues"]
    assert go.inspect("again")["queue_info"]["pending"] == 1
