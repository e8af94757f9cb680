"""Deep links out of a task (QUEUECORE["TASK_LINKS"]): placeholders filled and quoted, a link
with a missing value hidden, only http(s) links, and the system check (queuecore.E009)."""

from __future__ import annotations

import gzip
import re
from html import unescape
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings

from dashboard.links import TaskLink, task_links
from queuecore import TaskInfo, TaskState
from queuecore.contrib.django.checks import check_queuecore_settings
from tests.support.factories import seed_task

LOGS = {"label": "Logs", "url": "https://logs.example.com/search?q=task:{id}&queue={queue}"}
TRACE = {"label": "Trace", "url": "https://traces.example.com/trace/{header.trace_id}"}
ORDER = {"label": "Order", "url": "http://shop.example.com/orders/{payload.order.id}?t={type}"}
FIRST_ITEM = {"label": "Item", "url": "https://shop.example.com/items/{payload.items.0.sku}"}


def configure(**overrides: Any) -> Any:
    return override_settings(QUEUECORE={**settings.QUEUECORE, **overrides})


def info(payload: bytes = b"", headers: dict[str, str] | None = None, **fields: Any) -> TaskInfo:
    defaults: dict[str, Any] = {"id": "t-1", "queue": "default", "type": "order:sync"}
    defaults.update(fields)
    return TaskInfo(payload=payload, headers=headers or {}, state=TaskState.PENDING, **defaults)


def test_header_and_payload_placeholders_are_filled_and_url_quoted() -> None:
    task = info(
        payload=b'{"order": {"id": "A/7 & b?#"}, "items": [{"sku": 12}]}',
        headers={"trace_id": "abc def/../x"},
        id="id with space",
        queue="q/1",
        type="order:sync",
    )
    with configure(TASK_LINKS=[LOGS, TRACE, ORDER, FIRST_ITEM]):
        links = task_links(task)
    assert links == (
        TaskLink("Logs", "https://logs.example.com/search?q=task:id%20with%20space&queue=q%2F1"),
        TaskLink("Trace", "https://traces.example.com/trace/abc%20def%2F..%2Fx"),
        TaskLink("Order", "http://shop.example.com/orders/A%2F7%20%26%20b%3F%23?t=order%3Async"),
        TaskLink("Item", "https://shop.example.com/items/12"),
    )


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        (b"not json", {}),  # no JSON payload to read
        (b'{"order": {}}', {}),  # path absent
        (b'{"order": {"id": null}}', {}),  # null
        (b'{"order": {"id": ""}}', {"trace_id": ""}),  # empty values
        (b'{"order": {"id": {"nested": 1}}}', {}),  # not a scalar
        (b'{"order": [1]}', {}),  # not an object
    ],
)
def test_a_link_whose_placeholder_has_no_value_is_not_shown(
    payload: bytes, headers: dict[str, str]
) -> None:
    with configure(TASK_LINKS=[LOGS, TRACE, ORDER, FIRST_ITEM]):
        links = task_links(info(payload=payload, headers=headers))
    assert [link.label for link in links] == ["Logs"]


def test_scalars_are_written_as_json_writes_them() -> None:
    template = {"label": "L", "url": "https://x.example/{payload.a}/{payload.b}/{payload.c}"}
    with configure(TASK_LINKS=[template]):
        [link] = task_links(info(payload=b'{"a": true, "b": 1.5, "c": -3}'))
    assert link.url == "https://x.example/true/1.5/-3"


def test_literal_braces_are_written_doubled() -> None:
    template = {"label": "Loki", "url": 'https://grafana.example/explore?q={{trace="{header.t}"}}'}
    with configure(TASK_LINKS=[template]):
        [link] = task_links(info(headers={"t": "abc"}))
    assert link.url == 'https://grafana.example/explore?q={trace="abc"}'


