"""Poison data: records the worker cannot run are taken out of the flow, one by one.

The rule (README, "Poison data"): an ID that names no key is dropped from the list or zset it
was in; an ID whose key exists but is no readable task (a key of another type, a hash without
``msg``, a ``msg`` that is not protobuf) is moved to ``archived`` with its key left as it is, so
an operator can export its bytes and delete it by id. Either way it is logged, counted, and never
left in ``pending`` or ``active``; the good tasks of the same batch go on in the same round trip.

The Lua scripts find missing and mistyped keys themselves; only Python can tell that a message
is not protobuf, so claimed IDs with such a message go through ``quarantine.lua`` afterwards.
A queue key of the wrong type (``pending`` a string) makes the claim script answer
``WRONGTYPE queue key ...`` before it touches anything; that is a :class:`MalformedDataError`
for that queue only.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import redis

from queuecore import keys
from queuecore.errors import MalformedDataError, QueueCoreError
from queuecore.messages import TaskMessage, decode_task_message
from queuecore.names import decode_name
from queuecore.rdb.base import RedisStore, redis_errors

log = logging.getLogger("queuecore.rdb.poison")

WRONG_TYPE_PREFIX = "WRONGTYPE queue key "


def text(value: Any) -> str:
    # Reversibly (queuecore.names): an id that is not UTF-8 must still name its key.
    return decode_name(value) if isinstance(value, bytes) else str(value)


def queue_key_error(reply_text: str) -> MalformedDataError | None:
    """The claim/recovery scripts' refusal of a mistyped queue key, as an error; else None."""
    at = reply_text.find(WRONG_TYPE_PREFIX)
    if at < 0:
        return None
    key, _, kind = reply_text[at + len(WRONG_TYPE_PREFIX) :].partition(" holds a ")
    return MalformedDataError(key, f"queue key holds a {kind.strip() or '?'}, not asynq's type")


class QuarantineCounter:
    """How many records were taken out of the flow, by queue and outcome (for logs and tests)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def total(self, queue: str | None = None) -> int:
        return sum(n for (q, _), n in self.counts.items() if queue is None or q == queue)

    def record(self, queue: str, task_id: str, outcome: str, where: str) -> None:
        if outcome == "not active":
            return
        kept = "dropped (no key)" if outcome == "missing" else f"archived ({outcome})"
        log.error("poison data: task id=%s of queue %s found in %s %s", task_id, queue, where, kept)
        self.counts[(queue, "dropped" if outcome == "missing" else "archived")] += 1

    def record_pairs(self, queue: str, flat: list[Any], where: str) -> None:
        for i in range(0, len(flat) - 1, 2):
            self.record(queue, text(flat[i]), text(flat[i + 1]), where)


def decode_pairs(queue: str, flat: list[Any], where: str) -> tuple[list[TaskMessage], list[str]]:
    """``{id1, msg1, ...}`` as messages, plus the IDs whose message is not protobuf."""
    msgs: list[TaskMessage] = []
    undecodable: list[str] = []
    for i in range(1, len(flat), 2):
        try:
            msgs.append(decode_task_message(flat[i]))
        except MalformedDataError as exc:
            task_id = text(flat[i - 1])
            log.error("poison data: %s in %s of queue %s: %s", task_id, where, queue, exc.detail)
            undecodable.append(task_id)
    return msgs, undecodable


def quarantine_call(queue: str, task_ids: list[str], now: float) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of ``quarantine.lua`` for IDs held in ``queue``'s active list."""
    return (
        [keys.active_key(queue), keys.lease_key(queue), keys.archived_key(queue)],
        [int(now), keys.task_key_prefix(queue), *task_ids],
    )


class QuarantineStore(RedisStore):
    """What a worker's store needs to take bad records out of the flow (the WorkerStore's base)."""

    _poison: QuarantineCounter | None = None

    @property
    def poison(self) -> QuarantineCounter:
        """The records this store took out of the flow."""
        counter = self._poison
        if counter is None:
            counter = self._poison = QuarantineCounter()
        return counter

    def _run_queue_script(self, name: str, keys_: list[str], args: list[Any]) -> Any:
        """``run``, with a mistyped queue key as a MalformedDataError (that queue's alone)."""
        with redis_errors():
            try:
                return self.scripts(name, keys_, args)
            except redis.ResponseError as exc:
                mistyped = queue_key_error(str(exc))
                if mistyped is None:
                    raise
                raise mistyped from exc

    def quarantine(self, queue: str, task_ids: list[str], now: float) -> None:
        """Move active IDs that cannot be run to archived (no key: drop them); logged, counted.

        A failure is only logged: the IDs stay leased and lease recovery quarantines them.
        """
        try:
            flat = self.run("quarantine", *quarantine_call(queue, task_ids, now))
        except (QueueCoreError, redis.RedisError) as exc:
            log.error("could not quarantine %s of queue %s: %s", task_ids, queue, exc)
            return
        self.poison.record_pairs(queue, flat, "active")


class UnreadableRecordStore(RedisStore):
    """The Inspector's reads and deletes of records that cannot be read as tasks (its base)."""

    def raw_record(self, qname: str, task_id: str) -> tuple[str, bytes | None]:
        """The Redis type under the id (``none`` when absent) and its bytes (a hash's msg, a
        string's value; None otherwise)."""
        kind, data = self.run("inspect_raw_record", [keys.task_key(qname, task_id)], [])
        return text(kind), data if isinstance(data, bytes) else None

    def delete_unreadable(self, qname: str, task_id: str) -> int:
        """Delete the key and the id from every container; how many places held it."""
        return int(
            self.run(
                "inspect_delete_unreadable",
                [keys.task_key(qname, task_id)],
                [task_id, keys.queue_key_prefix(qname)],
            )
        )
