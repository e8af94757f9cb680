"""Server-rendered SVG charts: geometry computed here, drawn by templates (no JS, no CDN).

Two charts as Asynqmon has them: queue size stacked by state, and processed vs failed (today per
queue, or daily totals across queues for the last 7/30/90 days).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from queuecore.inspection import DailyStats, QueueInfo

WIDTH = 640
LABEL_WIDTH = 120
ROW_HEIGHT = 26
BAR_HEIGHT = 16
PLOT_HEIGHT = 160
STATES = ("active", "pending", "aggregating", "scheduled", "retry", "archived", "completed")


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class BarRow:
    queue: str
    label_y: float
    rects: tuple[Rect, ...]
    total: int


@dataclass(frozen=True)
class HBarChart:
    rows: tuple[BarRow, ...]
    width: int
    height: int
    legend: tuple[str, ...]
    empty: bool


@dataclass(frozen=True)
class VBarChart:
    rects: tuple[Rect, ...]
    labels: tuple[Label, ...]
    width: int
    height: int
    legend: tuple[str, ...]
    empty: bool


def _hbars(
    rows: Sequence[tuple[str, Sequence[tuple[str, int]]]], legend: Sequence[str]
) -> HBarChart:
    biggest = max((sum(n for _, n in segs) for _, segs in rows), default=0)
    scale = (WIDTH - LABEL_WIDTH - 10) / biggest if biggest else 0.0
    built = []
    for index, (queue, segments) in enumerate(rows):
        y = index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        x = float(LABEL_WIDTH)
        rects = []
        for name, count in segments:
            if count:
                rects.append(
                    Rect(x, y, count * scale, BAR_HEIGHT, name, f"{queue} · {name}: {count}")
                )
                x += count * scale
        built.append(BarRow(queue, y + BAR_HEIGHT - 3, tuple(rects), sum(n for _, n in segments)))
    return HBarChart(
        rows=tuple(built),
        width=WIDTH,
        height=max(len(rows), 1) * ROW_HEIGHT,
        legend=tuple(legend),
        empty=biggest == 0,
    )


def queue_size_chart(infos: Iterable[QueueInfo]) -> HBarChart:
    rows = [
        (info.queue, [(state, int(getattr(info, state))) for state in STATES]) for info in infos
    ]
    return _hbars(rows, STATES)


def processed_today_chart(infos: Iterable[QueueInfo]) -> HBarChart:
    rows = [
        (info.queue, [("succeeded", max(info.processed - info.failed, 0)), ("failed", info.failed)])
        for info in infos
    ]
    return _hbars(rows, ("succeeded", "failed"))


def daily_totals(histories: Iterable[Sequence[DailyStats]]) -> list[tuple[date, int, int]]:
    """Processed and failed per day summed across queues, oldest first."""
    totals: dict[date, list[int]] = {}
    for history in histories:
        for day in history:
            slot = totals.setdefault(day.date, [0, 0])
            slot[0] += day.processed
            slot[1] += day.failed
    return [(day, p, f) for day, (p, f) in sorted(totals.items())]


def processed_days_chart(totals: Sequence[tuple[date, int, int]]) -> VBarChart:
    left, top = 44.0, 8.0
    plot_width = WIDTH - left - 8
    biggest = max((p for _, p, _ in totals), default=0)
    scale = PLOT_HEIGHT / biggest if biggest else 0.0
    step = plot_width / max(len(totals), 1)
    rects = []
    for index, (day, processed, failed) in enumerate(totals):
        x = left + index * step + step * 0.15
        succeeded = max(processed - failed, 0)
        title = f"{day.isoformat()}: {processed} processed, {failed} failed"
        base = top + PLOT_HEIGHT
        for css, count in (("succeeded", succeeded), ("failed", failed)):
            if count:
                height = count * scale
                base -= height
                rects.append(Rect(x, base, step * 0.7, height, css, title))
    labels = [
        Label(left - 6, top + 10, str(biggest), "end"),
        Label(left - 6, top + PLOT_HEIGHT, "0", "end"),
    ]
    if totals:
        labels.append(Label(left, top + PLOT_HEIGHT + 16, totals[0][0].isoformat()))
        labels.append(Label(WIDTH - 8, top + PLOT_HEIGHT + 16, totals[-1][0].isoformat(), "end"))
    return VBarChart(
        rects=tuple(rects),
        labels=tuple(labels),
        width=WIDTH,
        height=int(top + PLOT_HEIGHT + 22),
        legend=("succeeded", "failed"),
        empty=biggest == 0,
    )
