"""/healthz: 200 JSON when Redis answers, 503 JSON when it does not; no login, never cached."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from tests.support.redis_server import RedisProcess, free_port


def test_healthz_answers_ok_without_login_when_redis_is_reachable(queuecore_settings: str) -> None:
    response = HttpClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_nothing_listens_at_the_redis_url(settings: object) -> None:
    settings.QUEUECORE = {  # type: ignore[attr-defined]
        **settings.QUEUECORE,  # type: ignore[attr-defined]
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    response = HttpClient().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "Redis unavailable" in body["redis"]


@pytest.mark.slow
def test_healthz_recovers_by_itself_when_redis_comes_back(
    queuecore_settings: str, redis_server: RedisProcess
) -> None:
    http = HttpClient()
    assert http.get("/healthz").status_code == 200
    redis_server.stop()
    try:
        assert http.get("/healthz").status_code == 503
    finally:
        redis_server.start()
    assert http.get("/healthz").status_code == 200


def test_healthz_refuses_post(queuecore_settings: str) -> None:
    assert HttpClient().post("/healthz").status_code == 405


def test_healthz_is_not_redirected_to_https_when_the_rest_is(
    queuecore_settings: str, settings: object
) -> None:
    settings.SECURE_SSL_REDIRECT = True  # type: ignore[attr-defined]
    http = HttpClient()
    assert http.get("/healthz").status_code == 200
    assert http.get("/").status_code == 301
