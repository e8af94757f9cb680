"""Redis clients that ride out failovers: which errors are worth retrying, and how.

A Sentinel failover, a loading replica or a cluster reconfiguring answers with errors that did
not run the command; the clients here send it again until a deadline instead of failing the
caller. ``RedisSettings.connect`` (``queuecore.rdb.settings``) picks the client for a deployment.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ClusterDownError,
    ResponseError,
    TryAgainError,
)
from redis.retry import Retry

from queuecore.rdb.wire import NamePacker

RedisClient = redis.Redis | RedisCluster

T = TypeVar("T")

# Error replies that mean "this node cannot take the command right now, another one soon will":
# a demoted primary (READONLY), a primary that lost its replicas (NOREPLICAS, with
# min-replicas-to-write), a node still loading its data set (LOADING), a replica cut off from its
# primary (MASTERDOWN), a cluster reconfiguring (CLUSTERDOWN, TRYAGAIN). None of them ran the
# command, so sending it again is safe.
TRANSIENT_REPLY_PREFIXES = (
    "READONLY",
    "NOREPLICAS",
    "LOADING",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "TRYAGAIN",
)


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is worth retrying on a fresh connection (see TRANSIENT_REPLY_PREFIXES)."""
    if isinstance(error, AuthenticationError | AuthorizationError):
        return False
    if isinstance(error, redis.ConnectionError | redis.TimeoutError | socket.timeout):
        return True
    if isinstance(error, ClusterDownError | TryAgainError):  # MASTERDOWN derives from the first
        return True
    if isinstance(error, ResponseError):
        status = getattr(error, "status_code", None) or ""
        text = f"{status} {error}".strip() if status else str(error)
        # redis-py prefixes a pipeline's first error with "Command # n (...) of pipeline".
        text = text.rpartition(" caused error: ")[2]
        return text.startswith(TRANSIENT_REPLY_PREFIXES)
    return False


class FailoverPipeline(redis.client.Pipeline):
    """A pipeline that sends again the commands a node refused for a transient reason.

    redis-py retries a pipeline only when the connection fails. A primary that lost its replica
    (NOREPLICAS, with ``min-replicas-to-write``) or a demoted one (READONLY) answers each write
    with an error reply instead; those commands did not run. This pipeline re-sends exactly them
    on a fresh connection — which, under Sentinel, asks the sentinels for the current primary —
    with backoff, for up to the client's ``retry_timeout`` seconds. Commands still refused then
    are reported as connection errors (the stores turn them into RedisUnavailableError).
    A transaction (MULTI/EXEC) is all or nothing, so it is sent again whole.
    """

    retry_timeout: float = 2.0

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack = list(self.command_stack)
        scripts = set(self.scripts)
        # ``transaction`` is an instance attribute shadowing Redis.transaction(), hence vars().
        if vars(self).get("transaction") or self.explicit_transaction or self.watching:
            return self._execute_transaction_again(stack, scripts, raise_on_error)
        replies: list[Any] = [None] * len(stack)
        todo = list(range(len(stack)))
        deadline = time.monotonic() + self.retry_timeout
        backoff = ExponentialWithJitterBackoff(base=0.05, cap=1.0)
        failures = 0
        while True:
            self.command_stack = [stack[i] for i in todo]
            self.scripts = scripts
            results = super().execute(raise_on_error=False)
            again = []
            for index, result in zip(todo, results, strict=True):
                replies[index] = result
                if isinstance(result, Exception) and is_transient(result):
                    again.append(index)
            if not again:
                break
            if time.monotonic() >= deadline:
                for index in again:
                    replies[index] = redis.ConnectionError(str(replies[index]))
                break
            failures += 1
            # Drop pooled connections so the next attempt finds the node that now takes writes.
            self.connection_pool.disconnect(inuse_connections=False)
            time.sleep(min(backoff.compute(failures), max(deadline - time.monotonic(), 0.0)))
            todo = again
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
        return replies

    def _execute_transaction_again(
        self, stack: list[Any], scripts: set[Any], raise_on_error: bool
    ) -> list[Any]:
        deadline = time.monotonic() + self.retry_timeout
        backoff = ExponentialWithJitterBackoff(base=0.05, cap=1.0)
        failures = 0
        while True:
            self.command_stack = list(stack)
            self.scripts = set(scripts)
            try:
                return list(super().execute(raise_on_error=raise_on_error))
            except ResponseError as exc:
                if not is_transient(exc) or time.monotonic() >= deadline:
                    raise
            failures += 1
            self.connection_pool.disconnect(inuse_connections=False)
            time.sleep(min(backoff.compute(failures), max(deadline - time.monotonic(), 0.0)))


class FailoverRedis(redis.Redis):
    """A ``redis.Redis`` whose pipelines are :class:`FailoverPipeline` s."""

    retry_timeout: float = 2.0

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> FailoverPipeline:
        pipe = FailoverPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.retry_timeout = self.retry_timeout
        return pipe


class FailoverRetry(Retry):
    """redis-py's retry policy, bounded by time rather than by count, covering failover replies.

    redis-py calls this around every command (and every connect): on a retryable error it
    disconnects the connection, so the next attempt reconnects — for Sentinel that means asking
    the sentinels for the current primary again — then backs off with jitter until ``timeout``
    seconds have passed since the call began. After a timeout (a Redis that hangs rather than
    refuses) another attempt is made only if a whole ``attempt_timeout`` still fits in that
    budget, so a call never waits much longer than ``max(timeout, attempt_timeout)``.
    """

    def __init__(
        self,
        timeout: float,
        *,
        attempt_timeout: float = 0.0,
        base: float = 0.05,
        cap: float = 1.0,
    ) -> None:
        super().__init__(
            ExponentialWithJitterBackoff(base=base, cap=cap),
            retries=1_000_000,
            supported_errors=(
                redis.ConnectionError,
                redis.TimeoutError,
                socket.timeout,
                ResponseError,
            ),
        )
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FailoverRetry)
            and other.timeout == self.timeout
            and other.attempt_timeout == self.attempt_timeout
        )

    __hash__ = Retry.__hash__

    def call_with_retry(  # type: ignore[override]
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        self._backoff.reset()
        failures = 0
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return do()
            except self._supported_errors as error:
                if not is_transient(error) or (is_retryable and not is_retryable(error)):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                now = time.monotonic()
                hung = isinstance(error, redis.TimeoutError | socket.timeout)
                if now + (self.attempt_timeout if hung else 0.0) >= deadline:
                    raise error
                time.sleep(min(self._backoff.compute(failures), max(deadline - now, 0.0)))


def packing_names(client: FailoverRedis) -> FailoverRedis:
    """``client``, its connections packing names that are not UTF-8 (wire.NamePacker)."""
    client.connection_pool.connection_kwargs["command_packer"] = NamePacker()
    return client
