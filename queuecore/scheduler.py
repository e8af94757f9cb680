"""Periodic tasks: asynq's Scheduler, from settings or code, safe to run in several processes.

A :class:`Scheduler` holds entries (a cron spec, a task, enqueue options).
:meth:`Scheduler.run_once` enqueues every entry whose tick is due at the clock's now, through the
:class:`~queuecore.client.Client`, and records each enqueue in the entry's history;
:class:`SchedulerHeartbeat` writes the entries every 10 s. Both write exactly what Go's scheduler
writes (spec §2, §3.3, §5), so Go's ``Inspector.SchedulerEntries()`` /
``ListSchedulerEnqueueEvents`` and our dashboard show them.

Specs (robfig/cron's standard parser, which asynq uses): five cron fields (``*/5 * * * *``,
``0 9 * * MON-FRI``), ``@yearly``/``@annually``, ``@monthly``, ``@weekly``,
``@daily``/``@midnight``, ``@hourly``, ``@every <Go duration>``, each optionally prefixed
``CRON_TZ=<IANA zone>`` (or ``TZ=``). Cron specs without a zone use the entry's ``timezone``,
else the scheduler's (UTC by default, as asynq's ``SchedulerOpts.Location``). Next runs come from
croniter, as a pure function (:func:`next_run`).

Two deliberate differences from Go, both so that several schedulers can share entries:

* **Each tick is enqueued once, whichever scheduler gets there first.** Before enqueuing, a
  scheduler claims the tick with ``SET asynq:scheduler_tick:<identity>:<tick> NX EX`` (see
  ``rdb.scheduler``). ``<identity>`` is a hash of the spec, zone, task type, payload and option
  strings, the same in every process; the entry *id* stays a fresh UUID per process, as in Go, and
  history is recorded by the scheduler that enqueued. Go schedulers do not take these claims.
* **``@every`` ticks are aligned to the Unix epoch** (``@every 30s`` fires at :00 and :30), not to
  the process start as in Go, so that two schedulers agree on which tick is which.

A tick found more than ``tick_claim_ttl`` late (after a long stall) is skipped and logged, because
its claim may have expired and another scheduler may already have enqueued it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from queuecore.client import Client, EnqueueOptions, Task
from queuecore.clock import SYSTEM_CLOCK, Clock
from queuecore.errors import InvalidArgumentError, MalformedDataError, QueueCoreError
from queuecore.messages import GO_ZERO_TIME_SECONDS, SchedulerEnqueueEvent, SchedulerEntry
from queuecore.options import (
    OPTION_NAMES,
    format_duration,
    format_options,
    normalize_options,
    parse_duration_ns,
)
from queuecore.rdb.scheduler import SchedulerStore
from queuecore.rdb.settings import RedisSettings

__all__ = [
    "CronSchedule",
    "EntryState",
    "EverySchedule",
    "Scheduler",
    "SchedulerConfig",
    "SchedulerEntrySpec",
    "SchedulerHeartbeat",
    "StopSignal",
    "TickResult",
    "decode_enqueue_event",
    "decode_entry",
    "encode_enqueue_event",
    "encode_entry",
    "next_run",
    "parse_schedule",
]

logger = logging.getLogger("queuecore.scheduler")

# robfig/cron's descriptors, as five-field expressions.
DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SECOND_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- schedules: pure ------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgumentError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True, kw_only=True)
class CronSchedule:
    """A five-field cron expression evaluated in an IANA time zone."""

    expression: str
    timezone: str = "UTC"

    def next_after(self, after: float) -> float:
        """The first matching minute strictly after ``after`` (Unix seconds), as Unix seconds."""
        start = datetime.fromtimestamp(math.floor(after), _zone(self.timezone))
        following: datetime = croniter(self.expression, start).get_next(datetime)
        return following.timestamp()


@dataclass(frozen=True, kw_only=True)
class EverySchedule:
    """``@every <duration>``: whole seconds (at least 1, as robfig/cron), aligned to the epoch."""

    interval: int

    def next_after(self, after: float) -> float:
        return float((math.floor(after) // self.interval + 1) * self.interval)


Schedule = CronSchedule | EverySchedule


def _split_zone(spec: str) -> tuple[str | None, str]:
    """robfig/cron's ``CRON_TZ=<zone> `` / ``TZ=<zone> `` prefix, split off."""
    if spec.startswith(("CRON_TZ=", "TZ=")):
        head, _, rest = spec.partition(" ")
        return head.partition("=")[2], rest.strip()
    return None, spec


