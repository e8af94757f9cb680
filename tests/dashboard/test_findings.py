"""The Findings panel: rendered inside the overview's #page from the same queue read as its table
(one overview read per request, full page or poll), and on its own at /findings/; each finding
escaped and linked to its queue or the schedulers page, "No findings" when healthy, and a message
in the panel (never an error reply) when health cannot be checked."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime

import pytest
import redis
from django.test import Client
from django.urls import reverse

from queuecore import keys
from queuecore.contrib.django.connection import shared_inspector
from queuecore.messages import ServerInfo
from queuecore.scheduler import EntryState, encode_entry
from tests.support.factories import seed_task
from tests.support.redis_server import free_port

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "findings"}
HOSTILE = '<script>alert("q")</script>'


def write_live_server(client: redis.Redis, *queues: str) -> None:
    """A live ServerInfo record as a heartbeat (Go's or ours) leaves it."""
    info = ServerInfo(host="h", pid=7, server_id="sid", concurrency=3, status="active")
    for name in queues:
        info.queues[name] = 1
    info.start_time.seconds = int(time.time()) - 60
    key = keys.server_info_key("h", 7, "sid")
    client.zadd(keys.ALL_SERVERS, {key: int(time.time()) + 600})
    client.set(key, info.SerializeToString())


def write_stalled_entry(client: redis.Redis) -> None:
    """A live scheduler whose only entry was due ten minutes ago (@every 1m)."""
    state = EntryState(
        id="entry-<b>1</b>",
        spec="@every 1m",
        task_type="report:send",
        payload=None,
        options=(),
        identity="x",
        next_run=datetime.fromtimestamp(time.time() - 600, UTC),
        prev_run=None,
    )
    key = keys.scheduler_entries_key("sched-1")
    client.zadd(keys.ALL_SCHEDULERS, {key: int(time.time()) + 600})
    client.rpush(key, encode_entry(state))


def items(body: str) -> list[str]:
    return re.findall(r"<li data-rule=.*?</li>", body, re.S)


POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "page"}


def panel_of(body: str) -> str:
    panel = re.search(r'<section id="findings".*?</section>', body, re.S)
    assert panel, "no findings panel"
    return panel[0]


def test_the_overview_renders_its_panel_at_the_top_of_the_page_without_fetching_it(
    viewer: Client, queuecore_settings: str
) -> None:
    body = viewer.get("/").content.decode()
    panel = panel_of(body)
    assert "No findings." in panel
    assert "Checking health" not in body
    assert "hx-get" not in panel  # refreshed with #page, not on its own
    assert body.index('id="page"') < body.index('id="findings"') < body.index("<h1>Queues")


def test_the_overview_poll_fragment_carries_the_refreshed_panel(
    viewer: Client, redis_client: redis.Redis
) -> None:
    assert "No findings." in panel_of(viewer.get("/", **POLL).content.decode())
    seed_task(redis_client, "pending", queue="lonely")
    panel = panel_of(viewer.get("/", **POLL).content.decode())
    (item,) = items(panel)
    assert 'data-rule="no_consumer"' in item


@pytest.mark.parametrize("headers", [{}, POLL], ids=["full page", "poll"])
def test_one_overview_request_reads_the_overview_from_redis_once(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str, monkeypatch, headers
) -> None:
    seed_task(redis_client, "pending", queue="lonely")
    seed_task(redis_client, "active", queue="busy")
    insp = shared_inspector(queuecore_settings)
    reads = []
    real = insp.overview

    def counted(*, cheap: bool = True) -> list:
        reads.append(cheap)
        return real(cheap=cheap)

    monkeypatch.setattr(insp, "overview", counted)
    body = viewer.get("/", **headers).content.decode()
    assert len(reads) == 1
    assert 'data-rule="no_consumer"' in panel_of(body)


