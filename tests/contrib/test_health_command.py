"""``manage.py health``: findings as text or JSON, exit 0 / 1 (a finding at or above --fail-on) /
2 (could not check); and system check queuecore.E010 for ``QUEUECORE["HEALTH"]``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from queuecore import keys
from queuecore.contrib.django.checks import check_queuecore_settings
from queuecore.messages import ServerInfo
from tests.support.factories import seed_task
from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def write_live_server(client: redis.Redis, *queues: str) -> None:
    info = ServerInfo(host="h", pid=7, server_id="sid", concurrency=3, status="active")
    for name in queues:
        info.queues[name] = 1
    key = keys.server_info_key("h", 7, "sid")
    client.zadd(keys.ALL_SERVERS, {key: int(time.time()) + 600})
    client.set(key, info.SerializeToString())


def health(*args: str) -> tuple[int, str]:
    """(exit code, stdout) of ``manage.py health`` run in-process."""
    out = StringIO()
    try:
        call_command("health", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def paused_backlog(redis_client: redis.Redis, queuecore_settings: str) -> None:
    """One warning: a paused queue with a pending task (its consumer is alive)."""
    seed_task(redis_client, "pending", queue="held")
    redis_client.set(keys.paused_key("held"), int(time.time()))
    write_live_server(redis_client, "held")


@pytest.fixture
def unconsumed(redis_client: redis.Redis, queuecore_settings: str) -> None:
    """One critical: a pending task nobody consumes."""
    seed_task(redis_client, "pending", queue="lonely")


def test_a_healthy_redis_prints_no_findings_and_exits_0(
    redis_client: redis.Redis, queuecore_settings: str
) -> None:
    write_live_server(redis_client, "default")
    assert health() == (0, "No findings.\n")
    assert health("--fail-on", "warning")[0] == 0


def test_a_warning_fails_only_when_asked_to_fail_on_warnings(paused_backlog: None) -> None:
    code, out = health()
    assert code == 0  # the default level is critical
    assert out.splitlines()[0].split() == ["WARNING", "paused_backlog", "queue", "held"]
    assert "Queue held is paused with 1 pending task" in out
    assert "Action: Unpause the queue" in out
    assert health("--fail-on", "warning")[0] == 1
    assert health("--fail-on", "critical")[0] == 0


def test_a_critical_finding_fails_at_either_level(unconsumed: None) -> None:
    assert health()[0] == 1
    assert health("--fail-on", "warning")[0] == 1


def test_json_lists_every_finding_with_the_overall_status(
    paused_backlog: None, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending", queue="lonely")
    code, out = health("--json")
    assert code == 1
    document = json.loads(out)
    assert document["status"] == "critical"
    assert document["checked_at"].endswith("+00:00")
    assert [(f["rule"], f["severity"], f["queue"]) for f in document["findings"]] == [
        ("no_consumer", "critical", "lonely"),
        ("paused_backlog", "warning", "held"),
    ]
    first = document["findings"][0]
    assert set(first) == {
        "rule",
        "severity",
        "queue",
        "entry_id",
        "scheduler_id",
        "subject",
        "message",
        "action",
    }
    assert first["subject"] == "queue lonely"


def test_json_of_a_healthy_redis_says_ok(queuecore_settings: str) -> None:
    code, out = health("--json")
    assert code == 0
    assert json.loads(out)["status"] == "ok"
    assert json.loads(out)["findings"] == []


def test_thresholds_come_from_the_health_setting(paused_backlog: None, settings) -> None:
    seed_task(redis.Redis.from_url(settings.QUEUECORE["REDIS_URL"]), "archived", queue="held")
    settings.QUEUECORE = {**settings.QUEUECORE, "HEALTH": {"archive_cap": 1}}
    code, out = health("--json")
    assert code == 1
    rules = [f["rule"] for f in json.loads(out)["findings"]]
    assert rules == ["archive_cap", "paused_backlog"]


def test_an_unreachable_redis_exits_2(settings, queuecore_settings: str) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0?retry_timeout=0"
    code, out = health("--redis-url", url)
    assert code == 2
    assert out == ""


def test_an_invalid_health_setting_exits_2(settings, queuecore_settings: str) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "HEALTH": {"latency_critical": "soon"}}
    with pytest.raises(CommandError, match="latency_critical") as caught:
        call_command("health", stdout=StringIO())
    assert caught.value.returncode == 2


def test_the_process_exit_code_is_what_probes_see(unconsumed: None, queuecore_settings: str):
    env = {
        **os.environ,
        "REDIS_URL": queuecore_settings,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    failing = subprocess.run(
        [sys.executable, "manage.py", "health", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failing.returncode == 1, failing.stderr
    assert json.loads(failing.stdout)["status"] == "critical"
    assert "1 finding(s) at or above critical" in failing.stderr


# -- system check queuecore.E010 ------------------------------------------------------------


def check_ids(**overrides: object) -> list[str]:
    with override_settings(QUEUECORE={**settings.QUEUECORE, **overrides}):
        return [message.id for message in check_queuecore_settings()]


@pytest.mark.parametrize(
    "health_setting",
    [
        {"latency_warning": 0},
        {"latency_warning": 600},  # above the critical default of 300
        {"error_rate_warning": "10%"},
        {"archive_cap": 0},
        {"orphan_scan": 1_000_000},
        {"cron_missed_intervals": 1.5},
        {"latency_warn": 30},  # a typo
        {1: 2},
        ["latency_warning", 30],
        "strict",
    ],
)
def test_a_bad_health_setting_is_error_e010(health_setting: object) -> None:
    assert check_ids(HEALTH=health_setting) == ["queuecore.E010"]


@pytest.mark.parametrize(
    "health_setting",
    [{}, None, {"latency_warning": 30, "latency_critical": 120}, {"error_rate_min_processed": 0}],
)
def test_a_good_health_setting_passes_the_checks(health_setting: object) -> None:
    assert check_ids(HEALTH=health_setting) == []


def test_a_queue_key_of_a_foreign_type_is_a_critical_finding(
    redis_client: redis.Redis, queuecore_settings: str
) -> None:
    redis_client.sadd(keys.ALL_QUEUES, "wrongtype")
    redis_client.set(keys.pending_key("wrongtype"), "not a list")
    write_live_server(redis_client, "wrongtype")
    code, out = health()
    assert code == 1
    assert out.splitlines()[0].split() == ["CRITICAL", "mistyped_keys", "queue", "wrongtype"]
    assert "(pending)" in out
