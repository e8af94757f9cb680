"""``python -m queuecore.server``: the worker without Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from queuecore import keys
from queuecore.client import Client, Task

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
