"""Live conformance against real Go asynq: the lab is built once per session, Redis is shared.

When the lab cannot be built (no ../shared/asynq-lab, no Go and no way to install it), these
tests skip with the reason locally and fail when ``CI`` is set — as with a missing redis-server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.go.lab import GoLab, LabUnavailable, build
from tests.go.py_side import PyWorker
from tests.support.redis_server import RedisProcess, redis_missing_is_fatal


@pytest.fixture(scope="session")
def lab_binary() -> Path:
    try:
        return build()
    except LabUnavailable as exc:
        if redis_missing_is_fatal():
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture
def go(lab_binary: Path, redis_server: RedisProcess, redis_url: str) -> Iterator[GoLab]:
    """The lab pointed at the freshly flushed DB 0 of the session's Redis."""
    lab = GoLab(lab_binary, redis_server.port)
    yield lab
    lab.stop_all()


@pytest.fixture
def py_worker(redis_url: str) -> Iterator[PyWorker]:
    worker = PyWorker(redis_url)
    yield worker
    worker.stop()
