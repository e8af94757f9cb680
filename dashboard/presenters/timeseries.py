"""Line charts for the Metrics page: Prometheus range answers turned into SVG geometry.

One chart per Asynqmon metric, one line per queue, drawn by ``_line.html`` like the overview's
bar charts (server-side SVG, no JS). Lines break where Prometheus has no sample (a scrape gap, a
queue that did not exist yet) rather than being drawn across the gap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from dashboard.presenters.charts import Label
from dashboard.presenters.formatting import format_bytes, format_duration

# Narrower than the overview's charts: nine of them share the page, three to a row.
WIDTH = 400
LEFT = 58.0
TOP = 8.0
RIGHT = 8.0
PLOT_HEIGHT = 150.0
# Tableau 10: distinguishable in light and dark themes; queues beyond ten reuse colours.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    unit: str
    help: str


# Asynqmon's Metrics page, in its order; ``key`` is the API's response key.
CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "tasks_processed_per_second",
        "Tasks processed",
        "per_second",
        "Tasks processed (succeeded or failed) per second, averaged over 5 minutes.",
    ),
    ChartSpec(
        "tasks_failed_per_second",
        "Tasks failed",
        "per_second",
        "Tasks that failed per second, averaged over 5 minutes.",
    ),
    ChartSpec(
        "error_rate",
        "Error rate",
        "ratio",
        "Failed divided by processed, over 5 minutes (no line while nothing is processed).",
    ),
    ChartSpec("queue_size", "Queue size", "count", "Tasks in the queue, in every state."),
    ChartSpec(
        "queue_latency_seconds",
        "Queue latency",
        "seconds",
        "How long the oldest pending task has been waiting.",
    ),
    ChartSpec(
        "queue_memory_usage_approx_bytes",
        "Memory usage (approx)",
        "bytes",
        "Redis memory used by the queue, estimated by sampling.",
    ),
    ChartSpec("pending_tasks_by_queue", "Pending tasks", "count", "Tasks ready to be processed."),
    ChartSpec("retry_tasks_by_queue", "Retry tasks", "count", "Failed tasks waiting to retry."),
    ChartSpec(
        "archived_tasks_by_queue",
        "Archived tasks",
        "count",
        "Tasks that exhausted their retries or were archived.",
    ),
)


@dataclass(frozen=True)
class Line:
    label: str
    color: str
    # SVG polyline "x,y x,y ..." per unbroken run; lone samples are drawn as dots.
    runs: tuple[str, ...]
    dots: tuple[tuple[float, float], ...]
    last: str
    peak: str


@dataclass(frozen=True)
class LineChart:
    spec: ChartSpec
    lines: tuple[Line, ...]
    labels: tuple[Label, ...]
    gridlines: tuple[float, ...]
    width: int
    height: int
    plot_left: float
    plot_right: float
    empty: bool


def format_value(value: float, unit: str) -> str:
    if unit == "bytes":
        return format_bytes(int(value))
    if unit == "seconds":
        return "0s" if value == 0 else format_duration(timedelta(seconds=value))
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "per_second":
        return "<0.001/s" if 0 < value < 0.001 else f"{value:.3g}/s"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times 10^k at or above ``value``, so axis labels read cleanly."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    raise AssertionError("unreachable")


def axis_top(value: float, unit: str) -> float:
    """A round top for the y axis; bytes round in KB/MB/GB so the labels stay round too."""
    if unit != "bytes" or value < 1024:
        return nice_ceiling(value)
    scale = 1024.0
    while value / scale >= 1024:
        scale *= 1024
    return nice_ceiling(value / scale) * scale


def samples(series: Mapping[str, Any]) -> list[tuple[float, float]]:
    """(time, value) pairs; NaN and infinities (0/0 error rates) and malformed pairs skipped."""
    found = []
    for pair in series.get("values") or ():
        try:
            moment, value = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(value):
            found.append((moment, value))
    return found


def series_labels(result: Sequence[Mapping[str, Any]]) -> list[str]:
    """The queue of each series; the scrape instance added when two series share a queue."""
    queues = [str((s.get("metric") or {}).get("queue", "")) for s in result]
    labels = []
    for queue, series in zip(queues, result, strict=True):
        if queues.count(queue) > 1:
            instance = (series.get("metric") or {}).get("instance", "?")
            labels.append(f"{queue} ({instance})")
        else:
            labels.append(queue or "(no queue)")
    return labels


def line_chart(
    spec: ChartSpec, answer: Mapping[str, Any], *, start: int, end: int, step: int
) -> LineChart:
    """One chart from Prometheus's ``query_range`` answer (``data.result`` is a matrix)."""
    result = list((answer.get("data") or {}).get("result") or [])
    labelled = sorted(zip(series_labels(result), result, strict=True), key=lambda p: p[0])
    points = [(label, samples(series)) for label, series in labelled]
    biggest = max((v for _, found in points for _, v in found), default=0.0)
    top = axis_top(biggest, spec.unit)
    plot_right = WIDTH - RIGHT
    span = max(end - start, 1)

    def x_of(moment: float) -> float:
        return LEFT + (moment - start) / span * (plot_right - LEFT)

    def y_of(value: float) -> float:
        return TOP + PLOT_HEIGHT - value / top * PLOT_HEIGHT

    lines = []
    for index, (label, found) in enumerate(points):
        if not found:
            continue
        runs, dots = _runs([(x_of(t), y_of(v)) for t, v in found], [t for t, _ in found], step)
        lines.append(
            Line(
                label=label,
                color=PALETTE[index % len(PALETTE)],
                runs=runs,
                dots=dots,
                last=format_value(found[-1][1], spec.unit),
                peak=format_value(max(v for _, v in found), spec.unit),
            )
        )
    labels = (
        Label(LEFT - 6, TOP + 4, format_value(top, spec.unit), "end"),
        Label(LEFT - 6, TOP + PLOT_HEIGHT / 2 + 4, format_value(top / 2, spec.unit), "end"),
        Label(LEFT - 6, TOP + PLOT_HEIGHT + 4, format_value(0, spec.unit), "end"),
        Label(LEFT, TOP + PLOT_HEIGHT + 18, _moment(start, span)),
        Label(
            (LEFT + plot_right) / 2,
            TOP + PLOT_HEIGHT + 18,
            _moment(start + span // 2, span),
            "middle",
        ),
        Label(plot_right, TOP + PLOT_HEIGHT + 18, _moment(end, span), "end"),
    )
    return LineChart(
        spec=spec,
        lines=tuple(lines),
        labels=labels,
        gridlines=(TOP, TOP + PLOT_HEIGHT / 2, TOP + PLOT_HEIGHT),
        width=WIDTH,
        height=int(TOP + PLOT_HEIGHT + 24),
        plot_left=LEFT,
        plot_right=plot_right,
        empty=not lines,
    )


def charts(
    answers: Mapping[str, Mapping[str, Any]], *, start: int, end: int, step: int
) -> list[LineChart]:
    return [
        line_chart(spec, answers.get(spec.key) or {}, start=start, end=end, step=step)
        for spec in CHARTS
    ]


def _runs(
    xy: list[tuple[float, float]], moments: list[float], step: int
) -> tuple[tuple[str, ...], tuple[tuple[float, float], ...]]:
    """Split where samples are more than one step apart; thin each run to about a point per
    pixel column (its lowest and highest), which keeps spikes and bounds the page's size."""
    runs: list[list[tuple[float, float]]] = [[xy[0]]]
    for index in range(1, len(xy)):
        if moments[index] - moments[index - 1] > step * 1.5:
            runs.append([])
        runs[-1].append(xy[index])
    drawn, dots = [], []
    for run in runs:
        if len(run) == 1:
            dots.append(run[0])
            continue
        drawn.append(" ".join(f"{x:.1f},{y:.1f}" for x, y in _thinned(run)))
    return tuple(drawn), tuple(dots)


def _thinned(run: list[tuple[float, float]]) -> list[tuple[float, float]]:
    columns: dict[int, list[tuple[float, float]]] = {}
    for point in run:
        columns.setdefault(round(point[0]), []).append(point)
    kept = []
    for column in columns.values():
        if len(column) <= 2:
            kept.extend(column)
            continue
        low, high = min(column, key=lambda p: p[1]), max(column, key=lambda p: p[1])
        kept.extend(sorted({low, high}, key=column.index))
    return kept


def _moment(unix: float, span: int) -> str:
    local = timezone.localtime(datetime.fromtimestamp(unix, UTC))
    return local.strftime("%H:%M" if span <= 86400 else "%m-%d %H:%M")
