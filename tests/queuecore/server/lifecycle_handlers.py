"""Handlers for the SIGTSTP tests' worker subprocess (``--import`` this module).

``lifecycle:hold`` records its task id in ``lifecycle:started`` and returns once the key
``lifecycle:release`` exists (or its context is cancelled, e.g. requeued at shutdown);
``lifecycle:quick`` returns at once. Both record finished ids in
``lifecycle:handled``. The Redis URL comes from ``LIFECYCLE_REDIS_URL``. Test bookkeeping keys
live outside asynq's namespace.
"""

from __future__ import annotations

import os
import time

import redis

from queuecore.handlers import HandlerTask, handler

STARTED_KEY = "lifecycle:started"
HANDLED_KEY = "lifecycle:handled"
RELEASE_KEY = "lifecycle:release"
HOLD_SECONDS_MAX = 60.0

_recorder: redis.Redis | None = None


def recorder() -> redis.Redis:
    global _recorder
    if _recorder is None:
        _recorder = redis.Redis.from_url(os.environ["LIFECYCLE_REDIS_URL"])
    return _recorder


@handler("lifecycle:hold")
def hold(task: HandlerTask) -> None:
    client = recorder()
    client.sadd(STARTED_KEY, task.id)
    end = time.monotonic() + HOLD_SECONDS_MAX
    # Another process releases it: polling is the process boundary.
    while not client.exists(RELEASE_KEY) and time.monotonic() < end:
        if task.cancel_event.wait(0.01):
            task.raise_if_cancelled()
    client.sadd(HANDLED_KEY, task.id)


@handler("lifecycle:quick")
def quick(task: HandlerTask) -> None:
    recorder().sadd(HANDLED_KEY, task.id)
