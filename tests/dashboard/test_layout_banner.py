"""The incompatible-layout banner on every page, its per-process cache, and
``manage.py queue check-layout`` (table, JSON, exit codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from dashboard import layout
from queuecore.inspector import LAYOUT_COMPATIBLE, LAYOUT_EMPTY, LAYOUT_LIST_MESSAGES
from tests.support.asynq_fixture import load_into
from tests.support.factories import seed_task

ROOT = Path(__file__).resolve().parents[2]
OLD_MESSAGE = json.dumps(
    {"Type": "email:send", "Payload": {}, "ID": "1f0c", "Queue": "legacy", "Retry": 25}
).encode()


@pytest.fixture(autouse=True)
def fresh_layout_cache() -> Iterator[None]:
    layout.forget_layout_reports()
    yield
    layout.forget_layout_reports()


@pytest.fixture
def old_layout(redis_client: redis.Redis, queuecore_settings: str) -> None:
    redis_client.sadd("asynq:queues", "legacy")
    redis_client.lpush("asynq:{legacy}:pending", OLD_MESSAGE)


def test_pages_show_the_banner_when_the_data_is_in_an_old_layout(
    viewer: Client, old_layout: None
) -> None:
    for name in ("dashboard:overview", "dashboard:servers", "dashboard:audit"):
        html = viewer.get(reverse(name)).content.decode()

        assert 'class="banner banner-error layout-banner"' in html, name
        assert escape(LAYOUT_LIST_MESSAGES) in html
        assert "queue &#x27;legacy&#x27;&#x27;s pending list holds JSON-encoded messages" in html
        assert "v0.22 or later" in html


def test_pages_show_no_banner_for_go_v026_data(viewer: Client, redis_client: redis.Redis) -> None:
    load_into(redis_client)

    html = viewer.get(reverse("dashboard:overview")).content.decode()

    assert "layout-banner" not in html
    assert layout.layout_report() is not None
    assert layout.layout_report().layout == LAYOUT_COMPATIBLE  # type: ignore[union-attr]


def test_pages_show_no_banner_on_an_empty_redis(viewer: Client) -> None:
    html = viewer.get(reverse("dashboard:overview")).content.decode()

    assert "layout-banner" not in html
    assert layout.layout_report().layout == LAYOUT_EMPTY  # type: ignore[union-attr]


def test_the_login_page_does_not_check_the_layout(client: Client, old_layout: None) -> None:
    html = client.get(reverse("login")).content.decode()

    assert "layout-banner" not in html
    assert layout._reports == {}


def test_the_layout_report_is_reused_until_it_is_a_minute_old(
    viewer: Client, old_layout: None, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "layout-banner" in viewer.get(reverse("dashboard:overview")).content.decode()
    redis_client.delete("asynq:{legacy}:pending")

    # Within the minute the cached report stands, so pages do not pay for a check each.
    assert "layout-banner" in viewer.get(reverse("dashboard:overview")).content.decode()

    later = layout.time.monotonic() + layout.CHECK_MAX_AGE + 1
    monkeypatch.setattr(layout.time, "monotonic", lambda: later)
    assert "layout-banner" not in viewer.get(reverse("dashboard:overview")).content.decode()


# -- manage.py queue check-layout -----------------------------------------------------------------


def run_check(*args: str) -> str:
    out = StringIO()
    call_command("queue", "check-layout", *args, stdout=out)
    return out.getvalue()


def test_check_layout_prints_a_compatible_layout(
    redis_client: redis.Redis, queuecore_settings: str
) -> None:
    seed_task(redis_client, "pending")

    text = run_check()

    assert f"Layout:         {LAYOUT_COMPATIBLE}" in text
    assert "Compatible:     yes" in text
    assert "Queues checked: 1 of 1" in text


def test_check_layout_fails_with_its_findings_on_an_old_layout(old_layout: None) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="incompatible data layout") as caught:
        call_command("queue", "check-layout", stdout=out)

    assert caught.value.returncode == 1
    assert "Compatible:     no" in out.getvalue()
    assert "- queue 'legacy''s pending list holds JSON-encoded messages" in out.getvalue()


def test_check_layout_json_gives_the_whole_report(old_layout: None) -> None:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("queue", "check-layout", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["layout"] == LAYOUT_LIST_MESSAGES
    assert report["compatible"] is False
    assert len(report["findings"]) == 1
    assert (report["queues_checked"], report["queues_total"]) == (1, 1)


@pytest.mark.parametrize(("old", "code"), [(False, 0), (True, 1)])
def test_check_layout_exit_status_tells_scripts_whether_the_data_is_readable(
    redis_client: redis.Redis, redis_url: str, old: bool, code: int
) -> None:
    seed_task(redis_client, "pending")
    if old:
        redis_client.lpush("asynq:{default}", OLD_MESSAGE)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}

    done = subprocess.run(
        [sys.executable, "manage.py", "queue", "--redis-url", redis_url, "check-layout", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["compatible"] is not old
