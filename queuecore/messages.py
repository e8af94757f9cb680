"""asynq's protobuf messages and the conversions around them.

The classes come from ``proto/asynq.proto`` (generated into ``proto/asynq_pb2.py`` by
``scripts/genproto``). Python's protobuf runtime keeps unknown fields on decode → encode, which
asynq needs: a retry re-encodes the whole message (spec §3.2).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from queuecore.errors import MalformedDataError
from queuecore.proto.asynq_pb2 import (
    SchedulerEnqueueEvent,
    SchedulerEntry,
    ServerInfo,
    TaskMessage,
    WorkerInfo,
)

__all__ = [
    "GO_ZERO_TIME_SECONDS",
    "SchedulerEnqueueEvent",
    "SchedulerEntry",
    "ServerInfo",
    "TaskMessage",
    "WorkerInfo",
    "decode_task_message",
    "encode_task_message",
    "timestamp_from_datetime",
    "timestamp_to_datetime",
]

# Go's zero time.Time (0001-01-01T00:00:00Z); asynq encodes it explicitly for never-run entries.
GO_ZERO_TIME_SECONDS = -62135596800


def encode_task_message(msg: TaskMessage) -> bytes:
    # Deterministic map ordering keeps re-encodes stable for tests; asynq never compares bytes.
    return msg.SerializeToString(deterministic=True)


def decode_task_message(data: bytes | None, *, key: str = "") -> TaskMessage:
    """Decode a stored ``msg``; anything that is not a TaskMessage is a MalformedDataError."""
    if data is None:
        raise MalformedDataError(key, "task hash has no msg field")
    msg = TaskMessage()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise MalformedDataError(key, f"undecodable task message: {exc}") from exc
    return msg


def timestamp_from_datetime(when: datetime | None) -> Timestamp:
    ts = Timestamp()
    if when is None:
        ts.seconds = GO_ZERO_TIME_SECONDS
        return ts
    ts.FromDatetime(when.astimezone(UTC))
    return ts


def timestamp_to_datetime(ts: Timestamp) -> datetime | None:
    """Go's zero time (and anything before 1970 that asynq never writes) reads as None."""
    if ts.seconds <= 0 and ts.nanos == 0:
        return None
    # Whole seconds plus whole microseconds (nanoseconds cut, as Go's own formatting to µs), not
    # one float: a float sum rounds either way, so start and start + timeout could differ by 1 µs.
    return datetime.fromtimestamp(ts.seconds, UTC) + timedelta(microseconds=ts.nanos // 1000)
