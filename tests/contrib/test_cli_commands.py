"""The asynq-style management commands print what the Inspector returns, as tables and as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from queuecore.contrib.django.queuecore.management.inspector_command import jsonable
from queuecore.inspector import Inspector
from tests.support.asynq_fixture import load_into


@pytest.fixture
def fixture_redis(redis_client: redis.Redis, queuecore_settings: str) -> str:
    load_into(redis_client)
    return queuecore_settings


@pytest.fixture
def inspector(fixture_redis: str) -> Iterator[Inspector]:
    insp = Inspector.from_url(fixture_redis)
    yield insp
    insp.close()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _words(text: str) -> str:
    return " ".join(text.split())


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json"))


def test_queue_ls_prints_every_queue(inspector: Inspector) -> None:
    assert run("queue", "ls").split() == inspector.queues()
    assert run_json("queue", "ls") == inspector.queues()


def test_queue_inspect_prints_the_queue_info(inspector: Inspector) -> None:
    text = run("queue", "inspect", "default")
    info = inspector.get_queue_info("default", cheap=True)
    assert "Name: default" in _words(text)
    assert f"Size: {info.size}" in _words(text)
    lines = text.splitlines()
    counts = lines[lines.index("Task Count by State") + 3].split()
    assert counts == [
        str(getattr(info, s))
        for s in ("active", "pending", "aggregating", "scheduled", "retry", "archived", "completed")
    ]
    (data,) = run_json("queue", "inspect", "default")
    expected = jsonable(info)
    for volatile in ("timestamp", "latency"):
        data.pop(volatile)
        expected.pop(volatile)
    assert data == expected


def test_queue_stats_adds_up_every_queue(inspector: Inspector) -> None:
    text = run("queue", "stats")
    assert "paused_q (paused)" in text
    data = run_json("queue", "stats")
    infos = inspector.overview()
    assert data["states"]["pending"] == sum(q.pending for q in infos)
    assert [q["queue"] for q in data["queues"]] == [q.queue for q in infos]
    assert data["redis"]["version"] == inspector.redis_info().version


def test_queue_history_lists_days(inspector: Inspector) -> None:
    data = run_json("queue", "history", "critical", "--days", "3")
    assert [d["processed"] for d in data["critical"]] == [
        d.processed for d in inspector.history("critical", 3)
    ]


def test_queue_pause_unpause_and_remove_act_through_the_inspector(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    assert "Successfully paused queue 'low'" in run("queue", "pause", "low")
    assert redis_client.exists("asynq:{low}:paused")
    assert run_json("queue", "unpause", "low") == {"unpaused": ["low"]}
    with pytest.raises(CommandError, match='queue is not empty: queue="critical"'):
        run("queue", "remove", "critical")


def test_task_ls_prints_the_page_the_inspector_returns(inspector: Inspector) -> None:
    page = inspector.list_tasks("default", "archived")
    text = run("task", "ls", "--queue", "default", "--state", "archived")
    rows = text.splitlines()[2:]
    assert [r.split()[0] for r in rows] == [t.id for t in page]
    assert "Last Error" in text.splitlines()[0]
    data = run_json("task", "ls", "-q", "default", "-s", "archived")
    assert data["tasks"] == jsonable(list(page))
    assert (data["total"], data["skipped"]) == (page.total, page.skipped)


def test_task_ls_of_aggregating_tasks_takes_a_group(inspector: Inspector) -> None:
    data = run_json(
        "task", "ls", "-q", "default", "-s", "aggregating", "-g", "user:42:notifications"
    )
    assert [t["id"] for t in data["tasks"]] == ["agg-notif-1", "agg-notif-2", "agg-notif-3"]


def test_task_inspect_prints_every_field(inspector: Inspector) -> None:
    text = run("task", "inspect", "-q", "default", "-i", "retry-flaky-report")
    task = inspector.get_task_info("default", "retry-flaky-report")
    assert f"Last error: {task.last_err}" in _words(text)
    data = run_json("task", "inspect", "-q", "default", "-i", "completed-binary-result")
    expected = jsonable(inspector.get_task_info("default", "completed-binary-result"))
    assert data == expected
    assert "text" not in data["result"]


def test_task_actions_on_one_task_and_on_all_in_a_state(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    assert "run done" in run("task", "run", "-q", "default", "-i", "retry-flaky-report")
    assert inspector.get_task_info("default", "retry-flaky-report").state == "pending"
    assert run_json("task", "archive", "-q", "default", "--all", "-s", "scheduled") == {
        "queue": "default",
        "state": "scheduled",
        "action": "archive",
        "count": 3,
    }
    assert "delete: 6 archived tasks" in run(
        "task", "delete", "-q", "default", "--all", "-s", "archived"
    )
    assert inspector.get_queue_info("default").archived == 0
    with pytest.raises(CommandError, match="task is already running"):
        run("task", "run", "-q", "default", "-i", "active-timeout-2h")
    with pytest.raises(CommandError, match="either --id"):
        run("task", "delete", "-q", "default")


def test_task_cancel_publishes_cancellations(inspector: Inspector) -> None:
    assert run_json("task", "cancel", "--all", "-q", "default")["count"] == 2
    assert "Sent cancel signal" in run("task", "cancel", "-i", "active-timeout-2h")


def test_server_ls_prints_live_servers(fixture_redis: str) -> None:
    from queuecore.clock import FrozenClock
    from tests.support.asynq_fixture import CAPTURED_AT

    # The fixture's registry entries expire seconds after the capture, so read them at that time.
    with Inspector.from_url(fixture_redis, clock=FrozenClock(CAPTURED_AT.timestamp())) as insp:
        servers = insp.servers()
    assert servers
    data = run_json("server", "ls")
    # The real clock is past the capture, so the command (system clock) sees them pruned.
    assert data == []
    assert run("server", "ls").splitlines()[0].split() == [
        "Host",
        "PID",
        "State",
        "Active",
        "Workers",
        "Queues",
        "Started",
    ]


def test_cron_ls_and_history_print_entries_and_events(
    redis_client: redis.Redis, queuecore_settings: str
) -> None:
    from queuecore.messages import SchedulerEnqueueEvent, SchedulerEntry

    entry = SchedulerEntry(id="e1", spec="@every 30s", task_type="ping")
    entry.enqueue_options.extend(['Queue("low")', "MaxRetry(3)"])
    entry.next_enqueue_time.GetCurrentTime()
    redis_client.zadd("asynq:schedulers", {"asynq:schedulers:{h:1:s}": 4_000_000_000})
    redis_client.lpush("asynq:schedulers:{h:1:s}", entry.SerializeToString())
    event = SchedulerEnqueueEvent(task_id="t1")
    event.enqueue_time.GetCurrentTime()
    redis_client.zadd("asynq:scheduler_history:e1", {event.SerializeToString(): 1})
    text = run("cron", "ls")
    assert "e1 @every 30s ping" in _words(text)
    assert '[Queue("low") MaxRetry(3)]' in text
    (data,) = run_json("cron", "ls")
    assert data["options"] == ['Queue("low")', "MaxRetry(3)"]
    assert run_json("cron", "history", "e1")["e1"][0]["task_id"] == "t1"
    assert "t1" in run("cron", "history", "e1")