def parse_schedule(spec: str, *, timezone: str = "UTC") -> Schedule:
    """Read a spec; ``timezone`` applies when the spec carries no ``CRON_TZ=`` of its own."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(f"cron spec must be a non-blank string, got {spec!r}")
    own_zone, body = _split_zone(spec.strip())
    zone = own_zone or timezone
    _zone(zone)
    if body.startswith("@every "):
        text = body.removeprefix("@every ").strip()
        ns = parse_duration_ns(text)
        # robfig/cron: under a second counts as one second; otherwise whole seconds.
        return EverySchedule(interval=max(1, ns // _SECOND_NS))
    expression = DESCRIPTORS.get(body, body)
    if expression.startswith("@"):
        raise InvalidArgumentError(f"unrecognized descriptor {body!r} in cron spec {spec!r}")
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise InvalidArgumentError(
            f"invalid cron spec {spec!r}: expected 5 fields (minute hour day month weekday), "
            "a descriptor such as @daily, or @every <duration>"
        )
    return CronSchedule(expression=expression, timezone=zone)


def next_run(spec: str, after: float, *, timezone: str = "UTC") -> float:
    """When ``spec`` next fires strictly after ``after`` (both Unix seconds)."""
    return parse_schedule(spec, timezone=timezone).next_after(after)


# --- entries --------------------------------------------------------------------------------


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
            _zone(self.timezone)
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
        own_zone, body = _split_zone(self.spec)
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


@dataclass(kw_only=True)
class _Entry:
    id: str
    spec: SchedulerEntrySpec
    schedule: Schedule
    identity: str
    options: tuple[str, ...]
    next: float | None = None
    prev: float | None = None

    def state(self) -> EntryState:
        return EntryState(
            id=self.id,
            spec=self.spec.written_spec(),
            task_type=self.spec.task.type,
            payload=self.spec.task.payload,
            options=self.options,
            identity=self.identity,
            next_run=None if self.next is None else datetime.fromtimestamp(self.next, UTC),
            prev_run=None if self.prev is None else datetime.fromtimestamp(self.prev, UTC),
        )


# --- the scheduler --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SchedulerConfig:
    heartbeat_interval: float = 10.0
    """Seconds between entry writes (asynq's 10 s); entries expire after twice this."""
    timezone: str = "UTC"
    """Zone of cron specs that name none (asynq's default Location is UTC)."""
    tick_claim_ttl: float = 600.0
    """Seconds a tick's claim lives. It must exceed the clock skew between schedulers plus the
    longest stall of one; a tick found later than this is skipped rather than risk a repeat."""
    max_sleep: float = 1.0
    """Longest wait of ``run_forever`` between checks (entries registered meanwhile are seen)."""

    def __post_init__(self) -> None:
        if self.heartbeat_interval < 1:
            raise InvalidArgumentError("heartbeat_interval must be at least 1 second")
        if self.tick_claim_ttl < 1:
            raise InvalidArgumentError("tick_claim_ttl must be at least 1 second")
        if self.max_sleep <= 0:
            raise InvalidArgumentError("max_sleep must be positive")
        _zone(self.timezone)


Outcome = Literal["enqueued", "claimed_elsewhere", "late", "failed"]


@dataclass(frozen=True, kw_only=True)
class TickResult:
    """What one due tick of one entry led to."""

    entry_id: str
    tick: datetime
    outcome: Outcome
    task_id: str | None = None
    error: str | None = None


class StopSignal(Protocol):
    """What ``run_forever`` needs of its stop event (a ``threading.Event`` fits)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class Scheduler:
    """Enqueues periodic tasks and publishes its entries the way asynq's Scheduler does.

    ``Scheduler.from_url(url, entries=QUEUECORE["SCHEDULE"]).run_forever(stop_event)`` is the
    whole use; ``register(spec, task, **options)`` adds entries from code. Tests drive
    :meth:`run_once` and ``heartbeat.run_once()`` with a FrozenClock.
    """

    def __init__(
        self,
        client: Client,
        store: SchedulerStore,
        *,
        entries: Iterable[SchedulerEntrySpec | Mapping[str, Any]] = (),
        config: SchedulerConfig | None = None,
        clock: Clock = SYSTEM_CLOCK,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        self.config = config or SchedulerConfig()
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        # asynq's scheduler id: hostname:pid:uuid (spec §2 notes).
        self.id = f"{self.host}:{self.pid}:{uuid.uuid4()}"
        self._client = client
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._started = False
        self.heartbeat = SchedulerHeartbeat(
            store,
            self.id,
            self._started_entries,
            interval=self.config.heartbeat_interval,
            clock=clock,
        )
        for entry in entries:
            self.add(entry)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        entries: Iterable[SchedulerEntrySpec | Mapping[str, Any]] = (),
        config: SchedulerConfig | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Scheduler:
        """A scheduler on the Redis at ``url``; ``entries`` may be settings dicts or specs."""
        settings = RedisSettings.from_url(url)
        return cls(
            Client(settings, clock=clock),
            SchedulerStore(settings.connect()),
            entries=entries,
            config=config,
            clock=clock,
        )

    # registration

    def register(
        self, spec: str, task: Task, *, timezone: str | None = None, **options: Any
    ) -> str:
        """Add a periodic task (asynq's ``Register``); returns the new entry's id."""
        return self.add(
            SchedulerEntrySpec(spec=spec, task=task, options=options, timezone=timezone)
        )

    def add(self, entry: SchedulerEntrySpec | Mapping[str, Any]) -> str:
        """Add an entry given as a spec object or a settings dict; returns its id."""
        spec = (
            entry
            if isinstance(entry, SchedulerEntrySpec)
            else SchedulerEntrySpec.from_setting(entry)
        )
        runtime = _Entry(
            id=str(uuid.uuid4()),
            spec=spec,
            schedule=spec.schedule(self.config.timezone),
            identity=spec.identity(self.config.timezone),
            options=tuple(spec.option_strings()),
        )
        with self._lock:
            if self._started:
                runtime.next = runtime.schedule.next_after(self._clock.now())
            self._entries[runtime.id] = runtime
        return runtime.id

    def unregister(self, entry_id: str) -> None:
        """Remove an entry and its enqueue history; unknown ids are an InvalidArgumentError."""
        with self._lock:
            if self._entries.pop(entry_id, None) is None:
                raise InvalidArgumentError(f"no scheduler entry with id {entry_id!r}")
        self._store.clear_history([entry_id])

    def entries(self) -> list[EntryState]:
        """Every entry, soonest next run first (the order Go's cron lists them)."""
        with self._lock:
            runtime = list(self._entries.values())
        far = math.inf
        runtime.sort(key=lambda e: e.next if e.next is not None else far)
        return [e.state() for e in runtime]

    def _started_entries(self) -> list[EntryState]:
        self.start()
        return self.entries()

    # running

    def start(self) -> None:
        """Compute each entry's first tick from now (Go's cron does this when it starts)."""
        with self._lock:
            if self._started:
                return
            now = self._clock.now()
            for entry in self._entries.values():
                entry.next = entry.schedule.next_after(now)
            self._started = True

    def next_due(self) -> float | None:
        """The earliest next tick of any entry (Unix seconds), or None without entries."""
        with self._lock:
            ticks = [e.next for e in self._entries.values() if e.next is not None]
        return min(ticks, default=None)

    def run_once(self) -> list[TickResult]:
        """Enqueue every entry whose tick is due at the clock's now; one result per due tick.

        As Go's cron, a due entry fires once however many ticks were missed, and its next tick is
        computed from now. Errors are logged and reported, never raised.
        """
        self.start()
        now = self._clock.now()
        due: list[tuple[_Entry, float]] = []
        with self._lock:
            for entry in self._entries.values():
                if entry.next is not None and entry.next <= now:
                    due.append((entry, entry.next))
                    entry.prev = entry.next
                    entry.next = entry.schedule.next_after(now)
        return [self._fire(entry, tick, now) for entry, tick in due]

    def _fire(self, entry: _Entry, tick: float, now: float) -> TickResult:
        tick_at = datetime.fromtimestamp(tick, UTC)
        if now - tick > self.config.tick_claim_ttl:
            logger.warning(
                "scheduler entry %s (%s %s) skipped its tick at %s: %s late",
                entry.id,
                entry.spec.written_spec(),
                entry.spec.task.type,
                tick_at.isoformat(),
                format_duration(now - tick),
            )
            return TickResult(entry_id=entry.id, tick=tick_at, outcome="late")
        try:
            claimed = self._store.claim_tick(
                entry.identity,
                math.floor(tick),
                owner=self.id,
                ttl_seconds=math.ceil(self.config.tick_claim_ttl),
            )
            if not claimed:
                logger.debug("tick %s of entry %s was enqueued elsewhere", tick_at, entry.id)
                return TickResult(entry_id=entry.id, tick=tick_at, outcome="claimed_elsewhere")
            info = self._client.enqueue(entry.spec.task, **entry.spec.options)
        except QueueCoreError as exc:
            logger.error(
                "scheduler could not enqueue %s for entry %s (%s): %s",
                entry.spec.task.type,
                entry.id,
                entry.spec.written_spec(),
                exc,
            )
            return TickResult(entry_id=entry.id, tick=tick_at, outcome="failed", error=str(exc))
        enqueued_at = self._clock.now()
        try:
            self._store.record_enqueue_event(
                entry.id,
                encode_enqueue_event(info.id, enqueued_at),
                enqueued_unix=math.floor(enqueued_at),
            )
        except QueueCoreError as exc:
            logger.error("scheduler could not record the enqueue of %s: %s", info.id, exc)
        logger.info(
            "scheduler enqueued %s (id=%s, queue=%s) for entry %s",
            info.type,
            info.id,
            info.queue,
            entry.id,
        )
        return TickResult(entry_id=entry.id, tick=tick_at, outcome="enqueued", task_id=info.id)

    def run_forever(self, stop_event: StopSignal) -> None:
        """Check for due ticks and write entries every heartbeat until ``stop_event`` is set.

        Then clean up as Go's scheduler does on shutdown (:meth:`shutdown`). As in Go, the first
        entry write comes one heartbeat after the start.
        """
        self.start()
        interval = self.config.heartbeat_interval
        next_beat = self._clock.now() + interval
        logger.info("scheduler %s started with %d entries", self.id, len(self._entries))
        try:
            while not stop_event.is_set():
                try:
                    self.run_once()
                except Exception:
                    logger.exception("scheduler tick check failed")
                now = self._clock.now()
                if now >= next_beat:
                    try:
                        self.heartbeat.run_once()
                    except QueueCoreError as exc:
                        logger.error("scheduler heartbeat failed: %s", exc)
                    while next_beat <= now:
                        next_beat += interval
                due = self.next_due()
                wake = next_beat if due is None else min(due, next_beat)
                stop_event.wait(min(max(0.0, wake - self._clock.now()), self.config.max_sleep))
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Remove this scheduler's entries and their histories from Redis (Go's Shutdown)."""
        with self._lock:
            entry_ids = list(self._entries)
        try:
            self._store.clear_entries(self.id)
            self._store.clear_history(entry_ids)
        except QueueCoreError as exc:
            logger.error("scheduler %s could not clean up on shutdown: %s", self.id, exc)
        logger.info("scheduler %s stopped", self.id)

    def close(self) -> None:
        """Close the Redis connections this scheduler opened."""
        self._client.close()
        self._store.client.close()


class SchedulerHeartbeat:
    """Writes a scheduler's entries to Redis (asynq's beat: registry ZADD, list, TTL 2x beat)."""

    def __init__(
        self,
        store: SchedulerStore,
        scheduler_id: str,
        entries: Callable[[], list[EntryState]],
        *,
        interval: float,
        clock: Clock,
    ) -> None:
        self._store = store
        self._scheduler_id = scheduler_id
        self._entries = entries
        self._interval = interval
        self._clock = clock

    def run_once(self) -> None:
        self._store.write_entries(
            self._scheduler_id,
            [encode_entry(state) for state in self._entries()],
            ttl_seconds=math.ceil(2 * self._interval),
            now_unix=math.floor(self._clock.now()),
        )
