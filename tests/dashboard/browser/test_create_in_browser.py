"""Enqueue a task from a queue page in Debian's chromium and find it in the pending tab."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from queuecore import keys
from tests.dashboard.browser.conftest import log_in, screenshot
from tests.support.factories import seed_task

pytestmark = pytest.mark.browser


def test_a_task_enqueued_from_the_queue_page_shows_in_its_pending_tab(
    page: Any, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending", queue="reports")
    log_in(page)
    page.goto(page.base + "/queues/reports/")
    page.click("a[data-enqueue-task]")
    expect(page.locator("#id_queue")).to_have_value("reports")
    page.fill("#id_type", "report:monthly")
    page.fill("#id_payload", '{"month": "2026-10",\n "note": "<b>not bold</b>"}')
    page.fill("#id_max_retry", "3")
    page.fill("#id_headers", "requested-by=browser")
    screenshot(page, "enqueue-form")
    page.click("button[data-enqueue-submit]")

    expect(page.locator("#flash")).to_contain_text("Enqueued task")
    expect(page.locator("[data-task-state]")).to_have_text("pending")
    task_id = page.url.rstrip("/").rsplit("/", 1)[1]
    screenshot(page, "enqueued-task")

    page.goto(page.base + "/queues/reports/?state=pending")
    row = page.locator(f"tr[data-task-id='{task_id}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("report:monthly")
    expect(page.locator("nav.tabs a[data-state=pending] .count")).to_have_text("2")
    stored = redis_client.hget(keys.task_key("reports", task_id), "msg")
    assert stored is not None
    assert b'{"month": "2026-10",\n "note": "<b>not bold</b>"}' in stored
