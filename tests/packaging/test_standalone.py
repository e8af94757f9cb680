"""``queuecore-dashboard`` from the installed wheel: Asynqmon's one command, with a login.

Started against the suite's Redis with a data directory of its own, under a root path, read-only:
it prints the generated first admin once, serves ``/healthz`` without login, the overview after
login, and refuses a change. Started again on the same data directory it creates no second admin.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from queuecore import Client, Task
from tests.support.installed import Venv, clean_env
from tests.support.redis_server import free_port
from tests.support.web import Browser, wait_until_serving

pytestmark = pytest.mark.slow

ROOT_PATH = "/ops"


class Standalone:
    def __init__(self, venv: Venv, data_dir: Path, redis_url: str, *flags: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"standalone-{self.port}.log"
        args = [venv.bin("queuecore-dashboard"), "--redis-url", redis_url]
        args += ["--port", str(self.port), "--data-dir", str(data_dir), *flags]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                args, cwd=data_dir.parent, env=clean_env(), stdout=out, stderr=out
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, self.output()


@pytest.fixture
def data_dir(user_dir: Path) -> Path:
    return user_dir / "data"


@pytest.fixture
def read_only(dashboard_venv: Venv, data_dir: Path, redis_url: str) -> Iterator[Standalone]:
    server = Standalone(
        dashboard_venv, data_dir, redis_url, "--root-path", ROOT_PATH, "--read-only"
    )
    try:
        wait_until_serving(f"{server.base}{ROOT_PATH}/healthz", server.process, server.output)
        yield server
    finally:
        server.stop()


def test_the_standalone_command_serves_a_read_only_dashboard_under_its_root_path(
    read_only: Standalone, dashboard_venv: Venv, data_dir: Path, redis_url: str
) -> None:
    Client.from_url(redis_url).enqueue(Task("email:send", b"{}"), queue="emails")
    printed = re.search(r"created the first admin .*: (\S+) / (\S+)", read_only.output())
    assert printed, read_only.output()
    username, password = printed.groups()
    browser = Browser(read_only.base)

    health = browser.request(f"{ROOT_PATH}/healthz")
    assert health.status == 200
    assert json.loads(health.body) == {"status": "ok", "redis": "ok"}

    outside = browser.request("/", follow=False)
    assert outside.status == 302
    assert outside.headers["Location"] == f"{ROOT_PATH}/"
    assert browser.request("/elsewhere").status == 404

    browser.login(username, password, path=f"{ROOT_PATH}/accounts/login/?next={ROOT_PATH}/")
    overview = browser.request(f"{ROOT_PATH}/")
    assert overview.status == 200
    assert f'href="{ROOT_PATH}/queues/emails/"' in overview.text
    assert f'href="{ROOT_PATH}/static/dashboard/dashboard.css"' in overview.text
    css = browser.request(f"{ROOT_PATH}/static/dashboard/dashboard.css")
    assert css.status == 200

    refused = browser.request(f"{ROOT_PATH}/queues/emails/pause", data={}, follow=False)
    assert refused.status == 403
    assert not redis.Redis.from_url(redis_url).exists("asynq:{emails}:paused")

    read_only.stop()
    again = Standalone(dashboard_venv, data_dir, redis_url)
    try:
        wait_until_serving(f"{again.base}/healthz", again.process, again.output)
        assert "created the first admin" not in again.output()
        assert (data_dir / "dashboard.sqlite3").exists()
    finally:
        again.stop()


def test_the_standalone_command_exits_non_zero_with_a_reason_for_an_unreachable_redis(
    dashboard_venv: Venv, user_dir: Path
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    done = subprocess.run(
        [
            dashboard_venv.bin("queuecore-dashboard"),
            "--redis-url",
            dead,
            "--port",
            str(free_port()),
        ],
        cwd=user_dir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot reach Redis at" in done.stderr


def test_the_standalone_command_exits_2_for_a_prometheus_url_the_checks_refuse(
    dashboard_venv: Venv, user_dir: Path, redis_url: str
) -> None:
    command = [dashboard_venv.bin("queuecore-dashboard"), "--redis-url", redis_url]
    command += ["--port", str(free_port()), "--data-dir", str(user_dir / "data")]
    done = subprocess.run(
        [*command, "--prometheus-url", "ftp://prometheus"],
        cwd=user_dir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "queuecore.E011" in done.stderr
