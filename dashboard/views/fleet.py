"""The fleet overview: every configured Redis instance's queues and findings on one page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.access import Abilities
from dashboard.fleet import read_fleet
from dashboard.http import dashboard_view, render_page
from dashboard.presenters.fleet import fleet_view
from dashboard.views.findings import thresholds
from queuecore.contrib.django import instances


def visible(request: HttpRequest) -> list[instances.Instance]:
    """The instances the user may view (their per-instance roles decide)."""
    shown = []
    for instance in instances.configured():
        with instances.using(instance.name):
            if Abilities.of(request.user).view:  # type: ignore[arg-type]
                shown.append(instance)
    return shown


@dashboard_view
def fleet(request: HttpRequest) -> HttpResponse:
    readings = read_fleet(visible(request), thresholds())
    blocks = fleet_view(readings)
    return render_page(request, "dashboard/fleet.html", {"blocks": blocks})
