"""Asynqmon's Prometheus proxy: its nine PromQL queries, run with ``query_range`` server-side.

``QUEUECORE["PROMETHEUS_URL"]`` names the Prometheus that scrapes our ``/metrics``. The queries,
the step rule and the response keys are those of Asynqmon's ``metrics_handler.go``, so the JSON
API answers what Asynqmon's answers and the Metrics page charts the same numbers. Two deliberate
differences: queue names are escaped inside the ``queue=~"..."`` filter (Asynqmon pastes them in
raw, so ``a.b`` also matches ``axb`` and a quote breaks the query), and a Prometheus that fails,
times out or answers an API error raises :class:`PrometheusError` instead of being passed through
as if it had answered.
"""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from queuecore.contrib.django.conf import queuecore_setting

# Seconds each query may take; the nine run in parallel, so a page waits about this long at most.
TIMEOUT = 5.0
# Asynqmon's default window: the last hour.
DEFAULT_DURATION = 3600
QUERY_RANGE_PATH = "/api/v1/query_range"
# Prometheus answers an error as JSON, but a proxy in front of it may not; keep replies bounded.
MAX_ERROR_BODY = 2000

# (response key, PromQL) in Asynqmon's order; QUEUE_FILTER becomes the optional queue matcher.
QUERIES: tuple[tuple[str, str], ...] = (
    ("queue_size", "asynq_queue_size{QUEUE_FILTER}"),
    ("queue_latency_seconds", "asynq_queue_latency_seconds{QUEUE_FILTER}"),
    ("queue_memory_usage_approx_bytes", "asynq_queue_memory_usage_approx_bytes{QUEUE_FILTER}"),
    ("tasks_processed_per_second", "rate(asynq_tasks_processed_total{QUEUE_FILTER}[5m])"),
    ("tasks_failed_per_second", "rate(asynq_tasks_failed_total{QUEUE_FILTER}[5m])"),
    (
        "error_rate",
        "rate(asynq_tasks_failed_total{QUEUE_FILTER}[5m])"
        " / rate(asynq_tasks_processed_total{QUEUE_FILTER}[5m])",
    ),
    ("pending_tasks_by_queue", 'asynq_tasks_enqueued_total{state="pending",QUEUE_FILTER}'),
    ("retry_tasks_by_queue", 'asynq_tasks_enqueued_total{state="retry",QUEUE_FILTER}'),
    ("archived_tasks_by_queue", 'asynq_tasks_enqueued_total{state="archived",QUEUE_FILTER}'),
)

_REGEX_SPECIAL = frozenset("\\.+*?()|[]{}^$")


class PrometheusError(Exception):
    """Prometheus could not answer a query; the message says which query and why."""


def configured_url() -> str:
    """``QUEUECORE["PROMETHEUS_URL"]``, or "" when the Metrics page and API are off."""
    return str(queuecore_setting("PROMETHEUS_URL") or "").strip()


def step_seconds(duration: int) -> int:
    """Asynqmon's step: at most a few thousand points whatever the window (Go truncates)."""
    if duration <= 6 * 3600:
        return 10
    if duration <= 24 * 3600:
        return 60
    if duration <= 8 * 24 * 3600:
        return 180
    if duration <= 30 * 24 * 3600:
        return 600
    return duration // 3000


def queue_matcher(queues: tuple[str, ...]) -> str:
    """``queue=~"a|b"`` with each name matched literally; "" for every queue."""
    if not queues:
        return ""
    pattern = "|".join("".join("\\" + c if c in _REGEX_SPECIAL else c for c in q) for q in queues)
    # JSON's string escapes are a subset of PromQL's (Go's), so this quotes any name safely.
    return "queue=~" + json.dumps(pattern, ensure_ascii=False)


def promql(template: str, queues: tuple[str, ...]) -> str:
    matcher = queue_matcher(queues)
    if matcher:
        return template.replace("QUEUE_FILTER", matcher)
    return template.replace(",QUEUE_FILTER", "").replace("QUEUE_FILTER", "")


@dataclass(frozen=True, kw_only=True)
class Window:
    """The time range charted: ``duration`` seconds ending at ``end`` (Unix seconds)."""

    end: int
    duration: int = DEFAULT_DURATION
    # Empty: every queue.
    queues: tuple[str, ...] = ()

    @property
    def start(self) -> int:
        return self.end - self.duration

    @property
    def step(self) -> int:
        return step_seconds(self.duration)


# Bounds of a window: 400 days back, datetimes stop at year 9999, and a query of sane length.
MAX_DURATION = 400 * 86400
MAX_ENDTIME = 253402300799
MAX_QUEUES = 100
MAX_QUEUE_NAME = 1024


