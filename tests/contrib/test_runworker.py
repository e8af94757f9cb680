"""``manage.py runworker`` maps options and settings onto the worker, prints a banner, runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.contrib.django.queuecore.management.commands.runworker import parse_queues
from queuecore.handlers import ServeMux
from queuecore.messages import decode_task_message

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, mux: ServeMux | None = None) -> str:
    out = StringIO()
    call_command("runworker", *args, stdout=out, stderr=StringIO(), mux=mux or ServeMux())
    return out.getvalue()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["critical=6", "default=3"], {"critical": 6, "default": 3}),
        (["critical=6,default=3,low=1"], {"critical": 6, "default": 3, "low": 1}),
        (["only"], {"only": 1}),
        (["a=2, b"], {"a": 2, "b": 1}),
    ],
)
def test_queue_options_parse_names_and_weights(values, expected):
    assert parse_queues(values) == expected


@pytest.mark.parametrize("bad", ["=3", "a=x", "a=0", "a=-2"])
def test_bad_queue_options_are_refused_clearly(bad):
    with pytest.raises(CommandError):
        parse_queues([bad])


def test_burst_run_processes_the_queues_and_prints_the_banner(queuecore_settings, redis_client):
    seen = []
    mux = ServeMux()
    mux.register("email:send", lambda task: seen.append(task.queue))
    with Client.from_url(queuecore_settings) as client:
        client.enqueue(Task("email:send", b"1"), queue="critical")
        client.enqueue(Task("email:send", b"2"), queue="low")
    output = run("--burst", "-q", "critical=6", "--queues", "low=1", "--concurrency", "3", mux=mux)
    assert sorted(seen) == ["critical", "low"]
    assert "queuecore worker" in output
    assert (
        f"Redis:        redis://127.0.0.1:{redis_client.connection_pool.connection_kwargs['port']}/0"
        in output
    )
    assert "critical=6, low=1 (weighted)" in output
    assert "Concurrency:  3 per process x 1 process(es)" in output
    assert "Handlers:     1" in output
    assert "    email:send" in output


def test_settings_give_the_defaults(settings, queuecore_settings, redis_client):
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "QUEUES": {"from-settings": 2},
        "CONCURRENCY": 7,
        "STRICT_PRIORITY": True,
        "SHUTDOWN_TIMEOUT": 3,
    }
    seen = []
    mux = ServeMux()
    mux.register("t", lambda task: seen.append(task.queue))
    with Client.from_url(queuecore_settings) as client:
        client.enqueue(Task("t", b""), queue="from-settings")
    output = run("--burst", mux=mux)
    assert seen == ["from-settings"]
    assert "from-settings=2 (strict priority)" in output
    assert "Concurrency:  7 per process" in output
    assert "in-flight tasks get 3s" in output


def test_the_banner_never_shows_the_redis_password(redis_server, queuecore_settings, redis_client):
    redis_client.config_set("requirepass", "s3cret-pw")
    try:
        url = f"redis://:s3cret-pw@127.0.0.1:{redis_server.port}/0"
        output = run("--burst", "--redis-url", url)
    finally:
        redis_client.config_set("requirepass", "")
    assert "s3cret-pw" not in output
    assert f"redis://127.0.0.1:{redis_server.port}/0" in output


def test_invalid_options_fail_with_a_command_error(queuecore_settings):
    with pytest.raises(CommandError):
        run("--burst", "--concurrency", "-1")
    with pytest.raises(CommandError):
        run("--burst", "--processes", "0")
    with pytest.raises(CommandError):
        run("--burst", "--redis-url", "ftp://nowhere")


def test_with_scheduler_runs_the_schedule_beside_the_worker(settings, queuecore_settings):
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "SCHEDULE": [{"cron": "@every 30s", "task": "report:generate"}],
    }
    output = run("--burst", "--with-scheduler")
    assert "Scheduler:    1 entries" in output


def test_with_scheduler_reports_a_bad_schedule(settings, queuecore_settings):
    settings.QUEUECORE = {**settings.QUEUECORE, "SCHEDULE": [{"cron": "not a spec"}]}
    with pytest.raises(CommandError):
        run("--burst", "--with-scheduler")


@pytest.mark.slow
def test_several_processes_share_the_queues(redis_url, redis_client):
    with Client.from_url(redis_url) as client:
        client.enqueue_many([Task("unhandled:type", b"") for _ in range(40)])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEMO": "0"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "runworker",
            "--burst",
            "--processes",
            "2",
            "--redis-url",
            redis_url,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"x 2 process(es)" in result.stdout
    # No handler for the type: every task failed once with asynq's text and went to retry.
    assert redis_client.get(keys.processed_total_key("default")) == b"40"
    assert redis_client.zcard(keys.retry_key("default")) == 40
    some_id = redis_client.zrange(keys.retry_key("default"), 0, 0)[0].decode()
    msg = decode_task_message(redis_client.hget(keys.task_key("default", some_id), "msg"))
    assert msg.error_msg == 'handler not found for task "unhandled:type"'


def test_sigterm_stops_a_serving_worker_gracefully(redis_url, redis_client):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEMO": "0"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runworker", "--redis-url", redis_url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The server registers itself once it runs: the process boundary we wait for.
        probe = redis.Redis.from_url(redis_url)
        for _ in range(600):
            if probe.zcard(keys.ALL_SERVERS):
                break
            if process.poll() is not None:
                break
            time.sleep(0.02)
        assert probe.zcard(keys.ALL_SERVERS) == 1
        process.terminate()
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert redis_client.zcard(keys.ALL_SERVERS) == 0


def join_items(group: str, tasks: list[Task]) -> Task:
    """A group aggregator for the tests (dotted path tests.contrib.test_runworker.join_items)."""
    return Task("digest:send", f"{group}:".encode() + b",".join(sorted(t.payload for t in tasks)))


def test_runworker_aggregates_groups_with_the_group_aggregator_setting(
    settings, queuecore_settings
):
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "GROUP_AGGREGATOR": "tests.contrib.test_runworker.join_items",
        "GROUP_GRACE_PERIOD": 5,
    }
    # Joined two minutes ago, so the grace period is over and a burst run aggregates at once.
    with Client(queuecore_settings, clock=FrozenClock(time.time() - 120)) as client:
        for item in (b"b", b"a", b"c"):
            client.enqueue(Task("digest:item", item), group="user1")
    seen = []
    mux = ServeMux()
    mux.register("digest:send", lambda task: seen.append(task.payload))
    output = run("--burst", mux=mux)
    assert seen == [b"user1:a,b,c"]
    assert "Aggregator:   tests.contrib.test_runworker.join_items (grace 5s)" in output


@pytest.mark.parametrize(
    "bad",
    [
        {"GROUP_AGGREGATOR": "tests.contrib.test_runworker.no_such_function"},
        {"GROUP_AGGREGATOR": "tests.contrib.test_runworker.ROOT"},
        {"GROUP_AGGREGATOR": "tests.contrib.test_runworker.join_items", "GROUP_MAX_SIZE": "x"},
        {"GROUP_AGGREGATOR": "tests.contrib.test_runworker.join_items", "GROUP_GRACE_PERIOD": 0},
    ],
)
def test_a_bad_group_aggregator_setting_fails_with_a_command_error(
    settings, queuecore_settings, bad
):
    settings.QUEUECORE = {**settings.QUEUECORE, **bad}
    with pytest.raises(CommandError, match=r"GROUP|group"):
        run("--burst")


def test_runworker_runs_the_queuecore_checks_before_it_starts(settings, queuecore_settings):
    from django.core.management.base import SystemCheckError

    settings.QUEUECORE = {**settings.QUEUECORE, "CONCURRENCY": 0}
    with pytest.raises(SystemCheckError, match=r"queuecore\.E003"):
        call_command("runworker", "--burst", skip_checks=False, mux=ServeMux())


def test_an_idle_worker_does_not_import_the_dashboard_or_its_urls(redis_url):
    code = (
        "import sys, django; django.setup();"
        "from django.core.management import call_command;"
        "call_command('runworker', '--burst', skip_checks=False);"
        "print(sorted(m for m in ('dashboard.urls', 'dashboard.views', 'prometheus_client')"
        " if m in sys.modules))"
    )
    env = {**os.environ, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DEMO", None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
