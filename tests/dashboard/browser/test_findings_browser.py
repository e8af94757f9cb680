"""In chromium: the overview's Findings panel comes with the page, and pausing a queue from the
overview turns its "no consumer" finding into a "paused" one without a reload (the page's refresh
after the action carries the panel)."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from tests.dashboard.browser.conftest import log_in, screenshot
from tests.support.factories import seed_task

pytestmark = pytest.mark.browser


def test_the_findings_panel_loads_and_follows_actions(page: Any, redis_client: redis.Redis) -> None:
    seed_task(redis_client, "pending", queue="critical")
    for _ in range(3):
        seed_task(redis_client, "archived", queue="critical")
    log_in(page)
    panel = page.locator("#findings")
    expect(panel.locator("li[data-rule=no_consumer]")).to_contain_text(
        "Queue critical has 1 pending task"
    )
    expect(panel.locator(".badge-error").first).to_have_text("1 critical")
    screenshot(page, "overview-findings")

    page.locator("tr[data-queue=critical] button:text('Pause')").click()
    expect(panel.locator("li[data-rule=paused_backlog]")).to_contain_text("is paused")
    expect(panel.locator("li[data-rule=no_consumer]")).to_have_count(0)

    panel.locator("li[data-rule=paused_backlog] a").click()
    page.wait_for_url("**/queues/critical/?state=pending")


def test_a_healthy_overview_says_no_findings(page: Any) -> None:
    log_in(page)
    expect(page.locator("#findings")).to_have_text("No findings.")
