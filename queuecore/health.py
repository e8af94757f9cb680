"""Health findings: what is wrong with the queues right now, said before anyone asks.

:func:`evaluate` is a pure function from a :class:`HealthSnapshot` (data the Inspector already
returns) and :class:`HealthThresholds` to a list of :class:`Finding`; :func:`collect` gathers the
snapshot with bounded reads (the cheap overview, the server and scheduler registries, and the first
page of active tasks of each queue that has any). The dashboard, ``manage.py health`` and anything
else that wants alerts call these two; nothing here loops, sleeps or sends.

Rules (ids are stable; each has its thresholds in :class:`HealthThresholds`):

* ``latency`` - the oldest pending task of a queue has waited too long;
* ``no_consumer`` - a queue has pending tasks and no live, running server lists it;
* ``paused_backlog`` - a paused queue holds pending tasks;
* ``error_rate`` - today's failed/processed of a queue is high (a retry storm);
* ``archive_cap`` - a queue's archive nears asynq's cap, beyond which asynq deletes the oldest;
* ``orphaned_active`` - active tasks whose lease expired (their worker died or hangs);
* ``cron_stalled`` - a scheduler entry's next enqueue time lies several ticks in the past;
* ``mistyped_keys`` - a queue key (``pending``, ``lease``, ...) holds a type asynq never gives
  it: its counts read as 0 and no worker can claim from the queue (README, "Poison data").

One cause, one finding: a paused queue or a queue without consumers is not also reported for its
latency, which grows as a consequence.

What ``cron_stalled`` can and cannot see: asynq lists a scheduler's entries only while its
heartbeat key lives (written every 10 s, expiring after 20 s; the Inspector prunes expired
schedulers on read). A scheduler that *died* therefore disappears with its entries within 20 s,
and nothing left in Redis says it ever existed: no rule over Redis can report it. What the rule
does see is a scheduler that still heartbeats but whose entries stopped advancing (a stuck tick
loop, or a scheduler host whose clock lags), and, for sub-10 s intervals, the last heartbeat of a
scheduler that died moments ago. Entries whose spec cannot be read are skipped.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from queuecore.clock import Clock
from queuecore.errors import InvalidArgumentError, QueueNotFoundError
from queuecore.inspection import QueueInfo, SchedulerEntry, ServerInfo
from queuecore.options import format_duration
from queuecore.scheduler import EverySchedule, parse_schedule
from queuecore.taskinfo import TaskState

if TYPE_CHECKING:
    from queuecore.inspector import Inspector

__all__ = [
    "ASYNQ_ARCHIVE_CAP",
    "RULES",
    "Finding",
    "HealthSnapshot",
    "HealthThresholds",
    "OrphanScan",
    "Severity",
    "collect",
    "evaluate",
    "worst",
]

# asynq's maxArchiveSize: archiving trims each queue's archive to its newest 10 000 tasks.
ASYNQ_ARCHIVE_CAP = 10_000
# Server states that do not take new tasks (SIGTSTP'd, or shutting down).
_NOT_CONSUMING = frozenset({"stopped", "closed"})
# Rule ids in the order findings of equal severity are listed.
RULES = (
    "mistyped_keys",
    "no_consumer",
    "paused_backlog",
    "latency",
    "orphaned_active",
    "error_rate",
    "archive_cap",
    "cron_stalled",
)


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return 2 if self is Severity.CRITICAL else 1


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class HealthThresholds:
    """When each rule reports, and how severely. Percentages are 0-100."""

    # Age in seconds of a queue's oldest pending task that is a warning / critical.
    latency_warning: float = 60.0
    latency_critical: float = 300.0
    # Today's failed/processed in percent that is a warning / critical (a retry storm) ...
    error_rate_warning: float = 10.0
    error_rate_critical: float = 50.0
    # ... once at least this many tasks were processed today (a few failures are not a storm).
    error_rate_min_processed: int = 100
    # asynq's archive cap per queue, and how full of it is a warning / critical (at 100 % asynq
    # is already deleting the oldest archived tasks).
    archive_cap: int = ASYNQ_ARCHIVE_CAP
    archive_warning: float = 80.0
    archive_critical: float = 100.0
    # Active tasks examined per queue for expired leases: the first page, oldest first, which is
    # where a dead worker's tasks sit. Each is decoded, so this bounds the cost of every poll.
    orphan_scan: int = 20
    # A scheduler entry is stalled once this many ticks after its overdue next enqueue time
    # have passed too.
    cron_missed_intervals: int = 2

    def __post_init__(self) -> None:
        for name in (
            "latency_warning",
            "latency_critical",
            "error_rate_warning",
            "error_rate_critical",
            "archive_warning",
            "archive_critical",
        ):
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                raise InvalidArgumentError(f"{name} must be a positive number, got {value!r}")
        for name, minimum in (
            ("error_rate_min_processed", 0),
            ("archive_cap", 1),
            ("orphan_scan", 1),
            ("cron_missed_intervals", 1),
        ):
            value = getattr(self, name)
            if not _is_int(value) or value < minimum:
                raise InvalidArgumentError(f"{name} must be an integer >= {minimum}, got {value!r}")
        for low, high in (
            ("latency_warning", "latency_critical"),
            ("error_rate_warning", "error_rate_critical"),
            ("archive_warning", "archive_critical"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise InvalidArgumentError(f"{low} must not exceed {high}")
        if self.error_rate_critical > 100:
            raise InvalidArgumentError("error_rate_critical must be at most 100 (percent)")
        if self.orphan_scan > 1_000:
            raise InvalidArgumentError("orphan_scan must be at most 1000 (it bounds a read)")

    @classmethod
    def from_mapping(cls, values: object) -> HealthThresholds:
        """Thresholds from a settings mapping of field names (missing fields keep defaults)."""
        if values is None:
            return cls()
        if not isinstance(values, Mapping):
            raise InvalidArgumentError(f"health thresholds must be a mapping, got {values!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in values if k not in known)
        if unknown:
            names, choices = ", ".join(unknown), ", ".join(sorted(known))
            raise InvalidArgumentError(f"unknown health threshold(s): {names} (known: {choices})")
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One thing wrong: which rule, how bad, what it concerns, what to do.

    ``queue`` is set for queue rules, ``entry_id`` (and ``scheduler_id``) for scheduler entries.
    ``message`` is one sentence with the numbers; ``action`` suggests what to do about it.
    """

    rule: str
    severity: Severity
    message: str
    action: str
    queue: str | None = None
    entry_id: str | None = None
    scheduler_id: str | None = None

    @property
    def subject(self) -> str:
        if self.queue is not None:
            return f"queue {self.queue}"
        return f"scheduler entry {self.entry_id}"


