"""Three real redis-servers as three dashboard instances: the session's one is "default"
(labelled Production), "staging" is started for the module, and "eu" is started for each test
that needs it (the test may stop it).

The dashboard's URL patterns are built from the instance names at import, so the fixture reloads
them with the instances configured, and again with the settings restored at teardown.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import clear_url_caches

from tests.support.redis_server import RedisProcess, start_redis

EU_TIMEOUT = 0.5


def reload_urls() -> None:
    import config.urls
    import dashboard.site_urls

    importlib.reload(dashboard.site_urls)
    importlib.reload(config.urls)
    clear_url_caches()


@pytest.fixture(scope="module")
def staging_server(redis_server: RedisProcess) -> Iterator[RedisProcess]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
def eu_server(redis_server: RedisProcess) -> Iterator[RedisProcess]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
def staging_client(staging_server: RedisProcess) -> Iterator[redis.Redis]:
    client = redis.Redis(port=staging_server.port)
    client.flushall()
    yield client
    client.flushall()
    client.close()


@pytest.fixture
def eu_client(eu_server: RedisProcess) -> Iterator[redis.Redis]:
    client = redis.Redis(port=eu_server.port)
    yield client
    client.close()


def instances_setting(staging_url: str, eu_url: str, **extra: dict[str, Any]) -> dict[str, Any]:
    configured: dict[str, dict[str, Any]] = {
        "default": {"LABEL": "Production", "COLOR": "#b91c1c"},
        "staging": {"URL": staging_url, "COLOR": "#2563eb"},
        "eu": {"URL": eu_url, "TIMEOUT": EU_TIMEOUT},
    }
    for name, entry in extra.items():
        configured[name] = {**configured[name], **entry}
    return configured


@pytest.fixture
def fleet(
    settings: Any,
    queuecore_settings: str,
    staging_server: RedisProcess,
    staging_client: redis.Redis,
    eu_server: RedisProcess,
) -> Iterator[Callable[..., None]]:
    """Configure the three instances (``fleet(staging={"READ_ONLY": True})`` changes one)."""
    original = dict(django_settings.QUEUECORE)

    def configure(**extra: dict[str, Any]) -> None:
        settings.QUEUECORE = {
            **original,
            "INSTANCES": instances_setting(staging_server.url, eu_server.url, **extra),
        }
        reload_urls()

    configure()
    yield configure
    settings.QUEUECORE = original
    reload_urls()


@pytest.fixture
def user_with(db: None, client: Client) -> Callable[..., Client]:
    """A logged-in client whose user is in the given groups (global roles or ``role@instance``)."""

    def make(*groups: str) -> Client:
        user = User.objects.create_user("-".join(groups) or "nobody", password="pw-12345-long")
        for name in groups:
            user.groups.add(Group.objects.get_or_create(name=name)[0])
        client.force_login(user)
        return client

    return make
