"""The dashboard in Debian's chromium: log in, retry an archived task, delete selected rows,
pause a queue, all without a full page reload; screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from queuecore import keys
from tests.dashboard.browser.conftest import log_in, screenshot
from tests.support.factories import seed_task

pytestmark = pytest.mark.browser


def mark_document(page: Any) -> None:
    """A flag that only survives if the page is never fully reloaded."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__noReload === true")


def test_retrying_an_archived_task_moves_it_to_pending_without_a_reload(
    page: Any, redis_client: redis.Redis
) -> None:
    first = seed_task(redis_client, "archived", error_msg="card declined <b>bold</b>").id
    second = seed_task(redis_client, "archived", error_msg="timeout").id
    seed_task(redis_client, "pending")
    seed_task(redis_client, "retry", queue="low", error_msg="flaky")

    log_in(page)
    expect(page.locator("table.queues-table")).to_contain_text("default")
    screenshot(page, "overview")

    page.click("tr[data-queue=default] a:text('default')")
    page.click("nav.tabs a[data-state=archived]")
    expect(page.locator(f"tr[data-task-id='{first}']")).to_be_visible()
    screenshot(page, "queue-archived")
    mark_document(page)

    page.click(f"tr[data-task-id='{first}'] button[data-action=run]")
    expect(page.locator("#flash")).to_contain_text("moved to pending")
    expect(page.locator(f"tr[data-task-id='{first}']")).to_have_count(0)
    expect(page.locator("nav.tabs a[data-state=archived] .count")).to_have_text("1")
    page.click("nav.tabs a[data-state=pending]")
    expect(page.locator(f"tr[data-task-id='{first}']")).to_be_visible()
    assert_not_reloaded(page)

    page.goto(f"{page.base}/queues/default/tasks/{second}/")
    expect(page.locator("[data-task-state]")).to_have_text("archived")
    screenshot(page, "task-detail")
    mark_document(page)
    page.click("button[data-action=run]")
    expect(page.locator("[data-task-state]")).to_have_text("pending")
    assert_not_reloaded(page)
    assert redis_client.hget(keys.task_key("default", second), "state") == b"pending"


def test_selected_rows_are_deleted(page: Any, redis_client: redis.Redis) -> None:
    doomed = [seed_task(redis_client, "pending").id for _ in range(2)]
    kept = seed_task(redis_client, "pending").id
    log_in(page)
    page.goto(page.base + "/queues/default/?state=pending")
    mark_document(page)
    for task_id in doomed:
        page.check(f"tr[data-task-id='{task_id}'] input[name=ids]")
    page.click("button:text('Delete selected')")
    expect(page.locator("#dialog dialog [data-confirm-count]")).to_have_text("2")
    page.click("#dialog dialog button[data-confirm]")
    expect(page.locator("#flash")).to_contain_text("Deleted 2 tasks")
    for task_id in doomed:
        expect(page.locator(f"tr[data-task-id='{task_id}']")).to_have_count(0)
        assert not redis_client.exists(keys.task_key("default", task_id))
    expect(page.locator(f"tr[data-task-id='{kept}']")).to_be_visible()
    assert_not_reloaded(page)


def test_pausing_a_queue_from_the_overview(page: Any, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "pending", queue="critical")
    log_in(page)
    mark_document(page)
    row = page.locator("tr[data-queue=critical]")
    row.locator("button:text('Pause')").click()
    expect(page.locator("#flash")).to_contain_text("Paused queue critical")
    expect(row.locator(".badge")).to_have_text("paused")
    assert redis_client.exists(keys.paused_key("critical"))
    assert_not_reloaded(page)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "overview-phone")
