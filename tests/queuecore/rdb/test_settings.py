"""Connection settings: every URL form, the settings-dict form and the environment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from queuecore.errors import InvalidArgumentError
from queuecore.rdb.settings import RedisSettings, settings_from_env

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


# ------------------------------------------------------------------------------ where they live


def test_importing_queuecore_loads_no_redis_client_code() -> None:
    # A fresh interpreter: this one has long imported redis through the other tests.
    code = (
        "import sys, queuecore; "
        "settings = queuecore.RedisSettings.from_url('redis://h:6380/1'); "
        "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith('redis.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_settings_keep_their_old_import_paths() -> None:
    import queuecore
    from queuecore.rdb import connection, failover

    assert connection.RedisSettings is RedisSettings is queuecore.RedisSettings
    assert connection.settings_from_env is settings_from_env
    assert connection.is_transient is failover.is_transient
