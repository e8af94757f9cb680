"""Reads the one ``QUEUECORE`` setting; every Django-side consumer asks here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "QUEUES": {"default": 1},
    "CONCURRENCY": 10,
    "STRICT_PRIORITY": False,
    "SHUTDOWN_TIMEOUT": 8,
    "SCHEDULE": [],
    "READ_ONLY": False,
    "METRICS_TOKEN": "",
    # The Prometheus scraping /metrics, e.g. "http://127.0.0.1:9090"; "" hides the Metrics page.
    "PROMETHEUS_URL": "",
    "API_TOKENS": {},
    # Dotted path to fn(group, tasks) -> Task (asynq's GroupAggregator); None: no aggregation.
    "GROUP_AGGREGATOR": None,
    # Seconds (or a timedelta) a group waits for more tasks / at most / tasks per aggregate.
    "GROUP_GRACE_PERIOD": 60,
    "GROUP_MAX_DELAY": 0,
    "GROUP_MAX_SIZE": 0,
    # Dashboard display (see queuecore.contrib.django.display): {task-type pattern: dotted path
    # of fn(task_type, data)} for payloads and results, and [{"label", "url"}] links per task.
    "PAYLOAD_FORMATTERS": {},
    "RESULT_FORMATTERS": {},
    "TASK_LINKS": [],
    # Health findings thresholds: {field of queuecore.health.HealthThresholds: value}; fields not
    # given keep their documented defaults.
    "HEALTH": {},
    # Dashboard recycle bin: hours a task deleted through the dashboard stays restorable (0: no
    # copies are kept), and the most copies one deletion keeps (the rest are deleted uncopied).
    "RECYCLE_BIN_HOURS": 24,
    "RECYCLE_BIN_MAX_TASKS": 10_000,
    # Alert channels (see queuecore.alerts.channels and the README's "Alerts"): a list of
    # {"type": "email" | "webhook" | "slack", ...}; [] sends no alerts. The alert loop evaluates
    # the health findings every ALERTS_INTERVAL seconds.
    "ALERTS": [],
    "ALERTS_INTERVAL": 30,
    # More Redis instances for the dashboard (see queuecore.contrib.django.instances): {name:
    # {"URL": url or settings dict, "LABEL", "COLOR", "READ_ONLY", "TIMEOUT"}}; the REDIS_URL one
    # is the instance "default", whose label, colour and read-only flag a "default" entry may set.
    "INSTANCES": {},
}


def queuecore_setting(name: str) -> Any:
    configured = getattr(settings, "QUEUECORE", {}) or {}
    if name in configured:
        return configured[name]
    return DEFAULTS[name]


def redis_url() -> str:
    """The Redis to use, as a URL.

    ``QUEUECORE["REDIS"]`` (a URL or a settings dict, see ``RedisSettings.from_mapping``) wins
    over ``QUEUECORE["REDIS_URL"]``; a dict is turned into the equivalent URL so every consumer
    keys its shared clients by one string.
    """
    configured = getattr(settings, "QUEUECORE", {}) or {}
    if configured.get("REDIS") is not None:
        from queuecore.rdb.connection import RedisSettings

        return RedisSettings.coerce(configured["REDIS"]).to_url()
    return str(queuecore_setting("REDIS_URL"))


def group_aggregator() -> Callable[..., Any] | None:
    """``QUEUECORE["GROUP_AGGREGATOR"]`` imported (a dotted path, or a callable as is)."""
    value = queuecore_setting("GROUP_AGGREGATOR")
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f'QUEUECORE["GROUP_AGGREGATOR"] cannot be imported: {exc}'
            ) from exc
    if not callable(value):
        raise ImproperlyConfigured('QUEUECORE["GROUP_AGGREGATOR"] must name a callable')
    return value  # type: ignore[no-any-return]


def _seconds(name: str) -> float:
    value = queuecore_setting(name)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImproperlyConfigured(f'QUEUECORE["{name}"] must be seconds or a timedelta')
    return float(value)


def group_options() -> dict[str, Any]:
    """The ServerConfig fields for group aggregation; empty when no aggregator is set."""
    aggregate = group_aggregator()
    if aggregate is None:
        return {}
    max_size = queuecore_setting("GROUP_MAX_SIZE")
    if isinstance(max_size, bool) or not isinstance(max_size, int):
        raise ImproperlyConfigured('QUEUECORE["GROUP_MAX_SIZE"] must be an integer')
    return {
        "group_aggregator": aggregate,
        "group_grace_period": _seconds("GROUP_GRACE_PERIOD"),
        "group_max_delay": _seconds("GROUP_MAX_DELAY"),
        "group_max_size": max_size,
    }
