"""A server's state (ServerInfo.status: active, stopped after SIGTSTP, closed while shutting
down) reaches the servers page as a badge, Asynqmon's API and ``manage.py server ls``."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
import redis
from django.core.management import call_command
from django.test import Client

from dashboard.presenters.system import describe_server_status
from queuecore import keys
from queuecore.messages import ServerInfo

STATUSES = {"sid-active": "active", "sid-stopped": "stopped", "sid-closed": "closed"}


def write_server(client: redis.Redis, server_id: str, status: str) -> None:
    """A live ServerInfo record as a heartbeat (Go's or ours) leaves it."""
    info = ServerInfo(host="h", pid=7, server_id=server_id, concurrency=3, status=status)
    info.queues["default"] = 1
    info.start_time.seconds = int(time.time()) - 60
    key = keys.server_info_key("h", 7, server_id)
    client.zadd(keys.ALL_SERVERS, {key: int(time.time()) + 600})
    client.set(key, info.SerializeToString())


@pytest.fixture
def servers(redis_client: redis.Redis, queuecore_settings: str) -> None:
    for server_id, status in STATUSES.items():
        write_server(redis_client, server_id, status)


@pytest.mark.parametrize(
    ("status", "label", "tone"),
    [
        ("active", "active", "ok"),
        ("stopped", "stopped — not taking new tasks", "warn"),
        ("closed", "closed — shutting down", "warn"),
        ("new", "new — starting", ""),
        ("running", "running", ""),  # a status we do not know is shown as it is
        ("", "unknown", ""),
    ],
)
def test_each_server_status_gets_its_badge_text_and_tone(status, label, tone):
    assert describe_server_status(status) == (label, tone)


def test_the_servers_page_shows_a_stopped_server_as_not_taking_new_tasks(
    viewer: Client, servers: None
) -> None:
    html = viewer.get("/servers/").content.decode()
    assert (
        '<span class="badge badge-warn" data-status="stopped">stopped — not taking new tasks</span>'
    ) in html
    assert '<span class="badge badge-ok" data-status="active">active</span>' in html
    assert 'data-status="closed">closed — shutting down</span>' in html


def test_the_api_passes_the_status_through(viewer: Client, servers: None) -> None:
    payload = viewer.get("/api/servers").json()
    assert {s["id"]: s["status"] for s in payload["servers"]} == STATUSES


def test_server_ls_shows_the_state(servers: None) -> None:
    out = StringIO()
    call_command("server", "ls", stdout=out)
    header, _rule, *rows = out.getvalue().splitlines()
    assert header.split()[:3] == ["Host", "PID", "State"]
    assert sorted(row.split()[2] for row in rows) == ["active", "closed", "stopped"]
    out = StringIO()
    call_command("server", "ls", "--json", stdout=out)
    assert {s["id"]: s["status"] for s in json.loads(out.getvalue())} == STATUSES
