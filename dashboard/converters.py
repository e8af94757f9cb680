"""URL converters. Queue names, task ids and group names may hold anything Redis can: "/",
"%", spaces, NULs, and bytes that are not UTF-8 (see ``queuecore.names``).

``name`` is one reversible encoding, kept readable in the address bar: "%" is written ``%25``,
"/" ``%2F`` and each byte that is not UTF-8 ``%XX``; reverse() then percent-encodes those "%"
signs once more, and the server's single decode hands back exactly this form. (A browser's own
``%FF`` in a path arrives the same way: Django re-quotes bytes that are not UTF-8.) Names longer
than :data:`MAX_NAME` characters are refused with a 400 before anything reaches Redis, by
:func:`check_lengths`, which the views' guards call (a converter can only say "no match").
"""

from __future__ import annotations

import re

from django.core.exceptions import BadRequest

from queuecore import TaskState

# Far above any real queue name or task id, far below what would burden Redis or a log line.
MAX_NAME = 4096
_ESCAPED = re.compile(r"%(25|2F|[89A-F][0-9A-F])", re.IGNORECASE)
_SPECIAL = re.compile(r"[%/\udc80-\udcff]")


def _unescape(match: re.Match[str]) -> str:
    code = int(match[1], 16)
    return chr(code) if code < 0x80 else chr(0xDC00 + code)


def _escape(match: re.Match[str]) -> str:
    char = match[0]
    code = ord(char) - 0xDC00 if len(char) == 1 and ord(char) >= 0xDC80 else ord(char)
    return f"%{code:02X}"


def check_lengths(kwargs: dict[str, object]) -> None:
    """Refuse (400) a URL whose names are longer than :data:`MAX_NAME`."""
    for key, value in kwargs.items():
        if isinstance(value, str) and len(value) > MAX_NAME:
            raise BadRequest(f"{key} is longer than {MAX_NAME} characters")


class NameConverter:
    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        return _ESCAPED.sub(_unescape, value)

    def to_url(self, value: str) -> str:
        return _SPECIAL.sub(_escape, value)


class StateConverter:
    regex = "|".join(s.value for s in TaskState)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


class ActionConverter(StateConverter):
    regex = "run|archive|delete|cancel"


class PartConverter(StateConverter):
    regex = "payload|result"


class QueueActionConverter(StateConverter):
    regex = "pause|resume|delete"
