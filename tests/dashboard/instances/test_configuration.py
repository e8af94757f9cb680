"""QUEUECORE["INSTANCES"]: parsing, its system checks, links under a prefix, and --instance."""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.core.management import CommandError, call_command
from django.test import Client

from queuecore.contrib.django import instances
from queuecore.contrib.django.checks import check_instances
from tests.support.factories import seed_task


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_without_instances_the_default_one_is_redis_url(settings: Any) -> None:
    settings.QUEUECORE = {"REDIS_URL": "redis://example:6380/2"}

    (only,) = instances.configured()

    assert only.name == "default"
    assert only.url == "redis://example:6380/2"
    assert not only.read_only


def test_instances_take_every_redis_url_form_and_their_display_options(settings: Any) -> None:
    settings.QUEUECORE = {
        "REDIS_URL": "redis://prod:6379/0",
        "INSTANCES": {
            "default": {"LABEL": "Production", "COLOR": "#b91c1c", "READ_ONLY": True},
            "tls": {"URL": "rediss://staging:6380/1"},
            "sentinel": {"URL": {"SENTINELS": ["s1:26379"], "MASTER_NAME": "main"}},
            "cluster": {"URL": "redis-cluster://n1:7000,n2:7001", "TIMEOUT": 0.25},
        },
    }

    found = {i.name: i for i in instances.configured()}

    assert list(found) == ["default", "tls", "sentinel", "cluster"]
    assert found["default"].label == "Production"
    assert found["default"].read_only
    assert found["tls"].url.startswith("rediss://")
    assert "sentinel" in found["sentinel"].url
    assert found["cluster"].timeout == 0.25
    assert check_instances() == []


@pytest.mark.parametrize(
    ("setting", "check_id"),
    [
        ({"Bad Name": {"URL": "redis://x"}}, "queuecore.E020"),
        ({"staging": {"URL": "redis://x", "COLOUR": "red"}}, "queuecore.E020"),
        ({"staging": {"URL": "redis://x", "COLOR": "red;background:url(x)"}}, "queuecore.E020"),
        ({"staging": {"URL": "redis://x", "TIMEOUT": 0}}, "queuecore.E020"),
        ({"staging": {}}, "queuecore.E021"),
        ({"staging": {"URL": "http://not-redis"}}, "queuecore.E021"),
        (["staging"], "queuecore.E020"),
    ],
)
def test_a_bad_instances_setting_is_reported_by_its_check(
    settings: Any, setting: Any, check_id: str
) -> None:
    settings.QUEUECORE = {"INSTANCES": setting}

    assert ids(check_instances()) == [check_id]


def test_the_instances_command_option_picks_that_instances_redis(
    fleet: Callable[..., None], redis_client: redis.Redis, staging_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending", queue="orders")
    seed_task(staging_client, "pending", queue="emails")

    staging, default = io.StringIO(), io.StringIO()
    call_command("queue", "--instance", "staging", "ls", stdout=staging)
    call_command("queue", "ls", stdout=default)

    assert "emails" in staging.getvalue()
    assert "orders" not in staging.getvalue()
    assert "orders" in default.getvalue()


def test_an_unknown_instance_on_the_command_line_is_a_clear_error(
    fleet: Callable[..., None],
) -> None:
    with pytest.raises(CommandError, match=r"No Redis instance named 'nope'.*staging"):
        call_command("health", "--instance", "nope", stdout=io.StringIO())


def test_links_of_an_instance_follow_the_hosts_prefix(
    fleet: Callable[..., None],
    settings: Any,
    redis_client: redis.Redis,
    staging_client: redis.Redis,
    user_with: Callable[..., Client],
) -> None:
    from tests.dashboard.instances import prefixed_urls

    importlib.reload(prefixed_urls)
    settings.ROOT_URLCONF = prefixed_urls.__name__
    seed_task(staging_client, "pending", queue="emails")
    client = user_with("operator")

    page = client.get("/ops/queues/i/staging/").content.decode()
    paused = client.post("/ops/queues/i/staging/queues/emails/pause")
    fleet_page = client.get("/ops/queues/fleet/").content.decode()

    assert 'href="/ops/queues/i/staging/queues/emails/"' in page
    assert 'href="/ops/queues/i/staging/"' in page  # the switcher
    assert 'href="/ops/queues/"' in page
    assert paused.status_code == 302
    assert staging_client.exists("asynq:{emails}:paused")
    assert 'href="/ops/queues/i/staging/queues/emails/"' in fleet_page


def test_two_instances_on_one_redis_are_warned_about(settings: Any) -> None:
    settings.QUEUECORE = {
        "REDIS_URL": "redis://one:6379/0",
        "INSTANCES": {"again": {"URL": "redis://one:6379/0"}},
    }

    assert ids(check_instances()) == ["queuecore.W020"]
