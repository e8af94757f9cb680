"""Connection settings, built from a URL or a settings dict, and the client they open.

This module parses and holds settings without importing redis, so ``import queuecore`` stays
free of it; ``RedisSettings.connect`` loads the client classes when a connection is opened.

URL forms (asynq's ``ParseRedisURI`` plus what Asynqmon users asked for):

* ``redis://[user:password@]host:port[/db]`` and ``rediss://`` (TLS). TLS options as query
  parameters: ``ssl_ca_certs=<CA file>`` (alias ``tls_ca_file``), ``ssl_certfile``/``ssl_keyfile``
  for a client certificate, and ``ssl_cert_reqs=none`` (alias ``insecure=true``) to skip
  verification.
* ``unix://[user:password@]/path/to/redis.sock[?db=N]``
* ``redis-sentinel://[user:sentinel_password@]host1:port,host2:port[/db]?master=<name>`` — as in
  asynq the password in the URL is the sentinels' one; the primary's credentials are
  ``&username=...&password=...``; ``&tls=true`` for TLS to the data nodes.
* ``redis-cluster://[user:password@]host1:port,host2:port`` (seed nodes; DB is always 0) and
  ``rediss-cluster://`` (TLS).

Every form also takes ``socket_timeout``, ``socket_connect_timeout`` and ``retry_timeout``.

The settings-dict form (``QUEUECORE["REDIS"]``) uses the field names of :class:`RedisSettings`
in any case, optionally on top of a ``URL``; see :meth:`RedisSettings.from_mapping`. The
environment variable ``REDIS_URL`` is read by :func:`settings_from_env`.

Callers only ever hold a :class:`RedisSettings` (or its URL, see :meth:`RedisSettings.to_url`)
and call :meth:`RedisSettings.connect`; the kind of deployment behind it is this module's business.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from queuecore.errors import InvalidArgumentError, RedisUnavailableError

if TYPE_CHECKING:
    from queuecore.rdb.failover import FailoverRetry, RedisClient

Kind = Literal["single", "sentinel", "cluster"]

# How long commands keep retrying transient failures before the caller sees the error, by kind.
# Sentinel needs the longest: promoting a replica and demoting the old primary takes seconds.
DEFAULT_RETRY_TIMEOUT: dict[Kind, float] = {"single": 2.0, "sentinel": 30.0, "cluster": 2.0}

_TRUE = ("1", "true", "yes", "on")
DEFAULT_SOCKET_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True, kw_only=True)
class RedisSettings:
    """Where Redis is and how to talk to it. Defaults are those of a local development Redis."""

    # "single" (one server, TCP or unix socket), "sentinel" or "cluster".
    kind: Kind = "single"
    host: str = "127.0.0.1"
    port: int = 6379
    # Not available on a cluster (always 0).
    db: int = 0
    # Set for unix:// connections; host and port are then unused.
    unix_socket_path: str | None = None
    # ACL user (Redis 6+) and password; for Sentinel these are the data nodes' credentials.
    username: str | None = None
    password: str | None = None
    tls: bool = False
    # CA bundle to verify the server certificate with; None uses the system's trust store.
    tls_ca_file: str | None = None
    # Client certificate and key, for servers that ask for one (tls-auth-clients).
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    # Skip certificate and host name verification (self-signed test setups only).
    tls_insecure: bool = False
    # Sentinel: the sentinels to ask and the name of the primary they watch.
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    # Cluster: seed nodes; the client discovers the rest.
    cluster_nodes: tuple[tuple[str, int], ...] = ()
    # Seconds one command (socket_timeout) and one connect (socket_connect_timeout) may wait:
    # a Redis that hangs is then reported like one that refuses, as RedisUnavailableError,
    # within about max(socket_timeout, retry_timeout). Blocking commands block for less.
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT
    socket_connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    # Seconds a command keeps retrying connection errors and failover replies (READONLY,
    # NOREPLICAS, LOADING, ...) before it fails; None means DEFAULT_RETRY_TIMEOUT[kind].
    retry_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("single", "sentinel", "cluster"):
            raise InvalidArgumentError(f"unknown Redis deployment kind {self.kind!r}")
        if self.kind == "sentinel" and (not self.sentinels or not self.master_name):
            raise InvalidArgumentError("a Sentinel connection needs sentinels and a master name")
        if self.kind == "cluster":
            if not self.cluster_nodes:
                raise InvalidArgumentError("a cluster connection needs at least one node")
            if self.db != 0:
                raise InvalidArgumentError("Redis Cluster has only DB 0")
        if self.db < 0:
            raise InvalidArgumentError("Redis DB must not be negative")
        for name in ("socket_timeout", "socket_connect_timeout", "retry_timeout"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidArgumentError(f"{name} must not be negative")

    @property
    def effective_retry_timeout(self) -> float:
        if self.retry_timeout is not None:
            return self.retry_timeout
        return DEFAULT_RETRY_TIMEOUT[self.kind]

    # ----------------------------------------------------------------------------- parsing

    @classmethod
    def from_url(cls, url: str) -> RedisSettings:
        url = url.strip()
        if not url:
            raise InvalidArgumentError("Redis URL is blank")
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password == "":
            password = None
        hosts_text = parts.netloc.rpartition("@")[2]
        scheme = parts.scheme.lower()
        common = _common_query(query)
        if scheme in ("redis", "rediss"):
            hosts = _hosts(hosts_text, 6379)
            if len(hosts) != 1:
                raise InvalidArgumentError(f"expected one host in Redis URL, got {hosts_text!r}")
            return cls(
                host=hosts[0][0],
                port=hosts[0][1],
                db=_db(parts.path, query),
                username=username,
                password=password,
                **_tls_query(query, scheme == "rediss"),
                **common,
            )
        if scheme == "unix":
            if not parts.path:
                raise InvalidArgumentError("unix:// URL needs a socket path")
            return cls(
                unix_socket_path=parts.path,
                db=_db("", query),
                username=username,
                password=password,
                **common,
            )
        if scheme == "redis-sentinel":
            master = query.get("master") or query.get("master_name")
            if not master:
                raise InvalidArgumentError("redis-sentinel URL needs ?master=<name>")
            return cls(
                kind="sentinel",
                sentinels=_hosts(hosts_text, 26379),
                master_name=master,
                db=_db(parts.path, query),
                username=query.get("username"),
                password=query.get("password"),
                sentinel_username=query.get("sentinel_username") or username,
                sentinel_password=query.get("sentinel_password") or password,
                **_tls_query(query, False),
                **common,
            )
        if scheme in ("redis-cluster", "rediss-cluster"):
            if parts.path.strip("/") not in ("", "0"):
                raise InvalidArgumentError("Redis Cluster has only DB 0")
            return cls(
                kind="cluster",
                cluster_nodes=_hosts(hosts_text, 6379),
                username=username,
                password=password,
                **_tls_query(query, scheme == "rediss-cluster"),
                **common,
            )
        raise InvalidArgumentError(
            f"unsupported Redis URL scheme {parts.scheme!r}; use redis://, rediss://, unix://, "
            "redis-sentinel:// or redis-cluster://"
        )

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> RedisSettings:
        """Settings from a dict such as ``QUEUECORE["REDIS"]``.

        Keys are the field names of this class in any case (``HOST``, ``PORT``, ``DB``,
        ``USERNAME``, ``PASSWORD``, ``TLS``, ``TLS_CA_FILE``, ``TLS_INSECURE``,
        ``UNIX_SOCKET_PATH``, ``SENTINELS``, ``MASTER_NAME``, ``SENTINEL_PASSWORD``,
        ``CLUSTER_NODES``, ``SOCKET_TIMEOUT``, ``RETRY_TIMEOUT``, ...) plus ``URL``, which is
        parsed first and then overridden by the other keys. ``SENTINELS`` and ``CLUSTER_NODES``
        take ``"host:port"`` strings or ``(host, port)`` pairs and imply the kind.
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        url: str | None = None
        for raw_key, value in config.items():
            key = str(raw_key).lower()
            if key == "url":
                url = str(value)
            elif key in fields:
                values[key] = value
            else:
                allowed = ", ".join(sorted(name.upper() for name in fields | {"url"}))
                raise InvalidArgumentError(
                    f"unknown Redis setting {raw_key!r}; use one of {allowed}"
                )
        for key in ("sentinels", "cluster_nodes"):
            if key in values:
                values[key] = _node_list(values[key], 26379 if key == "sentinels" else 6379)
        if "sentinels" in values and "cluster_nodes" in values:
            raise InvalidArgumentError("give SENTINELS or CLUSTER_NODES, not both")
        if "kind" not in values:
            if "sentinels" in values:
                values["kind"] = "sentinel"
            elif "cluster_nodes" in values:
                values["kind"] = "cluster"
        for key in ("port", "db"):
            if key in values:
                values[key] = _int(values[key], key)
        for key in ("tls", "tls_insecure"):
            if key in values:
                values[key] = _bool(values[key])
        for key in ("socket_timeout", "socket_connect_timeout", "retry_timeout"):
            if values.get(key) is not None:
                values[key] = _float(values[key], key)
        base = cls.from_url(url) if url is not None else cls()
        try:
            return dataclasses.replace(base, **values)
        except TypeError as exc:
            raise InvalidArgumentError(f"invalid Redis settings: {exc}") from None

    @classmethod
    def coerce(cls, value: RedisSettings | str | Mapping[str, Any]) -> RedisSettings:
        """Settings from whatever a configuration holds: settings, a URL or a settings dict."""
        if isinstance(value, RedisSettings):
            return value
        if isinstance(value, str):
            return cls.from_url(value)
        if isinstance(value, Mapping):
            return cls.from_mapping(value)
        raise InvalidArgumentError(
            f"Redis settings must be a URL or a dict, not {type(value).__name__}"
        )

    # ----------------------------------------------------------------------------- output

    def to_url(self) -> str:
        """A URL that :meth:`from_url` turns back into equal settings (it contains secrets)."""
        query: dict[str, str] = {}
        if self.tls_ca_file:
            query["ssl_ca_certs"] = self.tls_ca_file
        if self.tls_cert_file:
            query["ssl_certfile"] = self.tls_cert_file
        if self.tls_key_file:
            query["ssl_keyfile"] = self.tls_key_file
        if self.tls_insecure:
            query["ssl_cert_reqs"] = "none"
        if self.socket_timeout != DEFAULT_SOCKET_TIMEOUT:
            query["socket_timeout"] = _number(self.socket_timeout)
        if self.socket_connect_timeout != DEFAULT_CONNECT_TIMEOUT:
            query["socket_connect_timeout"] = _number(self.socket_connect_timeout)
        if self.retry_timeout is not None:
            query["retry_timeout"] = _number(self.retry_timeout)
        if self.kind == "sentinel":
            query = {"master": self.master_name or "", **query}
            for name in ("username", "password", "sentinel_username"):
                if getattr(self, name):
                    query[name] = getattr(self, name)
            if self.tls:
                query["tls"] = "true"
            auth = _userinfo(None, self.sentinel_password)
            hosts = ",".join(f"{_host(h)}:{p}" for h, p in self.sentinels)
            return f"redis-sentinel://{auth}{hosts}/{self.db}{_query(query)}"
        auth = _userinfo(self.username, self.password)
        if self.kind == "cluster":
            scheme = "rediss-cluster" if self.tls else "redis-cluster"
            hosts = ",".join(f"{_host(h)}:{p}" for h, p in self.cluster_nodes)
            return f"{scheme}://{auth}{hosts}{_query(query)}"
        if self.unix_socket_path:
            query = {"db": str(self.db), **query}
            return f"unix://{auth}{quote(self.unix_socket_path)}{_query(query)}"
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}{_host(self.host)}:{self.port}/{self.db}{_query(query)}"

    def display(self) -> str:
        """A description safe to log: never contains a password."""
        if self.kind == "sentinel":
            hosts = ",".join(f"{h}:{p}" for h, p in self.sentinels)
            return f"redis-sentinel://{hosts}/{self.db}?master={self.master_name}"
        if self.kind == "cluster":
            scheme = "rediss-cluster" if self.tls else "redis-cluster"
            return f"{scheme}://" + ",".join(f"{h}:{p}" for h, p in self.cluster_nodes)
        if self.unix_socket_path:
            return f"unix://{self.unix_socket_path}?db={self.db}"
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{self.host}:{self.port}/{self.db}"

    # ----------------------------------------------------------------------------- clients

    def retry_policy(self) -> FailoverRetry:
        from queuecore.rdb.failover import FailoverRetry

        return FailoverRetry(self.effective_retry_timeout, attempt_timeout=self.socket_timeout)

    def _common(self) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "username": self.username,
            "password": self.password,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_connect_timeout,
            "decode_responses": False,
            # Names that are not UTF-8 travel as lone surrogates (queuecore.names).
            "encoding_errors": "surrogateescape",
            "health_check_interval": 30,
        }
        if self.tls:
            opts["ssl"] = True
            opts["ssl_ca_certs"] = self.tls_ca_file
            opts["ssl_certfile"] = self.tls_cert_file
            opts["ssl_keyfile"] = self.tls_key_file
            opts["ssl_cert_reqs"] = "none" if self.tls_insecure else "required"
            opts["ssl_check_hostname"] = not self.tls_insecure
        return opts

    def connect(self) -> RedisClient:
        """Open a client (lazily connecting) for this deployment; binary-safe replies."""
        # Imported here, not at the top, so that reading settings never loads redis.
        import redis
        from redis.backoff import ExponentialWithJitterBackoff
        from redis.cluster import ClusterNode
        from redis.exceptions import RedisClusterException
        from redis.retry import Retry
        from redis.sentinel import Sentinel

        from queuecore.rdb.failover import FailoverRedis, packing_names

        if self.kind == "cluster":
            from queuecore.rdb.cluster import QueueCoreCluster

            nodes = [ClusterNode(h, p) for h, p in self.cluster_nodes]
            try:
                # The cluster client re-reads the slot map and retries connection errors itself.
                cluster_client = QueueCoreCluster(
                    startup_nodes=nodes,
                    retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3),
                    **self._common(),
                )
            except (RedisClusterException, redis.RedisError) as exc:
                # The cluster client reads the slot map as it is created.
                raise RedisUnavailableError(str(exc) or type(exc).__name__) from exc
            cluster_client.retry_timeout = self.effective_retry_timeout
            return cluster_client
        if self.kind == "sentinel":
            common = self._common()
            sentinel_kwargs: dict[str, Any] = {
                "username": self.sentinel_username,
                "password": self.sentinel_password,
                "socket_timeout": self.socket_connect_timeout,
                "socket_connect_timeout": self.socket_connect_timeout,
                # One quick retry: a dead sentinel should hand over to the next one at once.
                "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=1),
            }
            sentinel = Sentinel(
                list(self.sentinels),
                sentinel_kwargs=sentinel_kwargs,
                retry=self.retry_policy(),
                **common,
            )
            client = sentinel.master_for(
                self.master_name or "mymaster", redis_class=FailoverRedis, db=self.db
            )
            client.retry_timeout = self.effective_retry_timeout
            return packing_names(client)
        if self.unix_socket_path:
            common = self._common()
            for tls_opt in (
                "ssl",
                "ssl_ca_certs",
                "ssl_certfile",
                "ssl_keyfile",
                "ssl_cert_reqs",
                "ssl_check_hostname",
            ):
                common.pop(tls_opt, None)
            client = FailoverRedis(
                unix_socket_path=self.unix_socket_path,
                db=self.db,
                retry=self.retry_policy(),
                **common,
            )
        else:
            client = FailoverRedis(
                host=self.host,
                port=self.port,
                db=self.db,
                retry=self.retry_policy(),
                **self._common(),
            )
        client.retry_timeout = self.effective_retry_timeout
        return packing_names(client)


