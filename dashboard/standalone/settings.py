"""Settings of the standalone dashboard, read from the environment ``queuecore-dashboard`` sets.

A project of your own does not use these: it adds the apps to its settings (README, "Add to your
Django project"). Every ``QUEUECORE_STANDALONE_*`` variable is written by
``dashboard.standalone.cli``.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_ENV = "QUEUECORE_STANDALONE_"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(_ENV + name, default)


DATA_DIR = Path(_env("DATA_DIR") or ".")
SECRET_KEY = _env("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("start the standalone dashboard with queuecore-dashboard")

DEBUG = False
# Like Asynqmon, any Host is served unless the operator narrows it (a comma-separated list).
ALLOWED_HOSTS = [h.strip() for h in _env("ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in _env("CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]

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

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard.standalone.urls"
WSGI_APPLICATION = "dashboard.standalone.wsgi.application"

TEMPLATES = [
    {
        # Django's engine, showing names that are not UTF-8 as \xNN (dashboard.template_backend).
        "BACKEND": "dashboard.template_backend.DashboardTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "dashboard.sqlite3"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = _env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --root-path ("" or "/a/b"): the URLconf mounts everything under it (see urls.py), so a request
# outside it is an ordinary 404 and no proxy needs to strip anything.
ROOT_PATH = _env("ROOT_PATH")
# WhiteNoise serves the apps' files from the finders: no collectstatic, nothing in the data dir.
STATIC_URL = f"{ROOT_PATH}/static/"
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind a TLS-terminating proxy, QUEUECORE_STANDALONE_SECURE_COOKIES=1 keeps cookies off HTTP.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env("SECURE_COOKIES") == "1"
X_FRAME_OPTIONS = "DENY"

QUEUECORE = {
    "REDIS_URL": _env("REDIS_URL", "redis://127.0.0.1:6379/0"),
    "READ_ONLY": _env("READ_ONLY") == "1",
    "PROMETHEUS_URL": _env("PROMETHEUS_URL"),
    "METRICS_TOKEN": _env("METRICS_TOKEN"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _env("LOG_LEVEL", "INFO")},
}
