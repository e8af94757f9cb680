"""Real-browser fixtures, one definition for the whole suite: Playwright's sync API driving
Debian's chromium (never downloaded). A plugin rather than a conftest, so that browser tests
outside tests/dashboard/browser share the one session browser: a second sync Playwright started
in the same process fails ("using Playwright Sync API inside the asyncio loop").
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "browser-pw-12345"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (scripts/system-deps installs chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def operator_user(transactional_db: None) -> Any:
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("browser-operator", password=PASSWORD)
    user.groups.add(Group.objects.get(name="operator"))
    return user


@pytest.fixture
def page(
    browser: Any, live_server: Any, queuecore_settings: str, operator_user: Any
) -> Iterator[Any]:
    """A fresh browser page, not yet logged in; ``page.base`` is the live server's URL."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(8000)
    opened = context.new_page()
    opened.base = live_server.url
    yield opened
    context.close()
