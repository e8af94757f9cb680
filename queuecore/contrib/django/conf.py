"""Reads the one ``QUEUECORE`` setting; every Django-side consumer asks here."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "QUEUES": {"default": 1},
    "CONCURRENCY": 10,
    "STRICT_PRIORITY": False,
    "SHUTDOWN_TIMEOUT": 8,
    "SCHEDULE": [],
    "READ_ONLY": False,
    "METRICS_TOKEN": "",
    "API_TOKENS": {},
}


def queuecore_setting(name: str) -> Any:
    configured = getattr(settings, "QUEUECORE", {}) or {}
    if name in configured:
        return configured[name]
    return DEFAULTS[name]


def redis_url() -> str:
    return str(queuecore_setting("REDIS_URL"))
