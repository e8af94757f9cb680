"""Sortable lists carry raw sort values, selected deletes/archives ask first, and a background
operation whose thread went silent shows as interrupted instead of running forever."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dashboard import operations
from dashboard.models import HEARTBEAT_TIMEOUT, AuditEntry, Outcome
from queuecore import TaskState, keys
from queuecore.messages import SchedulerEntry, ServerInfo, timestamp_from_datetime
from tests.support.factories import seed_task

HTMX = {"HX-Request": "true", "HX-Target": "flash"}


def register_server(client: redis.Redis, host: str, pid: int, started: datetime) -> None:
    """A live server record, as a running asynq server's heartbeat leaves it."""
    info = ServerInfo(
        host=host,
        pid=pid,
        server_id=f"sid-{host}-{pid}",
        concurrency=10,
        queues={"default": 1},
        status="active",
        start_time=timestamp_from_datetime(started),
    )
    key = keys.server_info_key(host, pid, info.server_id)
    client.set(key, info.SerializeToString())
    client.zadd(keys.ALL_SERVERS, {key: time.time() + 3600})


def register_entries(client: redis.Redis, entries: dict[str, datetime]) -> None:
    """One live scheduler with an entry per id, next enqueue at the given time."""
    key = keys.scheduler_entries_key("host:1:sched")
    for entry_id, next_at in entries.items():
        entry = SchedulerEntry(
            id=entry_id,
            spec="@every 30s",
            task_type=f"report:{entry_id}",
            next_enqueue_time=timestamp_from_datetime(next_at),
            prev_enqueue_time=timestamp_from_datetime(next_at - timedelta(seconds=30)),
        )
        client.rpush(key, entry.SerializeToString())
    client.zadd(keys.ALL_SCHEDULERS, {key: time.time() + 3600})


def running_entry(silent_for: timedelta, *, count: int = 1200, total: int = 5000) -> AuditEntry:
    """A background "delete all archived" entry whose thread last reported ``silent_for`` ago."""
    entry = AuditEntry.objects.create(
        username="operator-user",
        action="delete_all",
        queue="default",
        state="archived",
        count=count,
        total=total,
        outcome=Outcome.RUNNING,
    )
    beat = timezone.now() - silent_for
    AuditEntry.objects.filter(pk=entry.pk).update(at=beat, heartbeat_at=beat)
    entry.refresh_from_db()
    return entry


def test_overview_headers_are_sort_buttons_and_cells_carry_raw_numbers(
    viewer: Client, redis_client: redis.Redis
) -> None:
    for _ in range(12):
        seed_task(redis_client, "pending", queue="big")
    seed_task(redis_client, "archived", queue="small")
    html = viewer.get("/").content.decode()
    assert 'data-sortable="queues"' in html
    assert (
        '<th class="num"><button type="button" class="sort" data-sort-key="size"'
        ' data-sort-type="number">Size</button></th>'
    ) in html
    row = re.search(r'<tr data-queue="big">(.*?)</tr>', html, re.S)
    assert row
    assert 'data-sort-value="12">12<' in row[1]
    assert re.search(r'data-sort-value="[0-9.]+">', row[1])  # latency in raw seconds
    # No tasks processed today: the error rate has no value, so it sorts last.
    assert 'data-sort-value="">—<' in row[1]


def test_schedulers_and_servers_carry_unix_times_to_sort_by(
    viewer: Client, redis_client: redis.Redis
) -> None:
    next_at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    register_entries(redis_client, {"entry-b": next_at, "entry-a": next_at + timedelta(hours=1)})
    register_server(redis_client, "worker-1", 4242, next_at)
    html = viewer.get("/schedulers/").content.decode()
    assert 'data-sortable="schedulers"' in html
    assert 'data-sort-key="next" data-sort-type="number"' in html
    assert 'data-sort-value="entry-b"' in html
    assert f'data-sort-value="{int(next_at.timestamp())}"' in html
    assert f'data-sort-value="{int(next_at.timestamp()) - 30}"' in html
    servers = viewer.get("/servers/").content.decode()
    assert 'data-sortable="servers"' in servers
    assert (
        'data-sort-item data-sort-host="worker-1:4242"'
        f' data-sort-started="{int(next_at.timestamp())}"'
    ) in servers


def test_task_lists_are_not_sortable(viewer: Client, seeded: dict[TaskState, str]) -> None:
    html = viewer.get("/queues/default/", {"state": "archived"}).content.decode()
    assert "data-sortable" not in html
    assert "data-sort-key" not in html


