"""The Inspector façade: asynq's Inspector API, one method per asynq call (snake_case).

Queue reads, listing and every action are here; search, breakdown, the layout check and the
server/scheduler registries are their own modules, which the methods below hand over to. See
``queuecore.inspector`` for the deliberate differences from asynq.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from queuecore.clock import SYSTEM_CLOCK, Clock, unix_seconds, utc_date
from queuecore.errors import (
    InvalidArgumentError,
    MalformedDataError,
    QueueHasActiveTasksError,
    QueueNotEmptyError,
    QueueNotFoundError,
    QueuePausedStateError,
    TaskNotFoundError,
    WrongStateError,
)
from queuecore.inspection import (
    BatchResult,
    Breakdown,
    DailyStats,
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
)
from queuecore.inspector.breakdown import DEFAULT_BREAKDOWN_BUDGET, count_breakdown
from queuecore.inspector.layout import check_layout
from queuecore.inspector.outcomes import (
    ARCHIVE_ALL_STATES,
    DELETE_ALL_STATES,
    RUN_ALL_STATES,
    UPDATE_NOT_SCHEDULED,
    batch_result,
    raise_for,
)
from queuecore.inspector.rows import decode_rows, parse_cursor
from queuecore.inspector.search import DEFAULT_SEARCH_BUDGET, search_tasks
from queuecore.inspector.servers import enqueue_events, live_scheduler_entries, live_servers
from queuecore.inspector.stats import queue_info
from queuecore.messages import decode_task_message, encode_task_message
from queuecore.rdb.inspect import InspectStore, TaskRow
from queuecore.taskinfo import TaskInfo, TaskState
from queuecore.unreadable import UnreadableRecords

DEFAULT_PAGE_SIZE = 30
# Ids handled per script call by "all" actions: ~1 000 ids keeps each call to a few milliseconds.
DEFAULT_CHUNK_SIZE = 1_000
# Groups whose sizes the cheap queue info adds up before it samples and extrapolates instead.
DEFAULT_GROUP_SCAN_BOUND = 1_000

# Called after every chunk of an "all" action with (tasks done so far, tasks there at the start).
Progress = Callable[[int, int], None]


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
        return queue_info(qname, stats, memory, now)

    def overview(self, *, cheap: bool = True) -> list[QueueInfo]:
        """QueueInfo of every queue, sorted by name; cheap mode costs one round trip in all."""
        names = self.queues()
        now = self.clock.now()
        bound = self.group_scan_bound if cheap else 0
        rows = self.store.current_stats_many(names, utc_date(now), bound)
        return [
            queue_info(name, stats, None if cheap else self.store.memory_usage(name), now)
            for name, stats in zip(names, rows, strict=True)
        ]

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
        start = page_size * (page - 1)
        total, rows = self.store.page(qname, state.value, group, start, start + page_size - 1)
        tasks, skipped = self._decode_rows(qname, state, rows)
        return TaskPage(tasks, skipped=len(skipped), total=max(total, 0), skipped_ids=skipped)

    def _decode_rows(
        self, qname: str, state: TaskState, rows: Sequence[TaskRow]
    ) -> tuple[list[TaskInfo], list[str]]:
        return decode_rows(qname, state, rows, self.clock.now())

    def get_task_info(self, qname: str, task_id: str) -> TaskInfo:
        """One task by id. NextProcessAt: scheduled/retry the zset score, pending now, else None."""
        self._require_queue(qname)
        record = self.store.task_record(qname, task_id)
        if record is None or record.msg is None:
            raise TaskNotFoundError(qname, task_id)
        msg = decode_task_message(record.msg, key=self.store.task_key(qname, task_id))
        try:
            state = TaskState(record.state)
        except ValueError:
            raise MalformedDataError(
                self.store.task_key(qname, task_id), f"unknown state {record.state!r}"
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
        raise_for("run", qname, task_id, self.store.run_task(qname, task_id))

    def archive_task(self, qname: str, task_id: str) -> None:
        """Archive a pending, scheduled, retry, completed or aggregating task.

        Like asynq, the message is not rewritten and the archive is trimmed to 9 999 tasks and
        90 days; unlike asynq, the records of the trimmed tasks are deleted, not leaked.
        """
        self._require_queue(qname)
        code = self.store.archive_task(qname, task_id, unix_seconds(self.clock))
        raise_for("archive", qname, task_id, code)

    def delete_task(self, qname: str, task_id: str) -> None:
        """Delete a task that is not active, freeing its unique lock if it still holds it.

        Unlike asynq, a record whose id is missing from its state's container (left behind by
        asynq's archive trim) is deleted instead of failing with "task is not found in zset".
        """
        self._require_queue(qname)
        code = self._unreadable_deleted(qname, task_id, self.store.delete_task(qname, task_id))
        raise_for("delete", qname, task_id, code)

    def _unreadable_deleted(self, qname: str, task_id: str, code: int) -> int:
        """A delete that met a key of another type (-4) deletes it everywhere (Poison data)."""
        if code != -4:
            return code
        return 1 if self.store.delete_unreadable(qname, task_id) else 0

    # -- batch actions --------------------------------------------------------------------------

    def _batch(self, action: str, qname: str, task_ids: Sequence[str]) -> BatchResult:
        self._require_queue(qname)
        unique_ids = list(dict.fromkeys(task_ids))
        codes = self.store.batch(action, qname, unique_ids, unix_seconds(self.clock))
        if action == "delete":
            pairs = zip(unique_ids, codes, strict=True)
            codes = [self._unreadable_deleted(qname, t, c) for t, c in pairs]
        return batch_result(action, qname, unique_ids, codes)

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
    ) -> str:
        state = TaskState(state)
        if state not in allowed:
            names = ", ".join(s.value for s in allowed)
            raise InvalidArgumentError(f"cannot {verb} all {state.value} tasks; states: {names}")
        self._require_queue(qname)
        return state.value

    def _chunked(
        self,
        qname: str,
        state: str,
        group: str | None,
        step: Callable[[], tuple[int, int]],
        progress: Progress | None,
    ) -> int:
        # Bounded by the size at start, so producers adding tasks meanwhile cannot keep it going.
        total = self.store.container_size(qname, state, group)
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
        name = self._check_all(qname, state, group, RUN_ALL_STATES, "run")
        return self._chunked(
            qname,
            name,
            group,
            lambda: self.store.run_all_chunk(qname, name, group, self.chunk_size),
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
        name = self._check_all(qname, state, group, ARCHIVE_ALL_STATES, "archive")
        return self._chunked(
            qname,
            name,
            group,
            lambda: self.store.archive_all_chunk(
                qname, name, group, self.chunk_size, unix_seconds(self.clock)
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
        name = self._check_all(qname, state, group, DELETE_ALL_STATES, "delete")
        return self._chunked(
            qname,
            name,
            group,
            lambda: self.store.delete_all_chunk(qname, name, group, self.chunk_size),
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
                raise WrongStateError(qname, task_id, record.state, UPDATE_NOT_SCHEDULED)
            msg = decode_task_message(record.msg, key=self.store.task_key(qname, task_id))
            msg.payload = payload
            code = self.store.update_payload(qname, task_id, record.msg, encode_task_message(msg))
            if code == 0:
                raise TaskNotFoundError(qname, task_id)
            if code == -1:
                raise WrongStateError(qname, task_id, "", UPDATE_NOT_SCHEDULED)
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
        start = parse_cursor(cursor)
        self._require_queue(qname)
        return search_tasks(
            self.store,
            qname,
            state,
            self.clock,
            text=text,
            type_=type,
            error=error,
            json_fields=json_fields,
            group=group,
            start=start,
            budget=budget,
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
        start = parse_cursor(cursor)
        self._require_queue(qname)
        return count_breakdown(self.store, qname, state, group=group, start=start, budget=budget)

    # -- servers and schedulers -----------------------------------------------------------------

    def servers(self) -> list[ServerInfo]:
        """Live servers with their in-flight tasks, sorted by host, pid and id.

        Reads prune expired registry entries, as asynq's Inspector does (spec §8.18).
        Undecodable records are skipped.
        """
        return live_servers(self.store, unix_seconds(self.clock))

    def scheduler_entries(self) -> list[SchedulerEntry]:
        """Entries of every live scheduler, in stored order (prunes expired schedulers)."""
        return live_scheduler_entries(self.store, unix_seconds(self.clock))

    def scheduler_enqueue_events(
        self, entry_id: str, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> list[SchedulerEnqueueEvent]:
        """Enqueue events of one scheduler entry, newest first."""
        if page < 1 or page_size < 0:
            raise InvalidArgumentError("page must be 1 or more and page_size not negative")
        start = page_size * (page - 1)
        return enqueue_events(self.store, entry_id, start, start + page_size - 1)

    # -- layout ---------------------------------------------------------------------------------

    def layout_check(self) -> LayoutReport:
        """Whether this Redis holds asynq v0.22+'s layout (the one v0.26 writes), from a bounded
        look: a few TYPE/LRANGE/ZRANGE/EXISTS calls over at most LAYOUT_MAX_QUEUES queues and a
        few small SCANs. Never KEYS; cheap enough for a page, though pages cache it."""
        return check_layout(self.store)

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
