"""Acknowledgements: what a handler's outcome means for its task, decided once, and the
bookkeeping of outcomes waiting to be written (asynq's handleSucceededMessage and
handleFailedMessage, spec §4.2)."""

from __future__ import annotations

import logging
from typing import Any

from queuecore.clock import Clock
from queuecore.errors import QueueCoreError, RedisUnavailableError
from queuecore.handlers import LeaseExpiredError, error_text
from queuecore.rdb.worker import AckNotFoundError, DoneEntry, WorkerBatch
from queuecore.server.config import ServerConfig
from queuecore.server.jobs import Job, ShutdownRequeue
from queuecore.server.policy import default_retry_delay, delay_seconds, failure_action

log = logging.getLogger("queuecore.server.processor")


class Ack:
    """A decided outcome waiting to be written.

    ``kind`` is done, complete, retry, archive, requeue, or drop (lease expired: write nothing).
    ``resent`` marks an ack sent before without a definite reply: it may have been applied, so a
    NOT FOUND for it is expected, not news.
    """

    __slots__ = ("error", "is_failure", "job", "kind", "resent", "retry_at")

    def __init__(
        self,
        job: Job,
        kind: str,
        error: str = "",
        retry_at: float = 0.0,
        is_failure: bool = True,
    ) -> None:
        self.job = job
        self.kind = kind
        self.error = error
        self.retry_at = retry_at
        self.is_failure = is_failure
        self.resent = False


class Decider:
    """Turns (job, error) into an Ack with the server's retry delay, failure rule and hook."""

    def __init__(self, config: ServerConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.retry_delay = config.retry_delay or default_retry_delay
        self.is_failure = config.is_failure or (lambda _error: True)

    def decide(self, job: Job, error: BaseException | None) -> Ack:
        msg = job.msg
        if error is None:
            return Ack(job, "complete" if msg.retention > 0 else "done")
        if isinstance(error, ShutdownRequeue):
            return Ack(job, "requeue")
        if isinstance(error, LeaseExpiredError):
            return Ack(job, "drop")  # Go writes nothing once the lease is invalid
        handler = self.config.error_handler
        if handler is not None:
            try:
                handler(job.task, error)
            except Exception:
                log.exception("error handler failed for task id=%s", msg.id)
        text = error_text(error)
        action = failure_action(msg.retried, msg.retry, error)
        if action != "retry":
            if action == "archive":
                log.warning("retry exhausted for task id=%s: %s", msg.id, text)
            return Ack(job, action, text)
        try:
            delay = delay_seconds(self.retry_delay(msg.retried, error, job.task))
        except Exception:
            log.exception("retry delay function failed; using asynq's default")
            delay = delay_seconds(default_retry_delay(msg.retried))
        is_failure = True
        try:
            is_failure = bool(self.is_failure(error))
        except Exception:
            log.exception("is_failure function failed; counting the error as a failure")
        return Ack(job, "retry", text, self.clock.now() + delay, is_failure)


def add_acks(
    batch: WorkerBatch, unacked: list[Ack], inflight: dict[str, Job], now: float
) -> list[tuple[int, list[Ack]]]:
    """Queue each ack's script on ``batch``: every done task of a queue in one call.

    Returns (reply index, the acks that reply answers); drops are forgotten here, unwritten.
    """
    plan: list[tuple[int, list[Ack]]] = []
    done_by_queue: dict[str, list[Ack]] = {}
    for ack in unacked:
        msg = ack.job.msg
        if ack.kind == "done":
            done_by_queue.setdefault(msg.queue, []).append(ack)
        elif ack.kind == "complete":
            plan.append((batch.mark_complete(msg, now), [ack]))
        elif ack.kind == "retry":
            index = batch.retry(msg, ack.retry_at, ack.error, is_failure=ack.is_failure, now=now)
            plan.append((index, [ack]))
        elif ack.kind == "archive":
            plan.append((batch.archive(msg, ack.error, now), [ack]))
        elif ack.kind == "requeue":
            plan.append((batch.requeue(msg), [ack]))
        else:
            inflight.pop(msg.id, None)
            log.warning("lease of task id=%s expired; leaving it to the recoverer", msg.id)
    for qname, acks in done_by_queue.items():
        entries = [DoneEntry(a.job.msg.id, a.job.msg.unique_key) for a in acks]
        plan.append((batch.done(qname, entries, now), acks))
    return plan


def settle(
    plan: list[tuple[int, list[Ack]]], results: list[Any], inflight: dict[str, Job]
) -> tuple[list[Ack], int]:
    """Read the replies of ``add_acks``'s scripts: (acks to send again, tasks acknowledged).

    An ack that met a lost link may have been applied, so it is marked ``resent``; a refusal
    (the task is not ours any more) is logged and forgotten.
    """
    unwritten: list[Ack] = []
    written = 0
    for index, acks in plan:
        result = results[index]
        errors = result if isinstance(result, list) else [result] * len(acks)
        for ack, error in zip(acks, errors, strict=True):
            if isinstance(error, RedisUnavailableError):
                ack.resent = True
                unwritten.append(ack)
                continue
            inflight.pop(ack.job.msg.id, None)
            if isinstance(error, QueueCoreError):
                log_ack_error(ack, error)
            elif ack.kind != "requeue":
                written += 1
    return unwritten, written


def mark_resent(unacked: list[Ack]) -> None:
    for ack in unacked:
        ack.resent = True


def drop_expired(unacked: list[Ack], inflight: dict[str, Job], now: float) -> None:
    """Forget outcomes whose lease ran out: the task may belong to another worker now."""
    keep = []
    for ack in unacked:
        if now < ack.job.lease_expiry:
            keep.append(ack)
        else:
            inflight.pop(ack.job.msg.id, None)
            log.warning(
                "lease of task id=%s expired before its outcome was written; "
                "leaving it to the recoverer",
                ack.job.msg.id,
            )
    unacked[:] = keep


def log_ack_error(ack: Ack, error: QueueCoreError) -> None:
    if isinstance(error, AckNotFoundError) and ack.resent:
        # Most likely our earlier send was applied and only its reply was lost.
        log.debug(
            "re-sent %s of task id=%s queue=%s found nothing to do: %s",
            ack.kind,
            ack.job.msg.id,
            ack.job.msg.queue,
            error.detail,
        )
    elif isinstance(error, AckNotFoundError):
        log.warning(
            "could not %s task id=%s queue=%s: %s (another worker or the recoverer has it)",
            ack.kind,
            ack.job.msg.id,
            ack.job.msg.queue,
            error.detail,
        )
    else:
        log.error("could not %s task id=%s: %s", ack.kind, ack.job.msg.id, error)
