"""Login everywhere, roles, read-only, escaping of hostile data, sub-path mounting, and a clear
banner (not a 500) while Redis is unreachable, recovering by itself."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
import redis
from django.core.signals import request_finished
from django.test import Client
from django.urls import (
    URLPattern,
    URLResolver,
    clear_script_prefix,
    get_resolver,
    set_script_prefix,
)

from dashboard.models import AuditEntry, Outcome
from queuecore import Inspector, TaskState
from tests.support.factories import seed_task
from tests.support.redis_server import RedisProcess, free_port

HTMX = {"HTTP_HX_REQUEST": "true"}
# Views anyone may open: logging in/out, the liveness probe, Django admin's own login.
PUBLIC = {"login", "logout", "queuecore:healthz", "admin:login"}
# Candidate values for URL parameters; the first one a parameter's regex accepts is used.
SAMPLES = ("default", "pending", "run", "payload", "pause", "1", "auth", "user", "x",
           "00000000-0000-0000-0000-000000000000")  # fmt: skip


def _fill_regex(regex: str) -> str:
    """A path matching a regex URL pattern such as admin's ^(?P<app_label>auth)/$."""
    out, i = "", 0
    while i < len(regex):
        if regex.startswith("(?P<", i):
            depth, j = 0, i
            while True:
                depth += {"(": 1, ")": -1}.get(regex[j], 0)
                if depth == 0:
                    break
                j += 1
            inner = regex[regex.index(">", i) + 1 : j]
            out += next(s for s in SAMPLES if re.fullmatch(inner, s))
            i = j + 1
        else:
            out += regex[i]
            i += 1
    return out.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")


def _sample(pattern: object) -> str:
    text = str(pattern)
    converters = getattr(pattern, "converters", {})
    if converters and "(?P<" not in text:

        def fill(match: re.Match[str]) -> str:
            regex = converters[match[1]].regex
            return next(s for s in SAMPLES if re.fullmatch(regex, s))

        return re.sub(r"<(?:\w+:)?(\w+)>", fill, text)
    return _fill_regex(text)


