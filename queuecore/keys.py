"""Every Redis key of asynq v0.26's layout (spec §2), one function each, named as asynq names them.

Per-queue keys carry the ``{queue}`` hash tag so that a queue's keys share one Redis Cluster slot.
No other module formats a key.
"""

from __future__ import annotations

import hashlib

PREFIX = "asynq:"
ALL_QUEUES = "asynq:queues"
ALL_SERVERS = "asynq:servers"
ALL_WORKERS = "asynq:workers"
ALL_SCHEDULERS = "asynq:schedulers"
CANCEL_CHANNEL = "asynq:cancel"

# States whose tasks live in a zset named after the state (spec §2).
ZSET_STATES = ("scheduled", "retry", "archived", "completed")


def queue_key_prefix(qname: str) -> str:
    return f"asynq:{{{qname}}}:"


def task_key_prefix(qname: str) -> str:
    return f"asynq:{{{qname}}}:t:"


def task_key(qname: str, task_id: str) -> str:
    return f"{task_key_prefix(qname)}{task_id}"


def pending_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}pending"


def active_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}active"


def scheduled_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}scheduled"


def retry_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}retry"


def archived_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}archived"


def lease_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}lease"


def completed_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}completed"


def paused_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}paused"


def processed_total_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}processed"


def failed_total_key(qname: str) -> str:
    return f"{queue_key_prefix(qname)}failed"


def processed_key(qname: str, date: str) -> str:
    """Daily processed counter; ``date`` is the UTC day as ``YYYY-MM-DD``."""
    return f"{queue_key_prefix(qname)}processed:{date}"


def failed_key(qname: str, date: str) -> str:
    return f"{queue_key_prefix(qname)}failed:{date}"


def unique_key(qname: str, task_type: str, payload: bytes | None) -> str:
    """The unique lock; a ``None`` payload has no checksum segment, as in Go (spec §2 notes)."""
    checksum = "" if payload is None else hashlib.md5(payload).hexdigest()
    return f"{queue_key_prefix(qname)}unique:{task_type}:{checksum}"


def group_key_prefix(qname: str) -> str:
    return f"{queue_key_prefix(qname)}g:"


def group_key(qname: str, gname: str) -> str:
    return f"{group_key_prefix(qname)}{gname}"


def aggregation_set_key(qname: str, gname: str, set_id: str) -> str:
    return f"{group_key(qname, gname)}:{set_id}"


def all_groups(qname: str) -> str:
    return f"{queue_key_prefix(qname)}groups"


def all_aggregation_sets(qname: str) -> str:
    return f"{queue_key_prefix(qname)}aggregation_sets"


def server_info_key(hostname: str, pid: int, server_id: str) -> str:
    return f"asynq:servers:{{{hostname}:{pid}:{server_id}}}"


def workers_key(hostname: str, pid: int, server_id: str) -> str:
    return f"asynq:workers:{{{hostname}:{pid}:{server_id}}}"


def scheduler_entries_key(scheduler_id: str) -> str:
    return f"asynq:schedulers:{{{scheduler_id}}}"


def scheduler_history_key(entry_id: str) -> str:
    return f"asynq:scheduler_history:{entry_id}"


def scheduler_tick_lock_key(entry_identity: str, tick_unix: int) -> str:
    """Not asynq's: the claim on one tick of one periodic task, shared by all our schedulers.

    ``entry_identity`` is stable across processes (a hash of spec, task and options), unlike asynq's
    per-process entry UUIDs. Go never reads, scans or counts keys under this name.
    """
    return f"asynq:scheduler_tick:{entry_identity}:{tick_unix}"


# Our own keys, outside asynq's "asynq:" namespace: Go never reads, scans or counts them, and
# the layout check (which samples "asynq:*") never sees them.
OWN_PREFIX = "queuecore:"
ALERT_DELIVERIES = "queuecore:alerts:deliveries"
ALERT_LAST_RUN = "queuecore:alerts:last_run"


def alert_state_key(channel: str) -> str:
    """The hash of one alert channel's findings: finding key -> its alert state (JSON)."""
    return f"queuecore:alerts:state:{channel}"


def state_key(qname: str, state: str) -> str:
    """The container key of a state: the pending/active list or a state zset."""
    if state not in ("pending", "active", *ZSET_STATES):
        raise ValueError(f"state {state!r} has no single container key")
    return f"{queue_key_prefix(qname)}{state}"


# Keys of older asynq layouts, never written here: only the layout check reads them to tell an
# old deployment apart from an incompatible one (spec §0, "Layout timeline").


def legacy_queue_key(qname: str) -> str:
    """asynq <= v0.17's pending list ``asynq:{q}``, holding encoded messages rather than ids."""
    return f"asynq:{{{qname}}}"


def deadlines_key(qname: str) -> str:
    """asynq v0.18-v0.21's zset of active tasks, replaced by ``lease`` in v0.22."""
    return f"{queue_key_prefix(qname)}deadlines"