@dataclass(frozen=True, kw_only=True)
class OrphanScan:
    """Of the first ``scanned`` active tasks of a queue, ``orphaned`` had an expired lease."""

    queue: str
    scanned: int
    orphaned: int


@dataclass(frozen=True, kw_only=True)
class HealthSnapshot:
    """What :func:`evaluate` judges: queue infos (cheap overview, today's counters included),
    live servers, live scheduler entries and the bounded orphan scans by queue."""

    queues: Sequence[QueueInfo] = ()
    servers: Sequence[ServerInfo] = ()
    entries: Sequence[SchedulerEntry] = ()
    orphans: Mapping[str, OrphanScan] = field(default_factory=dict)


def _seconds(value: float) -> str:
    return format_duration(timedelta(seconds=round(value)))


def _tasks(count: int, state: str) -> str:
    return f"{count} {state} task{'' if count == 1 else 's'}"


def _percent(value: float) -> str:
    return f"{value:.1f} %".replace(".0 %", " %")


def _level(value: float, warning: float, critical: float) -> Severity | None:
    if value >= critical:
        return Severity.CRITICAL
    if value >= warning:
        return Severity.WARNING
    return None


def _consumers(servers: Sequence[ServerInfo]) -> tuple[set[str], set[str]]:
    """Queues some running server consumes, and queues listed only by stopped/closing servers."""
    running: set[str] = set()
    listed: set[str] = set()
    for server in servers:
        target = listed if server.status in _NOT_CONSUMING else running
        target.update(server.queues)
    return running, listed - running


