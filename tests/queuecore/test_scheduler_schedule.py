"""Pure parts of the scheduler: spec parsing, next-run times, entries from settings, encoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from queuecore.client import Task
from queuecore.errors import InvalidArgumentError, MalformedDataError
from queuecore.messages import GO_ZERO_TIME_SECONDS, SchedulerEnqueueEvent, SchedulerEntry
from queuecore.schedule_entries import (
    EntryState,
    SchedulerEntrySpec,
    decode_enqueue_event,
    decode_entry,
    encode_enqueue_event,
    encode_entry,
)
from queuecore.scheduler import SchedulerConfig
from queuecore.schedules import CronSchedule, EverySchedule, next_run, parse_schedule


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec", "timezone", "after", "expected"),
    [
        # five-field cron, in UTC by default; strictly after, whole minutes
        ("*/5 * * * *", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 25, 15, 45)),
        ("*/5 * * * *", "UTC", utc(2026, 11, 25, 15, 40, 0), utc(2026, 11, 25, 15, 45)),
        ("*/5 * * * *", "UTC", utc(2026, 11, 25, 15, 39, 59), utc(2026, 11, 25, 15, 40)),
        ("* * * * *", "UTC", utc(2026, 11, 25, 23, 59, 30), utc(2026, 11, 26, 0, 0)),
        ("0 9 * * MON-FRI", "UTC", utc(2026, 11, 27, 10, 0), utc(2026, 11, 30, 9, 0)),
        ("30 2 1 jan *", "UTC", utc(2026, 11, 25), utc(2027, 1, 1, 2, 30)),
        ("0 0 ? * *", "UTC", utc(2026, 11, 25, 12), utc(2026, 11, 26)),
        ("15,45 */6 * * *", "UTC", utc(2026, 11, 25, 6, 45), utc(2026, 11, 25, 12, 15)),
        # day-of-month and day-of-week both restricted: either matches (cron's OR rule)
        ("0 0 1 * MON", "UTC", utc(2026, 11, 25, 15), utc(2026, 11, 30)),
        # descriptors
        ("@hourly", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 25, 16)),
        ("@daily", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 26)),
        ("@midnight", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 26)),
        ("@weekly", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 29)),
        ("@monthly", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 12, 1)),
        ("@yearly", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2027, 1, 1)),
        ("@annually", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2027, 1, 1)),
        # time zones: the entry's, or the spec's own CRON_TZ= (which wins)
        ("0 9 * * *", "Europe/Berlin", utc(2026, 11, 25, 15), utc(2026, 11, 26, 8)),
        ("0 9 * * *", "Europe/Berlin", utc(2026, 7, 1, 15), utc(2026, 7, 2, 7)),
        ("CRON_TZ=America/New_York 0 9 * * *", "UTC", utc(2026, 11, 25, 15), utc(2026, 11, 26, 14)),
        ("TZ=Asia/Tokyo 0 0 * * *", "Europe/Berlin", utc(2026, 11, 25, 16), utc(2026, 11, 26, 15)),
        ("CRON_TZ=Europe/Berlin @daily", "UTC", utc(2026, 11, 25, 15), utc(2026, 11, 25, 23)),
        # Berlin's spring-forward night has no 02:30; the run moves to 03:00 local (01:00 UTC)
        ("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 23), utc(2026, 3, 29, 1)),
        # and the autumn night's 02:30 happens once
        ("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 23), utc(2026, 10, 25, 0, 30)),
        # @every: whole seconds aligned to the Unix epoch, at least one second
        ("@every 30s", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 25, 15, 40, 30)),
        ("@every 30s", "UTC", utc(2026, 11, 25, 15, 40, 30), utc(2026, 11, 25, 15, 41)),
        ("@every 1m", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 25, 15, 41)),
        ("@every 1h30m", "UTC", utc(2026, 11, 25, 15, 40), utc(2026, 11, 25, 16, 30)),
        ("@every 1.5s", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 25, 15, 40, 22)),
        ("@every 100ms", "UTC", utc(2026, 11, 25, 15, 40, 21), utc(2026, 11, 25, 15, 40, 22)),
        ("@every 24h", "Europe/Berlin", utc(2026, 11, 25, 15), utc(2026, 11, 26)),
    ],
)
def test_next_run_is_the_first_tick_strictly_after(
    spec: str, timezone: str, after: datetime, expected: datetime
) -> None:
    assert next_run(spec, after.timestamp(), timezone=timezone) == expected.timestamp()


def test_next_run_ignores_the_fraction_of_a_second() -> None:
    after = utc(2026, 11, 25, 15, 44, 59).timestamp() + 0.999
    assert next_run("*/5 * * * *", after) == utc(2026, 11, 25, 15, 45).timestamp()


def test_parse_schedule_gives_a_cron_or_every_schedule() -> None:
    assert parse_schedule("@daily", timezone="Europe/Berlin") == CronSchedule(
        expression="0 0 * * *", timezone="Europe/Berlin"
    )
    assert parse_schedule("CRON_TZ=Asia/Tokyo */5 * * * *") == CronSchedule(
        expression="*/5 * * * *", timezone="Asia/Tokyo"
    )
    assert parse_schedule("@every 1h0m0s") == EverySchedule(interval=3600)
    assert parse_schedule("@every 0s") == EverySchedule(interval=1)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "non-blank"),
        ("* * * *", "expected 5 fields"),
        ("0 * * * * *", "expected 5 fields"),
        ("61 * * * *", "expected 5 fields"),
        ("@fortnightly", "unrecognized descriptor"),
        ("@every", "unrecognized descriptor"),
        ("@every 30", "missing unit"),
        ("@every soon", "invalid duration"),
        ("CRON_TZ=Mars/Olympus 0 * * * *", "unknown time zone"),
    ],
)
def test_parse_schedule_rejects_bad_specs_clearly(spec: str, fragment: str) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        parse_schedule(spec)
    assert fragment in str(excinfo.value)


def test_entry_from_settings_builds_task_payload_options_and_zone() -> None:
    entry = SchedulerEntrySpec.from_setting(
        {
            "cron": "*/5 * * * *",
            "task": "report:generate",
            "payload": {"report": "daily", "ü": 1},
            "options": {"queue": "low", "max_retry": 3, "timeout": 120, "unique": "1h"},
            "timezone": "Europe/Berlin",
        }
    )
    assert entry.task == Task("report:generate", '{"report":"daily","ü":1}'.encode())
    assert entry.options == {
        "queue": "low",
        "max_retry": 3,
        "timeout": timedelta(minutes=2),
        "unique": timedelta(hours=1),
    }
    assert entry.written_spec() == "CRON_TZ=Europe/Berlin */5 * * * *"
    assert entry.option_strings() == [
        'Queue("low")',
        "MaxRetry(3)",
        "Timeout(2m0s)",
        "Unique(1h0m0s)",
    ]


@pytest.mark.parametrize(
    ("payload", "stored"),
    [
        (None, None),
        (b"\x00\xff", b"\x00\xff"),
        ("plain text", b"plain text"),
        ([1, 2], b"[1,2]"),
        (42, b"42"),
    ],
)
def test_entry_payloads_from_settings(payload: object, stored: bytes | None) -> None:
    entry = SchedulerEntrySpec.from_setting({"cron": "@hourly", "task": "t", "payload": payload})
    assert entry.task.payload == stored


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"task": "t"}, "needs a 'cron' spec"),
        ({"cron": "@daily"}, "needs a 'task' type"),
        ({"cron": "@daily", "task": "t", "queue": "low"}, "unknown key(s) queue"),
        ({"cron": "@daily", "task": "t", "options": ["low"]}, "'options' must be a dict"),
        ({"cron": "@daily", "task": "t", "options": {"unique": 0.5}}, "unique TTL"),
        ({"cron": "@daily", "task": "t", "timezone": "Nowhere/Else"}, "unknown time zone"),
        ({"cron": "every day", "task": "t"}, "invalid cron spec"),
        ({"cron": "@daily", "task": "t", "payload": {1j}}, "payload cannot be encoded"),
    ],
)
def test_entry_from_settings_rejects_bad_entries_clearly(item: dict, fragment: str) -> None:
    with pytest.raises(InvalidArgumentError) as excinfo:
        SchedulerEntrySpec.from_setting(item)
    assert fragment in str(excinfo.value)


def test_entry_options_lay_over_the_tasks_own_options() -> None:
    entry = SchedulerEntrySpec(
        spec="@hourly",
        task=Task("t", b"x", queue="critical", max_retry=1, headers={"k": "v"}),
        options={"max_retry": 5},
    )
    assert entry.option_strings() == ['Queue("critical")', "MaxRetry(5)", 'Header(["k","v"])']


def test_entry_identity_is_stable_and_covers_spec_zone_task_and_options() -> None:
    base = {"cron": "0 * * * *", "task": "t", "payload": {"a": 1}, "options": {"queue": "low"}}
    identity = SchedulerEntrySpec.from_setting(base).identity()
    assert identity == SchedulerEntrySpec.from_setting(dict(base)).identity()
    # Option order and spelling do not matter; their values do.
    assert (
        SchedulerEntrySpec.from_setting(
            {**base, "options": {"timeout": "2m", "queue": "low"}}
        ).identity()
        == SchedulerEntrySpec.from_setting(
            {**base, "options": {"queue": "low", "timeout": 120}}
        ).identity()
    )
    variants = [
        {**base, "cron": "1 * * * *"},
        {**base, "task": "u"},
        {**base, "payload": {"a": 2}},
        {**base, "payload": None},
        {**base, "options": {"queue": "high"}},
        {**base, "timezone": "Europe/Berlin"},
    ]
    identities = {SchedulerEntrySpec.from_setting(v).identity() for v in variants}
    assert identity not in identities
    assert len(identities) == len(variants)
    # The scheduler's default zone matters for cron specs, not for @every.
    assert SchedulerEntrySpec.from_setting(base).identity("Asia/Tokyo") != identity
    every = SchedulerEntrySpec.from_setting({**base, "cron": "@every 1m"})
    assert every.identity("Asia/Tokyo") == every.identity("UTC")


def test_an_entry_zone_is_not_written_into_every_specs() -> None:
    entry = SchedulerEntrySpec.from_setting(
        {"cron": "@every 30s", "task": "t", "timezone": "Europe/Berlin"}
    )
    assert entry.written_spec() == "@every 30s"
    own = SchedulerEntrySpec.from_setting(
        {"cron": "CRON_TZ=Asia/Tokyo @daily", "task": "t", "timezone": "Europe/Berlin"}
    )
    assert own.written_spec() == "CRON_TZ=Asia/Tokyo @daily"


def test_encoded_entry_writes_gos_zero_time_for_a_never_run_entry() -> None:
    state = EntryState(
        id="e1",
        spec="@every 30s",
        task_type="t",
        payload=None,
        options=('Queue("low")',),
        identity="",
        next_run=utc(2026, 11, 25, 15, 40, 30),
        prev_run=None,
    )
    message = SchedulerEntry.FromString(encode_entry(state))
    assert message.prev_enqueue_time.seconds == GO_ZERO_TIME_SECONDS
    assert message.HasField("prev_enqueue_time")
    assert message.next_enqueue_time.seconds == int(utc(2026, 11, 25, 15, 40, 30).timestamp())
    assert decode_entry(encode_entry(state)) == state


def test_encoded_enqueue_event_keeps_the_fraction_of_a_second() -> None:
    at = utc(2026, 11, 25, 15, 40, 10).timestamp() + 0.25
    event = SchedulerEnqueueEvent.FromString(encode_enqueue_event("task-1", at))
    assert (event.task_id, event.enqueue_time.seconds, event.enqueue_time.nanos) == (
        "task-1",
        int(at),
        250_000_000,
    )
    assert decode_enqueue_event(encode_enqueue_event("task-1", at)) == (
        "task-1",
        utc(2026, 11, 25, 15, 40, 10) + timedelta(milliseconds=250),
    )


def test_undecodable_entries_are_malformed_data() -> None:
    with pytest.raises(MalformedDataError):
        decode_entry(b"\xff\xff\xff")
    with pytest.raises(MalformedDataError):
        decode_enqueue_event(b"\x0a\x10short")


@pytest.mark.parametrize(
    "kwargs",
    [{"heartbeat_interval": 0.5}, {"tick_claim_ttl": 0}, {"max_sleep": 0}, {"timezone": "Nope"}],
)
def test_scheduler_config_rejects_unusable_values(kwargs: dict) -> None:
    with pytest.raises(InvalidArgumentError):
        SchedulerConfig(**kwargs)
