"""A scheduler entry's stored option strings as Client keywords, for "run now".

asynq keeps an entry's enqueue options only as the strings Go's ``Option.String()`` writes
(``Queue("low")``, ``MaxRetry(3)``, ``Timeout(2m0s)``, ``Deadline(Wed Nov 25 17:36:42 UTC 2026)``).
``queuecore.options.parse_option`` reads each one; this module is stricter than Go's inspector,
which silently drops what it cannot read: running an entry with an option left out would enqueue a
different task than the scheduler does, so anything unreadable refuses the whole run instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from queuecore.errors import InvalidArgumentError
from queuecore.options import go_quote, parse_option

# Go writes Deadline/ProcessAt in the scheduler's local zone ("CET", "EST", ...). Only these zones
# name a single offset; any other abbreviation could mean several, so it is refused, not guessed.
_EXACT_ZONE = re.compile(r"UTC|GMT|[+-]\d{2}:?\d{2}")
_MOMENTS = ("Deadline", "ProcessAt")
_WHEN = ("process_in", "process_at")


def enqueue_keywords(texts: Iterable[str]) -> dict[str, Any]:
    """Client.enqueue keywords equal to Go's options ``texts``; later options win, as in Go.

    Raises InvalidArgumentError naming the first string that cannot be read exactly.
    """
    keywords: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for text in texts:
        try:
            option = parse_option(text)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"cannot run this entry: its option {go_quote(text)} is not one this dashboard "
                f"can read ({exc})"
            ) from None
        if option.name in _MOMENTS:
            _require_exact_zone(text)
        if option.name == "Header":
            key, value = option.value
            headers[key] = value
            continue
        if option.keyword in _WHEN:
            # ProcessIn and ProcessAt are one choice in Go: the last one given wins.
            for name in _WHEN:
                keywords.pop(name, None)
        keywords[option.keyword] = option.value
    if headers:
        keywords["headers"] = headers
    return keywords


def _require_exact_zone(text: str) -> None:
    words = text[text.find("(") + 1 : text.rfind(")")].split()
    zone = words[-2] if len(words) >= 2 else ""
    if not _EXACT_ZONE.fullmatch(zone):
        raise InvalidArgumentError(
            f"cannot run this entry: its option {go_quote(text)} names the time zone "
            f"{go_quote(zone)}, whose offset is not known here (only UTC, GMT or +hhmm are read)"
        )
