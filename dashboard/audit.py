"""Writes the audit log: every change attempted through the dashboard, with its outcome."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest
from django.utils import timezone

from dashboard.models import AuditEntry, Outcome
from queuecore.contrib.django.instances import current_name
from queuecore.names import shown

MAX_IDS_KEPT = 1000


@dataclass
class Change:
    """What a running change fills in as it learns it (count done, outcome, a note)."""

    count: int = 0
    total: int = 0
    outcome: Outcome = Outcome.SUCCEEDED
    state: str = ""
    detail: str = ""
    task_ids: list[str] = field(default_factory=list)


def new_entry(
    request: HttpRequest,
    action: str,
    *,
    queue: str = "",
    state: str = "",
    group: str = "",
    task_ids: Sequence[str] = (),
    total: int = 0,
) -> AuditEntry:
    return AuditEntry(
        user=request.user if request.user.is_authenticated else None,
        username=request.user.get_username(),
        action=action,
        # A name that is not UTF-8 is kept as people see it (the database stores UTF-8 only).
        queue=shown(queue),
        state=state,
        group=shown(group or ""),
        task_ids=list(task_ids)[:MAX_IDS_KEPT],
        total=total,
        instance=current_name(),
    )


@contextmanager
def audited(entry: AuditEntry) -> Iterator[Change]:
    """Saves ``entry`` once the change is over, whatever happened; errors propagate unchanged."""
    change = Change(total=entry.total, task_ids=list(entry.task_ids))
    try:
        yield change
    except (PermissionDenied, BadRequest) as exc:
        change.outcome, change.detail = Outcome.REFUSED, str(exc)
        raise
    except Exception as exc:
        change.outcome, change.detail = Outcome.FAILED, str(exc)
        raise
    finally:
        finish(entry, change)


def finish(entry: AuditEntry, change: Change) -> None:
    entry.count = change.count
    entry.state = change.state or entry.state
    entry.total = max(change.total, change.count)
    entry.outcome = change.outcome
    entry.detail = shown(change.detail)[:4000]
    entry.task_ids = change.task_ids[:MAX_IDS_KEPT]
    entry.finished_at = timezone.now()
    entry.save()


def refused(request: HttpRequest, action: str, queue: str, reason: str) -> AuditEntry:
    entry = new_entry(request, action, queue=queue)
    finish(entry, Change(outcome=Outcome.REFUSED, detail=reason))
    return entry
