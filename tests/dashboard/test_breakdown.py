"""The queue page's Breakdown panel: counts by type and error signature, bounded, read-only."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from django.test import Client
from django.urls import reverse

from dashboard.presenters import breakdown as presenter
from queuecore import keys
from tests.support.factories import seed_task

PANEL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "breakdown-archived"}
TIMEOUTS = ("timeout after 30s on 10.0.0.1:6379", "timeout after 5s on 10.0.0.2:6380")


def url(queue: str = "default", **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("dashboard:breakdown", args=[queue]) + (f"?{query}" if query else "")


def links(body: str, css: str) -> list[str]:
    """hrefs of the links inside the table with class ``css``."""
    table = body.split(f'class="grid {css}"', 1)[1].split("</table>", 1)[0]
    return [html.unescape(h) for h in re.findall(r'<a href="([^"]+)"', table)]


@pytest.fixture
def archive(redis_client: redis.Redis, queuecore_settings: str) -> None:
    for n in range(6):
        seed_task(redis_client, "archived", type="email:send", error_msg=TIMEOUTS[n % 2])
    seed_task(redis_client, "archived", type="report:build", error_msg="user 42 not found")
    redis_client.zadd(keys.archived_key("default"), {"gone-task": 1})


def test_viewer_sees_counts_by_type_and_by_error_signature(viewer: Client, archive: None) -> None:
    response = viewer.get(url(state="archived"), **PANEL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body  # the fragment, for htmx
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    assert "email:send 6 85.7%" in text
    assert "report:build 1 14.3%" in text
    assert "timeout after &lt;n&gt;s on &lt;addr&gt; 6" in text
    assert "user &lt;n&gt; not found 1" in text
    assert "Scanned all 8 archived tasks; 1 unreadable record not counted." in text
    assert "Scan more" not in text


def test_type_and_signature_links_open_the_bounded_search_that_finds_those_tasks(
    viewer: Client, archive: None
) -> None:
    body = viewer.get(url(state="archived"), **PANEL).content.decode()
    by_type, by_error = links(body, "breakdown-types"), links(body, "breakdown-errors")
    assert parse_qs(urlsplit(by_type[1]).query) == {"state": ["archived"], "type": ["report:build"]}
    assert parse_qs(urlsplit(by_error[0]).query) == {
        "state": ["archived"],
        "error": ["timeout after"],
    }
    found = viewer.get(by_error[0]).content.decode()
    assert "Scanned 8 tasks, 6 matches; end of archived tasks." in " ".join(found.split())


def test_the_queue_page_loads_the_panel_for_its_state_tab_and_after_actions(
    viewer: Client, archive: None
) -> None:
    body = viewer.get(reverse("dashboard:queue", args=["default"]) + "?state=archived").content
    page = body.decode()
    (panel,) = re.findall(r'<section class="card breakdown"[^>]*>', page)
    assert 'id="breakdown-archived"' in panel
    assert 'hx-preserve="true"' in panel  # polls of the page keep it instead of reloading it
    # Loaded with the tab, and again after an action (dashboard:acted), never by a poll.
    assert 'hx-trigger="load, dashboard:acted from:body"' in panel
    assert f'hx-get="{url(state="archived")}"' in panel


def test_hostile_types_and_error_texts_are_escaped(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    seed_task(
        redis_client,
        "retry",
        type='<img src=x onerror="alert(1)">',
        error_msg="<script>alert('boom')</script> after 3 tries",
    )
    for request in ({}, PANEL):
        body = viewer.get(url(state="retry"), **request).content.decode()
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;alert(&#x27;boom&#x27;)&lt;/script&gt; after 3 tries" in body
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body


def test_a_partial_scan_offers_a_wider_scan_then_the_next_windows(
    viewer: Client,
    redis_client: redis.Redis,
    queuecore_settings: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(presenter, "SCAN_BUDGETS", (5, 10))
    for n in range(23):
        seed_task(redis_client, "archived", type=f"t{n % 2}", error_msg="boom", score=n)
    seen: list[str] = []
    counted: list[int] = []
    address = url(state="archived")
    while address:
        body = viewer.get(address, **PANEL).content.decode()
        text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
        seen.append(re.search(r"Scanned [^.]*\.", text).group(0))  # type: ignore[union-attr]
        counted.append(sum(int(n) for n in re.findall(r"t[01] (\d+)", text)))
        more = re.search(r'<a class="btn btn-small" href="([^"]+)"', body)
        address = html.unescape(more.group(1)) if more else ""
    assert seen == [
        "Scanned 5 of 23 archived tasks.",
        "Scanned 10 of 23 archived tasks.",
        "Scanned archived tasks 11 to 20 of 23.",
        "Scanned archived tasks 21 to 23 of 23.",
    ]
    # The wider scan re-counts the first window; it and the windows after it cover every task.
    assert counted == [5, 10, 10, 3]


def test_an_unknown_queue_or_bad_input_is_a_clear_error_not_a_500(
    viewer: Client, archive: None
) -> None:
    page = viewer.get(url("no-such-queue", state="archived"))
    assert page.status_code == 404
    assert "no-such-queue" in page.content.decode()
    fragment = viewer.get(url("no-such-queue", state="archived"), **PANEL)
    assert fragment.status_code == 404
    assert "no-such-queue" in fragment.content.decode()
    assert viewer.get(url(state="finished")).status_code == 400
    assert viewer.get(url(state="archived", scan="7")).status_code == 400
    assert viewer.get(url(state="archived", cursor="-1")).status_code == 400


def test_aggregating_counts_the_first_group_unless_one_is_chosen(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    seed_task(redis_client, "pending")
    empty = viewer.get(url(state="aggregating"), **PANEL).content.decode()
    assert "No aggregating tasks counted." in empty
    seed_task(redis_client, "aggregating", type="batch:a", group_key="g1")
    seed_task(redis_client, "aggregating", type="batch:b", group_key="g2")
    first = viewer.get(url(state="aggregating"), **PANEL).content.decode()
    assert "batch:a" in first
    assert "batch:b" not in first
    chosen = viewer.get(url(state="aggregating", group="g2"), **PANEL).content.decode()
    assert "batch:b" in chosen
    assert "Last errors by signature" not in chosen  # no errors, not a failure state


def test_a_user_without_a_role_cannot_see_the_panel(login: object, archive: None) -> None:
    client = login(None)  # type: ignore[operator]
    assert client.get(url(state="archived")).status_code == 403


@pytest.mark.parametrize(
    ("budget", "offset", "cursor", "expected"),
    [
        (10_000, 0, None, None),
        (10_000, 0, "10000", ("Scan more (up to 50,000)", {"scan": "50000"})),
        (50_000, 0, "50000", ("Scan more (up to 250,000)", {"scan": "250000"})),
        (250_000, 0, "250000", ("Next 250,000", {"scan": "250000", "cursor": "250000"})),
        (10_000, 500, "10500", ("Scan more (up to 50,000)", {"scan": "50000", "cursor": "500"})),
    ],
)
def test_next_scan_widens_from_the_same_start_then_moves_to_the_next_window(
    budget: int, offset: int, cursor: str | None, expected: object
) -> None:
    assert presenter.next_scan(budget, offset, cursor) == expected


def test_a_signature_names_its_five_most_frequent_types_and_counts_the_rest(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    for n in range(7):
        for _ in range(7 - n):
            seed_task(redis_client, "retry", type=f"kind{n}", error_msg=f"lost {n} frames")
    body = viewer.get(url(state="retry"), **PANEL).content.decode()
    cell = body.split('class="grid breakdown-errors"', 1)[1].split('<td class="small">', 1)[1]
    cell = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell.split("</td>", 1)[0])).split())
    assert cell == "kind0 7, kind1 6, kind2 5, kind3 4, kind4 3 +2 more"
