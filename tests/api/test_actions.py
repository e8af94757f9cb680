"""Asynqmon's change endpoints: statuses, response bodies, what they do to Redis, the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import redis
from django.test import Client as HttpClient

from dashboard.models import AuditEntry, Outcome
from queuecore import keys
from queuecore.inspector import Inspector
from tests.support.factories import seed_task

pytestmark = pytest.mark.django_db

Api = Callable[[str], HttpClient]


def post_json(client: HttpClient, path: str, body: object) -> object:
    return client.post(path, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def inspector(api_settings: str) -> Inspector:
    return Inspector.from_url(api_settings)


@pytest.mark.parametrize(
    ("state", "verb", "moved_to"),
    [("archived", "run", "pending"), ("pending", "archive", "archived")],
    ids=["run-one-archived", "archive-one-pending"],
)
def test_a_task_action_moves_one_task_to_its_new_state(
    api: Api,
    redis_client: redis.Redis,
    inspector: Inspector,
    state: str,
    verb: str,
    moved_to: str,
) -> None:
    msg = seed_task(redis_client, state)
    response = api("operator").post(f"/api/queues/default/{state}_tasks/{msg.id}:{verb}")
    assert response.status_code == 204
    assert inspector.get_task_info("default", msg.id).state == moved_to


def test_delete_one_retry_task(api: Api, redis_client: redis.Redis) -> None:
    msg = seed_task(redis_client, "retry")
    response = api("operator").delete(f"/api/queues/default/retry_tasks/{msg.id}")
    assert response.status_code == 204
    assert not redis_client.exists(keys.task_key("default", msg.id))


def test_an_action_on_a_task_in_the_wrong_state_is_409_not_500(
    api: Api, redis_client: redis.Redis
) -> None:
    msg = seed_task(redis_client, "active")
    response = api("operator").post(f"/api/queues/default/pending_tasks/{msg.id}:archive")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/plain")


def test_an_action_on_an_unknown_task_is_404(api: Api, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "pending")
    response = api("operator").post("/api/queues/default/scheduled_tasks/nope:run")
    assert response.status_code == 404


def test_run_all_answers_how_many_were_scheduled(
    api: Api, redis_client: redis.Redis, inspector: Inspector
) -> None:
    for _ in range(3):
        seed_task(redis_client, "retry")
    response = api("operator").post("/api/queues/default/retry_tasks:run_all")
    assert response.status_code == 200
    assert response.json() == {"scheduled": 3}
    assert inspector.get_queue_info("default").pending == 3


def test_archive_all_answers_how_many_were_archived(api: Api, redis_client: redis.Redis) -> None:
    for _ in range(2):
        seed_task(redis_client, "scheduled")
    response = api("operator").post("/api/queues/default/scheduled_tasks:archive_all")
    assert response.json() == {"archived": 2}


def test_delete_all_answers_how_many_were_deleted(api: Api, redis_client: redis.Redis) -> None:
    for _ in range(4):
        seed_task(redis_client, "completed", result=b"done")
    response = api("operator").delete("/api/queues/default/completed_tasks:delete_all")
    assert response.status_code == 200
    assert response.json() == {"deleted": 4}


def test_group_actions_work_on_that_groups_aggregating_tasks(
    api: Api, redis_client: redis.Redis, inspector: Inspector
) -> None:
    seed_task(redis_client, "aggregating", group_key="g1")
    kept = seed_task(redis_client, "aggregating", group_key="g2")
    response = api("operator").post("/api/queues/default/groups/g1/aggregating_tasks:run_all")
    assert response.json() == {"scheduled": 1}
    assert [t.id for t in inspector.list_tasks("default", "aggregating", group="g2")] == [kept.id]


def test_batch_delete_reports_deleted_and_failed_ids(api: Api, redis_client: redis.Redis) -> None:
    msg = seed_task(redis_client, "archived")
    response = post_json(
        api("operator"),
        "/api/queues/default/archived_tasks:batch_delete",
        {"task_ids": [msg.id, "missing"]},
    )
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.json() == {"deleted_ids": [msg.id], "failed_ids": ["missing"]}  # type: ignore[attr-defined]


def test_batch_run_and_batch_archive_use_asynqmons_keys(
    api: Api, redis_client: redis.Redis
) -> None:
    a = seed_task(redis_client, "scheduled")
    b = seed_task(redis_client, "scheduled")
    run = post_json(
        api("operator"), "/api/queues/default/scheduled_tasks:batch_run", {"task_ids": [a.id]}
    )
    assert run.json() == {"pending_ids": [a.id], "error_ids": []}  # type: ignore[attr-defined]
    archive = post_json(
        api("operator"),
        "/api/queues/default/scheduled_tasks:batch_archive",
        {"task_ids": [b.id, a.id]},
    )
    # a is pending now: archiving pending tasks is allowed, so both move.
    assert archive.json() == {"archived_ids": [b.id, a.id], "error_ids": []}  # type: ignore[attr-defined]


def test_batch_cancel_answers_canceled_ids(api: Api, redis_client: redis.Redis) -> None:
    msg = seed_task(redis_client, "active")
    response = post_json(
        api("operator"), "/api/queues/default/active_tasks:batch_cancel", {"task_ids": [msg.id]}
    )
    assert response.json() == {"canceled_ids": [msg.id], "error_ids": []}  # type: ignore[attr-defined]


def test_cancel_one_and_cancel_all_answer_204(api: Api, redis_client: redis.Redis) -> None:
    msg = seed_task(redis_client, "active")
    client = api("operator")
    assert client.post(f"/api/queues/default/active_tasks/{msg.id}:cancel").status_code == 204
    assert client.post("/api/queues/default/active_tasks:cancel_all").status_code == 204


def test_a_batch_body_with_unknown_fields_is_refused(api: Api, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "archived")
    response = post_json(
        api("operator"),
        "/api/queues/default/archived_tasks:batch_delete",
        {"task_ids": [], "force": True},
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert b'unknown field "force"' in response.content  # type: ignore[attr-defined]


def test_a_batch_body_that_is_not_json_is_refused(api: Api, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "archived")
    response = api("operator").post(
        "/api/queues/default/archived_tasks:batch_run", data="{", content_type="application/json"
    )
    assert response.status_code == 400


def test_pause_and_resume_a_queue(
    api: Api, redis_client: redis.Redis, inspector: Inspector
) -> None:
    seed_task(redis_client, "pending")
    client = api("operator")
    assert client.post("/api/queues/default:pause").status_code == 204
    assert inspector.get_queue_info("default").paused
    assert client.post("/api/queues/default:pause").status_code == 409
    assert client.post("/api/queues/default:resume").status_code == 204
    assert not inspector.get_queue_info("default").paused


def test_delete_queue_answers_like_asynqmon(api: Api, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "pending", queue="busy")
    redis_client.sadd(keys.ALL_QUEUES, "empty")
    client = api("admin")
    assert client.delete("/api/queues/busy").status_code == 400
    assert client.delete("/api/queues/nope").status_code == 404
    assert client.delete("/api/queues/empty").status_code == 204
    assert not redis_client.sismember(keys.ALL_QUEUES, "empty")


def test_every_change_is_written_to_the_audit_log(api: Api, redis_client: redis.Redis) -> None:
    msg = seed_task(redis_client, "archived")
    api("operator").post(f"/api/queues/default/archived_tasks/{msg.id}:run")
    api("operator").post("/api/queues/default/archived_tasks/gone:run")
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.username, e.action, e.queue, e.outcome) for e in entries] == [
        ("operator", "api:run", "default", Outcome.SUCCEEDED),
        ("operator", "api:run", "default", Outcome.FAILED),
    ]
    assert entries[0].task_ids == [msg.id]
