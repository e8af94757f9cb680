"""Live, checklist item 14: tasks grouped by one language are aggregated by the other's server."""

from __future__ import annotations

import pytest
import redis

from queuecore import Client, Inspector, Task
from tests.go.lab import GoLab
from tests.go.parity import go_view, our_view
from tests.go.py_side import PyWorker

pytestmark = [pytest.mark.go, pytest.mark.slow]


def join_payloads(group: str, tasks: list[Task]) -> Task:
    """What the lab's Go aggregator makes: ``aggregated:<group>``, payloads joined by ``|``."""
    return Task(f"aggregated:{group}", b"|".join(t.payload or b"" for t in tasks))


def test_item14_python_grouped_tasks_are_aggregated_by_a_go_server(
    go: GoLab, redis_url: str, redis_client: redis.Redis
):
    client = Client.from_url(redis_url)
    members = [client.enqueue(Task("lab:member", p), group="g1").id for p in (b"a", b"b", b"c")]
    theirs = go.inspect()
    assert theirs["groups"] == [{"group": "g1", "size": 3}]
    assert go_view(theirs) == our_view(Inspector.from_url(redis_url))
    worker = go.work("-group-grace", "1s")
    start = worker.wait_event("start", type="aggregated:g1")
    worker.wait_event("done", start["id"])
    worker.stop()
    assert sorted(start["payload"].split("|")) == ["a", "b", "c"]
    assert not any(redis_client.exists(f"asynq:{{default}}:t:{m}") for m in members)
    assert Inspector.from_url(redis_url).groups("default") == []


def test_item14_go_grouped_tasks_are_aggregated_by_our_server(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    members = [
        go.enqueue("-type", "lab:member", "-payload", p, "-group", "g2")["id"] for p in "xyz"
    ]
    insp = Inspector.from_url(redis_url)
    (group,) = insp.groups("default")
    assert (group.group, group.size) == ("g2", 3)
    assert our_view(insp) == go_view(go.inspect())
    py_worker.start(group_aggregator=join_payloads, group_grace_period=1.0)
    start = py_worker.wait_event("start", type="aggregated:g2")
    py_worker.wait_event("done", start["id"])
    assert sorted(start["payload"].split("|")) == ["x", "y", "z"]
    seen = go.inspect()
    assert seen["groups"] == []
    for member in members:
        assert go.taskinfo("default", member)["class"] == "task_not_found"
