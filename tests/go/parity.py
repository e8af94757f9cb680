"""Go's Inspector output (the lab's JSON) and ours, put in one comparable shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from queuecore import Inspector, TaskInfo, TaskState

QUEUE_FIELDS = (
    "size",
    "groups",
    "pending",
    "active",
    "scheduled",
    "retry",
    "archived",
    "completed",
    "aggregating",
    "processed",
    "failed",
    "processed_total",
    "failed_total",
    "paused",
)


def go_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def same_instant(ours: datetime | None, go_text: str | None) -> bool:
    """Go keeps nanoseconds, a datetime microseconds: equal when within a microsecond."""
    theirs = go_time(go_text)
    if ours is None or theirs is None:
        return ours is theirs
    return abs((ours - theirs).total_seconds()) <= 1e-6


def _seconds(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def go_task(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": t["id"],
        "type": t["type"],
        "payload": t["payload"],
        "state": t["state"],
        "max_retry": t["max_retry"],
        "retried": t["retried"],
        "last_err": t["last_err"],
        "last_failed_at": _seconds(go_time(t["last_failed_at"])),
        # Go reports "now" for pending tasks; only the stored times can be compared.
        "next_process_at": None
        if t["state"] == "pending"
        else _seconds(go_time(t["next_process_at"])),
        "completed_at": _seconds(go_time(t["completed_at"])),
        "group": t["group"],
        "is_orphaned": t["is_orphaned"],
    }


def our_task(t: TaskInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "type": t.type,
        "payload": t.payload.decode(),
        "state": t.state.value,
        "max_retry": t.max_retry,
        "retried": t.retried,
        "last_err": t.last_err,
        "last_failed_at": _seconds(t.last_failed_at),
        "next_process_at": None if t.state is TaskState.PENDING else _seconds(t.next_process_at),
        "completed_at": _seconds(t.completed_at),
        "group": t.group,
        "is_orphaned": t.is_orphaned,
    }


def go_view(inspected: dict[str, Any]) -> dict[str, Any]:
    info = inspected["queue_info"]
    tasks = {state: [go_task(t) for t in ts] for state, ts in inspected["tasks"].items()}
    tasks["aggregating"].sort(key=lambda t: t["id"])  # groups come in no fixed order
    return {"info": {k: info[k] for k in QUEUE_FIELDS}, "tasks": tasks}


def our_view(insp: Inspector, queue: str = "default") -> dict[str, Any]:
    info = insp.get_queue_info(queue)
    tasks: dict[str, list[dict[str, Any]]] = {}
    for state in TaskState:
        if state is TaskState.AGGREGATING:
            groups = insp.groups(queue)
            rows = [t for g in groups for t in insp.list_tasks(queue, state, 1, 0, g.group)]
            rows.sort(key=lambda t: t.id)
        else:
            rows = list(insp.list_tasks(queue, state, 1, 0))
        tasks[state.value] = [our_task(t) for t in rows]
    return {"info": {k: getattr(info, k) for k in QUEUE_FIELDS}, "tasks": tasks}
