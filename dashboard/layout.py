"""The data-layout check behind the banner on every page, cached so pages don't pay for it.

The most common Asynqmon support thread is a version mismatch: pages come up empty (or fail)
because the asynq writing the data is older than the one reading it. The check looks at a bounded
sample of keys; its answer changes only when someone upgrades or points at another Redis, so
each process reuses it for CHECK_MAX_AGE seconds per Redis URL.
"""

from __future__ import annotations

import threading
import time

from dashboard.connection import inspector
from queuecore.contrib.django.instances import current
from queuecore.errors import QueueCoreError
from queuecore.inspection import LayoutReport

CHECK_MAX_AGE = 60.0

_lock = threading.Lock()
_reports: dict[str, tuple[float, LayoutReport | None]] = {}


def layout_report() -> LayoutReport | None:
    """The latest layout check of the configured Redis; None while Redis cannot be reached
    (every page already says so in its own way)."""
    url = current().url
    now = time.monotonic()
    with _lock:
        checked_at, report = _reports.get(url, (float("-inf"), None))
    if now - checked_at <= CHECK_MAX_AGE:
        return report
    try:
        report = inspector().layout_check()
    except QueueCoreError:
        report = None
    with _lock:
        _reports[url] = (now, report)
    return report


def incompatible_report() -> LayoutReport | None:
    """The report when it calls for a banner, else None."""
    report = layout_report()
    return report if report is not None and not report.compatible else None


def forget_layout_reports() -> None:
    """Drop the cached reports, so the next page checks again (tests; after a fix)."""
    with _lock:
        _reports.clear()
