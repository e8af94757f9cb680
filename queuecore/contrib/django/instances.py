"""The Redis instances one dashboard watches: ``QUEUECORE["INSTANCES"]`` plus the default one.

The default instance, ``"default"``, is today's single Redis (``REDIS`` / ``REDIS_URL``) and keeps
today's URLs; every other instance is served under ``i/<name>/`` with URL namespaces
``dashboard@<name>``, ``api@<name>`` and ``queuecore@<name>`` (``dashboard.site_urls``). The
instance of a request is read once from its URL namespace and held in a context variable for that
request (:func:`using`), so the connection lookup, the read-only switch and the roles all ask
:func:`current` instead of being handed the instance by every view.

    QUEUECORE = {
        "REDIS_URL": "redis://prod-redis:6379/0",
        "INSTANCES": {
            "default": {"LABEL": "Production", "COLOR": "#b91c1c", "READ_ONLY": True},
            "staging": {"URL": "redis://staging-redis:6379/0", "COLOR": "#2563eb"},
            "eu": {"URL": {"SENTINELS": ["s1:26379"], "MASTER_NAME": "eu"}, "TIMEOUT": 0.5},
        },
    }

``URL`` takes every form ``RedisSettings.coerce`` does (plain, TLS, Sentinel, Cluster, a settings
dict); ``TIMEOUT`` is how long the fleet overview waits for the instance before showing it down.
Errors in this setting are reported by the system checks ``queuecore.E020`` (a malformed entry)
and ``queuecore.E021`` (a URL that is not a usable Redis).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from queuecore.contrib.django.conf import queuecore_setting, redis_url

DEFAULT = "default"
# Seconds the fleet overview waits for one instance by default.
DEFAULT_TIMEOUT = 1.0
# Names go into URLs and URL namespaces: lower-case, no "@", ":" or "/".
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# A colour goes into a style attribute: a hex colour or a plain CSS colour word, nothing else.
COLOR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")
KNOWN_KEYS = frozenset({"URL", "LABEL", "COLOR", "READ_ONLY", "TIMEOUT"})
NAMESPACE_MARK = "@"


@dataclass(frozen=True, kw_only=True)
class Instance:
    name: str
    # The Redis as one URL string (dict settings are turned into their URL).
    url: str
    # What the switcher and the fleet overview show; the name when not given.
    label: str
    # A CSS colour for the instance's badge; "" for none.
    color: str = ""
    # No change at all on this instance (on top of the global READ_ONLY switch).
    read_only: bool = False
    # Seconds the fleet overview gives this instance before showing it down.
    timeout: float = DEFAULT_TIMEOUT

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT


class UnknownInstanceError(LookupError):
    """No instance of that name is configured."""


class InstanceURLError(ImproperlyConfigured):
    """An instance's URL is not a usable Redis (check queuecore.E021)."""


class DefaultURLError(InstanceURLError):
    """``REDIS``/``REDIS_URL`` itself is not usable: check queuecore.E001 reports it."""


