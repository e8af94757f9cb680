"""In chromium: sortable queues/servers/schedulers lists that keep their order through polls and
reloads, and the one count-bearing confirmation dialog before deleting or archiving tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from queuecore import keys
from tests.dashboard.browser.conftest import log_in, screenshot
from tests.dashboard.test_polish import register_entries, register_server
from tests.support.factories import seed_task

pytestmark = pytest.mark.browser


def order(page: Any, rows: str, attribute: str) -> list[str]:
    return page.eval_on_selector_all(rows, f"rows => rows.map(r => r.dataset.{attribute})")


def poll_now(page: Any, region: str) -> None:
    """Fire the page's poll and wait until htmx has swapped in a fresh copy of ``region``."""
    page.evaluate(f"document.querySelector('{region}').dataset.stale = 'yes'")
    page.evaluate("htmx.trigger(document.body, 'dashboard:changed')")
    page.wait_for_selector(f"{region}:not([data-stale])")


def test_queues_sort_numerically_both_ways_and_keep_the_order_through_a_poll(
    page: Any, redis_client: redis.Redis
) -> None:
    # As text "10" < "2"; numerically 1 < 2 < 10.
    for queue, size in (("alpha", 2), ("beta", 10), ("gamma", 1)):
        for _ in range(size):
            seed_task(redis_client, "pending", queue=queue)
    log_in(page)
    rows = "table.queues-table tbody tr"
    size = page.locator("table.queues-table th:has(button[data-sort-key=size])")

    page.click("button[data-sort-key=size]")
    assert order(page, rows, "queue") == ["gamma", "alpha", "beta"]
    expect(size).to_have_attribute("aria-sort", "ascending")
    page.click("button[data-sort-key=size]")
    assert order(page, rows, "queue") == ["beta", "alpha", "gamma"]
    expect(size).to_have_attribute("aria-sort", "descending")
    screenshot(page, "overview-sorted-by-size")

    for _ in range(20):
        seed_task(redis_client, "pending", queue="gamma")
    poll_now(page, "table.queues-table")
    # Size and pending both read 21 now.
    expect(page.locator("tr[data-queue=gamma] td[data-sort-value='21']")).to_have_count(2)
    assert order(page, rows, "queue") == ["gamma", "beta", "alpha"]
    expect(size).to_have_attribute("aria-sort", "descending")

    # Keyboard: the header is a real button; Enter sorts, and the choice outlives a reload.
    page.focus("button[data-sort-key=queue]")
    page.keyboard.press("Enter")
    assert order(page, rows, "queue") == ["alpha", "beta", "gamma"]
    page.reload()
    assert order(page, rows, "queue") == ["alpha", "beta", "gamma"]
    expect(page.locator("th:has(button[data-sort-key=queue])")).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(size).not_to_have_attribute("aria-sort", "descending")


def test_servers_and_scheduler_entries_sort_by_time(page: Any, redis_client: redis.Redis) -> None:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    # Names and times give different orders, so sorting by the wrong key shows.
    for host, hours in (("host-a", 30), ("host-b", 2), ("host-c", 9)):
        register_server(redis_client, host, 100, base + timedelta(hours=hours))
    register_entries(
        redis_client,
        {
            "entry-a": base + timedelta(hours=30),
            "entry-b": base,
            "entry-c": base + timedelta(hours=9),
        },
    )
    log_in(page)

    page.goto(page.base + "/servers/")
    cards = "section.server"
    started = page.locator("button[data-sort-key=started]")
    started.click()
    assert order(page, cards, "sortHost") == ["host-b:100", "host-c:100", "host-a:100"]
    expect(started).to_have_attribute("aria-pressed", "true")
    started.click()
    assert order(page, cards, "sortHost") == ["host-a:100", "host-c:100", "host-b:100"]
    poll_now(page, "[data-sortable=servers]")
    assert order(page, cards, "sortHost") == ["host-a:100", "host-c:100", "host-b:100"]

    page.goto(page.base + "/schedulers/")
    rows = "table[data-sortable=schedulers] tbody tr"
    page.click("button[data-sort-key=next]")
    assert order(page, rows, "entry") == ["entry-b", "entry-c", "entry-a"]
    page.click("button[data-sort-key=next]")
    assert order(page, rows, "entry") == ["entry-a", "entry-c", "entry-b"]
    poll_now(page, "table[data-sortable=schedulers]")
    assert order(page, rows, "entry") == ["entry-a", "entry-c", "entry-b"]


def test_deleting_selected_tasks_asks_in_the_styled_dialog_and_cancelling_deletes_nothing(
    page: Any, redis_client: redis.Redis
) -> None:
    chosen = [seed_task(redis_client, "pending").id for _ in range(3)]
    other = seed_task(redis_client, "pending").id
    log_in(page)
    page.goto(page.base + "/queues/default/?state=pending")
    for task_id in chosen:
        page.check(f"tr[data-task-id='{task_id}'] input[name=ids]")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    bare: list[str] = []
    page.on("dialog", lambda dialog: (bare.append(dialog.message), dialog.dismiss()))
    dialog = page.locator("#dialog dialog")

    page.click("button:text('Delete selected')")
    expect(dialog.locator("h2")).to_have_text("Delete 3 selected tasks?")
    expect(dialog.locator("[data-confirm-count]")).to_have_text("3")
    assert page.evaluate("document.querySelector('#dialog dialog').matches(':modal')")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.evaluate("() => new Promise(r => setTimeout(r, 0))")  # let any request get issued
    assert posts == []
    expect(page.locator("#flash")).to_have_text("")
    for task_id in [*chosen, other]:
        assert redis_client.exists(keys.task_key("default", task_id))
        expect(page.locator(f"tr[data-task-id='{task_id}']")).to_be_visible()

    page.uncheck(f"tr[data-task-id='{chosen[2]}'] input[name=ids]")
    page.click("button:text('Archive selected')")
    expect(dialog.locator("h2")).to_have_text("Archive 2 selected tasks?")
    dialog.locator("[data-close-dialog]").click()
    expect(dialog).to_have_count(0)
    assert posts == []

    # By keyboard: the dialog takes focus (Cancel first); Tab reaches the confirm button.
    page.focus("button:text('Delete selected')")
    page.keyboard.press("Enter")
    expect(dialog.locator("[data-close-dialog]")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.locator("[data-confirm]")).to_be_focused()
    expect(dialog.locator("[data-confirm]")).to_have_text("Delete 2 tasks")
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("Deleted 2 tasks")
    assert bare == []  # never the browser's own confirm()
    for task_id in chosen[:2]:
        assert not redis_client.exists(keys.task_key("default", task_id))
    for task_id in (chosen[2], other):
        assert redis_client.exists(keys.task_key("default", task_id))

    # One task's Delete asks in the same dialog, with its count of one.
    expect(page.locator(f"tr[data-task-id='{chosen[0]}']")).to_have_count(0)
    page.click(f"tr[data-task-id='{other}'] button[data-action=delete]")
    expect(dialog.locator("h2")).to_have_text("Delete this task?")
    expect(dialog.locator("[data-confirm-count]")).to_have_text("1")
    expect(dialog.locator("p").first).to_contain_text(other)
    # A refresh that lands while the dialog is open replaces the button; confirming still works.
    poll_now(page, "#page")
    dialog.locator("[data-confirm]").click()
    expect(page.locator("#flash")).to_contain_text("Deleted task")
    expect(page.locator(f"tr[data-task-id='{other}']")).to_have_count(0)
    assert not redis_client.exists(keys.task_key("default", other))
    assert bare == []
