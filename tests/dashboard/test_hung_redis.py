"""A Redis that hangs (SIGSTOP) is reported like one that refuses connections, within the
configured bound, by a real HTTP server; a worker rides it out losing nothing, and both are back
to normal soon after SIGCONT.

The dashboard runs in Django's live server (real sockets, a thread per request) and the worker
is a ``python -m queuecore.server`` subprocess; both talk to a redis-server this test starts and
stops. Only the process boundaries are waited on, each with a deadline.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client as DjangoClient

from queuecore import Client, Inspector, Task, TaskState
from tests.dashboard.test_hostile_input import dashboard_routes
from tests.support.redis_server import RedisProcess, start_redis

pytestmark = pytest.mark.slow

# The configured bound: one command or connect waits at most 1 s, failures are retried for 1 s.
BOUND = 1.0
LIMITS = f"socket_timeout={BOUND:g}&socket_connect_timeout={BOUND:g}&retry_timeout={BOUND:g}"
# What a loaded machine may add to the bound before an answer counts as late.
MARGIN = 2.0
TASKS = 60
# Pages that work without Redis (the enqueue form only loses its queue suggestions): they
# answer as usual, within the bound, while it hangs.
WITHOUT_REDIS = {"dashboard:settings", "dashboard:audit", "dashboard:recycle-bin",
                 "dashboard:enqueue", "dashboard:import", "dashboard:operation"}  # fmt: skip
# Pages of several instances: a 200 (within the bound) showing the hung one as down.
FLEET = {"dashboard:fleet"}
# Not pages: the findings fragment says so inside a 200 panel (see the findings view); the
# metrics proxies answer 404/501 when no Prometheus is configured.
NOT_PAGES = {"dashboard:findings", "dashboard:metrics", "api:metrics"}


@pytest.fixture
def hung(settings: Any) -> Iterator[RedisProcess]:
    """A redis-server of this test's own, which the test may SIGSTOP; always resumed at the end."""
    server = start_redis()
    url = f"{server.url}?{LIMITS}"
    settings.QUEUECORE = {**settings.QUEUECORE, "REDIS_URL": url}
    yield server
    assert server.process is not None
    server.process.send_signal(signal.SIGCONT)
    server.stop()


@pytest.fixture
def worker(hung: RedisProcess) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "queuecore.server", "--redis-url", f"{hung.url}?{LIMITS}",
         "--import", "tests.support.sample_handlers", "-q", "default", "--concurrency", "4",
         "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def session_cookie(transactional_db: None, hung: RedisProcess) -> str:
    user = User.objects.create_user("hung-admin", password="pw-12345-long")
    user.groups.add(Group.objects.get(name="admin"))
    client = DjangoClient()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def fetch(base: str, path: str, cookie: str) -> tuple[int, str]:
    """GET over a real socket, giving up once the bound and its margin have passed."""
    request = urllib.request.Request(base + path, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=BOUND + MARGIN) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def wait_until(check: Callable[[], bool], deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < end, f"not within {deadline} s: {what}"
        time.sleep(0.1)


def page_paths(task_id: str) -> list[tuple[str, str]]:
    return [
        # state: the export and breakdown need one; every other view ignores it.
        (name, route.replace("{}", "default", 1).replace("{}", task_id) + "?state=pending")
        for name, route in dashboard_routes(one_per_view=True)
        if name.startswith(("dashboard:", "api:")) and name not in NOT_PAGES
    ]


def test_a_hung_redis_is_a_prompt_503_everywhere_and_nothing_is_lost(
    hung: RedisProcess, worker: subprocess.Popen[bytes], live_server: Any, session_cookie: str
) -> None:
    url = f"{hung.url}?{LIMITS}"
    client, insp = Client.from_url(url), Inspector.from_url(url)
    raw = redis.Redis(port=hung.port)
    infos = [client.enqueue(Task("sample:echo", b"%d" % i), process_in=i % 4) for i in range(TASKS)]
    pages = page_paths(infos[0].id)
    assert fetch(live_server.url, "/", session_cookie)[0] == 200

    assert hung.process is not None
    hung.process.send_signal(signal.SIGSTOP)
    try:
        for name, path in pages:
            status, body = fetch(live_server.url, path, session_cookie)
            if status in (400, 405):  # refused before Redis: a change asked by GET, a bad pair
                continue
            if name in WITHOUT_REDIS:
                assert status in (200, 404), (path, status)
            elif name in FLEET:
                assert status == 200, (path, status)
            else:
                assert status == 503, (path, status, body[:200])
                assert name.startswith("api:") or "Redis is not answering" in body, path
        status, body = fetch(live_server.url, "/findings/", session_cookie)
        assert "Redis unavailable" in body, body[:300]
    finally:
        hung.process.send_signal(signal.SIGCONT)

    wait_until(lambda: fetch(live_server.url, "/", session_cookie)[0] == 200, 5, "dashboard")
    late = client.enqueue(Task("sample:echo", b"after the hang"))

    def all_done() -> bool:
        info = insp.get_queue_info("default")
        return info.size == 0 and raw.exists(f"asynq:{{default}}:t:{late.id}") == 0

    wait_until(all_done, 5 + 4, "worker processed every task")  # 4: the latest process_in
    info = insp.get_queue_info("default")
    assert (info.active, info.retry, info.archived) == (0, 0, 0)
    assert info.processed == TASKS + 1
    assert worker.poll() is None
    for state in (TaskState.ACTIVE, TaskState.PENDING):
        assert insp.list_tasks("default", state).total == 0


@pytest.mark.parametrize(
    "command", [("queue", "stats"), ("task", "ls", "-q", "default", "-s", "pending"), ("health",)]
)
def test_a_cli_command_reports_a_hung_redis_as_an_error_within_the_bound(
    hung: RedisProcess, command: tuple[str, ...], db: None
) -> None:
    errors: list[CommandError] = []

    def run() -> None:
        try:
            call_command(*command, stdout=StringIO(), stderr=StringIO())
        except CommandError as exc:
            errors.append(exc)

    assert hung.process is not None
    hung.process.send_signal(signal.SIGSTOP)
    try:
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(BOUND + MARGIN)
        assert not thread.is_alive(), f"{command} still waits for Redis"
    finally:
        hung.process.send_signal(signal.SIGCONT)
    assert errors, f"{command} did not fail"
    assert "Redis unavailable" in str(errors[0]) or errors[0].returncode == 2
