"""Test harness: a real redis-server started for the session, flushed around each test.

No fakes of Redis. When redis-server is missing, Redis tests skip locally and fail under CI
(``CI`` set), where scripts/test installs it first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from tests.support.redis_server import (
    RedisProcess,
    redis_missing_is_fatal,
    redis_server_binary,
    start_redis,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Loopback HTTP and SMTP receivers (http_receiver, smtp_receiver) for the alert tests, and the one
# session browser (browser, page, operator_user) for every browser test.
pytest_plugins = ["tests.support.receivers", "tests.support.browser"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    if redis_server_binary() is None:
        message = "redis-server is not installed (scripts/test installs it with apt-get)"
        if redis_missing_is_fatal():
            pytest.fail(message)
        pytest.skip(message)
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisProcess) -> Iterator[str]:
    """The URL of a freshly flushed DB of the session's Redis."""
    client = redis.Redis(port=redis_server.port)
    client.flushall()
    yield redis_server.url
    client.flushall()
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A raw binary-safe client on the flushed DB, for asserting on keys directly."""
    client = redis.Redis.from_url(redis_url, decode_responses=False)
    yield client
    client.close()


@pytest.fixture
def queuecore_settings(settings: object, redis_url: str) -> str:
    """Point Django's QUEUECORE setting at the test Redis; returns its URL."""
    current = dict(getattr(settings, "QUEUECORE", {}))
    current["REDIS_URL"] = redis_url
    settings.QUEUECORE = current  # type: ignore[attr-defined]
    return redis_url
