"""Replay an export: read a queuecore export (``queuecore.export``) and enqueue its tasks again.

Import replays each task through :class:`queuecore.client.Client` (never raw Redis), with a new
id unless ``keep_ids``. What is restored: type, payload, headers, max_retry, timeout, deadline,
retention, group (and the id with ``keep_ids``). The run history (state, retried, last error,
result, completed time) is exported for reading but a replayed task starts afresh, as a task
enqueued by a client does. A task stored with neither timeout nor deadline gets the Client's
default timeout, and an exported deadline is kept even when already past.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from queuecore.client import Client, Task, plan_enqueue
from queuecore.clock import SYSTEM_CLOCK, Clock
from queuecore.errors import (
    InvalidArgumentError,
    MalformedDataError,
    QueueCoreError,
    QueueNotFoundError,
    RedisUnavailableError,
    TaskIdConflictError,
    TaskNotFoundError,
)
from queuecore.taskinfo import TaskInfo, TaskState

if TYPE_CHECKING:
    from queuecore.inspector import Inspector

# The header an export starts with, and the only version this reader accepts.
EXPORT_FORMAT = "queuecore-export"
EXPORT_VERSION = 1
# Tasks written per pipelined enqueue while importing.
IMPORT_BATCH = 500
# Problems and ids an import result lists one by one; beyond these only the counts grow.
MAX_PROBLEMS_LISTED = 100
MAX_IDS_LISTED = 1_000
# Tasks an import result shows as a preview.
SAMPLE_SIZE = 20


class ImportFormatError(InvalidArgumentError):
    """The input is not a queuecore export this version can read (bad or missing header)."""


class ImportInterruptedError(QueueCoreError):
    """Redis failed part-way through an import; ``result`` tells what was written before."""

    def __init__(self, result: ImportResult, line: int, cause: QueueCoreError) -> None:
        self.result = result
        self.line = line
        super().__init__(
            f"import stopped at the batch starting on line {line}: {result.enqueued} tasks were "
            f"enqueued before it, and some of that batch may have been written too: {cause}"
        )


# -- import -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LineProblem:
    """A line that was not imported: its number in the input (1-based), why, and its task id
    (as exported) when known."""

    line: int
    reason: str
    task_id: str = ""


@dataclass(frozen=True, kw_only=True)
class PlannedTask:
    """A task of the input as it is (or would be) enqueued."""

    line: int
    id: str
    """The id it gets: the exported one with ``keep_ids``, else the new one (dry run: "")."""
    exported_id: str
    queue: str
    type: str
    state: TaskState
    payload: bytes


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    """What an import did (or, with ``dry_run``, would do).

    ``read`` task lines were found; each was enqueued, skipped (refused by the target, e.g. an
    id conflict with ``keep_ids``) or malformed. ``skipped``/``malformed`` list the first
    ``MAX_PROBLEMS_LISTED`` with line numbers; the ``*_count`` fields count them all.
    ``complete`` is True when the input ended with the export's end line and its count matches,
    False when that line is missing or disagrees (the file was cut short), None for no header.
    """

    header: Mapping[str, Any]
    dry_run: bool
    read: int = 0
    enqueued: int = 0
    task_ids: tuple[str, ...] = ()
    skipped: tuple[LineProblem, ...] = ()
    skipped_count: int = 0
    skipped_by_reason: Mapping[str, int] = field(default_factory=dict)
    malformed: tuple[LineProblem, ...] = ()
    malformed_count: int = 0
    complete: bool | None = None
    sample: tuple[PlannedTask, ...] = ()


@dataclass(kw_only=True)
class _Tally:
    """The running counts of an import, frozen into an ImportResult at the end."""

    header: Mapping[str, Any] = field(default_factory=dict)
    read: int = 0
    enqueued: int = 0
    task_ids: list[str] = field(default_factory=list)
    skipped: list[LineProblem] = field(default_factory=list)
    skipped_count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    malformed: list[LineProblem] = field(default_factory=list)
    malformed_count: int = 0
    end: Mapping[str, Any] | None = None
    read_before_end: int = 0
    sample: list[PlannedTask] = field(default_factory=list)

    def skip(self, line: int, reason: str, task_id: str) -> None:
        self.skipped_count += 1
        self.reasons[reason] += 1
        if len(self.skipped) < MAX_PROBLEMS_LISTED:
            self.skipped.append(LineProblem(line=line, reason=reason, task_id=task_id))

    def bad(self, line: int, reason: str, task_id: str = "") -> None:
        self.malformed_count += 1
        if len(self.malformed) < MAX_PROBLEMS_LISTED:
            self.malformed.append(LineProblem(line=line, reason=reason, task_id=task_id))

    def done(self, planned: PlannedTask) -> None:
        self.enqueued += 1
        if len(self.task_ids) < MAX_IDS_LISTED and planned.id:
            self.task_ids.append(planned.id)
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(planned)

    def result(self, dry_run: bool) -> ImportResult:
        complete: bool | None = None
        if self.header:
            complete = self.end is not None and self.end.get("exported") == self.read_before_end
        return ImportResult(
            header=self.header,
            dry_run=dry_run,
            read=self.read,
            enqueued=self.enqueued,
            task_ids=tuple(self.task_ids),
            skipped=tuple(self.skipped),
            skipped_count=self.skipped_count,
            skipped_by_reason=dict(self.reasons),
            malformed=tuple(self.malformed),
            malformed_count=self.malformed_count,
            complete=complete,
            sample=tuple(self.sample),
        )


@dataclass(frozen=True, kw_only=True)
class _Pending:
    line: int
    exported_id: str
    task: Task


def import_tasks(
    lines: Iterable[str | bytes],
    client: Client,
    *,
    queue: str | None = None,
    keep_ids: bool = False,
    as_pending: bool = True,
    dry_run: bool = False,
    inspector: Inspector | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> ImportResult:
    """Re-enqueue the tasks of a JSON Lines export through ``client``.

    ``queue`` sends every task there instead of its own queue. ``keep_ids`` keeps each task's
    id: one that already exists in the target queue is skipped and reported, never
    overwritten. ``as_pending`` (default) makes every task runnable now (or, with a group, adds
    it to its group); ``as_pending=False`` keeps a future ``next_process_at`` as the process
    time. ``dry_run`` checks every line and writes nothing; with ``keep_ids`` and an
    ``inspector`` on the target it also reports the ids that would conflict.

    Raises ImportFormatError if the first non-blank line is not a header of a known format and
    version (nothing is written). Malformed task lines are counted with their line numbers and
    the rest goes on. ImportInterruptedError when Redis fails part-way.
    """
    tally = _Tally()
    batch: list[_Pending] = []
    seen: set[tuple[str, str]] = set()
    number = 0
    for number, raw in enumerate(lines, start=1):
        text = _text_of(raw)
        if text is None:
            if not tally.header:
                raise ImportFormatError(f"line {number}: not UTF-8 text; not a queuecore export")
            tally.read += 1
            tally.bad(number, "not UTF-8 text")
            continue
        if not text.strip():
            continue
        if not tally.header:
            tally.header = _header(text, number)
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            tally.read += 1
            tally.bad(number, f"not JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            tally.read += 1
            tally.bad(number, "not JSON: nested too deeply")
            continue
        if isinstance(record, dict) and record.get("end") is True:
            if tally.end is not None:
                tally.bad(number, "a second end line")
            else:
                tally.end, tally.read_before_end = record, tally.read
            continue
        tally.read += 1
        if tally.end is not None:
            tally.bad(number, "task line after the end line", _exported_id(record))
            continue
        try:
            pending = _pending(record, number, queue, keep_ids, as_pending, clock)
        except InvalidArgumentError as exc:
            tally.bad(number, str(exc), _exported_id(record))
            continue
        if dry_run:
            _preview(pending, tally, keep_ids, inspector, seen, clock)
            continue
        batch.append(pending)
        if len(batch) >= IMPORT_BATCH:
            _enqueue(client, batch, tally)
            batch = []
    if not tally.header:
        raise ImportFormatError("the input is empty; expected a queuecore export header line")
    if batch:
        _enqueue(client, batch, tally)
    return tally.result(dry_run)


def _text_of(raw: str | bytes) -> str | None:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return raw.removeprefix("\ufeff")


def _header(text: str, number: int) -> Mapping[str, Any]:
    try:
        header = json.loads(text)
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise ImportFormatError(
            f"line {number}: expected a header line with format {EXPORT_FORMAT!r}; "
            "this is not a queuecore export"
        )
    version = header.get("version")
    if version != EXPORT_VERSION:
        raise ImportFormatError(
            f"line {number}: export format version {version!r} is not supported "
            f"(this queuecore reads version {EXPORT_VERSION})"
        )
    return header


def _exported_id(record: object) -> str:
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return str(record["id"])
    return ""


def _pending(
    record: object,
    number: int,
    queue: str | None,
    keep_ids: bool,
    as_pending: bool,
    clock: Clock,
) -> _Pending:
    """The Task a record describes; InvalidArgumentError says what is wrong with it."""
    if not isinstance(record, dict):
        raise InvalidArgumentError("a task line must be a JSON object")
    exported_id = _exported_id(record)
    if keep_ids and not exported_id:
        raise InvalidArgumentError("no task id to keep")
    target = queue if queue is not None else record.get("queue")
    if not isinstance(target, str) or not target.strip():
        raise InvalidArgumentError("no queue: the line has none and no --queue was given")
    process_at = None
    if not as_pending:
        next_at = _time_of(record, "next_process_at")
        if next_at is not None and next_at.timestamp() > clock.now():
            process_at = next_at
    timeout = _int_of(record, "timeout")
    retention = _int_of(record, "retention")
    headers = record.get("headers") or None
    group = record.get("group") or None
    try:
        task = Task(
            _str_of(record, "type"),
            _payload_of(record),
            queue=target,
            max_retry=_int_of(record, "max_retry"),
            timeout=timeout or None,
            deadline=_time_of(record, "deadline"),
            retention=retention or None,
            group=group,
            headers=headers,
            task_id=exported_id if keep_ids else None,
            process_at=process_at,
        )
        # Checks what only encoding finds (strings protobuf refuses) before anything is written.
        plan_enqueue(task, task.options(), clock.now())
    except InvalidArgumentError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(str(exc)) from None
    return _Pending(line=number, exported_id=exported_id, task=task)


def _str_of(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string")
    return value


def _int_of(record: Mapping[str, Any], name: str) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise InvalidArgumentError(f"{name} must not be negative, got {value!r}")
    return value


def _time_of(record: Mapping[str, Any], name: str) -> datetime | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be an ISO 8601 time or null")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgumentError(f"{name} is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise InvalidArgumentError(f"{name} must carry a UTC offset: {value!r}")
    return moment


def _payload_of(record: Mapping[str, Any]) -> bytes:
    """The payload bytes: from ``b64``, or from ``text`` when the file was edited by hand and
    has no ``b64``; both present must agree, so an edit of one alone is not silently lost."""
    value = record.get("payload")
    if value is None:
        return b""
    if not isinstance(value, dict):
        raise InvalidArgumentError('payload must be an object {"b64": ..., "text": ...}')
    encoded, text = value.get("b64"), value.get("text")
    if encoded is None and text is None:
        raise InvalidArgumentError("payload has neither b64 nor text")
    if text is not None and not isinstance(text, str):
        raise InvalidArgumentError("payload text must be a string")
    if not isinstance(encoded, str):
        if encoded is not None:
            raise InvalidArgumentError("payload b64 must be a string")
        try:
            return str(text).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError("payload text is not valid Unicode") from None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgumentError("payload b64 is not valid base64") from None
    if text is not None and text.encode("utf-8", "surrogatepass") != data:
        raise InvalidArgumentError("payload text and b64 disagree (edit one and remove the other)")
    return data


def _preview(
    pending: _Pending,
    tally: _Tally,
    keep_ids: bool,
    inspector: Inspector | None,
    seen: set[tuple[str, str]],
    clock: Clock,
) -> None:
    task = pending.task
    target = task.queue or ""
    if keep_ids:
        key = (target, task.task_id or "")
        if key in seen or (inspector is not None and _exists(inspector, *key)):
            tally.skip(pending.line, str(TaskIdConflictError(*key)), pending.exported_id)
            return
        seen.add(key)
    info = plan_enqueue(task, task.options(), clock.now()).info
    tally.done(_planned(pending, info, new_id=task.task_id or ""))


def _exists(inspector: Inspector, queue: str, task_id: str) -> bool:
    try:
        inspector.get_task_info(queue, task_id)
    except (TaskNotFoundError, QueueNotFoundError):
        return False
    except MalformedDataError:
        return True  # a record is there, even if unreadable: the id is taken
    return True


def _enqueue(client: Client, batch: list[_Pending], tally: _Tally) -> None:
    try:
        outcomes = client.enqueue_many([p.task for p in batch], return_exceptions=True)
    except RedisUnavailableError as exc:
        raise ImportInterruptedError(tally.result(False), batch[0].line, exc) from exc
    for pending, outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, QueueCoreError):
            tally.skip(pending.line, str(outcome), pending.exported_id)
        else:
            tally.done(_planned(pending, outcome, new_id=outcome.id))


def _planned(pending: _Pending, info: TaskInfo, *, new_id: str) -> PlannedTask:
    return PlannedTask(
        line=pending.line,
        id=new_id,
        exported_id=pending.exported_id,
        queue=info.queue,
        type=info.type,
        state=info.state,
        payload=info.payload,
    )
