"""Fixtures for Inspector tests: an Inspector on the flushed test Redis with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from queuecore.clock import FrozenClock
from queuecore.inspector import Inspector

NOW = 1_795_621_221  # 2026-11-25T15:40:21Z, the fixture capture second


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def inspector(redis_url: str, clock: FrozenClock) -> Iterator[Inspector]:
    insp = Inspector.from_url(redis_url, clock=clock, chunk_size=7)
    yield insp
    insp.close()


def snapshot(client: redis.Redis) -> dict[str, Any]:
    """Every ``asynq:*`` key with its full value, for before/after comparisons."""
    result: dict[str, Any] = {}
    for raw in client.scan_iter(match="asynq:*", count=1000):
        key = raw.decode()
        kind = client.type(raw).decode()
        if kind == "string":
            value: Any = client.get(raw)
        elif kind == "hash":
            value = client.hgetall(raw)
        elif kind == "list":
            value = client.lrange(raw, 0, -1)
        elif kind == "set":
            value = client.smembers(raw)
        elif kind == "zset":
            value = client.zrange(raw, 0, -1, withscores=True)
        else:
            value = kind
        result[key] = value
    return result
