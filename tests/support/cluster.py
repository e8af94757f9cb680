"""Real Redis Cluster and Sentinel deployments for tests, on free local ports.

* :func:`start_cluster` starts N ``redis-server --cluster-enabled yes`` nodes, joins them with
  ``redis-cli --cluster create ... --cluster-replicas 0`` and waits until every node reports
  ``cluster_state:ok`` and agrees on the slot map.
* :func:`start_sentinel` starts a primary, its replica(s) and sentinel(s) watching them.

Both are plain objects with ``stop()``; the pytest fixtures that own their lifetime live in
``tests/cluster/conftest.py``. Only true process boundaries are polled here, with deadlines.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.redis_server import (
    RedisProcess,
    free_port,
    redis_server_binary,
    stop_process,
)

CLUSTER_SLOTS = 16384

# Why these node options:
# * require-full-coverage no: a 3-master cluster without replicas must keep serving the queues of
#   the two healthy masters while the third restarts (the behaviour the tests assert).
# * appendonly yes: a restarted node comes back with its queues, like a production node would.
# * a short node timeout keeps the restart tests quick.
CLUSTER_NODE_ARGS = (
    "--cluster-enabled",
    "yes",
    "--cluster-node-timeout",
    "2000",
    "--cluster-require-full-coverage",
    "no",
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` (a process boundary) until it is true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def crc16_xmodem(data: bytes) -> int:
    """CRC16-CCITT (XModem), the checksum Redis Cluster hashes keys with."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def hash_tag(key: bytes) -> bytes:
    """The part of ``key`` Redis Cluster hashes: the first non-empty ``{...}``, else the key."""
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


def key_slot(key: str | bytes) -> int:
    """Redis Cluster's slot of ``key`` (CRC16/XMODEM of the hash tag, mod 16384)."""
    raw = key.encode() if isinstance(key, str) else key
    return crc16_xmodem(hash_tag(raw)) % CLUSTER_SLOTS


