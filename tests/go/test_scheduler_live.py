"""Live, checklist items 20 and 21: scheduler entries, enqueue history and daily stats both ways."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

import pytest
import redis

from queuecore import Client, Inspector, Scheduler, Task
from queuecore.clock import FrozenClock
from tests.go.lab import EVENT_TIMEOUT, GoLab
from tests.go.parity import same_instant
from tests.go.py_side import PyWorker

pytestmark = [pytest.mark.go, pytest.mark.slow]


def test_item20_our_scheduler_entries_and_enqueue_events_read_in_go(
    go: GoLab, redis_url: str, redis_client: redis.Redis
):
    clock = FrozenClock(time.time())
    scheduler = Scheduler.from_url(redis_url, clock=clock)
    entry_id = scheduler.register(
        "@every 1m", Task("lab:cron", b"tick"), queue="low", max_retry=3, timeout=1800
    )
    scheduler.start()
    clock.advance(61)
    (fired,) = scheduler.run_once()
    scheduler.heartbeat.run_once()
    (theirs,) = go.one("entries")["entries"]
    assert (theirs["id"], theirs["spec"], theirs["type"], theirs["payload"]) == (
        entry_id,
        "@every 1m",
        "lab:cron",
        "tick",
    )
    assert sorted(theirs["opts"]) == ["MaxRetry(3)", 'Queue("low")', "Timeout(30m0s)"]
    (event,) = theirs["events"]
    assert event["task_id"] == fired.task_id
    assert same_instant(datetime.fromtimestamp(clock.now(), UTC), event["enqueued_at"])
    (state,) = scheduler.entries()
    assert same_instant(state.next_run, theirs["next"])
    assert go.taskinfo("low", fired.task_id)["max_retry"] == 3
    # Deliberate difference: our tick claim, a key Go neither writes nor reads.
    assert len(redis_client.keys("asynq:scheduler_tick:*")) == 1
    scheduler.shutdown()
    assert go.one("entries")["entries"] == []


def test_item20_go_scheduler_entries_and_enqueue_events_read_in_ours(go: GoLab, redis_url: str):
    process = go.schedule(
        "-cron", "@every 1s", "-type", "lab:cron", "-payload", "tick", "-queue", "low",
        "-max-retry", "3", "-timeout", "30m",
    )  # fmt: skip
    insp = Inspector.from_url(redis_url)
    try:
        # Go's scheduler writes its entries first after 10 s: the one wait for Go's timing here.
        deadline = time.monotonic() + EVENT_TIMEOUT
        while not (entries := insp.scheduler_entries()):
            assert time.monotonic() < deadline, "Go's scheduler never wrote its entries"
            time.sleep(0.2)
        (theirs,) = go.one("entries")["entries"]
        (ours,) = entries
        assert (ours.id, ours.spec, ours.task_type, ours.task_payload) == (
            theirs["id"],
            "@every 1s",
            "lab:cron",
            b"tick",
        )
        assert sorted(ours.options) == sorted(theirs["opts"])
        assert same_instant(ours.next_enqueue_at, theirs["next"])
        assert same_instant(ours.prev_enqueue_at, theirs["prev"])
        events = insp.scheduler_enqueue_events(ours.id, 1, 0)
        assert len(events) >= 5  # one a second since Go's scheduler started
        # Read after Go's listing, so ours may hold newer events, never fewer.
        assert {e["task_id"] for e in theirs["events"]} <= {e.task_id for e in events}
        times = [e.enqueued_at for e in events]
        assert times == sorted(times, reverse=True)  # newest first, as Go lists them
        assert [e.task_id for e in events][-len(theirs["events"]) :] == [
            e["task_id"] for e in theirs["events"]
        ]
        assert insp.get_task_info("low", events[0].task_id).max_retry == 3
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    assert insp.scheduler_entries() == []


def test_item21_history_counts_agree_after_both_languages_processed(
    go: GoLab, redis_url: str, py_worker: PyWorker
):
    client = Client.from_url(redis_url)
    for n in range(3):
        client.enqueue(Task("lab:ok", str(n).encode()))
    client.enqueue(Task("lab:fail", b"x", max_retry=0))
    py_worker.run_burst()
    go.run("enqueue", "-type", "lab:ok", "-n", "2")
    go.enqueue("-type", "lab:fail", "-max-retry", "0")
    worker = go.work()
    worker.wait_for(lambda e: sum(x["event"] in ("done", "error") for x in worker.events) == 3)
    worker.stop()
    theirs = go.one("history", "-queue", "default", "-n", "7")["history"]
    ours = Inspector.from_url(redis_url).history("default", 7)
    assert [(d.date.isoformat(), d.processed, d.failed) for d in ours] == [
        (h["date"], h["processed"], h["failed"]) for h in theirs
    ]
    assert (ours[0].processed, ours[0].failed) == (7, 2)
