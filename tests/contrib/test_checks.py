"""System checks of the QUEUECORE setting: each bad value is reported under its stable ID."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

from queuecore.contrib.django.checks import check_queuecore_settings


def aggregate(group, tasks):
    return tasks[0]


NOT_CALLABLE = 42


def ids_for(**overrides) -> list[str]:
    merged = {**settings.QUEUECORE, **overrides}
    with override_settings(QUEUECORE=merged):
        return [message.id for message in check_queuecore_settings()]


def test_the_project_settings_pass_every_queuecore_check():
    assert ids_for() == []


def test_the_checks_are_registered_with_django():
    with override_settings(QUEUECORE={**settings.QUEUECORE, "CONCURRENCY": 0}):
        assert "queuecore.E003" in [m.id for m in run_checks(databases=[])]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"REDIS_URL": "http://nope"}, "queuecore.E001"),
        ({"REDIS": {"PORT": "not-a-port", "BOGUS": 1}}, "queuecore.E001"),
        ({"QUEUES": ["default"]}, "queuecore.E002"),
        ({"QUEUES": {}}, "queuecore.E002"),
        ({"QUEUES": {" ": 1}}, "queuecore.E002"),
        ({"QUEUES": {"default": 0}}, "queuecore.E002"),
        ({"QUEUES": {"default": "3"}}, "queuecore.E002"),
        ({"QUEUES": "critical=x"}, "queuecore.E002"),
        ({"CONCURRENCY": 0}, "queuecore.E003"),
        ({"CONCURRENCY": "10"}, "queuecore.E003"),
        ({"SCHEDULE": [{"cron": "not a cron", "task": "t"}]}, "queuecore.E004"),
        ({"SCHEDULE": "every minute"}, "queuecore.E004"),
        ({"GROUP_AGGREGATOR": "tests.contrib.test_checks.missing"}, "queuecore.E005"),
        ({"GROUP_AGGREGATOR": "tests.contrib.test_checks.NOT_CALLABLE"}, "queuecore.E005"),
        (
            {"GROUP_AGGREGATOR": "tests.contrib.test_checks.aggregate", "GROUP_GRACE_PERIOD": 0},
            "queuecore.E006",
        ),
        (
            {"GROUP_AGGREGATOR": "tests.contrib.test_checks.aggregate", "GROUP_MAX_SIZE": -1},
            "queuecore.E006",
        ),
        ({"SHUTDOWN_TIMEOUT": -1}, "queuecore.E007"),
        ({"READ_ONLY": "yes"}, "queuecore.W001"),
        ({"STRICT_PRIORITY": 1}, "queuecore.W002"),
        ({"CONCURENCY": 10}, "queuecore.W003"),
    ],
)
def test_each_bad_value_is_reported_under_its_id(overrides, expected):
    assert ids_for(**overrides) == [expected]


@pytest.mark.parametrize(
    "overrides",
    [
        {"QUEUES": "critical=6,default=3"},
        {"REDIS": {"HOST": "127.0.0.1", "PORT": 6390}},
        {"SHUTDOWN_TIMEOUT": timedelta(seconds=3)},
        {
            "GROUP_AGGREGATOR": "tests.contrib.test_checks.aggregate",
            "GROUP_GRACE_PERIOD": timedelta(seconds=10),
            "GROUP_MAX_SIZE": 50,
        },
        {"SCHEDULE": [{"cron": "@every 30s", "task": "report:generate"}]},
    ],
)
def test_valid_alternative_forms_pass(overrides):
    assert ids_for(**overrides) == []
