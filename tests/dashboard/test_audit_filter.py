"""The audit log's outcome filter, including "interrupted", which is shown but never stored."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.models import HEARTBEAT_TIMEOUT, AuditEntry, Outcome


@pytest.fixture
def entries(db: None) -> None:
    now = timezone.now()
    stale = now - HEARTBEAT_TIMEOUT - timedelta(seconds=5)

    def add(action: str, outcome: str, heartbeat_at: object, at: object = None) -> None:
        entry = AuditEntry.objects.create(
            username="op", action=action, queue="default", outcome=outcome
        )
        # ``at`` is auto_now_add: only an update can put it in the past.
        AuditEntry.objects.filter(pk=entry.pk).update(heartbeat_at=heartbeat_at, at=at or now)

    add("delete_all_done", Outcome.SUCCEEDED, None)
    add("run_all_live", Outcome.RUNNING, now)
    add("archive_all_dead", Outcome.RUNNING, stale, stale)
    # Died before its first heartbeat: judged by when it started.
    add("delete_all_dead", Outcome.RUNNING, None, stale)


def shown(client: Client, outcome: str) -> list[tuple[str, str]]:
    response = client.get(reverse("dashboard:audit"), {"outcome": outcome})
    assert response.status_code == 200
    html = response.content.decode()
    actions = re.findall(r"(run_all_live|archive_all_dead|delete_all_dead|delete_all_done)", html)
    outcomes = re.findall(r'data-outcome="([a-z]+)"', html)
    return sorted(zip(actions, outcomes, strict=True))


def test_audit_filter_interrupted_finds_running_entries_whose_heartbeat_went_stale(
    viewer: Client, entries: None
) -> None:
    assert shown(viewer, "interrupted") == [
        ("archive_all_dead", "interrupted"),
        ("delete_all_dead", "interrupted"),
    ]


def test_audit_filter_running_finds_only_live_entries(viewer: Client, entries: None) -> None:
    assert shown(viewer, "running") == [("run_all_live", "running")]


def test_audit_filter_by_a_stored_outcome_is_unchanged(viewer: Client, entries: None) -> None:
    assert shown(viewer, "succeeded") == [("delete_all_done", "succeeded")]