def _queue_findings(
    q: QueueInfo,
    running: set[str],
    idle: set[str],
    orphans: OrphanScan | None,
    t: HealthThresholds,
) -> list[Finding]:
    found: list[Finding] = []
    waited = q.latency.total_seconds()
    blocked = False
    if q.mistyped_keys:
        names = ", ".join(q.mistyped_keys)
        found.append(
            Finding(
                rule="mistyped_keys",
                severity=Severity.CRITICAL,
                queue=q.queue,
                message=(
                    f"Queue {q.queue} has keys of a type asynq never writes ({names}): "
                    "they read as empty and no worker can claim from this queue."
                ),
                action=(
                    "Look at them with redis-cli TYPE and DUMP, then rename or delete them; "
                    "the queue's other tasks are untouched."
                ),
            )
        )
    if q.pending > 0 and q.paused:
        blocked = True
        found.append(
            Finding(
                rule="paused_backlog",
                severity=Severity.WARNING,
                queue=q.queue,
                message=(
                    f"Queue {q.queue} is paused with {_tasks(q.pending, 'pending')}, the oldest "
                    f"waiting {_seconds(waited)}."
                ),
                action="Unpause the queue when it should be processed again.",
            )
        )
    elif q.pending > 0 and q.queue not in running:
        blocked = True
        command = f"manage.py runworker --queues {shlex.quote(q.queue)}"
        why = (
            "every server listing it is stopped or shutting down"
            if q.queue in idle
            else "no live server lists it"
        )
        found.append(
            Finding(
                rule="no_consumer",
                severity=Severity.CRITICAL,
                queue=q.queue,
                message=(
                    f"Queue {q.queue} has {_tasks(q.pending, 'pending')}, the oldest waiting "
                    f"{_seconds(waited)}, and {why}."
                ),
                action=(
                    f"Start a worker that consumes it ({command}) "
                    "or add it to a running worker's queues."
                ),
            )
        )
    level = _level(waited, t.latency_warning, t.latency_critical)
    if level is not None and q.pending > 0 and not blocked:
        limit = t.latency_critical if level is Severity.CRITICAL else t.latency_warning
        found.append(
            Finding(
                rule="latency",
                severity=level,
                queue=q.queue,
                message=(
                    f"Queue {q.queue}: the oldest of {q.pending} pending tasks has waited "
                    f"{_seconds(waited)}, over the {level} threshold of {_seconds(limit)}."
                ),
                action="Add workers or concurrency for this queue, or raise its priority.",
            )
        )
    if orphans is not None and orphans.orphaned > 0:
        found.append(
            Finding(
                rule="orphaned_active",
                severity=Severity.WARNING,
                queue=q.queue,
                message=(
                    f"Queue {q.queue}: {orphans.orphaned} of the first {orphans.scanned} active "
                    "tasks have an expired lease, so their worker died or hangs."
                ),
                action=(
                    "Check the worker servers: a running server's recoverer moves these tasks "
                    "to retry within a minute."
                ),
            )
        )
    if q.processed >= max(1, t.error_rate_min_processed):
        rate = 100.0 * q.failed / q.processed
        level = _level(rate, t.error_rate_warning, t.error_rate_critical)
        if level is not None:
            limit = t.error_rate_critical if level is Severity.CRITICAL else t.error_rate_warning
            found.append(
                Finding(
                    rule="error_rate",
                    severity=level,
                    queue=q.queue,
                    message=(
                        f"Queue {q.queue}: {q.failed} of {q.processed} tasks processed today "
                        f"failed ({_percent(rate)}, over {_percent(limit)})."
                    ),
                    action=(
                        "Look at the errors of its retry and archived tasks (breakdown) and fix "
                        "the failing handler or dependency."
                    ),
                )
            )
    fill = 100.0 * q.archived / t.archive_cap
    level = _level(fill, t.archive_warning, t.archive_critical)
    if level is not None:
        found.append(
            Finding(
                rule="archive_cap",
                severity=level,
                queue=q.queue,
                message=(
                    f"Queue {q.queue} holds {_tasks(q.archived, 'archived')}, {_percent(fill)} of "
                    f"asynq's cap of {t.archive_cap}, beyond which the oldest are deleted."
                ),
                action="Run or delete archived tasks once their cause is fixed.",
            )
        )
    return found