def test_deleting_or_archiving_selected_tasks_asks_with_the_count_and_running_does_not(
    operator: Client, seeded: dict[TaskState, str]
) -> None:
    html = operator.get("/queues/default/", {"state": "retry"}).content.decode()
    found = re.findall(r"<button ([^>]*)>(\w+) selected</button>", html)
    buttons = {label: attrs for attrs, label in found}
    assert set(buttons) == {"Run", "Archive", "Delete"}
    assert (
        'hx-confirm="Delete the selected tasks?" data-confirm-selected="Delete"'
        in buttons["Delete"]
    )
    assert 'data-confirm-selected="Archive"' in buttons["Archive"]
    assert "hx-confirm" not in buttons["Run"]


def test_an_operation_with_a_stale_heartbeat_shows_as_interrupted_and_stops_polling(
    operator: Client,
) -> None:
    entry = running_entry(HEARTBEAT_TIMEOUT + timedelta(seconds=5))
    assert entry.interrupted
    page = operator.get(f"/operations/{entry.pk}/", headers=HTMX)
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-operation-interrupted" in html
    assert "interrupted" in html
    assert "stopped at 1200 of 5000" in html
    assert "hx-trigger" not in html  # the progress poll ends here
    audit = operator.get("/audit/").content.decode()
    assert 'data-outcome="interrupted">interrupted<' in audit
    assert "1200 / 5000" in audit
    assert "start the action again" in audit
    # Nothing rewrote the record: it is reported, not resumed or retried.
    entry.refresh_from_db()
    assert entry.outcome == Outcome.RUNNING
    assert entry.count == 1200


def test_an_operation_with_a_fresh_heartbeat_still_shows_progress(operator: Client) -> None:
    entry = running_entry(timedelta(seconds=2))
    assert not entry.interrupted
    html = operator.get(f"/operations/{entry.pk}/", headers=HTMX).content.decode()
    assert "data-operation-interrupted" not in html
    assert 'hx-trigger="every 1s"' in html
    assert '<progress max="5000" value="1200">' in html
    audit = operator.get("/audit/").content.decode()
    assert 'data-outcome="running">running<' in audit
    assert "interrupted" not in audit


def test_a_finished_operation_is_never_interrupted_however_old() -> None:
    entry = AuditEntry(outcome=Outcome.SUCCEEDED, at=timezone.now() - timedelta(days=3))
    assert not entry.is_interrupted()
    assert entry.shown_outcome == "succeeded"


def test_an_entry_without_a_heartbeat_falls_back_to_its_start_time() -> None:
    now = timezone.now()
    entry = AuditEntry(outcome=Outcome.RUNNING, at=now - timedelta(minutes=5))
    assert entry.is_interrupted(now)
    assert not entry.is_interrupted(now - timedelta(minutes=5))


def test_the_background_thread_refreshes_the_heartbeat_with_its_progress(
    transactional_db: None,
) -> None:
    user = User.objects.create_user("op")
    entry = AuditEntry(user=user, username="op", action="run_all", queue="q", total=10)
    long_ago = timezone.now() - timedelta(hours=1)
    seen: list[AuditEntry] = []

    def work(progress: operations.Progress) -> int:
        AuditEntry.objects.filter(pk=entry.pk).update(heartbeat_at=long_ago)
        progress(4, 10)
        seen.append(AuditEntry.objects.get(pk=entry.pk))
        return 10

    thread = operations.start_background(entry, work)
    thread.join(timeout=10)
    assert not thread.is_alive()
    during = seen[0]
    assert during.count == 4
    assert during.heartbeat_at is not None
    assert during.heartbeat_at > long_ago
    assert not during.interrupted
    entry.refresh_from_db()
    assert entry.outcome == Outcome.SUCCEEDED
    assert entry.shown_outcome == "succeeded"


@pytest.mark.parametrize("outcome", [Outcome.SUCCEEDED, Outcome.FAILED])
def test_start_background_saves_a_first_heartbeat(transactional_db: None, outcome: Outcome) -> None:
    entry = AuditEntry(username="op", action="delete_all", queue="q", total=3)
    before: list[AuditEntry] = []

    def work(progress: operations.Progress) -> int:
        before.append(AuditEntry.objects.get(pk=entry.pk))
        if outcome is Outcome.FAILED:
            raise RuntimeError("redis went away")
        return 3

    thread = operations.start_background(entry, work)
    thread.join(timeout=10)
    assert before[0].outcome == Outcome.RUNNING
    assert before[0].heartbeat_at is not None
    assert not before[0].interrupted
    entry.refresh_from_db()
    assert entry.outcome == outcome
    assert not entry.interrupted
