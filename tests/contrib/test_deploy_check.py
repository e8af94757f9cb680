"""Production settings: `manage.py check --deploy` passes with no warning; the demo stays out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "prod-secret-8f2b1c9d7e6a5f4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # The test process sets DJANGO_ALLOW_ASYNC_UNSAFE (for Playwright); a deployment must not.
    dropped = ("DEBUG", "DEMO", "DJANGO_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": "queues.example.com",
}


@pytest.mark.slow
def test_check_deploy_passes_with_no_warnings_in_production() -> None:
    done = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.slow
def test_production_settings_leave_the_demo_out_and_debug_off() -> None:
    code = (
        "from django.conf import settings; "
        "print(settings.DEBUG, 'demo' in settings.INSTALLED_APPS, settings.SESSION_COOKIE_SECURE)"
    )
    done = run_manage("shell", "-v", "0", "-c", code, **PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True"]


@pytest.mark.slow
def test_production_settings_refuse_to_start_without_a_secret_key() -> None:
    done = run_manage("check", DJANGO_ENV="production", ALLOWED_HOSTS="queues.example.com")
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


@pytest.mark.slow
def test_demo_is_installed_only_when_asked_for() -> None:
    code = "from django.conf import settings; print('demo' in settings.INSTALLED_APPS)"

    def installed(**env: str) -> str:
        return run_manage("shell", "-v", "0", "-c", code, **env).stdout.strip()

    assert installed(DEMO="1", **PRODUCTION) == "True"
    assert installed(DEMO="1") == "True"
    assert installed(DEBUG="1") == "False"
    assert installed() == "False"
