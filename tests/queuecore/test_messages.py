"""Wire encoding of asynq's messages: the §3.5 test vector, unknown fields, Go's zero time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from queuecore import keys
from queuecore.errors import MalformedDataError
from queuecore.messages import (
    GO_ZERO_TIME_SECONDS,
    SchedulerEntry,
    TaskMessage,
    decode_task_message,
    encode_task_message,
    timestamp_from_datetime,
    timestamp_to_datetime,
)

# Spec §3.5, reproduced byte-for-byte by a Go v0.26.0 client.
VECTOR_HEX = (
    "0a0a656d61696c3a73656e64120e7b22757365725f6964223a34327d1a2430623765396331652d336637612d"
    "346432622d396331642d326136663565386234633364220764656661756c74281940880e"
)
HEADERS_SUFFIX_HEX = "7a0c0a0574726163651203616263"
VECTOR_UNIQUE_KEY = "asynq:{default}:unique:email:send:1181f89307fa271072c095747d5813cc"


def vector_message() -> TaskMessage:
    return TaskMessage(
        type="email:send",
        payload=b'{"user_id":42}',
        id="0b7e9c1e-3f7a-4d2b-9c1d-2a6f5e8b4c3d",
        queue="default",
        retry=25,
        timeout=1800,
    )


def test_the_spec_test_vector_encodes_to_the_80_bytes_go_produces():
    encoded = encode_task_message(vector_message())
    assert len(encoded) == 80
    assert encoded.hex() == VECTOR_HEX


def test_one_header_appends_exactly_the_field_15_map_entry():
    msg = vector_message()
    msg.headers["trace"] = "abc"
    assert encode_task_message(msg).hex() == VECTOR_HEX + HEADERS_SUFFIX_HEX


def test_the_test_vector_unique_key_is_the_md5_of_its_payload():
    msg = vector_message()
    assert keys.unique_key(msg.queue, msg.type, msg.payload) == VECTOR_UNIQUE_KEY


def test_the_test_vector_decodes_to_its_fields():
    msg = decode_task_message(bytes.fromhex(VECTOR_HEX + HEADERS_SUFFIX_HEX))
    assert (msg.type, msg.payload, msg.id, msg.queue) == (
        "email:send",
        b'{"user_id":42}',
        "0b7e9c1e-3f7a-4d2b-9c1d-2a6f5e8b4c3d",
        "default",
    )
    assert (msg.retry, msg.retried, msg.timeout, msg.deadline) == (25, 0, 1800, 0)
    assert dict(msg.headers) == {"trace": "abc"}


# Field 16 (unknown to asynq v0.26): a varint 5 and a length-delimited "future".
UNKNOWN_VARINT = bytes([16 << 3 | 0, 0x01, 0x05])
UNKNOWN_BYTES = bytes([16 << 3 | 2, 0x01, 6]) + b"future"


@pytest.mark.parametrize("unknown", [UNKNOWN_VARINT, UNKNOWN_BYTES], ids=["varint", "bytes"])
def test_an_unknown_field_survives_decode_and_re_encode(unknown):
    stored = bytes.fromhex(VECTOR_HEX) + unknown
    assert encode_task_message(decode_task_message(stored)) == stored


def test_an_unknown_field_survives_a_retry_style_rewrite_of_known_fields():
    stored = bytes.fromhex(VECTOR_HEX) + UNKNOWN_BYTES
    msg = decode_task_message(stored)
    msg.retried += 1
    msg.error_msg = "boom"
    msg.last_failed_at = 1795620995
    rewritten = encode_task_message(msg)
    assert UNKNOWN_BYTES in rewritten
    again = decode_task_message(rewritten)
    assert (again.retried, again.error_msg, again.last_failed_at) == (1, "boom", 1795620995)
    assert encode_task_message(again) == rewritten


def test_headers_written_by_a_v026_client_survive_an_old_style_re_encode():
    # An old schema without field 15 keeps it as unknown; ours knows it. Either way it stays.
    stored = bytes.fromhex(VECTOR_HEX + HEADERS_SUFFIX_HEX)
    msg = decode_task_message(stored)
    msg.retried = 3
    assert dict(decode_task_message(encode_task_message(msg)).headers) == {"trace": "abc"}


def test_zero_fields_are_omitted_from_the_wire():
    assert encode_task_message(TaskMessage()) == b""
    assert encode_task_message(TaskMessage(type="x", retry=0, deadline=0)) == b"\x0a\x01x"


@pytest.mark.parametrize("data", [None, b"\xff\xff\xff", b"\x0a\x09short"])
def test_a_stored_msg_that_is_not_a_task_message_is_malformed_data(data):
    with pytest.raises(MalformedDataError) as caught:
        decode_task_message(data, key="asynq:{default}:t:x")
    assert caught.value.key == "asynq:{default}:t:x"


def test_go_zero_time_reads_as_no_time():
    ts = Timestamp(seconds=GO_ZERO_TIME_SECONDS, nanos=0)
    assert timestamp_to_datetime(ts) is None


def test_no_time_encodes_as_go_zero_time_explicitly():
    ts = timestamp_from_datetime(None)
    assert (ts.seconds, ts.nanos) == (GO_ZERO_TIME_SECONDS, 0)
    entry = SchedulerEntry(id="e", prev_enqueue_time=ts)
    # Encoded explicitly (a Timestamp submessage), never omitted, as Go does for a never-run entry.
    assert SchedulerEntry.FromString(entry.SerializeToString()).HasField("prev_enqueue_time")


def test_timestamps_round_trip_with_nanoseconds():
    when = datetime(2026, 11, 25, 15, 40, 0, 1483, tzinfo=UTC)
    ts = timestamp_from_datetime(when)
    assert (ts.seconds, ts.nanos) == (1795621200, 1_483_000)
    assert timestamp_to_datetime(ts) == when
