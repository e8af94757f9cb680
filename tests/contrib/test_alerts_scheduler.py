"""The alert loop inside ``runscheduler``: a receiver that hangs never delays a cron tick."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.handlers import ServeMux
from tests.contrib.test_runscheduler import AdvancingStop
from tests.support.factories import seed_task
from tests.support.receivers import HttpReceiver, wait_for

START = datetime(2026, 11, 25, 15, 40, 0, tzinfo=UTC).timestamp()
TICKS = 20


def test_runscheduler_keeps_its_cron_entries_on_time_while_an_alert_receiver_hangs(
    settings: Any, queuecore_settings: str, http_receiver: HttpReceiver, redis_client: redis.Redis
):
    http_receiver.hang = True  # holds every request until the test ends
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "SCHEDULE": [{"cron": "@every 1s", "task": "tick", "options": {"queue": "ticks"}}],
        "ALERTS": [{"type": "webhook", "url": http_receiver.url(), "timeout": 20}],
        "ALERTS_INTERVAL": 1,  # the first evaluation comes one interval after the start
    }
    # A finding for the alert loop to send about: a queue nobody consumes.
    seed_task(redis_client, "pending", queue="orphans")
    clock = FrozenClock(START)
    answered_while_ticking: list[int] = []
    attempts_logged: list[int] = []
    behind: list[tuple[float, int]] = []  # (now, ticks due by now but not yet enqueued)

    def on_wait() -> None:
        # The scheduler's first wait lasts until the alert has reached the receiver, which holds
        # it; from then on every tick below happens while the receiver hangs.
        assert http_receiver.arrived.wait(10), "the alert never reached the receiver"
        answered_while_ticking.append(http_receiver.answered)
        # The delivery attempt is still in flight (its outcome is not logged yet).
        attempts_logged.append(redis_client.llen(keys.ALERT_DELIVERIES))
        due = int(clock.now() - START)
        behind.append((clock.now(), due - redis_client.llen(keys.pending_key("ticks"))))

    out = StringIO()
    call_command(
        "runscheduler",
        stdout=out,
        clock=clock,
        stop_event=AdvancingStop(clock, START + TICKS + 0.5, on_wait),
    )

    assert "  Alerts:   every 1s to webhook-1" in out.getvalue()
    assert set(answered_while_ticking) == {0}
    assert set(attempts_logged) == {0}
    # At every wait of the cron loop, each tick due so far had been enqueued: none ran late.
    assert {lag for _, lag in behind} == {0}
    assert behind[-1][0] >= START + TICKS
    ids = [i.decode() for i in redis_client.lrange(keys.pending_key("ticks"), 0, -1)]
    assert len(ids) == TICKS  # every tick, once
    claimed = sorted(
        int(k.decode().rsplit(":", 1)[1]) for k in redis_client.keys("asynq:scheduler_tick:*")
    )
    assert claimed == [int(START) + n for n in range(1, TICKS + 1)]
    # The stopped scheduler left the hung outbox thread behind; released, it ends on its own.
    http_receiver.release()
    wait_for(
        lambda: not [t for t in threading.enumerate() if t.name.startswith("queuecore-alerts")],
        what="the alert threads to end",
    )


def test_runscheduler_no_alerts_leaves_the_alert_loop_to_another_process(
    settings: Any, queuecore_settings: str, http_receiver: HttpReceiver, redis_client: redis.Redis
):
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "ALERTS": [{"type": "webhook", "url": http_receiver.url()}],
    }
    seed_task(redis_client, "pending", queue="orphans")
    clock = FrozenClock(START)
    out = StringIO()
    call_command(
        "runscheduler",
        "--no-alerts",
        stdout=out,
        clock=clock,
        stop_event=AdvancingStop(clock, START + 3),
    )
    assert "Alerts:" not in out.getvalue()
    assert redis_client.get(keys.ALERT_LAST_RUN) is None


def test_runworker_with_scheduler_runs_the_alert_loop_too(
    settings: Any, queuecore_settings: str, http_receiver: HttpReceiver, redis_client: redis.Redis
):
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "QUEUES": {"default": 1},
        "ALERTS": [{"type": "webhook", "name": "hook", "url": http_receiver.url()}],
        "ALERTS_INTERVAL": 1,
    }
    seed_task(redis_client, "pending", queue="orphans")  # no worker consumes it
    mux = ServeMux()
    # The burst run lasts until this task is done, and the task until the alert has arrived.
    mux.register("wait:alert", lambda task: http_receiver.arrived.wait(10))
    with Client.from_url(queuecore_settings) as client:
        client.enqueue(Task("wait:alert"))
    out = StringIO()
    call_command("runworker", "--burst", "--with-scheduler", stdout=out, stderr=StringIO(), mux=mux)
    assert "Alerts:   every 1s to hook" in out.getvalue()
    # One interval after the start the worker had its heartbeat written: "default" is consumed.
    (request,) = http_receiver.requests
    assert request.headers["x-queuecore-event"] == "opened"
    assert b'"queue": "orphans"' in request.body


def test_runworker_with_scheduler_refuses_bad_alert_settings_before_it_starts(
    settings: Any, queuecore_settings: str
):
    settings.QUEUECORE = {**settings.QUEUECORE, "ALERTS": [{"type": "slack", "url": "ftp://x"}]}
    with pytest.raises(CommandError, match="url must be an http"):
        call_command("runworker", "--burst", "--with-scheduler", stdout=StringIO(), mux=ServeMux())
