"""The alert decisions (open / remind / resolve / prune), as a table."""

from __future__ import annotations

from dataclasses import replace

import pytest

from queuecore.alerts import AlertState, Kind, decide, finding_key
from queuecore.alerts.state import RESOLVED_KEPT
from queuecore.health import Finding, Severity

FINDING = Finding(
    rule="no_consumer",
    severity=Severity.CRITICAL,
    message="Queue q has 3 pending tasks and no live server lists it.",
    action="Start a worker.",
    queue="q",
)
OPEN = AlertState.opened(FINDING, 1000.0)
RESOLVED = replace(OPEN, status="resolved", changed_at=2000.0, sent_at=2000.0)
PENDING = replace(OPEN, status="pending")
WARNING_OPEN = replace(OPEN, severity="warning")
MILDER = replace(FINDING, severity=Severity.WARNING)

# (case, state, finding found (True, False or "warning": found, milder), now, remind_every,
# open_after, expected kind or "none" / "prune" / "pending" / "silent")
CASES = [
    ("nothing open, finding appears", None, True, 1000.0, 0, 0, Kind.OPENED),
    ("nothing open, nothing found", None, False, 1000.0, 0, 0, "none"),
    ("open, still found, no reminders", OPEN, True, 99_000.0, 0, 0, "none"),
    ("open, still found, reminder not due", OPEN, True, 1599.0, 600, 0, "none"),
    ("open, still found, reminder due", OPEN, True, 1600.0, 600, 0, Kind.REMINDER),
    ("open, gone", OPEN, False, 1030.0, 0, 0, Kind.RESOLVED),
    ("open, gone, but our snapshot predates the opening", OPEN, False, 999.0, 0, 0, "none"),
    ("open, gone, snapshot at the opening instant", OPEN, False, 1000.0, 0, 0, "none"),
    ("resolved, found again later", RESOLVED, True, 2001.0, 0, 0, Kind.OPENED),
    ("resolved, found by a snapshot older than the resolve", RESOLVED, True, 1990.0, 0, 0, "none"),
    ("resolved, still gone", RESOLVED, False, 2100.0, 0, 0, "none"),
    ("resolved long ago, still gone", RESOLVED, False, 2001.0 + RESOLVED_KEPT, 0, 0, "prune"),
    ("open as warning, now critical", WARNING_OPEN, True, 1030.0, 0, 0, Kind.ESCALATED),
    ("open as critical, now warning", OPEN, "warning", 1030.0, 0, 0, "silent"),
    ("with open_after, a new finding is pending first", None, True, 1000.0, 0, 60, "pending"),
    ("pending, found again too soon", PENDING, True, 1059.0, 0, 60, "none"),
    ("pending, found for open_after", PENDING, True, 1060.0, 0, 60, Kind.OPENED),
    ("pending, gone before it opened", PENDING, False, 1030.0, 0, 60, "prune"),
    ("resolved, found again, with open_after", RESOLVED, True, 2001.0, 0, 60, "pending"),
]


@pytest.mark.parametrize(
    ("state", "found", "now", "remind", "open_after", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide_opens_reminds_resolves_and_ignores_stale_snapshots(
    state, found, now, remind, open_after, expected
):
    finding = {True: FINDING, False: None, "warning": MILDER}[found]
    decision = decide(state, finding, now=now, remind_every=remind, open_after=open_after)
    if expected == "none":
        assert decision is None
    elif expected == "prune":
        assert decision is not None
        assert decision.kind is None
        assert decision.new is None
    elif expected == "silent":
        assert decision is not None
        assert decision.kind is None
        assert decision.new is not None
        assert decision.new.is_open
    elif expected == "pending":
        assert decision is not None
        assert decision.kind is None
        assert decision.new is not None
        assert decision.new.status == "pending"
    else:
        assert decision is not None
        assert decision.kind is expected
        assert decision.new is not None
        assert decision.new.changed_at == now


def test_a_reminder_keeps_the_opening_time_and_counts_itself():
    decision = decide(OPEN, FINDING, now=1600.0, remind_every=600)
    assert decision is not None
    assert decision.new is not None
    assert decision.new.opened_at == 1000.0
    assert decision.new.sent_at == 1600.0
    assert decision.new.reminders == 1


def test_a_resolved_state_remembers_what_was_found():
    decision = decide(OPEN, None, now=1030.0, remind_every=0)
    assert decision is not None
    assert decision.new is not None
    assert decision.new.status == "resolved"
    assert decision.new.finding() == replace(FINDING, scheduler_id=None)


def test_a_milder_finding_is_remembered_so_a_renewed_rise_escalates_again():
    calmed = decide(OPEN, MILDER, now=1030.0, remind_every=600)
    assert calmed is not None
    assert calmed.new is not None
    assert (calmed.new.severity, calmed.new.sent_at) == ("warning", 1000.0)
    worse = decide(calmed.new, FINDING, now=1060.0, remind_every=600)
    assert worse is not None
    assert worse.kind is Kind.ESCALATED
    assert worse.new is not None
    assert worse.new.opened_at == 1000.0


def test_a_pending_finding_opens_with_the_time_it_was_first_found():
    decision = decide(PENDING, FINDING, now=1060.0, remind_every=0, open_after=60)
    assert decision is not None
    assert decision.new is not None
    assert (decision.new.status, decision.new.opened_at) == ("open", 1000.0)


def test_states_round_trip_through_their_stored_text_and_unreadable_text_is_none():
    assert AlertState.decode(OPEN.encode()) == OPEN
    assert AlertState.decode("not json") is None
    assert AlertState.decode('{"status": "open"}') is None


def test_the_finding_key_names_rule_and_subject_only():
    louder = replace(FINDING, severity=Severity.WARNING, message="other words")
    assert finding_key(louder) == finding_key(FINDING) == "no_consumer|q|"
    entry = Finding(
        rule="cron_stalled", severity=Severity.CRITICAL, message="", action="", entry_id="e1"
    )
    assert finding_key(entry) == "cron_stalled||e1"
