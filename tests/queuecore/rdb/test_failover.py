"""Which Redis errors are retried, for how long, and the client each kind of deployment opens."""

from __future__ import annotations

import pytest
import redis

from queuecore.errors import RedisUnavailableError
from queuecore.rdb.failover import FailoverRetry, is_transient
from queuecore.rdb.settings import RedisSettings
from tests.support.redis_server import free_port

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
