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

import logging
import math
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from queuecore.client import Client, Task
from queuecore.clock import SYSTEM_CLOCK, Clock
from queuecore.errors import InvalidArgumentError, QueueCoreError
from queuecore.options import (
    format_duration,
)
from queuecore.rdb.scheduler import SchedulerStore
from queuecore.rdb.settings import RedisSettings
from queuecore.schedule_entries import (
    EntryState,
    SchedulerEntrySpec,
    decode_enqueue_event,
    decode_entry,
    encode_enqueue_event,
    encode_entry,
)
from queuecore.schedules import (
    CronSchedule,
    EverySchedule,
    Schedule,
    next_run,
    parse_schedule,
    time_zone,
)

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
        time_zone(self.timezone)


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
