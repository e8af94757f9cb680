"""Shared pieces for worker tests: a WorkerStore, and a burst run of a Server over a mux."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from queuecore.handlers import ServeMux
from queuecore.rdb.worker import WorkerStore
from queuecore.server import Server

BURST_DEADLINE = 30.0


@pytest.fixture
def store(redis_url: str) -> WorkerStore:
    return WorkerStore.from_url(redis_url)


@pytest.fixture
def burst(redis_url: str) -> Callable[..., Server]:
    """Run a server in burst mode (returns when the queues are empty and nothing is held)."""

    def run(mux: ServeMux, **options: Any) -> Server:
        options.setdefault("concurrency", 4)
        server = Server.from_url(redis_url, mux=mux, **options)
        server.start(burst=True)
        assert server.wait(BURST_DEADLINE), "the burst-mode server did not finish"
        return server

    return run
