"""GET /api/metrics: Asynqmon's Prometheus proxy, against a real Prometheus scraping /metrics."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient

from dashboard import prometheus as prom
from queuecore.contrib.django.checks import check_queuecore_settings
from tests.support import prometheus as prom_fixture
from tests.support.prometheus import (  # noqa: F401 (fixtures)
    ScrapedQueue,
    prometheus_fixture,
    scraped_queue_fixture,
)
from tests.support.redis_server import free_port

Api = Callable[[str], HttpClient]

ASYNQMON_KEYS = [
    "queue_size",
    "queue_latency_seconds",
    "queue_memory_usage_approx_bytes",
    "tasks_processed_per_second",
    "tasks_failed_per_second",
    "error_rate",
    "pending_tasks_by_queue",
    "retry_tasks_by_queue",
    "archived_tasks_by_queue",
]


def series_for(answer: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    return [s for s in answer["data"]["result"] if s["metric"].get("queue") == queue]


def last_value(answer: dict[str, Any], queue: str) -> str:
    (series,) = series_for(answer, queue)
    return str(series["values"][-1][1])


@pytest.fixture
def prometheus_at(settings: Any, api_settings: str) -> Callable[[str], None]:
    def point(url: str) -> None:
        settings.QUEUECORE = {**settings.QUEUECORE, "PROMETHEUS_URL": url}

    return point


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung Prometheus)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


# -- against a real Prometheus ------------------------------------------------------------------


@pytest.mark.slow
def test_the_api_answers_asynqmons_nine_keys_with_prometheus_series_for_the_queue(
    api: Api, scraped_queue: ScrapedQueue
) -> None:
    response = api("viewer").get("/api/metrics")
    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == ASYNQMON_KEYS
    for key in ASYNQMON_KEYS:
        assert body[key]["status"] == "success"
        assert body[key]["data"]["resultType"] == "matrix"
    q = scraped_queue.name
    assert last_value(body["queue_size"], q) == "6"
    assert last_value(body["pending_tasks_by_queue"], q) == "3"
    assert last_value(body["retry_tasks_by_queue"], q) == "2"
    assert last_value(body["archived_tasks_by_queue"], q) == "1"
    (pending,) = series_for(body["pending_tasks_by_queue"], q)
    assert pending["metric"]["state"] == "pending"
    assert series_for(body["tasks_processed_per_second"], q)
    assert series_for(body["queue_latency_seconds"], q)
    timestamp, value = pending["values"][-1]
    assert isinstance(timestamp, int | float)
    assert isinstance(value, str)


@pytest.mark.slow
def test_the_queues_parameter_keeps_only_the_named_queues(
    api: Api, scraped_queue: ScrapedQueue
) -> None:
    body = api("viewer").get(f"/api/metrics?queues={scraped_queue.other}").json()
    for key in ASYNQMON_KEYS:
        queues = {s["metric"].get("queue") for s in body[key]["data"]["result"]}
        assert queues <= {scraped_queue.other}, key
    assert last_value(body["queue_size"], scraped_queue.other) == "1"
    both = api("viewer").get(f"/api/metrics?queues={scraped_queue.name},{scraped_queue.other}")
    sizes = {s["metric"]["queue"] for s in both.json()["queue_size"]["data"]["result"]}
    assert sizes == {scraped_queue.name, scraped_queue.other}


@pytest.mark.slow
def test_queue_names_are_matched_literally_not_as_a_regex(
    api: Api, scraped_queue: ScrapedQueue
) -> None:
    # Asynqmon pastes names into the regex: ".*" would match every queue, a quote breaks PromQL.
    response = api("viewer").get('/api/metrics?queues=.*,a"b\\')
    assert response.status_code == 200, response.content
    assert response.json()["queue_size"]["data"]["result"] == []


@pytest.mark.slow
def test_an_endtime_before_the_queue_existed_has_no_series_for_it(
    api: Api, scraped_queue: ScrapedQueue
) -> None:
    an_hour_ago = int(time.time()) - 3600
    body = api("viewer").get(f"/api/metrics?endtime={an_hour_ago}&duration=600").json()
    assert series_for(body["queue_size"], scraped_queue.name) == []


# -- failures -----------------------------------------------------------------------------------


def test_an_unreachable_prometheus_is_a_502_naming_it(
    api: Api, prometheus_at: Callable[[str], None]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    prometheus_at(url)
    response = api("viewer").get("/api/metrics")
    assert response.status_code == 502
    message = response.content.decode()
    assert "failed to fetch" in message
    assert f"Prometheus at {url} is unreachable" in message


def test_a_prometheus_that_does_not_answer_in_time_is_a_502(
    api: Api,
    prometheus_at: Callable[[str], None],
    silent_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prom, "TIMEOUT", 0.2)
    prometheus_at(f"http://127.0.0.1:{silent_port}")
    response = api("viewer").get("/api/metrics")
    assert response.status_code == 502
    assert b"did not answer within 0.2 s" in response.content


def test_a_url_that_is_not_prometheus_is_a_502(
    api: Api, prometheus_at: Callable[[str], None], live_server: Any
) -> None:
    prometheus_at(live_server.url)  # our own Django: an HTML 404, not the query API
    response = api("viewer").get("/api/metrics")
    assert response.status_code == 502
    assert response.content.endswith(b"Prometheus answered 404: Not Found\n")


@pytest.mark.slow
def test_a_prometheus_error_status_is_a_502_with_its_reason(
    api: Api, prometheus_at: Callable[[str], None], prometheus: prom_fixture.PrometheusProcess
) -> None:
    prometheus_at(prometheus.url + "/no/such/prefix")
    response = api("viewer").get("/api/metrics")
    assert response.status_code == 502
    assert b"Prometheus answered 404: 404 page not found" in response.content


def test_a_password_in_the_prometheus_url_never_reaches_the_message(
    api: Api, prometheus_at: Callable[[str], None]
) -> None:
    prometheus_at(f"http://user:s3cret@127.0.0.1:{free_port()}")
    response = api("viewer").get("/api/metrics")
    assert response.status_code == 502
    assert b"s3cret" not in response.content


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("duration=abc", 'invalid query parameter: invalid value provided for duration: "abc"'),
        ("endtime=soon", 'invalid query parameter: invalid value provided for end_time: "soon"'),
        ("duration=0", "invalid query parameter: duration must be a positive number"),
    ],
)
def test_bad_window_parameters_are_a_400_with_asynqmons_text(
    api: Api, prometheus_at: Callable[[str], None], query: str, message: str
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    response = api("viewer").get(f"/api/metrics?{query}")
    assert response.status_code == 400
    assert response.content.decode().startswith(message)


def test_without_a_prometheus_url_the_api_says_what_to_configure(api: Api) -> None:
    response = api("viewer").get("/api/metrics")
    assert response.status_code == 501
    assert b'QUEUECORE["PROMETHEUS_URL"]' in response.content


def test_the_proxy_needs_a_dashboard_role(
    prometheus_at: Callable[[str], None], users: dict[str, Any]
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    client = HttpClient()
    client.force_login(users["nobody"])
    assert client.get("/api/metrics").status_code == 403


# -- the queries and the window (pure) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "step"),
    [
        (3600, 10),
        (6 * 3600, 10),
        (6 * 3600 + 1, 60),
        (86400, 60),
        (8 * 86400, 180),
        (30 * 86400, 600),
        (90 * 86400, 90 * 86400 // 3000),
    ],
)
def test_the_step_grows_with_the_window_as_asynqmons_does(duration: int, step: int) -> None:
    assert prom.step_seconds(duration) == step


def test_without_a_queue_filter_the_queries_are_asynqmons_exactly() -> None:
    queries = {key: prom.promql(template, ()) for key, template in prom.QUERIES}
    assert queries == {
        "queue_size": "asynq_queue_size{}",
        "queue_latency_seconds": "asynq_queue_latency_seconds{}",
        "queue_memory_usage_approx_bytes": "asynq_queue_memory_usage_approx_bytes{}",
        "tasks_processed_per_second": "rate(asynq_tasks_processed_total{}[5m])",
        "tasks_failed_per_second": "rate(asynq_tasks_failed_total{}[5m])",
        "error_rate": (
            "rate(asynq_tasks_failed_total{}[5m]) / rate(asynq_tasks_processed_total{}[5m])"
        ),
        "pending_tasks_by_queue": 'asynq_tasks_enqueued_total{state="pending"}',
        "retry_tasks_by_queue": 'asynq_tasks_enqueued_total{state="retry"}',
        "archived_tasks_by_queue": 'asynq_tasks_enqueued_total{state="archived"}',
    }


def test_a_queue_filter_is_a_literal_alternation() -> None:
    assert prom.queue_matcher(("default", "a.b")) == 'queue=~"default|a\\\\.b"'
    assert prom.promql(prom.QUERIES[6][1], ("low",)) == (
        'asynq_tasks_enqueued_total{state="pending",queue=~"low"}'
    )


def test_the_window_defaults_to_the_last_hour_ending_now() -> None:
    window = prom.parse_window(duration=None, endtime=None, queues=[], now=1_000_000)
    assert (window.start, window.end, window.step, window.queues) == (996_400, 1_000_000, 10, ())
    listed = prom.parse_window(duration="60", endtime="500", queues=["a,b", "c", "a"], now=9)
    assert (listed.start, listed.end, listed.queues) == (440, 500, ("a", "b", "c"))


@pytest.mark.parametrize(
    ("url", "ids"),
    [
        ("", []),
        ("http://127.0.0.1:9090", []),
        ("https://prometheus.example.com/prefix", []),
        ("127.0.0.1:9090", ["queuecore.E011"]),
        ("file:///etc/passwd", ["queuecore.E011"]),
        (9090, ["queuecore.E011"]),
    ],
)
def test_manage_py_check_reports_a_prometheus_url_that_is_not_http(
    settings: Any, url: object, ids: list[str]
) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "PROMETHEUS_URL": url}
    assert [m.id for m in check_queuecore_settings()] == ids
