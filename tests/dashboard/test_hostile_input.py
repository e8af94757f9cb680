"""Every URL of the dashboard and its JSON API, walked as an admin with hostile path and query
values (huge, negative and non-numeric numbers, unicode, 10 kB strings, encoded slashes, NULs and
invalid UTF-8): each answers below 500, and bad numbers answer 400 with a message."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from queuecore import TaskState
from tests.dashboard.test_security import _sample

# Path values exactly as they appear in the URL (already percent-encoded where needed).
HOSTILE_PATH = (
    "100000000000000000000",
    "-1",
    "%C3%A9%F0%9F%99%82",  # é🙂
    "x" * 10_000,
    "a%2Fb",
    "%00",
    "%FF%FE",
    "%25",
)
# Query values before encoding (the client percent-encodes them): out-of-range numbers both
# ways, and one string that is at once non-numeric, unicode, slashed, NUL-bearing and 10 kB long.
HOSTILE_QUERY = (
    "100000000000000000000",
    "-100000000000000000000",
    "a/b\x00é🙂" + "x" * 10_000,
)
# Every query parameter a page or API endpoint reads.
PARAMS = (
    "page", "size", "state", "group", "type", "error", "text", "cursor", "range", "id", "scan",
    "limit", "format", "duration", "endtime", "queues", "end", "span", "queue", "username",
    "action", "outcome", "next", "ids", "only", "audit",
)  # fmt: skip
# Views that end the session or belong to Django itself, not to the dashboard.
SKIPPED = ("logout", "login", "admin:")


def dashboard_routes(*, one_per_view: bool = False) -> list[tuple[str, str]]:
    """(name, route with each name-like parameter as ``{}``) for every dashboard and API URL;
    with ``one_per_view`` only the first route of each view (they read the same parameters)."""
    found, views = [], set()

    def walk(patterns: list[object], prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + _sample(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}{entry.name}"
                if name.startswith(SKIPPED) or "(?P<" in str(entry.pattern):
                    continue
                if one_per_view and entry.callback in views:
                    continue
                views.add(entry.callback)
                found.append((name, "/" + prefix + _template(entry)))

    walk(get_resolver().url_patterns, "", "")
    return found


def _template(entry: URLPattern) -> str:
    converters = entry.pattern.converters  # type: ignore[attr-defined]

    def fill(match: re.Match[str]) -> str:
        kind = match[1] or "str"
        if kind in ("name", "api_name", "str", "int"):
            return "{}"
        return re.split(r"[|]", converters[match[2]].regex)[0]

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, str(entry.pattern))


def _assert_below_500(response: object, what: str) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500 or status in (501, 502), f"{what} gave {status}"


@pytest.mark.parametrize("value", HOSTILE_PATH, ids=lambda v: v[:24])
def test_hostile_path_values_never_give_a_server_error(
    admin: Client, seeded: dict[TaskState, str], value: str
) -> None:
    routes = dashboard_routes()
    assert len(routes) > 50
    for name, route in routes:
        url = route.replace("{}", value)
        for method in (admin.get, admin.post):
            _assert_below_500(method(url), f"{method.__name__.upper()} {url[:120]} ({name})")


@pytest.mark.slow
@pytest.mark.parametrize("value", HOSTILE_QUERY, ids=lambda v: repr(v[:24]))
def test_hostile_query_values_never_give_a_server_error(
    admin: Client, seeded: dict[TaskState, str], value: str
) -> None:
    """Each parameter alone, on paths naming a real queue and task, so no other check hides it."""
    task_id = seeded[TaskState.ARCHIVED]
    for name, route in dashboard_routes(one_per_view=True):
        url = route.replace("{}", "default", 1).replace("{}", task_id)
        for param in PARAMS:
            query = f"{param}={quote(value, safe='')}"
            _assert_below_500(admin.get(f"{url}?{query}"), f"GET {url}?{param}=… ({name})")
        _assert_below_500(admin.post(url, {p: value for p in PARAMS}), f"POST {url} ({name})")


@pytest.mark.parametrize(
    "url",
    [
        "/api/queues/default/pending_tasks?page=100000000000000000000",
        "/api/queues/default/archived_tasks?page=-5",
        "/api/queues/default/scheduled_tasks?size=abc",
        "/api/scheduler_entries/x/enqueue_events?page=100000000000000000000",
        "/api/metrics?duration=100000000000000000000",
        "/queues/default/?page=100000000000000000000",
        "/queues/default/?size=7",
        "/schedulers/x/history/?page=-1",
    ],
)
def test_out_of_range_numbers_are_a_400_with_a_message(
    admin: Client, seeded: dict[TaskState, str], url: str, settings
) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "PROMETHEUS_URL": "http://127.0.0.1:9"}
    response = admin.get(url)
    assert response.status_code == 400, url
    assert re.search(rb"page|size|duration", response.content), response.content[:200]


def test_a_task_whose_message_is_corrupt_is_a_409_on_the_page_and_in_the_api(
    admin: Client, redis_client, queuecore_settings: str
) -> None:
    redis_client.sadd("asynq:queues", "default")
    redis_client.hset(
        "asynq:{default}:t:bad", mapping={"msg": b"\xff not protobuf", "state": "pending"}
    )
    redis_client.lpush("asynq:{default}:pending", "bad")
    page = admin.get("/queues/default/tasks/bad/")
    api = admin.get("/api/queues/default/tasks/bad")
    assert (page.status_code, api.status_code) == (409, 409)
    assert b"malformed data" in api.content


def test_a_name_longer_than_the_bound_is_a_400_saying_so(
    admin: Client, queuecore_settings: str
) -> None:
    for url in (f"/queues/{'q' * 5000}/", f"/api/queues/{'q' * 5000}/pending_tasks"):
        response = admin.get(url)
        assert response.status_code == 400
        assert b"longer than 4096 characters" in response.content
