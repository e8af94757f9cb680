"""The recycle bin: copies of tasks deleted through the dashboard, restorable for a while.

Before the dashboard deletes tasks (one, selected, or all in a state) it writes each task's
export record (``queuecore.export.task_record``) to the database; if that write fails the delete
is refused, so nothing is lost without a copy by accident. One deletion keeps at most
``QUEUECORE["RECYCLE_BIN_MAX_TASKS"]`` copies; the rest are deleted without one and its audit
entry says how many. Copies older than ``QUEUECORE["RECYCLE_BIN_HOURS"]`` (0: keep none) are
purged lazily, when the bin page is viewed and when new copies are written.

Deletes made by other tools directly in Redis, and queue deletion, keep no copies.

Restore replays the records through ``queuecore.export.import_tasks`` (so through the Client)
with their original ids: pending, or scheduled again when deleted while scheduled for a time
still ahead; a task with a group goes back to its group. An id that exists again is skipped and
reported, never overwritten, and its copy stays in the bin.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction
from django.utils import timezone

from dashboard.models import AuditEntry, DeletedTask
from queuecore import Client, Inspector, TaskInfo, TaskState
from queuecore.clock import SYSTEM_CLOCK, Clock
from queuecore.contrib.django.conf import queuecore_setting
from queuecore.errors import QueueCoreError
from queuecore.export import EXPORT_FORMAT, EXPORT_VERSION, import_tasks, task_record
from queuecore.inspection import ActionOutcome, BatchResult
from queuecore.names import shown

# Copies restored per import call: import results list at most 100 problems one by one, so
# every skipped copy is matched to its line.
RESTORE_BATCH = 100

Progress = Callable[..., None]


class RecycleBinError(QueueCoreError):
    """The copies could not be written, so the delete was refused."""


def hours() -> float:
    value = queuecore_setting("RECYCLE_BIN_HOURS")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ImproperlyConfigured('QUEUECORE["RECYCLE_BIN_HOURS"] must be hours, 0 or more')
    return float(value)


def max_tasks() -> int:
    value = queuecore_setting("RECYCLE_BIN_MAX_TASKS")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImproperlyConfigured('QUEUECORE["RECYCLE_BIN_MAX_TASKS"] must be a count, 0 or more')
    return value


def purge_expired() -> int:
    """Delete the copies older than the keeping time (all of them when the bin is off)."""
    kept_for = hours()
    copies = DeletedTask.objects.all()
    if kept_for > 0:
        copies = copies.filter(deleted_at__lt=timezone.now() - timedelta(hours=kept_for))
    deleted, _ = copies.delete()
    return deleted


class RecycleBin:
    """The copies one deletion (one audit entry) keeps, written before each delete."""

    def __init__(self, entry: AuditEntry) -> None:
        self.entry = entry
        self.enabled = hours() > 0
        self.limit = max_tasks() if self.enabled else 0
        self.kept = 0
        self._purged = False

    @property
    def room(self) -> int:
        return max(self.limit - self.kept, 0)

    def keep(self, tasks: Sequence[TaskInfo]) -> None:
        """Copy ``tasks`` (as many as there is room for) before they are deleted.

        Raises RecycleBinError when the database refuses; the caller must not delete then.
        """
        taken = list(tasks)[: self.room]
        if not taken:
            return
        try:
            with transaction.atomic():
                if not self._purged:
                    purge_expired()
                    self._purged = True
                if self.entry.pk is None:
                    self.entry.save()  # the copies point at it; finishing the action saves it again
                user = self.entry.user
                DeletedTask.objects.bulk_create(
                    DeletedTask(
                        # The database keeps UTF-8 only: a name that is not is kept as shown.
                        queue=shown(task.queue),
                        state=task.state.value,
                        task_id=shown(task.id),
                        type=task.type,
                        record=task_record(task),
                        user=user,
                        username=self.entry.username,
                        audit=self.entry,
                        instance=self.entry.instance,
                    )
                    for task in taken
                )
        except DatabaseError as exc:
            raise RecycleBinError(
                f"Nothing was deleted: the recycle bin could not keep a copy ({exc})."
            ) from exc
        self.kept += len(taken)

    def forget(self, task_ids: Iterable[str]) -> None:
        """Drop the copies of tasks that were not deleted after all (they moved meanwhile)."""
        ids = list(task_ids)
        if not ids or self.entry.pk is None:
            return
        dropped, _ = DeletedTask.objects.filter(audit=self.entry, task_id__in=ids).delete()
        self.kept -= dropped

    def note(self, deleted: int) -> str:
        """What the audit entry says about the copies of ``deleted`` tasks."""
        if not self.enabled:
            return ""
        without = max(deleted - self.kept, 0)
        note = f"{self.kept} kept in the recycle bin"
        if without:
            note += (
                f", {without} deleted without a copy "
                f'(QUEUECORE["RECYCLE_BIN_MAX_TASKS"] = {self.limit})'
            )
        return note + "."


def delete_one(insp: Inspector, task: TaskInfo, recycle_bin: RecycleBin) -> None:
    recycle_bin.keep([task])
    try:
        insp.delete_task(task.queue, task.id)
    except Exception:
        recycle_bin.forget([task.id])
        raise


def delete_selected(
    insp: Inspector, queue: str, ids: Sequence[str], recycle_bin: RecycleBin
) -> BatchResult:
    """``delete_tasks`` with a copy of each task first (ids not found are left to it to report)."""
    if recycle_bin.room:
        recycle_bin.keep(list(_readable(insp, queue, ids[: recycle_bin.room])))
    result = insp.delete_tasks(queue, ids)
    recycle_bin.forget(i for i, o in result.outcomes.items() if o is not ActionOutcome.OK)
    return result


def _readable(insp: Inspector, queue: str, ids: Sequence[str]) -> Iterator[TaskInfo]:
    for task_id in dict.fromkeys(ids):
        try:
            task = insp.get_task_info(queue, task_id)
        except QueueCoreError:
            continue  # gone or unreadable: delete_tasks reports it or deletes it uncopied
        if task.state is not TaskState.ACTIVE:
            yield task


def delete_all(
    insp: Inspector,
    queue: str,
    state: TaskState,
    group: str | None,
    recycle_bin: RecycleBin,
    progress: Progress,
) -> int:
    """Delete every task in ``state``, copying chunk by chunk while the bin has room.

    Each chunk is read (oldest first), copied, then deleted by id; copies of tasks that left the
    state in between are dropped. Bounded by the size at start, like ``Inspector.delete_all``,
    which deletes what is left (past the bin's limit, or records that cannot be read) uncopied.
    """
    done = seen = 0
    total: int | None = None
    unreadable = 0
    while recycle_bin.room and (total is None or seen < total):
        # Unreadable records stay at the head of the state: read past them.
        want = min(insp.chunk_size, recycle_bin.room)
        page = insp.list_tasks(queue, state, page=1, page_size=want + unreadable, group=group)
        if total is None:
            total = page.total
        unreadable = page.skipped
        if not page:
            break
        recycle_bin.keep(page)
        result = insp.delete_tasks(queue, [task.id for task in page])
        recycle_bin.forget(i for i, o in result.outcomes.items() if o is not ActionOutcome.OK)
        done += len(result.succeeded)
        seen += len(page)
        progress(done, total)
    if recycle_bin.room and total is not None and seen >= total and not unreadable:
        return done
    start, size = done, total or 0
    return start + insp.delete_all(
        queue, state, group, progress=lambda moved, *_: progress(start + moved, size)
    )


# -- restore -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Restored:
    """What a restore did: the copies re-enqueued (and removed from the bin), and those skipped
    with why (an id that exists again, a record the Client refuses); skipped copies stay."""

    restored: list[DeletedTask]
    skipped: list[tuple[DeletedTask, str]]


def restore(copies: Sequence[DeletedTask], client: Client, clock: Clock = SYSTEM_CLOCK) -> Restored:
    restored: list[DeletedTask] = []
    skipped: list[tuple[DeletedTask, str]] = []
    for start in range(0, len(copies), RESTORE_BATCH):
        batch = copies[start : start + RESTORE_BATCH]
        result = import_tasks(_lines(batch), client, keep_ids=True, as_pending=False, clock=clock)
        # Line 1 is the header; copy i is on line i + 2.
        problems = {p.line: p.reason for p in (*result.skipped, *result.malformed)}
        back = []
        for line, copy in enumerate(batch, start=2):
            if line in problems:
                skipped.append((copy, problems[line]))
            else:
                back.append(copy)
        DeletedTask.objects.filter(pk__in=[c.pk for c in back]).delete()
        restored.extend(back)
    return Restored(restored=restored, skipped=skipped)


def _lines(copies: Sequence[DeletedTask]) -> Iterator[str]:
    yield json.dumps({"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "recycle_bin": True})
    for copy in copies:
        record = dict(copy.record)
        record["queue"], record["id"] = copy.queue, copy.task_id
        # Only a scheduled task goes back to its time; import keeps a future time, else pending.
        if copy.state != TaskState.SCHEDULED.value:
            record["next_process_at"] = None
        yield json.dumps(record)
