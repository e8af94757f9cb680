"""The fleet overview: every configured Redis instance's queues and findings on one page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.fleet import read_fleet
from dashboard.http import across_instances, dashboard_view, render_page, viewable
from dashboard.presenters.fleet import fleet_view
from dashboard.views.findings import thresholds
from queuecore.contrib.django import instances


@dashboard_view
@across_instances
def fleet(request: HttpRequest) -> HttpResponse:
    # Only the instances the user may view (their per-instance roles decide).
    shown = [i for i in instances.configured() if viewable(request, i.name)]
    readings = read_fleet(shown, thresholds())
    blocks = fleet_view(readings)
    return render_page(request, "dashboard/fleet.html", {"blocks": blocks})
