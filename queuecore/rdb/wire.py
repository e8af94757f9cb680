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

import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from time import monotonic
from typing import Any

import redis
from redis._parsers.hiredis import NOT_ENOUGH_DATA as _NOT_ENOUGH_DATA
from redis.connection import HiredisRespSerializer

from queuecore.names import name_bytes

_pack_command: Callable[[Any], bytes] | None
_PUSH_TYPE: type | None
try:  # redis-py's own packer wraps this one in per-argument Python checks
    from hiredis import pack_command as _pack_command

    # RESP3 push messages (e.g. maintenance notices) may arrive between replies.
    _PUSH_TYPE = getattr(sys.modules["hiredis"], "PushNotification", None)
except ImportError:  # pragma: no cover - hiredis is a pinned dependency
    _pack_command = _PUSH_TYPE = None


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
        return _exchange(conn, commands)
    except (redis.ConnectionError, redis.TimeoutError):
        conn.disconnect()
        return None
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def _exchange(conn: Any, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Write ``commands`` in one go, then read one reply each; a ResponseError is a reply."""
    sock = conn._sock
    reader = getattr(conn._parser, "_reader", None)
    if (
        sock is not None
        and reader is not None
        and (not conn.health_check_interval or monotonic() < conn.next_health_check)
    ):
        return _exchange_on_socket(conn, sock, reader, commands)
    conn.send_packed_command(_pack(conn, commands))
    replies: list[Any] = []
    for _ in commands:
        try:
            replies.append(conn.read_response())
        except redis.ResponseError as exc:
            replies.append(exc)
    return replies


def _exchange_on_socket(
    conn: Any, sock: socket.socket, reader: Any, commands: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """:func:`_exchange` on the connection's socket and hiredis reader, under redis-py's parser.

    redis-py's send and read layers (health check, per-reply host lookup, timeout juggling,
    push dispatch) cost more Python than an enqueue's own work; this does the same I/O with
    the same reader, so the connection stays usable by redis-py afterwards. Error replies come
    back as the ResponseError subclasses redis-py's reader makes; a lost or timed-out link
    disconnects the connection and raises redis-py's ConnectionError or TimeoutError.
    """
    try:
        sock.sendall(b"".join(_pack(conn, commands)))
        replies: list[Any] = []
        wanted = len(commands)
        buffer = conn._parser._buffer
        while len(replies) < wanted:
            reply = reader.gets()
            if reply is _NOT_ENOUGH_DATA:
                received = sock.recv_into(buffer)
                if not received:
                    raise redis.ConnectionError("Connection closed by server.")
                reader.feed(buffer, 0, received)
            elif isinstance(reply, redis.ConnectionError):
                raise reply  # e.g. LOADING: the reader makes these for failover-class errors
            elif _PUSH_TYPE is None or not isinstance(reply, _PUSH_TYPE):
                replies.append(reply)
    except TimeoutError:  # socket.timeout
        conn.disconnect()
        raise redis.TimeoutError("Timeout talking to Redis") from None
    except OSError as exc:
        conn.disconnect()
        raise redis.ConnectionError(f"Error talking to Redis: {exc}") from None
    except BaseException:
        # Replies may be left unread on the socket: the connection must not be reused.
        conn.disconnect()
        raise
    if conn.health_check_interval:
        conn.next_health_check = monotonic() + conn.health_check_interval
    return replies


def _pack(conn: Any, commands: Sequence[tuple[Any, ...]]) -> list[bytes]:
    """The RESP bytes of ``commands`` (plain str/bytes/int/float arguments, no spaced names)."""
    if _pack_command is None:
        packed: list[bytes] = conn.pack_commands(commands)
        return packed
    try:
        return [b"".join([_pack_command(command) for command in commands])]
    except UnicodeEncodeError:
        return [b"".join([_pack_command(_names_as_bytes(command)) for command in commands])]


def _names_as_bytes(args: tuple[Any, ...]) -> tuple[Any, ...]:
    # hiredis encodes text strictly; a name that is not UTF-8 holds lone surrogates.
    return tuple(name_bytes(a) if isinstance(a, str) else a for a in args)


class NamePacker(HiredisRespSerializer):
    """redis-py's hiredis packer, for commands naming keys that are not UTF-8 too (their text
    holds lone surrogates, see ``queuecore.names``); ordinary commands pay nothing extra."""

    def pack(self, *args: Any) -> list[bytes]:
        try:
            return super().pack(*args)
        except UnicodeEncodeError:
            return super().pack(*_names_as_bytes(args))


_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


class HotConnection:
    """One connection of a client's pool set aside for one hot loop (the worker's I/O thread).

    Skips the pool's per-call checkout (a fork check, a poll for stray data, bookkeeping), which
    at thousands of turns a second is a tenth of the worker's CPU. A second caller arriving while
    it is in use goes through the pool instead, so it is safe to share. After a failover reply
    or a lost link the connection is dropped and made afresh (under Sentinel that asks the
    sentinels again); after a fork the child makes its own and leaves the parent's socket alone.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._conn: Any = None
        self._generation = _fork_generation
        self._busy = threading.Lock()

    def send(self, commands: Sequence[tuple[Any, ...]]) -> list[Any] | None:
        """Like :func:`send_commands`; None when the link failed."""
        if not self._busy.acquire(blocking=False):
            return send_commands(self._client, commands)
        try:
            if self._generation != _fork_generation:
                self._conn, self._generation = None, _fork_generation
            conn = self._conn
            if conn is None:
                # Checked out of the pool and kept: it counts toward the pool's limit once.
                try:
                    conn = self._conn = self._client.connection_pool.get_connection()
                except (redis.ConnectionError, redis.TimeoutError):
                    return None
            try:
                replies = _exchange(conn, commands)
            except (redis.ConnectionError, redis.TimeoutError):
                self.drop()
                return None
            except BaseException:
                self.drop()
                raise
            return replies
        finally:
            self._busy.release()

    def drop(self) -> None:
        """Close the connection and give it back to the pool; the next send checks one out."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.disconnect()
            self._client.connection_pool.release(conn)
