"""The layout check: whether this Redis holds asynq v0.22+'s layout, and advice when not.

``queuecore.rdb.layout`` takes the bounded look (key types, a few members, a few SCANs); this
module only judges what it shows and says so in words.
"""

from __future__ import annotations

import json

from queuecore.inspection import LayoutReport
from queuecore.inspector.rows import parse_record
from queuecore.messages import TaskMessage
from queuecore.rdb.inspect import InspectStore
from queuecore.rdb.layout import LayoutProbe, QueueProbe

# What layout_check() can report. asynq's key names, types and hash fields have not changed since
# v0.22 (leases; v0.23 added groups), so data from any v0.22+ process reads as v0.26's (spec §0).
LAYOUT_COMPATIBLE = "asynq>=0.22 (v0.26 compatible)"
LAYOUT_LIST_MESSAGES = "older asynq (<0.18-style list messages)"
LAYOUT_DEADLINES = "older asynq (v0.18-v0.21, deadlines instead of leases)"
LAYOUT_EMPTY = "empty"
LAYOUT_UNKNOWN = "unknown"
# The layout check's bounds: queues looked at, members sampled per container, SCAN calls and size.
LAYOUT_MAX_QUEUES = 20
LAYOUT_SAMPLE = 2
LAYOUT_SCAN_CALLS = 3
LAYOUT_SCAN_COUNT = 100

_LAYOUT_ADVICE = {
    LAYOUT_LIST_MESSAGES: (
        "This Redis holds tasks written by asynq older than v0.18, which stored whole messages in "
        "its lists. Upgrade every asynq client and server to v0.22 or later (v0.26 recommended) "
        "and drain or migrate the old tasks (asynq v0.18's CLI had `asynq migrate`), or point "
        "QUEUECORE['REDIS_URL'] at the database your current asynq uses."
    ),
    LAYOUT_DEADLINES: (
        "Some asynq servers are older than v0.22: they track running tasks in a deadlines zset "
        "that this version neither reads nor recovers. Upgrade every asynq server to v0.22 or "
        "later (v0.26 recommended)."
    ),
    LAYOUT_UNKNOWN: (
        "Some asynq keys are not in the shape asynq v0.22+ writes. Check that "
        "QUEUECORE['REDIS_URL'] points at asynq's own database (not one shared with another "
        "application) and that every asynq process runs v0.22 or later; pages that read the "
        "odd keys may show them as empty or skip their tasks."
    ),
}


def check_layout(store: InspectStore) -> LayoutReport:
    """``Inspector.layout_check``: one bounded probe, judged."""
    probe = store.layout_probe(
        max_queues=LAYOUT_MAX_QUEUES,
        sample=LAYOUT_SAMPLE,
        scan_calls=LAYOUT_SCAN_CALLS,
        scan_count=LAYOUT_SCAN_COUNT,
    )
    return judge_layout(probe)


def judge_layout(probe: LayoutProbe) -> LayoutReport:
    """The layout a probe shows and, in words, every sign of another one."""
    old_lists: list[str] = []
    deadlines: list[str] = []
    odd: list[str] = []
    if probe.registry not in ("set", "none"):
        odd.append(
            f"{probe.registry_key} is a {probe.registry}, not a set: queues cannot be listed "
            "(asynq keeps its queue names in a set)"
        )
    for queue in probe.queues:
        _judge_queue(queue, old_lists, deadlines, odd)
    registered = {q.queue for q in probe.queues}
    for name in probe.message_lists:
        old_lists.append(
            f"key {name} looks like a very old asynq's per-queue message list "
            "(before the {queue} key layout); not readable here"
        )
    for name, qname in probe.pending_lists:
        if qname not in registered:
            old_lists.append(
                f"key {name} is asynq < 0.18's pending list of queue {qname!r}; not readable here"
            )
    findings = tuple(dict.fromkeys(old_lists + deadlines + odd))
    if old_lists:
        layout = LAYOUT_LIST_MESSAGES
    elif deadlines:
        layout = LAYOUT_DEADLINES
    elif odd:
        layout = LAYOUT_UNKNOWN
    elif probe.queue_total or probe.sampled_keys:
        layout = LAYOUT_COMPATIBLE
    else:
        layout = LAYOUT_EMPTY
    return LayoutReport(
        layout=layout,
        compatible=layout in (LAYOUT_COMPATIBLE, LAYOUT_EMPTY),
        findings=findings,
        advice=_LAYOUT_ADVICE.get(layout, ""),
        queues_checked=len(probe.queues),
        queues_total=probe.queue_total,
    )


def _judge_queue(
    queue: QueueProbe, old_lists: list[str], deadlines: list[str], odd: list[str]
) -> None:
    q = queue.queue
    if queue.legacy_list == "list":
        old_lists.append(
            f"queue {q!r} has a list at {queue.legacy_key}, where asynq < 0.18 kept "
            "its pending messages; not readable here"
        )
    if queue.deadlines == "zset":
        deadlines.append(
            f"queue {q!r} has {queue.deadlines_key}: its active tasks are run by asynq "
            "v0.18-v0.21 servers (v0.22 replaced deadlines with leases)"
        )
    for box in queue.containers:
        if box.found not in (box.expected, "none"):
            odd.append(
                f"queue {q!r}'s {box.state} key {box.key} is a {box.found}, not a "
                f"{box.expected}: not asynq's layout; its tasks cannot be read"
            )
            continue
        kinds = {_encoded_kind(member) for member, has_record in box.members if not has_record}
        kinds.discard(None)
        if kinds:
            what = " and ".join(sorted(k for k in kinds if k))
            old_lists.append(
                f"queue {q!r}'s {box.state} {box.expected} holds {what}-encoded messages instead "
                "of task ids (asynq keeps ids there since v0.18): written by asynq < 0.18 or "
                "a foreign client; not readable here"
            )


def _encoded_kind(member: bytes) -> str | None:
    """Whether ``member`` is a whole task message (JSON or protobuf) rather than a task id."""
    if member[:1] == b"{":
        try:
            document = json.loads(member)
        except ValueError:
            return None
        # asynq < 0.18 marshalled its TaskMessage struct with Go's default field names.
        if isinstance(document, dict) and "Type" in document and "Queue" in document:
            return "JSON"
        return None
    msg = parse_record(TaskMessage, member)
    # An id that happens to parse as protobuf will not also carry a type, an id and a queue.
    if msg is not None and msg.type and msg.id and msg.queue:
        return "protobuf"
    return None