def _stalled_since(entry: SchedulerEntry, missed: int) -> datetime | None:
    """When ``entry`` counts as stalled: ``missed`` ticks after its next enqueue time."""
    if entry.next_enqueue_at is None:
        return None
    try:
        schedule = parse_schedule(entry.spec)
    except InvalidArgumentError:
        return None
    due = entry.next_enqueue_at.timestamp()
    if isinstance(schedule, EverySchedule):
        # Go's @every counts from the scheduler's start, not the epoch: add whole intervals.
        return datetime.fromtimestamp(due + missed * schedule.interval, UTC)
    tick = due
    for _ in range(missed):
        tick = schedule.next_after(tick)
    return datetime.fromtimestamp(tick, UTC)


def _entry_findings(
    entries: Sequence[SchedulerEntry], t: HealthThresholds, now: datetime
) -> list[Finding]:
    found = []
    for entry in entries:
        stalled_at = _stalled_since(entry, t.cron_missed_intervals)
        if stalled_at is None or entry.next_enqueue_at is None or now <= stalled_at:
            continue
        late = (now - entry.next_enqueue_at).total_seconds()
        found.append(
            Finding(
                rule="cron_stalled",
                severity=Severity.CRITICAL,
                entry_id=entry.id,
                scheduler_id=entry.scheduler_id,
                message=(
                    f"Scheduler entry {entry.id} ({entry.spec} {entry.task_type}) was due "
                    f"{_seconds(late)} ago and has missed at least {t.cron_missed_intervals} "
                    "more ticks since."
                ),
                action=(
                    f"Check scheduler {entry.scheduler_id}: restart it (manage.py runscheduler) "
                    "and compare its host clock with this one."
                ),
            )
        )
    return found


def evaluate(
    snapshot: HealthSnapshot, thresholds: HealthThresholds, now: datetime
) -> list[Finding]:
    """Every finding of ``snapshot`` at ``now`` (aware UTC), most severe first, then by rule
    (as :data:`RULES` orders them) and by queue or entry."""
    running, idle = _consumers(snapshot.servers)
    found: list[Finding] = []
    for q in snapshot.queues:
        found.extend(_queue_findings(q, running, idle, snapshot.orphans.get(q.queue), thresholds))
    found.extend(_entry_findings(snapshot.entries, thresholds, now))
    order = {rule: i for i, rule in enumerate(RULES)}
    found.sort(key=lambda f: (-f.severity.rank, order[f.rule], f.queue or "", f.entry_id or ""))
    return found


def worst(findings: Sequence[Finding]) -> Severity | None:
    """The highest severity among ``findings``, None when there are none."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)


def collect(
    inspector: Inspector,
    thresholds: HealthThresholds,
    clock: Clock,
    queues: Sequence[QueueInfo] | None = None,
) -> list[Finding]:
    """Read a snapshot through ``inspector`` and evaluate it at ``clock``'s now.

    ``queues``: the cheap overview when the caller has just read it (the fleet overview), so it
    is not read twice.

    Cost: one round trip for the cheap overview, the server and scheduler registry reads (which
    prune expired records, as asynq's Inspector does), and for each queue with active tasks one
    page of at most ``thresholds.orphan_scan`` of them.
    """
    queues = list(queues) if queues is not None else inspector.overview(cheap=True)
    orphans: dict[str, OrphanScan] = {}
    for q in queues:
        if q.active <= 0:
            continue
        try:
            page = inspector.list_tasks(q.queue, TaskState.ACTIVE, 1, thresholds.orphan_scan)
        except QueueNotFoundError:
            continue  # deleted since the overview was read
        orphans[q.queue] = OrphanScan(
            queue=q.queue,
            scanned=len(page) + page.skipped,
            orphaned=sum(1 for task in page if task.is_orphaned),
        )
    snapshot = HealthSnapshot(
        queues=tuple(queues),
        servers=tuple(inspector.servers()),
        entries=tuple(inspector.scheduler_entries()),
        orphans=orphans,
    )
    return evaluate(snapshot, thresholds, datetime.fromtimestamp(clock.now(), UTC))
