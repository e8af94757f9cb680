"""Export tasks of one queue and state to JSON Lines (or CSV), and replay an export elsewhere.

An export is a header line, one JSON object per task, and an end line::

    {"format": "queuecore-export", "version": 1, "exported_at": ..., "queue": ..., ...}
    {"id": ..., "type": ..., "payload": {"b64": ..., "text": ...}, "headers": {...}, ...}
    {"end": true, "exported": 2, "scanned": 2, "skipped": 0, "limit_reached": false}

Bytes are ``{"b64": ..., "text": ...}`` (``text`` only when valid UTF-8, as the CLI's ``--json``),
times ISO 8601 UTC (``null`` where asynq stores none), durations whole seconds. The end line lets
an import tell a complete file from one cut short (a dropped download, a full disk).

Exports read through the Inspector's bounded ``search`` one page at a time, so memory does not
grow with the state's size; undecodable records are skipped and counted, as every reader does.
Positions shift when tasks leave the state during an export (pending tasks being processed), so
an export of a busy state may miss or repeat a few tasks; archived, retry and scheduled tasks
rarely move.

Import (``queuecore.replay``, re-exported here) replays an export through the Client.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from queuecore.clock import SYSTEM_CLOCK, Clock
from queuecore.errors import (
    InvalidArgumentError,
)
from queuecore.replay import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    ImportFormatError,
    ImportInterruptedError,
    ImportResult,
    LineProblem,
    PlannedTask,
    import_tasks,
)
from queuecore.taskinfo import TaskInfo, TaskState

if TYPE_CHECKING:
    from queuecore.inspector import Inspector

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "ExportFilters",
    "ExportStats",
    "ImportFormatError",
    "ImportInterruptedError",
    "ImportResult",
    "LineProblem",
    "PlannedTask",
    "export_csv",
    "export_jsonl",
    "import_tasks",
    "task_record",
]

# Tasks one search call examines while exporting: bounds both Redis work and memory per page.
EXPORT_PAGE_BUDGET = 1_000

CSV_COLUMNS = (
    "id",
    "type",
    "state",
    "retried",
    "max_retry",
    "last_error",
    "failed_at",
    "payload_text",
)
# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# -- export -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ExportFilters:
    """The filters of ``Inspector.search``; ``None`` (every one by default) filters nothing.

    * ``text``: case-insensitive substring of the payload (as UTF-8) or the id.
    * ``type``: exact task type, or a prefix when it ends with ``*``.
    * ``error``: case-insensitive substring of the last error.
    * ``json_fields``: dotted paths of a JSON payload mapped to required values.
    * ``group``: the group (required for aggregating tasks, ignored by other states).
    """

    text: str | None = None
    type: str | None = None
    error: str | None = None
    json_fields: Mapping[str, object] | None = None
    group: str | None = None

    def given(self) -> dict[str, object]:
        """The filters that were set, for the export's header."""
        values = {
            "text": self.text,
            "type": self.type,
            "error": self.error,
            "json_fields": dict(self.json_fields) if self.json_fields else None,
            "group": self.group,
        }
        return {name: value for name, value in values.items() if value}


@dataclass(kw_only=True)
class ExportStats:
    """Filled in while an export streams: read it once the stream is consumed."""

    exported: int = 0
    scanned: int = 0
    skipped: int = 0
    limit_reached: bool = False
    finished: bool = False


def task_record(task: TaskInfo) -> dict[str, Any]:
    """Every field of ``task`` as a JSON object (one line of an export)."""
    return {
        "id": task.id,
        "queue": task.queue,
        "type": task.type,
        "state": task.state.value,
        "payload": _bytes_value(task.payload),
        "headers": dict(task.headers),
        "max_retry": task.max_retry,
        "retried": task.retried,
        "timeout": _seconds(task.timeout),
        "deadline": _time_value(task.deadline),
        "retention": _seconds(task.retention),
        "group": task.group,
        "last_error": task.last_err,
        "last_failed_at": _time_value(task.last_failed_at),
        "next_process_at": _time_value(task.next_process_at),
        "completed_at": _time_value(task.completed_at),
        "result": None if task.result is None else _bytes_value(task.result),
        "is_orphaned": task.is_orphaned,
        # For reading only: asynq keeps no lock TTL with a task, so an import cannot restore it.
        "unique_key": getattr(task, "unique_key", ""),
    }


