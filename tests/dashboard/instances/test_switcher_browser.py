"""The instance switcher and the fleet page in a real browser (Debian's chromium)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from tests.dashboard.browser.conftest import log_in, screenshot
from tests.support.factories import seed_task


def test_the_switcher_moves_between_instances_and_leads_to_the_fleet(
    fleet: Callable[..., None],
    page: Any,
    redis_client: redis.Redis,
    staging_client: redis.Redis,
) -> None:
    seed_task(redis_client, "pending", queue="orders")
    seed_task(staging_client, "pending", queue="emails")
    log_in(page)

    page.goto(page.base + "/i/staging/")
    switcher = page.locator("nav.instance-switcher")
    assert switcher.locator('[aria-current="true"]').inner_text() == "staging"
    assert page.locator('table.queues-table a:has-text("emails")').is_visible()
    assert page.locator('table.queues-table a:has-text("orders")').count() == 0

    switcher.locator('a:has-text("Production")').click()
    page.wait_for_url(page.base + "/")
    assert page.locator('table.queues-table a:has-text("orders")').is_visible()

    page.locator('nav.instance-switcher a:has-text("Fleet")').click()
    page.wait_for_url(page.base + "/fleet/")
    assert page.locator('tr[data-instance="staging"][data-queue="emails"]').is_visible()
    assert page.locator('tr[data-instance="default"][data-queue="orders"]').is_visible()
    screenshot(page, "fleet-overview")

    page.locator('tr[data-instance="staging"] a:has-text("emails")').click()
    page.wait_for_url(page.base + "/i/staging/queues/emails/")
