"""The fleet overview: every configured Redis instance's queues and findings on one page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, set_script_prefix, set_urlconf
from django.utils import timezone, translation
from django.utils.safestring import SafeString

from dashboard.fleet import Reading, read_fleet
from dashboard.http import across_instances, dashboard_view, render_page, viewable
from dashboard.presenters.fleet import block
from dashboard.views.findings import thresholds
from queuecore.contrib.django import instances

PARTS = "dashboard/_fleet_instance.html"


@dataclass(frozen=True)
class Shown:
    """One instance's table rows and findings, rendered."""

    rows: SafeString
    findings: SafeString


def present(reading: Reading) -> Shown:
    """Runs on the instance's reader thread, so a late instance never waits on the others'."""
    context = {"block": block(reading)}
    return Shown(
        rows=SafeString(render_to_string(f"{PARTS}#rows", context)),
        findings=SafeString(render_to_string(f"{PARTS}#findings", context)),
    )


def on_request_thread(show: Callable[[Reading], Shown]) -> Callable[[Reading], Shown]:
    """``show`` as it would run on the request's thread: the URL prefix and urlconf (links), the
    time zone and the language are thread-local in Django, and the readers are other threads."""
    prefix, urlconf = get_script_prefix(), get_urlconf()
    zone, language = timezone.get_current_timezone(), translation.get_language()

    def shown(reading: Reading) -> Shown:
        set_script_prefix(prefix)
        set_urlconf(urlconf)
        try:
            with timezone.override(zone), translation.override(language):
                return show(reading)
        finally:
            set_urlconf(None)

    return shown


@dashboard_view
@across_instances
def fleet(request: HttpRequest) -> HttpResponse:
    # Only the instances the user may view (their per-instance roles decide).
    shown = [i for i in instances.configured() if viewable(request, i.name)]
    blocks = read_fleet(shown, thresholds(), present=on_request_thread(present))
    return render_page(request, "dashboard/fleet.html", {"blocks": blocks})
