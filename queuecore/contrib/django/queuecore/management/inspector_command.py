"""What the queue/task/cron/server commands share: the Inspector, subcommands, tables and JSON.

The commands mirror asynq's CLI (``asynq queue ls``, ``asynq task ls --queue=q --state=s`` ...):
human tables by default, ``--json`` for scripts. Output is what the Inspector returns, nothing more.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queuecore.contrib.django import instances
from queuecore.errors import QueueCoreError
from queuecore.inspector import Inspector

# Longest payload shown in a table cell; --json always gives the whole value.
CELL_WIDTH = 60


def jsonable(value: Any) -> Any:
    """Inspector results as JSON values: bytes as ``{"b64", "text"?}`` like the asynq fixtures,
    times as ISO 8601, durations as seconds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for extra in ("error_rate",):
            if hasattr(value, extra):
                data[extra] = getattr(value, extra)
        return data
    if isinstance(value, bytes):
        encoded: dict[str, str] = {"b64": base64.b64encode(value).decode()}
        with contextlib.suppress(UnicodeDecodeError):
            encoded["text"] = value.decode("utf-8")
        return encoded
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def printable(data: bytes | None, width: int = CELL_WIDTH) -> str:
    """Payload text for a table cell; asynq's CLI words for binary data."""
    if not data:
        return ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "non-printable bytes"
    if not text.isprintable():
        return "non-printable bytes"
    return text if len(text) <= width else text[: width - 1] + "…"


def when(moment: datetime | None, now: datetime) -> str:
    """Relative time as asynq's CLI prints it ("In 4m38s", "22s ago")."""
    if moment is None:
        return "-"
    delta = moment - now
    text = duration(abs(delta))
    return f"In {text}" if delta >= timedelta(0) else f"{text} ago"


def duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


class InspectorCommand(BaseCommand):
    """A command with asynq-style subcommands, each handled by ``handle_<name>(inspector, ...)``."""

    subcommands: Mapping[str, str] = {}

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--redis-url", default=None, help="Redis URL (default: QUEUECORE['REDIS_URL'])"
        )
        instances.add_instance_argument(parser)
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        for name, text in self.subcommands.items():
            sub = subparsers.add_parser(name, help=text, description=text)
            sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
            getattr(self, f"arguments_{name.replace('-', '_')}", lambda _p: None)(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options.pop("subcommand")
        url = instances.command_url(options.pop("redis_url"), options.pop("instance"))
        inspector = Inspector.from_url(url)
        # Subcommands may be hyphenated ("check-layout"); their methods use underscores.
        handler: Callable[..., None] = getattr(self, f"handle_{name.replace('-', '_')}")
        try:
            handler(inspector, **options)
        except QueueCoreError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            inspector.close()

    # -- output ---------------------------------------------------------------------------------

    def emit_json(self, value: Any) -> None:
        self.stdout.write(json.dumps(jsonable(value), indent=2, ensure_ascii=False))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """A plain aligned table with a dashed rule under the header, as asynq's CLI prints."""
        cells = [[str(c) for c in row] for row in rows]
        widths = [len(h) for h in headers]
        for row in cells:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
        self.stdout.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        self.stdout.write("  ".join("-" * len(h) for h in headers))
        for row in cells:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))

    def fields(self, pairs: Sequence[tuple[str, object]]) -> None:
        width = max(len(name) for name, _ in pairs) + 1
        for name, value in pairs:
            self.stdout.write(f"{(name + ':').ljust(width)} {value}")
