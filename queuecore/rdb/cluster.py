"""Redis Cluster support: pipelines split by node, and the cluster's shape for the Inspector.

Why a pipeline of our own: redis-py's ``ClusterPipeline`` refuses EVALSHA, yet every state change
here is a script and the stores send many of them per round trip. :class:`NodePipeline` records
commands like a pipeline, groups them by the node that serves each command's slot, sends one plain
(non-transactional) pipeline per node, and returns the replies in the order the commands were
given. Scripts Redis has forgotten (NOSCRIPT) are loaded on that node and sent again; commands
that hit a moved slot or an unreachable node are re-routed after the slot map is read again,
within the client's retry budget. Nothing here makes commands of different slots atomic: callers
already keep each script inside one queue's ``{queue}`` slot and send the global registries
(``asynq:queues``, ``asynq:servers``, ...) as separate plain commands, as asynq does.

:class:`QueueCoreCluster` is the cluster client :meth:`RedisSettings.connect` opens: a redis-py
``RedisCluster`` whose ``pipeline()`` returns a :class:`NodePipeline`, so the stores' code is the
same for one server and for a cluster.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Self

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.commands import CoreCommands
from redis.exceptions import AskError, MovedError, NoScriptError, RedisClusterException

from queuecore import keys
from queuecore.inspection import ClusterNodeInfo
from queuecore.rdb.failover import is_transient
from queuecore.rdb.scripts import script_names, script_source

Command = tuple[tuple[Any, ...], dict[str, Any]]

# Seconds between attempts to reach a node that refused a connection; doubled up to the cap.
RETRY_BACKOFF_BASE = 0.05
RETRY_BACKOFF_CAP = 0.5


@cache
def _sources_by_sha() -> dict[str, str]:
    """Every script of ``rdb/lua`` by SHA1, to reload the one a node reports as NOSCRIPT."""
    sources = (script_source(name) for name in script_names())
    return {hashlib.sha1(s.encode()).hexdigest(): s for s in sources}


class QueueCoreCluster(RedisCluster):
    """A ``RedisCluster`` whose non-transactional pipelines can carry scripts (NodePipeline)."""

    # Seconds a NodePipeline keeps retrying an unreachable node before reporting it down.
    retry_timeout: float = 2.0

    def script_load(self, script: Any) -> Any:
        """SCRIPT LOAD on every reachable primary.

        redis-py sends it to all primaries and fails if one is down, which would stop the
        queues of healthy nodes from loading a script. A node that was down answers NOSCRIPT
        later and gets the script then.
        """
        sha: Any = None
        failure: Exception | None = None
        for node in self.get_primaries():
            try:
                sha = self.get_redis_connection(node).script_load(script)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                failure = exc
        if sha is None:
            raise failure or redis.ConnectionError("no primary to load the script on")
        return sha

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        if transaction:
            # One slot only: redis-py's ClusterPipeline runs MULTI/EXEC on that slot's node.
            return super().pipeline(transaction=True, shard_hint=shard_hint)
        return NodePipeline(self)


class NodePipeline(CoreCommands):
    """A non-transactional pipeline over a cluster: one plain pipeline per node (module doc)."""

    _event_dispatcher: Any = None  # CoreCommands declares it; nothing here dispatches events

    def __init__(self, cluster: RedisCluster) -> None:
        self._cluster = cluster
        self._stack: list[Command] = []

    # -- the pipeline interface the stores use -------------------------------------------------

    def execute_command(self, *args: Any, **options: Any) -> Self:
        self._stack.append((args, options))
        return self

    def __len__(self) -> int:
        return len(self._stack)

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()

    def reset(self) -> None:  # type: ignore[override]  # a pipeline's reset, not RESET
        self._stack = []

    def close(self) -> None:
        self.reset()

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack, self._stack = self._stack, []
        replies = self._run(stack)
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
        return replies

    # -- routing -------------------------------------------------------------------------------

    def _node_of(self, args: tuple[Any, ...]) -> ClusterNode:
        try:
            slot = self._cluster.determine_slot(*args)
        except RedisClusterException:
            slot = None
        if slot is None:
            return self._cluster.get_default_node()
        return self._cluster.nodes_manager.get_node_from_slot(slot)

    def _run(self, stack: Sequence[Command]) -> list[Any]:
        replies: list[Any] = [None] * len(stack)
        todo = list(range(len(stack)))
        timeout = getattr(self._cluster, "retry_timeout", QueueCoreCluster.retry_timeout)
        deadline = time.monotonic() + timeout
        backoff = RETRY_BACKOFF_BASE
        while todo:
            groups: dict[str, tuple[ClusterNode, list[int]]] = {}
            for index in todo:
                node = self._node_of(stack[index][0])
                groups.setdefault(node.name, (node, []))[1].append(index)
            again: list[int] = []
            unreachable = False
            refused: dict[int, str] = {}  # index -> the node that refused its connection
            batches = [(node, [stack[i] for i in indexes]) for node, indexes in groups.values()]
            for (node, indexes), results in zip(
                groups.values(), self._send_all(batches), strict=True
            ):
                for index, result in zip(indexes, results, strict=True):
                    replies[index] = result
                    if isinstance(result, redis.ConnectionError | redis.TimeoutError):
                        unreachable = True
                    if _is_refusal(result):
                        refused[index] = node.name
                    if isinstance(result, MovedError | AskError) or (
                        isinstance(result, Exception) and is_transient(result)
                    ):
                        again.append(index)
            if not again or time.monotonic() >= deadline:
                # A node still refusing (down, CLUSTERDOWN, LOADING, ...) reads as unreachable,
                # which every store maps to RedisUnavailableError.
                for index in again:
                    if isinstance(replies[index], redis.ResponseError):
                        replies[index] = redis.ConnectionError(_error_text(replies[index]))
                break
            # The slot map changed or a node is down: read it again and re-route what failed.
            with contextlib.suppress(RedisClusterException, redis.RedisError):
                self._cluster.nodes_manager.initialize()
            if len(refused) == len(again) and all(
                self._node_of(stack[i][0]).name == refused[i] for i in again
            ):
                # Only refused connections, and the fresh slot map still sends those commands to
                # the nodes that refused: the node is down and nobody else serves its slots (no
                # failover yet). Retrying until the deadline would only hold the caller — the
                # processor's one I/O thread, which also serves the healthy nodes' queues.
                break
            if unreachable or any(isinstance(replies[i], redis.ResponseError) for i in again):
                time.sleep(min(backoff, max(deadline - time.monotonic(), 0.0)))
                backoff = min(backoff * 2, RETRY_BACKOFF_CAP)
            todo = again
        return replies

    def _send_all(
        self, batches: Sequence[tuple[ClusterNode, Sequence[Command]]]
    ) -> list[list[Any]]:
        """Write every node's commands first, then read every node's replies.

        The nodes work on their batches at the same time, so a round trip over three nodes
        costs about one node's. Scripts a node has forgotten are loaded there and sent again.
        """
        sent = [_Exchange(self._cluster, node, commands) for node, commands in batches]
        for exchange in sent:
            exchange.write()
        results = []
        for exchange in sent:
            replies = exchange.read()
            forgotten = [
                i
                for i, reply in enumerate(replies)
                if isinstance(reply, NoScriptError)
                and _script_sha(exchange.commands[i][0]) in _sources_by_sha()
            ]
            if forgotten:
                try:
                    for sha in {_script_sha(exchange.commands[i][0]) for i in forgotten}:
                        exchange.client.script_load(_sources_by_sha()[sha])
                    resent = _pipeline(exchange.client, [exchange.commands[i] for i in forgotten])
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    resent = [exc] * len(forgotten)
                for i, reply in zip(forgotten, resent, strict=True):
                    replies[i] = reply
            results.append(replies)
        return results


class _Exchange:
    """One node's share of a NodePipeline: its commands written on one connection, then read.

    The same steps as redis-py's own pipeline (pack, send, parse each reply with the client's
    callbacks), split in two so that all nodes are written before any is read. A connection
    error turns every reply not yet read into that error; the connection is then dropped.
    """

    def __init__(self, cluster: RedisCluster, node: ClusterNode, commands: Sequence[Command]):
        self.commands = commands
        self.client: redis.Redis = cluster.get_redis_connection(node)
        self.connection: Any = None
        self.error: Exception | None = None

    def write(self) -> None:
        pool = self.client.connection_pool
        try:
            self.connection = pool.get_connection()
            packed = self.connection.pack_commands([args for args, _ in self.commands])
            self.connection.send_packed_command(packed)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.error = exc
            self._drop()

    def read(self) -> list[Any]:
        replies: list[Any] = []
        if self.error is None:
            try:
                for args, options in self.commands:
                    try:
                        replies.append(
                            self.client.parse_response(self.connection, args[0], **options)
                        )
                    except redis.ResponseError as exc:
                        replies.append(exc)
            except Exception as exc:
                # Unread replies would be read by the connection's next user: drop it.
                self.error = (
                    exc
                    if isinstance(exc, redis.RedisError)
                    else redis.ConnectionError(f"reading pipeline replies failed: {exc!r}")
                )
                self._drop()
            else:
                self.client.connection_pool.release(self.connection)
                self.connection = None
        replies.extend([self.error] * (len(self.commands) - len(replies)))
        return replies

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.disconnect()
            self.client.connection_pool.release(self.connection)
            self.connection = None


def _is_refusal(error: Any) -> bool:
    """A connection the node's host refused: no process listens on the node's port."""
    return isinstance(error, redis.ConnectionError) and isinstance(
        error.__context__ or error.__cause__, ConnectionRefusedError
    )


def _pipeline(client: redis.Redis, commands: Sequence[Command]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    for args, options in commands:
        pipe.execute_command(*args, **options)
    return list(pipe.execute(raise_on_error=False))


def _error_text(error: Exception) -> str:
    status = getattr(error, "status_code", None)
    text = str(error)
    return f"{status} {text}" if status and not text.startswith(status) else text


def _script_sha(args: tuple[Any, ...]) -> str:
    if str(args[0]).upper() != "EVALSHA" or len(args) < 2:
        return ""
    sha = args[1]
    return sha.decode() if isinstance(sha, bytes) else str(sha)


# ------------------------------------------------------------------------------ cluster shape


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueLocation:
    """Where a queue's keys live: its hash slot and the node serving it."""

    queue: str
    slot: int
    node: str  # "host:port" of the primary serving the slot; "" when no node serves it


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def queue_slot(client: RedisCluster, qname: str) -> int:
    """The slot of every key of ``qname`` (they share the ``{qname}`` hash tag)."""
    return int(client.keyslot(keys.pending_key(qname)))


