"""Django settings, read from the environment with safe defaults.

Production: set ``DJANGO_ENV=production`` (or ``DEBUG=0``) with ``SECRET_KEY`` and
``ALLOWED_HOSTS``; the production defaults then pass ``manage.py check --deploy``.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


PRODUCTION = os.environ.get("DJANGO_ENV", "").lower() == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production (DJANGO_ENV=production)")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "queuecore.contrib.django",
    "dashboard",
]

# The demo app (example handlers, `manage.py demo`, a cron entry) only where asked for: scripts/run
# sets DEMO=1. Off otherwise, so tests and production see no demo handlers or schedule.
DEMO = env_bool("DEMO", False)
if DEMO:
    INSTALLED_APPS.append("demo")
# The demo's one periodic task (runscheduler), so the Schedulers page has an entry.
DEMO_SCHEDULE = [
    {
        "cron": "@every 30s",
        "task": "report:generate",
        "payload": {"report": "kpi-snapshot", "account": 0},
        "options": {"queue": "low", "max_retry": 1, "timeout": 300, "retention": 3600},
    }
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view needs login unless marked @login_not_required (login page, health checks).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        # Django's engine, showing names that are not UTF-8 as \xNN (dashboard.template_backend).
        "BACKEND": "dashboard.template_backend.DashboardTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context.dashboard",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DATABASE_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

FORCE_SCRIPT_NAME = os.environ.get("FORCE_SCRIPT_NAME") or None
_prefix = (FORCE_SCRIPT_NAME or "").rstrip("/")
STATIC_URL = f"{_prefix}/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"

# Production hardening; each can be relaxed through the environment for a TLS-terminating proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Load balancers probe /healthz over plain HTTP inside the network; don't redirect them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

# The one place queuecore is configured from Django (read by queuecore.contrib.django.conf).
QUEUECORE = {
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    "QUEUES": {"critical": 6, "default": 3, "low": 1},
    "CONCURRENCY": int(os.environ.get("QUEUECORE_CONCURRENCY", "10")),
    "STRICT_PRIORITY": False,
    "SHUTDOWN_TIMEOUT": 8,
    "SCHEDULE": DEMO_SCHEDULE if DEMO else [],
    # The demo's digest groups become one e-mail each (asynq's GroupAggregator).
    "GROUP_AGGREGATOR": "demo.tasks.aggregate_digest" if DEMO else None,
    "READ_ONLY": env_bool("QUEUECORE_READ_ONLY", False),
    # Bearer token Prometheus sends to /metrics (a logged-in dashboard user needs none).
    "METRICS_TOKEN": os.environ.get("QUEUECORE_METRICS_TOKEN", ""),
    # The Prometheus scraping /metrics, for the Metrics page and GET /api/metrics ("" = off).
    "PROMETHEUS_URL": os.environ.get("QUEUECORE_PROMETHEUS_URL", ""),
    # JSON API tokens: "token:username,..."; a token acts as that user, with that user's role.
    "API_TOKENS": {
        token: user
        for token, _, user in (i.partition(":") for i in env_list("QUEUECORE_API_TOKENS", []))
        if token and user
    },
}

# Django's own task API (@task ... .enqueue()) onto these queues; runworker executes them.
# Priority >= 50 goes to "critical", <= -50 to "low", else the task's queue_name (see the backend).
TASKS = {
    "default": {
        "BACKEND": "queuecore.contrib.django.tasks_backend.QueuecoreBackend",
        "QUEUES": ["critical", "default", "low"],
        "OPTIONS": {},
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