def parse_window(
    *, duration: str | None, endtime: str | None, queues: list[str], now: int
) -> Window:
    """Asynqmon's query parameters (``duration``, ``endtime``, ``queues=a,b``) as a Window.

    Raises ValueError with Asynqmon's wording for a value that is not an integer; a duration
    that is not positive is refused too (Asynqmon forwards it and Prometheus errors).
    """
    window_duration, end = DEFAULT_DURATION, now
    if duration:
        try:
            window_duration = int(duration)
        except ValueError:
            raise ValueError(f'invalid value provided for duration: "{duration}"') from None
        if window_duration <= 0:
            raise ValueError(f"duration must be a positive number of seconds, got {duration}")
    if endtime:
        try:
            end = int(endtime)
        except ValueError:
            raise ValueError(f'invalid value provided for end_time: "{endtime}"') from None
    if window_duration > MAX_DURATION or not 0 <= end <= MAX_ENDTIME:
        raise ValueError(
            f"duration must be at most {MAX_DURATION} seconds and endtime between 0 and "
            f"{MAX_ENDTIME}"
        )
    names = tuple(dict.fromkeys(n for value in queues for n in value.split(",") if n))
    if len(names) > MAX_QUEUES or any(len(n) > MAX_QUEUE_NAME for n in names):
        raise ValueError(f"at most {MAX_QUEUES} queues of at most {MAX_QUEUE_NAME} characters")
    return Window(end=end, duration=window_duration, queues=names)


class PrometheusClient:
    """Runs range queries against one Prometheus with stdlib HTTP, each bounded by ``timeout``."""

    def __init__(self, base_url: str, *, timeout: float | None = None) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PrometheusError(f"PROMETHEUS_URL {base_url!r} is not an http(s) URL")
        self.headers = {"Accept": "application/json"}
        if parts.username is not None:
            # Basic auth written into the URL, as Prometheus's own tools accept it.
            pair = f"{parts.username}:{parts.password or ''}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port is not None:
            netloc += f":{parts.port}"
        # Never show the password in an error message or a log line.
        self.base_url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.timeout = TIMEOUT if timeout is None else timeout

    def query_range(self, query: str, window: Window) -> dict[str, Any]:
        """Prometheus's parsed JSON answer (``status`` "success", ``data``) for one query."""
        params = {"query": query, "start": window.start, "end": window.end, "step": window.step}
        url = f"{self.base_url}{QUERY_RANGE_PATH}?{urlencode(params)}"
        # The scheme was checked to be http(s) in __init__.
        request = Request(url, headers=self.headers)  # noqa: S310
        try:
            with urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
        except HTTPError as exc:
            raise PrometheusError(self._rejection(query, exc)) from exc
        except TimeoutError as exc:
            raise PrometheusError(self._timed_out(query)) from exc
        except URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise PrometheusError(self._timed_out(query)) from exc
            raise PrometheusError(
                f'failed to fetch "{query}": Prometheus at {self.base_url} is unreachable: '
                f"{exc.reason}"
            ) from exc
        except OSError as exc:
            raise PrometheusError(
                f'failed to fetch "{query}": Prometheus at {self.base_url} failed: {exc}'
            ) from exc
        return self._decoded(query, body)

    def fetch_all(self, window: Window) -> dict[str, dict[str, Any]]:
        """Asynqmon's ``GET /api/metrics`` body: the nine answers under its keys, run in parallel.

        The first failure (in Asynqmon's query order) is raised; a partial set is never returned.
        """
        queries = [(key, promql(template, window.queues)) for key, template in QUERIES]
        with ThreadPoolExecutor(max_workers=len(queries)) as pool:
            futures = [(key, pool.submit(self.query_range, q, window)) for key, q in queries]
            return {key: future.result() for key, future in futures}

    def _timed_out(self, query: str) -> str:
        return (
            f'failed to fetch "{query}": Prometheus at {self.base_url} did not answer '
            f"within {self.timeout:g} s"
        )

    def _rejection(self, query: str, exc: HTTPError) -> str:
        body = exc.read(MAX_ERROR_BODY)
        try:
            reason = str(json.loads(body).get("error") or exc.reason)
        except (ValueError, AttributeError):
            # A proxy's or web server's HTML error page says nothing its status does not.
            plain = exc.headers.get_content_type() == "text/plain"
            reason = (plain and body.decode("utf-8", "replace").strip()) or str(exc.reason)
        return f'failed to fetch "{query}": Prometheus answered {exc.code}: {reason}'

    def _decoded(self, query: str, body: bytes) -> dict[str, Any]:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("status") == "error":
            raise PrometheusError(
                f'failed to fetch "{query}": Prometheus answered: {answer.get("error")}'
            )
        if (
            not isinstance(answer, dict)
            or answer.get("status") != "success"
            or not isinstance(answer.get("data"), dict)
        ):
            raise PrometheusError(
                f'failed to fetch "{query}": {self.base_url} did not answer with Prometheus '
                "API JSON (is PROMETHEUS_URL the Prometheus server's address?)"
            )
        return answer


def fetch_metrics(window: Window) -> dict[str, dict[str, Any]]:
    """The nine series sets from the configured Prometheus (the caller checks it is configured)."""
    return PrometheusClient(configured_url()).fetch_all(window)
