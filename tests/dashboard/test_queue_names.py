"""Any queue name Redis can hold is reachable: "/", "%", spaces and bytes that are not UTF-8 are
shown faithfully (escaped), and each queue's page, task list, task page and actions work."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
import redis
from django.test import Client
from django.urls import reverse

from queuecore import Inspector, TaskState
from queuecore.messages import encode_task_message
from queuecore.names import decode_name, shown
from tests.support.factories import make_message

NAMES = (b"a/b", b"50%", b"with space", b"bad\xff\xfename")
HTMX = {"HTTP_HX_REQUEST": "true"}


def seed_raw(client: redis.Redis, queue: bytes, state: str, task_id: str) -> None:
    """A task written under the queue's raw key bytes, as a Go program could leave it."""
    msg = make_message(id=task_id, queue=shown(decode_name(queue)))
    prefix = b"asynq:{" + queue + b"}:"
    client.sadd("asynq:queues", queue)
    client.hset(
        prefix + b"t:" + task_id.encode(), mapping={"msg": encode_task_message(msg), "state": state}
    )
    if state == "pending":
        client.lpush(prefix + b"pending", task_id)
    else:
        # Now: archiving trims archived tasks older than 90 days, as asynq does.
        client.zadd(prefix + state.encode(), {task_id: int(time.time())})


@pytest.mark.parametrize("raw", NAMES, ids=lambda n: n.decode("utf-8", "replace"))
def test_a_queue_with_any_name_can_be_opened_listed_and_acted_on(
    admin: Client, redis_client: redis.Redis, insp: Inspector, raw: bytes
) -> None:
    seed_raw(redis_client, raw, "pending", "p1")
    seed_raw(redis_client, raw, "archived", "a1")
    name = decode_name(raw)
    assert name in insp.queues()

    overview = admin.get("/").content.decode()
    links = [unescape(h) for h in re.findall(r'<td><a href="(/queues/[^"]+)"', overview)]
    url = reverse("dashboard:queue", args=[name])
    assert url in links
    assert shown(name) in unescape(overview)

    listed = admin.get(url, {"state": "archived"})
    assert listed.status_code == 200
    assert "a1" in listed.content.decode()
    task_url = reverse("dashboard:task", args=[name, "a1"])
    assert admin.get(task_url).status_code == 200
    assert (
        admin.get(f"/api/queues/{url.split('/')[2]}/archived_tasks").json()["tasks"][0]["id"]
        == "a1"
    )

    run = admin.post(reverse("dashboard:task-action", args=[name, "a1", "run"]), **HTMX)
    assert run.status_code == 200, run.content[:300]
    assert insp.get_task_info(name, "a1").state is TaskState.PENDING
    assert redis_client.lrange(b"asynq:{" + raw + b"}:pending", 0, -1) == [b"a1", b"p1"]

    assert (
        admin.post(reverse("dashboard:queue-action", args=[name, "pause"]), **HTMX).status_code
        == 200
    )
    assert insp.get_queue_info(name).paused
    assert redis_client.exists(b"asynq:{" + raw + b"}:paused")


def test_every_action_and_tool_works_on_a_queue_whose_name_is_not_utf8(
    admin: Client, redis_client: redis.Redis, insp: Inspector
) -> None:
    raw = b"bad\xff\xfename"
    name = decode_name(raw)
    for state, task_id in (("archived", "a1"), ("archived", "a2"), ("pending", "p1")):
        seed_raw(redis_client, raw, state, task_id)
    for url, data in [
        (reverse("dashboard:task-action", args=[name, "a1", "delete"]), {}),
        (reverse("dashboard:selected-action", args=[name, "archive"]), {"ids": ["p1"]}),
        (reverse("dashboard:all-action", args=[name, "archived", "run"]), {}),
    ]:
        assert admin.post(url, data, **HTMX).status_code == 200, url
    assert insp.get_queue_info(name).pending == 2  # a2 and p1, run again; a1 deleted
    for url in (
        reverse("dashboard:recycle-bin"),
        reverse("dashboard:audit"),
        reverse("dashboard:export", args=[name]) + "?state=pending",
        reverse("dashboard:breakdown", args=[name]) + "?state=pending",
        reverse("dashboard:queue", args=[name]) + "?state=pending&text=p",
    ):
        response = admin.get(url)
        assert response.status_code == 200, url
        if not url.endswith("export?state=pending"):
            assert "\\x" in response.content.decode() or "breakdown" in url, url
    assert admin.post(
        reverse("dashboard:queue-action", args=[name, "delete"]), {"force": "1"}, **HTMX
    ).status_code in (200, 204)
