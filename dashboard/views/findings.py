"""The Findings panel: computed by the overview from the queue read it renders (so one poll reads
the overview once), and on its own at /findings/ for anything else that wants only the panel."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.connection import inspector
from dashboard.http import dashboard_view
from dashboard.presenters import findings as presenter
from queuecore import Inspector
from queuecore.clock import SYSTEM_CLOCK
from queuecore.contrib.django.conf import queuecore_setting
from queuecore.errors import InvalidArgumentError, QueueCoreError
from queuecore.health import HealthThresholds, collect
from queuecore.inspection import QueueInfo

log = logging.getLogger(__name__)


def thresholds() -> HealthThresholds:
    """``QUEUECORE["HEALTH"]`` as thresholds (system check queuecore.E010 validates it)."""
    try:
        return HealthThresholds.from_mapping(queuecore_setting("HEALTH"))
    except (QueueCoreError, TypeError) as exc:
        raise InvalidArgumentError(f'QUEUECORE["HEALTH"] is invalid: {exc}') from exc


def panel_of(insp: Inspector, queues: Sequence[QueueInfo] | None = None) -> presenter.FindingsPanel:
    """The panel, or why health could not be checked: a failure never breaks the page around it.

    ``queues``: the overview the caller has just read, so it is not read again.
    """
    try:
        return presenter.panel(collect(insp, thresholds(), SYSTEM_CLOCK, queues=queues))
    except QueueCoreError as exc:
        log.warning("health findings could not be checked: %s", exc)
        return presenter.unavailable(str(exc))


@dashboard_view
def findings(request: HttpRequest) -> HttpResponse:
    # A failure is shown inside the panel with a 200: an error status would make htmx leave the
    # panel as it was, and the generic error reply would re-trigger every poll on the page.
    context = {"panel": panel_of(inspector()), "polls": True}
    return render(request, "dashboard/_findings.html", context)
