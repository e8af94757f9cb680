"""A browser without a browser: cookies, CSRF and the login form, over real HTTP (urllib).

For tests that start a real server process (scripts/run, the installed wheel) and talk to it the
way a browser's plain requests do; Playwright is for what needs JavaScript.
"""

from __future__ import annotations

import http.cookiejar
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Message = field(repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """Cookies + CSRF, the way a browser logs in to the dashboard."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self.opener = urllib.request.build_opener(cookies)
        self.no_redirect = urllib.request.build_opener(cookies, _NoRedirect())

    def request(
        self,
        path: str,
        *,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        follow: bool = True,
    ) -> Reply:
        body = None
        sent = {"Referer": self.base + "/", **(headers or {})}
        if data is not None:
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf(), **data}).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=sent)
        opener = self.opener if follow else self.no_redirect
        try:
            with opener.open(request, timeout=10) as response:
                return Reply(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read(), error.headers)

    def get(self, path: str) -> tuple[int, bytes]:
        reply = self.request(path)
        return reply.status, reply.body

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def login(self, username: str, password: str, path: str = "/accounts/login/") -> None:
        self.request(path)
        reply = self.request(path, data={"username": username, "password": password})
        assert reply.status == 200, reply.text[-2000:]
        assert any(c.name == "sessionid" for c in self.jar), "login failed"


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Callable[[], str]) -> None:
    """Poll ``url`` until it answers (any HTTP status); fail at once if the server exits."""
    end = time.monotonic() + 60.0
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered:\n{log()}")
