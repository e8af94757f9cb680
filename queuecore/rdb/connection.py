"""Connection settings, built from one URL, and the client they open.

Forms (the same as asynq's ``ParseRedisURI`` plus what Asynqmon users asked for):

* ``redis://[user:password@]host:port/db`` and ``rediss://`` (TLS; ``?ssl_ca_certs=``,
  ``?ssl_cert_reqs=none`` for an insecure connection)
* ``unix://[:password@]/path/to/redis.sock?db=N``
* ``redis-sentinel://[:password@]host1:port,host2:port[/db]?master=name[&sentinel_password=...]``
* ``redis-cluster://host1:port,host2:port`` (a node list; DB is always 0)

Callers only ever hold a :class:`RedisSettings` and call :meth:`RedisSettings.connect`; the kind of
deployment behind it is this module's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel

from queuecore.errors import InvalidArgumentError

RedisClient = redis.Redis | RedisCluster

Kind = Literal["single", "sentinel", "cluster"]


def _hosts(netloc_hosts: str, default_port: int) -> tuple[tuple[str, int], ...]:
    result = []
    for part in netloc_hosts.split(","):
        part = part.strip()
        if not part:
            continue
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
        result.append((host or part, int(port) if port else default_port))
    return tuple(result)


@dataclass(frozen=True, kw_only=True)
class RedisSettings:
    kind: Kind = "single"
    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    unix_socket_path: str | None = None
    username: str | None = None
    password: str | None = None
    tls: bool = False
    tls_ca_file: str | None = None
    tls_insecure: bool = False
    # Sentinel: the sentinels to ask and the name of the primary they watch.
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    # Cluster: seed nodes; the client discovers the rest.
    cluster_nodes: tuple[tuple[str, int], ...] = ()
    socket_timeout: float = 10.0
    socket_connect_timeout: float = 5.0

    @classmethod
    def from_url(cls, url: str) -> RedisSettings:
        url = url.strip()
        if not url:
            raise InvalidArgumentError("Redis URL is blank")
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        scheme = parts.scheme.lower()
        if scheme in ("redis", "rediss"):
            host_port = parts.netloc.rpartition("@")[2]
            hosts = _hosts(host_port, 6379)
            if len(hosts) != 1:
                raise InvalidArgumentError(f"expected one host in Redis URL, got {host_port!r}")
            return cls(
                host=hosts[0][0],
                port=hosts[0][1],
                db=_db(parts.path, query),
                username=username,
                password=password,
                tls=scheme == "rediss",
                tls_ca_file=query.get("ssl_ca_certs"),
                tls_insecure=query.get("ssl_cert_reqs", "").lower() in ("none", "insecure"),
            )
        if scheme == "unix":
            return cls(
                unix_socket_path=parts.path,
                db=int(query.get("db", "0")),
                username=username,
                password=password,
            )
        if scheme == "redis-sentinel":
            master = query.get("master")
            if not master:
                raise InvalidArgumentError("redis-sentinel URL needs ?master=<name>")
            return cls(
                kind="sentinel",
                sentinels=_hosts(parts.netloc.rpartition("@")[2], 26379),
                master_name=master,
                db=_db(parts.path, query),
                username=query.get("username"),
                password=query.get("password") or password,
                sentinel_username=query.get("sentinel_username"),
                sentinel_password=query.get("sentinel_password") or password,
            )
        if scheme == "redis-cluster":
            return cls(
                kind="cluster",
                cluster_nodes=_hosts(parts.netloc.rpartition("@")[2], 6379),
                username=username,
                password=password,
                tls=query.get("tls", "").lower() in ("1", "true", "yes"),
            )
        raise InvalidArgumentError(
            f"unsupported Redis URL scheme {parts.scheme!r}; use redis://, rediss://, unix://, "
            "redis-sentinel:// or redis-cluster://"
        )

    def display(self) -> str:
        """A description safe to log: never contains the password."""
        if self.kind == "sentinel":
            hosts = ",".join(f"{h}:{p}" for h, p in self.sentinels)
            return f"redis-sentinel://{hosts}/{self.db}?master={self.master_name}"
        if self.kind == "cluster":
            return "redis-cluster://" + ",".join(f"{h}:{p}" for h, p in self.cluster_nodes)
        if self.unix_socket_path:
            return f"unix://{self.unix_socket_path}?db={self.db}"
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{self.host}:{self.port}/{self.db}"

    def _common(self) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "username": self.username,
            "password": self.password,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_connect_timeout,
            "decode_responses": False,
            "health_check_interval": 30,
        }
        if self.tls:
            opts["ssl"] = True
            opts["ssl_ca_certs"] = self.tls_ca_file
            opts["ssl_cert_reqs"] = "none" if self.tls_insecure else "required"
            if self.tls_insecure:
                opts["ssl_check_hostname"] = False
        return opts

    def connect(self) -> RedisClient:
        """Open a client (lazily connecting) for this deployment; binary-safe replies."""
        if self.kind == "cluster":
            nodes = [ClusterNode(h, p) for h, p in self.cluster_nodes]
            return RedisCluster(startup_nodes=nodes, **self._common())
        if self.kind == "sentinel":
            sentinel = Sentinel(
                list(self.sentinels),
                sentinel_kwargs={
                    "username": self.sentinel_username,
                    "password": self.sentinel_password,
                    "socket_timeout": self.socket_connect_timeout,
                },
                **self._common(),
            )
            return sentinel.master_for(self.master_name or "mymaster", db=self.db)
        if self.unix_socket_path:
            common = self._common()
            for tls_opt in ("ssl", "ssl_ca_certs", "ssl_cert_reqs", "ssl_check_hostname"):
                common.pop(tls_opt, None)
            return redis.Redis(unix_socket_path=self.unix_socket_path, db=self.db, **common)
        return redis.Redis(host=self.host, port=self.port, db=self.db, **self._common())


def _db(path: str, query: dict[str, str]) -> int:
    raw = path.strip("/") or query.get("db", "0")
    try:
        db = int(raw)
    except ValueError:
        raise InvalidArgumentError(f"Redis DB must be a number, got {raw!r}") from None
    if db < 0:
        raise InvalidArgumentError("Redis DB must not be negative")
    return db
