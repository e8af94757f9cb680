"""System checks for a project that installs the dashboard: what "Add to your Django project" in
the README asks for, reported by ``manage.py check`` instead of a template error on the first page.

* dashboard.E001  ``dashboard.context.dashboard`` is not a context processor of any
                  DjangoTemplates backend (pages would lose the user's abilities and preferences)
* dashboard.E002  ``django_htmx`` or ``queuecore.contrib.django`` is not installed
* dashboard.E003  ``django_htmx.middleware.HtmxMiddleware`` is not in MIDDLEWARE
* dashboard.E004  the URL names ``login`` and ``logout`` do not resolve (the pages link to them;
                  ``include("django.contrib.auth.urls")`` provides both)
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.template.backends.django import DjangoTemplates
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

HINT = 'See "Add to your Django project" in the README.'
CONTEXT_PROCESSOR = "dashboard.context.dashboard"
HTMX_MIDDLEWARE = "django_htmx.middleware.HtmxMiddleware"
DJANGO_TEMPLATES = "django.template.backends.django.DjangoTemplates"


@checks.register(checks.Tags.templates)
def check_context_processor(**kwargs: Any) -> list[checks.CheckMessage]:
    engines: list[dict[str, Any]] = list(settings.TEMPLATES)
    for engine in engines:
        processors = engine.get("OPTIONS", {}).get("context_processors", [])
        if _is_django_templates(engine.get("BACKEND", "")) and CONTEXT_PROCESSOR in processors:
            return []
    return [
        checks.Error(
            f'"{CONTEXT_PROCESSOR}" is not in TEMPLATES[...]["OPTIONS"]["context_processors"]',
            hint=HINT,
            id="dashboard.E001",
        )
    ]


def _is_django_templates(backend: str) -> bool:
    """DjangoTemplates or a subclass, such as ``dashboard.template_backend.DashboardTemplates``."""
    if backend == DJANGO_TEMPLATES:
        return True
    try:
        found = import_string(backend)
    except ImportError:
        return False
    return isinstance(found, type) and issubclass(found, DjangoTemplates)


@checks.register()
def check_apps_and_middleware(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    # By label: the queuecore app's module name is not its INSTALLED_APPS entry (see its apps.py).
    labels = {config.label for config in apps.get_app_configs()}
    needed = {"django_htmx": "django_htmx", "queuecore.contrib.django": "queuecore"}
    missing = [entry for entry, label in needed.items() if label not in labels]
    if missing:
        errors.append(
            checks.Error(
                f"the dashboard needs {', '.join(missing)} in INSTALLED_APPS",
                hint=HINT,
                id="dashboard.E002",
            )
        )
    if HTMX_MIDDLEWARE not in settings.MIDDLEWARE:
        message = f'"{HTMX_MIDDLEWARE}" is not in MIDDLEWARE'
        errors.append(checks.Error(message, hint=HINT, id="dashboard.E003"))
    return errors


@checks.register(checks.Tags.urls)
def check_login_urls(**kwargs: Any) -> list[checks.CheckMessage]:
    unresolved = []
    for name in ("login", "logout"):
        try:
            reverse(name)
        except NoReverseMatch:
            unresolved.append(name)
    if not unresolved:
        return []
    return [
        checks.Error(
            f"the dashboard links to the URL name(s) {', '.join(unresolved)}, which do not resolve",
            hint='Add path("accounts/", include("django.contrib.auth.urls")) to your URLconf.',
            id="dashboard.E004",
        )
    ]
