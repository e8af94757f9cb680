"""Long "all" actions: run in a thread, progress written to their audit entry, polled by the page.

Small ones run inside the request. Progress lives in the database (not process memory) so any web
process can answer the progress poll. Each progress write also refreshes the entry's heartbeat, so
an entry left "running" by a web process that died shows as interrupted once the heartbeat is older
than ``models.HEARTBEAT_TIMEOUT``; nothing retries it.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connection
from django.utils import timezone

from dashboard.audit import Change, finish
from dashboard.models import AuditEntry, Outcome

logger = logging.getLogger(__name__)

# Up to this many tasks the action runs inside the request and answers when done.
SYNC_LIMIT = 2000
# Seconds between progress writes; far below HEARTBEAT_TIMEOUT so a working thread never looks dead.
PROGRESS_EVERY = 0.5

Progress = Callable[..., None]
Work = Callable[[Progress], int]
# Given the count done, a sentence the audit entry adds to its detail (the recycle bin's tally).
Note = Callable[[int], str]


def run_now(entry: AuditEntry, work: Work, note: Note | None = None) -> int:
    """Run in this request; the audit entry is written whatever happens."""
    change = Change(total=entry.total)
    try:
        change.count = work(lambda *args, **kwargs: None)
    except Exception as exc:
        change.outcome, change.detail = Outcome.FAILED, str(exc)
        raise
    finally:
        _add_note(change, note)
        finish(entry, change)
    return change.count


def start_background(entry: AuditEntry, work: Work, note: Note | None = None) -> threading.Thread:
    """Save ``entry`` as running and do ``work`` in a thread that records progress on it."""
    entry.outcome = Outcome.RUNNING
    entry.heartbeat_at = timezone.now()
    entry.save()
    # The request's context goes along: the work stays on the request's Redis instance.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run,
        args=(_run, entry, work, note),
        name=f"dashboard-op-{entry.pk}",
        daemon=True,
    )
    thread.start()
    return thread


def _run(entry: AuditEntry, work: Work, note: Note | None = None) -> None:
    change = Change(total=entry.total)
    last = 0.0

    def progress(done: int, *_: object, **__: object) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            AuditEntry.objects.filter(pk=entry.pk).update(count=done, heartbeat_at=timezone.now())

    try:
        close_old_connections()
        change.count = work(progress)
    except Exception as exc:
        logger.exception("dashboard operation %s failed", entry.pk)
        change.outcome, change.detail = Outcome.FAILED, str(exc)
    finally:
        _add_note(change, note)
        finish(entry, change)
        connection.close()


def _add_note(change: Change, note: Note | None) -> None:
    if note is not None:
        change.detail = " ".join(part for part in (change.detail, note(change.count)) if part)
