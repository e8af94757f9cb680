"""Every page over real Redis: each state renders, htmx gets partials, bad input is 400/404,
and with Go's fixture loaded the overview shows what Go's Inspector reported."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from django.test import Client

from dashboard import connection
from queuecore import Inspector, TaskState
from queuecore.clock import FrozenClock
from queuecore.contrib.django import connection as shared
from tests.support.asynq_fixture import CAPTURED_AT, load_into, load_json
from tests.support.factories import seed_task

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "page"}


@pytest.fixture
def go_fixture(
    redis_client: redis.Redis, queuecore_settings: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Go's populated Redis, read by the dashboard with its clock at the capture instant."""
    load_into(redis_client)
    frozen = Inspector.from_url(queuecore_settings, clock=FrozenClock(CAPTURED_AT.timestamp()))
    monkeypatch.setitem(shared._inspectors, queuecore_settings, frozen)
    monkeypatch.setattr(connection, "_memory", {})
    yield
    frozen.close()


def cells(html: str, queue: str) -> list[str]:
    row = re.search(rf'<tr data-queue="{re.escape(queue)}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {queue}"
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1], re.S)
    ]


def test_overview_shows_the_numbers_go_inspector_reported(viewer: Client, go_fixture: None) -> None:
    html = viewer.get("/").content.decode()
    for report in load_json("inspect-all.json")["queue_reports"]:
        info = report["queue_info"]
        row = cells(html, report["queue"])
        assert row[1] == ("paused" if info["paused"] else "running")
        figures = [info[k] for k in ("size", "active", "pending", "aggregating", "scheduled",
                                      "retry", "archived", "completed")]  # fmt: skip
        assert row[2:10] == [str(n) for n in figures]
        assert row[12:14] == [str(info["processed"]), str(info["failed"])]


def test_queue_pages_show_go_fixture_tasks_in_every_state(viewer: Client, go_fixture: None) -> None:
    report = load_json("inspect-default.json")
    for state, tasks in report["tasks"].items():
        if state == "aggregating":
            for group, members in tasks.items():
                html = viewer.get(
                    "/queues/default/", {"state": state, "group": group}
                ).content.decode()
                assert all(f'data-task-id="{t["id"]}"' in html for t in members)
            continue
        html = viewer.get("/queues/default/", {"state": state, "size": 100}).content.decode()
        ids = re.findall(r'<tr data-task-id="([^"]+)"', html)
        assert ids == [t["id"] for t in tasks], state


def test_servers_and_schedulers_show_go_fixture_entries(viewer: Client, go_fixture: None) -> None:
    everything = load_json("inspect-all.json")
    html = viewer.get("/servers/").content.decode()
    for server in everything["servers"]:
        assert server["id"] in html
        for worker in server["active_workers"]:
            assert worker["task_id"][:20] in html
    html = viewer.get("/schedulers/").content.decode()
    for entry in everything["scheduler_entries"]:
        assert entry["spec"] in html
        history = viewer.get(f"/schedulers/{entry['id']}/history/").content.decode()
        for event in entry["enqueue_events"]:
            assert event["task_id"] in history


@pytest.mark.parametrize("state", list(TaskState))
def test_each_state_renders_its_list_and_task_page(
    viewer: Client, seeded: dict[TaskState, str], state: TaskState
) -> None:
    page = viewer.get("/queues/default/", {"state": state.value})
    assert page.status_code == 200
    assert f'data-task-id="{seeded[state]}"'.encode() in page.content
    detail = viewer.get(f"/queues/default/tasks/{seeded[state]}/")
    assert detail.status_code == 200
    assert f"data-task-state>{state.value}<".encode() in detail.content


def test_every_page_renders(viewer: Client, seeded: dict[TaskState, str]) -> None:
    for url in ("/", "/?range=7", "/?range=30", "/?range=90", "/servers/", "/schedulers/",
                "/redis/", "/settings/", "/audit/"):  # fmt: skip
        response = viewer.get(url)
        assert response.status_code == 200, url
        assert b"<html" in response.content


def test_htmx_polls_get_only_the_page_fragment(
    viewer: Client, seeded: dict[TaskState, str]
) -> None:
    task_url = f"/queues/default/tasks/{seeded[TaskState.RETRY]}/"
    for url in ("/", "/queues/default/?state=retry", task_url, "/servers/", "/redis/"):
        response = viewer.get(url, **HTMX)
        assert response.status_code == 200
        body = response.content.decode()
        assert body.lstrip().startswith('<div id="page"'), url
        assert "<html" not in body


def test_the_chart_range_is_remembered_per_user(
    viewer: Client, seeded: dict[TaskState, str]
) -> None:
    viewer.get("/?range=30")
    html = viewer.get("/").content.decode()
    assert re.search(r'href="\?range=30"[^>]*aria-current="true"', html)


