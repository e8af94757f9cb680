"""System checks for the ``QUEUECORE`` setting: a bad value is reported by ``manage.py check``
(and before runworker/runserver start), not by a worker that dies on its first task.

IDs are stable; the backend's own checks use queuecore.W101/W102.

* queuecore.E001  REDIS / REDIS_URL does not parse
* queuecore.E002  QUEUES is not a mapping of non-blank names to positive integers (or a spec)
* queuecore.E003  CONCURRENCY is not a positive integer
* queuecore.E004  a SCHEDULE entry is invalid (the scheduler's own validation)
* queuecore.E005  GROUP_AGGREGATOR cannot be imported or is not callable
* queuecore.E006  GROUP_GRACE_PERIOD / GROUP_MAX_DELAY / GROUP_MAX_SIZE out of range
* queuecore.E007  SHUTDOWN_TIMEOUT is not a non-negative number of seconds
* queuecore.E008  PAYLOAD_FORMATTERS / RESULT_FORMATTERS: not a mapping, a bad pattern, or a
                  formatter that cannot be imported or is not callable
* queuecore.E009  TASK_LINKS: not a list of {"label", "url"}, a url that is not http(s), or an
                  unknown placeholder
* queuecore.E010  HEALTH is not a mapping of HealthThresholds fields to valid values
* queuecore.E011  PROMETHEUS_URL is not "" or an http(s) URL with a host
* queuecore.E012  ALERTS is not a list of valid channels, or ALERTS_INTERVAL is not seconds >= 1
* queuecore.E013  an ALERTS channel names an unknown finding (not a queuecore.health rule id)
* queuecore.E014  an ALERTS webhook/slack channel's url is not an http(s) URL with a host
* queuecore.E015  an ALERTS email channel has no mail settings to send through (MAILERS or
                  EMAIL_HOST)
* queuecore.E020  INSTANCES is not a dict of valid instances (name, keys, LABEL, COLOR, TIMEOUT)
* queuecore.E021  an INSTANCES entry's URL is missing or not a usable Redis
* queuecore.W020  two INSTANCES point at the same Redis (a change on one would show on both)
* queuecore.W001  READ_ONLY is not a bool
* queuecore.W002  STRICT_PRIORITY is not a bool
* queuecore.W003  QUEUECORE has a key queuecore does not know (a typo is otherwise silent)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from queuecore.contrib.django.conf import DEFAULTS, group_aggregator, queuecore_setting, redis_url
from queuecore.errors import QueueCoreError

KNOWN_KEYS = frozenset(DEFAULTS) | {"REDIS"}
HINT = 'See QUEUECORE in the settings and the README\'s "Configuration" section.'


def _error(msg: str, code: str) -> checks.Error:
    return checks.Error(msg, hint=HINT, obj="settings.QUEUECORE", id=f"queuecore.{code}")


def _warning(msg: str, code: str) -> checks.Warning:
    return checks.Warning(msg, hint=HINT, obj="settings.QUEUECORE", id=f"queuecore.{code}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_seconds(value: Any) -> bool:
    return isinstance(value, timedelta) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


def check_redis() -> list[checks.CheckMessage]:
    from queuecore.rdb.connection import RedisSettings

    try:
        RedisSettings.from_url(redis_url())
    except (QueueCoreError, ValueError, TypeError, KeyError) as exc:
        return [_error(f'QUEUECORE["REDIS"]/["REDIS_URL"] is not a usable Redis: {exc}', "E001")]
    return []


def check_queues() -> list[checks.CheckMessage]:
    from queuecore.server.policy import parse_queue_spec

    queues = queuecore_setting("QUEUES")
    if isinstance(queues, str):
        try:
            parse_queue_spec([queues])
        except QueueCoreError as exc:
            return [_error(f'QUEUECORE["QUEUES"] spec {queues!r}: {exc}', "E002")]
        return []
    if not isinstance(queues, Mapping) or not queues:
        return [_error('QUEUECORE["QUEUES"] must be a non-empty {"name": priority} dict', "E002")]
    for name, priority in queues.items():
        if not isinstance(name, str) or not name.strip():
            return [_error(f'QUEUECORE["QUEUES"] has a blank queue name: {name!r}', "E002")]
        if not _is_int(priority) or priority < 1:
            return [
                _error(
                    f'QUEUECORE["QUEUES"][{name!r}] must be a positive integer, got {priority!r}',
                    "E002",
                )
            ]
    return []


def check_numbers() -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    concurrency = queuecore_setting("CONCURRENCY")
    if not _is_int(concurrency) or concurrency < 1:
        messages.append(
            _error(
                f'QUEUECORE["CONCURRENCY"] must be a positive integer, got {concurrency!r}', "E003"
            )
        )
    timeout = queuecore_setting("SHUTDOWN_TIMEOUT")
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    if not _is_seconds(timeout) or seconds < 0:
        messages.append(
            _error(f'QUEUECORE["SHUTDOWN_TIMEOUT"] must be seconds >= 0, got {timeout!r}', "E007")
        )
    for name, code in (("READ_ONLY", "W001"), ("STRICT_PRIORITY", "W002")):
        value = queuecore_setting(name)
        if not isinstance(value, bool):
            messages.append(
                _warning(f'QUEUECORE["{name}"] should be True or False, got {value!r}', code)
            )
    return messages


def check_schedule() -> list[checks.CheckMessage]:
    if not queuecore_setting("SCHEDULE"):
        return []  # nothing to validate; spares every command the scheduler's imports
    from queuecore.contrib.django.queuecore.management.commands.runscheduler import (
        schedule_from_settings,
    )

    try:
        schedule_from_settings()
    except ImproperlyConfigured as exc:
        return [_error(str(exc), "E004")]
    return []


def check_groups() -> list[checks.CheckMessage]:
    try:
        aggregate = group_aggregator()
    except ImproperlyConfigured as exc:
        return [_error(str(exc), "E005")]
    if aggregate is None:
        return []
    problems = []
    for name, minimum in (("GROUP_GRACE_PERIOD", 1), ("GROUP_MAX_DELAY", 0)):
        value = queuecore_setting(name)
        seconds = value.total_seconds() if isinstance(value, timedelta) else value
        if not _is_seconds(value) or seconds < minimum:
            problems.append(f'QUEUECORE["{name}"] must be seconds >= {minimum}, got {value!r}')
    size = queuecore_setting("GROUP_MAX_SIZE")
    if not _is_int(size) or size < 0:
        problems.append(f'QUEUECORE["GROUP_MAX_SIZE"] must be an integer >= 0, got {size!r}')
    return [_error(problem, "E006") for problem in problems]


def check_formatters() -> list[checks.CheckMessage]:
    from queuecore.contrib.django import display

    messages: list[checks.CheckMessage] = []
    for setting in display.FORMATTER_SETTINGS:
        try:
            entries = display.formatter_entries(setting)
        except ImproperlyConfigured as exc:
            messages.append(_error(str(exc), "E008"))
            continue
        for pattern, value in entries.items():
            try:
                display.load_formatter(setting, display.check_pattern(setting, pattern), value)
            except ImproperlyConfigured as exc:
                messages.append(_error(str(exc), "E008"))
    return messages


def check_links() -> list[checks.CheckMessage]:
    from queuecore.contrib.django import display

    try:
        entries = display.link_entries()
    except ImproperlyConfigured as exc:
        return [_error(str(exc), "E009")]
    messages: list[checks.CheckMessage] = []
    for index, entry in enumerate(entries):
        try:
            display.parse_link(entry, index)
        except ImproperlyConfigured as exc:
            messages.append(_error(str(exc), "E009"))
    return messages


def check_health() -> list[checks.CheckMessage]:
    value = queuecore_setting("HEALTH")
    if value is None or value == {}:
        return []  # the defaults; spares runworker's checks the scheduler's imports
    from queuecore.health import HealthThresholds

    try:
        HealthThresholds.from_mapping(value)
    except (QueueCoreError, TypeError) as exc:
        return [_error(f'QUEUECORE["HEALTH"]: {exc}', "E010")]
    return []


def check_keys() -> list[checks.CheckMessage]:
    configured = getattr(settings, "QUEUECORE", {}) or {}
    unknown = sorted(str(key) for key in configured if key not in KNOWN_KEYS)
    return [_warning(f'QUEUECORE has an unknown key "{key}"', "W003") for key in unknown]


def check_prometheus() -> list[checks.CheckMessage]:
    value = queuecore_setting("PROMETHEUS_URL")
    if value is None or value == "":
        return []
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            _error(
                'QUEUECORE["PROMETHEUS_URL"] must be "" or the Prometheus server\'s http(s) URL, '
                f"e.g. http://127.0.0.1:9090; got {value!r}",
                "E011",
            )
        ]
    return []


ALERT_PROBLEM_IDS = {"setting": "E012", "finding": "E013", "url": "E014"}


def check_alerts() -> list[checks.CheckMessage]:
    configured = getattr(settings, "QUEUECORE", {}) or {}
    if not configured.get("ALERTS") and "ALERTS_INTERVAL" not in configured:
        return []  # no alerts; spares every command the alert imports
    from queuecore.alerts import ChannelError, channels_from_setting
    from queuecore.contrib.django.alerts import alert_interval, mail_problem

    messages: list[checks.CheckMessage] = []
    try:
        alert_interval()
    except ImproperlyConfigured as exc:
        messages.append(_error(str(exc), "E012"))
    try:
        channels = channels_from_setting(queuecore_setting("ALERTS"))
    except ChannelError as exc:
        messages.append(_error(f'QUEUECORE["ALERTS"]: {exc}', ALERT_PROBLEM_IDS[exc.problem]))
        return messages
    for channel in channels:
        problem = mail_problem(channel) if channel.type == "email" else None
        if problem:
            messages.append(_error(f'QUEUECORE["ALERTS"]: {problem}', "E015"))
    return messages


def check_instances() -> list[checks.CheckMessage]:
    from queuecore.contrib.django.instances import InstanceURLError, configured, problems

    found = problems()
    if found:
        return [
            _error(str(exc), "E021" if isinstance(exc, InstanceURLError) else "E020")
            for exc in found
        ]
    try:
        fleet = configured()
    except ImproperlyConfigured:
        return []  # REDIS / REDIS_URL itself is bad: E001 says so
    by_url: dict[str, str] = {}
    messages: list[checks.CheckMessage] = []
    for instance in fleet:
        if instance.url in by_url:
            messages.append(
                _warning(
                    f'QUEUECORE["INSTANCES"]: "{instance.name}" and "{by_url[instance.url]}" '
                    "are the same Redis",
                    "W020",
                )
            )
        by_url.setdefault(instance.url, instance.name)
    return messages


@checks.register("queuecore")
def check_queuecore_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    for check in (
        check_redis,
        check_queues,
        check_numbers,
        check_schedule,
        check_groups,
        check_formatters,
        check_links,
        check_health,
        check_prometheus,
        check_alerts,
        check_instances,
    ):
        messages.extend(check())
    messages.extend(check_keys())
    return messages