def export_jsonl(
    inspector: Inspector,
    queue: str,
    state: TaskState | str,
    *,
    filters: ExportFilters | None = None,
    limit: int | None = None,
    stats: ExportStats | None = None,
    clock: Clock = SYSTEM_CLOCK,
    page_budget: int = EXPORT_PAGE_BUDGET,
) -> Iterator[str]:
    """The lines (each ending in a newline) of a JSON Lines export of ``queue``'s ``state``.

    The first page is read before this returns, so a missing queue or a bad filter raises here
    rather than part-way through a download; the rest is read as the lines are consumed.
    ``limit`` caps the number of tasks (None: all). ``stats`` is filled in as lines go out.
    """
    state = TaskState(state)
    filters = filters or ExportFilters()
    stats = stats if stats is not None else ExportStats()
    tasks = _tasks(inspector, queue, state, filters, limit, stats, page_budget)
    header = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": datetime.fromtimestamp(clock.now(), UTC).isoformat(),
        "queue": queue,
        "state": state.value,
        "filters": filters.given(),
        "limit": limit,
    }

    def lines() -> Iterator[str]:
        yield _line(header)
        for task in tasks:
            yield _line(task_record(task))
        yield _line(
            {
                "end": True,
                "exported": stats.exported,
                "scanned": stats.scanned,
                "skipped": stats.skipped,
                "limit_reached": stats.limit_reached,
            }
        )

    return lines()


def export_csv(
    inspector: Inspector,
    queue: str,
    state: TaskState | str,
    *,
    filters: ExportFilters | None = None,
    limit: int | None = None,
    stats: ExportStats | None = None,
    page_budget: int = EXPORT_PAGE_BUDGET,
) -> Iterator[str]:
    """CSV lines for people (``CSV_COLUMNS``): lossy (binary payloads are left blank, most
    options are left out) and not importable. Cells a spreadsheet would run as a formula are
    prefixed with ``'``. Raises like :func:`export_jsonl` before the first line."""
    state = TaskState(state)
    stats = stats if stats is not None else ExportStats()
    tasks = _tasks(inspector, queue, state, filters or ExportFilters(), limit, stats, page_budget)

    def lines() -> Iterator[str]:
        yield _csv_row(CSV_COLUMNS)
        for task in tasks:
            text = ""
            with contextlib.suppress(UnicodeDecodeError):
                text = task.payload.decode("utf-8")
            yield _csv_row(
                (
                    task.id,
                    task.type,
                    task.state.value,
                    str(task.retried),
                    str(task.max_retry),
                    task.last_err,
                    _time_value(task.last_failed_at) or "",
                    text,
                )
            )

    return lines()


def _tasks(
    inspector: Inspector,
    queue: str,
    state: TaskState,
    filters: ExportFilters,
    limit: int | None,
    stats: ExportStats,
    page_budget: int,
) -> Iterator[TaskInfo]:
    """Matching tasks, one bounded search page at a time; the first page is read eagerly."""
    if limit is not None and limit < 0:
        raise InvalidArgumentError("limit must not be negative")
    if page_budget < 1:
        raise InvalidArgumentError("page_budget must be at least 1")

    def page(cursor: str | None) -> tuple[tuple[TaskInfo, ...], str | None]:
        found = inspector.search(
            queue,
            state,
            text=filters.text,
            type=filters.type,
            error=filters.error,
            json_fields=filters.json_fields,
            group=filters.group if state is TaskState.AGGREGATING else None,
            cursor=cursor,
            budget=page_budget,
        )
        stats.scanned += found.scanned
        stats.skipped += found.skipped
        return found.tasks, found.cursor

    first = page(None)

    def walk() -> Iterator[TaskInfo]:
        found, cursor = first
        while True:
            for task in found:
                if limit is not None and stats.exported >= limit:
                    stats.limit_reached = True
                    return
                stats.exported += 1
                yield task
            if cursor is None:
                stats.finished = True
                return
            if limit is not None and stats.exported >= limit:
                stats.limit_reached = True
                return
            found, cursor = page(cursor)

    return walk()


def _line(record: Mapping[str, Any]) -> str:
    # ASCII-only JSON: a line survives any transport and editor that mangles other encodings.
    return json.dumps(record, separators=(",", ":")) + "\n"


def _csv_row(cells: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        "'" + cell if cell.startswith(_FORMULA_STARTS) else cell for cell in cells
    )
    return out.getvalue()


def _bytes_value(data: bytes) -> dict[str, str]:
    value = {"b64": base64.b64encode(data).decode("ascii")}
    with contextlib.suppress(UnicodeDecodeError):
        value["text"] = data.decode("utf-8")
    return value


def _time_value(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _seconds(duration: timedelta) -> int:
    return int(duration.total_seconds())
