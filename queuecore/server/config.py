"""ServerConfig: everything a worker server can be told, with asynq's defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from queuecore.errors import InvalidArgumentError
from queuecore.server.policy import normalize_queues

if TYPE_CHECKING:
    from queuecore.handlers import HandlerTask

RetryDelayFunc = Callable[[int, BaseException, "HandlerTask | None"], timedelta | float]
IsFailureFunc = Callable[[BaseException], bool]
ErrorHandlerFunc = Callable[["HandlerTask", BaseException], None]
# (group name, the member tasks) -> the task to enqueue; members and result are queuecore Tasks.
GroupAggregatorFunc = Callable[[str, list[Any]], Any]


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    # Queue name -> priority. Priorities <= 0 are dropped; empty means {"default": 1} (asynq).
    queues: Mapping[str, int] = field(default_factory=lambda: {"default": 1})
    # Handlers running at once (asynq defaults to the CPU count; 10 suits I/O-bound handlers).
    concurrency: int = 10
    # True: always drain higher-priority queues first; False: weighted random order per claim.
    strict_priority: bool = False
    # Seconds in-flight handlers get to finish after a stop request before they are requeued.
    shutdown_timeout: float = 8.0
    # Server/worker info refresh and lease extension period (asynq: 5 s; info TTL is twice it).
    heartbeat_interval: float = 5.0
    # Lease length written by dequeue and by each extension (asynq: 30 s, whole seconds).
    lease_duration: int = 30
    # Due scheduled/retry tasks are forwarded this often (asynq's DelayedTaskCheckInterval).
    forwarder_interval: float = 5.0
    # Lease-expired tasks and stale aggregation sets are recovered this often (asynq: 1 min).
    recoverer_interval: float = 60.0
    # A lease counts as expired only this long after its expiry, for clock skew (asynq: 30 s).
    recoverer_cutoff: float = 30.0
    # Expired completed tasks are deleted this often, in batches (asynq: 8 s, 100).
    janitor_interval: float = 8.0
    janitor_batch_size: int = 100
    # Re-check of the queues when idle, a safety net under the blocking wake-up (asynq: 1 s).
    idle_poll_interval: float = 1.0
    # Wake on new pending tasks with a blocking BLMOVE of the list onto itself (no state change);
    # False falls back to polling every idle_poll_interval like Go.
    block_for_tasks: bool = True
    # Re-subscribe to asynq:cancel after a failure this often (asynq: 5 s).
    subscriber_retry_interval: float = 5.0
    # Group aggregation (asynq's GroupAggregator and its knobs); None disables the aggregator.
    group_aggregator: GroupAggregatorFunc | None = None
    group_grace_period: float = 60.0
    group_max_delay: float = 0.0
    group_max_size: int = 0
    # Aggregation check period; None = min(7 s, grace period) as asynq.
    aggregator_interval: float | None = None
    # (retried, error, task) -> delay; None = asynq's n⁴ + 15 + rand[0,30)·(n+1) s.
    retry_delay: RetryDelayFunc | None = None
    # Whether an error counts as a failure (retried += 1, failed counters); None = always.
    is_failure: IsFailureFunc | None = None
    # Called with every failure before it is retried/archived (asynq's ErrorHandler).
    error_handler: ErrorHandlerFunc | None = None
    # Most tasks claimed per Redis call; None = the free slots (at most concurrency).
    claim_batch: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "queues", normalize_queues(self.queues))
        if self.concurrency < 1:
            raise InvalidArgumentError("concurrency must be at least 1")
        if self.shutdown_timeout < 0:
            raise InvalidArgumentError("shutdown_timeout must not be negative")
        if self.lease_duration < 2 or int(self.lease_duration) != self.lease_duration:
            raise InvalidArgumentError("lease_duration must be a whole number of seconds >= 2")
        if self.group_grace_period < 1:
            raise InvalidArgumentError("group_grace_period must be at least 1 second (asynq)")
        for name in (
            "heartbeat_interval",
            "forwarder_interval",
            "recoverer_interval",
            "janitor_interval",
            "idle_poll_interval",
            "subscriber_retry_interval",
        ):
            if getattr(self, name) <= 0:
                raise InvalidArgumentError(f"{name} must be positive")
        if self.janitor_batch_size < 1:
            raise InvalidArgumentError("janitor_batch_size must be at least 1")

    @property
    def aggregator_tick(self) -> float:
        if self.aggregator_interval is not None:
            return self.aggregator_interval
        return min(7.0, self.group_grace_period)