def queue_locations(client: RedisCluster, qnames: Sequence[str]) -> list[QueueLocation]:
    """Each queue's slot and serving primary, from the client's slot map (no round trip)."""
    result = []
    for qname in qnames:
        slot = queue_slot(client, qname)
        try:
            node = client.nodes_manager.get_node_from_slot(slot)
            address = f"{node.host}:{node.port}"
        except (RedisClusterException, IndexError, KeyError):
            address = ""
        result.append(QueueLocation(queue=qname, slot=slot, node=address))
    return result


def cluster_nodes(client: RedisCluster) -> list[ClusterNodeInfo]:
    """Every node and its state, asked of the first node that answers; sorted by address."""
    last_error: Exception | None = None
    for node in _nodes_to_ask(client):
        try:
            raw = client.get_redis_connection(node).execute_command("CLUSTER NODES")
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            last_error = exc
            continue
        text = raw.decode() if isinstance(raw, bytes) else raw
        if isinstance(text, str):
            return sorted(_parse_cluster_nodes(text), key=lambda n: n.address)
        # Some client versions parse CLUSTER NODES into a dict keyed by address.
        return sorted(_from_parsed(text), key=lambda n: n.address)
    raise redis.ConnectionError(f"no cluster node answered CLUSTER NODES: {last_error}")