def test_paging_and_page_size(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    ids = [seed_task(redis_client, "pending").id for _ in range(25)]
    first = viewer.get("/queues/default/", {"state": "pending", "size": 10}).content.decode()
    third = viewer.get(
        "/queues/default/", {"state": "pending", "size": 10, "page": 3}
    ).content.decode()
    assert re.findall(r'<tr data-task-id="([^"]+)"', first) == ids[:10]
    assert re.findall(r'<tr data-task-id="([^"]+)"', third) == ids[20:]
    assert "21\N{EN DASH}25 of 25" in third


def test_search_scans_a_bounded_number_and_offers_more(
    viewer: Client,
    redis_client: redis.Redis,
    queuecore_settings: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dashboard.views import pages

    monkeypatch.setattr(pages, "SEARCH_BUDGET", 5)
    for n in range(12):
        seed_task(
            redis_client,
            "archived",
            score=1000 + n,
            error_msg="timeout" if n % 3 == 0 else "refused",
        )
    html = viewer.get(
        "/queues/default/", {"state": "archived", "error": "TIMEOUT"}
    ).content.decode()
    assert "Scanned 5 tasks, 2 matches" in html
    assert "Scan more" in html
    more = viewer.get(
        "/queues/default/", {"state": "archived", "error": "timeout", "cursor": "5"}, **HTMX
    )
    body = more.content.decode()
    assert body.count("<tr data-task-id=") == 2
    assert 'id="search-status" class="pager" hx-swap-oob="outerHTML"' in body
    last = viewer.get("/queues/default/", {"state": "archived", "error": "timeout", "cursor": "10"})
    assert "end of archived tasks" in last.content.decode()


def test_jump_to_task_by_id(viewer: Client, seeded: dict[TaskState, str]) -> None:
    task_id = seeded[TaskState.SCHEDULED]
    response = viewer.get("/queues/default/jump", {"id": f" {task_id} "})
    assert response.status_code == 302
    assert response["Location"] == f"/queues/default/tasks/{task_id}/"
    assert viewer.get("/queues/default/jump", {"id": "nope"}).status_code == 404


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/queues/nope/", 404),
        ("/queues/default/tasks/nope/", 404),
        ("/queues/nope/tasks/x/", 404),
        ("/queues/default/?state=bogus", 400),
        ("/queues/default/?page=0", 400),
        ("/queues/default/?page=abc", 400),
        ("/queues/default/?size=7", 400),
        ("/?range=5", 400),
        ("/schedulers/x/history/?page=-1", 400),
        ("/audit/?page=x", 400),
        ("/queues/default/all/bogus/run", 404),
        ("/queues/default/tasks/x/raw/other", 404),
        ("/queues/default/?state=archived&cursor=-3&type=x", 400),
    ],
)
def test_bad_ids_queues_and_pages_get_a_clear_error_page(
    viewer: Client, seeded: dict[TaskState, str], url: str, status: int
) -> None:
    response = viewer.get(url)
    assert response.status_code == status
    if status != 404 or ("/all/" not in url and "/raw/" not in url):
        assert b'class="banner' in response.content


def test_names_with_slashes_and_percent_signs_round_trip(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    task = seed_task(redis_client, "retry", queue="team/a%20b", id="job/1?x=%2F")
    html = viewer.get("/").content.decode()
    queue_url = re.search(r'<a href="(/queues/[^"]+/)">team/a%20b</a>', html)[1]
    page = viewer.get(queue_url, {"state": "retry"}).content.decode()
    task_url = re.search(r'<a href="([^"]+)" class="mono">', page)[1]
    detail = viewer.get(task_url.replace("&amp;", "&"))
    assert detail.status_code == 200
    assert task.id.encode() in detail.content


def test_raw_download_returns_the_exact_bytes(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    data = bytes(range(256)) * 3
    task = seed_task(redis_client, "completed", payload=data, completed_at=1_700_000_000)
    redis_client.hset(f"asynq:{{default}}:t:{task.id}", "result", b"\xff\x00ok")
    payload = viewer.get(f"/queues/default/tasks/{task.id}/raw/payload")
    assert payload["Content-Type"] == "application/octet-stream"
    assert payload.content == data
    assert viewer.get(f"/queues/default/tasks/{task.id}/raw/result").content == b"\xff\x00ok"


def test_times_are_shown_in_the_users_time_zone(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    task = seed_task(redis_client, "archived", last_failed_at=1_700_000_000, error_msg="x")
    viewer.post("/settings/", {"refresh_interval": 8, "time_zone": "Asia/Tokyo", "theme": "dark"})
    html = viewer.get(f"/queues/default/tasks/{task.id}/").content.decode()
    assert "2023-11-15 07:13:20 JST" in html
    assert 'data-theme="dark"' in html
    assert "every 8s" in html
