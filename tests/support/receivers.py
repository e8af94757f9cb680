"""Real receivers on loopback for alert tests: an HTTP server and an SMTP server (aiosmtpd).

:class:`HttpReceiver` records every request (path, headers, body) and answers with the next of its
``statuses`` (200 once they run out); with ``hang`` set, it holds each request until ``release()``
(a receiver that never answers). :class:`SmtpReceiver` is aiosmtpd's Controller with a handler that
keeps every message. A missing aiosmtpd skips locally and fails under CI, as a missing
redis-server does.
"""

from __future__ import annotations

import email
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.redis_server import free_port

# Bound on waiting for something that crosses a thread or socket boundary.
DEADLINE = 10.0


def wait_for(condition: Callable[[], bool], *, deadline: float = DEADLINE, what: str = "") -> None:
    """Poll ``condition`` until true (across a thread or process boundary), up to ``deadline``."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.hang = False
        self.answered = 0  # requests answered so far
        self.arrived = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.arrived.set()
                if receiver.hang:
                    receiver._release.wait(60)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with receiver._lock:
                    receiver.answered += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [r.body for r in self.requests]

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    def __init__(self) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            message = "aiosmtpd is not installed (requirements-dev.txt pins it)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.messages: list[Message] = []
        self.replies: list[str] = []  # replies to DATA before accepting (e.g. "451 try later")
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if receiver.replies:
                    return receiver.replies.pop(0)
                receiver.messages.append(email.message_from_bytes(envelope.content))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def http_receiver() -> Any:
    receiver = HttpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp_receiver() -> Any:
    receiver = SmtpReceiver()
    yield receiver
    receiver.stop()
