"""Records that cannot be read as tasks: why, their bytes, and deleting them by id.

Such records are what the README's "Poison data" rule leaves for an operator: a key of another
type under a task id, a hash without ``msg``, a ``msg`` that is not protobuf, or an id listed in a
state with no key at all. Listings skip them (``TaskPage.skipped_ids``); here they can be looked
at (:meth:`UnreadableRecords.unreadable_record`, whose ``data`` is the bytes to export, where
there are any) and deleted (:meth:`UnreadableRecords.delete_unreadable`), from every list and
zset of the queue since their state cannot be trusted. A readable task is refused here: it has
its own actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from queuecore import keys
from queuecore.errors import MalformedDataError, TaskNotFoundError, WrongStateError
from queuecore.messages import decode_task_message

if TYPE_CHECKING:
    from queuecore.rdb.inspect import InspectStore

__all__ = ["UnreadableRecord", "UnreadableRecords"]

READABLE = "the task is readable: use its own actions"


@dataclass(frozen=True, kw_only=True)
class UnreadableRecord:
    """One record under a task id that is no readable task.

    ``kind`` is its Redis type (``none``: only the id is left, in some state's container),
    ``reason`` says why it cannot be read, ``data`` holds its bytes (a hash's ``msg``, a string's
    value), None when there are none.
    """

    queue: str
    task_id: str
    kind: str
    reason: str
    data: bytes | None


def reason_for(kind: str, data: bytes | None, key: str) -> str:
    """Why a record of ``kind`` holding ``data`` is no task; "" when it is a readable one."""
    if kind == "none":
        return "no task key: only the id is left"
    if kind != "hash":
        return f"the task key is a {kind}, not a hash"
    try:
        decode_task_message(data, key=key)
    except MalformedDataError as exc:
        return exc.detail
    return ""


class UnreadableRecords:
    """The Inspector's methods for unreadable records (a base of :class:`Inspector`)."""

    store: InspectStore

    if TYPE_CHECKING:

        def _require_queue(self, qname: str) -> None: ...

    def unreadable_record(self, qname: str, task_id: str) -> UnreadableRecord:
        """The record under ``task_id``: why it cannot be read, and its bytes.

        TaskNotFoundError when there is no key (a dangling id shows in the listing's
        ``skipped_ids``; delete it with :meth:`delete_unreadable`), WrongStateError when the
        record is a readable task.
        """
        self._require_queue(qname)
        kind, data = self.store.raw_record(qname, task_id)
        if kind == "none":
            raise TaskNotFoundError(qname, task_id)
        reason = reason_for(kind, data, keys.task_key(qname, task_id))
        if not reason:
            raise WrongStateError(qname, task_id, "readable", READABLE)
        return UnreadableRecord(queue=qname, task_id=task_id, kind=kind, reason=reason, data=data)

    def delete_unreadable(self, qname: str, task_id: str) -> None:
        """Delete an unreadable record (or a dangling id) from the key space and every container.

        TaskNotFoundError when nothing holds the id, WrongStateError when it is a readable task.
        """
        self._require_queue(qname)
        kind, data = self.store.raw_record(qname, task_id)
        if kind != "none" and not reason_for(kind, data, keys.task_key(qname, task_id)):
            raise WrongStateError(qname, task_id, "readable", READABLE)
        if self.store.delete_unreadable(qname, task_id) == 0:
            raise TaskNotFoundError(qname, task_id)
