"""Servers, their workers and scheduler entries, read from asynq's registries.

Undecodable records are skipped, never raised, so one foreign or corrupt entry does not break a
page; reads prune expired registry entries, as asynq's Inspector does (spec §8.18).
"""

from __future__ import annotations

from collections.abc import Callable

from queuecore.inspection import SchedulerEnqueueEvent, SchedulerEntry, ServerInfo, WorkerInfo
from queuecore.inspector.rows import parse_record
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
    WorkerInfo as WorkerInfoMessage,
)
from queuecore.messages import timestamp_to_datetime
from queuecore.rdb.inspect import InspectStore


def live_servers(store: InspectStore, now: int) -> list[ServerInfo]:
    """Live servers with their in-flight tasks, sorted by host, pid and id."""
    workers: dict[str, list[WorkerInfo]] = {}
    for blob in store.worker_records(now):
        w = parse_record(WorkerInfoMessage, blob)
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
    for blob in store.server_records(now):
        s = parse_record(ServerInfoMessage, blob)
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


def live_scheduler_entries(store: InspectStore, now: int) -> list[SchedulerEntry]:
    """Entries of every live scheduler, in stored order."""
    parse = _option_parser()
    result = []
    for scheduler_id, blobs in store.scheduler_records(now):
        for blob in blobs:
            e = parse_record(SchedulerEntryMessage, blob)
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


def enqueue_events(
    store: InspectStore, entry_id: str, start: int, stop: int
) -> list[SchedulerEnqueueEvent]:
    """Enqueue events of one scheduler entry from rank ``start`` to ``stop``, newest first."""
    events = []
    for blob, _score in store.scheduler_events(entry_id, start, stop):
        ev = parse_record(SchedulerEnqueueEventMessage, blob)
        if ev is None:
            continue
        events.append(
            SchedulerEnqueueEvent(
                task_id=ev.task_id, enqueued_at=timestamp_to_datetime(ev.enqueue_time)
            )
        )
    return events


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
