"""The Alerts page: channels, the alert loop's last evaluation, open alerts, recent deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from queuecore.alerts import Channel, DeliveryRecord, OpenAlert

# An evaluation older than this many intervals means no alert loop is running.
STALE_INTERVALS = 3
OUTCOME_TONES = {"sent": "ok", "retrying": "warn", "failed": "error"}


def _at(unix: float | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC)


@dataclass(frozen=True, kw_only=True)
class ChannelRow:
    channel: Channel
    wants: str
    reminders: str


@dataclass(frozen=True, kw_only=True)
class AlertRow:
    channel: str
    pending: bool
    rule: str
    severity: str
    tone: str
    subject: str
    message: str
    opened_at: datetime | None
    sent_at: datetime | None
    reminders: int


@dataclass(frozen=True, kw_only=True)
class DeliveryRow:
    record: DeliveryRecord
    at: datetime | None
    next_at: datetime | None
    tone: str


@dataclass(frozen=True, kw_only=True)
class LoopStatus:
    at: datetime | None = None
    owner: str = ""
    findings: int = 0
    running: bool = False


@dataclass(frozen=True, kw_only=True)
class AlertsPage:
    channels: tuple[ChannelRow, ...] = ()
    open_alerts: tuple[AlertRow, ...] = ()
    deliveries: tuple[DeliveryRow, ...] = ()
    loop: LoopStatus = LoopStatus()
    settings_error: str = ""

    @property
    def failures(self) -> int:
        return sum(1 for d in self.deliveries if d.record.outcome != "sent")


def _wants(channel: Channel) -> str:
    parts = [
        ", ".join(channel.findings) or "every finding",
        "/".join(s.value for s in channel.severities) or "warning/critical",
        ("queues " + ", ".join(channel.queues)) if channel.queues else "every queue",
    ]
    return "; ".join(parts)


def channel_row(channel: Channel) -> ChannelRow:
    every = channel.remind_every
    reminders = f"every {every:g}s" if every else "none"
    return ChannelRow(channel=channel, wants=_wants(channel), reminders=reminders)


def loop_status(last_run: dict[str, Any] | None, now: float) -> LoopStatus:
    if not last_run or not isinstance(last_run.get("at"), int | float):
        return LoopStatus()
    interval = last_run.get("interval")
    interval = interval if isinstance(interval, int | float) and interval > 0 else 30.0
    at = float(last_run["at"])
    return LoopStatus(
        at=_at(at),
        owner=str(last_run.get("owner", "")),
        findings=int(last_run.get("findings") or 0),
        running=now - at <= STALE_INTERVALS * interval,
    )


def page(
    channels: Sequence[Channel],
    open_alerts: Sequence[OpenAlert],
    deliveries: Sequence[DeliveryRecord],
    last_run: dict[str, Any] | None,
    now: float,
) -> AlertsPage:
    return AlertsPage(
        channels=tuple(channel_row(c) for c in channels),
        open_alerts=tuple(
            AlertRow(
                channel=a.channel,
                pending=not a.state.is_open,
                rule=a.state.rule,
                severity=a.state.severity,
                tone="error" if a.state.severity == "critical" else "warn",
                subject=a.state.subject,
                message=a.state.message,
                opened_at=_at(a.state.opened_at),
                sent_at=_at(a.state.sent_at),
                reminders=a.state.reminders,
            )
            for a in open_alerts
        ),
        deliveries=tuple(
            DeliveryRow(
                record=r,
                at=_at(r.at),
                next_at=_at(r.next_at),
                tone=OUTCOME_TONES.get(r.outcome, ""),
            )
            for r in deliveries
        ),
        loop=loop_status(last_run, now),
    )
