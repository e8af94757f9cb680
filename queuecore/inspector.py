"""The Inspector: every read and action of asynq's Inspector over the same Redis data.

Names are asynq's in snake_case and the semantics follow spec §4.4 and §6, so a queue looks the same
here as in Go's Inspector, the asynq CLI and Asynqmon. Deliberate differences, each also stated on
the method concerned:

* archive actions delete the task records their trim drops (asynq leaks them, issue #730/#847);
* "all" actions (``run_all``, ``archive_all``, ``delete_all``, ``delete_queue(force=True)``) work in
  chunks of at most ``chunk_size`` ids per script call, so no single Redis call blocks for long on
  a million tasks, and report progress through a callback;
* ``get_queue_info(cheap=True)`` skips ``MEMORY USAGE`` and bounds the group scan, for polling;
  the default mode is asynq's (sampled memory usage, nil-guarded, ``None`` where forbidden);
* ``search`` scans at most ``budget`` tasks per call and returns a cursor to continue;
* ``breakdown`` (not in asynq: tasks of a state by type and by error signature) is bounded the
  same way, and only each message's type and last error leave Redis;
* ids whose record is gone, undecodable messages and foreign key types are skipped and counted
  (``TaskPage.skipped``, ``SearchResult.skipped``), never an exception that breaks a page.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import DecodeError, Message

from queuecore import keys
from queuecore.clock import SYSTEM_CLOCK, Clock, unix_seconds, utc_date
from queuecore.errors import (
    InvalidArgumentError,
    MalformedDataError,
    QueueHasActiveTasksError,
    QueueNotEmptyError,
    QueueNotFoundError,
    QueuePausedStateError,
    TaskAlreadyArchivedError,
    TaskNotFoundError,
    WrongStateError,
)
from queuecore.errorsig import error_signature
from queuecore.inspection import (
    ActionOutcome,
    BatchResult,
    Breakdown,
    DailyStats,
    ErrorSignature,
    GroupInfo,
    LayoutReport,
    QueueInfo,
    QueueLocation,
    RedisInfo,
    SchedulerEnqueueEvent,
    SchedulerEntry,
    SearchResult,
    ServerInfo,
    TaskPage,
    TypeCount,
    WorkerInfo,
)
from queuecore.messages import (
    SchedulerEnqueueEvent as SchedulerEnqueueEventMessage,
)
from queuecore.messages import (
    SchedulerEntry as SchedulerEntryMessage,
)
from queuecore.messages import (
    ServerInfo as ServerInfoMessage,
)
from queuecore.messages import (
    TaskMessage,
    decode_task_message,
    encode_task_message,
    timestamp_to_datetime,
)
from queuecore.messages import (
    WorkerInfo as WorkerInfoMessage,
)
from queuecore.rdb.inspect import (
    InspectStore,
    LayoutProbe,
    QueueProbe,
    TaskRow,
    mistyped_key_names,
)
from queuecore.taskinfo import TaskInfo, TaskState
from queuecore.unreadable import UnreadableRecords

__all__ = [
    "DEFAULT_BREAKDOWN_BUDGET",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_GROUP_SCAN_BOUND",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_SEARCH_BUDGET",
    "LAYOUT_COMPATIBLE",
    "LAYOUT_DEADLINES",
    "LAYOUT_EMPTY",
    "LAYOUT_LIST_MESSAGES",
    "LAYOUT_UNKNOWN",
    "Inspector",
    "Progress",
    "judge_layout",
]

DEFAULT_PAGE_SIZE = 30
# Ids handled per script call by "all" actions: ~1 000 ids keeps each call to a few milliseconds.
DEFAULT_CHUNK_SIZE = 1_000
# Groups whose sizes the cheap queue info adds up before it samples and extrapolates instead.
DEFAULT_GROUP_SCAN_BOUND = 1_000
# Tasks one search call examines unless told otherwise.
DEFAULT_SEARCH_BUDGET = 10_000
# Records decoded per Redis call while searching.
SEARCH_READ_SIZE = 500
# Tasks one breakdown call counts unless told otherwise.
DEFAULT_BREAKDOWN_BUDGET = 10_000
# Tasks counted per script call of a breakdown: ~1 000 keeps each call to a few milliseconds.
BREAKDOWN_READ_SIZE = 1_000

# What layout_check() can report. asynq's key names, types and hash fields have not changed since
# v0.22 (leases; v0.23 added groups), so data from any v0.22+ process reads as v0.26's (spec §0).
LAYOUT_COMPATIBLE = "asynq>=0.22 (v0.26 compatible)"
LAYOUT_LIST_MESSAGES = "older asynq (<0.18-style list messages)"
LAYOUT_DEADLINES = "older asynq (v0.18-v0.21, deadlines instead of leases)"
LAYOUT_EMPTY = "empty"
LAYOUT_UNKNOWN = "unknown"
# The layout check's bounds: queues looked at, members sampled per container, SCAN calls and size.
LAYOUT_MAX_QUEUES = 20
LAYOUT_SAMPLE = 2
LAYOUT_SCAN_CALLS = 3
LAYOUT_SCAN_COUNT = 100

_LAYOUT_ADVICE = {
    LAYOUT_LIST_MESSAGES: (
        "This Redis holds tasks written by asynq older than v0.18, which stored whole messages in "
        "its lists. Upgrade every asynq client and server to v0.22 or later (v0.26 recommended) "
        "and drain or migrate the old tasks (asynq v0.18's CLI had `asynq migrate`), or point "
        "QUEUECORE['REDIS_URL'] at the database your current asynq uses."
    ),
    LAYOUT_DEADLINES: (
        "Some asynq servers are older than v0.22: they track running tasks in a deadlines zset "
        "that this version neither reads nor recovers. Upgrade every asynq server to v0.22 or "
        "later (v0.26 recommended)."
    ),
    LAYOUT_UNKNOWN: (
        "Some asynq keys are not in the shape asynq v0.22+ writes. Check that "
        "QUEUECORE['REDIS_URL'] points at asynq's own database (not one shared with another "
        "application) and that every asynq process runs v0.22 or later; pages that read the "
        "odd keys may show them as empty or skip their tasks."
    ),
}

# Called after every chunk of an "all" action with (tasks done so far, tasks there at the start).
Progress = Callable[[int, int], None]

_LIST_STATES = (TaskState.PENDING, TaskState.ACTIVE)
_RUN_ALL_STATES = (
    TaskState.SCHEDULED,
    TaskState.RETRY,
    TaskState.ARCHIVED,
    TaskState.COMPLETED,
    TaskState.AGGREGATING,
)
_ARCHIVE_ALL_STATES = (
    TaskState.PENDING,
    TaskState.SCHEDULED,
    TaskState.RETRY,
    TaskState.AGGREGATING,
)
_DELETE_ALL_STATES = (
    TaskState.PENDING,
    TaskState.SCHEDULED,
    TaskState.RETRY,
    TaskState.ARCHIVED,
    TaskState.COMPLETED,
    TaskState.AGGREGATING,
)

_ALREADY_PENDING = "task is already in pending state"
_ALREADY_RUNNING = "task is already running"
_ARCHIVE_ACTIVE = "cannot archive task in active state. use CancelProcessing instead."
_DELETE_ACTIVE = "cannot delete task in active state. use CancelProcessing instead."
_UPDATE_NOT_SCHEDULED = "cannot update task that is not in scheduled state."


class Inspector(UnreadableRecords):
    """Reads and manages queues, tasks, servers and scheduler entries on one Redis.

    ``clock`` gives "now" (today's stats date, latency, next_process_at, orphaned leases, archive
    scores); tests replay fixtures with a FrozenClock.
    """

    def __init__(
        self,
        store: InspectStore,
        *,
        clock: Clock = SYSTEM_CLOCK,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        group_scan_bound: int = DEFAULT_GROUP_SCAN_BOUND,
    ) -> None:
        if chunk_size < 1:
            raise InvalidArgumentError("chunk_size must be at least 1")
        self.store = store
        self.clock = clock
        self.chunk_size = chunk_size
        self.group_scan_bound = group_scan_bound

    @classmethod
    def from_url(cls, url: str, *, clock: Clock = SYSTEM_CLOCK, **options: Any) -> Inspector:
        return cls(InspectStore.from_url(url), clock=clock, **options)

    def close(self) -> None:
        self.store.client.close()

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The injected clock's current time, as a UTC datetime."""
        return datetime.fromtimestamp(self.clock.now(), UTC)

    # -- queues ---------------------------------------------------------------------------------

    def queues(self) -> list[str]:
        """Every registered queue name (``asynq:queues``), sorted."""
        return self.store.queue_names()

    def _require_queue(self, qname: str) -> None:
        if not qname or not qname.strip():
            raise InvalidArgumentError("queue name must not be blank")
        if not self.store.queue_exists(qname):
            raise QueueNotFoundError(qname)

    def get_queue_info(self, qname: str, *, cheap: bool = False) -> QueueInfo:
        """asynq's GetQueueInfo.

        Default (Go-compatible) mode: every group is counted and memory usage is sampled as asynq
        does (20 tasks per state, 5 groups), skipping records that vanished (asynq HEAD's nil
        guard); ``memory_usage`` is None where the server forbids ``MEMORY USAGE`` in scripts,
        instead of the whole call failing.

        ``cheap=True`` (what dashboards poll): no ``MEMORY USAGE`` at all (``memory_usage`` None)
        and at most ``group_scan_bound`` groups are summed; beyond that the aggregating count is
        extrapolated from a random sample and ``aggregating_exact`` is False. Its cost does not
        grow with the number of tasks.
        """
        self._require_queue(qname)
        now = self.clock.now()
        stats = self.store.current_stats(
            qname, utc_date(now), self.group_scan_bound if cheap else 0
        )
        memory = None if cheap else self.store.memory_usage(qname)
        return self._queue_info(qname, stats, memory, now)

    def overview(self, *, cheap: bool = True) -> list[QueueInfo]:
        """QueueInfo of every queue, sorted by name; cheap mode costs one round trip in all."""
        names = self.queues()
        now = self.clock.now()
        bound = self.group_scan_bound if cheap else 0
        rows = self.store.current_stats_many(names, utc_date(now), bound)
        return [
            self._queue_info(name, stats, None if cheap else self.store.memory_usage(name), now)
            for name, stats in zip(names, rows, strict=True)
        ]

    def _queue_info(
        self, qname: str, stats: Sequence[int], memory: int | None, now: float
    ) -> QueueInfo:
        (
            pending,
            active,
            scheduled,
            retry,
            archived,
            completed,
            processed,
            failed,
            processed_total,
            failed_total,
            paused,
            oldest_ns,
            group_count,
            aggregating,
            exact,
            mistyped,
        ) = stats
        latency = timedelta(0)
        if oldest_ns > 0:
            latency = max(timedelta(0), timedelta(microseconds=(now * 1e9 - oldest_ns) / 1000))
        return QueueInfo(
            queue=qname,
            size=pending + active + scheduled + retry + archived + completed + aggregating,
            groups=group_count,
            pending=pending,
            active=active,
            scheduled=scheduled,
            retry=retry,
            archived=archived,
            completed=completed,
            aggregating=aggregating,
            processed=processed,
            failed=failed,
            processed_total=processed_total,
            failed_total=failed_total,
            paused=bool(paused),
            latency=latency,
            memory_usage=memory,
            timestamp=datetime.fromtimestamp(now, UTC),
            aggregating_exact=bool(exact),
            mistyped_keys=mistyped_key_names(mistyped),
        )

    def history(self, qname: str, days: int = 7) -> list[DailyStats]:
        """Processed/failed per UTC day for the last ``days`` days, newest first (missing = 0)."""
        if days < 1:
            raise InvalidArgumentError("the number of days must be positive")
        self._require_queue(qname)
        now = self.clock.now()
        dates = [datetime.fromtimestamp(now - i * 86_400, UTC).date() for i in range(days)]
        counts = self.store.daily_stats(qname, [d.isoformat() for d in dates])
        return [
            DailyStats(queue=qname, date=day, processed=processed, failed=failed)
            for day, (processed, failed) in zip(dates, counts, strict=True)
        ]

    def groups(self, qname: str) -> list[GroupInfo]:
        """The queue's groups with their sizes, sorted by name (asynq does not check the queue)."""
        return [GroupInfo(group=g, size=n) for g, n in sorted(self.store.groups(qname))]

    def pause_queue(self, qname: str) -> None:
        """Stop dequeuing from ``qname`` (works on unregistered names, as asynq)."""
        if not self.store.pause(qname, unix_seconds(self.clock)):
            raise QueuePausedStateError(qname, paused=True)

    def unpause_queue(self, qname: str) -> None:
        if not self.store.unpause(qname):
            raise QueuePausedStateError(qname, paused=False)

    def delete_queue(
        self, qname: str, force: bool = False, *, progress: Progress | None = None
    ) -> None:
        """asynq's DeleteQueue: refuse a non-empty queue unless ``force``; refuse active tasks.

        Leaves what asynq leaves (completed tasks, groups, paused flag, unique locks, stats keys).
        Differences: the emptiness check counts instead of collecting every id, and ``force``
        deletes records in chunks of ``chunk_size`` (one script call each) instead of one call
        over the whole queue; if a task turns active in between, it stops with
        QueueHasActiveTasksError after deleting some records.
        """
        if not qname or not qname.strip():
            raise InvalidArgumentError("queue name must not be blank")
        if not self.store.queue_exists(qname):
            raise QueueNotFoundError(qname)
        done = 0
        while True:
            code = self.store.delete_queue_step(qname, force=force, chunk=self.chunk_size)
            if code == -1:
                raise QueueNotEmptyError(qname)
            if code == -2:
                raise QueueHasActiveTasksError(qname)
            if code == 1:
                break
            done += self.chunk_size
            if progress is not None:
                progress(done, 0)
        self.store.unregister_queue(qname)

    # -- listing --------------------------------------------------------------------------------

    def _container(self, qname: str, state: TaskState, group: str | None) -> tuple[str, str]:
        if state is TaskState.AGGREGATING:
            if not group:
                raise InvalidArgumentError("listing aggregating tasks needs a group")
            return keys.group_key(qname, group), "zset"
        return keys.state_key(qname, state.value), "list" if state in _LIST_STATES else "zset"

    def list_tasks(
        self,
        qname: str,
        state: TaskState | str,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        group: str | None = None,
    ) -> TaskPage:
        """One page of the tasks in ``state``, in asynq's order (spec §6).

        pending/active: oldest first (the list's right end); zset states: ascending score
        (completed: expiry; aggregating: time added to ``group``, which is required).
        ``page`` is 1-based; ``page_size=0`` returns everything. Active tasks whose lease has
        expired are ``is_orphaned`` (checked per task on the page, not over every lease as asynq).
        Ids whose record is gone or undecodable are left out and counted in ``skipped``.
        """
        state = TaskState(state)
        if page < 1:
            raise InvalidArgumentError("page must be 1 or more")
        if page_size < 0:
            raise InvalidArgumentError("page_size must not be negative")
        self._require_queue(qname)
        container, kind = self._container(qname, state, group)
        start = page_size * (page - 1)
        stop = start + page_size - 1
        total, rows = self.store.page(
            qname, container, kind, start, stop, with_lease=state is TaskState.ACTIVE
        )
        tasks, skipped = self._decode_rows(qname, state, rows)
        return TaskPage(tasks, skipped=len(skipped), total=max(total, 0), skipped_ids=skipped)

    def _decode_rows(
        self, qname: str, state: TaskState, rows: Sequence[TaskRow]
    ) -> tuple[list[TaskInfo], list[str]]:
        now = self.clock.now()
        tasks: list[TaskInfo] = []
        skipped: list[str] = []
        for row in rows:
            try:
                msg = decode_task_message(row.msg, key=keys.task_key(qname, row.task_id))
            except MalformedDataError:
                skipped.append(row.task_id)
                continue
            next_at: datetime | None = None
            orphaned = False
            if state is TaskState.PENDING:
                next_at = datetime.fromtimestamp(now, UTC)
            elif state in (TaskState.SCHEDULED, TaskState.RETRY) and row.score is not None:
                next_at = datetime.fromtimestamp(row.score, UTC)
            elif state is TaskState.ACTIVE:
                orphaned = row.score is not None and row.score <= now
            tasks.append(
                TaskInfo.from_message(
                    msg,
                    state,
                    next_process_at=next_at,
                    result=row.result,
                    is_orphaned=orphaned,
                    queue=qname,
                )
            )
        return tasks, skipped

    def get_task_info(self, qname: str, task_id: str) -> TaskInfo:
        """One task by id. NextProcessAt: scheduled/retry the zset score, pending now, else None."""
        self._require_queue(qname)
        record = self.store.task_record(qname, task_id)
        if record is None or record.msg is None:
            raise TaskNotFoundError(qname, task_id)
        msg = decode_task_message(record.msg, key=keys.task_key(qname, task_id))
        try:
            state = TaskState(record.state)
        except ValueError:
            raise MalformedDataError(
                keys.task_key(qname, task_id), f"unknown state {record.state!r}"
            ) from None
        next_at: datetime | None = None
        if state is TaskState.PENDING:
            next_at = self.now()
        elif state in (TaskState.SCHEDULED, TaskState.RETRY) and record.score is not None:
            next_at = datetime.fromtimestamp(record.score, UTC)
        orphaned = (
            state is TaskState.ACTIVE
            and record.score is not None
            and record.score <= self.clock.now()
        )
        return TaskInfo.from_message(
            msg, state, next_process_at=next_at, result=record.result, is_orphaned=orphaned,
            queue=qname,
        )  # fmt: skip

    # -- single-task actions --------------------------------------------------------------------

    def run_task(self, qname: str, task_id: str) -> None:
        """Move a scheduled, retry, archived, completed or aggregating task to pending."""
        self._require_queue(qname)
        self._raise_for("run", qname, task_id, self.store.run_task(qname, task_id))

    def archive_task(self, qname: str, task_id: str) -> None:
        """Archive a pending, scheduled, retry, completed or aggregating task.

        Like asynq, the message is not rewritten and the archive is trimmed to 9 999 tasks and
        90 days; unlike asynq, the records of the trimmed tasks are deleted, not leaked.
        """
        self._require_queue(qname)
        code = self.store.archive_task(qname, task_id, unix_seconds(self.clock))
        self._raise_for("archive", qname, task_id, code)

    def delete_task(self, qname: str, task_id: str) -> None:
        """Delete a task that is not active, freeing its unique lock if it still holds it.

        Unlike asynq, a record whose id is missing from its state's container (left behind by
        asynq's archive trim) is deleted instead of failing with "task is not found in zset".
        """
        self._require_queue(qname)
        code = self._unreadable_deleted(qname, task_id, self.store.delete_task(qname, task_id))
        self._raise_for("delete", qname, task_id, code)

    def _unreadable_deleted(self, qname: str, task_id: str, code: int) -> int:
        """A delete that met a key of another type (-4) deletes it everywhere (Poison data)."""
        if code != -4:
            return code
        return 1 if self.store.delete_unreadable(qname, task_id) else 0

    def _error_for(self, action: str, qname: str, task_id: str, code: int) -> Exception | None:
        if code == 1:
            return None
        if code == 0 or code == -3:
            return TaskNotFoundError(qname, task_id)
        if code == -4:  # a key of another type: only deleting it by id helps (Poison data)
            return MalformedDataError(
                keys.task_key(qname, task_id), "not a task hash; it can only be deleted"
            )
        if action == "run":
            if code == -1:
                return WrongStateError(qname, task_id, "active", _ALREADY_RUNNING)
            return WrongStateError(qname, task_id, "pending", _ALREADY_PENDING)
        if action == "archive":
            if code == -1:
                return TaskAlreadyArchivedError(qname, task_id)
            return WrongStateError(qname, task_id, "active", _ARCHIVE_ACTIVE)
        return WrongStateError(qname, task_id, "active", _DELETE_ACTIVE)

    def _raise_for(self, action: str, qname: str, task_id: str, code: int) -> None:
        error = self._error_for(action, qname, task_id, code)
        if error is not None:
            raise error

    # -- batch actions --------------------------------------------------------------------------

    def _batch(self, action: str, qname: str, task_ids: Sequence[str]) -> BatchResult:
        self._require_queue(qname)
        unique_ids = list(dict.fromkeys(task_ids))
        codes = self.store.batch(action, qname, unique_ids, unix_seconds(self.clock))
        if action == "delete":
            pairs = zip(unique_ids, codes, strict=True)
            codes = [self._unreadable_deleted(qname, t, c) for t, c in pairs]
        outcomes: dict[str, ActionOutcome] = {}
        errors: dict[str, str] = {}
        for task_id, code in zip(unique_ids, codes, strict=True):
            error = self._error_for(action, qname, task_id, code)
            if error is None:
                outcomes[task_id] = ActionOutcome.OK
            else:
                outcomes[task_id] = (
                    ActionOutcome.NOT_FOUND
                    if isinstance(error, TaskNotFoundError)
                    else ActionOutcome.WRONG_STATE
                )
                errors[task_id] = str(error)
        return BatchResult(outcomes=outcomes, errors=errors)

    def run_tasks(self, qname: str, task_ids: Sequence[str]) -> BatchResult:
        """``run_task`` for each id in one round trip; per-id outcome instead of an exception."""
        return self._batch("run", qname, task_ids)

    def archive_tasks(self, qname: str, task_ids: Sequence[str]) -> BatchResult:
        return self._batch("archive", qname, task_ids)

    def delete_tasks(self, qname: str, task_ids: Sequence[str]) -> BatchResult:
        return self._batch("delete", qname, task_ids)

    # -- "all" actions --------------------------------------------------------------------------

    def _check_all(
        self,
        qname: str,
        state: TaskState | str,
        group: str | None,
        allowed: tuple[TaskState, ...],
        verb: str,
    ) -> tuple[TaskState, str, str, str]:
        state = TaskState(state)
        if state not in allowed:
            names = ", ".join(s.value for s in allowed)
            raise InvalidArgumentError(f"cannot {verb} all {state.value} tasks; states: {names}")
        self._require_queue(qname)
        source, kind = self._container(qname, state, group)
        return state, source, kind, group or ""

    def _chunked(
        self,
        source: str,
        kind: str,
        step: Callable[[], tuple[int, int]],
        progress: Progress | None,
    ) -> int:
        # Bounded by the size at start, so producers adding tasks meanwhile cannot keep it going.
        total = self.store.container_size(source, kind)
        done = seen = 0
        while seen < total:
            moved, skipped = step()
            if moved + skipped == 0:
                break
            done += moved
            seen += moved + skipped
            if progress is not None:
                progress(done, total)
        return done

    def run_all(
        self,
        qname: str,
        state: TaskState | str,
        group: str | None = None,
        *,
        progress: Progress | None = None,
    ) -> int:
        """Move every task in ``state`` (scheduled, retry, archived, completed, or aggregating in
        ``group``) to pending; returns how many moved.

        Works in chunks of ``chunk_size`` ids per script call (asynq does one call over the
        whole zset) and calls ``progress(done, total)`` after each. Ids without a record are
        dropped from the zset instead of being pushed to pending as empty stubs. Tasks added
        while it runs may or may not be included.
        """
        _, source, kind, gname = self._check_all(qname, state, group, _RUN_ALL_STATES, "run")
        return self._chunked(
            source,
            kind,
            lambda: self.store.run_all_chunk(qname, source, self.chunk_size, gname),
            progress,
        )

    def archive_all(
        self,
        qname: str,
        state: TaskState | str,
        group: str | None = None,
        *,
        progress: Progress | None = None,
    ) -> int:
        """Archive every task in ``state`` (pending oldest first, scheduled, retry, or aggregating
        in ``group``); returns how many were archived.

        The archive keeps asynq's limits (9 999 tasks, 90 days), so archiving more than that
        trims the oldest; unlike asynq, the trimmed records are deleted rather than leaked.
        Chunked like ``run_all``.
        """
        _, source, kind, gname = self._check_all(
            qname, state, group, _ARCHIVE_ALL_STATES, "archive"
        )
        return self._chunked(
            source,
            kind,
            lambda: self.store.archive_all_chunk(
                qname, source, kind, self.chunk_size, unix_seconds(self.clock), gname
            ),
            progress,
        )

    def delete_all(
        self,
        qname: str,
        state: TaskState | str,
        group: str | None = None,
        *,
        progress: Progress | None = None,
    ) -> int:
        """Delete every task in ``state`` (active ones: ``cancel_all_active``); returns the count.

        Unique locks still held by the deleted tasks are freed for every state (asynq skips this
        for pending and aggregating). Chunked like ``run_all``.
        """
        _, source, kind, gname = self._check_all(qname, state, group, _DELETE_ALL_STATES, "delete")
        return self._chunked(
            source,
            kind,
            lambda: self.store.delete_all_chunk(qname, source, kind, self.chunk_size, gname),
            progress,
        )

    # -- active tasks ---------------------------------------------------------------------------

    def cancel_processing(self, task_id: str) -> None:
        """Ask every server to cancel ``task_id`` (PUBLISH asynq:cancel); unconfirmed, as asynq.

        The worker treats the cancellation as a failure, so the task normally goes to retry.
        """
        self.store.publish_cancel(task_id)

    def cancel_all_active(self, qname: str) -> int:
        """``cancel_processing`` for every active task of ``qname``; returns how many were asked."""
        self._require_queue(qname)
        ids = self.store.active_ids(qname)
        for task_id in ids:
            self.store.publish_cancel(task_id)
        return len(ids)

    # -- payload --------------------------------------------------------------------------------

    def update_task_payload(self, qname: str, task_id: str, payload: bytes) -> TaskInfo:
        """Replace a scheduled task's payload (asynq 0.26), keeping every other field.

        Unlike asynq's read-modify-write, the write only happens if the message is still the one
        read (retried a few times if a concurrent writer got in between).
        """
        self._require_queue(qname)
        for _ in range(5):
            record = self.store.task_record(qname, task_id)
            if record is None or record.msg is None:
                raise TaskNotFoundError(qname, task_id)
            if record.state != TaskState.SCHEDULED.value:
                raise WrongStateError(qname, task_id, record.state, _UPDATE_NOT_SCHEDULED)
            msg = decode_task_message(record.msg, key=keys.task_key(qname, task_id))
            msg.payload = payload
            code = self.store.update_payload(qname, task_id, record.msg, encode_task_message(msg))
            if code == 0:
                raise TaskNotFoundError(qname, task_id)
            if code == -1:
                raise WrongStateError(qname, task_id, "", _UPDATE_NOT_SCHEDULED)
            if code == 1:
                return self.get_task_info(qname, task_id)
        raise WrongStateError(qname, task_id, "scheduled", "task changed while being updated")

    # -- search ---------------------------------------------------------------------------------

    def search(
        self,
        qname: str,
        state: TaskState | str,
        *,
        text: str | None = None,
        type: str | None = None,
        error: str | None = None,
        json_fields: Mapping[str, object] | None = None,
        group: str | None = None,
        cursor: str | None = None,
        budget: int = DEFAULT_SEARCH_BUDGET,
    ) -> SearchResult:
        """Tasks in ``state`` matching every filter given, scanning at most ``budget`` tasks.

        Filters: ``text`` is a case-insensitive substring of the payload (as UTF-8) or the id;
        ``type`` is the exact task type, or a prefix when it ends with ``*``; ``error`` a
        case-insensitive substring of the last error; ``json_fields`` maps dotted paths of a
        JSON payload to required values. Tasks are scanned in ``list_tasks`` order from
        ``cursor`` (None = the start); pass the returned cursor to continue. The cost of one call
        is bounded by ``budget``, never a full scan behind the caller's back. Positions shift if
        tasks leave the state between calls, so a continued search may miss or repeat a few.
        """
        state = TaskState(state)
        if budget < 1:
            raise InvalidArgumentError("budget must be at least 1")
        offset = _parse_cursor(cursor)
        self._require_queue(qname)
        container, kind = self._container(qname, state, group)
        match = _matcher(text=text, type_=type, error=error, json_fields=json_fields)
        prefilter = _raw_prefilter(text=text, type_=type, error=error)
        found: list[TaskInfo] = []
        scanned = skipped = 0
        position = offset
        at_end = False
        while scanned < budget:
            want = min(SEARCH_READ_SIZE, budget - scanned)
            total, rows = self.store.page(
                qname,
                container,
                kind,
                position,
                position + want - 1,
                with_lease=state is TaskState.ACTIVE,
            )
            # Decoding is the cost of a search: only rows whose raw bytes could match are decoded.
            candidates = [r for r in rows if r.msg is None or prefilter(r.msg)]
            tasks, bad = self._decode_rows(qname, state, candidates)
            found.extend(t for t in tasks if match(t))
            scanned += len(rows)
            skipped += len(bad)
            position += len(rows)
            if len(rows) < want or position >= total:
                at_end = True
                break
        return SearchResult(
            tasks=tuple(found),
            cursor=None if at_end else str(position),
            scanned=scanned,
            skipped=skipped,
        )

    # -- breakdown ------------------------------------------------------------------------------

    def breakdown(
        self,
        qname: str,
        state: TaskState | str,
        *,
        group: str | None = None,
        budget: int = DEFAULT_BREAKDOWN_BUDGET,
        cursor: str | None = None,
    ) -> Breakdown:
        """What is in ``state``: tasks counted by type, and tasks with a last error counted by
        error signature (``queuecore.errorsig``) with one raw example each.

        Scans at most ``budget`` tasks in ``list_tasks`` order from ``cursor`` (None = the
        start), ``BREAKDOWN_READ_SIZE`` per script call; only each message's type and last error
        leave Redis. Pass the returned cursor to continue and ``Breakdown.merged`` to add the
        parts up. Records that are gone or undecodable are counted in ``skipped``, never raised
        (only the type and last error are checked for valid UTF-8: a message whose other string
        fields or headers are corrupt is counted here though ``list_tasks`` skips it).
        Positions shift if tasks leave the state between calls, as with ``search``.
        """
        state = TaskState(state)
        if budget < 1:
            raise InvalidArgumentError("budget must be at least 1")
        offset = _parse_cursor(cursor)
        self._require_queue(qname)
        container, kind = self._container(qname, state, group)
        counts: dict[tuple[str, str], int] = {}
        scanned = skipped = total = 0
        position = offset
        at_end = False
        while scanned < budget:
            want = min(BREAKDOWN_READ_SIZE, budget - scanned)
            chunk = self.store.breakdown_chunk(
                qname, container, kind, position, position + want - 1
            )
            total = max(chunk.total, 0)
            for raw_type, raw_error, count in chunk.pairs:
                try:
                    pair = raw_type.decode(), raw_error.decode()
                except UnicodeDecodeError:
                    # Not a valid proto3 string: list_tasks cannot decode these records either.
                    skipped += count
                    continue
                counts[pair] = counts.get(pair, 0) + count
            scanned += chunk.read
            skipped += chunk.skipped
            position += chunk.read
            if chunk.read < want or position >= total:
                at_end = True
                break
        types, errors = _tally(counts)
        return Breakdown(
            queue=qname,
            state=state,
            group=group if state is TaskState.AGGREGATING else None,
            types=types,
            errors=errors,
            scanned=scanned,
            skipped=skipped,
            total=total,
            cursor=None if at_end else str(position),
        )

    # -- servers and schedulers -----------------------------------------------------------------

    def servers(self) -> list[ServerInfo]:
        """Live servers with their in-flight tasks, sorted by host, pid and id.

        Reads prune expired registry entries, as asynq's Inspector does (spec §8.18).
        Undecodable records are skipped.
        """
        now = unix_seconds(self.clock)
        workers: dict[str, list[WorkerInfo]] = {}
        for blob in self.store.worker_records(now):
            w = _parse(WorkerInfoMessage, blob)
            if w is None:
                continue
            workers.setdefault(w.server_id, []).append(
                WorkerInfo(
                    server_id=w.server_id,
                    host=w.host,
                    pid=w.pid,
                    task_id=w.task_id,
                    task_type=w.task_type,
                    task_payload=bytes(w.task_payload),
                    queue=w.queue,
                    started=timestamp_to_datetime(w.start_time),
                    deadline=timestamp_to_datetime(w.deadline),
                )
            )
        result = []
        for blob in self.store.server_records(now):
            s = _parse(ServerInfoMessage, blob)
            if s is None:
                continue
            active = sorted(workers.get(s.server_id, []), key=lambda w: w.task_id)
            result.append(
                ServerInfo(
                    id=s.server_id,
                    host=s.host,
                    pid=s.pid,
                    concurrency=s.concurrency,
                    queues=dict(s.queues),
                    strict_priority=s.strict_priority,
                    started=timestamp_to_datetime(s.start_time),
                    status=s.status,
                    active_workers=tuple(active),
                )
            )
        return sorted(result, key=lambda s: (s.host, s.pid, s.id))

    def scheduler_entries(self) -> list[SchedulerEntry]:
        """Entries of every live scheduler, in stored order (prunes expired schedulers)."""
        parse = _option_parser()
        result = []
        for key, blobs in self.store.scheduler_records(unix_seconds(self.clock)):
            scheduler_id = key.removeprefix(keys.ALL_SCHEDULERS + ":").strip("{}")
            for blob in blobs:
                e = _parse(SchedulerEntryMessage, blob)
                if e is None:
                    continue
                options = tuple(e.enqueue_options)
                result.append(
                    SchedulerEntry(
                        id=e.id,
                        scheduler_id=scheduler_id,
                        spec=e.spec,
                        task_type=e.task_type,
                        task_payload=bytes(e.task_payload),
                        options=options,
                        next_enqueue_at=timestamp_to_datetime(e.next_enqueue_time),
                        prev_enqueue_at=timestamp_to_datetime(e.prev_enqueue_time),
                        parsed_options=parse(options),
                    )
                )
        return result

    def scheduler_enqueue_events(
        self, entry_id: str, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> list[SchedulerEnqueueEvent]:
        """Enqueue events of one scheduler entry, newest first."""
        if page < 1 or page_size < 0:
            raise InvalidArgumentError("page must be 1 or more and page_size not negative")
        start = page_size * (page - 1)
        events = []
        for blob, _score in self.store.scheduler_events(entry_id, start, start + page_size - 1):
            ev = _parse(SchedulerEnqueueEventMessage, blob)
            if ev is None:
                continue
            events.append(
                SchedulerEnqueueEvent(
                    task_id=ev.task_id, enqueued_at=timestamp_to_datetime(ev.enqueue_time)
                )
            )
        return events

    # -- layout ---------------------------------------------------------------------------------

    def layout_check(self) -> LayoutReport:
        """Whether this Redis holds asynq v0.22+'s layout (the one v0.26 writes), from a bounded
        look: a few TYPE/LRANGE/ZRANGE/EXISTS calls over at most LAYOUT_MAX_QUEUES queues and a
        few small SCANs. Never KEYS; cheap enough for a page, though pages cache it."""
        probe = self.store.layout_probe(
            max_queues=LAYOUT_MAX_QUEUES,
            sample=LAYOUT_SAMPLE,
            scan_calls=LAYOUT_SCAN_CALLS,
            scan_count=LAYOUT_SCAN_COUNT,
        )
        return judge_layout(probe)

    # -- Redis ----------------------------------------------------------------------------------

    def redis_info(self) -> RedisInfo:
        """INFO parsed and raw; on a cluster also each queue's slot and nodes."""
        info, raw = self.store.info()
        locations = tuple(
            QueueLocation(queue=q, slot=slot, nodes=tuple(nodes))
            for q, slot, nodes in self.store.cluster_locations(self.queues())
        )
        nodes = tuple(self.store.cluster_node_states())
        return RedisInfo(
            info=info,
            raw=raw,
            is_cluster=self.store.is_cluster,
            queue_locations=locations,
            cluster_nodes=nodes,
        )


def judge_layout(probe: LayoutProbe) -> LayoutReport:
    """The layout a probe shows and, in words, every sign of another one."""
    old_lists: list[str] = []
    deadlines: list[str] = []
    odd: list[str] = []
    if probe.registry not in ("set", "none"):
        odd.append(
            f"{keys.ALL_QUEUES} is a {probe.registry}, not a set: queues cannot be listed "
            "(asynq keeps its queue names in a set)"
        )
    for queue in probe.queues:
        _judge_queue(queue, old_lists, deadlines, odd)
    registered = {q.queue for q in probe.queues}
    for name in probe.sampled_keys:
        if name.startswith(f"{keys.ALL_QUEUES}:"):
            old_lists.append(
                f"key {name} looks like a very old asynq's per-queue message list "
                "(before the {queue} key layout); not readable here"
            )
        elif name.startswith("asynq:{") and name.endswith("}") and ":" not in name[7:]:
            qname = name[7:-1]
            if qname not in registered:
                old_lists.append(
                    f"key {name} is asynq < 0.18's pending list of queue {qname!r}; "
                    "not readable here"
                )
    findings = tuple(dict.fromkeys(old_lists + deadlines + odd))
    if old_lists:
        layout = LAYOUT_LIST_MESSAGES
    elif deadlines:
        layout = LAYOUT_DEADLINES
    elif odd:
        layout = LAYOUT_UNKNOWN
    elif probe.queue_total or probe.sampled_keys:
        layout = LAYOUT_COMPATIBLE
    else:
        layout = LAYOUT_EMPTY
    return LayoutReport(
        layout=layout,
        compatible=layout in (LAYOUT_COMPATIBLE, LAYOUT_EMPTY),
        findings=findings,
        advice=_LAYOUT_ADVICE.get(layout, ""),
        queues_checked=len(probe.queues),
        queues_total=probe.queue_total,
    )


def _judge_queue(
    queue: QueueProbe, old_lists: list[str], deadlines: list[str], odd: list[str]
) -> None:
    q = queue.queue
    if queue.legacy_list == "list":
        old_lists.append(
            f"queue {q!r} has a list at {keys.legacy_queue_key(q)}, where asynq < 0.18 kept "
            "its pending messages; not readable here"
        )
    if queue.deadlines == "zset":
        deadlines.append(
            f"queue {q!r} has {keys.deadlines_key(q)}: its active tasks are run by asynq "
            "v0.18-v0.21 servers (v0.22 replaced deadlines with leases)"
        )
    for box in queue.containers:
        state = box.key.rsplit(":", 1)[-1]
        if box.found not in (box.expected, "none"):
            odd.append(
                f"queue {q!r}'s {state} key {box.key} is a {box.found}, not a {box.expected}: "
                "not asynq's layout; its tasks cannot be read"
            )
            continue
        kinds = {_encoded_kind(member) for member, has_record in box.members if not has_record}
        kinds.discard(None)
        if kinds:
            what = " and ".join(sorted(k for k in kinds if k))
            old_lists.append(
                f"queue {q!r}'s {state} {box.expected} holds {what}-encoded messages instead "
                "of task ids (asynq keeps ids there since v0.18): written by asynq < 0.18 or "
                "a foreign client; not readable here"
            )


def _encoded_kind(member: bytes) -> str | None:
    """Whether ``member`` is a whole task message (JSON or protobuf) rather than a task id."""
    if member[:1] == b"{":
        try:
            document = json.loads(member)
        except ValueError:
            return None
        # asynq < 0.18 marshalled its TaskMessage struct with Go's default field names.
        if isinstance(document, dict) and "Type" in document and "Queue" in document:
            return "JSON"
        return None
    msg = _parse(TaskMessage, member)
    # An id that happens to parse as protobuf will not also carry a type, an id and a queue.
    if msg is not None and msg.type and msg.id and msg.queue:
        return "protobuf"
    return None


def _parse[M: Message](cls: type[M], blob: bytes) -> M | None:
    """A protobuf record, or None when the bytes are not one (foreign or corrupt data)."""
    msg = cls()
    try:
        msg.ParseFromString(blob)
    except DecodeError:
        return None
    return msg


def _tally(
    counts: Mapping[tuple[str, str], int],
) -> tuple[tuple[TypeCount, ...], tuple[ErrorSignature, ...]]:
    """Counts per (type, raw last error) folded into counts per type and per error signature.

    Both come largest first, then by name; a signature's example is its most frequent raw
    message (the first by text on a tie), so the result does not depend on scan order.
    """
    by_type: Counter[str] = Counter()
    by_signature: Counter[str] = Counter()
    types_of: defaultdict[str, Counter[str]] = defaultdict(Counter)
    raw_of: defaultdict[str, Counter[str]] = defaultdict(Counter)
    signatures: dict[str, str] = {}
    for (type_, error), count in counts.items():
        by_type[type_] += count
        if not error:
            continue
        signature = signatures.get(error)
        if signature is None:
            signature = signatures[error] = error_signature(error)
        by_signature[signature] += count
        types_of[signature][type_] += count
        raw_of[signature][error] += count
    return (
        tuple(TypeCount(type=name, count=n) for name, n in _ranked(by_type)),
        tuple(
            ErrorSignature(
                signature=signature,
                count=n,
                example=_ranked(raw_of[signature])[0][0],
                types=dict(_ranked(types_of[signature])),
            )
            for signature, n in _ranked(by_signature)
        ),
    )


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def _parse_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    try:
        offset = int(cursor)
    except ValueError:
        raise InvalidArgumentError(f"invalid search cursor {cursor!r}") from None
    if offset < 0:
        raise InvalidArgumentError(f"invalid search cursor {cursor!r}")
    return offset


_MISSING = object()


def _json_path(document: object, path: str) -> object:
    for part in path.split("."):
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return _MISSING
    return document


def _raw_prefilter(
    *, text: str | None, type_: str | None, error: str | None
) -> Callable[[bytes], bool]:
    """A necessary condition on a stored message's bytes: the type, error text and payload are
    stored verbatim, so a task whose bytes lack them cannot match. ASCII-only needles are
    compared case-insensitively; others are not pre-filtered."""
    needles: list[bytes] = []
    if type_:
        needles.append(type_.removesuffix("*").lower().encode())
    for value in (text, error):
        if value and value.isascii():
            needles.append(value.lower().encode())
    if not needles:
        return lambda _raw: True

    def may_match(raw: bytes) -> bool:
        lowered = raw.lower()
        return all(needle in lowered for needle in needles)

    return may_match


def _matcher(
    *,
    text: str | None,
    type_: str | None,
    error: str | None,
    json_fields: Mapping[str, object] | None,
) -> Callable[[TaskInfo], bool]:
    needle = text.lower() if text else None
    err = error.lower() if error else None

    def match(task: TaskInfo) -> bool:
        if type_:
            if type_.endswith("*"):
                if not task.type.startswith(type_[:-1]):
                    return False
            elif task.type != type_:
                return False
        if err is not None and err not in task.last_err.lower():
            return False
        if needle is not None:
            body = task.payload.decode("utf-8", "replace").lower()
            if needle not in body and needle not in task.id.lower():
                return False
        if json_fields:
            try:
                document = json.loads(task.payload)
            except ValueError:
                return False
            for path, wanted in json_fields.items():
                value = _json_path(document, path)
                if value is _MISSING or (value != wanted and str(value) != str(wanted)):
                    return False
        return True

    return match


def _option_parser() -> Callable[[tuple[str, ...]], tuple[object, ...]]:
    """``queuecore.options`` parses Go option strings when it exists; else nothing is parsed."""
    try:
        from queuecore import options as option_module
    except ImportError:
        return lambda _raw: ()
    parse_one = getattr(option_module, "parse_option", None)
    if parse_one is None:
        return lambda _raw: ()

    def parse(raw: tuple[str, ...]) -> tuple[object, ...]:
        parsed = []
        for text in raw:
            try:
                parsed.append(parse_one(text))
            except Exception:  # noqa: S112 - Go's Inspector drops unparsable options too
                continue
        return tuple(parsed)

    return parse