def _entries() -> dict[str, Any]:
    value = queuecore_setting("INSTANCES") or {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured('QUEUECORE["INSTANCES"] must be a dict of name -> settings')
    return dict(value)


def _url(name: str, value: Any) -> str:
    from queuecore.rdb.connection import RedisSettings

    if value is None or value == "":
        if name == DEFAULT:
            try:
                return redis_url()
            except (ValueError, TypeError) as exc:
                raise DefaultURLError(str(exc)) from exc
        raise InstanceURLError(f'QUEUECORE["INSTANCES"]["{name}"] needs a "URL"')
    try:
        return RedisSettings.coerce(value).to_url()
    except (ValueError, TypeError) as exc:
        raise InstanceURLError(
            f'QUEUECORE["INSTANCES"]["{name}"]["URL"] is not a Redis URL: {exc}'
        ) from exc


def _parse(name: Any, entry: Any) -> Instance:
    where = f'QUEUECORE["INSTANCES"][{name!r}]'
    if not isinstance(name, str) or not NAME.match(name):
        raise ImproperlyConfigured(
            f"{where}: an instance name is 1-40 lower-case letters, digits, '-' or '_'"
        )
    if not isinstance(entry, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict")
    unknown = set(entry) - KNOWN_KEYS
    if unknown:
        raise ImproperlyConfigured(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    color = entry.get("COLOR") or ""
    if color and (not isinstance(color, str) or not COLOR.match(color)):
        raise ImproperlyConfigured(f'{where}["COLOR"] must be a hex colour or a CSS colour name')
    timeout = entry.get("TIMEOUT", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise ImproperlyConfigured(f'{where}["TIMEOUT"] must be seconds between 0 and 60')
    return Instance(
        name=name,
        url=_url(name, entry.get("URL")),
        label=str(entry.get("LABEL") or (name if name != DEFAULT else "default")),
        color=color,
        read_only=bool(entry.get("READ_ONLY", False)),
        timeout=float(timeout),
    )


def problems() -> list[ImproperlyConfigured]:
    """Every entry's error, for the system checks (``configured`` stops at the first)."""
    try:
        entries = _entries()
    except ImproperlyConfigured as exc:
        return [exc]
    found = []
    for name, entry in [(DEFAULT, entries.pop(DEFAULT, {})), *entries.items()]:
        try:
            _parse(name, entry)
        except DefaultURLError:
            continue
        except ImproperlyConfigured as exc:
            found.append(exc)
    return found


def configured() -> tuple[Instance, ...]:
    """Every instance, the default first, then in the setting's order."""
    entries = _entries()
    default = _parse(DEFAULT, entries.pop(DEFAULT, {}))
    return (default, *(_parse(name, entry) for name, entry in entries.items()))


def names() -> tuple[str, ...]:
    """The names only, from the setting's keys (what the URL patterns are built from)."""
    return (DEFAULT, *(name for name in _entries() if name != DEFAULT))


def get(name: str) -> Instance:
    for instance in configured():
        if instance.name == name:
            return instance
    raise UnknownInstanceError(f"No Redis instance named {name!r} is configured.")


_current: ContextVar[str] = ContextVar("queuecore_instance", default=DEFAULT)


def current() -> Instance:
    """The instance of the request (or command) being served; the default one outside any."""
    return get(_current.get())


def current_name() -> str:
    return _current.get()


@contextmanager
def using(name: str) -> Iterator[Instance]:
    """Serve ``name`` for the duration of the block (a request, a command, a test)."""
    instance = get(name)
    token = _current.set(name)
    try:
        yield instance
    finally:
        _current.reset(token)


def namespace(app: str, name: str) -> str:
    """The URL namespace of ``app`` ("dashboard", "api", "queuecore") for instance ``name``."""
    return app if name == DEFAULT else f"{app}{NAMESPACE_MARK}{name}"


def of_request(request: HttpRequest) -> str:
    """The instance a request's URL is under (its ``<app>@<name>`` namespace), else the default."""
    match = getattr(request, "resolver_match", None)
    for space in reversed(match.namespaces if match is not None else []):
        _app, mark, name = space.partition(NAMESPACE_MARK)
        if mark and name:
            return name
    return DEFAULT


def command_url(redis_url_option: str | None, instance_option: str | None) -> str:
    """The Redis a ``manage.py`` command works on: ``--redis-url``, else ``--instance``'s URL,
    else the default instance's. Raises CommandError for an unknown instance or both given."""
    from django.core.management import CommandError

    if redis_url_option and instance_option:
        raise CommandError("give --redis-url or --instance, not both")
    if redis_url_option:
        return redis_url_option
    try:
        return get(instance_option or DEFAULT).url
    except UnknownInstanceError as exc:
        known = ", ".join(names())
        raise CommandError(f"{exc} Configured: {known}.") from exc


def add_instance_argument(parser: Any) -> None:
    parser.add_argument(
        "--instance",
        default=None,
        help='a name from QUEUECORE["INSTANCES"] (default: the "default" instance, REDIS_URL)',
    )
