"""The worker's pure decisions, table-tested."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest

from queuecore.errors import InvalidArgumentError
from queuecore.handlers import RevokeTask, SkipRetry
from queuecore.server.policy import (
    default_retry_delay,
    delay_seconds,
    failure_action,
    normalize_queues,
    processing_deadline,
    queue_order,
    reduced_priorities,
    strict_order,
    weighted_order,
)


class FixedRandom:
    def __init__(self, k: int) -> None:
        self.k = k

    def randrange(self, stop: int) -> int:
        assert stop == 30
        return self.k


@pytest.mark.parametrize(
    ("retried", "k", "seconds"),
    [(0, 0, 15), (0, 29, 44), (1, 0, 16), (1, 29, 16 + 58), (2, 3, 16 + 15 + 9), (10, 0, 10015)],
)
def test_default_retry_delay_is_n4_plus_15_plus_k_times_n_plus_1(retried, k, seconds):
    assert default_retry_delay(retried, None, None, rng=FixedRandom(k)) == timedelta(
        seconds=seconds
    )


def test_default_retry_delay_draws_a_whole_k_below_30():
    rng = random.Random(7)
    for n in (0, 1, 5):
        for _ in range(200):
            extra = default_retry_delay(n, rng=rng).total_seconds() - n**4 - 15
            assert extra % (n + 1) == 0
            assert 0 <= extra // (n + 1) < 30


@pytest.mark.parametrize(
    ("value", "seconds"), [(timedelta(seconds=3), 3.0), (2, 2.0), (0.5, 0.5), (-4, 0.0)]
)
def test_delay_seconds_accepts_timedeltas_and_numbers(value, seconds):
    assert delay_seconds(value) == seconds


@pytest.mark.parametrize(
    ("timeout", "deadline", "expected"),
    [
        (60, 0, 1060.0),
        (0, 2000, 2000.0),
        (60, 1030, 1030.0),
        (60, 5000, 1060.0),
        (0, 0, 1000.0 + 1800),
    ],
)
def test_processing_deadline_follows_compute_deadline(timeout, deadline, expected):
    assert processing_deadline(1000.0, timeout, deadline) == expected


def test_queue_config_drops_non_positive_priorities_and_defaults_to_default():
    assert normalize_queues({"a": 3, "b": 0, "c": -1}) == {"a": 3}
    assert normalize_queues({}) == {"default": 1}
    assert normalize_queues(None) == {"default": 1}
    with pytest.raises(InvalidArgumentError):
        normalize_queues({" ": 1})
    with pytest.raises(InvalidArgumentError):
        normalize_queues({"a": "3"})  # type: ignore[dict-item]


def test_priorities_are_reduced_by_their_gcd():
    assert reduced_priorities({"a": 6, "b": 4, "c": 2}) == {"a": 3, "b": 2, "c": 1}


def test_strict_order_is_highest_priority_first():
    assert strict_order({"low": 1, "critical": 6, "default": 3}) == ["critical", "default", "low"]
    assert queue_order({"low": 1, "critical": 6}, strict=True) == ["critical", "low"]


def test_weighted_order_puts_each_queue_first_in_proportion_to_its_weight():
    rng = random.Random(1)
    queues = {"critical": 6, "default": 3, "low": 1}
    firsts = Counter(weighted_order(queues, rng)[0] for _ in range(10_000))
    assert firsts["critical"] / 10_000 == pytest.approx(0.6, abs=0.03)
    assert firsts["default"] / 10_000 == pytest.approx(0.3, abs=0.03)
    assert firsts["low"] / 10_000 == pytest.approx(0.1, abs=0.03)
    assert sorted(weighted_order(queues, rng)) == ["critical", "default", "low"]


def test_a_single_queue_is_its_own_order():
    assert queue_order({"only": 5}, strict=False) == ["only"]


@pytest.mark.parametrize(
    ("retried", "max_retry", "error", "action"),
    [
        (0, 25, RuntimeError("x"), "retry"),
        (25, 25, RuntimeError("x"), "archive"),
        (30, 25, RuntimeError("x"), "archive"),
        (0, 25, SkipRetry(), "archive"),
        (0, 25, RevokeTask(), "done"),
        (25, 25, RevokeTask(), "done"),  # revoke is checked before exhaustion, as in Go
    ],
)
def test_failure_action_follows_asynqs_order_of_checks(retried, max_retry, error, action):
    assert failure_action(retried, max_retry, error) == action


def test_an_error_raised_from_skip_retry_counts_as_skip_retry():
    error = ValueError("bad payload")
    error.__cause__ = SkipRetry()
    assert failure_action(0, 25, error) == "archive"
