"""The alert loop: evaluate the health findings on an interval and tell each channel what changed.

:class:`AlertLoop` is a background component: ``run_once()`` takes one snapshot of the findings
(the same :func:`queuecore.health.collect` the Findings panel and ``manage.py health`` use),
decides per channel and finding (:func:`queuecore.alerts.state.decide`), applies each decision
with the store's compare-and-set and hands the message of every transition it won to the
channel's outbox. Several loops (one per ``runscheduler``) may run against one Redis: each
transition is won by one of them, so each message is sent once.

:class:`AlertService` composes the loop with one :class:`~queuecore.alerts.outbox.Outbox` per
channel, each in its own daemon thread: sending never blocks the evaluation, and the process
that hosts the service (the scheduler, a worker) never waits on a receiver.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from queuecore.alerts.channels import Channel
from queuecore.alerts.delivery import AlertMessage, Sender
from queuecore.alerts.outbox import DeliveryRecord, Outbox
from queuecore.alerts.state import AlertState, Decision, decide, finding_key
from queuecore.clock import Clock
from queuecore.health import Finding, HealthThresholds, collect
from queuecore.rdb.alerts import AlertStore
from queuecore.rdb.connection import RedisSettings
from queuecore.server.component import PeriodicComponent

__all__ = ["AlertLoop", "AlertService", "Planned", "message_for"]

log = logging.getLogger("queuecore.alerts")

# Seconds between evaluations unless configured (the Findings panel's data changes slowly).
DEFAULT_INTERVAL = 30.0
# Seconds a thread gets to finish when the service stops (a hanging receiver is left behind).
STOP_JOIN = 2.0


def message_for(channel: Channel, key: str, decision: Decision, now: float) -> AlertMessage | None:
    """The message a decision sends (None for a silent prune)."""
    state = decision.new
    if decision.kind is None or state is None:
        return None
    material = f"{channel.name}|{key}|{decision.kind}|{state.opened_at}|{state.reminders}"
    return AlertMessage(
        id=hashlib.sha256(material.encode("utf-8")).hexdigest()[:32],
        kind=decision.kind,
        channel=channel.name,
        finding=state.finding(),
        opened_at=state.opened_at,
        at=now,
        reminders=state.reminders,
    )


@dataclass(frozen=True, kw_only=True)
class Planned:
    """A decision before it is applied: ``expected`` is the stored text it was made against."""

    channel: Channel
    key: str
    expected: str
    decision: Decision
    message: AlertMessage | None


class AlertLoop(PeriodicComponent):
    """One evaluation of the findings per ``interval``; see the module docstring."""

    name = "alerts"
    # The first evaluation comes one interval after the start: a worker started beside it has
    # written its heartbeat by then, so its queues are not reported as having no consumer.
    run_at_start = False

    def __init__(
        self,
        store: AlertStore,
        channels: Sequence[Channel],
        findings: Callable[[], Sequence[Finding]],
        deliver: Callable[[Channel, AlertMessage], None],
        *,
        clock: Clock,
        interval: float = DEFAULT_INTERVAL,
        owner: str = "",
    ) -> None:
        super().__init__(interval)
        self.channels = tuple(channels)
        self._store = store
        self._findings = findings
        self._deliver = deliver
        self._clock = clock
        self._owner = owner
        # Evaluations made by this loop (for status lines and tests).
        self.evaluations = 0

    def plan(self) -> list[Planned]:
        """What one evaluation now would send, without applying or sending it (dry run)."""
        now = self._clock.now()
        return self._plan(list(self._findings()), now)

    def _plan(self, found: Sequence[Finding], now: float) -> list[Planned]:
        planned = []
        for channel in self.channels:
            wanted = {finding_key(f): f for f in found if channel.wants(f)}
            stored = self._store.states(channel.name)
            for key in sorted(set(wanted) | set(stored)):
                raw = stored.get(key, "")
                state = AlertState.decode(raw) if raw else None
                finding = wanted.get(key)
                if raw and state is None and finding is None:
                    decision: Decision | None = Decision(kind=None, new=None)  # unreadable
                else:
                    decision = decide(
                        state,
                        finding,
                        now=now,
                        remind_every=channel.remind_every,
                        open_after=channel.open_after,
                    )
                if decision is not None:
                    planned.append(
                        Planned(
                            channel=channel,
                            key=key,
                            expected=raw,
                            decision=decision,
                            message=message_for(channel, key, decision, now),
                        )
                    )
        return planned

    def run_once(self) -> list[AlertMessage]:
        """Evaluate, apply every decision this loop wins, and hand over its messages."""
        now = self._clock.now()  # before the snapshot: decisions are about this moment
        found = list(self._findings())
        self.evaluations += 1
        sent: list[AlertMessage] = []
        for item in self._plan(found, now):
            new = "" if item.decision.new is None else item.decision.new.encode()
            if not self._store.transition(
                item.channel.name, item.key, expected=item.expected, new=new
            ):
                continue  # another loop applied a transition first
            if item.message is not None:
                self._deliver(item.channel, item.message)
                sent.append(item.message)
        summary = {
            "at": now,
            "owner": self._owner,
            "findings": len(found),
            "channels": len(self.channels),
            "sent": len(sent),
            "interval": self.interval,
        }
        self._store.record_run(json.dumps(summary), ttl_seconds=int(max(60, 3 * self.interval)))
        return sent


class AlertService:
    """The alert loop and one outbox per channel, run in daemon threads (or driven by hand)."""

    def __init__(
        self,
        store: AlertStore,
        channels: Sequence[Channel],
        senders: Mapping[str, Sender],
        findings: Callable[[], Sequence[Finding]],
        *,
        clock: Clock,
        interval: float = DEFAULT_INTERVAL,
        owner: str = "",
        first_delay: float = 2.0,
        max_delay: float = 300.0,
    ) -> None:
        self.store = store
        self.outboxes = {
            c.name: Outbox(
                c, senders[c.name], store, clock, first_delay=first_delay, max_delay=max_delay
            )
            for c in channels
        }
        self.loop = AlertLoop(
            store, channels, findings, self._deliver, clock=clock, interval=interval, owner=owner
        )
        self._closers: list[Callable[[], None]] = []

    @classmethod
    def from_url(
        cls,
        url: str,
        channels: Sequence[Channel],
        senders: Mapping[str, Sender],
        *,
        thresholds: HealthThresholds,
        clock: Clock,
        interval: float = DEFAULT_INTERVAL,
        owner: str = "",
        first_delay: float = 2.0,
        max_delay: float = 300.0,
    ) -> AlertService:
        from queuecore.inspector import Inspector

        inspector = Inspector.from_url(url, clock=clock)
        store = AlertStore(RedisSettings.from_url(url).connect())
        service = cls(
            store,
            channels,
            senders,
            lambda: collect(inspector, thresholds, clock),
            clock=clock,
            interval=interval,
            owner=owner,
            first_delay=first_delay,
            max_delay=max_delay,
        )
        service._closers = [inspector.close, store.client.close]
        return service

    def _deliver(self, channel: Channel, message: AlertMessage) -> None:
        self.outboxes[channel.name].put(message)

    def run_once(self) -> tuple[list[AlertMessage], list[DeliveryRecord]]:
        """One evaluation, then one delivery attempt of every due message."""
        messages = self.loop.run_once()
        records = [r for outbox in self.outboxes.values() for r in outbox.run_once()]
        return messages, records

    def pending(self) -> int:
        return sum(outbox.pending() for outbox in self.outboxes.values())

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        """Run the loop and the outboxes in daemon threads until ``stop`` is set."""
        threads = [
            threading.Thread(target=self.loop.run_forever, args=(stop,), name="queuecore-alerts")
        ]
        threads.extend(
            threading.Thread(target=o.run_forever, args=(stop,), name=f"queuecore-{o.name}")
            for o in self.outboxes.values()
        )
        for thread in threads:
            thread.daemon = True
            thread.start()
        return threads

    def stop(self, threads: Sequence[threading.Thread], stop: threading.Event) -> None:
        """Set ``stop``, wake the outboxes and give the threads a moment (never more)."""
        stop.set()
        for outbox in self.outboxes.values():
            outbox.wake()
        for thread in threads:
            thread.join(timeout=STOP_JOIN)
            if thread.is_alive():
                log.warning("%s is still waiting on a receiver; leaving it", thread.name)

    def run_forever(self, stop: threading.Event) -> None:
        threads = self.start(stop)
        try:
            while not stop.wait(1.0):
                pass
        finally:
            self.stop(threads, stop)

    def close(self) -> None:
        for close in self._closers:
            close()
