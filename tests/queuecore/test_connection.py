"""Connection URLs: every form parses to the settings it names, and the real ones connect."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from queuecore import Client, Task
from queuecore.errors import InvalidArgumentError, RedisUnavailableError
from queuecore.rdb.connection import RedisSettings
from tests.support.redis_server import RedisProcess, free_port, start_redis
from tests.support.tls import make_test_certificates


def test_a_redis_url_names_host_port_and_db():
    s = RedisSettings.from_url("redis://cache.internal:6380/3")
    assert (s.kind, s.host, s.port, s.db, s.tls) == ("single", "cache.internal", 6380, 3, False)
    assert (s.username, s.password, s.unix_socket_path) == (None, None, None)


def test_a_redis_url_defaults_to_port_6379_and_db_0():
    s = RedisSettings.from_url("redis://localhost")
    assert (s.host, s.port, s.db) == ("localhost", 6379, 0)


def test_a_redis_url_may_give_the_db_as_a_query_parameter():
    assert RedisSettings.from_url("redis://localhost:6379?db=4").db == 4


def test_a_redis_url_carries_an_acl_username_and_password():
    s = RedisSettings.from_url("redis://app-user:s3cr%40t@localhost:6379/1")
    assert (s.username, s.password, s.db) == ("app-user", "s3cr@t", 1)


def test_a_password_only_url_has_no_username():
    s = RedisSettings.from_url("redis://:hunter2@localhost:6379/0")
    assert (s.username, s.password) == (None, "hunter2")


def test_a_rediss_url_turns_on_tls_with_a_ca_file():
    s = RedisSettings.from_url("rediss://redis.example.com:6380/0?ssl_ca_certs=/etc/ssl/ca.pem")
    assert (s.tls, s.tls_ca_file, s.tls_insecure) == (True, "/etc/ssl/ca.pem", False)
    assert (s.host, s.port) == ("redis.example.com", 6380)


def test_a_rediss_url_can_skip_certificate_verification():
    s = RedisSettings.from_url("rediss://redis.example.com:6380/0?ssl_cert_reqs=none")
    assert (s.tls, s.tls_insecure) == (True, True)


def test_a_unix_url_names_the_socket_path_and_db():
    s = RedisSettings.from_url("unix:///var/run/redis/redis.sock?db=2")
    assert (s.kind, s.unix_socket_path, s.db) == ("single", "/var/run/redis/redis.sock", 2)


def test_a_unix_url_carries_a_password():
    s = RedisSettings.from_url("unix://:pw@/var/run/redis.sock")
    assert (s.unix_socket_path, s.password) == ("/var/run/redis.sock", "pw")


def test_a_sentinel_url_names_every_sentinel_the_master_and_the_db():
    s = RedisSettings.from_url(
        "redis-sentinel://:sentinel-pw@s1:26379,s2:26380,s3/2?master=mymaster"
    )
    assert s.kind == "sentinel"
    assert s.sentinels == (("s1", 26379), ("s2", 26380), ("s3", 26379))
    assert (s.master_name, s.db, s.sentinel_password) == ("mymaster", 2, "sentinel-pw")


def test_a_cluster_url_names_its_seed_nodes_and_db_0():
    s = RedisSettings.from_url("redis-cluster://n1:7000,n2:7001,n3")
    assert s.kind == "cluster"
    assert s.cluster_nodes == (("n1", 7000), ("n2", 7001), ("n3", 6379))
    assert s.db == 0


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "http://localhost:6379",
        "localhost:6379",
        "redis://localhost:notaport",
        "redis://localhost:6379/notadb",
        "redis://localhost:6379/-1",
        "redis://h1:6379,h2:6379/0",
        "unix://",
        "unix:///tmp/redis.sock?db=x",
        "redis-sentinel://s1:26379,s2:26379/0",
        "redis-sentinel://s1:26379?master=",
        "redis-cluster://",
        "redis-cluster://n1:7000/3",
    ],
)
def test_a_bad_url_is_an_invalid_argument(url):
    with pytest.raises(InvalidArgumentError):
        RedisSettings.from_url(url)


def test_a_bad_url_passed_to_the_client_is_an_invalid_argument():
    with pytest.raises(InvalidArgumentError):
        Client.from_url("mysql://localhost/0")


def test_display_never_shows_the_password():
    for url in (
        "redis://user:topsecret@localhost:6379/0",
        "redis-sentinel://:topsecret@s1:26379/0?master=m",
        "redis-cluster://user:topsecret@n1:7000",
        "unix://:topsecret@/tmp/r.sock",
    ):
        assert "topsecret" not in RedisSettings.from_url(url).display()


# ------------------------------------------------------------------ against real servers


def test_a_redis_url_connects_to_the_server_it_names(redis_url):
    with Client.from_url(redis_url) as client:
        assert client.ping()


def test_a_client_on_a_closed_port_reports_redis_unavailable():
    url = f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=0.5&retry_timeout=0"
    with Client.from_url(url) as client, pytest.raises(RedisUnavailableError):
        client.enqueue(Task("x"))


def test_the_db_of_the_url_is_the_db_written(redis_server, redis_client):
    other = redis.Redis(port=redis_server.port, db=5)
    try:
        other.flushdb()
        with Client.from_url(f"redis://127.0.0.1:{redis_server.port}/5") as client:
            client.enqueue(Task("x"))
        assert other.smembers("asynq:queues") == {b"default"}
        assert redis_client.exists("asynq:queues") == 0
    finally:
        other.flushdb()
        other.close()


@pytest.fixture
def acl_user(redis_client: redis.Redis) -> Iterator[tuple[str, str]]:
    redis_client.acl_setuser(
        "qc-app",
        enabled=True,
        passwords=["+s3cr@t"],
        keys=["*"],
        channels=["*"],
        commands=["+@all"],
    )
    yield "qc-app", "s3cr@t"
    redis_client.acl_deluser("qc-app")


def test_an_acl_user_from_the_url_authenticates(redis_server, acl_user, redis_client):
    user, _ = acl_user
    url = f"redis://{user}:s3cr%40t@127.0.0.1:{redis_server.port}/0"
    with Client.from_url(url) as client:
        client.enqueue(Task("x"))
        users = {c.get("user") for c in redis_client.client_list()}
    assert user in users
    assert redis_client.smembers("asynq:queues") == {b"default"}


def test_a_wrong_acl_password_is_refused(redis_server, acl_user):
    url = f"redis://qc-app:wrong@127.0.0.1:{redis_server.port}/0?retry_timeout=0"
    with Client.from_url(url) as client, pytest.raises(RedisUnavailableError):
        client.enqueue(Task("x"))


@pytest.fixture(scope="module")
def unix_redis(redis_server: RedisProcess) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="qc-sock-")) / "redis.sock"
    server = start_redis("--unixsocket", str(path), "--unixsocketperm", "700")
    yield path
    server.stop()


def test_a_unix_url_connects_through_the_socket(unix_redis):
    with Client.from_url(f"unix://{unix_redis}?db=1") as client:
        info = client.enqueue(Task("x"))
    raw = redis.Redis(unix_socket_path=str(unix_redis), db=1)
    assert raw.lrange("asynq:{default}:pending", 0, -1) == [info.id.encode()]
    raw.flushall()
    raw.close()


@pytest.fixture(scope="module")
def tls_redis(redis_server: RedisProcess) -> Iterator[tuple[int, Path]]:
    """A redis-server speaking only TLS, with a certificate signed by a throwaway CA."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="qc-tls-"))

    make_test_certificates(workdir)
    port = free_port()
    server = RedisProcess(port=port, workdir=workdir, extra_args=(
        "--tls-port", str(port), "--port", "0",
        "--tls-cert-file", str(workdir / "server.crt"),
        "--tls-key-file", str(workdir / "server.key"),
        "--tls-ca-cert-file", str(workdir / "ca.crt"),
        "--tls-auth-clients", "no",
    ))  # fmt: skip
    server.wait_ready = lambda timeout=10.0: None  # type: ignore[method-assign]
    server.start()
    settings = RedisSettings.from_url(
        f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={workdir / 'ca.crt'}"
    )
    client = settings.connect()
    for _ in range(100):  # a TLS-only server: the harness's plain-TCP readiness probe can't ask
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if server.process is not None and server.process.poll() is not None:
                pytest.skip("this redis-server was built without TLS")
            import time

            time.sleep(0.05)
    client.close()
    yield port, workdir / "ca.crt"
    server.stop()


def test_a_rediss_url_with_the_ca_file_verifies_and_connects(tls_redis):
    port, ca = tls_redis
    with Client.from_url(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}") as client:
        assert client.ping()
        client.enqueue(Task("x", b"over tls"))


def test_an_insecure_rediss_url_connects_without_the_ca(tls_redis):
    port, _ = tls_redis
    with Client.from_url(f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none") as client:
        assert client.ping()


def test_a_rediss_url_refuses_a_certificate_it_cannot_verify(tls_redis):
    port, _ = tls_redis
    url = f"rediss://127.0.0.1:{port}/0?retry_timeout=0"
    with Client.from_url(url) as client, pytest.raises(RedisUnavailableError):
        client.ping()