def test_a_formatted_payload_is_read_when_the_raw_one_is_not_json() -> None:
    with configure(TASK_LINKS=[ORDER]):
        [link] = task_links(info(payload=b"\x1f\x8b..."), '{"order": {"id": 9}}')
    assert link.url == "http://shop.example.com/orders/9?t=order%3Async"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JAVASCRIPT:alert(1)//{id}",
        " https://x.example/{id}",
        "//evil.example/{id}",
        "{payload.url}",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/{id}",
    ],
)
def test_only_http_and_https_links_are_accepted(url: str) -> None:
    entry = {"label": "Bad", "url": url}
    with configure(TASK_LINKS=[entry, LOGS]):
        messages = check_queuecore_settings()
        links = task_links(info())
    assert [m.id for m in messages] == ["queuecore.E009"]
    assert "must start with http:// or https://" in messages[0].msg
    assert [link.label for link in links] == ["Logs"]  # the bad one is never rendered


@pytest.mark.parametrize(
    ("links", "text"),
    [
        ({"label": "L", "url": "https://x"}, "must be a list"),
        ("https://x/{id}", "must be a list"),
        (["https://x/{id}"], 'must be a dict with "label" and "url"'),
        ([{"url": "https://x/{id}"}], 'needs a non-blank "label"'),
        ([{"label": "L", "url": "https://x/{task_id}"}], "unknown placeholder {task_id}"),
        ([{"label": "L", "url": "https://x/{header.}"}], "unknown placeholder {header.}"),
        ([{"label": "L", "url": "https://x/{payload.a..b}"}], "unknown placeholder"),
        ([{"label": "L", "url": "https://x/{id:>10}"}], "unknown placeholder {id:>10}"),
        ([{"label": "L", "url": "https://x/{id"}], "literal braces"),
    ],
)
def test_bad_links_are_reported_as_e009(links: Any, text: str) -> None:
    with configure(TASK_LINKS=links):
        messages = check_queuecore_settings()
    assert [m.id for m in messages] == ["queuecore.E009"]
    assert text in messages[0].msg


def test_valid_links_pass_the_system_check() -> None:
    with configure(TASK_LINKS=[LOGS, TRACE, ORDER, FIRST_ITEM]):
        assert check_queuecore_settings() == []


@pytest.mark.django_db
def test_the_task_page_shows_link_buttons_that_open_in_a_new_tab(
    viewer: Client, redis_client: redis.Redis
) -> None:
    task = seed_task(
        redis_client,
        "pending",
        type="order:sync",
        payload=b'{"order": {"id": "7<x>"}}',
        headers={"trace_id": '"><script>alert(1)</script>'},
    )
    hostile_label = {"label": "<b>Sentry</b>", "url": "https://sentry.example/?q={id}"}
    with configure(TASK_LINKS=[TRACE, ORDER, FIRST_ITEM, hostile_label]):
        body = viewer.get(f"/queues/default/tasks/{task.id}/").content.decode()
    anchors = re.findall(r"<a [^>]*data-task-link[^>]*>[^<]*</a>", body)
    assert len(anchors) == 3  # FIRST_ITEM has no value: hidden
    for anchor in anchors:
        assert 'target="_blank"' in anchor
        assert 'rel="noopener noreferrer"' in anchor
    hrefs = [unescape(re.search(r'href="([^"]*)"', a)[1]) for a in anchors]  # type: ignore[index]
    assert hrefs == [
        "https://traces.example.com/trace/%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E",
        "http://shop.example.com/orders/7%3Cx%3E?t=order%3Async",
        f"https://sentry.example/?q={task.id}",
    ]
    assert "&lt;b&gt;Sentry&lt;/b&gt;" in body
    assert "<b>Sentry</b>" not in body


@pytest.mark.django_db
def test_payload_placeholders_read_a_gzip_json_payload_through_its_formatter(
    viewer: Client, redis_client: redis.Redis
) -> None:
    task = seed_task(
        redis_client, "pending", type="order:sync", payload=gzip.compress(b'{"order": {"id": 5}}')
    )
    with configure(
        TASK_LINKS=[ORDER], PAYLOAD_FORMATTERS={"order:*": "dashboard.formatters.gzip_json"}
    ):
        body = viewer.get(f"/queues/default/tasks/{task.id}/").content.decode()
    assert 'href="http://shop.example.com/orders/5?t=order%3Async"' in body


@pytest.mark.django_db
def test_no_links_configured_shows_no_link_bar(viewer: Client, redis_client: redis.Redis) -> None:
    task = seed_task(redis_client, "pending")
    body = viewer.get(f"/queues/default/tasks/{task.id}/").content.decode()
    assert "data-task-link" not in body
    assert "task-links" not in body
