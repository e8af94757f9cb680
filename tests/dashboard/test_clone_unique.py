"""The unique lock on the task page, and cloning a task that was enqueued with one."""

from __future__ import annotations

import re
from html import unescape

import redis
from django.test import Client

from dashboard.forms import CLONE_UNIQUE_TTL
from queuecore import Client as QueueClient
from queuecore import Inspector, Task, keys
from tests.dashboard.test_create import created_id, form
from tests.support.factories import seed_task


def unique_input(body: str) -> str:
    tag = re.search(r'<input[^>]*name="unique"[^>]*>', body)
    assert tag, "no unique field"
    value = re.search(r'value="([^"]*)"', tag[0])
    return value[1] if value else ""


def test_the_task_page_shows_the_unique_lock_only_when_there_is_one(
    viewer: Client, redis_url: str, queuecore_settings: str
) -> None:
    client = QueueClient.from_url(redis_url)
    try:
        locked = client.enqueue(Task("report:daily", b'{"day": 1}'), unique=600)
        plain = client.enqueue(Task("report:daily", b'{"day": 2}'))
    finally:
        client.close()
    body = unescape(viewer.get(f"/queues/default/tasks/{locked.id}/").content.decode())
    assert "Unique lock" in body
    assert keys.unique_key("default", "report:daily", b'{"day": 1}') in body
    body = viewer.get(f"/queues/default/tasks/{plain.id}/").content.decode()
    assert "Unique lock" not in body
    assert "data-unique-key" not in body


def test_cloning_a_unique_task_proposes_a_unique_ttl_with_a_note(
    operator: Client, redis_client: redis.Redis
) -> None:
    lock = keys.unique_key("default", "report:daily", b"{}")
    task = seed_task(redis_client, "pending", type="report:daily", payload=b"{}", unique_key=lock)
    body = unescape(operator.get(f"/queues/default/tasks/{task.id}/clone").content.decode())
    assert unique_input(body) == str(CLONE_UNIQUE_TTL)
    assert f"The original was enqueued with a unique lock ({lock})" in body
    assert "does not keep the lock's TTL" in body


def test_cloning_a_task_without_a_lock_leaves_the_unique_ttl_blank(
    operator: Client, redis_client: redis.Redis
) -> None:
    task = seed_task(redis_client, "pending")
    body = unescape(operator.get(f"/queues/default/tasks/{task.id}/clone").content.decode())
    assert unique_input(body) == ""
    assert "The original had no unique lock" in body


def test_a_unique_clone_is_refused_while_the_original_holds_the_lock_then_enqueued(
    operator: Client, redis_url: str, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    client = QueueClient.from_url(redis_url)
    try:
        original = client.enqueue(Task("report:daily", b'{"day": 3}'), unique=600)
    finally:
        client.close()
    fields = form(type="report:daily", payload='{"day": 3}', unique=str(CLONE_UNIQUE_TTL))
    refused = operator.post("/enqueue/", fields)
    assert refused.status_code == 409
    assert "task already exists" in refused.content.decode()
    redis_client.delete(original.unique_key)  # the lock expired or was released
    accepted = operator.post("/enqueue/", fields)
    assert accepted.status_code == 302
    inspector = Inspector.from_url(redis_url)
    try:
        clone = inspector.get_task_info("default", created_id(accepted))
    finally:
        inspector.close()
    assert clone.unique_key == original.unique_key
    assert CLONE_UNIQUE_TTL - 60 < redis_client.ttl(clone.unique_key) <= CLONE_UNIQUE_TTL
