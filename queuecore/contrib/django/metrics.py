"""Prometheus ``/metrics``: asynq's queue metrics, computed from Redis when Prometheus scrapes.

The collector publishes what asynq's ``x/metrics`` ``QueueMetricsCollector`` publishes, with the
same names, help texts, types and labels, so Asynqmon's metrics page, existing Grafana dashboards
and alerts work unchanged:

============================================  =======  ================  =========================
metric                                        type     labels            from QueueInfo
============================================  =======  ================  =========================
``asynq_tasks_enqueued_total``                gauge    queue, state      active/pending/scheduled/
                                                                         retry/archived/completed
``asynq_queue_size``                          gauge    queue             size
``asynq_queue_latency_seconds``               gauge    queue             latency
``asynq_queue_memory_usage_approx_bytes``     gauge    queue             memory_usage (sampled)
``asynq_tasks_processed_total``               counter  queue             processed_total
``asynq_tasks_failed_total``                  counter  queue             failed_total
``asynq_queue_paused_total``                  gauge    queue             1 if paused else 0
============================================  =======  ================  =========================

Nothing is kept in the web process (no multiprocess mode): every gunicorn worker reads the same
Redis, so any of them answers the same numbers. Access needs a logged-in dashboard user or the
bearer token ``QUEUECORE["METRICS_TOKEN"]``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from queuecore.contrib.django import instances
from queuecore.contrib.django.conf import queuecore_setting
from queuecore.contrib.django.connection import shared_inspector
from queuecore.errors import QueueCoreError, RedisUnavailableError

if TYPE_CHECKING:
    from queuecore.inspection import QueueInfo

log = logging.getLogger(__name__)

# The dashboard's "viewer" permission; a logged-in user holding it may read the metrics too.
VIEW_PERMISSION = "dashboard.view_dashboard"

# Go's exporter emits the per-state gauge for these states, in this order (not aggregating).
ENQUEUED_STATES = ("active", "pending", "scheduled", "retry", "archived", "completed")


class QueueMetricsCollector(Collector):
    """asynq's QueueMetricsCollector: one Inspector pass per scrape, every queue."""

    def __init__(self, inspector: Any) -> None:
        self.inspector = inspector

    def queue_infos(self) -> list[QueueInfo]:
        # Sampled memory usage, as Go's exporter reports it; the expensive mode is fine at
        # Prometheus's scrape interval, unlike at the dashboard's polling rate.
        return list(self.inspector.overview(cheap=False))

    def collect(self) -> Iterator[Metric]:
        yield from self.families(self.queue_infos())

    @staticmethod
    def families(infos: Iterable[QueueInfo]) -> list[Metric]:
        enqueued = GaugeMetricFamily(
            "asynq_tasks_enqueued_total",
            "Number of tasks enqueued; broken down by queue and state.",
            labels=["queue", "state"],
        )
        size = GaugeMetricFamily("asynq_queue_size", "Number of tasks in a queue", labels=["queue"])
        latency = GaugeMetricFamily(
            "asynq_queue_latency_seconds",
            "Number of seconds the oldest pending task is waiting in pending state to be "
            "processed.",
            labels=["queue"],
        )
        memory = GaugeMetricFamily(
            "asynq_queue_memory_usage_approx_bytes",
            "Number of memory used by a given queue (approximated number by sampling).",
            labels=["queue"],
        )
        processed = CounterMetricFamily(
            "asynq_tasks_processed_total",
            "Number of tasks processed (both succeeded and failed); broken down by queue",
            labels=["queue"],
        )
        failed = CounterMetricFamily(
            "asynq_tasks_failed_total",
            "Number of tasks failed; broken down by queue",
            labels=["queue"],
        )
        paused = GaugeMetricFamily(
            "asynq_queue_paused_total", "Number of queues paused", labels=["queue"]
        )
        for info in infos:
            q = info.queue
            for state in ENQUEUED_STATES:
                enqueued.add_metric([q, state], getattr(info, state))
            size.add_metric([q], info.size)
            latency.add_metric([q], info.latency.total_seconds())
            # A managed Redis may forbid MEMORY USAGE; no sample beats a made-up zero.
            if info.memory_usage is not None:
                memory.add_metric([q], info.memory_usage)
            processed.add_metric([q], info.processed_total)
            failed.add_metric([q], info.failed_total)
            paused.add_metric([q], 1 if info.paused else 0)
        return [enqueued, size, latency, memory, processed, failed, paused]


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def may_read_metrics(request: HttpRequest) -> bool:
    expected = str(queuecore_setting("METRICS_TOKEN") or "")
    given = bearer_token(request)
    if expected and given is not None and hmac.compare_digest(given.encode(), expected.encode()):
        return True
    user = request.user
    return bool(user.is_authenticated and (user.is_staff or user.has_perm(VIEW_PERMISSION)))


# Prometheus cannot log in: the bearer token is checked here instead of by LoginRequiredMiddleware.
@login_not_required
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_read_metrics(request):
        response = HttpResponse("metrics need a dashboard login or the bearer token\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    # i/<name>/metrics scrapes that instance; the top-level metrics, the default one.
    here = instances.get(instances.of_request(request))
    collector = QueueMetricsCollector(shared_inspector(here.url))
    try:
        families = collector.families(collector.queue_infos())
    except RedisUnavailableError as exc:
        # A failed scrape (Prometheus marks the target down) says more than an empty 200.
        return HttpResponse(f"{exc}\n", status=503, content_type="text/plain; charset=utf-8")
    except QueueCoreError as exc:
        log.warning("metrics: could not read queues: %s", exc)
        return HttpResponse(f"{exc}\n", status=500, content_type="text/plain; charset=utf-8")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type)


class _Snapshot(Collector):
    """Families already read; lets the view turn Redis failures into statuses before encoding."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)
