"""Inspector results → the JSON objects Asynqmon's Go handler sends, key for key, type for type.

Asynqmon has two ways of writing a time, and scripts depend on both:

* fields declared ``string`` in Go (task detail, servers, scheduler entries) use
  ``time.RFC3339`` (whole seconds) and ``""`` for an unset time — :func:`rfc3339`;
* fields declared ``time.Time`` (``next_process_at`` in lists, ``last_failed_at`` of archived
  tasks, ``completed_at`` of completed tasks, a snapshot's ``timestamp``) use Go's JSON encoding,
  RFC 3339 with trailing-zero-trimmed nanoseconds, and ``"0001-01-01T00:00:00Z"`` for the zero
  time — :func:`go_time`.

Payloads and results are shown as text when they are UTF-8 without control characters other than
whitespace, else as Asynqmon's ``"non-printable bytes"``. Unlike Asynqmon's default formatter,
newlines and tabs do not hide a pretty-printed JSON payload (asynqmon#244) and nothing is truncated.
A formatter configured for the task type (``QUEUECORE["PAYLOAD_FORMATTERS"]`` /
``["RESULT_FORMATTERS"]``, Asynqmon's PayloadFormatter/ResultFormatter) gives the string instead;
one that fails leaves the default.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.formatters import PAYLOAD, RESULT, formatted_text
from queuecore import TaskInfo, TaskState
from queuecore.inspection import (
    DailyStats,
    GroupInfo,
    QueueInfo,
    RedisInfo,
    SchedulerEnqueueEvent,
    SchedulerEntry,
    ServerInfo,
    WorkerInfo,
)

JSON = dict[str, Any]
NON_PRINTABLE = "non-printable bytes"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def printable(data: bytes | None) -> str:
    """Asynqmon's default Payload/ResultFormatter, except that whitespace is allowed."""
    if not data:
        # Go: an empty or all-space payload is "not printable".
        return NON_PRINTABLE
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return NON_PRINTABLE
    if not text.strip():
        return NON_PRINTABLE
    for ch in text:
        if ch.isspace():
            continue
        if unicodedata.category(ch)[0] in ("C", "Z"):
            return NON_PRINTABLE
    return text


def formatted(setting: str, task_type: str, data: bytes | None) -> str:
    """The configured formatter's text for ``task_type``, else :func:`printable`."""
    text = formatted_text(setting, task_type, data)
    return printable(data) if text is None else text


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def rfc3339(value: datetime | None) -> str:
    """Go's ``t.Format(time.RFC3339)`` of a UTC time; ``""`` for an unset one."""
    if value is None:
        return ""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_time(value: datetime | None) -> str:
    """Go's JSON encoding of a ``time.Time`` (RFC3339Nano) in UTC; Go's zero time for None."""
    if value is None:
        return GO_ZERO_TIME
    value = _utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def go_duration(value: timedelta) -> str:
    """Go's ``time.Duration.String()`` (e.g. ``"0s"``, ``"150ms"``, ``"1m2.5s"``, ``"1h0m0s"``)."""
    nanos = round(value.total_seconds() * 1e9)
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size or unit == "ns":
                return sign + _decimal(nanos, size) + unit
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _decimal(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _decimal(nanos: int, size: int) -> str:
    whole, fraction = divmod(nanos, size)
    if not fraction:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}." + f"{fraction:0{digits}d}".rstrip("0")


def round_to(value: timedelta, step: timedelta) -> timedelta:
    """Go's ``Duration.Round``: halfway values round away from zero."""
    step_us = step // timedelta(microseconds=1)
    us = value // timedelta(microseconds=1)
    quotient, remainder = divmod(abs(us), step_us)
    if remainder * 2 >= step_us:
        quotient += 1
    rounded = quotient * step_us
    return timedelta(microseconds=rounded if us >= 0 else -rounded)


def queue_snapshot(info: QueueInfo) -> JSON:
    """Asynqmon's ``queueStateSnapshot``."""
    return {
        "queue": info.queue,
        "memory_usage_bytes": info.memory_usage or 0,
        "size": info.size,
        "groups": info.groups,
        "latency_msec": info.latency // timedelta(milliseconds=1),
        "display_latency": go_duration(round_to(info.latency, timedelta(milliseconds=10))),
        "active": info.active,
        "pending": info.pending,
        "aggregating": info.aggregating,
        "scheduled": info.scheduled,
        "retry": info.retry,
        "archived": info.archived,
        "completed": info.completed,
        "processed": info.processed,
        "succeeded": info.processed - info.failed,
        "failed": info.failed,
        "paused": info.paused,
        "timestamp": go_time(info.timestamp),
    }


def daily_stats(stats: DailyStats) -> JSON:
    return {
        "queue": stats.queue,
        "processed": stats.processed,
        "succeeded": stats.processed - stats.failed,
        "failed": stats.failed,
        "date": stats.date.isoformat(),
    }


