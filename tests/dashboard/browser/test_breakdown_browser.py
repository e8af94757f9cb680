"""The Breakdown panel in Debian's chromium: loaded once per state tab, kept across polls."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from tests.dashboard.browser.conftest import log_in, screenshot
from tests.support.factories import seed_task

pytestmark = pytest.mark.browser


def test_the_breakdown_panel_loads_per_tab_survives_polls_and_links_to_the_search(
    page: Any, redis_client: redis.Redis
) -> None:
    for n in range(4):
        seed_task(redis_client, "archived", type="email:send", error_msg=f"timeout after {n}s")
    seed_task(redis_client, "archived", type="report:build", error_msg="<b>not bold</b> 7")
    seed_task(redis_client, "retry", type="image:resize", error_msg="disk full", retried=1)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/breakdown" in r.url else None)
    log_in(page)

    page.goto(page.base + "/queues/default/?state=archived")
    panel = page.locator("#breakdown-archived")
    expect(panel.locator("table.breakdown-types")).to_contain_text("email:send")
    expect(panel.locator("table.breakdown-errors")).to_contain_text("timeout after <n>s")
    expect(panel.locator("table.breakdown-errors code").last).to_have_text("<b>not bold</b> 7")
    expect(panel).to_contain_text("Scanned all 5 archived tasks.")
    screenshot(page, "breakdown-archived")

    # A refresh of the page (what polling does) keeps the panel as it is instead of reloading it.
    with page.expect_response(lambda r: "/queues/default/?state=archived" in r.url):
        page.evaluate("htmx.trigger(document.body, 'dashboard:changed')")
    expect(panel.locator("table.breakdown-types")).to_contain_text("report:build")
    assert len(fetched) == 1

    page.click("nav.tabs a[data-state=retry]")
    expect(page.locator("#breakdown-retry table.breakdown-types")).to_contain_text("image:resize")
    assert len(fetched) == 2

    page.click("nav.tabs a[data-state=archived]")
    page.locator("#breakdown-archived table.breakdown-types a", has_text="report:build").click()
    expect(page.locator("#task-rows tr")).to_have_count(1)
    expect(page.locator("#task-rows")).to_contain_text("report:build")
