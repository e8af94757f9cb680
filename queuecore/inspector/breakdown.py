"""Breakdown (not in asynq): the tasks of one state counted by type and by error signature.

Bounded like search: at most ``budget`` tasks per call, counted inside Redis a window at a time,
so only each message's type and last error leave Redis.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from queuecore.errorsig import error_signature
from queuecore.inspection import Breakdown, ErrorSignature, TypeCount
from queuecore.rdb.inspect import InspectStore
from queuecore.taskinfo import TaskState

# Tasks one breakdown call counts unless told otherwise.
DEFAULT_BREAKDOWN_BUDGET = 10_000
# Tasks counted per script call of a breakdown: ~1 000 keeps each call to a few milliseconds.
BREAKDOWN_READ_SIZE = 1_000


def count_breakdown(
    store: InspectStore,
    qname: str,
    state: TaskState,
    *,
    group: str | None,
    start: int,
    budget: int,
) -> Breakdown:
    """``Inspector.breakdown`` from rank ``start`` once its arguments are checked (see there)."""
    counts: dict[tuple[str, str], int] = {}
    scanned = skipped = total = 0
    position = start
    at_end = False
    while scanned < budget:
        want = min(BREAKDOWN_READ_SIZE, budget - scanned)
        chunk = store.breakdown_chunk(qname, state.value, group, position, position + want - 1)
        total = max(chunk.total, 0)
        for raw_type, raw_error, count in chunk.pairs:
            try:
                pair = raw_type.decode(), raw_error.decode()
            except UnicodeDecodeError:
                # Not a valid proto3 string: list_tasks cannot decode these records either.
                skipped += count
                continue
            counts[pair] = counts.get(pair, 0) + count
        scanned += chunk.read
        skipped += chunk.skipped
        position += chunk.read
        if chunk.read < want or position >= total:
            at_end = True
            break
    types, errors = _tally(counts)
    return Breakdown(
        queue=qname,
        state=state,
        group=group if state is TaskState.AGGREGATING else None,
        types=types,
        errors=errors,
        scanned=scanned,
        skipped=skipped,
        total=total,
        cursor=None if at_end else str(position),
    )


def _tally(
    counts: Mapping[tuple[str, str], int],
) -> tuple[tuple[TypeCount, ...], tuple[ErrorSignature, ...]]:
    """Counts per (type, raw last error) folded into counts per type and per error signature.

    Both come largest first, then by name; a signature's example is its most frequent raw
    message (the first by text on a tie), so the result does not depend on scan order.
    """
    by_type: Counter[str] = Counter()
    by_signature: Counter[str] = Counter()
    types_of: defaultdict[str, Counter[str]] = defaultdict(Counter)
    raw_of: defaultdict[str, Counter[str]] = defaultdict(Counter)
    signatures: dict[str, str] = {}
    for (type_, error), count in counts.items():
        by_type[type_] += count
        if not error:
            continue
        signature = signatures.get(error)
        if signature is None:
            signature = signatures[error] = error_signature(error)
        by_signature[signature] += count
        types_of[signature][type_] += count
        raw_of[signature][error] += count
    return (
        tuple(TypeCount(type=name, count=n) for name, n in _ranked(by_type)),
        tuple(
            ErrorSignature(
                signature=signature,
                count=n,
                example=_ranked(raw_of[signature])[0][0],
                types=dict(_ranked(types_of[signature])),
            )
            for signature, n in _ranked(by_signature)
        ),
    )


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))