def group_info(group: GroupInfo) -> JSON:
    return {"group": group.group, "size": group.size}


def ttl_seconds(task: TaskInfo, now: datetime) -> int:
    """(completed_at + retention) - now, in whole seconds (Go truncates); 0 unless completed."""
    if task.state is not TaskState.COMPLETED or task.completed_at is None:
        return 0
    left = task.completed_at + task.retention - now
    return int(left.total_seconds())


def base_task(task: TaskInfo) -> JSON:
    return {
        "id": task.id,
        "type": task.type,
        "payload": formatted(PAYLOAD, task.type, task.payload),
        "queue": task.queue,
        "max_retry": task.max_retry,
        "retried": task.retried,
        "error_message": task.last_err,
    }


def active_task(task: TaskInfo, worker: WorkerInfo | None) -> JSON:
    """Started and deadline come from the live worker running it, ``"-"`` when none is."""
    return {
        **base_task(task),
        "start_time": rfc3339(worker.started) if worker else "-",
        "deadline": rfc3339(worker.deadline) if worker else "-",
        "is_orphaned": task.is_orphaned,
    }


def list_task(task: TaskInfo, now: datetime) -> JSON:
    """A row of a per-state list, with the extra fields Asynqmon adds for that state."""
    row = base_task(task)
    state = task.state
    if state in (TaskState.SCHEDULED, TaskState.RETRY):
        row["next_process_at"] = go_time(task.next_process_at)
    elif state is TaskState.ARCHIVED:
        row["last_failed_at"] = go_time(task.last_failed_at)
    elif state is TaskState.COMPLETED:
        row["completed_at"] = go_time(task.completed_at)
        row["result"] = formatted(RESULT, task.type, task.result)
        row["ttl_seconds"] = ttl_seconds(task, now)
    elif state is TaskState.AGGREGATING:
        row["group"] = task.group
    return row


def task_detail(task: TaskInfo, now: datetime) -> JSON:
    """Asynqmon's ``taskInfo`` (GET /queues/{q}/tasks/{id})."""
    return {
        "id": task.id,
        "queue": task.queue,
        "type": task.type,
        "payload": formatted(PAYLOAD, task.type, task.payload),
        "state": task.state.value,
        "max_retry": task.max_retry,
        "retried": task.retried,
        "error_message": task.last_err,
        "last_failed_at": rfc3339(task.last_failed_at),
        "timeout_seconds": int(task.timeout.total_seconds()),
        "deadline": rfc3339(task.deadline),
        "next_process_at": rfc3339(task.next_process_at),
        "completed_at": rfc3339(task.completed_at),
        "result": formatted(RESULT, task.type, task.result),
        "ttl_seconds": ttl_seconds(task, now),
    }


def worker_info(worker: WorkerInfo) -> JSON:
    return {
        "task_id": worker.task_id,
        "queue": worker.queue,
        "task_type": worker.task_type,
        "task_payload": formatted(PAYLOAD, worker.task_type, worker.task_payload),
        "start_time": rfc3339(worker.started),
    }


def server_info(server: ServerInfo) -> JSON:
    return {
        "id": server.id,
        "host": server.host,
        "pid": server.pid,
        "concurrency": server.concurrency,
        "queue_priorities": dict(server.queues),
        "strict_priority_enabled": server.strict_priority,
        "start_time": rfc3339(server.started),
        "status": server.status,
        "active_workers": [worker_info(w) for w in server.active_workers],
    }


def scheduler_entry(entry: SchedulerEntry) -> JSON:
    row: JSON = {
        "id": entry.id,
        "spec": entry.spec,
        "task_type": entry.task_type,
        "task_payload": formatted(PAYLOAD, entry.task_type, entry.task_payload),
        "options": list(entry.options),
        "next_enqueue_at": rfc3339(entry.next_enqueue_at),
    }
    # Go: `json:"prev_enqueue_at,omitempty"`, left out until the entry first enqueued.
    if entry.prev_enqueue_at is not None:
        row["prev_enqueue_at"] = rfc3339(entry.prev_enqueue_at)
    return row


def enqueue_event(event: SchedulerEnqueueEvent) -> JSON:
    return {"task_id": event.task_id, "enqueued_at": rfc3339(event.enqueued_at)}


def redis_info(info: RedisInfo, address: str) -> JSON:
    body: JSON = {
        "address": address,
        "info": dict(info.info),
        "raw_info": info.raw,
        "cluster": info.is_cluster,
    }
    if info.is_cluster:
        body["raw_cluster_nodes"] = ""
        body["queue_locations"] = [
            {"queue": loc.queue, "keyslot": loc.slot, "nodes": list(loc.nodes)}
            for loc in info.queue_locations
        ]
    return body


def workers_by_task(servers: Iterable[ServerInfo], queue: str) -> Mapping[str, WorkerInfo]:
    return {w.task_id: w for s in servers for w in s.active_workers if w.queue == queue}
