"""Factories and seeders: build messages and put tasks into any state with raw Redis writes.

Seeders write exactly what asynq's scripts would leave behind (spec §2-§4), without going through
our own client, so tests of readers do not depend on our writers.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

import redis

from queuecore import keys
from queuecore.messages import TaskMessage, encode_task_message

_counter = itertools.count(1)


def make_message(**overrides: Any) -> TaskMessage:
    """A TaskMessage with asynq's client defaults; any field can be overridden."""
    fields: dict[str, Any] = {
        "type": "email:send",
        "payload": b'{"to": "a@example.com", "n": %d}' % next(_counter),
        "id": str(uuid.uuid4()),
        "queue": "default",
        "retry": 25,
        "timeout": 1800,
    }
    fields.update(overrides)
    headers = fields.pop("headers", None)
    msg = TaskMessage(**fields)
    if headers:
        msg.headers.update(headers)
    return msg


def seed_task(
    client: redis.Redis,
    state: str,
    msg: TaskMessage | None = None,
    *,
    score: int | None = None,
    now: float | None = None,
    result: bytes | None = None,
    **overrides: Any,
) -> TaskMessage:
    """Put one task into ``state`` as asynq would have left it. Returns the message."""
    msg = msg or make_message(**overrides)
    now = time.time() if now is None else now
    q, tid = msg.queue, msg.id
    tkey = keys.task_key(q, tid)
    fields: dict[str, Any] = {"msg": encode_task_message(msg), "state": state}
    if msg.unique_key:
        fields["unique_key"] = msg.unique_key
    if result is not None:
        fields["result"] = result
    pipe = client.pipeline(transaction=False)
    pipe.sadd(keys.ALL_QUEUES, q)
    if state == "pending":
        fields["pending_since"] = str(int(now * 1e9))
        pipe.lpush(keys.pending_key(q), tid)
    elif state == "active":
        pipe.lpush(keys.active_key(q), tid)
        pipe.zadd(keys.lease_key(q), {tid: int(now) + 30 if score is None else score})
    elif state == "aggregating":
        group = msg.group_key or "group1"
        fields["group"] = group
        pipe.zadd(keys.group_key(q, group), {tid: int(now) if score is None else score})
        pipe.sadd(keys.all_groups(q), group)
    elif state in keys.ZSET_STATES:
        pipe.zadd(keys.state_key(q, state), {tid: int(now) if score is None else score})
    else:
        raise ValueError(f"unknown state {state}")
    pipe.hset(tkey, mapping=fields)
    pipe.execute()
    return msg


def seed_many(client: redis.Redis, state: str, count: int, **overrides: Any) -> list[TaskMessage]:
    return [seed_task(client, state, **overrides) for _ in range(count)]
