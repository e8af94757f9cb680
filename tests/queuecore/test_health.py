"""Health findings: every rule at, below and above its thresholds (pure), and collect() over a real
Redis with seeded tasks, live servers written by the worker's own store, and scheduler entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from queuecore import keys
from queuecore.clock import FrozenClock
from queuecore.errors import InvalidArgumentError
from queuecore.health import (
    Finding,
    HealthSnapshot,
    HealthThresholds,
    OrphanScan,
    Severity,
    collect,
    evaluate,
    worst,
)
from queuecore.inspection import QueueInfo, SchedulerEntry, ServerInfo
from queuecore.inspector import Inspector
from queuecore.messages import ServerInfo as ServerInfoMessage
from queuecore.rdb.scheduler import SchedulerStore
from queuecore.rdb.worker import WorkerStore
from queuecore.scheduler import EntryState, encode_entry
from tests.support.factories import seed_many, seed_task

NOW = datetime(2026, 11, 25, 15, 40, 21, tzinfo=UTC)
DEFAULTS = HealthThresholds()


def queue(name: str = "default", **overrides: Any) -> QueueInfo:
    fields: dict[str, Any] = {
        "queue": name,
        "size": 0,
        "groups": 0,
        "pending": 0,
        "active": 0,
        "scheduled": 0,
        "retry": 0,
        "archived": 0,
        "completed": 0,
        "aggregating": 0,
        "processed": 0,
        "failed": 0,
        "processed_total": 0,
        "failed_total": 0,
        "paused": False,
        "latency": timedelta(0),
        "memory_usage": None,
        "timestamp": NOW,
    }
    fields.update(overrides)
    return QueueInfo(**fields)


def server(*queues: str, status: str = "active", sid: str = "s1") -> ServerInfo:
    return ServerInfo(
        id=sid,
        host="h",
        pid=1,
        concurrency=4,
        queues=dict.fromkeys(queues, 1),
        strict_priority=False,
        started=NOW - timedelta(hours=1),
        status=status,
    )


def entry(spec: str, next_at: datetime | None, *, entry_id: str = "e1") -> SchedulerEntry:
    return SchedulerEntry(
        id=entry_id,
        scheduler_id="host:1:sched",
        spec=spec,
        task_type="report:send",
        task_payload=b"",
        options=(),
        next_enqueue_at=next_at,
        prev_enqueue_at=None,
    )


CONSUMED = (server("default", "low"),)


def findings(*queues: QueueInfo, **snapshot: Any) -> list[Finding]:
    snapshot.setdefault("servers", CONSUMED)
    return evaluate(HealthSnapshot(queues=queues, **snapshot), DEFAULTS, NOW)


def rules(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.severity.value) for f in found]


# -- latency --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (59, []),
        (60, [("latency", "warning")]),
        (61, [("latency", "warning")]),
        (299, [("latency", "warning")]),
        (300, [("latency", "critical")]),
        (301, [("latency", "critical")]),
    ],
)
def test_latency_is_a_warning_from_60_seconds_and_critical_from_300(seconds, expected):
    found = findings(queue(pending=3, latency=timedelta(seconds=seconds)))
    assert rules(found) == expected


def test_latency_message_names_the_queue_the_wait_and_the_threshold():
    q = queue("emails", pending=3, latency=timedelta(seconds=432))
    (f,) = findings(q, servers=(server("emails"),))
    assert (f.queue, f.rule) == ("emails", "latency")
    assert f.message == (
        "Queue emails: the oldest of 3 pending tasks has waited 7m12s, "
        "over the critical threshold of 5m0s."
    )
    assert f.action


def test_latency_of_an_empty_queue_is_not_a_finding():
    assert findings(queue(pending=0, latency=timedelta(hours=1))) == []


# -- no consumer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pending", "servers", "expected"),
    [
        (0, (), []),
        (1, (), [("no_consumer", "critical")]),
        (1, (server("other"),), [("no_consumer", "critical")]),
        (1, (server("default"),), []),
        (1, (server("default", status="stopped"),), [("no_consumer", "critical")]),
        (1, (server("default", status="closed"), server("default", sid="s2")), []),
    ],
)
def test_a_backlog_without_a_running_server_that_lists_the_queue_is_critical(
    pending, servers, expected
):
    assert rules(findings(queue(pending=pending), servers=servers)) == expected


def test_no_consumer_says_whether_servers_are_stopped_or_missing():
    (missing,) = findings(queue(pending=2, latency=timedelta(seconds=5)), servers=())
    assert missing.message == (
        "Queue default has 2 pending tasks, the oldest waiting 5s, and no live server lists it."
    )
    (stopped,) = findings(queue(pending=2), servers=(server("default", status="stopped"),))
    assert "every server listing it is stopped or shutting down" in stopped.message
    assert "runworker --queues default" in stopped.action


def test_a_queue_without_consumers_is_not_also_reported_for_its_latency():
    found = findings(queue(pending=2, latency=timedelta(hours=2)), servers=())
    assert rules(found) == [("no_consumer", "critical")]


# -- paused ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pending", "paused", "expected"),
    [
        (0, True, []),
        (1, True, [("paused_backlog", "warning")]),
        (1, False, []),
    ],
)
def test_a_paused_queue_with_pending_tasks_is_a_warning(pending, paused, expected):
    assert rules(findings(queue(pending=pending, paused=paused))) == expected


def test_a_paused_queue_is_neither_a_missing_consumer_nor_a_latency_finding():
    q = queue(pending=4, paused=True, latency=timedelta(hours=1))
    (f,) = findings(q, servers=())
    assert f.rule == "paused_backlog"
    assert f.message == "Queue default is paused with 4 pending tasks, the oldest waiting 1h0m0s."


# -- error rate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("processed", "failed", "expected"),
    [
        (99, 99, []),  # under the minimum processed
        (100, 9, []),
        (100, 10, [("error_rate", "warning")]),
        (100, 11, [("error_rate", "warning")]),
        (100, 49, [("error_rate", "warning")]),
        (100, 50, [("error_rate", "critical")]),
        (100, 100, [("error_rate", "critical")]),
        (0, 0, []),
    ],
)
def test_error_rate_today_is_judged_once_enough_tasks_were_processed(processed, failed, expected):
    assert rules(findings(queue(processed=processed, failed=failed))) == expected


def test_error_rate_message_gives_counts_and_percentages():
    (f,) = findings(queue(processed=200, failed=25))
    assert f.message == (
        "Queue default: 25 of 200 tasks processed today failed (12.5 %, over 10 %)."
    )


def test_a_minimum_of_zero_processed_still_needs_one_processed_task():
    t = HealthThresholds(error_rate_min_processed=0)
    snap = HealthSnapshot(queues=(queue(processed=0, failed=0),), servers=CONSUMED)
    assert evaluate(snap, t, NOW) == []
    snap = HealthSnapshot(queues=(queue(processed=1, failed=1),), servers=CONSUMED)
    assert rules(evaluate(snap, t, NOW)) == [("error_rate", "critical")]


# -- archive cap ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("archived", "expected"),
    [
        (7_999, []),
        (8_000, [("archive_cap", "warning")]),
        (8_001, [("archive_cap", "warning")]),
        (9_999, [("archive_cap", "warning")]),
        (10_000, [("archive_cap", "critical")]),
        (10_001, [("archive_cap", "critical")]),
    ],
)
def test_archive_is_a_warning_at_80_percent_of_asynqs_cap_and_critical_when_full(
    archived, expected
):
    assert rules(findings(queue(archived=archived))) == expected


def test_archive_message_gives_count_share_and_cap():
    (f,) = findings(queue(archived=8_200))
    assert f.message == (
        "Queue default holds 8200 archived tasks, 82 % of asynq's cap of 10000, "
        "beyond which the oldest are deleted."
    )


# -- orphaned active ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orphaned", "expected"),
    [(0, []), (1, [("orphaned_active", "warning")]), (30, [("orphaned_active", "warning")])],
)
def test_active_tasks_with_an_expired_lease_are_a_warning(orphaned, expected):
    scan = {"default": OrphanScan(queue="default", scanned=30, orphaned=orphaned)}
    assert rules(findings(queue(active=30), orphans=scan)) == expected


def test_orphan_message_says_how_many_of_how_many_were_examined():
    scan = {"default": OrphanScan(queue="default", scanned=100, orphaned=3)}
    (f,) = findings(queue(active=500), orphans=scan)
    assert f.message == (
        "Queue default: 3 of the first 100 active tasks have an expired lease, "
        "so their worker died or hangs."
    )


# -- cron -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "overdue", "expected"),
    [
        ("@every 30s", timedelta(seconds=59), []),
        ("@every 30s", timedelta(seconds=60), []),  # exactly two intervals: not more
        ("@every 30s", timedelta(seconds=61), [("cron_stalled", "critical")]),
        ("*/5 * * * *", timedelta(minutes=10), []),
        ("*/5 * * * *", timedelta(minutes=10, seconds=1), [("cron_stalled", "critical")]),
        ("@hourly", timedelta(minutes=119), []),
        ("@hourly", timedelta(minutes=121), [("cron_stalled", "critical")]),
        ("CRON_TZ=Europe/Paris 0 9 * * *", timedelta(days=1), []),
        (
            "CRON_TZ=Europe/Paris 0 9 * * *",
            timedelta(days=2, seconds=1),
            [("cron_stalled", "critical")],
        ),
    ],
)
def test_a_scheduler_entry_is_stalled_once_its_next_run_is_over_two_intervals_past(
    spec, overdue, expected
):
    # Each case's next run is a real tick of its spec: minute and hour boundaries.
    due = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    now = due + overdue
    snap = HealthSnapshot(entries=(entry(spec, due),))
    assert rules(evaluate(snap, DEFAULTS, now)) == expected


def test_an_entry_due_in_the_future_or_without_a_next_run_is_fine():
    snap = HealthSnapshot(
        entries=(
            entry("@every 1m", NOW + timedelta(seconds=20)),
            entry("@every 1m", None, entry_id="never"),
        )
    )
    assert evaluate(snap, DEFAULTS, NOW) == []


def test_an_entry_whose_spec_cannot_be_read_is_skipped():
    snap = HealthSnapshot(entries=(entry("not a spec", NOW - timedelta(days=3)),))
    assert evaluate(snap, DEFAULTS, NOW) == []


def test_a_stalled_entry_names_entry_scheduler_and_how_late():
    snap = HealthSnapshot(entries=(entry("@every 1m", NOW - timedelta(minutes=5)),))
    (f,) = evaluate(snap, DEFAULTS, NOW)
    assert (f.entry_id, f.scheduler_id, f.queue) == ("e1", "host:1:sched", None)
    assert f.message == (
        "Scheduler entry e1 (@every 1m report:send) was due 5m0s ago and has missed at least "
        "2 more ticks since."
    )
    assert "host:1:sched" in f.action
    assert f.subject == "scheduler entry e1"


def test_missed_intervals_is_configurable():
    t = HealthThresholds(cron_missed_intervals=5)
    snap = HealthSnapshot(entries=(entry("@every 1m", NOW - timedelta(minutes=4)),))
    assert evaluate(snap, t, NOW) == []


# -- together -------------------------------------------------------------------------------


def test_a_healthy_snapshot_has_no_findings():
    snap = HealthSnapshot(
        queues=(queue(pending=5, latency=timedelta(seconds=2), processed=500, failed=3),),
        servers=CONSUMED,
        entries=(entry("@every 1m", NOW + timedelta(seconds=30)),),
    )
    assert evaluate(snap, DEFAULTS, NOW) == []
    assert worst([]) is None


def test_findings_are_sorted_most_severe_first_then_by_rule_and_queue():
    found = findings(
        queue("b", archived=9_000),
        queue("a", archived=9_000, pending=1, paused=True),
        queue("c", pending=1),
        servers=(server("a", "b"),),
    )
    assert [(f.rule, f.queue) for f in found] == [
        ("no_consumer", "c"),
        ("paused_backlog", "a"),
        ("archive_cap", "a"),
        ("archive_cap", "b"),
    ]
    assert worst(found) is Severity.CRITICAL
    assert worst(found[1:]) is Severity.WARNING


def test_custom_thresholds_move_the_boundaries():
    t = HealthThresholds(latency_warning=5, latency_critical=10, archive_cap=100)
    snap = HealthSnapshot(
        queues=(queue(pending=1, latency=timedelta(seconds=7), archived=85),), servers=CONSUMED
    )
    assert rules(evaluate(snap, t, NOW)) == [("latency", "warning"), ("archive_cap", "warning")]


# -- thresholds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"latency_warning": 0},
        {"latency_warning": -1},
        {"latency_warning": "60"},
        {"latency_warning": True},
        {"latency_warning": float("nan")},
        {"latency_warning": 400},  # above the critical default
        {"error_rate_critical": 101},
        {"error_rate_min_processed": -1},
        {"error_rate_min_processed": 1.5},
        {"archive_cap": 0},
        {"archive_warning": 100, "archive_critical": 90},
        {"orphan_scan": 0},
        {"orphan_scan": 5_000},
        {"cron_missed_intervals": 0},
    ],
)
def test_bad_thresholds_are_refused_with_the_field_named(values):
    with pytest.raises(InvalidArgumentError) as caught:
        HealthThresholds(**values)
    assert any(name in str(caught.value) for name in values)


def test_thresholds_from_a_mapping_keep_defaults_and_refuse_unknown_keys():
    assert HealthThresholds.from_mapping(None) == HealthThresholds()
    assert HealthThresholds.from_mapping({"latency_warning": 30}).latency_warning == 30
    with pytest.raises(InvalidArgumentError, match=r"unknown health threshold.*latency_warn\b"):
        HealthThresholds.from_mapping({"latency_warn": 30})
    with pytest.raises(InvalidArgumentError, match="must be a mapping"):
        HealthThresholds.from_mapping([("latency_warning", 30)])


# -- collect() on a real Redis --------------------------------------------------------------

EPOCH = NOW.timestamp()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(EPOCH)


@pytest.fixture
def inspector(redis_url: str, clock: FrozenClock) -> Iterator[Inspector]:
    insp = Inspector.from_url(redis_url, clock=clock)
    yield insp
    insp.close()


def write_live_server(redis_url: str, *queues: str, status: str = "active") -> None:
    """A server's heartbeat, written by the worker's own store, alive for 30 s from NOW."""
    store = WorkerStore.from_url(redis_url)
    info = ServerInfoMessage(host="h", pid=7, server_id="sid", concurrency=2, status=status)
    for name in queues:
        info.queues[name] = 1
    info.start_time.seconds = int(EPOCH) - 60
    store.write_server_state(info, [], ttl=30, now=EPOCH)
    store.client.close()


def write_scheduler(redis_url: str, spec: str, next_run: datetime) -> None:
    store = SchedulerStore.from_url(redis_url)
    assert isinstance(store, SchedulerStore)
    state = EntryState(
        id="entry-1",
        spec=spec,
        task_type="report:send",
        payload=None,
        options=(),
        identity="x",
        next_run=next_run,
        prev_run=None,
    )
    store.write_entries("sched-1", [encode_entry(state)], ttl_seconds=20, now_unix=int(EPOCH))
    store.client.close()


def test_collect_reports_each_rule_from_seeded_redis_state(
    redis_client: redis.Redis, redis_url: str, inspector: Inspector, clock: FrozenClock
) -> None:
    # "emails": consumed, but its oldest pending task waited 10 minutes and one lease expired.
    seed_task(redis_client, "pending", queue="emails", now=EPOCH - 600)
    seed_task(redis_client, "active", queue="emails", score=int(EPOCH) - 5)
    seed_task(redis_client, "active", queue="emails", score=int(EPOCH) + 30)
    # "orphans": nobody consumes it.
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 1)
    # "held": paused with a backlog.
    seed_task(redis_client, "pending", queue="held", now=EPOCH - 1)
    redis_client.set(keys.paused_key("held"), int(EPOCH))
    # "reports": 3 of 4 processed today failed.
    seed_task(redis_client, "scheduled", queue="reports", now=EPOCH + 60)
    day = NOW.date().isoformat()
    redis_client.set(keys.processed_key("reports", day), 4)
    redis_client.set(keys.failed_key("reports", day), 3)
    write_live_server(redis_url, "emails", "held", "reports")
    write_scheduler(redis_url, "@every 1m", NOW - timedelta(minutes=10))

    thresholds = HealthThresholds(error_rate_min_processed=4)
    found = collect(inspector, thresholds, clock)

    assert [(f.rule, f.severity.value, f.queue or f.entry_id) for f in found] == [
        ("no_consumer", "critical", "orphans"),
        ("latency", "critical", "emails"),
        ("error_rate", "critical", "reports"),
        ("cron_stalled", "critical", "entry-1"),
        ("paused_backlog", "warning", "held"),
        ("orphaned_active", "warning", "emails"),
    ]
    orphaned = next(f for f in found if f.rule == "orphaned_active")
    assert "1 of the first 2 active tasks" in orphaned.message


def test_collect_examines_only_the_first_page_of_active_tasks(
    redis_client: redis.Redis, redis_url: str, inspector: Inspector, clock: FrozenClock
) -> None:
    seed_many(redis_client, "active", 5, score=int(EPOCH) - 5)
    write_live_server(redis_url, "default")
    (f,) = collect(inspector, HealthThresholds(orphan_scan=3), clock)
    assert f.rule == "orphaned_active"
    assert "3 of the first 3 active tasks" in f.message


def test_collect_on_a_healthy_redis_finds_nothing(
    redis_client: redis.Redis, redis_url: str, inspector: Inspector, clock: FrozenClock
) -> None:
    seed_task(redis_client, "pending", now=EPOCH - 1)
    seed_task(redis_client, "active", score=int(EPOCH) + 30)
    write_live_server(redis_url, "default")
    write_scheduler(redis_url, "@every 1m", NOW + timedelta(seconds=30))
    assert collect(inspector, DEFAULTS, clock) == []


def test_a_dead_schedulers_entries_are_invisible_once_its_heartbeat_expired(
    redis_url: str, inspector: Inspector, clock: FrozenClock
) -> None:
    write_scheduler(redis_url, "@every 1m", NOW - timedelta(minutes=10))
    clock.advance(21)  # past the 20 s heartbeat TTL: asynq prunes the scheduler on read
    assert collect(inspector, DEFAULTS, clock) == []
