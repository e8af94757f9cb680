"""Real servers reached over TLS, a unix socket and with an ACL user, and one stopped."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from queuecore.errors import RedisUnavailableError
from queuecore.rdb.base import RedisStore
from queuecore.rdb.settings import RedisSettings
from tests.support.redis_server import RedisProcess, free_port, redis_server_binary, start_redis
from tests.support.tls import make_test_certificates

# ------------------------------------------------------------------------------ real servers


def _require_redis() -> None:
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")


@pytest.fixture(scope="module")
def acl_unix_server() -> Iterator[tuple[RedisProcess, str]]:
    _require_redis()
    sock = Path(tempfile.mkdtemp(prefix="qc-sock-")) / "redis.sock"
    server = start_redis("--unixsocket", str(sock), "--unixsocketperm", "700")
    admin = redis.Redis(port=server.port)
    admin.acl_setuser(
        "alice", enabled=True, passwords=["+wonderland"], keys=["*"], commands=["+@all"]
    )
    admin.close()
    yield server, str(sock)
    server.stop()
    shutil.rmtree(sock.parent, ignore_errors=True)


def test_acl_username_and_password_log_in_as_that_user(
    acl_unix_server: tuple[RedisProcess, str],
) -> None:
    server, _ = acl_unix_server
    client = RedisSettings.from_url(f"redis://alice:wonderland@127.0.0.1:{server.port}/0").connect()
    assert client.acl_whoami() in ("alice", b"alice")
    client.close()


def test_wrong_acl_password_fails_at_once_as_redis_unavailable(
    acl_unix_server: tuple[RedisProcess, str],
) -> None:
    server, _ = acl_unix_server
    store = RedisStore.from_url(f"redis://alice:nope@127.0.0.1:{server.port}/0?retry_timeout=30")
    # Authentication errors are not retried: this returns long before the 30 s retry budget.
    with pytest.raises(RedisUnavailableError, match="password"):
        store.ping()


def test_unix_socket_url_reaches_the_server(acl_unix_server: tuple[RedisProcess, str]) -> None:
    _, sock = acl_unix_server
    client = RedisSettings.from_url(f"unix://alice:wonderland@{sock}?db=1").connect()
    client.set("qc:probe", "1")
    assert client.get("qc:probe") == b"1"
    assert client.connection_pool.connection_kwargs["db"] == 1
    client.close()


def test_stopped_server_fails_as_redis_unavailable_within_the_retry_budget() -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0?retry_timeout=0.2")
    with pytest.raises(RedisUnavailableError):
        store.ping()


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[int, Path]]:
    _require_redis()
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")
    certs = Path(tempfile.mkdtemp(prefix="qc-tls-"))
    made = make_test_certificates(certs)
    tls_port = free_port()
    server = start_redis(
        "--tls-port", str(tls_port),
        "--tls-cert-file", str(made.cert),
        "--tls-key-file", str(made.key),
        "--tls-ca-cert-file", str(made.ca),
        "--tls-auth-clients", "no",
    )  # fmt: skip
    yield tls_port, certs
    server.stop()
    shutil.rmtree(certs, ignore_errors=True)


def test_rediss_url_with_the_ca_file_verifies_the_server(tls_server: tuple[int, Path]) -> None:
    port, certs = tls_server
    store = RedisStore.from_url(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={certs / 'ca.crt'}")
    assert store.ping()


def test_rediss_url_without_the_ca_file_is_refused(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    store = RedisStore.from_url(f"rediss://127.0.0.1:{port}/0?retry_timeout=0.2")
    with pytest.raises(RedisUnavailableError):
        store.ping()


def test_rediss_url_marked_insecure_skips_verification(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    store = RedisStore.from_url(f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none")
    assert store.ping()
