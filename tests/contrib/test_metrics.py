"""/metrics: asynq's exporter metrics, parsed with prometheus_client, equal to the Inspector's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client as HttpClient
from prometheus_client.parser import text_string_to_metric_families

from queuecore import keys
from queuecore.clock import FrozenClock, utc_date
from queuecore.contrib.django import connection
from queuecore.inspector import Inspector
from tests.support.factories import seed_task
from tests.support.redis_server import free_port

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"
NOW = 1_760_000_000.0

# Names, types and label names of asynq's x/metrics QueueMetricsCollector.
EXPORTER = {
    "asynq_tasks_enqueued_total": ("gauge", {"queue", "state"}),
    "asynq_queue_size": ("gauge", {"queue"}),
    "asynq_queue_latency_seconds": ("gauge", {"queue"}),
    "asynq_queue_memory_usage_approx_bytes": ("gauge", {"queue"}),
    "asynq_tasks_processed_total": ("counter", {"queue"}),
    "asynq_tasks_failed_total": ("counter", {"queue"}),
    "asynq_queue_paused_total": ("gauge", {"queue"}),
}


@pytest.fixture
def metrics_settings(settings: object, queuecore_settings: str) -> str:
    current = dict(settings.QUEUECORE)  # type: ignore[attr-defined]
    current["METRICS_TOKEN"] = TOKEN
    settings.QUEUECORE = current  # type: ignore[attr-defined]
    return queuecore_settings


@pytest.fixture
def frozen_inspector(metrics_settings: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inspector]:
    """The view's shared Inspector, on a frozen clock so latency is the same for both readers."""
    inspector = Inspector.from_url(metrics_settings, clock=FrozenClock(NOW))
    monkeypatch.setitem(connection._inspectors, metrics_settings, inspector)
    yield inspector
    inspector.close()


def seed_queues(client: redis.Redis) -> None:
    for _ in range(3):
        seed_task(client, "pending", queue="critical", now=NOW - 42)
    seed_task(client, "active", queue="critical", now=NOW)
    seed_task(client, "scheduled", queue="critical", score=int(NOW) + 60)
    for _ in range(2):
        seed_task(client, "retry", queue="default", score=int(NOW) + 30)
    seed_task(client, "archived", queue="default", score=int(NOW) - 5)
    seed_task(client, "completed", queue="default", score=int(NOW) + 3600, result=b"ok")
    seed_task(client, "aggregating", queue="default", group_key="g1")
    client.set(keys.processed_total_key("critical"), 17)
    client.set(keys.failed_total_key("critical"), 4)
    client.set(keys.processed_key("default", utc_date(NOW)), 9)
    client.set(keys.paused_key("default"), int(NOW))


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(http: HttpClient, **headers: str) -> Samples:
    response = http.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_have_the_asynq_exporters_names_types_and_labels(
    frozen_inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_queues(redis_client)
    response = HttpClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    # The parser drops a counter's _total suffix from the family name, not from its samples.
    found = {}
    for family in families.values():
        for sample in family.samples:
            found[sample.name] = (family.type, set(sample.labels))
    assert found == EXPORTER


def test_metrics_numbers_equal_the_inspectors_for_every_queue(
    frozen_inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_queues(redis_client)
    samples = scrape(HttpClient(), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    queues = frozen_inspector.queues()
    assert queues == ["critical", "default"]
    for q in queues:
        info = frozen_inspector.get_queue_info(q)
        label = (("queue", q),)
        for state in ("active", "pending", "scheduled", "retry", "archived", "completed"):
            key = ("asynq_tasks_enqueued_total", (("queue", q), ("state", state)))
            assert samples[key] == getattr(info, state), (q, state)
        assert samples[("asynq_queue_size", label)] == info.size
        assert samples[("asynq_queue_latency_seconds", label)] == info.latency.total_seconds()
        assert samples[("asynq_queue_memory_usage_approx_bytes", label)] == info.memory_usage
        assert samples[("asynq_tasks_processed_total", label)] == info.processed_total
        assert samples[("asynq_tasks_failed_total", label)] == info.failed_total
        assert samples[("asynq_queue_paused_total", label)] == (1 if info.paused else 0)
    assert samples[("asynq_queue_latency_seconds", (("queue", "critical"),))] == 42
    assert samples[("asynq_queue_paused_total", (("queue", "default"),))] == 1
    assert samples[("asynq_tasks_processed_total", (("queue", "critical"),))] == 17


def test_metrics_refuse_a_request_without_login_or_token(metrics_settings: str) -> None:
    response = HttpClient().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_metrics_refuse_a_wrong_bearer_token(metrics_settings: str) -> None:
    response = HttpClient().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.status_code == 401


def test_metrics_refuse_every_token_when_none_is_configured(queuecore_settings: str) -> None:
    response = HttpClient().get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401


def test_metrics_answer_a_logged_in_staff_user_without_token(
    frozen_inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_queues(redis_client)
    http = HttpClient()
    http.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    samples = scrape(http)
    assert samples[("asynq_queue_size", (("queue", "critical"),))] == 5


def test_metrics_answer_503_when_redis_is_unreachable(settings: object) -> None:
    settings.QUEUECORE = {  # type: ignore[attr-defined]
        **settings.QUEUECORE,  # type: ignore[attr-defined]
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "METRICS_TOKEN": TOKEN,
    }
    response = HttpClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    # A failed scrape, so Prometheus marks the target down instead of seeing empty metrics.
    assert response.status_code == 503
