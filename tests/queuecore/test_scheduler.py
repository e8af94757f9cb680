"""The scheduler against a real Redis: enqueues, entries, history, shared ticks, shutdown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from queuecore import keys
from queuecore.client import Task
from queuecore.clock import FrozenClock
from queuecore.messages import GO_ZERO_TIME_SECONDS, SchedulerEntry, decode_task_message
from queuecore.scheduler import (
    Scheduler,
    SchedulerConfig,
    decode_enqueue_event,
    decode_entry,
)
from tests.support.redis_server import start_redis

# 2026-11-25T15:40:05Z: five seconds past a minute, so "@every 10s" next fires at :10.
START = datetime(2026, 11, 25, 15, 40, 5, tzinfo=UTC).timestamp()

HEARTBEAT_ENTRY: dict[str, Any] = {
    "cron": "@every 10s",
    "task": "lab:periodic:heartbeat",
    "payload": {"every": "10s"},
    "options": {"queue": "low", "max_retry": 3},
}
CLEANUP_ENTRY: dict[str, Any] = {
    "cron": "*/5 * * * *",
    "task": "lab:periodic:cleanup",
    "options": {"queue": "low", "timeout": 120},
}

MakeScheduler = Callable[..., Scheduler]


@pytest.fixture
def make_scheduler(redis_url: str) -> Iterator[MakeScheduler]:
    made: list[Scheduler] = []

    def make(clock: FrozenClock, entries: Any = (), **config: Any) -> Scheduler:
        scheduler = Scheduler.from_url(
            redis_url, entries=entries, clock=clock, config=SchedulerConfig(**config)
        )
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.close()


def pending_messages(client: redis.Redis, queue: str) -> list[Any]:
    ids = client.lrange(keys.pending_key(queue), 0, -1)
    return [decode_task_message(client.hget(keys.task_key(queue, i.decode()), "msg")) for i in ids]


def history(client: redis.Redis, entry_id: str) -> list[tuple[str, datetime | None, float]]:
    """Newest first, as Go's ListSchedulerEnqueueEvents reads it (ZREVRANGE WITHSCORES)."""
    rows = client.zrevrange(keys.scheduler_history_key(entry_id), 0, -1, withscores=True)
    return [(*decode_enqueue_event(member), score) for member, score in rows]


def test_run_once_enqueues_nothing_before_the_first_tick(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY])
    assert scheduler.run_once() == []
    clock.advance(4.9)
    assert scheduler.run_once() == []
    assert redis_client.llen(keys.pending_key("low")) == 0


def test_a_due_tick_enqueues_the_task_with_its_options_and_records_history(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY, CLEANUP_ENTRY])
    scheduler.start()
    clock.advance(5.25)  # 15:40:10.25
    [result] = scheduler.run_once()

    assert result.outcome == "enqueued"
    assert result.tick == datetime(2026, 11, 25, 15, 40, 10, tzinfo=UTC)
    [message] = pending_messages(redis_client, "low")
    assert (message.id, message.type, message.payload) == (
        result.task_id,
        "lab:periodic:heartbeat",
        b'{"every":"10s"}',
    )
    assert (message.queue, message.retry, message.timeout) == ("low", 3, 1800)
    assert redis_client.sismember(keys.ALL_QUEUES, "low")

    [event] = history(redis_client, result.entry_id)
    enqueued_at = datetime(2026, 11, 25, 15, 40, 10, 250000, tzinfo=UTC)
    assert event == (result.task_id, enqueued_at, START + 5)


def test_a_late_run_once_fires_a_due_entry_once_and_schedules_from_now(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY])
    scheduler.start()
    clock.advance(5 + 35)  # 15:40:45; ticks :10, :20, :30 and :40 were missed
    results = scheduler.run_once()
    assert [r.outcome for r in results] == ["enqueued"]
    [state] = scheduler.entries()
    assert state.prev_run == datetime(2026, 11, 25, 15, 40, 10, tzinfo=UTC)
    assert state.next_run == datetime(2026, 11, 25, 15, 40, 50, tzinfo=UTC)
    assert redis_client.llen(keys.pending_key("low")) == 1


def test_a_tick_later_than_the_claim_ttl_is_skipped(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY], tick_claim_ttl=60)
    scheduler.start()
    clock.advance(5 + 61)
    [result] = scheduler.run_once()
    assert result.outcome == "late"
    assert redis_client.llen(keys.pending_key("low")) == 0
    clock.advance(10)
    assert [r.outcome for r in scheduler.run_once()] == ["enqueued"]


