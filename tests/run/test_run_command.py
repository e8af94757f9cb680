"""scripts/run, headless: from no Redis to a dashboard whose every state tab fills, then Ctrl-C.

Runs the real command in a subprocess with its own ports, run directory and database, logs in
through the login form like a browser, scrapes the overview and the JSON API once a second, then
sends SIGINT and checks that every process group it started is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.redis_server import free_port, redis_server_binary
from tests.support.web import Browser

ROOT = Path(__file__).resolve().parents[2]
STATES = ("active", "pending", "scheduled", "retry", "archived", "completed", "aggregating")
START_DEADLINE = 120.0
FILL_DEADLINE = 60.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(redis_server_binary() is None, reason="needs redis-server on PATH"),
]


def wait_for(predicate, deadline: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_scripts_run_fills_every_state_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    port, redis_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        PORT=str(port),
        RUN_REDIS_PORT=str(redis_port),
        RUN_DIR=str(tmp_path / "run"),
        DATABASE_PATH=str(tmp_path / "db.sqlite3"),
        DJANGO_SUPERUSER_USERNAME="runner",
        DJANGO_SUPERUSER_PASSWORD="run-pass-4f8a2c",
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    groups: dict[str, int] = {}
    try:

        def log_text() -> str:
            return log_path.read_text(errors="replace")

        wait_for(lambda: "Dashboard:" in log_text() or process.poll() is not None,
                 START_DEADLINE, "the start banner")  # fmt: skip
        assert process.poll() is None, log_text()
        text = log_text()
        assert "Redis: starting redis-server from PATH" in text
        assert "Login:      runner / run-pass-4f8a2c" in text
        groups = json.loads((tmp_path / "run" / "run.json").read_text())["groups"]
        assert set(groups) == {"redis", "scheduler", "worker", "dashboard", "demo"}

        browser = Browser(f"http://127.0.0.1:{port}")
        browser.login("runner", "run-pass-4f8a2c")
        seen: set[str] = set()
        end = time.monotonic() + FILL_DEADLINE
        while time.monotonic() < end and seen != set(STATES):
            status, page = browser.get("/")
            assert status == 200
            status, body = browser.get("/api/queues")
            assert status == 200
            for queue in json.loads(body)["queues"]:
                seen.update(state for state in STATES if queue[state] > 0)
            time.sleep(1)
        assert seen == set(STATES), f"never filled: {set(STATES) - seen}"
        assert b"critical" in page
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for pgid in groups.values():
                if alive(pgid):
                    os.killpg(pgid, signal.SIGKILL)
            process.kill()
            raise
    assert code == 0, log_path.read_text(errors="replace")[-3000:]
    assert "stopped every process scripts/run started" in log_path.read_text()
    still_running = [name for name, pgid in groups.items() if alive(pgid)]
    assert still_running == []
    assert not (tmp_path / "run" / "run.json").exists()
