"""The system checks that tell a project what "Add to your Django project" still lacks."""

from __future__ import annotations

from typing import Any

from django.core.management import ManagementUtility
from django.test import override_settings

from dashboard import checks


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_this_projects_settings_pass_every_dashboard_check() -> None:
    assert checks.check_context_processor() == []
    assert checks.check_apps_and_middleware() == []
    assert checks.check_login_urls() == []


def test_a_missing_context_processor_is_reported(settings: Any) -> None:
    engine = {**settings.TEMPLATES[0], "OPTIONS": {"context_processors": []}}
    with override_settings(TEMPLATES=[engine]):
        assert ids(checks.check_context_processor()) == ["dashboard.E001"]


def test_a_missing_htmx_middleware_is_reported(settings: Any) -> None:
    without = [m for m in settings.MIDDLEWARE if m != checks.HTMX_MIDDLEWARE]
    with override_settings(MIDDLEWARE=without):
        assert ids(checks.check_apps_and_middleware()) == ["dashboard.E003"]


def test_missing_login_and_logout_url_names_are_reported() -> None:
    with override_settings(ROOT_URLCONF="dashboard.site_urls"):
        (error,) = checks.check_login_urls()
    assert error.id == "dashboard.E004"
    assert "login, logout" in error.msg


def test_manage_py_help_lists_our_commands_under_queuecore_not_django() -> None:
    text = ManagementUtility(["manage.py", "help"]).main_help_text()
    ours = text.split("[queuecore]\n", 1)[1].split("\n\n", 1)[0].split()
    assert {"runworker", "runscheduler", "queue", "task", "cron", "health"} <= set(ours)
    django_section = text.split("[django]\n", 1)[1].split("\n\n", 1)[0].split()
    assert "runworker" not in django_section


def test_django_s_own_engine_passes_as_well_as_the_dashboard_s_subclass(settings: Any) -> None:
    assert settings.TEMPLATES[0]["BACKEND"] == "dashboard.template_backend.DashboardTemplates"
    engine = {**settings.TEMPLATES[0], "BACKEND": checks.DJANGO_TEMPLATES}
    with override_settings(TEMPLATES=[engine]):
        assert checks.check_context_processor() == []
