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
