"""Live: the dashboard's pages and Asynqmon's JSON API over a Redis where only Go wrote data."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient

from tests.go.lab import GoLab
from tests.go.test_states_live import go_states

pytestmark = [pytest.mark.go, pytest.mark.slow, pytest.mark.django_db]

STATES = ("pending", "active", "scheduled", "retry", "archived", "completed")


@pytest.fixture
def go_only(go: GoLab, queuecore_settings: str) -> dict:
    """Every state written by Go: worker results, a group, a paused queue, a running task."""
    go_states(go)
    go.run(
        "enqueue", "-queue", "low", "-type", "lab:member", "-payload", "m", "-group", "g", "-n", "2"
    )
    go.run("enqueue", "-queue", "low", "-type", "lab:waiting", "-payload", "w", "-n", "3")
    assert go.action("pause", "low")["ok"]
    running = go.enqueue("-queue", "busy", "-type", "lab:slow", "-payload", "running")
    worker = go.work("-queues", "busy=1", "-slow", "60s")
    worker.wait_event("start", running["id"])
    return {q: go.inspect(q) for q in ("default", "low", "busy")}


def test_every_page_renders_what_go_wrote(admin_client: DjangoClient, go_only: dict):
    overview = admin_client.get("/")
    assert overview.status_code == 200
    for queue in go_only:
        assert queue in overview.content.decode()
    for queue, seen in go_only.items():
        for state in STATES:
            page = admin_client.get(f"/queues/{queue}/?state={state}")
            assert page.status_code == 200, (queue, state)
            html = page.content.decode()
            for task in seen["tasks"][state]:
                assert task["id"] in html
                detail = admin_client.get(f"/queues/{queue}/tasks/{task['id']}/")
                assert detail.status_code == 200
                assert task["type"] in detail.content.decode()
    grouped = admin_client.get("/queues/low/?state=aggregating&group=g")
    assert grouped.status_code == 200
    for task in go_only["low"]["tasks"]["aggregating"]:
        assert task["id"] in grouped.content.decode()
    for path in ("/servers/", "/schedulers/", "/redis/"):
        assert admin_client.get(path).status_code == 200, path
    assert "busy" in admin_client.get("/servers/").content.decode()


def test_the_json_api_reports_what_go_inspector_reports(admin_client: DjangoClient, go_only: dict):
    queues = {q["queue"]: q for q in admin_client.get("/api/queues").json()["queues"]}
    assert set(queues) == set(go_only)
    for queue, seen in go_only.items():
        info = seen["queue_info"]
        for field in ("size", "pending", "active", "scheduled", "retry", "archived", "completed"):
            assert queues[queue][field] == info[field], (queue, field)
        assert queues[queue]["paused"] == info["paused"]
        assert queues[queue]["processed"] == info["processed"]
        for state in STATES:
            body = admin_client.get(f"/api/queues/{queue}/{state}_tasks?page_size=100").json()
            assert [t["id"] for t in body["tasks"]] == [t["id"] for t in seen["tasks"][state]]
            for row, theirs in zip(body["tasks"], seen["tasks"][state], strict=True):
                assert (row["type"], row["max_retry"], row["retried"]) == (
                    theirs["type"],
                    theirs["max_retry"],
                    theirs["retried"],
                )
    agg = admin_client.get("/api/queues/low/groups/g/aggregating_tasks").json()
    assert sorted(t["id"] for t in agg["tasks"]) == sorted(
        t["id"] for t in go_only["low"]["tasks"]["aggregating"]
    )
    (server,) = admin_client.get("/api/servers").json()["servers"]
    assert server["queue_priorities"] == {"busy": 1}
    (running,) = go_only["busy"]["tasks"]["active"]
    assert [w["task_id"] for w in server["active_workers"]] in ([], [running["id"]])
    assert admin_client.get("/api/scheduler_entries").status_code == 200
