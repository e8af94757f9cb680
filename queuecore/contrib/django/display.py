"""The dashboard's display settings, read and validated in one place for the system checks and
the dashboard alike.

* ``QUEUECORE["PAYLOAD_FORMATTERS"]`` / ``["RESULT_FORMATTERS"]``: ``{pattern: formatter}``, a
  pattern being an exact task type, a prefix ending in ``*`` (longest wins) or ``"*"`` (every
  type); a formatter is a dotted path to (or a) callable ``(task_type: str, data: bytes)``
  returning ``str`` (shown as is) or a JSON-serialisable dict/list (shown as pretty JSON).
* ``QUEUECORE["TASK_LINKS"]``: ``[{"label": ..., "url": ...}]``, the url an http(s) template
  with ``{id}``, ``{queue}``, ``{type}``, ``{header.<name>}``, ``{payload.<dotted.json.path>}``
  placeholders (``{{``/``}}`` for literal braces).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from queuecore.contrib.django.conf import queuecore_setting

FORMATTER_SETTINGS = ("PAYLOAD_FORMATTERS", "RESULT_FORMATTERS")
SIMPLE_FIELDS = ("id", "queue", "type")
FIELD_PREFIXES = ("header.", "payload.")
# Checked on the template's literal start, so no placeholder value can choose the scheme.
URL_PREFIXES = ("http://", "https://")


def formatter_entries(setting: str) -> Mapping[Any, Any]:
    """The raw ``{pattern: formatter}`` mapping; ImproperlyConfigured if it is not a mapping."""
    value = queuecore_setting(setting)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f'QUEUECORE["{setting}"] must be a dict of task-type pattern to dotted path, '
            f"got {type(value).__name__}"
        )
    return value


def check_pattern(setting: str, pattern: object) -> str:
    if not isinstance(pattern, str) or not pattern.strip():
        raise ImproperlyConfigured(
            f'QUEUECORE["{setting}"] has a blank or non-string pattern: {pattern!r}'
        )
    if "*" in pattern[:-1]:
        raise ImproperlyConfigured(
            f'QUEUECORE["{setting}"] pattern {pattern!r}: "*" may only end a pattern '
            '(an exact type, a prefix like "email:*", or "*" for every type)'
        )
    return pattern


def load_formatter(setting: str, pattern: str, value: object) -> Callable[[str, bytes], object]:
    """The formatter ``value`` names, imported; ImproperlyConfigured saying why it cannot be."""
    where = f'QUEUECORE["{setting}"][{pattern!r}]'
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(f"{where} cannot be imported: {exc}") from exc
        except Exception as exc:  # a module that fails while importing: say so, do not crash
            raise ImproperlyConfigured(
                f"{where} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
    if not callable(value):
        raise ImproperlyConfigured(f"{where} must name a callable (task_type, data), got {value!r}")
    return value  # type: ignore[no-any-return]


def formatter_name(value: object) -> str:
    if isinstance(value, str):
        return value
    module = getattr(value, "__module__", "") or ""
    qualname = getattr(value, "__qualname__", "") or repr(value)
    return f"{module}.{qualname}" if module else qualname


@dataclass(frozen=True, kw_only=True)
class LinkTemplate:
    """One validated TASK_LINKS entry: its literal text and placeholders, in order."""

    label: str
    url: str
    parts: tuple[tuple[str, str | None], ...]
    """(literal text, placeholder field or None) pairs, as ``string.Formatter.parse`` gives."""

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for _, field in self.parts if field is not None)


def parse_link(entry: object, index: int = 0) -> LinkTemplate:
    where = f'QUEUECORE["TASK_LINKS"][{index}]'
    if not isinstance(entry, Mapping):
        raise ImproperlyConfigured(f'{where} must be a dict with "label" and "url", got {entry!r}')
    label, url = entry.get("label"), entry.get("url")
    if not isinstance(label, str) or not label.strip():
        raise ImproperlyConfigured(f'{where} needs a non-blank "label"')
    if not isinstance(url, str) or not url.lower().startswith(URL_PREFIXES):
        raise ImproperlyConfigured(
            f"{where} ({label}): the url must start with http:// or https://, got {url!r}"
        )
    try:
        parsed = list(string.Formatter().parse(url))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{where} ({label}): {exc} (write {{{{ and }}}} for literal braces)"
        ) from exc
    parts: list[tuple[str, str | None]] = []
    for literal, field, spec, conversion in parsed:
        if field is not None and (spec or conversion or not _known_field(field)):
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ImproperlyConfigured(
                f"{where} ({label}): unknown placeholder {{{shown}}}; use {{id}}, {{queue}}, "
                "{type}, {header.<name>} or {payload.<dotted.json.path>}"
            )
        parts.append((literal, field))
    return LinkTemplate(label=label, url=url, parts=tuple(parts))


def _known_field(field: str) -> bool:
    if field in SIMPLE_FIELDS:
        return True
    prefix, _, rest = field.partition(".")
    if prefix == "header":
        return bool(rest)
    if prefix == "payload":
        return bool(rest) and all(rest.split("."))
    return False


def link_entries() -> Sequence[Any]:
    value = queuecore_setting("TASK_LINKS")
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ImproperlyConfigured(
            'QUEUECORE["TASK_LINKS"] must be a list of {"label": ..., "url": ...} dicts'
        )
    return value
