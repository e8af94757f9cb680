"""Pages and the JSON API share one action path: the same change leaves the same traces."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client as HttpClient

from dashboard.models import AuditEntry, DeletedTask
from tests.support.factories import make_message, seed_task

pytestmark = pytest.mark.django_db

Api = Callable[[str], HttpClient]
HTMX = {"HTTP_HX_REQUEST": "true"}
SEEDED_AT = 1_700_000_000.0
TASK_ID = "same-task"


def page_delete(client: HttpClient, how: str) -> None:
    if how == "one":
        response = client.post(f"/queues/default/tasks/{TASK_ID}/delete", **HTMX)
    elif how == "selected":
        response = client.post("/queues/default/selected/delete", {"ids": [TASK_ID]}, **HTMX)
    else:
        response = client.post("/queues/default/all/archived/delete", **HTMX)
    assert response.status_code == 200, response.content


def api_delete(client: HttpClient, how: str) -> None:
    base = "/api/queues/default/archived_tasks"
    if how == "one":
        response = client.delete(f"{base}/{TASK_ID}")
    elif how == "selected":
        body = json.dumps({"task_ids": [TASK_ID]})
        response = client.post(f"{base}:batch_delete", body, content_type="application/json")
    else:
        response = client.delete(f"{base}:delete_all")
    assert response.status_code in (200, 204), response.content


def traces() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The bin's copies and the audit entries, without what differs by nature (keys, times)."""
    copies = list(
        DeletedTask.objects.values("queue", "state", "task_id", "type", "record", "username")
    )
    entries = [
        {
            "action": e.action.removeprefix("api:"),
            **{
                name: getattr(e, name)
                for name in ("username", "queue", "state", "group", "task_ids", "count", "total")
            },
            "outcome": e.outcome,
            "detail": e.detail,
            "copies": e.deleted_tasks.count(),
        }
        for e in AuditEntry.objects.order_by("id")
    ]
    return copies, entries


def seed_the_task(redis_client: redis.Redis) -> None:
    msg = make_message(id=TASK_ID, payload=b'{"same": true}', error_msg="boom", retried=1)
    seed_task(redis_client, "archived", msg, score=int(SEEDED_AT), now=SEEDED_AT)


@pytest.mark.parametrize("how", ["one", "selected", "all"])
def test_an_api_delete_leaves_the_same_recycle_bin_copy_and_audit_entry_as_the_page_delete(
    api: Api, users: dict[str, User], redis_client: redis.Redis, how: str
) -> None:
    seed_the_task(redis_client)
    page = HttpClient()
    page.force_login(users["admin"])
    page_delete(page, how)
    by_page = traces()
    DeletedTask.objects.all().delete()
    AuditEntry.objects.all().delete()

    seed_the_task(redis_client)
    api_delete(api("admin"), how)
    by_api = traces()

    assert by_api == by_page
    copies, [entry] = by_api
    assert [c["task_id"] for c in copies] == [TASK_ID]
    assert entry["copies"] == 1
    assert "1 kept in the recycle bin" in entry["detail"]
    assert AuditEntry.objects.get().action.startswith("api:")


def test_a_refused_api_change_is_audited_like_the_same_refused_page_change(
    api: Api, users: dict[str, User], redis_client: redis.Redis
) -> None:
    seed_the_task(redis_client)
    page = HttpClient()
    page.force_login(users["viewer"])
    assert page.post(f"/queues/default/tasks/{TASK_ID}/delete", **HTMX).status_code == 403
    assert api("viewer").delete(f"/api/queues/default/archived_tasks/{TASK_ID}").status_code == 403
    by_page, by_api = traces()[1]
    assert by_page["outcome"] == "refused"
    assert by_api == by_page
    assert not DeletedTask.objects.exists()
