"""Deep links out of a task (``QUEUECORE["TASK_LINKS"]``): logs, traces, error trackers.

Each placeholder's value is URL-quoted as one component (``/``, ``?``, ``&``, ``#`` included),
so a payload or header can fill in a value but never change the link's scheme, host or shape.
A link any of whose placeholders has no value (a missing header, a payload path that is absent,
null, empty or not a scalar) is left out rather than shown half-filled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured

from queuecore import TaskInfo
from queuecore.contrib.django import display

_MISSING = object()


@dataclass(frozen=True)
class TaskLink:
    label: str
    url: str


def templates() -> Iterator[display.LinkTemplate]:
    """The valid TASK_LINKS entries; invalid ones are reported by the check queuecore.E009."""
    try:
        entries = display.link_entries()
    except ImproperlyConfigured:
        return
    for index, entry in enumerate(entries):
        try:
            yield display.parse_link(entry, index)
        except ImproperlyConfigured:
            continue


def task_links(task: TaskInfo, formatted_payload: str | None = None) -> tuple[TaskLink, ...]:
    """The links for ``task``. ``{payload.…}`` reads the payload as JSON, or, when it is not
    JSON, the payload formatter's text (e.g. a gzip_json payload)."""
    values = _Values(task, formatted_payload)
    links = []
    for template in templates():
        url = _fill(template, values)
        if url is not None:
            links.append(TaskLink(template.label, url))
    return tuple(links)


def _fill(template: display.LinkTemplate, values: _Values) -> str | None:
    pieces = []
    for literal, field in template.parts:
        pieces.append(literal)
        if field is None:
            continue
        value = values.get(field)
        if value is None:
            return None
        pieces.append(quote(value, safe=""))
    return "".join(pieces)


class _Values:
    """Placeholder values of one task; the payload is parsed at most once, and only if used."""

    def __init__(self, task: TaskInfo, formatted_payload: str | None) -> None:
        self._task = task
        self._formatted = formatted_payload
        self._document: Any = _MISSING

    def get(self, field: str) -> str | None:
        if field == "id":
            return self._task.id or None
        if field == "queue":
            return self._task.queue or None
        if field == "type":
            return self._task.type or None
        kind, _, rest = field.partition(".")
        if kind == "header":
            return self._task.headers.get(rest) or None
        return _scalar(_walk(self._payload(), rest.split(".")))

    def _payload(self) -> Any:
        if self._document is _MISSING:
            self._document = _json(self._task.payload)
            if self._document is _MISSING and self._formatted is not None:
                self._document = _json(self._formatted)
        return self._document


def _json(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except ValueError:  # includes UnicodeDecodeError
        return _MISSING


def _walk(document: Any, path: list[str]) -> Any:
    node = document
    for step in path:
        if isinstance(node, Mapping):
            node = node.get(step, _MISSING)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return _MISSING
    return node


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool | int | float):
        return json.dumps(value)  # true/false and numbers as JSON writes them
    return None  # missing, null, or an object/array
