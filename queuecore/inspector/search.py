"""Search: the tasks of one state that match filters, scanning a bounded number per call."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from queuecore.clock import Clock
from queuecore.inspection import SearchResult
from queuecore.inspector.rows import decode_rows
from queuecore.rdb.inspect import InspectStore
from queuecore.taskinfo import TaskInfo, TaskState

# Tasks one search call examines unless told otherwise.
DEFAULT_SEARCH_BUDGET = 10_000
# Records decoded per Redis call while searching.
SEARCH_READ_SIZE = 500


def search_tasks(
    store: InspectStore,
    qname: str,
    state: TaskState,
    clock: Clock,
    *,
    text: str | None,
    type_: str | None,
    error: str | None,
    json_fields: Mapping[str, object] | None,
    group: str | None,
    start: int,
    budget: int,
) -> SearchResult:
    """``Inspector.search`` from rank ``start`` once its arguments are checked (see there)."""
    position = start
    match = _matcher(text=text, type_=type_, error=error, json_fields=json_fields)
    prefilter = _raw_prefilter(text=text, type_=type_, error=error)
    found: list[TaskInfo] = []
    scanned = skipped = 0
    at_end = False
    while scanned < budget:
        want = min(SEARCH_READ_SIZE, budget - scanned)
        total, rows = store.page(qname, state.value, group, position, position + want - 1)
        # Decoding is the cost of a search: only rows whose raw bytes could match are decoded.
        candidates = [r for r in rows if r.msg is None or prefilter(r.msg)]
        tasks, bad = decode_rows(qname, state, candidates, clock.now())
        found.extend(t for t in tasks if match(t))
        scanned += len(rows)
        skipped += len(bad)
        position += len(rows)
        if len(rows) < want or position >= total:
            at_end = True
            break
    return SearchResult(
        tasks=tuple(found),
        cursor=None if at_end else str(position),
        scanned=scanned,
        skipped=skipped,
    )


_MISSING = object()


def _json_path(document: object, path: str) -> object:
    for part in path.split("."):
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return _MISSING
    return document


def _raw_prefilter(
    *, text: str | None, type_: str | None, error: str | None
) -> Callable[[bytes], bool]:
    """A necessary condition on a stored message's bytes: the type, error text and payload are
    stored verbatim, so a task whose bytes lack them cannot match. ASCII-only needles are
    compared case-insensitively; others are not pre-filtered."""
    needles: list[bytes] = []
    if type_:
        needles.append(type_.removesuffix("*").lower().encode())
    for value in (text, error):
        if value and value.isascii():
            needles.append(value.lower().encode())
    if not needles:
        return lambda _raw: True

    def may_match(raw: bytes) -> bool:
        lowered = raw.lower()
        return all(needle in lowered for needle in needles)

    return may_match


def _matcher(
    *,
    text: str | None,
    type_: str | None,
    error: str | None,
    json_fields: Mapping[str, object] | None,
) -> Callable[[TaskInfo], bool]:
    needle = text.lower() if text else None
    err = error.lower() if error else None

    def match(task: TaskInfo) -> bool:
        if type_:
            if type_.endswith("*"):
                if not task.type.startswith(type_[:-1]):
                    return False
            elif task.type != type_:
                return False
        if err is not None and err not in task.last_err.lower():
            return False
        if needle is not None:
            body = task.payload.decode("utf-8", "replace").lower()
            if needle not in body and needle not in task.id.lower():
                return False
        if json_fields:
            try:
                document = json.loads(task.payload)
            except ValueError:
                return False
            for path, wanted in json_fields.items():
                value = _json_path(document, path)
                if value is _MISSING or (value != wanted and str(value) != str(wanted)):
                    return False
        return True

    return match
