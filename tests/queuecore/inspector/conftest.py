"""Fixtures for Inspector tests: an Inspector on the flushed test Redis with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from queuecore.clock import FrozenClock
from queuecore.inspector import Inspector
from tests.support.snapshots import key_type, key_value

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
    return {
        raw.decode(): key_value(client, raw, key_type(client, raw))
        for raw in client.scan_iter(match="asynq:*", count=1000)
    }
