"""View-models of the fleet overview: one block per instance, its queues' rows and findings.

Links are reversed within each instance's namespaces, so a row leads to that instance's pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.fleet import Reading
from dashboard.presenters import findings
from dashboard.presenters.formatting import format_rate
from dashboard.scope import reverse
from queuecore.contrib.django import instances
from queuecore.inspection import QueueInfo


@dataclass(frozen=True)
class QueueRow:
    info: QueueInfo
    url: str
    error_rate: str


@dataclass(frozen=True)
class InstanceBlock:
    reading: Reading
    url: str
    rows: tuple[QueueRow, ...]
    panel: findings.FindingsPanel

    @property
    def size(self) -> int:
        return sum(r.info.size for r in self.rows)


def block(reading: Reading) -> InstanceBlock:
    with instances.using(reading.instance.name):
        rows = tuple(
            QueueRow(q, reverse("dashboard:queue", [q.queue]), format_rate(q.failed, q.processed))
            for q in reading.queues
        )
        return InstanceBlock(
            reading=reading,
            url=reverse("dashboard:overview"),
            rows=rows,
            panel=findings.panel(reading.findings),
        )
