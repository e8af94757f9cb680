"""API test fixtures: users in the dashboard's roles, token clients, Go's captured data."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from django.contrib.auth.models import Group, User
from django.test import Client as HttpClient

from queuecore.clock import FrozenClock
from queuecore.contrib.django import connection
from queuecore.inspector import Inspector
from tests.support.asynq_fixture import CAPTURED_AT, load_into

TOKENS = {"viewer": "tok-viewer-1", "operator": "tok-operator-1", "admin": "tok-admin-1"}


@pytest.fixture
def api_settings(settings: object, queuecore_settings: str) -> str:
    current = dict(settings.QUEUECORE)  # type: ignore[attr-defined]
    current["API_TOKENS"] = {token: role for role, token in TOKENS.items()}
    current["READ_ONLY"] = False
    settings.QUEUECORE = current  # type: ignore[attr-defined]
    return queuecore_settings


@pytest.fixture
def users(db: None) -> dict[str, User]:
    made = {}
    for role in TOKENS:
        # No password: tokens and force_login need none, and hashing is slow.
        user = User.objects.create_user(role)
        user.groups.add(Group.objects.get(name=role))
        made[role] = user
    made["nobody"] = User.objects.create_user("nobody")
    return made


@pytest.fixture
def api(api_settings: str, users: dict[str, User]) -> Callable[[str], HttpClient]:
    """A client that authenticates with the token of ``role``."""

    def make(role: str) -> HttpClient:
        return HttpClient(HTTP_AUTHORIZATION=f"Bearer {TOKENS[role]}")

    return make


@pytest.fixture
def go_data(
    api_settings: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Inspector]:
    """Go asynq's captured Redis, read by the API's Inspector at the capture instant."""
    load_into(redis_client)
    inspector = Inspector.from_url(api_settings, clock=FrozenClock(CAPTURED_AT.timestamp()))
    monkeypatch.setitem(connection._inspectors, api_settings, inspector)
    yield inspector
    inspector.close()
