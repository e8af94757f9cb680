"""Live, checklist items 7, 8, 9, 10, 15 and 16: retry, archived and completed tasks written by one
language's worker are listed identically by both Inspectors, and acted on by the other one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from queuecore import (
    Client,
    Inspector,
    Task,
    TaskAlreadyArchivedError,
    TaskNotFoundError,
    WrongStateError,
)
from tests.go.lab import GoLab
from tests.go.parity import go_view, our_view
from tests.go.py_side import PyWorker

pytestmark = [pytest.mark.go, pytest.mark.slow]


def counts(view: dict) -> dict[str, int]:
    return {state: len(tasks) for state, tasks in view["tasks"].items() if tasks}


def go_states(go: GoLab) -> dict[str, str]:
    """Go's worker leaves two tasks in each of retry, archived and completed, one scheduled."""
    ids = {}
    for name, args in {
        "retry1": ("-type", "lab:fail", "-payload", "r1", "-max-retry", "3"),
        "retry2": ("-type", "lab:fail", "-payload", "r2", "-max-retry", "3"),
        "archived1": ("-type", "lab:fail", "-payload", "a1", "-max-retry", "0"),
        "archived2": ("-type", "lab:fail", "-payload", "a2", "-max-retry", "0"),
        "completed1": ("-type", "lab:ok", "-payload", "c1", "-retention", "1h"),
        "completed2": ("-type", "lab:ok", "-payload", "c2", "-retention", "1h"),
        "scheduled": ("-type", "lab:ok", "-payload", "s", "-process-in", "1h"),
    }.items():
        ids[name] = go.enqueue(*args)["id"]
    worker = go.work("-result", "done-by-go")
    for name, task_id in ids.items():
        if name != "scheduled":
            worker.wait_for(lambda e, t=task_id: e["id"] == t and e["event"] in ("done", "error"))
    worker.stop()
    return ids


def test_item10_tasks_a_go_worker_retried_archived_and_completed_read_the_same_in_ours(
    go: GoLab, redis_url: str
):
    go_states(go)
    theirs = go_view(go.inspect())
    ours = our_view(Inspector.from_url(redis_url))
    assert counts(ours) == {"retry": 2, "archived": 2, "completed": 2, "scheduled": 1}
    assert ours == theirs
    assert ours["tasks"]["retry"][0]["last_err"] == "boom from go"


def test_our_inspector_runs_archives_and_deletes_what_a_go_worker_left(go: GoLab, redis_url: str):
    ids = go_states(go)
    insp = Inspector.from_url(redis_url)
    insp.run_task("default", ids["archived1"])
    insp.archive_task("default", ids["scheduled"])
    insp.delete_task("default", ids["retry1"])
    with pytest.raises(TaskAlreadyArchivedError):
        insp.archive_task("default", ids["archived2"])
    with pytest.raises(TaskNotFoundError):
        insp.delete_task("default", ids["retry1"])
    theirs = go_view(go.inspect())
    assert counts(theirs) == {"pending": 1, "retry": 1, "archived": 2, "completed": 2}
    assert theirs == our_view(insp)
    assert insp.run_all("default", "retry") == 1
    assert insp.delete_all("default", "completed") == 2
    assert insp.archive_all("default", "pending") == 2
    theirs = go_view(go.inspect())
    assert counts(theirs) == {"archived": 4}
    assert theirs == our_view(insp)
    assert theirs["info"]["size"] == 4


def py_states(redis_url: str, py_worker: PyWorker) -> dict[str, str]:
    client = Client.from_url(redis_url)
    ids = {}
    for name, task in {
        "retry1": Task("lab:fail", b"r1", max_retry=3),
        "retry2": Task("lab:fail", b"r2", max_retry=3),
        "archived1": Task("lab:fail", b"a1", max_retry=0),
        "archived2": Task("lab:fail", b"a2", max_retry=0),
        "completed1": Task("lab:ok", b"c1", retention=timedelta(hours=1)),
        "completed2": Task("lab:ok", b"c2", retention=timedelta(hours=1)),
        "scheduled": Task("lab:ok", b"s", process_in=timedelta(hours=1)),
    }.items():
        ids[name] = client.enqueue(task).id
    py_worker.run_burst(retry_delay=lambda n, e, t: 3600)
    return ids


