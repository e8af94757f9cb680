"""Alert channels: where messages go and which findings each one wants.

One item of ``QUEUECORE["ALERTS"]`` becomes one :class:`Channel` (:func:`channels_from_setting`)::

    {"type": "slack", "url": "https://hooks.slack.com/services/...",
     "findings": ["no_consumer", "error_rate"], "severities": ["critical"],
     "queues": ["default", "critical"], "remind_every": 3600}

Filters: ``findings`` (rule ids of :data:`queuecore.health.RULES`; empty: every rule),
``severities`` (empty: both) and ``queues`` (empty: every queue). ``queues`` limits the findings
about a queue only; a finding about a scheduler entry (``cron_stalled``) has no queue and is
limited by ``findings`` alone.

Bad settings raise :class:`ChannelError`, whose ``problem`` tells the system check which stable id
to report: ``"finding"`` (an unknown rule id), ``"url"`` (not an http(s) URL with a host) or
``"setting"`` (anything else).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from queuecore.errors import InvalidArgumentError
from queuecore.health import RULES, Finding, Severity

__all__ = ["CHANNEL_TYPES", "Channel", "ChannelError", "channels_from_setting"]

CHANNEL_TYPES = ("email", "webhook", "slack")
Problem = Literal["setting", "finding", "url"]

_COMMON_KEYS = {
    "type",
    "name",
    "findings",
    "severities",
    "queues",
    "remind_every",
    "open_after",
    "max_attempts",
    "timeout",
}
_KEYS_OF_TYPE = {
    "email": _COMMON_KEYS | {"to", "from", "mailer"},
    "webhook": _COMMON_KEYS | {"url", "secret", "token"},
    "slack": _COMMON_KEYS | {"url"},
}


class ChannelError(InvalidArgumentError):
    """A bad ``QUEUECORE["ALERTS"]`` item; ``problem`` classifies it for the system checks."""

    def __init__(self, message: str, problem: Problem = "setting") -> None:
        super().__init__(message)
        self.problem: Problem = problem


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChannelError(f"{name} must be seconds or a timedelta, got {value!r}")
    return float(value)


def _names(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple | set | frozenset) or not all(
        isinstance(v, str) and v.strip() for v in value
    ):
        raise ChannelError(f"{name} must be a list of non-blank strings, got {value!r}")
    return tuple(sorted({v.strip() for v in value}))


@dataclass(frozen=True, kw_only=True)
class Channel:
    """One destination of alert messages, with the findings it wants."""

    name: str
    """Unique among the channels: it names the channel's alert state in Redis and on the page."""
    type: str
    """``email``, ``webhook`` (JSON POST) or ``slack`` (Slack/Mattermost incoming webhook)."""
    findings: tuple[str, ...] = ()
    """Rule ids this channel wants; empty: every rule."""
    severities: tuple[Severity, ...] = ()
    """Severities this channel wants; empty: warning and critical."""
    queues: tuple[str, ...] = ()
    """Queues whose findings this channel wants; empty: every queue."""
    remind_every: float = 0.0
    """Seconds between reminders while a finding stays open; 0: no reminders."""
    open_after: float = 0.0
    """Seconds a finding must be found before it opens (and is sent); 0: at once."""
    max_attempts: int = 5
    """Delivery attempts of one message (the first and its retries) before it is given up."""
    timeout: float = 10.0
    """Seconds one attempt may wait on the receiver (connect, and each read)."""
    url: str = ""
    """webhook/slack: the receiver's http(s) URL."""
    secret: str = ""
    """webhook: key of the HMAC-SHA256 signature header (none when empty)."""
    token: str = ""
    """webhook: sent as ``Authorization: Bearer <token>`` (none when empty)."""
    to: tuple[str, ...] = ()
    """email: recipients."""
    from_email: str = ""
    """email: sender address; empty: Django's DEFAULT_FROM_EMAIL."""
    mailer: str = "default"
    """email: the alias in Django's ``MAILERS`` to send through (with ``MAILERS`` set)."""

    def __post_init__(self) -> None:
        if self.type not in CHANNEL_TYPES:
            raise ChannelError(
                f"channel type must be one of {', '.join(CHANNEL_TYPES)}, got {self.type!r}"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise ChannelError(f"channel name must be a non-blank string, got {self.name!r}")
        unknown = sorted(set(self.findings) - set(RULES))
        if unknown:
            raise ChannelError(
                f"channel {self.name!r}: unknown finding(s) {', '.join(unknown)} "
                f"(known: {', '.join(RULES)})",
                "finding",
            )
        for name in ("remind_every", "open_after"):
            if getattr(self, name) < 0:
                raise ChannelError(f"channel {self.name!r}: {name} must be >= 0 seconds")
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ChannelError(f"channel {self.name!r}: max_attempts must be an integer")
        if not 1 <= self.max_attempts <= 100:
            raise ChannelError(f"channel {self.name!r}: max_attempts must be between 1 and 100")
        if not 0 < self.timeout <= 300:
            raise ChannelError(f"channel {self.name!r}: timeout must be 0-300 seconds")
        if self.type == "email":
            if not self.to or not all("@" in address for address in self.to):
                raise ChannelError(f"channel {self.name!r}: an email channel needs 'to' addresses")
        else:
            parts = urlsplit(self.url) if isinstance(self.url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                raise ChannelError(
                    f"channel {self.name!r}: url must be an http(s) URL with a host, "
                    f"got {self.url!r}",
                    "url",
                )

    def wants(self, finding: Finding) -> bool:
        if self.findings and finding.rule not in self.findings:
            return False
        if self.severities and finding.severity not in self.severities:
            return False
        return not (self.queues and finding.queue is not None and finding.queue not in self.queues)

    @property
    def target(self) -> str:
        """Where messages go, without secrets: the URL's scheme and host, or the recipients."""
        if self.type == "email":
            return ", ".join(self.to)
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path[:1]}…"

    @classmethod
    def from_setting(cls, item: Mapping[str, Any], *, default_name: str) -> Channel:
        if not isinstance(item, Mapping):
            raise ChannelError(f"an alert channel must be a dict, got {item!r}")
        kind = item.get("type")
        if kind not in CHANNEL_TYPES:
            raise ChannelError(
                f"alert channel 'type' must be one of {', '.join(CHANNEL_TYPES)}, got {kind!r}"
            )
        unknown = sorted(str(k) for k in set(item) - _KEYS_OF_TYPE[kind])
        if unknown:
            raise ChannelError(
                f"unknown key(s) {', '.join(unknown)} in {kind} channel; "
                f"known: {', '.join(sorted(_KEYS_OF_TYPE[kind]))}"
            )
        values: dict[str, Any] = {"type": kind, "name": item.get("name", default_name)}
        if "findings" in item:
            values["findings"] = _names(item["findings"], "findings")
        if "severities" in item:
            names = _names(item["severities"], "severities")
            choices = [s.value for s in Severity]
            bad = [n for n in names if n not in choices]
            if bad:
                raise ChannelError(f"severities must be among {choices}, got {bad}")
            values["severities"] = tuple(Severity(n) for n in names)
        if "queues" in item:
            values["queues"] = _names(item["queues"], "queues")
        for key in ("remind_every", "open_after", "timeout"):
            if item.get(key) is not None:
                values[key] = _seconds(item[key], key)
        if "max_attempts" in item:
            values["max_attempts"] = item["max_attempts"]
        for key in ("url", "secret", "token", "mailer"):
            if key in item:
                if not isinstance(item[key], str):
                    raise ChannelError(f"{key} must be a string")
                values[key] = item[key]
        if "to" in item:
            values["to"] = _names(item["to"], "to")
        if "from" in item:
            if not isinstance(item["from"], str):
                raise ChannelError("from must be a string")
            values["from_email"] = item["from"]
        return cls(**values)


def channels_from_setting(items: object) -> list[Channel]:
    """``QUEUECORE["ALERTS"]`` as channels; a ChannelError names the bad item by its index."""
    if items is None:
        return []
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise ChannelError(f"ALERTS must be a list of channel dicts, got {type(items).__name__}")
    channels: list[Channel] = []
    for index, item in enumerate(items):
        default = f"{item.get('type')}-{index + 1}" if isinstance(item, Mapping) else ""
        try:
            channels.append(Channel.from_setting(item, default_name=default))
        except ChannelError as exc:
            raise ChannelError(f"ALERTS[{index}]: {exc}", exc.problem) from exc
    _unique(c.name for c in channels)
    return channels


def _unique(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ChannelError(f"ALERTS: two channels are named {name!r}; names must be unique")
        seen.add(name)
