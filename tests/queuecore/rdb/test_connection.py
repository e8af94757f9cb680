"""Connection settings: every URL form, the settings-dict form, the environment, and real servers
reached over TLS, a unix socket and with an ACL user."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from queuecore.errors import InvalidArgumentError, RedisUnavailableError
from queuecore.rdb.base import RedisStore
from queuecore.rdb.connection import (
    FailoverRetry,
    RedisSettings,
    is_transient,
    settings_from_env,
)
from tests.support.redis_server import RedisProcess, free_port, redis_server_binary, start_redis
from tests.support.tls import make_test_certificates

# ------------------------------------------------------------------------------ URL forms


def test_redis_url_carries_acl_user_password_and_db() -> None:
    settings = RedisSettings.from_url("redis://alice:s%40cret@cache.example:6380/3")
    assert (settings.kind, settings.host, settings.port, settings.db) == (
        "single",
        "cache.example",
        6380,
        3,
    )
    assert (settings.username, settings.password) == ("alice", "s@cret")
    assert not settings.tls


def test_redis_url_with_only_a_password_has_no_username() -> None:
    settings = RedisSettings.from_url("redis://:pw@localhost")
    assert (settings.username, settings.password, settings.port) == (None, "pw", 6379)


def test_rediss_url_turns_tls_on_with_a_ca_file() -> None:
    settings = RedisSettings.from_url("rediss://h:6390/0?ssl_ca_certs=/etc/ca.pem")
    assert settings.tls
    assert settings.tls_ca_file == "/etc/ca.pem"
    assert not settings.tls_insecure


@pytest.mark.parametrize(
    "query", ["ssl_cert_reqs=none", "insecure=true", "tls_insecure=1", "ssl_cert_reqs=insecure"]
)
def test_rediss_url_accepts_every_spelling_of_insecure(query: str) -> None:
    assert RedisSettings.from_url(f"rediss://h:6390/0?{query}").tls_insecure


def test_unix_url_reads_the_socket_path_and_db() -> None:
    settings = RedisSettings.from_url("unix://:pw@/run/redis/redis.sock?db=2")
    assert settings.unix_socket_path == "/run/redis/redis.sock"
    assert (settings.db, settings.password) == (2, "pw")


def test_sentinel_url_gives_master_name_sentinels_db_and_sentinel_password() -> None:
    settings = RedisSettings.from_url(
        "redis-sentinel://:sentpw@s1:26379,s2:26380,s3/4?master=mymaster&password=datapw"
    )
    assert settings.kind == "sentinel"
    assert settings.sentinels == (("s1", 26379), ("s2", 26380), ("s3", 26379))
    assert (settings.master_name, settings.db) == ("mymaster", 4)
    # As in asynq, the URL's password is the sentinels'; the data nodes' is a query option.
    assert (settings.sentinel_password, settings.password) == ("sentpw", "datapw")


def test_sentinel_url_without_a_master_name_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="master"):
        RedisSettings.from_url("redis-sentinel://s1:26379")


def test_cluster_url_lists_the_seed_nodes() -> None:
    settings = RedisSettings.from_url("redis-cluster://u:p@n1:7000,n2:7001,[::1]:7002")
    assert settings.kind == "cluster"
    assert settings.cluster_nodes == (("n1", 7000), ("n2", 7001), ("::1", 7002))
    assert (settings.username, settings.password, settings.db) == ("u", "p", 0)


def test_rediss_cluster_url_turns_tls_on() -> None:
    assert RedisSettings.from_url("rediss-cluster://n1:7000?ssl_cert_reqs=none").tls


def test_cluster_url_with_a_db_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="DB 0"):
        RedisSettings.from_url("redis-cluster://n1:7000/2")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://localhost",
        "redis://a:1,b:2",
        "redis://localhost/x",
        "redis://localhost/-1",
        "redis://localhost:notaport",
        "redis://localhost?retry_timeout=soon",
    ],
)
def test_bad_urls_are_refused_with_a_clear_error(url: str) -> None:
    with pytest.raises(InvalidArgumentError):
        RedisSettings.from_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://alice:p%40ss%3Aword@db.example:6380/5?socket_timeout=3&retry_timeout=0.5",
        "rediss://h:6390/1?ssl_ca_certs=%2Fetc%2Fca.pem&ssl_cert_reqs=none",
        "unix://u:pw@/tmp/redis.sock?db=3",
        "redis-sentinel://:sp@s1:26379,s2:26380/2?master=m&username=u&password=p&tls=true",
        "redis-cluster://u:p@n1:7000,n2:7001",
        "rediss-cluster://n1:7000?ssl_ca_certs=ca.pem",
    ],
)
def test_to_url_round_trips_every_form(url: str) -> None:
    settings = RedisSettings.from_url(url)
    assert RedisSettings.from_url(settings.to_url()) == settings


def test_display_never_shows_a_password() -> None:
    for url in (
        "redis://u:topsecret@h/0",
        "redis-sentinel://:topsecret@s:26379?master=m&password=topsecret",
        "redis-cluster://u:topsecret@n:7000",
        "unix://:topsecret@/tmp/r.sock",
    ):
        assert "topsecret" not in RedisSettings.from_url(url).display()


# ------------------------------------------------------------------------------ dict and env


def test_settings_dict_builds_a_single_server_connection() -> None:
    settings = RedisSettings.from_mapping(
        {"HOST": "db", "PORT": "6380", "DB": 2, "USERNAME": "u", "PASSWORD": "p", "TLS": "true"}
    )
    assert (settings.host, settings.port, settings.db, settings.tls) == ("db", 6380, 2, True)
    assert (settings.username, settings.password) == ("u", "p")


def test_settings_dict_with_sentinels_implies_a_sentinel_connection() -> None:
    settings = RedisSettings.from_mapping(
        {
            "SENTINELS": ["s1:26379", ("s2", 26380)],
            "MASTER_NAME": "mymaster",
            "SENTINEL_PASSWORD": "sp",
            "DB": 1,
        }
    )
    assert settings.kind == "sentinel"
    assert settings.sentinels == (("s1", 26379), ("s2", 26380))
    assert (settings.master_name, settings.sentinel_password, settings.db) == ("mymaster", "sp", 1)


def test_settings_dict_with_cluster_nodes_implies_a_cluster_connection() -> None:
    settings = RedisSettings.from_mapping({"cluster_nodes": "n1:7000,n2:7001", "password": "p"})
    assert settings.kind == "cluster"
    assert settings.cluster_nodes == (("n1", 7000), ("n2", 7001))


def test_settings_dict_keys_override_its_url() -> None:
    settings = RedisSettings.from_mapping({"URL": "redis://h:6379/1", "DB": 4, "PASSWORD": "p"})
    assert (settings.host, settings.db, settings.password) == ("h", 4, "p")


def test_settings_dict_with_an_unknown_key_names_the_allowed_ones() -> None:
    with pytest.raises(InvalidArgumentError, match="MASTER_NAME"):
        RedisSettings.from_mapping({"MASTER": "m"})


def test_settings_dict_sentinel_without_master_name_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="master name"):
        RedisSettings.from_mapping({"SENTINELS": ["s:26379"]})


def test_coerce_accepts_settings_urls_and_dicts() -> None:
    settings = RedisSettings.from_url("redis://h:1/0")
    assert RedisSettings.coerce(settings) is settings
    assert RedisSettings.coerce("redis://h:1/0") == settings
    assert RedisSettings.coerce({"host": "h", "port": 1}) == settings
    with pytest.raises(InvalidArgumentError):
        RedisSettings.coerce(42)  # type: ignore[arg-type]


def test_settings_from_env_reads_redis_url() -> None:
    assert settings_from_env({}) is None
    assert settings_from_env({"REDIS_URL": "  "}) is None
    found = settings_from_env({"REDIS_URL": "redis-cluster://n1:7000"})
    assert found is not None
    assert found.kind == "cluster"


def test_django_setting_accepts_the_redis_settings_dict(settings: object) -> None:
    from queuecore.contrib.django.conf import redis_url

    settings.QUEUECORE = {  # type: ignore[attr-defined]
        "REDIS_URL": "redis://ignored:6379/0",
        "REDIS": {"SENTINELS": ["s1:26379"], "MASTER_NAME": "m", "DB": 3},
    }
    parsed = RedisSettings.from_url(redis_url())
    assert (parsed.kind, parsed.master_name, parsed.db) == ("sentinel", "m", 3)


def test_django_setting_falls_back_to_redis_url(settings: object) -> None:
    from queuecore.contrib.django.conf import redis_url

    settings.QUEUECORE = {"REDIS_URL": "redis://h:6379/2"}  # type: ignore[attr-defined]
    assert redis_url() == "redis://h:6379/2"


# ------------------------------------------------------------------------------ retry policy


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (redis.ConnectionError("refused"), True),
        (redis.TimeoutError("slow"), True),
        (redis.ReadOnlyError("You can't write against a read only replica."), False),
        (redis.ResponseError("READONLY You can't write against a read only replica."), True),
        (redis.ResponseError("NOREPLICAS Not enough good replicas to write."), True),
        (redis.ResponseError("LOADING Redis is loading the dataset in memory"), True),
        (redis.ResponseError("WRONGTYPE Operation against a key"), False),
        (redis.exceptions.NoScriptError("No matching script."), False),
        (redis.AuthenticationError("invalid username-password pair"), False),
    ],
)
def test_only_failover_and_connection_errors_are_retried(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_parsed_readonly_reply_is_retried() -> None:
    # redis-py parses "READONLY ..." into ReadOnlyError and keeps the code as status_code.
    error = redis.ReadOnlyError("You can't write", status_code="READONLY")
    assert is_transient(error)


def test_failover_retry_gives_up_after_its_time_budget() -> None:
    attempts: list[int] = []

    def always_refused() -> None:
        attempts.append(1)
        raise redis.ConnectionError("refused")

    with pytest.raises(redis.ConnectionError):
        FailoverRetry(0.05, base=0.001, cap=0.01).call_with_retry(always_refused, lambda e: None)
    assert len(attempts) >= 2


def test_a_timed_out_call_is_not_retried_when_a_whole_attempt_no_longer_fits_the_budget() -> None:
    attempts: list[int] = []

    def hung() -> None:
        attempts.append(1)
        raise redis.TimeoutError("Timeout reading from 127.0.0.1:6379")

    with pytest.raises(redis.TimeoutError):
        FailoverRetry(2, attempt_timeout=5).call_with_retry(hung, lambda e: None)
    assert attempts == [1]
    attempts.clear()
    with pytest.raises(redis.TimeoutError):
        FailoverRetry(0.05, attempt_timeout=0.001, base=0.001, cap=0.01).call_with_retry(
            hung, lambda e: None
        )
    assert len(attempts) >= 2


def test_the_retry_policy_knows_the_socket_timeout() -> None:
    conf = RedisSettings.from_url("redis://127.0.0.1:6379/0?socket_timeout=1.5")
    assert conf.retry_policy() == FailoverRetry(2.0, attempt_timeout=1.5)
    assert RedisSettings().socket_timeout == 5.0
    assert RedisSettings().socket_connect_timeout == 3.0


def test_failover_retry_returns_once_the_node_answers() -> None:
    replies = iter([redis.ResponseError("NOREPLICAS Not enough good replicas to write."), "OK"])

    def flaky() -> str:
        reply = next(replies)
        if isinstance(reply, Exception):
            raise reply
        return reply

    assert FailoverRetry(5, base=0.001).call_with_retry(flaky, lambda e: None) == "OK"


def test_failover_retry_raises_other_errors_at_once() -> None:
    calls: list[int] = []

    def wrong_type() -> None:
        calls.append(1)
        raise redis.ResponseError("WRONGTYPE Operation against a key")

    with pytest.raises(redis.ResponseError):
        FailoverRetry(5).call_with_retry(wrong_type, lambda e: None)
    assert calls == [1]


def test_each_kind_opens_its_own_client_class() -> None:
    assert isinstance(RedisSettings.from_url("redis://h/0").connect(), redis.Redis)
    assert isinstance(RedisSettings.from_url("unix:///tmp/x.sock").connect(), redis.Redis)
    sentinel = RedisSettings.from_url("redis-sentinel://s:26379?master=m").connect()
    assert type(sentinel.connection_pool).__name__ == "SentinelConnectionPool"


def test_cluster_client_with_no_reachable_seed_fails_as_redis_unavailable() -> None:
    settings = RedisSettings.from_url(
        f"redis-cluster://127.0.0.1:{free_port()}?socket_connect_timeout=0.2"
    )
    # A cluster client reads the slot map when it is created, so an unreachable seed fails now.
    with pytest.raises(RedisUnavailableError):
        settings.connect()


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
