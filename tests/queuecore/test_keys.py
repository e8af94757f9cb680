"""Golden strings of every key function: the layout is the protocol (spec §2)."""

from __future__ import annotations

import inspect

import pytest

from queuecore import keys

# Every public function of queuecore.keys, called with sample arguments, and the exact string
# Go asynq v0.26 builds for the same arguments.
GOLDEN = {
    "queue_key_prefix": (("default",), "asynq:{default}:"),
    "task_key_prefix": (("default",), "asynq:{default}:t:"),
    "task_key": (("default", "0b7e9c1e"), "asynq:{default}:t:0b7e9c1e"),
    "pending_key": (("default",), "asynq:{default}:pending"),
    "active_key": (("default",), "asynq:{default}:active"),
    "scheduled_key": (("default",), "asynq:{default}:scheduled"),
    "retry_key": (("default",), "asynq:{default}:retry"),
    "archived_key": (("default",), "asynq:{default}:archived"),
    "lease_key": (("default",), "asynq:{default}:lease"),
    # Read only by the layout check, to recognise data of older asynq versions.
    "legacy_queue_key": (("default",), "asynq:{default}"),
    "deadlines_key": (("default",), "asynq:{default}:deadlines"),
    "completed_key": (("default",), "asynq:{default}:completed"),
    "paused_key": (("default",), "asynq:{default}:paused"),
    "processed_total_key": (("default",), "asynq:{default}:processed"),
    "failed_total_key": (("default",), "asynq:{default}:failed"),
    "processed_key": (("default", "2026-11-25"), "asynq:{default}:processed:2026-11-25"),
    "failed_key": (("default", "2026-11-25"), "asynq:{default}:failed:2026-11-25"),
    "unique_key": (
        ("default", "email:send", b'{"user_id":42}'),
        "asynq:{default}:unique:email:send:1181f89307fa271072c095747d5813cc",
    ),
    "group_key_prefix": (("default",), "asynq:{default}:g:"),
    "group_key": (("default", "user:42"), "asynq:{default}:g:user:42"),
    "aggregation_set_key": (
        ("default", "user:42", "5f1c"),
        "asynq:{default}:g:user:42:5f1c",
    ),
    "all_groups": (("default",), "asynq:{default}:groups"),
    "all_aggregation_sets": (("default",), "asynq:{default}:aggregation_sets"),
    "server_info_key": (
        ("vm", 5371, "652b0fa7-217f-4954-a859-60317b71c5df"),
        "asynq:servers:{vm:5371:652b0fa7-217f-4954-a859-60317b71c5df}",
    ),
    "workers_key": (
        ("vm", 5371, "652b0fa7-217f-4954-a859-60317b71c5df"),
        "asynq:workers:{vm:5371:652b0fa7-217f-4954-a859-60317b71c5df}",
    ),
    "scheduler_entries_key": (
        ("vm:5371:fea5abe9-fc89-473a-8d93-389977fbf490",),
        "asynq:schedulers:{vm:5371:fea5abe9-fc89-473a-8d93-389977fbf490}",
    ),
    "scheduler_history_key": (
        ("2064b7ea-5712-4188-88db-6193c293228f",),
        "asynq:scheduler_history:2064b7ea-5712-4188-88db-6193c293228f",
    ),
    "state_key": (("default", "retry"), "asynq:{default}:retry"),
    # Ours, not asynq's (the scheduler's per-tick claim); Go never reads it.
    "scheduler_tick_lock_key": (
        ("e3b0c442", 1795621200),
        "asynq:scheduler_tick:e3b0c442:1795621200",
    ),
    # Ours, outside asynq's namespace (the alert loop's state per channel).
    "alert_state_key": (("ops-mail",), "queuecore:alerts:state:ops-mail"),
}

GLOBAL_KEYS = {
    "PREFIX": "asynq:",
    "ALL_QUEUES": "asynq:queues",
    "ALL_SERVERS": "asynq:servers",
    "ALL_WORKERS": "asynq:workers",
    "ALL_SCHEDULERS": "asynq:schedulers",
    "CANCEL_CHANNEL": "asynq:cancel",
}


def _public_functions() -> set[str]:
    return {
        name
        for name, obj in inspect.getmembers(keys, inspect.isfunction)
        if not name.startswith("_") and obj.__module__ == keys.__name__
    }


def test_every_key_function_has_a_golden_string():
    assert _public_functions() == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_key_function_builds_asynqs_exact_string(name):
    args, expected = GOLDEN[name]
    assert getattr(keys, name)(*args) == expected


@pytest.mark.parametrize(("name", "expected"), sorted(GLOBAL_KEYS.items()))
def test_global_key_constant_is_asynqs_exact_string(name, expected):
    assert getattr(keys, name) == expected


def test_the_alert_keys_live_outside_asynqs_namespace():
    own = [keys.ALERT_DELIVERIES, keys.ALERT_LAST_RUN, keys.alert_state_key("x")]
    assert all(k.startswith(keys.OWN_PREFIX) and not k.startswith(keys.PREFIX) for k in own)


def test_unique_key_of_a_nil_payload_has_no_checksum_segment():
    assert keys.unique_key("default", "lab:noop", None) == "asynq:{default}:unique:lab:noop:"


def test_unique_key_of_an_empty_payload_is_the_md5_of_nothing():
    assert (
        keys.unique_key("default", "lab:noop", b"")
        == "asynq:{default}:unique:lab:noop:d41d8cd98f00b204e9800998ecf8427e"
    )


@pytest.mark.parametrize(
    "state", ["pending", "active", "scheduled", "retry", "archived", "completed"]
)
def test_state_key_names_the_container_of_each_state(state):
    assert keys.state_key("low", state) == f"asynq:{{low}}:{state}"


def test_state_key_refuses_aggregating_which_lives_in_one_zset_per_group():
    with pytest.raises(ValueError, match="aggregating"):
        keys.state_key("low", "aggregating")


def test_queue_names_are_case_sensitive_and_kept_verbatim():
    assert keys.pending_key("Critical Jobs") == "asynq:{Critical Jobs}:pending"
