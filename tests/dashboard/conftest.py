"""Dashboard test fixtures: users in each role, a logged-in client, tasks seeded in every state."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from django.contrib.auth.models import Group, User
from django.test import Client

from queuecore import Inspector, TaskState
from tests.support.factories import seed_task

ROLES = ("viewer", "operator", "admin")


@pytest.fixture
def insp(queuecore_settings: str) -> Iterator[Inspector]:
    inspector = Inspector.from_url(queuecore_settings)
    yield inspector
    inspector.close()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: str | None, name: str | None = None) -> User:
        user = User.objects.create_user(
            name or f"{role or 'nobody'}-user", password="pw-12345-long"
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def login(make_user: Callable[..., User], client: Client) -> Callable[[str | None], Client]:
    def as_role(role: str | None) -> Client:
        client.force_login(make_user(role))
        return client

    return as_role


@pytest.fixture
def operator(login: Callable[[str | None], Client], queuecore_settings: str) -> Client:
    return login("operator")


@pytest.fixture
def admin(login: Callable[[str | None], Client], queuecore_settings: str) -> Client:
    return login("admin")


@pytest.fixture
def viewer(login: Callable[[str | None], Client], queuecore_settings: str) -> Client:
    return login("viewer")


@pytest.fixture
def seeded(redis_client: redis.Redis, queuecore_settings: str) -> dict[TaskState, str]:
    """One task per state in queue "default" (two archived); returns an id per state."""
    ids = {}
    for state in TaskState:
        overrides = {"group_key": "g1"} if state is TaskState.AGGREGATING else {}
        if state in (TaskState.RETRY, TaskState.ARCHIVED):
            overrides.update(error_msg="boom: it failed", retried=1, last_failed_at=1_700_000_000)
        if state is TaskState.COMPLETED:
            overrides.update(completed_at=1_700_000_000, retention=3600)
        ids[state] = seed_task(redis_client, state.value, **overrides).id
    seed_task(redis_client, "archived", error_msg="second failure")
    return ids
