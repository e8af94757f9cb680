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

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from dashboard.audit import Change, finish
from dashboard.models import AuditEntry, Outcome

logger = logging.getLogger(__name__)

# Up to this many tasks the action runs inside the request and answers when done.
SYNC_LIMIT = 2000
# Seconds between progress writes; far below HEARTBEAT_TIMEOUT so a working thread never looks dead.
PROGRESS_EVERY = 0.5
# Tries, and seconds between them, for the final record when the database is busy (SQLite locks).
FINISH_TRIES = 5
FINISH_RETRY_EVERY = 0.2

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
            try:
                AuditEntry.objects.filter(pk=entry.pk).update(
                    count=done, heartbeat_at=timezone.now()
                )
            except DatabaseError as exc:
                # A progress note is best effort: a busy database must not stop the action itself
                # half-way; the next note, or the final record, catches up.
                logger.warning("progress of dashboard operation %s not recorded: %s", entry.pk, exc)

    try:
        close_old_connections()
        change.count = work(progress)
    except Exception as exc:
        logger.exception("dashboard operation %s failed", entry.pk)
        change.outcome, change.detail = Outcome.FAILED, str(exc)
    finally:
        _add_note(change, note)
        _finish_when_the_database_lets_us(entry, change)
        connection.close()


def _finish_when_the_database_lets_us(entry: AuditEntry, change: Change) -> None:
    for attempt in range(1, FINISH_TRIES + 1):
        try:
            finish(entry, change)
            return
        except DatabaseError as exc:
            if attempt == FINISH_TRIES:
                # The entry stays "running" and shows as interrupted once its heartbeat is stale.
                logger.exception("dashboard operation %s: its result was not recorded", entry.pk)
                return
            logger.warning("dashboard operation %s: result not recorded yet: %s", entry.pk, exc)
            time.sleep(FINISH_RETRY_EVERY)


def _add_note(change: Change, note: Note | None) -> None:
    if note is not None:
        change.detail = " ".join(part for part in (change.detail, note(change.count)) if part)
