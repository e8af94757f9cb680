"""Export archived tasks from a queue page and import the file into another queue, in chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from queuecore import Inspector
from tests.dashboard.browser.conftest import log_in, screenshot
from tests.support.factories import seed_task

pytestmark = pytest.mark.browser


def test_archived_tasks_exported_from_the_queue_page_import_into_another_queue(
    page: Any, redis_client: redis.Redis, queuecore_settings: str, tmp_path: Path
) -> None:
    seed_task(redis_client, "archived", type="email:send", error_msg="smtp: refused", score=1)
    seed_task(
        redis_client,
        "archived",
        type="report:build",
        payload=b'{"note": "<script>alert(1)</script>"}',
        error_msg="timeout",
        score=2,
    )
    log_in(page)
    page.goto(page.base + "/queues/default/?state=archived")
    with page.expect_download() as waiting:
        page.click("a[data-export-format=jsonl]")
    download = waiting.value
    assert download.suggested_filename.startswith("default-archived-")
    path = tmp_path / download.suggested_filename
    download.save_as(str(path))
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["exported"] == 2

    page.click("a[data-import]")
    page.fill("#import-queue", "debug")
    page.set_input_files("#import-file", str(path))
    page.click("button[data-import-preview]")
    expect(page.locator("[data-count=enqueued]")).to_have_text("2")
    expect(page.locator("#import-result")).to_contain_text("<script>alert(1)</script>")
    screenshot(page, "import-preview")
    page.click("button[data-import-confirm]")
    expect(page.locator("[data-import-done]")).to_be_visible()
    expect(page.locator("[data-count=enqueued]")).to_have_text("2")
    screenshot(page, "import-done")

    with Inspector.from_url(queuecore_settings) as insp:
        copies = insp.list_tasks("debug", "pending")
    assert sorted(t.type for t in copies) == ["email:send", "report:build"]