def test_heartbeat_writes_entries_exactly_as_asynq(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [CLEANUP_ENTRY, HEARTBEAT_ENTRY])
    scheduler.start()
    clock.advance(5)
    [fired] = scheduler.run_once()
    scheduler.heartbeat.run_once()

    entries_key = keys.scheduler_entries_key(scheduler.id)
    assert scheduler.id.count(":") == 2  # hostname:pid:uuid
    assert redis_client.zrange(keys.ALL_SCHEDULERS, 0, -1, withscores=True) == [
        (entries_key.encode(), START + 5 + 20)
    ]
    ttl = redis_client.ttl(entries_key)
    assert 19 <= ttl <= 20
    blobs = redis_client.lrange(entries_key, 0, -1)
    # LPUSHed soonest-first, so the list reads latest-first (as the Go fixture's list does).
    cleanup, heartbeat = (SchedulerEntry.FromString(b) for b in blobs)

    assert heartbeat.id == fired.entry_id
    assert heartbeat.spec == "@every 10s"
    assert heartbeat.task_type == "lab:periodic:heartbeat"
    assert heartbeat.task_payload == b'{"every":"10s"}'
    assert list(heartbeat.enqueue_options) == ['Queue("low")', "MaxRetry(3)"]
    assert heartbeat.next_enqueue_time.seconds == START + 15
    assert heartbeat.prev_enqueue_time.seconds == START + 5

    assert cleanup.spec == "*/5 * * * *"
    assert cleanup.task_payload == b""
    assert list(cleanup.enqueue_options) == ['Queue("low")', "Timeout(2m0s)"]
    assert (
        cleanup.next_enqueue_time.seconds == datetime(2026, 11, 25, 15, 45, tzinfo=UTC).timestamp()
    )
    # Never run: Go's zero time, written explicitly.
    assert cleanup.HasField("prev_enqueue_time")
    assert cleanup.prev_enqueue_time.seconds == GO_ZERO_TIME_SECONDS
    assert decode_entry(blobs[0]).prev_run is None


def test_heartbeat_rewrites_the_list_rather_than_appending(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY])
    scheduler.heartbeat.run_once()
    clock.advance(10)
    scheduler.heartbeat.run_once()
    assert redis_client.llen(keys.scheduler_entries_key(scheduler.id)) == 1


def test_python_inspector_reads_the_entries_and_events_back(
    make_scheduler: MakeScheduler, redis_url: str
) -> None:
    from queuecore.inspector import Inspector

    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY])
    clock.advance(5)
    scheduler.run_once()  # starts: nothing due yet at 15:40:10? it is exactly due
    clock.advance(10)
    [fired] = scheduler.run_once()
    scheduler.heartbeat.run_once()

    inspector = Inspector.from_url(redis_url, clock=clock)
    [entry] = inspector.scheduler_entries()
    assert (entry.id, entry.spec, entry.options) == (
        fired.entry_id,
        "@every 10s",
        ('Queue("low")', "MaxRetry(3)"),
    )
    assert [o.display() for o in entry.parsed_options] == ["queue=low", "max_retry=3"]  # type: ignore[attr-defined]
    assert [e.task_id for e in inspector.scheduler_enqueue_events(fired.entry_id)] == [
        fired.task_id
    ]


