"""Servers with their in-flight tasks, scheduler entries, and Redis INFO figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from dashboard.formatters import payload_view
from dashboard.payloads import BytesView
from dashboard.presenters.formatting import format_bytes
from queuecore.inspection import RedisInfo, SchedulerEntry, ServerInfo, WorkerInfo


@dataclass(frozen=True)
class WorkerRow:
    worker: WorkerInfo
    payload: BytesView


@dataclass(frozen=True)
class ServerRow:
    server: ServerInfo
    queues: str
    busy: int
    workers: tuple[WorkerRow, ...]
    status_label: str = ""
    status_tone: str = ""  # a badge modifier: "ok", "warn", or "" (neutral)


# asynq's server states (ServerInfo.status) as the badge says them. "stopped" is a server that
# got SIGTSTP (Server.Stop()): alive, finishing what it holds, taking nothing new.
SERVER_STATUSES = {
    "active": ("active", "ok"),
    "stopped": ("stopped — not taking new tasks", "warn"),
    "closed": ("closed — shutting down", "warn"),
    "new": ("new — starting", ""),
}


def describe_server_status(status: str) -> tuple[str, str]:
    """(badge text, badge tone) for a ServerInfo status; unknown ones are shown as they are."""
    return SERVER_STATUSES.get(status, (status or "unknown", ""))


def server_rows(servers: Iterable[ServerInfo]) -> list[ServerRow]:
    rows = []
    for server in servers:
        weights = sorted(server.queues.items(), key=lambda kv: (-kv[1], kv[0]))
        label, tone = describe_server_status(server.status)
        rows.append(
            ServerRow(
                server=server,
                queues=", ".join(f"{name}: {weight}" for name, weight in weights),
                busy=len(server.active_workers),
                workers=tuple(
                    WorkerRow(w, payload_view(w.task_type, w.task_payload))
                    for w in server.active_workers
                ),
                status_label=label,
                status_tone=tone,
            )
        )
    return rows


@dataclass(frozen=True)
class SchedulerRow:
    entry: SchedulerEntry
    payload: BytesView


def scheduler_rows(entries: Iterable[SchedulerEntry]) -> list[SchedulerRow]:
    return [SchedulerRow(e, payload_view(e.task_type, e.task_payload)) for e in entries]


# The cards Asynqmon shows, in its order: (label, INFO field, how to show it).
REDIS_CARDS = (
    ("Version", "redis_version", "text"),
    ("Uptime", "uptime_in_days", "days"),
    ("Connections", "connected_clients", "text"),
    ("Memory used", "used_memory", "bytes"),
    ("Peak memory", "used_memory_peak", "bytes"),
    ("Fragmentation ratio", "mem_fragmentation_ratio", "text"),
    ("Replicas", "connected_slaves", "text"),
    ("Last save", "rdb_last_save_time", "unix"),
    ("Changes since save", "rdb_changes_since_last_save", "text"),
)


@dataclass(frozen=True)
class RedisCard:
    label: str
    value: str
    moment: datetime | None = None


@dataclass(frozen=True)
class RedisView:
    info: RedisInfo
    cards: tuple[RedisCard, ...]


def _card(label: str, raw: str, how: str) -> RedisCard:
    if raw == "":
        return RedisCard(label, "—")
    if how == "bytes" and raw.isdigit():
        return RedisCard(label, format_bytes(int(raw)))
    if how == "days":
        return RedisCard(label, f"{raw} day{'' if raw == '1' else 's'}")
    if how == "unix" and raw.isdigit():
        return RedisCard(label, "", datetime.fromtimestamp(int(raw)).astimezone())
    return RedisCard(label, raw)


def redis_view(info: RedisInfo) -> RedisView:
    fields: Mapping[str, str] = info.info
    return RedisView(
        info=info,
        cards=tuple(_card(label, str(fields.get(key, "")), how) for label, key, how in REDIS_CARDS),
    )
