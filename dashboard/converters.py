"""URL converters. Queue names and task ids may hold any character, "/" included.

``name`` escapes only "%" and "/" so ordinary names stay readable in the address bar; reverse()
then percent-encodes the "%", and the server's single decode hands back the escaped form.
"""

from __future__ import annotations

import re

from queuecore import TaskState

_ESCAPED = re.compile(r"%(25|2F)", re.IGNORECASE)


class NameConverter:
    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        return _ESCAPED.sub(lambda m: "%" if m.group(1) == "25" else "/", value)

    def to_url(self, value: str) -> str:
        return value.replace("%", "%25").replace("/", "%2F")


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