def every_url() -> Iterator[tuple[str, str, object]]:
    def walk(
        patterns: list[object], prefix: str, namespace: str
    ) -> Iterator[tuple[str, str, object]]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, prefix + _sample(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                yield (
                    f"{namespace}{entry.name}",
                    "/" + prefix + _sample(entry.pattern),
                    entry.callback,
                )

    yield from walk(get_resolver().url_patterns, "", "")


def test_anonymous_users_get_a_login_redirect_or_401_on_every_url(
    client: Client, queuecore_settings: str, db: None
) -> None:
    walked = list(every_url())
    assert len(walked) > 40  # dashboard, its API, admin, health and metrics
    for name, url, callback in walked:
        if name in PUBLIC:
            continue
        assert (
            getattr(callback, "login_required", True)
            or name.startswith(("api", "dashboard:api"))
            or name == "queuecore:metrics"
        ), name
        for method in (client.get, client.post):
            response = method(url)
            ok = response.status_code in (401, 403, 405) or (
                response.status_code == 302
                and re.match(r"/(accounts|admin)/login/", response["Location"])
            )
            assert ok, f"{method.__name__.upper()} {url} ({name}) gave {response.status_code}"


def test_a_user_without_a_role_is_refused(login, seeded: dict[TaskState, str]) -> None:
    nobody = login(None)
    assert nobody.get("/").status_code == 403
    assert b"no dashboard role" in nobody.get("/").content
    assert nobody.post(f"/queues/default/tasks/{seeded[TaskState.ARCHIVED]}/run").status_code == 403


def test_viewers_see_no_buttons_and_every_change_is_refused_and_audited(
    viewer: Client, insp: Inspector, seeded: dict[TaskState, str]
) -> None:
    archived = seeded[TaskState.ARCHIVED]
    html = viewer.get("/queues/default/?state=archived").content.decode()
    assert "data-action=" not in html
    assert "selected</button>" not in html
    assert "Pause</button>" not in viewer.get("/").content.decode()
    for url in (f"/queues/default/tasks/{archived}/run", "/queues/default/pause",
                "/queues/default/all/pending/delete", "/queues/default/delete"):  # fmt: skip
        assert viewer.post(url, {"ids": [archived]}, **HTMX).status_code == 403, url
    assert viewer.post("/queues/default/selected/delete", {"ids": [archived]}).status_code == 403
    assert insp.get_task_info("default", archived).state is TaskState.ARCHIVED
    assert not insp.get_queue_info("default").paused
    refused = AuditEntry.objects.filter(outcome=Outcome.REFUSED)
    assert refused.count() == 5
    assert {e.username for e in refused} == {"viewer-user"}


def test_operators_may_not_delete_queues_or_act_on_all_archived_tasks(
    operator: Client, insp: Inspector, seeded: dict[TaskState, str]
) -> None:
    html = operator.get("/queues/default/?state=archived").content.decode()
    assert "Run selected" in html
    assert "Run all" not in html
    assert operator.get("/queues/default/all/archived/run").status_code == 403
    assert operator.post("/queues/default/all/archived/delete", **HTMX).status_code == 403
    assert operator.post("/queues/default/delete", **HTMX).status_code == 403
    assert insp.get_queue_info("default").archived == 2
    assert operator.post("/queues/default/all/retry/run", **HTMX).status_code == 200


def test_admins_may_act_on_all_archived_tasks(
    admin: Client, insp: Inspector, seeded: dict[TaskState, str]
) -> None:
    assert "Run all" in admin.get("/queues/default/?state=archived").content.decode()
    assert admin.post("/queues/default/all/archived/run", **HTMX).status_code == 200
    assert insp.get_queue_info("default").archived == 0


def test_read_only_hides_and_refuses_every_change(
    admin: Client, insp: Inspector, seeded: dict[TaskState, str], settings
) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "READ_ONLY": True}
    html = admin.get("/queues/default/?state=archived").content.decode()
    assert "read-only" in html
    assert "data-action=" not in html
    assert "Run all" not in html
    assert "Pause</button>" not in html
    archived = seeded[TaskState.ARCHIVED]
    for url in (f"/queues/default/tasks/{archived}/run", "/queues/default/pause",
                "/queues/default/all/archived/run", "/queues/default/delete"):  # fmt: skip
        response = admin.post(url, **HTMX)
        assert response.status_code == 403
        assert b"read-only" in response.content
    assert admin.post("/queues/default/selected/run", {"ids": [archived]}).status_code == 403
    assert insp.get_task_info("default", archived).state is TaskState.ARCHIVED


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2) \' x="'


