"""Fixtures of the export and replay tests: an Inspector, a Client and archived tasks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis

from queuecore.client import Client
from queuecore.export import export_jsonl
from queuecore.inspector import Inspector
from tests.support.factories import seed_task

BINARY = bytes(range(256)) + b"\x00\xff\xfe"


@pytest.fixture
def insp(redis_url: str) -> Iterator[Inspector]:
    inspector = Inspector.from_url(redis_url)
    yield inspector
    inspector.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[Client]:
    c = Client.from_url(redis_url)
    yield c
    c.close()


def export_lines(insp: Inspector, queue: str, state: str, **kwargs: object) -> list[str]:
    return list(export_jsonl(insp, queue, state, **kwargs))  # type: ignore[arg-type]


def records(lines: list[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines]


def snapshot(client: redis.Redis) -> dict[bytes, bytes | None]:
    return {key: client.dump(key) for key in sorted(client.keys("*"))}


@pytest.fixture
def failures(redis_client: redis.Redis) -> dict[str, str]:
    """Archived tasks as a Go worker leaves them: a text one with every option, a binary one."""
    deadline = int(time.time()) + 86_400
    text = seed_task(
        redis_client,
        "archived",
        type="email:send",
        payload='{"to": "ü@example.com", "n": 1}'.encode(),
        headers={"trace_id": "abc123", "tenant": "acme"},
        retry=7,
        retried=7,
        timeout=90,
        deadline=deadline,
        retention=3600,
        error_msg="smtp: connection refused",
        last_failed_at=1_700_000_000,
    )
    binary = seed_task(
        redis_client,
        "archived",
        type="image:resize",
        payload=BINARY,
        retry=3,
        timeout=0,
        deadline=deadline,
        error_msg="decode: bad header",
        last_failed_at=1_700_000_100,
    )
    return {"text": text.id, "binary": binary.id}