def test_the_overview_panel_shows_what_findings_reports(
    viewer: Client, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending", queue=HOSTILE)
    seed_task(redis_client, "pending", queue="held")
    seed_task(redis_client, "active", queue="held")
    redis_client.set(keys.paused_key("held"), int(time.time()))
    write_stalled_entry(redis_client)
    alone = items(viewer.get("/findings/", **HTMX).content.decode())
    assert len(alone) >= 3
    for headers in ({}, POLL):
        assert items(panel_of(viewer.get("/", **headers).content.decode())) == alone


def test_a_findings_failure_is_said_inside_the_overview_panel(
    viewer: Client, settings, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    seed_task(redis_client, "pending")
    settings.QUEUECORE = {**settings.QUEUECORE, "HEALTH": {"latency_warning": -5}}
    for headers in ({}, POLL):
        response = viewer.get("/", **headers)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Health could not be checked" in panel_of(body)
        assert 'data-queue="default"' in body  # the table is still there


def test_a_healthy_redis_shows_only_a_small_no_findings_line(
    viewer: Client, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    write_live_server(redis_client, "default")
    response = viewer.get("/findings/", **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "No findings." in body
    assert "card" not in body
    assert items(body) == []
    # Once loaded, the panel keeps polling but no longer loads on its own insertion.
    assert 'hx-trigger="every 8s [pollAllowed()], dashboard:changed from:body"' in body


def test_findings_are_escaped_counted_and_linked_to_their_queue(
    viewer: Client, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending", queue=HOSTILE)
    seed_task(redis_client, "pending", queue="held")
    redis_client.set(keys.paused_key("held"), int(time.time()))
    body = viewer.get("/findings/", **HTMX).content.decode()
    assert "<script>alert" not in body
    assert '<span class="badge badge-error">1 critical</span>' in body
    assert '<span class="badge badge-warn">1 warning</span>' in body
    critical, warning = items(body)
    assert 'data-rule="no_consumer"' in critical
    assert html.escape(f"Queue {HOSTILE} has 1 pending task") in critical
    url = reverse("dashboard:queue", args=[HOSTILE]) + "?state=pending"
    assert f'href="{html.escape(url)}">Queue {html.escape(HOSTILE)}</a>' in critical
    assert 'data-rule="paused_backlog"' in warning
    assert 'href="/queues/held/?state=pending">Queue held</a>' in warning
    assert "Unpause the queue" in warning


def test_a_stalled_scheduler_entry_links_to_the_schedulers_page(
    viewer: Client, redis_client: redis.Redis
) -> None:
    write_stalled_entry(redis_client)
    (item,) = items(viewer.get("/findings/", **HTMX).content.decode())
    assert 'data-rule="cron_stalled"' in item
    assert "entry-&lt;b&gt;1&lt;/b&gt;" in item
    assert 'href="/schedulers/">Schedulers</a>' in item


def test_viewers_and_operators_see_the_same_findings(
    login, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    seed_task(redis_client, "pending")
    bodies = [
        login(role).get("/findings/", **HTMX).content.decode() for role in ("viewer", "operator")
    ]
    assert [len(items(b)) for b in bodies] == [1, 1]


def test_an_unreachable_redis_is_said_inside_the_panel_with_a_200(viewer: Client, settings) -> None:
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0?retry_timeout=0",
    }
    response = viewer.get("/findings/", **HTMX)
    assert response.status_code == 200
    assert "HX-Trigger" not in response  # no page-wide refresh loop
    body = response.content.decode()
    assert "Health could not be checked" in body
    assert 'id="findings"' in body


def test_invalid_health_settings_are_said_inside_the_panel(
    viewer: Client, settings, queuecore_settings: str
) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "HEALTH": {"latency_warning": -5}}
    body = viewer.get("/findings/", **HTMX).content.decode()
    assert "Health could not be checked" in body
    assert "latency_warning" in body


def test_configured_thresholds_are_used(
    viewer: Client, settings, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    seed_task(redis_client, "archived", queue="default")
    seed_task(redis_client, "archived", queue="default")
    write_live_server(redis_client, "default")
    settings.QUEUECORE = {**settings.QUEUECORE, "HEALTH": {"archive_cap": 2}}
    (item,) = items(viewer.get("/findings/", **HTMX).content.decode())
    assert 'data-rule="archive_cap"' in item
    assert 'href="/queues/default/?state=archived"' in item


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_do_not_get_findings(client: Client, queuecore_settings: str, db, method):
    response = getattr(client, method)("/findings/")
    assert response.status_code in (302, 401, 405)
