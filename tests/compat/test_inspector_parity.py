"""Go asynq's own Inspector output (inspect-*.json) against ours, on the same Redis data."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from queuecore.clock import FrozenClock
from queuecore.inspector import Inspector
from queuecore.taskinfo import TaskInfo, TaskState
from tests.go.parity import QUEUE_FIELDS
from tests.support.asynq_fixture import CAPTURED_AT, load_into, load_json

QUEUES = ("critical", "default", "low", "paused_q")
LIST_STATES = ("pending", "active", "scheduled", "retry", "archived", "completed")


@pytest.fixture
def inspector(redis_client: redis.Redis, redis_url: str) -> Iterator[Inspector]:
    load_into(redis_client)
    insp = Inspector.from_url(redis_url, clock=FrozenClock(CAPTURED_AT.timestamp()))
    yield insp
    insp.close()


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    # Go prints up to nanoseconds; Python keeps microseconds.
    head, _, frac = text.rstrip("Z").partition(".")
    micro = (frac + "000000")[:6] if frac else "000000"
    return datetime.fromisoformat(f"{head}.{micro}").replace(tzinfo=UTC)


def _bytes(field: dict[str, Any] | None) -> bytes | None:
    return None if field is None else base64.b64decode(field["b64"])


def _close(ours: datetime | None, theirs: datetime | None) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    return abs(ours - theirs) <= timedelta(microseconds=1)


def _assert_task_matches(ours: TaskInfo, go: dict[str, Any]) -> None:
    assert ours.id == go["id"]
    assert ours.queue == go["queue"]
    assert ours.type == go["type"]
    assert ours.payload == (_bytes(go["payload"]) or b"")
    assert dict(ours.headers) == (go["headers"] or {})
    assert ours.state.value == go["state"]
    assert ours.max_retry == go["max_retry"]
    assert ours.retried == go["retried"]
    assert ours.last_err == go["last_err"]
    assert ours.last_failed_at == _time(go["last_failed_at"])
    assert ours.timeout == timedelta(seconds=go["timeout_seconds"])
    assert ours.deadline == _time(go["deadline"])
    assert ours.group == go["group"]
    assert ours.retention == timedelta(seconds=go["retention_seconds"])
    assert ours.completed_at == _time(go["completed_at"])
    assert ours.result == _bytes(go["result"])
    assert ours.is_orphaned == go["is_orphaned"]
    if go["state"] == "pending":
        # Go stamps "now" per task; ours is the injected clock, within a fraction of a second.
        assert ours.next_process_at is not None
        assert abs(ours.next_process_at - _time(go["next_process_at"])) < timedelta(seconds=1)  # type: ignore[operator]
    else:
        assert ours.next_process_at == _time(go["next_process_at"])


@pytest.mark.parametrize("queue", QUEUES)
def test_queue_info_equals_what_go_reported(inspector: Inspector, queue: str) -> None:
    go = load_json(f"inspect-{queue}.json")["queue_info"]
    info = inspector.get_queue_info(queue)
    for name in QUEUE_FIELDS:
        assert getattr(info, name) == go[name], name
    latency_ms = info.latency / timedelta(milliseconds=1)
    assert latency_ms == pytest.approx(go["latency_ms"], abs=100)
    # Same Redis version as the capture, so the sampled estimate comes out the same.
    assert info.memory_usage == pytest.approx(go["memory_usage_bytes"], rel=0.2)


@pytest.mark.parametrize("queue", QUEUES)
def test_cheap_queue_info_has_the_same_counts_without_memory_usage(
    inspector: Inspector, queue: str
) -> None:
    full = inspector.get_queue_info(queue)
    cheap = inspector.get_queue_info(queue, cheap=True)
    assert cheap.memory_usage is None
    assert cheap.aggregating_exact
    assert {**vars(cheap), "memory_usage": 0} == {**vars(full), "memory_usage": 0}


def test_overview_lists_every_queue_as_get_queue_info_does(inspector: Inspector) -> None:
    overview = inspector.overview()
    assert [q.queue for q in overview] == sorted(QUEUES)
    for info in overview:
        assert info == inspector.get_queue_info(info.queue, cheap=True)


@pytest.mark.parametrize("queue", QUEUES)
@pytest.mark.parametrize("state", LIST_STATES)
def test_list_tasks_returns_go_ids_in_go_order_with_the_same_fields(
    inspector: Inspector, queue: str, state: str
) -> None:
    go_tasks = load_json(f"inspect-{queue}.json")["tasks"][state]
    ours = inspector.list_tasks(queue, state, page_size=0)
    assert [t.id for t in ours] == [t["id"] for t in go_tasks]
    assert ours.skipped == 0
    for task, go in zip(ours, go_tasks, strict=True):
        _assert_task_matches(task, go)


@pytest.mark.parametrize("queue", QUEUES)
def test_aggregating_tasks_and_groups_match_go_per_group(inspector: Inspector, queue: str) -> None:
    report = load_json(f"inspect-{queue}.json")
    assert [(g.group, g.size) for g in inspector.groups(queue)] == [
        (g["group"], g["size"]) for g in report["groups"]
    ]
    for group, go_tasks in report["tasks"]["aggregating"].items():
        ours = inspector.list_tasks(queue, TaskState.AGGREGATING, page_size=0, group=group)
        assert [t.id for t in ours] == [t["id"] for t in go_tasks]
        for task, go in zip(ours, go_tasks, strict=True):
            _assert_task_matches(task, go)


@pytest.mark.parametrize("queue", QUEUES)
def test_get_task_info_of_every_task_matches_go(inspector: Inspector, queue: str) -> None:
    tasks = load_json(f"inspect-{queue}.json")["tasks"]
    every = [t for state in LIST_STATES for t in tasks[state]]
    every += [t for group in tasks["aggregating"].values() for t in group]
    for go in every:
        _assert_task_matches(inspector.get_task_info(queue, go["id"]), go)


@pytest.mark.parametrize("queue", QUEUES)
def test_history_matches_go(inspector: Inspector, queue: str) -> None:
    go = load_json(f"inspect-{queue}.json")["history"]
    ours = inspector.history(queue, 7)
    assert [(d.date.isoformat(), d.processed, d.failed) for d in ours] == [
        (d["date"], d["processed"], d["failed"]) for d in go
    ]


def test_queues_match_go(inspector: Inspector) -> None:
    assert inspector.queues() == sorted(load_json("inspect-all.json")["queues"])


def test_servers_match_go(inspector: Inspector) -> None:
    go_servers = load_json("inspect-all.json")["servers"]
    ours = inspector.servers()
    assert len(ours) == len(go_servers)
    for server, go in zip(ours, go_servers, strict=True):
        assert server.id == go["id"]
        assert server.host == go["host"]
        assert server.pid == go["pid"]
        assert server.concurrency == go["concurrency"]
        assert dict(server.queues) == go["queues"]
        assert server.strict_priority == go["strict_priority"]
        assert server.status == go["status"]
        assert _close(server.started, _time(go["started"]))
        assert [w.task_id for w in server.active_workers] == [
            w["task_id"] for w in go["active_workers"]
        ]
        for worker, go_worker in zip(server.active_workers, go["active_workers"], strict=True):
            assert worker.task_type == go_worker["task_type"]
            assert worker.task_payload == _bytes(go_worker["task_payload"])
            assert worker.queue == go_worker["queue"]
            assert _close(worker.started, _time(go_worker["started"]))
            assert _close(worker.deadline, _time(go_worker["deadline"]))


def test_scheduler_entries_and_their_events_match_go(inspector: Inspector) -> None:
    go_entries = load_json("inspect-all.json")["scheduler_entries"]
    ours = inspector.scheduler_entries()
    assert [e.id for e in ours] == [e["id"] for e in go_entries]
    for entry, go in zip(ours, go_entries, strict=True):
        assert entry.spec == go["spec"]
        assert entry.task_type == go["task_type"]
        assert entry.task_payload == (_bytes(go["task_payload"]) or b"")
        assert list(entry.options) == go["opts"]
        assert entry.next_enqueue_at == _time(go["next"])
        assert entry.prev_enqueue_at == _time(go["prev"])
        events = inspector.scheduler_enqueue_events(entry.id)
        assert [e.task_id for e in events] == [e["task_id"] for e in go["enqueue_events"]]
        for event, go_event in zip(events, go["enqueue_events"], strict=True):
            assert _close(event.enqueued_at, _time(go_event["enqueued_at"]))


def test_registries_read_after_expiry_are_pruned_like_go(
    redis_client: redis.Redis, redis_url: str
) -> None:
    load_into(redis_client)
    later = FrozenClock(CAPTURED_AT.timestamp() + 60)
    with Inspector.from_url(redis_url, clock=later) as insp:
        assert insp.servers() == []
        assert insp.scheduler_entries() == []
    assert redis_client.zcard("asynq:servers") == 0
    assert redis_client.zcard("asynq:workers") == 0
    assert redis_client.zcard("asynq:schedulers") == 0


def test_active_tasks_read_after_their_leases_expire_are_orphaned(
    redis_client: redis.Redis, redis_url: str
) -> None:
    load_into(redis_client)
    later = FrozenClock(CAPTURED_AT.timestamp() + 120)
    with Inspector.from_url(redis_url, clock=later) as insp:
        active = insp.list_tasks("default", "active")
        assert [t.is_orphaned for t in active] == [True, True]
        assert insp.get_task_info("default", "active-timeout-2h").is_orphaned
