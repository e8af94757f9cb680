"""Helpers for the real-browser tests; the fixtures (browser, page, operator_user) are the
suite-wide plugin tests.support.browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.browser import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def log_in(page: Any, username: str = "browser-operator") -> None:
    page.goto(page.base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(page.base + "/")


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
