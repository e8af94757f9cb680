"""The Metrics page: Asynqmon's nine Prometheus charts, drawn server-side.

Shown only when ``QUEUECORE["PROMETHEUS_URL"]`` is set (404 otherwise, and no nav link). The
window lives in the URL with the API's parameter names: ``duration`` (seconds), ``endtime``
(Unix seconds; absent means "now", a live window) and ``queues`` (comma list, or repeated).
Like Asynqmon's page it is fetched when its controls change, not on the polling timer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from dashboard import prometheus
from dashboard.connection import inspector
from dashboard.http import dashboard_view, render_page
from dashboard.presenters import timeseries
from queuecore.errors import QueueCoreError

# Asynqmon's presets (seconds, label).
PRESETS: tuple[tuple[int, str], ...] = ((3600, "1h"), (21600, "6h"), (86400, "1d"), (691200, "8d"))
MAX_DURATION = 400 * 86400
# Datetimes stop at year 9999; a larger endtime cannot be labelled.
MAX_ENDTIME = 253402300799


@dataclass(frozen=True)
class Controls:
    """Links and form values for the time-window and queue controls."""

    presets: tuple[tuple[str, str, bool], ...]
    earlier: str
    later: str
    live_url: str
    end_value: str
    live: bool
    duration: int
    # None while live.
    endtime: int | None
    queues: tuple[str, ...]
    choices: tuple[str, ...]
    window_url: str


def _link(duration: int, endtime: int | None, queues: tuple[str, ...]) -> str:
    params: dict[str, str | int] = {"duration": duration}
    if endtime is not None:
        params["endtime"] = endtime
    if queues:
        params["queues"] = ",".join(queues)
    return "?" + urlencode(params)


def _end_from_input(raw: str) -> int | None:
    """The form's ``end`` (a datetime-local in the user's zone) as Unix seconds; "" is now."""
    if not raw.strip():
        return None
    try:
        naive = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadRequest(
            f"end must be a date and time like 2026-01-31T14:30, got {raw!r}"
        ) from None
    moment = naive if naive.tzinfo else timezone.make_aware(naive)
    return int(moment.timestamp())


def _known_queues() -> list[str]:
    # The charts come from Prometheus; Redis being down only empties the filter's choices.
    try:
        return list(inspector().queues())
    except QueueCoreError:
        return []


@dashboard_view
def metrics_page(request: HttpRequest) -> HttpResponse:
    base = prometheus.configured_url()
    if not base:
        raise Http404('The Metrics page needs QUEUECORE["PROMETHEUS_URL"].')
    now = int(time.time())
    try:
        window = prometheus.parse_window(
            duration=request.GET.get("duration"),
            endtime=request.GET.get("endtime"),
            queues=request.GET.getlist("queues"),
            now=now,
        )
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if window.duration > MAX_DURATION or not 0 <= window.end <= MAX_ENDTIME:
        raise BadRequest(f"duration must be at most {MAX_DURATION} s and endtime a real moment")
    if "end" in request.GET:
        # The custom end-time form: one canonical URL, with the moment as endtime.
        end = _end_from_input(request.GET["end"])
        url = reverse("dashboard:metrics") + _link(window.duration, end, window.queues)
        return redirect(url)
    live = not request.GET.get("endtime")
    error = source = ""
    answers: dict[str, dict[str, object]] = {}
    try:
        client = prometheus.PrometheusClient(base)
        source = client.base_url
        answers = client.fetch_all(window)
    except prometheus.PrometheusError as exc:
        error = str(exc)
    charts = timeseries.charts(answers, start=window.start, end=window.end, step=window.step)
    endtime = None if live else window.end
    later = window.end + window.duration
    controls = Controls(
        presets=tuple(
            (_link(seconds, endtime, window.queues), name, seconds == window.duration)
            for seconds, name in PRESETS
        ),
        earlier=_link(window.duration, window.end - window.duration, window.queues),
        later=_link(window.duration, None if later >= now else later, window.queues),
        live_url=_link(window.duration, None, window.queues),
        end_value=timezone.localtime(datetime.fromtimestamp(window.end, UTC)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        live=live,
        duration=window.duration,
        endtime=endtime,
        queues=window.queues,
        choices=tuple(sorted(set(_known_queues()) | set(window.queues))),
        window_url=_link(window.duration, endtime, window.queues),
    )
    context = {
        "charts": charts,
        "controls": controls,
        "error": error,
        "source": source,
        "start": datetime.fromtimestamp(window.start, UTC),
        "end": datetime.fromtimestamp(window.end, UTC),
        "step": window.step,
    }
    response = render_page(request, "dashboard/metrics.html", context)
    if error:
        response.status_code = 502
    return response
