"""The queue page's Breakdown panel: counts by type and by error signature, and how to scan on.

The panel is stateless: a partial scan offers "Scan more", the same window from the same start
with a larger budget (``SCAN_BUDGETS``; growing geometrically, so re-counting the start costs at
most a quarter more than one scan of the final size), and at the largest budget "Next", the
following window from the returned cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from dashboard.scope import reverse
from queuecore import TaskState
from queuecore.errorsig import search_text
from queuecore.inspection import Breakdown

# Tasks counted per request: the first load, then each "Scan more". ~5 ms per 1,000 tasks.
SCAN_BUDGETS = (10_000, 50_000, 250_000)
# States whose tasks always carry a last error: their panel always shows the error table.
ERROR_STATES = (TaskState.RETRY, TaskState.ARCHIVED)
# Longest example message shown in a cell; the full text is one click away in the search.
EXAMPLE_LENGTH = 500
# Task types named beside a signature (the most frequent); the rest are counted as "+N more".
SIGNATURE_TYPES = 5


@dataclass(frozen=True)
class TypeRow:
    type: str
    count: int
    share: str
    search_url: str  # "" for tasks without a type (the search cannot ask for an empty type)


@dataclass(frozen=True)
class SignatureRow:
    signature: str
    count: int
    share: str
    example: str
    types: tuple[tuple[str, int], ...]
    more_types: int
    search_text: str
    search_url: str


@dataclass(frozen=True)
class Panel:
    queue: str
    state: TaskState
    group: str | None
    types: tuple[TypeRow, ...]
    errors: tuple[SignatureRow, ...]
    show_errors: bool
    status: str
    refresh_url: str
    more_url: str  # "" when there is nothing more or the budget is at its largest
    more_label: str


def next_scan(budget: int, offset: int, cursor: str | None) -> tuple[str, dict[str, str]] | None:
    """What "scan on" means after a scan of ``budget`` tasks from ``offset``: a wider scan from
    the same start while a larger budget exists, then the next window; None when complete."""
    if cursor is None:
        return None
    wider = [b for b in SCAN_BUDGETS if b > budget]
    if wider:
        params = {"scan": str(wider[0])}
        if offset:
            params["cursor"] = str(offset)
        return f"Scan more (up to {wider[0]:,})", params
    return f"Next {budget:,}", {"scan": str(budget), "cursor": cursor}


def panel(result: Breakdown, *, budget: int, offset: int) -> Panel:
    base = {"state": result.state.value}
    if result.group:
        base["group"] = result.group
    here = reverse("dashboard:breakdown", args=[result.queue])
    search = reverse("dashboard:queue", args=[result.queue])
    refresh = {**base, "scan": str(budget)}
    if offset:
        refresh["cursor"] = str(offset)
    more = next_scan(budget, offset, result.cursor)
    counted = result.counted
    return Panel(
        queue=result.queue,
        state=result.state,
        group=result.group,
        types=tuple(
            TypeRow(
                type=t.type,
                count=t.count,
                share=_share(t.count, counted),
                search_url=f"{search}?{urlencode({**base, 'type': t.type})}" if t.type else "",
            )
            for t in result.types
        ),
        errors=tuple(
            SignatureRow(
                signature=e.signature,
                count=e.count,
                share=_share(e.count, counted),
                example=_shorten(e.example),
                types=tuple(e.types.items())[:SIGNATURE_TYPES],
                more_types=max(0, len(e.types) - SIGNATURE_TYPES),
                search_text=(needle := search_text(e.signature, e.example)),
                search_url=f"{search}?{urlencode({**base, 'error': needle})}",
            )
            for e in result.errors
        ),
        show_errors=result.state in ERROR_STATES or bool(result.errors),
        status=status(result, offset),
        refresh_url=f"{here}?{urlencode(refresh)}",
        more_url=f"{here}?{urlencode({**base, **more[1]})}" if more else "",
        more_label=more[0] if more else "",
    )


def status(result: Breakdown, offset: int) -> str:
    """ "Scanned 10,000 of 700,000 retry tasks" and the like, with unreadable records noted."""
    state, last = result.state.value, offset + result.scanned
    if offset:
        text = f"Scanned {state} tasks {offset + 1:,} to {last:,} of {result.total:,}"
    elif result.done:
        text = f"Scanned all {result.scanned:,} {state} tasks"
    else:
        text = f"Scanned {result.scanned:,} of {result.total:,} {state} tasks"
    if result.skipped:
        records = "record" if result.skipped == 1 else "records"
        text += f"; {result.skipped:,} unreadable {records} not counted"
    return text + "."


def _share(count: int, counted: int) -> str:
    return f"{count / counted:.1%}" if counted else "—"


def _shorten(text: str) -> str:
    return text if len(text) <= EXAMPLE_LENGTH else text[: EXAMPLE_LENGTH - 1] + "…"
