"""``manage.py runscheduler``: settings to scheduler, banner, bounded runs, clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from queuecore import keys
from queuecore.clock import FrozenClock
from queuecore.contrib.django.queuecore.management.commands.runscheduler import (
    schedule_from_settings,
)
from queuecore.messages import decode_task_message

START = datetime(2026, 11, 25, 15, 40, 5, tzinfo=UTC).timestamp()
SCHEDULE = [
    {
        "cron": "@every 10s",
        "task": "lab:periodic:heartbeat",
        "payload": {"source": "settings"},
        "options": {"queue": "low", "max_retry": 3},
    },
    {
        "cron": "0 9 * * *",
        "task": "report:daily",
        "options": {"queue": "low", "timeout": "2m"},
        "timezone": "Europe/Berlin",
    },
]


class AdvancingStop:
    """A stop signal whose waits move a FrozenClock instead of sleeping; set at ``stop_at``."""

    def __init__(
        self, clock: FrozenClock, stop_at: float, on_wait: Callable[[], None] = lambda: None
    ) -> None:
        self.clock = clock
        self.stop_at = stop_at
        self.on_wait = on_wait

    def is_set(self) -> bool:
        return self.clock.now() >= self.stop_at

    def wait(self, timeout: float | None = None) -> bool:
        self.on_wait()
        self.clock.advance(timeout or 0.0)
        return self.is_set()


@pytest.fixture
def schedule(settings: Any, queuecore_settings: str) -> str:
    settings.QUEUECORE = {**settings.QUEUECORE, "SCHEDULE": SCHEDULE}
    return queuecore_settings


def run(**options: Any) -> str:
    out = StringIO()
    call_command("runscheduler", stdout=out, **options)
    return out.getvalue()


def test_runscheduler_enqueues_settings_entries_and_cleans_up(
    schedule: str, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    entry_lists: list[int] = []

    def look() -> None:
        entry_lists.extend(
            redis_client.llen(k) for k in redis_client.zrange(keys.ALL_SCHEDULERS, 0, -1)
        )

    output = run(clock=clock, stop_event=AdvancingStop(clock, START + 31, look))

    ids = redis_client.lrange(keys.pending_key("low"), 0, -1)
    messages = [
        decode_task_message(redis_client.hget(keys.task_key("low", i.decode()), "msg")) for i in ids
    ]
    assert [(m.type, m.payload, m.retry) for m in messages] == [
        ("lab:periodic:heartbeat", b'{"source":"settings"}', 3)
    ] * 3
    assert 2 in entry_lists  # both entries were published while it ran
    assert redis_client.zcard(keys.ALL_SCHEDULERS) == 0
    assert redis_client.keys("asynq:schedulers:*") == []
    assert redis_client.keys("asynq:scheduler_history:*") == []
    assert "queuecore scheduler stopped at 2026-11-25 15:40:36 UTC" in output


def test_runscheduler_banner_lists_entries_with_their_next_run(schedule: str) -> None:
    clock = FrozenClock(START)
    output = run(clock=clock, stop_event=AdvancingStop(clock, START))
    lines = output.splitlines()
    assert lines[0].startswith("queuecore scheduler ")
    assert lines[0].count(":") == 2
    assert "  Redis:    redis://127.0.0.1:" in output
    assert "  Entries:  2" in output
    assert '    @every 10s  lab:periodic:heartbeat  Queue("low") MaxRetry(3)' in lines
    assert "      next run 2026-11-25 15:40:10 UTC (in 5s)" in lines
    assert '    CRON_TZ=Europe/Berlin 0 9 * * *  report:daily  Queue("low") Timeout(2m0s)' in lines
    assert "      next run 2026-11-26 08:00:00 UTC (in 16h19m55s)" in lines


def test_runscheduler_says_so_when_there_is_nothing_to_schedule(queuecore_settings: str) -> None:
    clock = FrozenClock(START)
    output = run(clock=clock, stop_event=AdvancingStop(clock, START))
    assert "  Entries:  0" in output
    assert 'add periodic tasks to QUEUECORE["SCHEDULE"]' in output


def test_runscheduler_redis_url_option_wins_over_settings(
    schedule: str, redis_client: redis.Redis, settings: Any
) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "REDIS_URL": "redis://127.0.0.1:1/0"}
    clock = FrozenClock(START)
    output = run(redis_url=schedule, clock=clock, stop_event=AdvancingStop(clock, START + 6))
    assert f"Redis:    {schedule}" in output
    assert redis_client.llen(keys.pending_key("low")) == 1


@pytest.mark.parametrize(
    ("schedule_setting", "message"),
    [
        ({"cron": "@daily"}, 'QUEUECORE["SCHEDULE"] must be a list of dicts'),
        ([{"cron": "@daily"}], "QUEUECORE[\"SCHEDULE\"][0]: schedule entry needs a 'task' type"),
        (
            [{"cron": "@daily", "task": "a"}, {"cron": "5 4 * *", "task": "b"}],
            "QUEUECORE[\"SCHEDULE\"][1]: invalid cron spec '5 4 * *'",
        ),
        (
            [{"cron": "@daily", "task": "a", "options": {"retries": 3}}],
            "unknown enqueue option(s) retries",
        ),
    ],
)
def test_runscheduler_refuses_a_bad_schedule_with_a_clear_error(
    settings: Any, queuecore_settings: str, schedule_setting: Any, message: str
) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "SCHEDULE": schedule_setting}
    with pytest.raises(CommandError) as excinfo:
        run()
    assert message in str(excinfo.value)
    with pytest.raises(ImproperlyConfigured):
        schedule_from_settings()


def test_schedule_from_settings_gives_entry_specs(schedule: str) -> None:
    entries = schedule_from_settings()
    assert [e.task.type for e in entries] == ["lab:periodic:heartbeat", "report:daily"]
    assert entries[1].timezone == "Europe/Berlin"


@pytest.mark.slow
def test_runscheduler_process_stops_on_sigterm_and_removes_its_entries(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    # A real process boundary: the signal handler and the cleanup on exit.
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    settings_override = tmp_path / "sched_settings.py"
    settings_override.write_text(
        "from config.settings import *  # noqa\n"
        f"QUEUECORE = {{**QUEUECORE, 'REDIS_URL': {redis_url!r}, "
        "'SCHEDULE': [{'cron': '@every 1h', 'task': 'never:soon'}]}\n"
    )
    env["DJANGO_SETTINGS_MODULE"] = "sched_settings"
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{root}"
    process = subprocess.Popen(
        [sys.executable, str(root / "manage.py"), "runscheduler", "--log-level", "warning"],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()  # the banner is printed once it has started
        assert first_line.startswith("queuecore scheduler ")
        scheduler_id = first_line.split()[-1]
        # Go's first write comes after one heartbeat (10 s); wait for it with a deadline.
        entries_key = keys.scheduler_entries_key(scheduler_id)
        deadline = time.monotonic() + 20
        while not redis_client.exists(entries_key) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert redis_client.exists(entries_key)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "queuecore scheduler stopped at" in out
    assert not redis_client.exists(entries_key)
    assert redis_client.zcard(keys.ALL_SCHEDULERS) == 0
