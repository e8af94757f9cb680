"""The Findings panel of the overview, fetched and refreshed on its own (same poll interval)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.connection import inspector
from dashboard.http import dashboard_view
from dashboard.presenters import findings as presenter
from queuecore.clock import SYSTEM_CLOCK
from queuecore.contrib.django.conf import queuecore_setting
from queuecore.errors import InvalidArgumentError, QueueCoreError
from queuecore.health import HealthThresholds, collect

log = logging.getLogger(__name__)


def thresholds() -> HealthThresholds:
    """``QUEUECORE["HEALTH"]`` as thresholds (system check queuecore.E010 validates it)."""
    try:
        return HealthThresholds.from_mapping(queuecore_setting("HEALTH"))
    except (QueueCoreError, TypeError) as exc:
        raise InvalidArgumentError(f'QUEUECORE["HEALTH"] is invalid: {exc}') from exc


@dashboard_view
def findings(request: HttpRequest) -> HttpResponse:
    # A failure is shown inside the panel with a 200: an error status would make htmx leave the
    # panel as it was, and the generic error reply would re-trigger every poll on the page.
    try:
        view = presenter.panel(collect(inspector(), thresholds(), SYSTEM_CLOCK))
    except QueueCoreError as exc:
        log.warning("health findings could not be checked: %s", exc)
        view = presenter.unavailable(str(exc))
    return render(request, "dashboard/_findings.html", {"panel": view, "loaded": True})
