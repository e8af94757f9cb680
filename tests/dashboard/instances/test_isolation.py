"""Changes stay on their instance: actions, read-only instances and per-instance roles, on the
pages and in the JSON API, over real redis-servers."""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.http.response import HttpResponseBase
from django.test import Client

from dashboard.models import AuditEntry, DeletedTask
from queuecore import Inspector
from tests.support.factories import seed_task
from tests.support.redis_server import RedisProcess


def paused(client: redis.Redis, queue: str = "default") -> bool:
    return bool(client.exists(f"asynq:{{{queue}}}:paused"))


def main(response: HttpResponseBase) -> str:
    return response.content.decode().split('<main class="main">')[1]


def test_pausing_a_queue_on_one_instance_leaves_the_same_queue_on_the_others_running(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(redis_client, "pending")
    seed_task(staging_client, "pending")
    client = user_with("operator")

    response = client.post("/i/staging/queues/default/pause")

    assert response.status_code == 302
    assert paused(staging_client)
    assert not paused(redis_client)
    assert AuditEntry.objects.get(action="pause_queue").instance == "staging"


def test_deleting_a_task_on_one_instance_never_deletes_the_same_id_on_another(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    queuecore_settings: str,
    user_with: Callable[..., Client],
) -> None:
    task = seed_task(staging_client, "pending")
    seed_task(redis_client, "pending", task.__class__.FromString(task.SerializeToString()))
    client = user_with("operator")

    response = client.post(f"/i/staging/queues/default/tasks/{task.id}/delete")

    assert response.status_code == 302
    assert not staging_client.exists(f"asynq:{{default}}:t:{task.id}")
    assert redis_client.exists(f"asynq:{{default}}:t:{task.id}")
    copy = DeletedTask.objects.get(task_id=task.id)
    assert copy.instance == "staging"
    # The default instance's bin does not offer the staging copy; staging's does.
    client.get("/i/staging/")  # shows the delete's flash message, out of the way
    assert task.id not in main(client.get("/recently-deleted/"))
    assert task.id in main(client.get("/i/staging/recently-deleted/"))


def test_restoring_from_an_instances_recycle_bin_writes_back_to_that_instance(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    task = seed_task(staging_client, "pending")
    client = user_with("operator")
    client.post(f"/i/staging/queues/default/tasks/{task.id}/delete")
    copy = DeletedTask.objects.get(task_id=task.id)

    client.post("/i/staging/recently-deleted/", {"only": copy.pk})

    assert staging_client.exists(f"asynq:{{default}}:t:{task.id}")
    assert not redis_client.exists(f"asynq:{{default}}:t:{task.id}")


def test_an_api_action_on_one_instance_never_touches_another(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(redis_client, "pending")
    seed_task(staging_client, "pending")
    client = user_with("operator")

    response = client.post("/i/staging/api/queues/default:pause")

    assert response.status_code == 204
    assert paused(staging_client)
    assert not paused(redis_client)
    assert AuditEntry.objects.get(action="api:pause_queue").instance == "staging"


def test_the_pages_and_api_of_an_instance_read_that_instance(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(redis_client, "pending", queue="orders")
    seed_task(staging_client, "pending", queue="emails")
    client = user_with("viewer")

    staging_page = client.get("/i/staging/").content.decode()
    api = client.get("/i/staging/api/queues").json()

    assert 'href="/i/staging/queues/emails/"' in staging_page
    assert "orders" not in staging_page
    assert [q["queue"] for q in api["queues"]] == ["emails"]
    assert [q["queue"] for q in client.get("/api/queues").json()["queues"]] == ["orders"]
    assert 'data-instance="staging"' in staging_page  # the switcher
    assert "emails" in client.get("/i/staging/metrics").content.decode()


def test_a_read_only_instance_refuses_changes_on_pages_and_api_while_others_accept_them(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    fleet(staging={"READ_ONLY": True})
    seed_task(redis_client, "pending")
    seed_task(staging_client, "pending")
    client = user_with("admin")

    page = client.post("/i/staging/queues/default/pause")
    api = client.post("/i/staging/api/queues/default:pause")
    elsewhere = client.post("/queues/default/pause")

    assert page.status_code == 403
    assert "read-only" in page.content.decode()
    assert api.status_code == 405
    assert not paused(staging_client)
    assert elsewhere.status_code == 302
    assert paused(redis_client)
    refused = AuditEntry.objects.filter(instance="staging", outcome="refused")
    assert refused.count() == 2


def test_per_instance_roles_let_a_viewer_operate_only_where_they_are_operator(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(redis_client, "pending")
    seed_task(staging_client, "pending")
    client = user_with("viewer", "operator@staging")

    assert client.post("/queues/default/pause").status_code == 403
    assert client.post("/api/queues/default:pause").status_code == 403
    assert client.post("/i/staging/queues/default/pause").status_code == 302
    assert client.post("/i/staging/api/queues/default:resume").status_code == 204
    assert not paused(redis_client)


def test_a_per_instance_viewer_role_restricts_a_global_operator_on_that_instance(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(redis_client, "pending")
    seed_task(staging_client, "pending")
    client = user_with("operator", "viewer@default")

    assert client.post("/queues/default/pause").status_code == 403
    assert client.post("/api/queues/default:pause").status_code == 403
    assert "Pause" not in client.get("/").content.decode()
    assert client.post("/i/staging/queues/default/pause").status_code == 302


def test_a_user_with_a_role_on_one_instance_only_sees_only_that_instance(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(redis_client, "pending", queue="orders")
    seed_task(staging_client, "pending", queue="emails")
    client = user_with("viewer@staging")

    assert client.get("/").status_code == 403
    assert client.get("/api/queues").status_code == 403
    assert client.get("/i/staging/").status_code == 200
    assert client.get("/i/staging/api/queues").status_code == 200
    fleet_page = client.get("/fleet/").content.decode()
    assert "emails" in fleet_page
    assert "orders" not in fleet_page


def test_inspectors_of_two_instances_are_different_connections(
    fleet: Callable[..., None], queuecore_settings: str
) -> None:
    from queuecore.contrib.django import instances
    from queuecore.contrib.django.connection import shared_inspector

    urls = [i.url for i in instances.configured()]
    assert len(set(urls)) == 3
    assert isinstance(shared_inspector(urls[1]), Inspector)
    assert shared_inspector(urls[0]) is not shared_inspector(urls[1])


def test_healthz_of_an_instance_probes_that_instance(
    fleet: Callable[..., None], eu_server: RedisProcess, client: Client
) -> None:
    eu_server.stop()

    assert client.get("/healthz").status_code == 200
    assert client.get("/i/staging/healthz").status_code == 200
    assert client.get("/i/eu/healthz").status_code == 503


def test_each_instances_audit_log_shows_only_its_changes(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    seed_task(redis_client, "pending", queue="orders")
    seed_task(staging_client, "pending", queue="emails")
    client = user_with("admin")
    client.post("/queues/orders/pause")
    client.post("/i/staging/queues/emails/pause")

    default_log = main(client.get("/audit/"))
    staging_log = main(client.get("/i/staging/audit/"))

    assert "orders" in default_log
    assert "emails" not in default_log
    assert "emails" in staging_log
    assert "orders" not in staging_log


def test_migrate_creates_the_role_groups_of_every_configured_instance(
    fleet: Callable[..., None], db: None
) -> None:
    from django.contrib.auth.models import Group

    from dashboard.roles import ensure_roles

    ensure_roles()

    names = set(Group.objects.values_list("name", flat=True))
    assert {"viewer@staging", "operator@staging", "admin@staging", "admin@default"} <= names
    assert {"viewer", "operator", "admin"} <= names


def test_export_and_search_of_an_instance_read_that_instance(
    fleet: Callable[..., None],
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    on_default = seed_task(redis_client, "pending", queue="shared", type="email:default")
    on_staging = seed_task(staging_client, "pending", queue="shared", type="email:staging")
    client = user_with("viewer")

    exported = client.get("/i/staging/queues/shared/export?state=pending")
    lines = b"".join(exported.streaming_content).decode()  # type: ignore[attr-defined]
    found = main(client.get("/i/staging/queues/shared/?state=pending&type=email*"))

    assert on_staging.id in lines
    assert on_default.id not in lines
    assert on_staging.id in found
    assert on_default.id not in found
    assert AuditEntry.objects.get(action="export_tasks").instance == "staging"
