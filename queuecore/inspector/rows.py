"""Stored task rows read back as TaskInfo, and where a bounded scan continues from.

Listing, search and breakdown all page through a state in ``list_tasks`` order; this is the one
place that turns a page's raw rows into results and parses the cursor a scan hands back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf.message import DecodeError, Message

from queuecore.errors import InvalidArgumentError, MalformedDataError
from queuecore.messages import decode_task_message
from queuecore.rdb.inspect import InspectStore, TaskRow
from queuecore.taskinfo import TaskInfo, TaskState


def decode_rows(
    qname: str, state: TaskState, rows: Sequence[TaskRow], now: float
) -> tuple[list[TaskInfo], list[str]]:
    """The rows' tasks, and the ids skipped because their message is gone or corrupt.

    Pending tasks are due ``now``; scheduled and retry ones at their score; an active task whose
    lease (its score) has passed is orphaned.
    """
    tasks: list[TaskInfo] = []
    skipped: list[str] = []
    for row in rows:
        try:
            msg = decode_task_message(row.msg, key=InspectStore.task_key(qname, row.task_id))
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


def parse_cursor(cursor: str | None) -> int:
    """The position a search or breakdown continues from (None or "" = the start)."""
    if cursor is None or cursor == "":
        return 0
    try:
        offset = int(cursor)
    except ValueError:
        raise InvalidArgumentError(f"invalid search cursor {cursor!r}") from None
    if offset < 0:
        raise InvalidArgumentError(f"invalid search cursor {cursor!r}")
    return offset


def parse_record[M: Message](cls: type[M], blob: bytes) -> M | None:
    """A protobuf record, or None when the bytes are not one (foreign or corrupt data)."""
    msg = cls()
    try:
        msg.ParseFromString(blob)
    except DecodeError:
        return None
    return msg
