"""The queues overview: one row per queue, the totals, and the two charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dashboard.presenters import charts
from dashboard.presenters.formatting import format_rate
from queuecore.inspection import DailyStats, QueueInfo


@dataclass(frozen=True)
class QueueRow:
    info: QueueInfo
    error_rate: str


@dataclass(frozen=True)
class Overview:
    rows: tuple[QueueRow, ...]
    totals: Mapping[str, int]
    size_chart: charts.HBarChart
    processed_chart: charts.HBarChart | charts.VBarChart
    chart_range: int


TOTALED = ("size", *charts.STATES, "processed", "failed")


def overview(
    infos: Sequence[QueueInfo], histories: Mapping[str, Sequence[DailyStats]], chart_range: int
) -> Overview:
    processed: charts.HBarChart | charts.VBarChart
    if chart_range == 1:
        processed = charts.processed_today_chart(infos)
    else:
        processed = charts.processed_days_chart(charts.daily_totals(histories.values()))
    return Overview(
        rows=tuple(QueueRow(info, format_rate(info.failed, info.processed)) for info in infos),
        totals={name: sum(int(getattr(info, name)) for info in infos) for name in TOTALED},
        size_chart=charts.queue_size_chart(infos),
        processed_chart=processed,
        chart_range=chart_range,
    )