def settings_from_env(environ: Mapping[str, str] | None = None) -> RedisSettings | None:
    """Settings from ``REDIS_URL`` in the environment, or None when it is unset or blank."""
    env = os.environ if environ is None else environ
    url = env.get("REDIS_URL", "").strip()
    return RedisSettings.from_url(url) if url else None


# --------------------------------------------------------------------------------- helpers


def _hosts(netloc_hosts: str, default_port: int) -> tuple[tuple[str, int], ...]:
    result = []
    for part in netloc_hosts.split(","):
        part = part.strip()
        if part:
            result.append(_host_port(part, default_port))
    if not result:
        raise InvalidArgumentError("Redis URL names no host")
    return tuple(result)


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port_text = rest.lstrip(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    return host or "127.0.0.1", _int(port_text, "port") if port_text else default_port


def _node_list(value: Any, default_port: int) -> tuple[tuple[str, int], ...]:
    if isinstance(value, str):
        return _hosts(value, default_port)
    nodes = []
    for item in value:
        if isinstance(item, str):
            nodes.append(_host_port(item.strip(), default_port))
        else:
            host, port = item
            nodes.append((str(host), _int(port, "port")))
    if not nodes:
        raise InvalidArgumentError("the node list is empty")
    return tuple(nodes)


def _db(path: str, query: dict[str, str]) -> int:
    raw = path.strip("/") or query.get("db", "0")
    db = _int(raw, "DB")
    if db < 0:
        raise InvalidArgumentError("Redis DB must not be negative")
    return db


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"Redis {what} must be a number, got {value!r}") from None


def _float(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{what} must be a number, got {value!r}") from None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def _tls_query(query: dict[str, str], tls: bool) -> dict[str, Any]:
    insecure = query.get("ssl_cert_reqs", "").lower() in ("none", "insecure") or _bool(
        query.get("insecure", "") or query.get("tls_insecure", "")
    )
    return {
        "tls": tls or _bool(query.get("tls", "") or query.get("ssl", "")),
        "tls_ca_file": query.get("ssl_ca_certs") or query.get("tls_ca_file"),
        "tls_cert_file": query.get("ssl_certfile") or query.get("tls_cert_file"),
        "tls_key_file": query.get("ssl_keyfile") or query.get("tls_key_file"),
        "tls_insecure": insecure,
    }


def _common_query(query: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("socket_timeout", "socket_connect_timeout", "retry_timeout"):
        if query.get(name):
            values[name] = _float(query[name], name)
    return values


def _userinfo(username: str | None, password: str | None) -> str:
    if not username and not password:
        return ""
    user = quote(username or "", safe="")
    if password is None:
        return f"{user}@"
    return f"{user}:{quote(password, safe='')}@"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _query(query: dict[str, str]) -> str:
    return f"?{urlencode(query)}" if query else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
