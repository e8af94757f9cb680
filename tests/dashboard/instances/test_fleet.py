"""The fleet overview over three real redis-servers, one of them stopped mid-test."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from django.test import Client
from django.test.utils import override_script_prefix

from dashboard.fleet import Reading, read_fleet
from queuecore.contrib.django import instances
from queuecore.health import HealthThresholds
from tests.dashboard.instances.conftest import EU_TIMEOUT
from tests.support.factories import seed_task
from tests.support.redis_server import RedisProcess


def rows(page: str) -> list[tuple[str, str]]:
    """(instance, queue) of every queue row; (instance, "DOWN") for an instance shown down."""
    found = []
    for row in re.findall(r"<tr data-instance=[^>]*>", page):
        name = re.search(r'data-instance="([^"]+)"', row).group(1)  # type: ignore[union-attr]
        queue = re.search(r'data-queue="([^"]+)"', row)
        found.append((name, queue.group(1) if queue else ("DOWN" if "data-down" in row else "")))
    return found


def test_fleet_overview_lists_the_live_instances_queues_and_the_stopped_one_as_down(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    eu_client: redis.Redis,
    eu_server: RedisProcess,
    user_with: Callable[..., Client],
) -> None:
    seed_task(redis_client, "pending", queue="orders")
    seed_task(redis_client, "retry", queue="orders", error_msg="boom", retried=1)
    seed_task(staging_client, "pending", queue="emails")
    seed_task(eu_client, "pending", queue="reports")
    client = user_with("viewer")

    before = client.get("/fleet/").content.decode()
    assert rows(before) == [("default", "orders"), ("staging", "emails"), ("eu", "reports")]

    eu_server.stop()
    page = client.get("/fleet/")
    body = page.content.decode()

    assert page.status_code == 200
    assert rows(body) == [("default", "orders"), ("staging", "emails"), ("eu", "DOWN")]
    assert re.search(r'data-queue="orders">.*?<td class="num">2</td>', body, re.S)
    assert 'href="/i/staging/queues/emails/"' in body
    assert 'href="/queues/orders/"' in body
    down = body.split('data-down="true"')[1].split("</tr>")[0]
    assert '<span class="badge badge-error">down</span>' in down
    assert "connect" in down.lower()


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a Redis that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_an_instance_that_never_answers_is_shown_down_at_its_bound_and_the_others_still_read(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    silent_listener: str,
) -> None:
    seed_task(redis_client, "pending", queue="orders")
    seed_task(staging_client, "pending", queue="emails")
    fleet(eu={"URL": silent_listener})

    readings = read_fleet(instances.configured(), HealthThresholds())

    assert [r.instance.name for r in readings] == ["default", "staging", "eu"]
    assert [q.queue for q in readings[0].queues] == ["orders"]
    assert [q.queue for q in readings[1].queues] == ["emails"]
    assert readings[2].down
    assert readings[2].error == f"no answer within {EU_TIMEOUT:g} s"


def test_a_reader_that_blocks_is_abandoned_at_the_instance_bound(
    fleet: Callable[..., None],
) -> None:
    release = threading.Event()

    def read(instance: instances.Instance, thresholds: HealthThresholds) -> Reading:
        if instance.name == "eu":
            release.wait()
        return Reading(instance=instance)

    try:
        readings = read_fleet(instances.configured(), HealthThresholds(), read=read)
    finally:
        release.set()

    assert [r.down for r in readings] == [False, False, True]


def test_one_instance_failing_to_read_leaves_the_others_rows_alone(
    fleet: Callable[..., None],
) -> None:
    def read(instance: instances.Instance, thresholds: HealthThresholds) -> Reading:
        if instance.name == "staging":
            raise RuntimeError("staging exploded")
        return Reading(instance=instance)

    readings = read_fleet(instances.configured(), HealthThresholds(), read=read)

    assert [(r.instance.name, r.error) for r in readings] == [
        ("default", ""),
        ("staging", "staging exploded"),
        ("eu", ""),
    ]


def test_the_fleet_overview_shows_each_instances_findings_linking_to_its_pages(
    fleet: Callable[..., None],
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(staging_client, "pending", queue="emails")

    body = user_with("viewer").get("/fleet/").content.decode()

    section = body.split('<section class="findings card" data-instance="staging">')[1]
    section = section.split("</section>")[0]
    assert 'data-rule="no_consumer"' in section
    assert 'href="/i/staging/queues/emails/?state=pending"' in section
    assert 'data-instance="default">' not in body.split("<section")[-1]


def test_the_fleet_rows_carry_each_queues_figures_from_its_own_instance(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    seed_task(redis_client, "pending", queue="shared")
    for _ in range(3):
        seed_task(staging_client, "pending", queue="shared")
    staging_client.set(f"asynq:{{shared}}:processed:{today}", 40)
    staging_client.set(f"asynq:{{shared}}:failed:{today}", 10)
    staging_client.set("asynq:{shared}:paused", int(time.time()))

    body = user_with("viewer").get("/fleet/").content.decode()

    default_row, staging_row = (
        body.split(f'<tr data-instance="{name}" data-queue="shared">')[1].split("</tr>")[0]
        for name in ("default", "staging")
    )
    nums = re.compile(r'<td class="num">([^<]*)</td>')
    assert nums.findall(default_row)[0] == "1"
    assert "running" in default_row
    assert nums.findall(staging_row)[0] == "3"
    assert nums.findall(staging_row)[2:] == ["40", "10", "25.0%"]
    assert "paused" in staging_row


def test_fleet_links_keep_the_script_prefix_of_a_dashboard_behind_a_proxy(
    fleet: Callable[..., None],
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(staging_client, "pending", queue="emails")
    client = user_with("viewer")

    # What a WSGI server's SCRIPT_NAME sets; the rows are rendered on the readers' threads.
    with override_script_prefix("/ops/"):
        body = client.get("/fleet/").content.decode()

    assert 'href="/ops/i/staging/queues/emails/"' in body
    assert 'href="/ops/i/staging/queues/emails/?state=pending"' in body