def _nodes_to_ask(client: RedisCluster) -> list[ClusterNode]:
    default = client.get_default_node()
    others = [n for n in client.get_nodes() if n.name != getattr(default, "name", None)]
    return [default, *others] if default is not None else others


def _parse_cluster_nodes(text: str) -> list[ClusterNodeInfo]:
    nodes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        node_id, address, flags_text, primary, _ping, _pong, _epoch, link = fields[:8]
        flags = tuple(flags_text.split(","))
        nodes.append(
            ClusterNodeInfo(
                node_id=node_id,
                address=address.split("@", 1)[0],
                role="master" if "master" in flags else "replica",
                primary_id="" if primary == "-" else primary,
                connected=link == "connected",
                failing=bool({"fail", "fail?"} & set(flags)),
                flags=flags,
                slots=_slot_ranges(fields[8:]),
            )
        )
    return nodes


def _from_parsed(parsed: Any) -> list[ClusterNodeInfo]:
    nodes = []
    for address, info in dict(parsed).items():
        flags = tuple(str(info.get("flags", "")).split(","))
        nodes.append(
            ClusterNodeInfo(
                node_id=str(info.get("node_id", "")),
                address=str(address).split("@", 1)[0],
                role="master" if "master" in flags else "replica",
                primary_id="" if info.get("master_id") in ("-", None) else str(info["master_id"]),
                connected=bool(info.get("connected")),
                failing=bool({"fail", "fail?"} & set(flags)),
                flags=flags,
                slots=_parsed_slots(info.get("slots", [])),
            )
        )
    return nodes


def _parsed_slots(items: Any) -> tuple[tuple[int, int], ...]:
    """redis-py's parsed slots: ``["0", "5460"]`` for a range, ``["5798"]`` for one slot."""
    ranges = []
    for item in items or ():
        parts = [str(p) for p in item] if isinstance(item, list | tuple) else str(item).split("-")
        try:
            ranges.append((int(parts[0]), int(parts[-1])))
        except (ValueError, IndexError):
            continue
    return tuple(ranges)


def _slot_ranges(parts: Sequence[str]) -> tuple[tuple[int, int], ...]:
    ranges = []
    for part in parts:
        if part.startswith("["):  # a slot being migrated or imported
            continue
        first, _, last = part.partition("-")
        try:
            ranges.append((int(first), int(last or first)))
        except ValueError:
            continue
    return tuple(ranges)
