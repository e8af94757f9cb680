"""Delivering alert messages, one channel per outbox, with retries and a delivery log.

Each channel has its own :class:`Outbox` running in its own thread, so a receiver that hangs
delays only its own channel's messages, never the evaluation, another channel, or the scheduler's
cron loop next to it. Messages leave in the order they were decided; a failed attempt is retried
after :func:`retry_delay` until the channel's ``max_attempts``, holding the messages behind it.
Every attempt's outcome is logged and written to the delivery log in Redis
(:class:`DeliveryRecord`), which the dashboard's Alerts page shows.

Messages wait in memory: a process that stops with messages still retrying loses them (the alert
state already records the transition, so they are not sent again by another process either).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass

from queuecore.alerts.channels import Channel
from queuecore.alerts.delivery import AlertMessage, DeliveryError, Sender
from queuecore.clock import Clock
from queuecore.errors import QueueCoreError
from queuecore.rdb.alerts import AlertStore

__all__ = ["DeliveryRecord", "Outbox", "retry_delay", "send_now"]

log = logging.getLogger("queuecore.alerts")

# Messages one outbox holds at most; more (a storm of findings on a dead receiver) are dropped.
MAX_PENDING = 1000
# Longest wait of run_forever between looks at its messages.
MAX_SLEEP = 1.0


def retry_delay(attempt: int, *, first: float, cap: float) -> float:
    """Seconds before retry number ``attempt`` (1 after the first failure): first, 2x, ... cap."""
    return float(min(cap, first * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True, kw_only=True)
class DeliveryRecord:
    """One attempt to deliver one message, as the Alerts page lists it."""

    at: float
    channel: str
    message_id: str
    kind: str
    title: str
    attempt: int
    max_attempts: int
    outcome: str  # "sent", "retrying" or "failed" (given up)
    error: str = ""
    next_at: float | None = None

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def of(
        cls, channel: Channel, message: AlertMessage, *, at: float, attempt: int, max_attempts: int,
        outcome: str, error: str = "", next_at: float | None = None,
    ) -> DeliveryRecord:  # fmt: skip
        return cls(
            at=at,
            channel=channel.name,
            message_id=message.id,
            kind=message.kind.value,
            title=message.title,
            attempt=attempt,
            max_attempts=max_attempts,
            outcome=outcome,
            error=error,
            next_at=next_at,
        )

    @classmethod
    def decode(cls, text: str) -> DeliveryRecord | None:
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError):
            return None


def _attempt(channel: Channel, sender: Sender, message: AlertMessage) -> tuple[bool, str, bool]:
    """(delivered, error, retryable) of one attempt; no exception escapes."""
    try:
        sender.send(message)
    except DeliveryError as exc:
        return False, str(exc), exc.retryable
    except Exception as exc:  # a bug or a library error must not end the outbox thread
        log.exception("alert channel %s: sending %s failed unexpectedly", channel.name, message.id)
        return False, f"{type(exc).__name__}: {exc}", True
    return True, "", False


def _save(store: AlertStore | None, record: DeliveryRecord) -> None:
    if store is None:
        return
    try:
        store.record_delivery(record.encode())
    except QueueCoreError as exc:
        log.warning("alert delivery log not written (%s): %s", exc, record.title)


def send_now(
    channel: Channel, sender: Sender, message: AlertMessage, store: AlertStore | None, now: float
) -> DeliveryRecord:
    """One attempt, no retries, recorded (the dashboard's "send a test message")."""
    delivered, error, _ = _attempt(channel, sender, message)
    record = DeliveryRecord.of(
        channel, message, at=now, attempt=1, max_attempts=1,
        outcome="sent" if delivered else "failed", error=error,
    )  # fmt: skip
    _save(store, record)
    return record


@dataclass
class _Pending:
    message: AlertMessage
    due: float
    attempts: int = 0


class Outbox:
    """The messages of one channel on their way out; ``run_once`` attempts the due ones."""

    def __init__(
        self,
        channel: Channel,
        sender: Sender,
        store: AlertStore | None,
        clock: Clock,
        *,
        first_delay: float = 2.0,
        max_delay: float = 300.0,
    ) -> None:
        self.channel = channel
        self.name = f"alerts:{channel.name}"
        self._sender = sender
        self._store = store
        self._clock = clock
        self._first = first_delay
        self._cap = max_delay
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._wake = threading.Event()

    def put(self, message: AlertMessage) -> None:
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                log.error("alert channel %s: outbox full, dropped %s", self.channel.name, message)
                return
            self._pending.append(_Pending(message=message, due=self._clock.now()))
        self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def next_due(self) -> float | None:
        """When the first waiting message is due (the others wait behind it), or None."""
        with self._lock:
            return self._pending[0].due if self._pending else None

    def run_once(self) -> list[DeliveryRecord]:
        """Attempt the waiting messages in order while they are due and get through.

        Messages go out in the order they were decided: one being retried holds the ones behind
        it, so a receiver never sees a finding resolved before it saw it opened.
        """
        now = self._clock.now()
        records = []
        while True:
            with self._lock:
                if not self._pending or self._pending[0].due > now:
                    break
                item = self._pending[0]
            record = self._deliver(item)
            records.append(record)
            if record.outcome == "retrying":
                break
        return records

    def _deliver(self, item: _Pending) -> DeliveryRecord:
        """Attempt the first waiting message; it stays first only when it is to be retried."""
        item.attempts += 1
        message, channel = item.message, self.channel
        delivered, error, retryable = _attempt(channel, self._sender, message)
        now = self._clock.now()
        next_at = None
        if delivered:
            outcome = "sent"
            log.info("alert sent to %s: %s", channel.name, message.title)
        elif retryable and item.attempts < channel.max_attempts:
            outcome = "retrying"
            next_at = now + retry_delay(item.attempts, first=self._first, cap=self._cap)
            item.due = next_at
            log.warning(
                "alert to %s failed (attempt %d of %d, retrying): %s",
                channel.name,
                item.attempts,
                channel.max_attempts,
                error,
            )
        else:
            outcome = "failed"
            log.error(
                "alert to %s given up after %d attempt(s): %s (%s)",
                channel.name,
                item.attempts,
                error,
                message.title,
            )
        if outcome != "retrying":
            with self._lock:
                self._pending.remove(item)
        record = DeliveryRecord.of(
            channel, message, at=now, attempt=item.attempts, max_attempts=channel.max_attempts,
            outcome=outcome, error=error, next_at=next_at,
        )  # fmt: skip
        _save(self._store, record)
        return record

    def wake(self) -> None:
        """Cut the current wait short (a message was put, or the outbox should stop)."""
        self._wake.set()

    def run_forever(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set (call :meth:`wake` after setting it to stop at once)."""
        while not stop.is_set():
            self._wake.clear()
            try:
                self.run_once()
            except Exception:
                log.exception("%s: delivery round failed", self.name)
            due = self.next_due()
            wait = MAX_SLEEP if due is None else min(MAX_SLEEP, due - self._clock.now())
            if wait > 0 and not stop.is_set():
                self._wake.wait(wait)
        left = self.pending()
        if left:
            log.warning(
                "alert channel %s stopped with %d message(s) undelivered", self.channel.name, left
            )
