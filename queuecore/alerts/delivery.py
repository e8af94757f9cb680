"""Alert messages and how they reach a webhook or a Slack/Mattermost incoming webhook.

A generic webhook receives ``application/json`` (:meth:`AlertMessage.as_json`) with these
headers:

* ``X-Queuecore-Event``: ``opened``, ``escalated``, ``reminder``, ``resolved`` or ``test``;
* ``X-Queuecore-Delivery``: the message id (the same on every retry of one message);
* with a ``secret``: ``X-Queuecore-Timestamp`` (Unix seconds) and ``X-Queuecore-Signature:
  sha256=<hex>``, the HMAC-SHA256 under the secret of ``<timestamp>.<body>``
  (:func:`signature`; a receiver checks it with :func:`verify_signature` or the same four lines);
* with a ``token``: ``Authorization: Bearer <token>``.

Slack and Mattermost get ``{"text": ...}`` (:meth:`AlertMessage.as_text`), which both accept.
Sending uses the standard library (urllib) with the channel's timeout; a 2xx reply is success,
connection errors, timeouts, 408, 429 and 5xx are retried, other replies are not.
Email is sent by the Django glue (``queuecore.contrib.django.alerts``).
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from queuecore.alerts.channels import Channel
from queuecore.alerts.state import Kind
from queuecore.errors import QueueCoreError
from queuecore.health import Finding, Severity

__all__ = [
    "AlertMessage",
    "DeliveryError",
    "SlackSender",
    "WebhookSender",
    "http_sender",
    "signature",
    "verify_signature",
]

USER_AGENT = "queuecore-alerts/1"
# Of a failed reply, the characters kept in the error (logs and the Alerts page).
REPLY_EXCERPT = 200
_RETRIED_STATUSES = frozenset({408, 425, 429})


class DeliveryError(QueueCoreError):
    """A message did not reach its receiver; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class AlertMessage:
    """One message about one finding (or a test) for one channel."""

    id: str
    kind: Kind
    channel: str
    finding: Finding
    opened_at: float
    at: float
    reminders: int = 0

    @classmethod
    def test(cls, channel: str, now: float) -> AlertMessage:
        """A message that says only that ``channel`` works ("send a test message")."""
        finding = Finding(
            rule="test",
            severity=Severity.WARNING,
            message="This is a test of the alert channel; nothing is wrong.",
            action="None needed.",
        )
        return cls(
            id=uuid.uuid4().hex,
            kind=Kind.TEST,
            channel=channel,
            finding=finding,
            opened_at=now,
            at=now,
        )

    @property
    def title(self) -> str:
        f = self.finding
        if self.kind is Kind.TEST:
            return "Test message from queuecore alerts"
        words = {
            Kind.OPENED: "opened",
            Kind.ESCALATED: "got worse",
            Kind.REMINDER: "still open",
            Kind.RESOLVED: "resolved",
        }[self.kind]
        return f"[{f.severity.value.upper()}] {f.rule} {words}: {f.subject}"

    def as_text(self) -> str:
        f = self.finding
        if self.kind is Kind.TEST:
            return (
                f"{self.title}: channel {self.channel} works. "
                f"Sent {_iso(self.at)}. No finding is open because of this message."
            )
        lines = [self.title]
        if self.kind is Kind.RESOLVED:
            lines.append(f"No longer found (open since {_iso(self.opened_at)}). Was: {f.message}")
        else:
            lines.append(f.message)
            lines.append(f"Action: {f.action}")
            lines.append(f"Open since {_iso(self.opened_at)}.")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        f = self.finding
        return {
            "id": self.id,
            "event": self.kind.value,
            "channel": self.channel,
            "title": self.title,
            "text": self.as_text(),
            "rule": f.rule,
            "severity": f.severity.value,
            "subject": f.subject,
            "queue": f.queue,
            "entry_id": f.entry_id,
            "message": f.message,
            "action": f.action,
            "opened_at": _iso(self.opened_at),
            "sent_at": _iso(self.at),
            "reminders": self.reminders,
        }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Queuecore-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return f"sha256={digest.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` under ``secret`` (constant time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


class Sender(Protocol):
    def send(self, message: AlertMessage) -> None:
        """Deliver ``message`` or raise DeliveryError."""
        ...


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    request = Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only)
    try:
        with urlopen(request, timeout=timeout) as reply:  # noqa: S310 (checked: http(s))
            reply.read(REPLY_EXCERPT)
    except HTTPError as exc:
        excerpt = exc.read(REPLY_EXCERPT).decode("utf-8", "replace").strip()
        retry = exc.code >= 500 or exc.code in _RETRIED_STATUSES
        detail = f": {excerpt}" if excerpt else ""
        raise DeliveryError(f"HTTP {exc.code} {exc.reason}{detail}", retryable=retry) from exc
    except TimeoutError as exc:
        raise DeliveryError(f"no reply within {timeout:g}s") from exc
    except URLError as exc:
        raise DeliveryError(f"cannot reach the receiver: {exc.reason}") from exc
    except OSError as exc:
        raise DeliveryError(f"connection failed: {exc}") from exc


class WebhookSender:
    """JSON POST with the optional signature and bearer token of a ``webhook`` channel."""

    def __init__(self, channel: Channel, *, now: Callable[[], float]) -> None:
        self.channel = channel
        self._now = now

    def send(self, message: AlertMessage) -> None:
        body = json.dumps(message.as_json(), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Queuecore-Event": message.kind.value,
            "X-Queuecore-Delivery": message.id,
        }
        if self.channel.secret:
            timestamp = str(int(self._now()))
            headers["X-Queuecore-Timestamp"] = timestamp
            headers["X-Queuecore-Signature"] = signature(self.channel.secret, timestamp, body)
        if self.channel.token:
            headers["Authorization"] = f"Bearer {self.channel.token}"
        _post(self.channel.url, body, headers, self.channel.timeout)


def slack_escape(text: str) -> str:
    """Slack's (and Mattermost's) control characters escaped: finding text is shown, not parsed
    (a queue named ``<!channel>`` must not notify everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackSender:
    """``{"text": ...}`` to a Slack or Mattermost incoming webhook."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def send(self, message: AlertMessage) -> None:
        text = slack_escape(message.as_text())
        body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        _post(self.channel.url, body, headers, self.channel.timeout)


def http_sender(channel: Channel, *, now: Callable[[], float]) -> Sender:
    """The sender of a webhook or slack channel (email needs the Django glue)."""
    if channel.type == "webhook":
        return WebhookSender(channel, now=now)
    if channel.type == "slack":
        return SlackSender(channel)
    raise DeliveryError(f"channel {channel.name!r} of type {channel.type} needs its own sender")
