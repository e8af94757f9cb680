"""Who may call the API: session or token, the dashboard's roles, read-only, CSRF for sessions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client as HttpClient

from tests.api.conftest import TOKENS
from tests.support.factories import seed_task

pytestmark = pytest.mark.django_db

Api = Callable[[str], HttpClient]


def test_an_anonymous_caller_gets_401_everywhere(api_settings: str) -> None:
    client = HttpClient()
    for path in ("/api/queues", "/api/servers", "/api/queues/default/pending_tasks"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/api/queues/default:pause").status_code == 401


def test_a_wrong_token_is_401_even_with_a_valid_session(
    api_settings: str, users: dict[str, User]
) -> None:
    client = HttpClient(HTTP_AUTHORIZATION="Bearer not-a-token")
    client.force_login(users["admin"])
    assert client.get("/api/queues").status_code == 401


def test_a_token_of_a_disabled_user_is_refused(api_settings: str, users: dict[str, User]) -> None:
    users["viewer"].is_active = False
    users["viewer"].save()
    client = HttpClient(HTTP_AUTHORIZATION=f"Token {TOKENS['viewer']}")
    assert client.get("/api/queues").status_code == 401


def test_a_logged_in_session_can_read(api_settings: str, users: dict[str, User]) -> None:
    client = HttpClient()
    client.force_login(users["viewer"])
    assert client.get("/api/queues").status_code == 200


def test_a_user_without_a_dashboard_role_is_403(api_settings: str, users: dict[str, User]) -> None:
    client = HttpClient()
    client.force_login(users["nobody"])
    assert client.get("/api/queues").status_code == 403


def test_a_viewer_can_read_but_not_change(api: Api, redis_client: redis.Redis) -> None:
    msg = seed_task(redis_client, "archived")
    client = api("viewer")
    assert client.get("/api/queues/default/archived_tasks").status_code == 200
    assert client.post(f"/api/queues/default/archived_tasks/{msg.id}:run").status_code == 403
    assert client.post("/api/queues/default:pause").status_code == 403


def test_an_operator_may_not_act_on_all_archived_tasks_or_delete_queues(
    api: Api, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "archived")
    client = api("operator")
    assert client.post("/api/queues/default/archived_tasks:run_all").status_code == 403
    assert client.delete("/api/queues/default/archived_tasks:delete_all").status_code == 403
    assert client.delete("/api/queues/default").status_code == 403
    # "all" on other states is an operator's job.
    assert client.delete("/api/queues/default/retry_tasks:delete_all").status_code == 200


def test_an_admin_may_run_all_archived_tasks(api: Api, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "archived")
    response = api("admin").post("/api/queues/default/archived_tasks:run_all")
    assert response.json() == {"scheduled": 1}


def test_read_only_mode_answers_405_to_every_change_with_asynqmons_text(
    api: Api, redis_client: redis.Redis, settings: object
) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "READ_ONLY": True}  # type: ignore[attr-defined]
    msg = seed_task(redis_client, "archived")
    client = api("admin")
    response = client.post(f"/api/queues/default/archived_tasks/{msg.id}:run")
    assert response.status_code == 405
    assert response.content == (
        b"API Server is running in read-only mode: POST request is not allowed\n"
    )
    assert client.delete("/api/queues/default").status_code == 405
    assert client.get("/api/queues").status_code == 200


def test_a_session_change_needs_the_csrf_token(
    api_settings: str, users: dict[str, User], redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    client = HttpClient(enforce_csrf_checks=True)
    client.force_login(users["operator"])
    assert client.post("/api/queues/default:pause").status_code == 403
    client.get("/accounts/login/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/api/queues/default:pause", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 204


def test_a_token_change_needs_no_csrf_token(
    api_settings: str, users: dict[str, User], redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    client = HttpClient(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {TOKENS['operator']}")
    assert client.post("/api/queues/default:pause").status_code == 204


def test_a_wrong_method_is_405(api: Api, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "pending")
    response = api("admin").post("/api/queues")
    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_the_prometheus_proxy_says_it_is_not_configured(api: Api) -> None:
    response = api("viewer").get("/api/metrics")
    assert response.status_code == 501
    assert b"/metrics" in response.content
