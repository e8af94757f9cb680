"""Scheduler entries: what one periodic task is (from settings or code), and the protobuf
records Go's Inspector reads for it (SchedulerEntry, SchedulerEnqueueEvent, spec §3.3)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from queuecore.client import EnqueueOptions, Task
from queuecore.errors import InvalidArgumentError, MalformedDataError
from queuecore.messages import GO_ZERO_TIME_SECONDS, SchedulerEnqueueEvent, SchedulerEntry
from queuecore.options import OPTION_NAMES, format_options, normalize_options
from queuecore.schedules import CronSchedule, Schedule, parse_schedule, split_zone, time_zone

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _payload_from_setting(value: Any) -> bytes | None:
    """bytes as they are, str as UTF-8, anything else JSON-encoded compactly; None is nil."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"payload cannot be encoded as JSON: {exc}") from exc


_SETTING_KEYS = {"cron", "spec", "task", "type", "payload", "options", "timezone"}


@dataclass(frozen=True, kw_only=True)
class SchedulerEntrySpec:
    """One periodic task: when (``spec``), what (``task``), how (``options``, Client keywords).

    ``options`` lay over the task's own options when enqueuing, as ``Client.enqueue`` does; they
    accept seconds, timedeltas or Go duration text for durations (normalized on creation).
    ``timezone`` (an IANA name) applies to cron specs without ``CRON_TZ=``; ``None`` means the
    scheduler's. A cron spec with a timezone is written to Redis as ``CRON_TZ=<zone> <spec>``.
    """

    spec: str
    task: Task
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    timezone: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.task, Task):
            raise InvalidArgumentError(f"expected a Task, got {type(self.task).__name__}")
        object.__setattr__(self, "options", normalize_options(self.options))
        if self.timezone is not None:
            time_zone(self.timezone)
        parse_schedule(self.spec, timezone=self.timezone or "UTC")
        # The Client's own checks (unique >= 1 s, non-blank queue, ...) fail here, not at a tick.
        self.task.with_options(**self.effective_options())

    @classmethod
    def from_setting(cls, item: Mapping[str, Any]) -> SchedulerEntrySpec:
        """One item of ``QUEUECORE["SCHEDULE"]``.

        ``{"cron": "*/5 * * * *", "task": "report:generate", "payload": {...} | "text" | b"...",
        "options": {"queue": "low", "max_retry": 3, "timeout": 120, ...},
        "timezone": "Europe/Berlin"}``. ``spec``/``type`` are accepted for ``cron``/``task``.
        """
        if not isinstance(item, Mapping):
            raise InvalidArgumentError(f"a schedule entry must be a dict, got {item!r}")
        unknown = sorted(set(item) - _SETTING_KEYS)
        if unknown:
            raise InvalidArgumentError(
                f"unknown key(s) {', '.join(unknown)} in schedule entry {dict(item)!r}; "
                "known: cron, task, payload, options, timezone"
            )
        spec = item.get("cron", item.get("spec"))
        task_type = item.get("task", item.get("type"))
        if not isinstance(spec, str) or not spec.strip():
            raise InvalidArgumentError(f"schedule entry needs a 'cron' spec: {dict(item)!r}")
        if not isinstance(task_type, str) or not task_type.strip():
            raise InvalidArgumentError(f"schedule entry needs a 'task' type: {dict(item)!r}")
        options = item.get("options") or {}
        if not isinstance(options, Mapping):
            raise InvalidArgumentError(f"schedule entry 'options' must be a dict: {dict(item)!r}")
        timezone = item.get("timezone")
        if timezone is not None and not isinstance(timezone, str):
            raise InvalidArgumentError(f"schedule entry 'timezone' must be a string: {timezone!r}")
        return cls(
            spec=spec.strip(),
            task=Task(task_type, _payload_from_setting(item.get("payload"))),
            options=options,
            timezone=timezone or None,
        )

    def effective_options(self) -> dict[str, Any]:
        """The task's own options with ``options`` laid over them (what an enqueue uses)."""
        merged = EnqueueOptions(**self.options).over(self.task.options())
        values = {name: getattr(merged, name) for name in OPTION_NAMES}
        return normalize_options(values)

    def written_spec(self) -> str:
        """The spec as written to Redis: with ``CRON_TZ=`` when this entry names a zone."""
        own_zone, body = split_zone(self.spec)
        if self.timezone and own_zone is None and not body.startswith("@every "):
            return f"CRON_TZ={self.timezone} {self.spec}"
        return self.spec

    def schedule(self, default_timezone: str = "UTC") -> Schedule:
        return parse_schedule(self.spec, timezone=self.timezone or default_timezone)

    def option_strings(self) -> list[str]:
        """The options as Go writes them in ``SchedulerEntry.enqueue_options``."""
        return format_options(self.effective_options())

    def identity(self, default_timezone: str = "UTC") -> str:
        """A hash that is the same for the same entry in every process (the tick-claim name)."""
        schedule = self.schedule(default_timezone)
        zone = schedule.timezone if isinstance(schedule, CronSchedule) else ""
        payload = self.task.payload
        material = json.dumps(
            [
                self.written_spec(),
                zone,
                self.task.type,
                None if payload is None else payload.hex(),
                self.option_strings(),
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, kw_only=True)
class EntryState:
    """A snapshot of one registered entry, as the scheduler writes it to Redis."""

    id: str
    spec: str
    task_type: str
    payload: bytes | None
    options: tuple[str, ...]
    identity: str
    next_run: datetime | None
    prev_run: datetime | None


def _timestamp(unix: float | None) -> Timestamp:
    """A protobuf Timestamp; ``None`` is Go's zero time, written explicitly as asynq does."""
    if unix is None:
        return Timestamp(seconds=GO_ZERO_TIME_SECONDS, nanos=0)
    # A float of Unix seconds is exact to about 0.2 µs today: keep whole microseconds, not noise.
    micros = round(unix * 1_000_000)
    seconds, micro_part = divmod(micros, 1_000_000)
    return Timestamp(seconds=seconds, nanos=micro_part * 1000)


def _unix(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def encode_entry(entry: EntryState) -> bytes:
    """The SchedulerEntry protobuf Go's Inspector reads (spec §3.3)."""
    message = SchedulerEntry(
        id=entry.id,
        spec=entry.spec,
        task_type=entry.task_type,
        task_payload=entry.payload or b"",
        enqueue_options=list(entry.options),
        next_enqueue_time=_timestamp(_unix(entry.next_run)),
        prev_enqueue_time=_timestamp(_unix(entry.prev_run)),
    )
    return message.SerializeToString(deterministic=True)


def encode_enqueue_event(task_id: str, enqueued_at: float) -> bytes:
    """The SchedulerEnqueueEvent protobuf stored as a history member (spec §3.3)."""
    event = SchedulerEnqueueEvent(task_id=task_id, enqueue_time=_timestamp(enqueued_at))
    return event.SerializeToString(deterministic=True)


def _from_timestamp(ts: Timestamp) -> datetime | None:
    if ts.seconds == GO_ZERO_TIME_SECONDS and ts.nanos == 0:
        return None
    try:
        return _EPOCH + timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)
    except OverflowError:
        return None  # outside datetime's years 1..9999: nothing asynq writes


def decode_entry(blob: bytes, *, identity: str = "") -> EntryState:
    """A SchedulerEntry protobuf (ours or Go's) back as an EntryState; Go's zero time is None.

    Raises MalformedDataError for bytes that are not a SchedulerEntry.
    """
    message = SchedulerEntry()
    try:
        message.ParseFromString(blob)
    except DecodeError as exc:
        raise MalformedDataError("scheduler entry", f"undecodable SchedulerEntry: {exc}") from exc
    return EntryState(
        id=message.id,
        spec=message.spec,
        task_type=message.task_type,
        payload=bytes(message.task_payload) or None,
        options=tuple(message.enqueue_options),
        identity=identity,
        next_run=_from_timestamp(message.next_enqueue_time),
        prev_run=_from_timestamp(message.prev_enqueue_time),
    )


def decode_enqueue_event(blob: bytes) -> tuple[str, datetime | None]:
    """A SchedulerEnqueueEvent protobuf back as (task id, enqueue time)."""
    event = SchedulerEnqueueEvent()
    try:
        event.ParseFromString(blob)
    except DecodeError as exc:
        raise MalformedDataError("scheduler history", f"undecodable event: {exc}") from exc
    return event.task_id, _from_timestamp(event.enqueue_time)
