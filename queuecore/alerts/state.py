"""What an alert loop decides about one finding of one channel: pure, table-tested.

An alert's state is stored per channel and finding key (:func:`finding_key`) as JSON
(:class:`AlertState`). :func:`decide` compares it with the current evaluation:

* no state (or a resolved one) and the finding is there: **open** (one message); with
  ``open_after`` the finding is first only *pending* (no message) and opens once it has been
  found for that long, so a blip (a worker restarting during a deploy) wakes nobody;
* open and the finding is there at a higher severity (warning to critical): **escalate** (one
  message; a drop back to warning is remembered silently);
* open and the finding is there, ``remind_every`` after the last message: **remind**;
* open and the finding is gone: **resolve** (one message); the state stays as a resolved record
  for :data:`RESOLVED_KEPT` seconds, then is pruned without a message.

``now`` is when the evaluation's snapshot was taken. A decision is only made about a state
changed *before* that snapshot: a loop whose snapshot is older than another loop's last
transition says nothing, so a slow loop can neither reopen a finding another loop has just seen
resolve nor resolve one another loop has just seen open. The store's compare-and-set then makes
sure only one of the loops that decided the same thing applies it (and sends).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from queuecore.health import Finding, Severity

__all__ = ["RESOLVED_KEPT", "AlertState", "Decision", "Kind", "decide", "finding_key"]

# Seconds a resolved record is kept (it is what makes a stale loop's decision recognisable).
RESOLVED_KEPT = 86_400.0


class Kind(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    TEST = "test"


def finding_key(finding: Finding) -> str:
    """The same finding in every evaluation and every process: its rule and subject."""
    return f"{finding.rule}|{finding.queue or ''}|{finding.entry_id or ''}"


@dataclass(frozen=True, kw_only=True)
class AlertState:
    """One finding's alert on one channel, as stored."""

    status: str  # "pending" (found, not yet for open_after), "open" or "resolved"
    rule: str
    severity: str
    subject: str
    message: str
    action: str
    queue: str | None = None
    entry_id: str | None = None
    opened_at: float
    changed_at: float  # snapshot time of the last transition
    sent_at: float  # when the last message was decided
    reminders: int = 0

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> AlertState | None:
        """The stored state, or None for text this version cannot read (it is replaced)."""
        try:
            values = json.loads(text)
            return cls(**values)
        except (TypeError, ValueError):
            return None

    @classmethod
    def opened(cls, finding: Finding, now: float, *, status: str = "open") -> AlertState:
        return cls(
            status=status,
            rule=finding.rule,
            severity=finding.severity.value,
            subject=finding.subject,
            message=finding.message,
            action=finding.action,
            queue=finding.queue,
            entry_id=finding.entry_id,
            opened_at=now,
            changed_at=now,
            sent_at=now,
        )

    def finding(self) -> Finding:
        """The finding this state was last told about (for messages about it)."""
        return Finding(
            rule=self.rule,
            severity=Severity(self.severity),
            message=self.message,
            action=self.action,
            queue=self.queue,
            entry_id=self.entry_id,
        )


@dataclass(frozen=True, kw_only=True)
class Decision:
    """A transition and the message it sends (``kind``; None: a silent change, such as a pending
    finding or the prune of a resolved record). ``new`` None deletes the state."""

    kind: Kind | None
    new: AlertState | None


def decide(
    state: AlertState | None,
    finding: Finding | None,
    *,
    now: float,
    remind_every: float,
    open_after: float = 0.0,
) -> Decision | None:
    """What to do about one finding key at snapshot time ``now``; None: nothing."""
    if state is not None and now <= state.changed_at:
        return None  # another loop acted on a newer snapshot than ours
    if finding is not None:
        if state is not None and state.status == "pending":
            if now - state.opened_at < open_after:
                return None
            opened = replace(AlertState.opened(finding, now), opened_at=state.opened_at)
            return Decision(kind=Kind.OPENED, new=opened)
        if state is None or not state.is_open:
            if open_after > 0:
                pending = AlertState.opened(finding, now, status="pending")
                return Decision(kind=None, new=pending)
            return Decision(kind=Kind.OPENED, new=AlertState.opened(finding, now))
        fresh = replace(
            AlertState.opened(finding, now),
            opened_at=state.opened_at,
            reminders=state.reminders,
        )
        was = Severity(state.severity).rank
        if finding.severity.rank > was:
            return Decision(kind=Kind.ESCALATED, new=fresh)
        if finding.severity.rank < was:
            # Milder now: remembered without a message, so a renewed rise is told again.
            return Decision(kind=None, new=replace(fresh, sent_at=state.sent_at))
        if remind_every > 0 and now - state.sent_at >= remind_every:
            return Decision(kind=Kind.REMINDER, new=replace(fresh, reminders=state.reminders + 1))
        return None
    if state is None:
        return None
    if state.status == "pending":
        return Decision(kind=None, new=None)  # a blip: gone before it opened
    if state.is_open:
        return Decision(
            kind=Kind.RESOLVED,
            new=replace(state, status="resolved", changed_at=now, sent_at=now),
        )
    if now - state.changed_at > RESOLVED_KEPT:
        return Decision(kind=None, new=None)
    return None