def test_items7_8_9_tasks_our_worker_retried_archived_and_completed_read_the_same_in_go(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    py_states(redis_url, py_worker)
    theirs = go_view(go.inspect())
    ours = our_view(Inspector.from_url(redis_url))
    assert counts(theirs) == {"retry": 2, "archived": 2, "completed": 2, "scheduled": 1}
    assert theirs == ours
    assert theirs["tasks"]["archived"][0]["last_err"] == "boom from python"
    assert theirs["info"]["processed"] == 6
    assert theirs["info"]["failed"] == 4


def test_go_inspector_runs_archives_and_deletes_what_our_worker_left(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    ids = py_states(redis_url, py_worker)
    assert go.action("run", "default", ids["archived1"])["ok"]
    assert go.action("archive", "default", ids["scheduled"])["ok"]
    assert go.action("delete", "default", ids["retry1"])["ok"]
    assert go.action("delete", "default", ids["retry1"])["class"] == "task_not_found"
    insp = Inspector.from_url(redis_url)
    ours = our_view(insp)
    assert counts(ours) == {"pending": 1, "retry": 1, "archived": 2, "completed": 2}
    assert ours == go_view(go.inspect())
    assert go.action("runall-retry")["n"] == 1
    assert go.action("runall-archived")["n"] == 2
    ours = our_view(insp)
    assert counts(ours) == {"pending": 4, "completed": 2}
    assert ours == go_view(go.inspect())
    py_worker.run_burst()
    assert our_view(insp)["info"]["pending"] == 0


def test_item16_both_inspectors_refuse_the_same_actions_on_an_active_task(
    go: GoLab, redis_url: str
):
    sent = go.enqueue("-type", "lab:slow")
    worker = go.work("-slow", "30s")
    worker.wait_event("start", sent["id"])
    insp = Inspector.from_url(redis_url)
    refused_by_go = {
        op: go.action(op, "default", sent["id"]) for op in ("run", "archive", "delete")
    }
    assert all(not r["ok"] for r in refused_by_go.values())
    for op, call in (
        ("run", insp.run_task),
        ("archive", insp.archive_task),
        ("delete", insp.delete_task),
    ):
        with pytest.raises(WrongStateError) as caught:
            call("default", sent["id"])
        assert str(caught.value).endswith(refused_by_go[op]["error"].split(": ", 1)[-1])
    worker.kill()


def test_item15_pages_are_cut_and_ordered_as_go_cuts_them(go: GoLab, redis_url: str):
    go.run("enqueue", "-type", "lab:page", "-payload", "p", "-n", "35")
    insp = Inspector.from_url(redis_url)
    for page in (1, 2):
        theirs = go.run("inspect", "-page-size", "30", "-page", str(page))[0]["tasks"]["pending"]
        ours = insp.list_tasks("default", "pending", page, 30)
        assert [t.id for t in ours] == [t["id"] for t in theirs]
        assert len(ours) == (30 if page == 1 else 5)


def test_item26_a_task_hash_gone_missing_is_skipped_by_ours_where_go_inspector_fails(
    go: GoLab, redis_url: str, redis_client
):
    ids = [go.enqueue("-type", "lab:left", "-payload", str(n))["id"] for n in range(3)]
    redis_client.delete(f"asynq:{{default}}:t:{ids[0]}")  # the oldest: the one Go samples
    theirs = go.inspect()
    insp = Inspector.from_url(redis_url)
    page = insp.list_tasks("default", "pending")
    assert [t.id for t in page] == ids[1:]
    assert page.skipped == 1
    assert insp.get_queue_info("default").pending == 3
    # Deliberate difference (spec §8.2): Go's GetQueueInfo fails on such a queue.
    assert "queue_info" not in theirs
    assert "arithmetic" in theirs["queue_info_error"]


def test_difference_a_pending_id_without_hash_is_dropped_by_our_claim_where_go_leaves_a_stub(
    go: GoLab, redis_url: str, redis_server, py_worker: PyWorker
):
    go_db = GoLab(go.binary, go.port, db=1)
    for lab in (go, go_db):
        lab.enqueue("-type", "lab:gone", "-task-id", "no-hash")
        lab.enqueue("-type", "lab:ok", "-task-id", "fine")
    ours = redis.Redis(port=redis_server.port, db=0)
    theirs = redis.Redis(port=redis_server.port, db=1)
    for r in (ours, theirs):
        r.delete("asynq:{default}:t:no-hash")
    py_worker.run_burst()
    worker = go_db.work()
    worker.wait_event("done", "fine")
    worker.stop()
    # Go's dequeue leaves a stub hash holding only state=active, and the id in active and lease.
    assert theirs.hgetall("asynq:{default}:t:no-hash") == {b"state": b"active"}
    assert theirs.lrange("asynq:{default}:active", 0, -1) == [b"no-hash"]
    # Ours drops the id (README "Poison data"): nothing is left active for the recoverer.
    assert not ours.exists("asynq:{default}:t:no-hash")
    assert ours.lrange("asynq:{default}:active", 0, -1) == []
    assert py_worker.wait_event("done", "fine")