def test_history_keeps_the_newest_1000_events(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(
        clock, [{"cron": "@every 1s", "task": "tick", "options": {"queue": "q"}}]
    )
    scheduler.start()
    task_ids = []
    for _ in range(1003):
        clock.advance(1)
        [result] = scheduler.run_once()
        task_ids.append(result.task_id)
    entry_id = result.entry_id

    events = history(redis_client, entry_id)
    assert len(events) == 1000
    assert [task_id for task_id, _, _ in events] == task_ids[::-1][:1000]
    assert events[0][2] == int(START) + 1003
    assert redis_client.llen(keys.pending_key("q")) == 1003


def test_two_schedulers_with_the_same_entries_enqueue_each_tick_once(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    first = make_scheduler(clock, [HEARTBEAT_ENTRY, CLEANUP_ENTRY])
    first.start()
    clock.advance(3.5)  # the second process starts later: @every ticks still line up
    second = make_scheduler(clock, [CLEANUP_ENTRY, HEARTBEAT_ENTRY])
    second.start()

    outcomes: dict[str, list[str]] = {"first": [], "second": []}
    for step in range(60):  # ten minutes in 10 s steps: 60 heartbeat ticks, 2 cleanup ticks
        clock.advance(10)
        order = [("first", first), ("second", second)]
        if step % 2:
            order.reverse()
        for name, scheduler in order:
            outcomes[name] += [r.outcome for r in scheduler.run_once()]

    pending = pending_messages(redis_client, "low")
    types = [m.type for m in pending]
    assert types.count("lab:periodic:heartbeat") == 60
    assert types.count("lab:periodic:cleanup") == 2
    everything = outcomes["first"] + outcomes["second"]
    assert everything.count("enqueued") == 62
    assert everything.count("claimed_elsewhere") == 62
    assert outcomes["first"].count("enqueued") > 0
    assert outcomes["second"].count("enqueued") > 0
    # Each scheduler records only what it enqueued, under its own entry ids.
    recorded = sum(len(history(redis_client, e.id)) for s in (first, second) for e in s.entries())
    assert recorded == 62


def test_a_refused_enqueue_is_reported_and_the_scheduler_carries_on(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(
        clock,
        [{"cron": "@every 10s", "task": "report", "options": {"queue": "low", "unique": "1h"}}],
    )
    scheduler.start()
    clock.advance(5)
    assert [r.outcome for r in scheduler.run_once()] == ["enqueued"]
    clock.advance(10)
    [refused] = scheduler.run_once()
    assert (refused.outcome, refused.error) == ("failed", "task already exists")
    assert len(history(redis_client, refused.entry_id)) == 1
    assert scheduler.entries()[0].prev_run == datetime(2026, 11, 25, 15, 40, 20, tzinfo=UTC)


def test_entries_registered_from_code(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock)
    scheduler.start()
    entry_id = scheduler.register(
        "@every 30s", Task("email:digest", b"{}"), queue="mail", timeout=60, retention="1h"
    )
    [state] = scheduler.entries()
    assert state.id == entry_id
    assert state.options == ('Queue("mail")', "Timeout(1m0s)", "Retention(1h0m0s)")
    assert state.next_run == datetime(2026, 11, 25, 15, 40, 30, tzinfo=UTC)
    clock.advance(25)
    [result] = scheduler.run_once()
    [message] = pending_messages(redis_client, "mail")
    assert (message.id, message.timeout, message.retention) == (result.task_id, 60, 3600)

    scheduler.unregister(entry_id)
    assert scheduler.entries() == []
    assert not redis_client.exists(keys.scheduler_history_key(entry_id))


def test_shutdown_removes_entries_and_history_as_asynq(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY, CLEANUP_ENTRY])
    scheduler.start()
    clock.advance(5)
    [fired] = scheduler.run_once()
    scheduler.heartbeat.run_once()
    other_key = b"asynq:schedulers:{other:1:x}"
    redis_client.zadd(keys.ALL_SCHEDULERS, {other_key: START + 100})

    scheduler.shutdown()

    assert redis_client.zrange(keys.ALL_SCHEDULERS, 0, -1) == [other_key]
    assert not redis_client.exists(keys.scheduler_entries_key(scheduler.id))
    assert not redis_client.exists(keys.scheduler_history_key(fired.entry_id))
    # The task itself stays, and so does the tick's claim until it expires.
    assert redis_client.llen(keys.pending_key("low")) == 1
    [claim] = redis_client.keys("asynq:scheduler_tick:*")
    assert claim.endswith(f":{int(START) + 5}".encode())
    assert 0 < redis_client.ttl(claim) <= 600


class AdvancingStop:
    """A stop signal whose waits move a FrozenClock instead of sleeping; set at ``stop_at``."""

    def __init__(self, clock: FrozenClock, stop_at: float, on_wait: Callable[[], None]) -> None:
        self.clock = clock
        self.stop_at = stop_at
        self.on_wait = on_wait
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return self.clock.now() >= self.stop_at

    def wait(self, timeout: float | None = None) -> bool:
        self.on_wait()
        self.waits.append(timeout or 0.0)
        self.clock.advance(timeout or 0.0)
        return self.is_set()


def test_run_forever_fires_ticks_beats_every_ten_seconds_and_cleans_up(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY])
    entries_key = keys.scheduler_entries_key(scheduler.id)
    seen: list[tuple[float, bool]] = []
    stop = AdvancingStop(
        clock,
        START + 31,
        lambda: seen.append((clock.now() - START, bool(redis_client.exists(entries_key)))),
    )

    scheduler.run_forever(stop)

    # Ticks at :10, :20 and :30 were enqueued.
    assert redis_client.llen(keys.pending_key("low")) == 3
    # The first entry write came one heartbeat (10 s) after the start, not before.
    assert [t for t, present in seen if not present] == [t for t, _ in seen if t < 10]
    assert any(present for _, present in seen)
    assert max(stop.waits) <= 1.0
    # Shutdown cleaned up as Go's does.
    assert not redis_client.exists(entries_key)
    assert redis_client.zcard(keys.ALL_SCHEDULERS) == 0
    assert redis_client.keys("asynq:scheduler_history:*") == []


def test_run_forever_survives_redis_going_away(
    make_scheduler: MakeScheduler, redis_client: redis.Redis, redis_server: Any
) -> None:
    clock = FrozenClock(START)
    scheduler = make_scheduler(clock, [HEARTBEAT_ENTRY])
    restarted = []

    def restart_once() -> None:
        if not restarted and clock.now() >= START + 12:
            redis_server.restart()
            restarted.append(clock.now())

    scheduler.run_forever(AdvancingStop(clock, START + 26, restart_once))
    assert restarted
    # The test Redis keeps no data over a restart: what is there came after it (:20 and :30).
    messages = pending_messages(redis_client, "low")
    assert [m.type for m in messages] == ["lab:periodic:heartbeat"] * 2


def test_a_tick_while_redis_is_down_fails_without_raising(
    make_scheduler: MakeScheduler, redis_client: redis.Redis
) -> None:
    server = start_redis()
    clock = FrozenClock(START)
    scheduler = Scheduler.from_url(server.url, entries=[HEARTBEAT_ENTRY], clock=clock)
    try:
        scheduler.start()
        server.stop()
        clock.advance(5)
        [result] = scheduler.run_once()
        assert result.outcome == "failed"
        assert str(result.error).startswith("Redis unavailable")
        scheduler.shutdown()  # logs, does not raise
    finally:
        scheduler.close()
        server.stop()