def cluster_port() -> int:
    """A free port whose cluster-bus twin (port + 10000) is free too; Redis needs port <= 55535."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        if all(_is_free(candidate) for candidate in (port, port + 10000)):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class ClusterSetup:
    """A running Redis Cluster made of master-only nodes."""

    nodes: list[RedisProcess]
    # (first slot, last slot, port) as CLUSTER SLOTS reported after creation.
    slot_ranges: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    @property
    def url(self) -> str:
        return "redis-cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def node_client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=5)

    def port_of_slot(self, slot: int) -> int:
        for first, last, port in self.slot_ranges:
            if first <= slot <= last:
                return port
        raise LookupError(f"slot {slot} is not served")

    def port_of_queue(self, qname: str) -> int:
        return self.port_of_slot(key_slot(f"asynq:{{{qname}}}:pending"))

    def queues_on_every_master(self, per_master: int = 1, prefix: str = "q") -> list[str]:
        """Queue names chosen so that each master serves ``per_master`` of them, in port order."""
        wanted = {port: per_master for port in self.ports}
        chosen: list[str] = []
        index = 0
        while any(wanted.values()):
            name = f"{prefix}{index}"
            index += 1
            port = self.port_of_queue(name)
            if wanted[port]:
                wanted[port] -= 1
                chosen.append(name)
        return sorted(chosen, key=lambda name: self.ports.index(self.port_of_queue(name)))

    def flush(self) -> None:
        for port in self.ports:
            client = self.node_client(port)
            try:
                client.flushall()
                client.script_flush()
            finally:
                client.close()

    def refresh_slots(self) -> None:
        client = self.node_client(self.ports[0])
        try:
            ranges = client.execute_command("CLUSTER SLOTS")
        finally:
            client.close()
        self.slot_ranges = sorted(
            (int(entry[0]), int(entry[1]), int(entry[2][1])) for entry in ranges
        )

    def wait_healthy(self, timeout: float = 30.0) -> None:
        def healthy() -> bool:
            for port in self.ports:
                client = self.node_client(port)
                try:
                    info = client.cluster("INFO")
                    if info.get("cluster_state") != "ok":
                        return False
                    if int(info.get("cluster_slots_ok", 0)) != CLUSTER_SLOTS:
                        return False
                    if int(info.get("cluster_known_nodes", 0)) != len(self.ports):
                        return False
                finally:
                    client.close()
            return True

        wait_until(healthy, timeout, "the cluster to report cluster_state:ok")
        self.refresh_slots()

    def node_id(self, port: int) -> str:
        client = self.node_client(port)
        try:
            reply = client.execute_command("CLUSTER MYID")
        finally:
            client.close()
        return reply.decode() if isinstance(reply, bytes) else str(reply)

    def move_slot(self, slot: int, to_port: int) -> None:
        """Migrate ``slot`` with its keys to the node on ``to_port`` (what resharding does)."""
        from_port = self.port_of_slot(slot)
        if from_port == to_port:
            return
        source, target = self.node_client(from_port), self.node_client(to_port)
        try:
            target.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", self.node_id(from_port))
            source.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", self.node_id(to_port))
            while True:
                names = source.execute_command("CLUSTER GETKEYSINSLOT", slot, 1000)
                if not names:
                    break
                source.execute_command("MIGRATE", "127.0.0.1", to_port, "", 0, 5000, "KEYS", *names)
            owner = self.node_id(to_port)
            for port in self.ports:
                node = self.node_client(port)
                try:
                    node.execute_command("CLUSTER SETSLOT", slot, "NODE", owner)
                finally:
                    node.close()
        finally:
            source.close()
            target.close()
        self.wait_healthy()

    def stop_node(self, port: int) -> RedisProcess:
        node = next(node for node in self.nodes if node.port == port)
        node.stop()
        return node

    def start_node(self, port: int, timeout: float = 30.0) -> None:
        node = next(node for node in self.nodes if node.port == port)
        node.start()
        self.wait_healthy(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        for node in self.nodes:
            shutil.rmtree(node.workdir, ignore_errors=True)


def start_cluster(masters: int = 3, timeout: float = 30.0) -> ClusterSetup:
    """Start ``masters`` cluster-enabled nodes and join them into one cluster (no replicas)."""
    if redis_server_binary() is None or shutil.which("redis-cli") is None:
        raise RuntimeError("redis-server and redis-cli are needed for a Redis Cluster")
    nodes: list[RedisProcess] = []
    try:
        for _ in range(masters):
            workdir = Path(tempfile.mkdtemp(prefix="qc-cluster-"))
            nodes.append(
                RedisProcess(
                    port=cluster_port(), workdir=workdir, extra_args=CLUSTER_NODE_ARGS
                ).start()
            )
        setup = ClusterSetup(nodes=nodes)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in setup.ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        setup.wait_healthy(timeout)
        return setup
    except BaseException:
        for node in nodes:
            node.stop()
        raise


@dataclass
class SentinelProcess:
    """One ``redis-server --sentinel`` watching a primary named ``master_name``."""

    port: int
    workdir: Path
    master_name: str
    primary_port: int
    quorum: int = 1
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 10.0) -> SentinelProcess:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        config = self.workdir / "sentinel.conf"
        config.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    "protected-mode no",
                    f"dir {self.workdir}",
                    f"sentinel monitor {self.master_name} 127.0.0.1 {self.primary_port}"
                    f" {self.quorum}",
                    f"sentinel down-after-milliseconds {self.master_name} 2000",
                    f"sentinel failover-timeout {self.master_name} 10000",
                    f"sentinel parallel-syncs {self.master_name} 1",
                    "",
                ]
            )
        )
        self.process = subprocess.Popen(
            [binary, str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            wait_until(lambda: bool(client.ping()), timeout, f"sentinel on port {self.port}")
        finally:
            client.close()
        return self

    def stop(self) -> None:
        stop_process(self.process)


# Why min-replicas-to-write: when Sentinel promotes the replica, the old primary keeps accepting
# writes until Sentinel demotes it seconds later, and those writes vanish when it resyncs. Refusing
# writes without a connected replica makes the old primary answer NOREPLICAS at once, which the
# client retries against the new primary: no acknowledged task is lost.
SENTINEL_DATA_NODE_ARGS = ("--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")


@dataclass
class SentinelSetup:
    """A primary, its replicas and the sentinels watching them."""

    master_name: str
    data_nodes: list[RedisProcess]
    sentinels: list[SentinelProcess]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis-sentinel://{hosts}/0?master={self.master_name}"

    def sentinel_client(self) -> redis.Redis:
        return redis.Redis(port=self.sentinels[0].port, socket_connect_timeout=1, socket_timeout=5)

    def primary_port(self) -> int:
        client = self.sentinel_client()
        try:
            _host, port = client.execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name
            )
        finally:
            client.close()
        return int(port)

    def replica_ports(self) -> list[int]:
        primary = self.primary_port()
        return [node.port for node in self.data_nodes if node.port != primary]

    def role_of(self, port: int) -> str:
        client = redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=5)
        try:
            role = client.execute_command("ROLE")
        finally:
            client.close()
        name = role[0]
        return name.decode() if isinstance(name, bytes) else str(name)

    def wait_replicated(self, timeout: float = 20.0) -> None:
        """Wait until every replica is connected and has caught up with the primary."""
        primary = redis.Redis(port=self.primary_port(), socket_timeout=5)
        expected = len(self.data_nodes) - 1

        def caught_up() -> bool:
            info = primary.info("replication")
            if int(info.get("connected_slaves", 0)) < expected:
                return False
            offset = int(info["master_repl_offset"])
            replicas = [info[f"slave{i}"] for i in range(expected)]
            return all(
                replica.get("state") == "online" and int(replica["offset"]) >= offset
                for replica in replicas
            )

        try:
            wait_until(caught_up, timeout, "the replicas to catch up")
        finally:
            primary.close()

    def wait_sentinels_ready(self, timeout: float = 20.0) -> None:
        """Wait until every sentinel knows the replicas and (with several) the other sentinels."""
        replicas = len(self.data_nodes) - 1
        others = len(self.sentinels) - 1

        def ready() -> bool:
            for sentinel in self.sentinels:
                client = redis.Redis(port=sentinel.port, socket_timeout=5)
                try:
                    state = client.sentinel_master(self.master_name)
                finally:
                    client.close()
                if int(state.get("num-slaves", 0)) < replicas:
                    return False
                if int(state.get("num-other-sentinels", 0)) < others:
                    return False
                if state.get("flags") != "master":
                    return False
            return True

        wait_until(ready, timeout, "the sentinels to discover the deployment")

    def failover(self, timeout: float = 30.0) -> int:
        """Run ``SENTINEL FAILOVER`` and wait for a new primary that accepts writes; its port."""
        old = self.primary_port()
        client = self.sentinel_client()
        try:
            client.execute_command("SENTINEL", "FAILOVER", self.master_name)
        finally:
            client.close()
        wait_until(lambda: self.primary_port() != old, timeout, "Sentinel to switch the primary")
        new = self.primary_port()
        wait_until(lambda: self.role_of(new) == "master", timeout, "the replica's promotion")
        return new

    def wait_demoted(self, port: int, timeout: float = 30.0) -> None:
        """Wait until Sentinel has turned the old primary into a replica of the new one."""
        wait_until(lambda: self.role_of(port) == "slave", timeout, f"port {port} to be demoted")

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for node in self.data_nodes:
            node.stop()
        for path in {s.workdir for s in self.sentinels} | {n.workdir for n in self.data_nodes}:
            shutil.rmtree(path, ignore_errors=True)


def start_sentinel(
    *, replicas: int = 1, sentinels: int = 1, master_name: str = "qcmaster", timeout: float = 30.0
) -> SentinelSetup:
    """A primary with ``replicas`` replicas and ``sentinels`` sentinels (quorum 1), all ready."""
    if redis_server_binary() is None:
        raise RuntimeError("redis-server is needed for a Sentinel setup")
    started: list[RedisProcess | SentinelProcess] = []
    try:
        primary = RedisProcess(
            port=free_port(),
            workdir=Path(tempfile.mkdtemp(prefix="qc-primary-")),
            extra_args=SENTINEL_DATA_NODE_ARGS,
        ).start()
        started.append(primary)
        data_nodes = [primary]
        for _ in range(replicas):
            replica = RedisProcess(
                port=free_port(),
                workdir=Path(tempfile.mkdtemp(prefix="qc-replica-")),
                extra_args=(
                    *SENTINEL_DATA_NODE_ARGS,
                    "--replicaof",
                    "127.0.0.1",
                    str(primary.port),
                ),
            ).start()
            started.append(replica)
            data_nodes.append(replica)
        watchers: list[SentinelProcess] = []
        for _ in range(sentinels):
            sentinel = SentinelProcess(
                port=free_port(),
                workdir=Path(tempfile.mkdtemp(prefix="qc-sentinel-")),
                master_name=master_name,
                primary_port=primary.port,
            ).start()
            started.append(sentinel)
            watchers.append(sentinel)
        setup = SentinelSetup(master_name=master_name, data_nodes=data_nodes, sentinels=watchers)
        setup.wait_replicated(timeout)
        setup.wait_sentinels_ready(timeout)
        return setup
    except BaseException:
        for process in started:
            process.stop()
        raise