def test_hostile_text_is_escaped_everywhere(
    operator: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    task = seed_task(
        redis_client, "retry", queue=f"q{HOSTILE}", id=f"id{HOSTILE}", type=f"t{HOSTILE}",
        payload=HOSTILE.encode(), error_msg=f"err{HOSTILE}",
        headers={f"h{HOSTILE}": f"v{HOSTILE}"},
    )  # fmt: skip
    seed_task(redis_client, "aggregating", queue=f"q{HOSTILE}", group_key=f"g{HOSTILE}")
    html_pages = [operator.get("/").content.decode()]
    queue_url = unescape(
        re.search(r'<tr data-queue="[^"]*">\s*<td><a href="([^"]+)"', html_pages[0])[1]
    )
    for state in ("retry", "aggregating"):
        html_pages.append(operator.get(queue_url, {"state": state}).content.decode())
    html_pages.append(
        operator.get(queue_url, {"state": "retry", "type": f"t{HOSTILE}"}).content.decode()
    )
    task_url = unescape(re.search(r'<td class="id"><a href="([^"]+)"', html_pages[1])[1])
    detail = operator.get(task_url)
    assert detail.status_code == 200
    html_pages.append(detail.content.decode())
    for html in html_pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert '"><' not in html.replace('"><', "", html.count('"><') - html.count('"><script'))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert task.id  # the id itself round-tripped through the URL


def test_invalid_utf8_and_binary_payloads_render_as_hex(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    task = seed_task(redis_client, "archived", payload=b"\xff\xfe\x00<script>\x80", error_msg="x")
    redis_client.hset(f"asynq:{{default}}:t:{task.id}", "result", b"\xc3\x28")
    html = viewer.get(f"/queues/default/tasks/{task.id}/").content.decode()
    assert "fffe003c7363726970743e80" in html  # copy-raw hex
    assert "ff fe 00 3c 73 63 72 69 70 74 3e 80" in html
    assert "<script>" not in html.split("</head>")[1]
    listing = viewer.get("/queues/default/?state=archived").content.decode()
    assert "binary 12 B" in listing


def test_a_one_megabyte_payload_is_shown_whole_but_collapsed(
    viewer: Client, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    payload = b'{"blob": "' + b"x" * (1024 * 1024) + b'"}'
    task = seed_task(redis_client, "pending", payload=payload)
    response = viewer.get(f"/queues/default/tasks/{task.id}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Large payload ({len(payload)} bytes)" in html
    assert '<details class="bytes-body" >' in html  # closed
    assert html.count("x" * (1024 * 1024)) == 2  # the pretty view and the copy-raw text
    listing = viewer.get("/queues/default/?state=pending").content.decode()
    assert len(listing) < 50_000


def test_the_dashboard_works_under_a_sub_path(
    viewer: Client, seeded: dict[TaskState, str], settings, client: Client
) -> None:
    settings.FORCE_SCRIPT_NAME = "/ops"
    settings.STATIC_URL = "/ops/static/"
    # The WSGI handler sets the prefix per request; the test client does not.
    set_script_prefix("/ops/")
    request_finished.connect(keep_prefix)
    try:
        html = viewer.get("/queues/default/?state=archived").content.decode()
        client.logout()
        anonymous = client.get("/queues/default/")
    finally:
        request_finished.disconnect(keep_prefix)
        clear_script_prefix()
    assert 'href="/ops/queues/default/tasks/' in html
    assert 'hx-get="/ops/queues/default/?state=archived"' in html
    assert 'src="/ops/static/django_htmx/htmx-2.min.js' in html or "/ops/static/" in html
    assert 'action="/ops/queues/default/jump"' in html
    assert anonymous["Location"].startswith("/ops/accounts/login/?next=/ops/queues/default/")


def keep_prefix(**_: object) -> None:
    set_script_prefix("/ops/")


@pytest.fixture
def spare_redis(settings) -> Iterator[RedisProcess]:
    """A Redis on its own port, configured for the dashboard but not yet started."""
    server = RedisProcess(port=free_port(), workdir=Path(tempfile.mkdtemp(prefix="qc-dash-")))
    settings.QUEUECORE = {**settings.QUEUECORE, "REDIS_URL": f"{server.url}?retry_timeout=0"}
    yield server
    server.stop()


def test_unreachable_redis_shows_a_banner_and_recovers_by_itself(
    viewer: Client, spare_redis: RedisProcess
) -> None:
    for url in ("/", "/queues/default/", "/servers/", "/redis/"):
        response = viewer.get(url)
        assert response.status_code == 503, url
        html = response.content.decode()
        assert "Redis is not answering" in html
        assert f'hx-get="{url}" hx-trigger="every 8s"' in html  # it keeps trying
    poll = viewer.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="page")
    assert poll.status_code == 503
    assert poll.content.decode().lstrip().startswith('<div id="page" class="failure"')
    action = viewer.post("/queues/default/pause", HTTP_HX_REQUEST="true")
    assert action.status_code in (403, 503)

    spare_redis.start()
    recovered = viewer.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="page")
    assert recovered.status_code == 200
    assert b"No queues yet" in recovered.content
