"""``python -m queuecore.server``: the worker without Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from queuecore import keys
from queuecore.client import Client, Task
from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[3]


def run_module(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "queuecore.server", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
    )


def test_module_runs_imported_handlers_in_burst_mode(redis_url, redis_client):
    with Client.from_url(redis_url) as client:
        info = client.enqueue(Task("sample:echo", b"hello"), queue="jobs", retention=60)
    result = run_module(
        "--redis-url",
        redis_url,
        "--import",
        "tests.support.sample_handlers",
        "-q",
        "jobs=2",
        "--burst",
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"serving jobs=2" in result.stderr
    fields = redis_client.hgetall(keys.task_key("jobs", info.id))
    assert (fields[b"state"], fields[b"result"]) == (b"completed", b"hello")


def test_module_refuses_a_bad_queue_spec():
    result = run_module("-q", "jobs=0", "--burst")
    assert result.returncode == 2
    assert b"weight must be at least 1" in result.stderr


def test_module_exits_1_naming_the_redis_it_cannot_reach_at_start():
    dead = f"redis://127.0.0.1:{free_port()}/0"
    result = run_module("--redis-url", dead, "--burst")
    assert result.returncode == 1
    assert f"error: cannot reach Redis at {dead}".encode() in result.stderr
