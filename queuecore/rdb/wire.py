"""Hot-path pipelines sent straight on a pooled connection, bypassing redis-py's ``Pipeline``.

At thousands of calls a second, redis-py's Pipeline object (command stack, retry wrapper, event
dispatch, observability hooks) costs several times the CPU of the round trip itself. The worker's
batches and the client's enqueues go through :func:`send_commands` instead: pack every command,
one ``sendall``, read one reply per command; error replies are returned in place.

Only for a plain single-node or Sentinel client (``redis.Redis``); a cluster client routes per
node and keeps its own pipeline. When the connection fails, :func:`send_commands` returns None
and the caller sends the same commands through its ordinary pipeline, whose retry policy
reconnects (and, under Sentinel, finds the new primary) — exactly what happened before this
path existed, including redis-py's resending of a pipeline whose connection dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis


def direct_client(client: Any) -> redis.Redis | None:
    """``client`` when it can take :func:`send_commands`, else None (a cluster client)."""
    return client if isinstance(client, redis.Redis) else None


def send_commands(client: redis.Redis, commands: Sequence[tuple[Any, ...]]) -> list[Any] | None:
    """Send ``commands`` as one pipeline; one reply (or ResponseError) each, None on a lost link."""
    pool = client.connection_pool
    try:
        conn = pool.get_connection()
    except (redis.ConnectionError, redis.TimeoutError):
        return None
    try:
        conn.send_packed_command(conn.pack_commands(commands))
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(conn.read_response())
            except redis.ResponseError as exc:
                replies.append(exc)
        return replies
    except (redis.ConnectionError, redis.TimeoutError):
        conn.disconnect()
        return None
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)
