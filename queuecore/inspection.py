"""What the Inspector returns: small frozen dataclasses shaped as asynq's Inspector results.

Times are timezone-aware UTC datetimes (``None`` where asynq stores Go's zero time), durations are
``timedelta`` and byte fields stay ``bytes``. Nothing here talks to Redis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from queuecore.taskinfo import TaskInfo, TaskState

__all__ = [
    "ActionOutcome",
    "BatchResult",
    "Breakdown",
    "DailyStats",
    "ErrorSignature",
    "GroupInfo",
    "LayoutReport",
    "QueueInfo",
    "QueueLocation",
    "RedisInfo",
    "SchedulerEnqueueEvent",
    "SchedulerEntry",
    "SearchResult",
    "ServerInfo",
    "TaskPage",
    "TypeCount",
    "WorkerInfo",
]


@dataclass(frozen=True, kw_only=True)
class QueueInfo:
    """asynq's QueueInfo for one queue at ``timestamp``.

    ``size`` counts every state, completed included (as Go's code does, unlike its doc comment).
    ``memory_usage`` is the sampled estimate in bytes, ``None`` when it was not measured: the cheap
    mode never measures it, and the Go-compatible mode gives ``None`` where the server forbids
    ``MEMORY USAGE``. ``aggregating_exact`` is False when the cheap mode sampled the groups of a
    queue with more groups than its scan bound and extrapolated ``aggregating`` from the sample.
    """

    queue: str
    size: int
    groups: int
    pending: int
    active: int
    scheduled: int
    retry: int
    archived: int
    completed: int
    aggregating: int
    processed: int
    failed: int
    processed_total: int
    failed_total: int
    paused: bool
    latency: timedelta
    memory_usage: int | None
    timestamp: datetime
    aggregating_exact: bool = True
    # Names of this queue's keys ("pending", "lease", ...) that hold a type asynq never gives
    # them; their counts read as 0 and no worker can claim from the queue (README, Poison data).
    mistyped_keys: tuple[str, ...] = ()

    @property
    def error_rate(self) -> float | None:
        """Today's failed/processed, or None before anything was processed (asynq CLI's "N/A")."""
        return self.failed / self.processed if self.processed else None


@dataclass(frozen=True, kw_only=True)
class DailyStats:
    """Processed and failed counts of one UTC day (missing stats keys count as 0)."""

    queue: str
    date: date
    processed: int
    failed: int


@dataclass(frozen=True, kw_only=True)
class GroupInfo:
    group: str
    size: int


@dataclass(frozen=True, kw_only=True)
class WorkerInfo:
    """One in-flight task of a server, from its ``asynq:workers:{sid}`` hash (spec §3.3)."""

    server_id: str
    host: str
    pid: int
    task_id: str
    task_type: str
    task_payload: bytes
    queue: str
    started: datetime | None
    deadline: datetime | None


@dataclass(frozen=True, kw_only=True)
class ServerInfo:
    """A live worker server, from ``asynq:servers:{sid}`` joined with its workers by server id."""

    id: str
    host: str
    pid: int
    concurrency: int
    queues: Mapping[str, int]
    strict_priority: bool
    started: datetime | None
    status: str
    active_workers: tuple[WorkerInfo, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SchedulerEntry:
    """A periodic task registered by a live scheduler.

    ``options`` are the option strings as stored (Go's ``Option.String()`` forms, e.g.
    ``Queue("low")``); ``parsed_options`` holds what ``queuecore.options`` made of them when that
    module is available (options it cannot parse are left out, as Go's Inspector drops them).
    """

    id: str
    scheduler_id: str
    spec: str
    task_type: str
    task_payload: bytes
    options: tuple[str, ...]
    next_enqueue_at: datetime | None
    prev_enqueue_at: datetime | None
    parsed_options: tuple[object, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SchedulerEnqueueEvent:
    task_id: str
    enqueued_at: datetime | None


class ActionOutcome(StrEnum):
    """What a batch action did to one task id."""

    OK = "ok"
    NOT_FOUND = "not_found"
    WRONG_STATE = "wrong_state"


@dataclass(frozen=True, kw_only=True)
class BatchResult:
    """Per-id outcome of ``run_tasks`` / ``archive_tasks`` / ``delete_tasks``.

    ``outcomes`` keeps the order of the ids given; ``errors`` holds the error text (asynq's words)
    of every id that was not acted on.
    """

    outcomes: Mapping[str, ActionOutcome]
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> list[str]:
        return [tid for tid, outcome in self.outcomes.items() if outcome is ActionOutcome.OK]

    @property
    def failed(self) -> list[str]:
        return [tid for tid, outcome in self.outcomes.items() if outcome is not ActionOutcome.OK]


class TaskPage(list[TaskInfo]):
    """One page of tasks: a plain list of TaskInfo that also says what it could not show.

    ``skipped`` counts ids on the page whose record is gone or whose message cannot be decoded
    (data real deployments leave behind); they are left out instead of breaking the page, so a page
    may hold fewer than ``page_size`` tasks. ``total`` is the size of the container the page was
    cut from (list length or zset cardinality), for page navigation. ``skipped_ids`` names the
    skipped ones, for ``Inspector.unreadable_record`` / ``delete_unreadable``.
    """

    def __init__(
        self,
        tasks: Iterable[TaskInfo] = (),
        *,
        skipped: int = 0,
        total: int = 0,
        skipped_ids: Iterable[str] = (),
    ) -> None:
        super().__init__(tasks)
        self.skipped = skipped
        self.total = total
        self.skipped_ids = tuple(skipped_ids)

    def __repr__(self) -> str:
        return f"TaskPage({list.__repr__(self)}, skipped={self.skipped}, total={self.total})"


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    """Matches found by one bounded ``search`` call.

    ``scanned`` tasks were examined (never more than the budget); ``cursor`` continues the search
    where this call stopped and is ``None`` once the end of the state was reached. ``skipped``
    counts ids whose record was gone or undecodable.
    """

    tasks: tuple[TaskInfo, ...]
    cursor: str | None
    scanned: int
    skipped: int = 0

    @property
    def done(self) -> bool:
        return self.cursor is None


@dataclass(frozen=True, kw_only=True)
class TypeCount:
    """How many of the tasks a breakdown scanned have this task type."""

    type: str
    count: int


@dataclass(frozen=True, kw_only=True)
class ErrorSignature:
    """Tasks whose last error normalises to ``signature`` (see ``queuecore.errorsig``).

    ``example`` is one raw message of the group, as stored; ``types`` maps each task type seen
    with this signature to its count.
    """

    signature: str
    count: int
    example: str
    types: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Breakdown:
    """What one bounded ``breakdown`` call counted in a state: tasks by type, and tasks with a
    last error by error signature.

    ``scanned`` ids were examined (never more than the budget), ``skipped`` of them had no
    readable record and are in no count; ``total`` is the size of the state when the last chunk
    was read. ``cursor`` continues where this call stopped, ``None`` once the end was reached.
    ``types`` and ``errors`` are sorted by count, largest first, then by name.
    """

    queue: str
    state: TaskState
    group: str | None = None
    types: tuple[TypeCount, ...] = ()
    errors: tuple[ErrorSignature, ...] = ()
    scanned: int = 0
    skipped: int = 0
    total: int = 0
    cursor: str | None = None

    @property
    def done(self) -> bool:
        return self.cursor is None

    @property
    def counted(self) -> int:
        """Tasks in the counts: scanned minus skipped."""
        return self.scanned - self.skipped

    @property
    def errored(self) -> int:
        """Counted tasks that carry a last error."""
        return sum(e.count for e in self.errors)

    def merged(self, later: Breakdown) -> Breakdown:
        """This breakdown followed by ``later`` (the call made with this one's cursor): counts
        added up, examples kept from the first seen, total and cursor from ``later``."""
        types: dict[str, int] = {t.type: t.count for t in self.types}
        for t in later.types:
            types[t.type] = types.get(t.type, 0) + t.count
        errors: dict[str, ErrorSignature] = {e.signature: e for e in self.errors}
        for e in later.errors:
            known = errors.get(e.signature)
            if known is None:
                errors[e.signature] = e
                continue
            by_type = dict(known.types)
            for name, count in e.types.items():
                by_type[name] = by_type.get(name, 0) + count
            errors[e.signature] = ErrorSignature(
                signature=e.signature,
                count=known.count + e.count,
                example=known.example,
                types=_by_count(by_type),
            )
        return Breakdown(
            queue=self.queue,
            state=self.state,
            group=self.group,
            types=tuple(TypeCount(type=k, count=v) for k, v in _by_count(types).items()),
            errors=tuple(sorted(errors.values(), key=lambda e: (-e.count, e.signature))),
            scanned=self.scanned + later.scanned,
            skipped=self.skipped + later.skipped,
            total=later.total,
            cursor=later.cursor,
        )


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` ordered largest first, then by name."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True, kw_only=True)
class QueueLocation:
    """Where a queue lives on a Redis Cluster: its hash slot and the nodes serving it."""

    queue: str
    slot: int
    nodes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ClusterNodeInfo:
    """One Redis Cluster node as CLUSTER NODES reports it."""

    node_id: str
    address: str
    role: str  # "master" or "replica"
    primary_id: str  # a replica's primary; "" for a primary
    connected: bool  # the cluster bus link to it is up
    failing: bool  # flagged fail or pfail
    flags: tuple[str, ...]
    slots: tuple[tuple[int, int], ...]  # served slot ranges, inclusive

    @property
    def slot_count(self) -> int:
        return sum(last - first + 1 for first, last in self.slots)


@dataclass(frozen=True, kw_only=True)
class RedisInfo:
    """``INFO`` parsed into a flat mapping (values as Redis printed them), plus the raw text.

    On a cluster ``info`` is the node answering, ``queue_locations`` maps each queue to its
    slot and nodes (asynq's ClusterKeySlot/ClusterNodes), and ``cluster_nodes`` lists every node
    with its role, link and failure state and slots (empty if no node answered CLUSTER NODES).
    """

    info: Mapping[str, str]
    raw: str
    is_cluster: bool = False
    queue_locations: tuple[QueueLocation, ...] = ()
    cluster_nodes: tuple[ClusterNodeInfo, ...] = ()

    @property
    def version(self) -> str:
        return self.info.get("redis_version", "")


@dataclass(frozen=True, kw_only=True)
class LayoutReport:
    """Which asynq data layout this Redis holds, as far as a bounded look can tell.

    ``layout`` is one of the ``LAYOUT_*`` texts of ``queuecore.inspector``; ``findings`` says, in
    words, each thing that does not fit asynq v0.22+'s layout (which v0.26 still uses) and
    ``advice`` what to do about it. ``queues_checked`` of ``queues_total`` registered queues
    were looked at.
    """

    layout: str
    compatible: bool
    findings: tuple[str, ...] = ()
    advice: str = ""
    queues_checked: int = 0
    queues_total: int = 0
