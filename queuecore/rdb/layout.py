"""The layout check's look at Redis: key types and a few members, never a full scan.

What the keys of each asynq layout are called, and which Redis type each holds, is decided here;
judging what the look shows is ``queuecore.inspector.layout``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from queuecore import keys
from queuecore.names import decode_name, name_bytes
from queuecore.rdb.base import RedisStore, redis_errors

# Where each state lives in v0.22+ and the Redis type asynq gives it (spec §2).
_LAYOUT_CONTAINERS = (
    ("pending", "list"),
    ("active", "list"),
    ("scheduled", "zset"),
    ("retry", "zset"),
    ("archived", "zset"),
    ("completed", "zset"),
)


@dataclass(frozen=True, slots=True)
class ContainerSample:
    """One per-queue key as the layout check found it: its Redis type and its first members.

    ``members`` pairs each sampled member with whether ``asynq:{q}:t:<member>`` exists, which is
    what makes it a task id of asynq v0.18+ rather than an encoded message.
    """

    key: str
    expected: str
    found: str
    members: tuple[tuple[bytes, bool], ...] = ()

    @property
    def state(self) -> str:
        return self.key.rsplit(":", 1)[-1]


@dataclass(frozen=True, slots=True)
class QueueProbe:
    queue: str
    containers: tuple[ContainerSample, ...]
    legacy_list: str  # TYPE of asynq <= v0.17's pending list asynq:{q}
    deadlines: str  # TYPE of asynq v0.18-v0.21's deadlines zset
    legacy_key: str = ""  # the name of that pending list
    deadlines_key: str = ""  # the name of that deadlines zset


@dataclass(frozen=True, slots=True)
class LayoutProbe:
    """A bounded look at the keys: enough to tell asynq's layouts apart, never a full scan.

    ``message_lists`` and ``pending_lists`` are the sampled names shaped like a very old asynq's
    keys: per-queue message lists under ``asynq:queues:``, and asynq < 0.18's pending list
    ``asynq:{q}`` (with the queue it would belong to).
    """

    registry: str  # TYPE of asynq:queues
    queue_total: int
    queues: tuple[QueueProbe, ...]
    sampled_keys: tuple[str, ...]  # asynq:* names met by a few small SCAN calls
    registry_key: str = keys.ALL_QUEUES
    message_lists: tuple[str, ...] = ()
    pending_lists: tuple[tuple[str, str], ...] = ()


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return decode_name(value)


def _members(reply: object) -> list[bytes]:
    """A pipelined LRANGE/ZRANGE reply; a key that changed type in between reads as empty."""
    return [bytes(m) for m in reply] if isinstance(reply, list) else []


def _legacy_pending_queue(name: str) -> str | None:
    """The queue of an asynq < 0.18 pending list name ``asynq:{q}``, else None."""
    if name.startswith("asynq:{") and name.endswith("}") and ":" not in name[7:]:
        return name[7:-1]
    return None


def probe_layout(
    store: RedisStore, *, max_queues: int, sample: int, scan_calls: int, scan_count: int
) -> LayoutProbe:
    """TYPE of each queue's keys, ``sample`` members of each container and whether they have
    task hashes, for at most ``max_queues`` queues; plus up to ``scan_calls`` SCANs of
    ``scan_count`` (skipped on a cluster, where SCAN is per node). Four round trips at most
    besides the SCANs, whatever the data size."""
    client = store.client
    with redis_errors():
        registry = _text(client.type(keys.ALL_QUEUES))
        qnames: list[str] = []
        total = 0
        if registry == "set":
            total = int(client.scard(keys.ALL_QUEUES))  # type: ignore[arg-type]
            picked: Any = client.srandmember(keys.ALL_QUEUES, max_queues)
            qnames = sorted(_text(m) for m in picked)
        container_keys = {
            q: [keys.state_key(q, state) for state, _ in _LAYOUT_CONTAINERS] for q in qnames
        }
        pipe = client.pipeline(transaction=False)
        for q in qnames:
            for key in container_keys[q]:
                pipe.type(key)
            pipe.type(keys.legacy_queue_key(q))
            pipe.type(keys.deadlines_key(q))
        types = [
            _text(t) if isinstance(t, bytes | str) else "none"
            for t in pipe.execute(raise_on_error=False)
        ]

        width = len(_LAYOUT_CONTAINERS) + 2
        reads: list[tuple[str, str, str, str]] = []  # queue, key, expected, found
        pipe = client.pipeline(transaction=False)
        for i, q in enumerate(qnames):
            row = types[i * width : (i + 1) * width]
            for (_, expected), key, found in zip(
                _LAYOUT_CONTAINERS, container_keys[q], row, strict=False
            ):
                reads.append((q, key, expected, found))
                if found == "list":
                    pipe.lrange(key, 0, sample - 1)
                elif found == "zset":
                    pipe.zrange(key, 0, sample - 1)
        replies = iter(pipe.execute(raise_on_error=False))
        sampled = [
            _members(next(replies)) if found in ("list", "zset") else [] for _, _, _, found in reads
        ]

        pipe = client.pipeline(transaction=False)
        for (q, _, _, _), members in zip(reads, sampled, strict=True):
            for member in members:
                pipe.exists(name_bytes(keys.task_key_prefix(q)) + member)
        exists = iter(pipe.execute(raise_on_error=False))
        samples = [
            ContainerSample(
                key=key,
                expected=expected,
                found=found,
                members=tuple((m, next(exists) == 1) for m in members),
            )
            for (_, key, expected, found), members in zip(reads, sampled, strict=True)
        ]
        n = len(_LAYOUT_CONTAINERS)
        probes = tuple(
            QueueProbe(
                queue=q,
                containers=tuple(samples[i * n : (i + 1) * n]),
                legacy_list=types[i * width + n],
                deadlines=types[i * width + n + 1],
                legacy_key=keys.legacy_queue_key(q),
                deadlines_key=keys.deadlines_key(q),
            )
            for i, q in enumerate(qnames)
        )
        names: list[str] = []
        if not store.is_cluster:
            cursor: Any = 0
            for _ in range(scan_calls):
                cursor, batch = client.scan(cursor, match="asynq:*", count=scan_count)
                names.extend(_text(k) for k in batch)
                if not int(cursor):
                    break
    pending_lists = tuple(
        (name, queue) for name in names if (queue := _legacy_pending_queue(name)) is not None
    )
    return LayoutProbe(
        registry=registry,
        queue_total=total,
        queues=probes,
        sampled_keys=tuple(names),
        message_lists=tuple(n for n in names if n.startswith(f"{keys.ALL_QUEUES}:")),
        pending_lists=pending_lists,
    )
