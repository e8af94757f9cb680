"""A queue's counters, as one stats script returns them, read as asynq's QueueInfo."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from queuecore.inspection import QueueInfo
from queuecore.rdb.inspect import mistyped_key_names


def queue_info(qname: str, stats: Sequence[int], memory: int | None, now: float) -> QueueInfo:
    (
        pending,
        active,
        scheduled,
        retry,
        archived,
        completed,
        processed,
        failed,
        processed_total,
        failed_total,
        paused,
        oldest_ns,
        group_count,
        aggregating,
        exact,
        mistyped,
    ) = stats
    latency = timedelta(0)
    if oldest_ns > 0:
        latency = max(timedelta(0), timedelta(microseconds=(now * 1e9 - oldest_ns) / 1000))
    return QueueInfo(
        queue=qname,
        size=pending + active + scheduled + retry + archived + completed + aggregating,
        groups=group_count,
        pending=pending,
        active=active,
        scheduled=scheduled,
        retry=retry,
        archived=archived,
        completed=completed,
        aggregating=aggregating,
        processed=processed,
        failed=failed,
        processed_total=processed_total,
        failed_total=failed_total,
        paused=bool(paused),
        latency=latency,
        memory_usage=memory,
        timestamp=datetime.fromtimestamp(now, UTC),
        aggregating_exact=bool(exact),
        mistyped_keys=mistyped_key_names(mistyped),
    )
