"""The Metrics page: Asynqmon's nine Prometheus charts, drawn server-side.

Shown only when ``QUEUECORE["PROMETHEUS_URL"]`` is set (404 otherwise, and no nav link). The
window lives in the URL with the API's parameter names: ``duration`` (seconds), ``endtime``
(Unix seconds; absent means "now", a live window) and ``queues`` (comma list, or repeated).
Like Asynqmon's page it is fetched when its controls change, not on the polling timer.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from dashboard import prometheus
from dashboard.connection import inspector
from dashboard.http import dashboard_view, render_page
from dashboard.presenters import timeseries
from dashboard.scope import reverse
from queuecore.errors import QueueCoreError

# Asynqmon's presets (seconds, label).
PRESETS: tuple[tuple[int, str], ...] = ((3600, "1h"), (21600, "6h"), (86400, "1d"), (691200, "8d"))
MAX_DURATION = prometheus.MAX_DURATION
UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
SPAN_PART = re.compile(r"(\d+)([wdhms])")
SPAN = re.compile(r"(?:\d+[wdhms])+")


@dataclass(frozen=True)
class Controls:
    """Links and form values for the time-window and queue controls."""

    presets: tuple[tuple[str, str, bool], ...]
    earlier: str
    later: str
    live_url: str
    # "" while live: the form's empty end means now.
    end_value: str
    span: str
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


def _span_seconds(raw: str) -> int | None:
    """The form's ``span`` ("90m", "1d12h", "3600") as seconds; "" keeps the duration."""
    text = raw.strip().lower().replace(" ", "")
    if not text:
        return None
    if text.isdigit():
        seconds = int(text)
    elif SPAN.fullmatch(text):
        seconds = sum(int(n) * UNIT_SECONDS[u] for n, u in SPAN_PART.findall(text))
    else:
        raise BadRequest(f"duration must look like 90m, 6h or 1d12h, got {raw!r}")
    if not 0 < seconds <= MAX_DURATION:
        raise BadRequest(f"duration must be between 1 s and {MAX_DURATION // 86400} days")
    return seconds


def span_text(seconds: int) -> str:
    """3600 -> "1h", 95400 -> "1d2h30m": the form's way of showing a duration."""
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


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
    if "end" in request.GET or "span" in request.GET:
        # The custom window form: one canonical URL, with the API's duration and endtime.
        end = _end_from_input(request.GET.get("end", ""))
        duration = _span_seconds(request.GET.get("span", "")) or window.duration
        url = reverse("dashboard:metrics") + _link(duration, end, window.queues)
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
        end_value=""
        if live
        else timezone.localtime(datetime.fromtimestamp(window.end, UTC)).strftime("%Y-%m-%dT%H:%M"),
        span=span_text(window.duration),
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
