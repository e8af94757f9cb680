"""Asynqmon's paths answer with Asynqmon's JSON shapes: the same keys with the same JSON types.

The expected shapes are transcribed from Asynqmon's Go structs (conversion_helpers.go and the
handlers): Go ``int``/``int64`` → JSON number, ``bool`` → true/false, ``string`` and ``time.Time``
→ string, slices → arrays, maps → objects. Data: Go asynq's own captured Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient

from queuecore.inspector import Inspector

pytestmark = pytest.mark.django_db

SNAPSHOT = {
    "queue": str,
    "memory_usage_bytes": int,
    "size": int,
    "groups": int,
    "latency_msec": int,
    "display_latency": str,
    "active": int,
    "pending": int,
    "aggregating": int,
    "scheduled": int,
    "retry": int,
    "archived": int,
    "completed": int,
    "processed": int,
    "succeeded": int,
    "failed": int,
    "paused": bool,
    "timestamp": str,
}
DAILY = {"queue": str, "processed": int, "succeeded": int, "failed": int, "date": str}
BASE_TASK = {
    "id": str,
    "type": str,
    "payload": str,
    "queue": str,
    "max_retry": int,
    "retried": int,
    "error_message": str,
}
TASK_BY_STATE = {
    "active": {**BASE_TASK, "start_time": str, "deadline": str, "is_orphaned": bool},
    "pending": BASE_TASK,
    "scheduled": {**BASE_TASK, "next_process_at": str},
    "retry": {**BASE_TASK, "next_process_at": str},
    "archived": {**BASE_TASK, "last_failed_at": str},
    "completed": {**BASE_TASK, "completed_at": str, "result": str, "ttl_seconds": int},
    "aggregating": {**BASE_TASK, "group": str},
}
TASK_INFO = {
    "id": str,
    "queue": str,
    "type": str,
    "payload": str,
    "state": str,
    "max_retry": int,
    "retried": int,
    "error_message": str,
    "last_failed_at": str,
    "timeout_seconds": int,
    "deadline": str,
    "next_process_at": str,
    "completed_at": str,
    "result": str,
    "ttl_seconds": int,
}
GROUP = {"group": str, "size": int}
WORKER = {"task_id": str, "queue": str, "task_type": str, "task_payload": str, "start_time": str}
SERVER = {
    "id": str,
    "host": str,
    "pid": int,
    "concurrency": int,
    "queue_priorities": dict,
    "strict_priority_enabled": bool,
    "start_time": str,
    "status": str,
    "active_workers": list,
}
ENTRY = {
    "id": str,
    "spec": str,
    "task_type": str,
    "task_payload": str,
    "options": list,
    "next_enqueue_at": str,
    "prev_enqueue_at": str,
}
EVENT = {"task_id": str, "enqueued_at": str}


def assert_shape(obj: Any, shape: dict[str, type]) -> None:
    assert isinstance(obj, dict), obj
    assert set(obj) == set(shape), (sorted(obj), sorted(shape))
    for key, kind in shape.items():
        value = obj[key]
        if kind is int:
            assert isinstance(value, int), (key, value)
            assert not isinstance(value, bool), (key, value)
        else:
            assert isinstance(value, kind), (key, value)


def get_json(client: HttpClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_list_queues_gives_a_snapshot_per_queue(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/queues")
    assert set(body) == {"queues"}
    assert [q["queue"] for q in body["queues"]] == ["critical", "default", "low", "paused_q"]
    for snapshot in body["queues"]:
        assert_shape(snapshot, SNAPSHOT)
    default = body["queues"][1]
    # The numbers Go's Inspector reported for this data (fixture README).
    assert (default["size"], default["pending"], default["aggregating"]) == (24, 10, 3)
    assert (default["processed"], default["failed"], default["succeeded"]) == (10, 5, 5)
    assert default["display_latency"] == "3m39.35s"
    latency = go_data.get_queue_info("default").latency
    assert default["latency_msec"] == latency // timedelta(milliseconds=1)
    assert body["queues"][3]["paused"] is True


def test_get_queue_gives_the_current_snapshot_and_ten_days_of_history(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/queues/default")
    assert set(body) == {"current", "history"}
    assert_shape(body["current"], SNAPSHOT)
    assert len(body["history"]) == 10
    for day in body["history"]:
        assert_shape(day, DAILY)
    assert body["history"][0] == {
        "queue": "default",
        "processed": 10,
        "succeeded": 5,
        "failed": 5,
        "date": "2026-11-25",
    }


def test_queue_stats_gives_ninety_days_per_queue(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/queue_stats")
    assert set(body) == {"stats"}
    assert set(body["stats"]) == {"critical", "default", "low", "paused_q"}
    for days in body["stats"].values():
        assert len(days) == 90
        for day in days:
            assert_shape(day, DAILY)


@pytest.mark.parametrize(
    "state", ["active", "pending", "scheduled", "retry", "archived", "completed"]
)
def test_task_lists_have_asynqmons_fields_for_each_state(
    go_data: Inspector, api: Callable[[str], HttpClient], state: str
) -> None:
    body = get_json(api("viewer"), f"/api/queues/default/{state}_tasks?size=100")
    assert set(body) == {"tasks", "stats"}
    assert_shape(body["stats"], SNAPSHOT)
    expected = go_data.list_tasks("default", state, page_size=100)
    assert [t["id"] for t in body["tasks"]] == [t.id for t in expected]
    assert body["tasks"], state
    for task in body["tasks"]:
        assert_shape(task, TASK_BY_STATE[state])


def test_active_tasks_carry_start_and_deadline_from_the_live_worker(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/queues/default/active_tasks")
    by_id = {t["id"]: t for t in body["tasks"]}
    assert by_id["active-deadline-3h"]["deadline"] == "2026-11-25T18:36:37Z"
    assert by_id["active-deadline-3h"]["start_time"] == "2026-11-25T15:36:37Z"
    assert by_id["active-deadline-3h"]["is_orphaned"] is False


def test_aggregating_tasks_come_with_the_queues_groups(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    group = go_data.groups("default")[0].group
    body = get_json(api("viewer"), f"/api/queues/default/groups/{group}/aggregating_tasks")
    assert set(body) == {"tasks", "stats", "groups"}
    for task in body["tasks"]:
        assert_shape(task, TASK_BY_STATE["aggregating"])
        assert task["group"] == group
    for item in body["groups"]:
        assert_shape(item, GROUP)


def test_groups_lists_each_group_with_the_queue_snapshot(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/queues/default/groups")
    assert set(body) == {"stats", "groups"}
    assert_shape(body["stats"], SNAPSHOT)
    assert [g["size"] for g in body["groups"]] == [3]


def test_task_detail_has_every_field_of_asynqmons_task_info(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    for state in ("pending", "archived", "completed", "scheduled"):
        task = go_data.list_tasks("default", state)[0]
        body = get_json(api("viewer"), f"/api/queues/default/tasks/{task.id}")
        assert_shape(body, TASK_INFO)
        assert body["state"] == state
        assert body["id"] == task.id


def test_a_binary_payload_shows_as_non_printable_bytes(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/queues/low/tasks/active-binary")
    assert body["payload"] == "non-printable bytes"


def test_task_detail_of_an_unknown_task_or_queue_is_404_text(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    client = api("viewer")
    missing_task = client.get("/api/queues/default/tasks/no-such-id")
    assert missing_task.status_code == 404
    assert missing_task["Content-Type"].startswith("text/plain")
    assert b"task not found" in missing_task.content
    assert client.get("/api/queues/nope/tasks/x").status_code == 404


def test_servers_list_each_server_with_its_active_workers(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/servers")
    assert set(body) == {"servers"}
    assert body["servers"]
    for server in body["servers"]:
        assert_shape(server, SERVER)
        for worker in server["active_workers"]:
            assert_shape(worker, WORKER)
    workers = [w for s in body["servers"] for w in s["active_workers"]]
    assert len(workers) == 4


def test_scheduler_entries_and_their_enqueue_events(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/scheduler_entries")
    assert set(body) == {"entries"}
    assert len(body["entries"]) == 2
    for entry in body["entries"]:
        assert_shape(entry, ENTRY)
    every = next(e for e in body["entries"] if e["spec"] == "@every 30s")
    assert every["options"] == ['Queue("low")', "MaxRetry(3)"]
    assert every["prev_enqueue_at"] == "2026-11-25T15:40:10Z"
    events = get_json(api("viewer"), f"/api/scheduler_entries/{every['id']}/enqueue_events")
    assert set(events) == {"events"}
    assert len(events["events"]) == 1
    assert_shape(events["events"][0], EVENT)


def test_redis_info_describes_a_single_node(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/redis_info")
    assert set(body) == {"address", "info", "raw_info", "cluster"}
    assert body["cluster"] is False
    assert body["info"]["redis_version"]
    assert body["address"].startswith("127.0.0.1:")


def test_page_and_size_page_through_a_list(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    client = api("viewer")
    everything = get_json(client, "/api/queues/default/pending_tasks?size=100")["tasks"]
    first = get_json(client, "/api/queues/default/pending_tasks?size=4&page=1")["tasks"]
    third = get_json(client, "/api/queues/default/pending_tasks?size=4&page=3")["tasks"]
    assert [t["id"] for t in first] == [t["id"] for t in everything[:4]]
    assert [t["id"] for t in third] == [t["id"] for t in everything[8:12]]
    # Unlike Asynqmon's getPageOptions (which falls back to the defaults), a paging value that is
    # not a whole number in range is a 400 saying so.
    refused = client.get("/api/queues/default/pending_tasks?size=x&page=y")
    assert refused.status_code == 400
    assert b"size must be a whole number" in refused.content


def test_an_empty_list_is_an_empty_array_not_null(
    go_data: Inspector, api: Callable[[str], HttpClient]
) -> None:
    body = get_json(api("viewer"), "/api/queues/critical/retry_tasks")
    assert body["tasks"] == []
