"""What the alert loops have done, read back for the dashboard's Alerts page."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from queuecore.alerts.channels import Channel
from queuecore.alerts.outbox import DeliveryRecord
from queuecore.alerts.state import AlertState
from queuecore.rdb.alerts import AlertStore
from queuecore.rdb.connection import RedisSettings

__all__ = ["AlertBoard", "OpenAlert"]


@dataclass(frozen=True, kw_only=True)
class OpenAlert:
    channel: str
    state: AlertState


class AlertBoard:
    """Read side of the alert state: open alerts, the delivery log, the latest evaluation."""

    def __init__(self, store: AlertStore) -> None:
        self.store = store

    @classmethod
    def from_url(cls, url: str) -> AlertBoard:
        return cls(AlertStore(RedisSettings.from_url(url).connect()))

    def open_alerts(self, channels: Sequence[Channel]) -> list[OpenAlert]:
        """Every open alert of ``channels`` (and pending one, found but not yet for the
        channel's ``open_after``), oldest first."""
        found = []
        for channel in channels:
            for text in self.store.states(channel.name).values():
                state = AlertState.decode(text)
                if state is not None and state.status in ("open", "pending"):
                    found.append(OpenAlert(channel=channel.name, state=state))
        found.sort(key=lambda a: (a.state.opened_at, a.channel))
        return found

    def deliveries(self, limit: int = 50) -> list[DeliveryRecord]:
        records = (DeliveryRecord.decode(text) for text in self.store.deliveries(limit))
        return [r for r in records if r is not None]

    def last_run(self) -> dict[str, Any] | None:
        """What the latest evaluation of any alert loop saw, or None (none ran lately)."""
        text = self.store.last_run()
        if text is None:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def close(self) -> None:
        self.store.client.close()
