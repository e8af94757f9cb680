"""Scheduler records written by Go asynq v0.26 (the fixture) read and written by our code."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest
import redis

from queuecore import keys
from queuecore.client import Task
from queuecore.clock import FrozenClock
from queuecore.options import format_options, parse_option
from queuecore.scheduler import (
    EntryState,
    Scheduler,
    SchedulerEntrySpec,
    decode_enqueue_event,
    decode_entry,
    encode_enqueue_event,
    encode_entry,
    next_run,
)
from tests.support.asynq_fixture import CAPTURED_AT, load_into, load_json


def rfc3339(when: datetime | None) -> str | None:
    """Go's time.RFC3339Nano in UTC, as the fixture spells times (trailing zeros dropped)."""
    if when is None:
        return None
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def go_entries() -> list[dict[str, Any]]:
    return list(load_json("inspect-all.json")["scheduler_entries"])


def raw_entry_blobs() -> list[bytes]:
    [entry_list] = [
        e for e in load_json("populated.json") if e["key"].startswith("asynq:schedulers:{")
    ]
    return [base64.b64decode(v["b64"]) for v in entry_list["value"]]


@pytest.fixture
def loaded(redis_client: redis.Redis) -> redis.Redis:
    load_into(redis_client)
    return redis_client


def test_go_scheduler_entries_decode_to_what_gos_inspector_reported(loaded: redis.Redis) -> None:
    [(registry_key, expiry)] = loaded.zrange(keys.ALL_SCHEDULERS, 0, -1, withscores=True)
    assert expiry > CAPTURED_AT.timestamp()  # now + 20 s at the last beat
    decoded = [decode_entry(blob) for blob in loaded.lrange(registry_key, 0, -1)]
    expected = sorted(go_entries(), key=lambda e: e["id"])
    decoded.sort(key=lambda e: e.id)

    assert len(decoded) == len(expected) == 2
    for ours, go in zip(decoded, expected, strict=True):
        assert ours.id == go["id"]
        assert ours.spec == go["spec"]
        assert ours.task_type == go["task_type"]
        go_payload = go["task_payload"] and base64.b64decode(go["task_payload"]["b64"])
        assert ours.payload == (go_payload or None)
        assert list(ours.options) == go["opts"]
        assert [parse_option(o).text for o in ours.options] == go["opts"]
        assert rfc3339(ours.next_run) == go["next"]
        assert rfc3339(ours.prev_run) == go["prev"]


def test_go_enqueue_events_decode_to_what_gos_inspector_reported(loaded: redis.Redis) -> None:
    for go in go_entries():
        rows = loaded.zrevrange(keys.scheduler_history_key(go["id"]), 0, -1, withscores=True)
        events = [(*decode_enqueue_event(member), score) for member, score in rows]
        assert [task_id for task_id, _, _ in events] == [e["task_id"] for e in go["enqueue_events"]]
        for (_, at, score), event in zip(events, go["enqueue_events"], strict=True):
            assert at is not None
            # The fixture has nanoseconds; datetimes keep microseconds.
            assert rfc3339(at) == event["enqueued_at"][:26].rstrip("0") + "Z"
            assert score == int(at.timestamp())


def test_our_encoding_of_gos_entries_is_byte_identical() -> None:
    for blob in raw_entry_blobs():
        assert encode_entry(decode_entry(blob)) == blob


def test_our_encoding_of_a_go_enqueue_event_matches_field_for_field() -> None:
    member = base64.b64decode(
        "CiQzNzczZjY2ZC05YmVmLTRhZTUtYmZjNi03ZTFmMTJkNDE5YTESCgjQgpzYBhCAyFo="
    )
    task_id, at = decode_enqueue_event(member)
    assert at is not None
    # A float of Unix seconds holds the time to well under a microsecond.
    assert decode_enqueue_event(encode_enqueue_event(task_id, at.timestamp())) == (task_id, at)


def test_the_same_entries_set_up_in_python_write_gos_spec_and_option_strings() -> None:
    by_type = {e["task_type"]: e for e in go_entries()}
    # How asynqlab registered them in Go: Queue("low"), Timeout(2*time.Minute) / MaxRetry(3).
    cleanup = SchedulerEntrySpec.from_setting(
        {
            "cron": "*/5 * * * *",
            "task": "lab:periodic:cleanup",
            "options": {"queue": "low", "timeout": 120},
        }
    )
    heartbeat = SchedulerEntrySpec(
        spec="@every 30s",
        task=Task("lab:periodic:heartbeat", b'{"every":"30s","source":"scheduler"}'),
        options={"queue": "low", "max_retry": 3},
    )
    for spec in (cleanup, heartbeat):
        go = by_type[spec.task.type]
        assert spec.written_spec() == go["spec"]
        assert spec.option_strings() == go["opts"]

    # Cron ticks agree with Go's; @every ticks are epoch-aligned here (a documented difference).
    go_cleanup = by_type["lab:periodic:cleanup"]
    prev = datetime.fromisoformat(go_cleanup["prev"]).timestamp()
    assert next_run(cleanup.spec, prev) == datetime.fromisoformat(go_cleanup["next"]).timestamp()

    # With Go's id and times, our entry bytes are Go's bytes.
    for spec, blob in zip(
        sorted((cleanup, heartbeat), key=lambda s: s.task.type),
        sorted(raw_entry_blobs(), key=lambda b: decode_entry(b).task_type),
        strict=True,
    ):
        go_state = decode_entry(blob)
        state = EntryState(
            id=go_state.id,
            spec=spec.written_spec(),
            task_type=spec.task.type,
            payload=spec.task.payload,
            options=tuple(spec.option_strings()),
            identity="",
            next_run=go_state.next_run,
            prev_run=go_state.prev_run,
        )
        assert encode_entry(state) == blob


def test_a_python_scheduler_beside_gos_entries_leaves_them_alone(
    loaded: redis.Redis, redis_url: str
) -> None:
    clock = FrozenClock(CAPTURED_AT.timestamp())
    scheduler = Scheduler.from_url(
        redis_url,
        entries=[{"cron": "@every 30s", "task": "py:tick", "options": {"queue": "low"}}],
        clock=clock,
    )
    try:
        scheduler.heartbeat.run_once()
        registry = {m.decode() for m in loaded.zrange(keys.ALL_SCHEDULERS, 0, -1)}
        assert keys.scheduler_entries_key(scheduler.id) in registry
        assert len(registry) == 2
        scheduler.shutdown()
        assert len(loaded.zrange(keys.ALL_SCHEDULERS, 0, -1)) == 1
        for go in go_entries():
            assert loaded.exists(keys.scheduler_history_key(go["id"]))
    finally:
        scheduler.close()


def test_fixture_option_strings_round_trip_through_our_formatter() -> None:
    for go in go_entries():
        parsed = [parse_option(text) for text in go["opts"]]
        assert format_options({p.keyword: p.value for p in parsed}) == go["opts"]
