"""Dashboard export (a streamed download, viewer) and import (operator: preview, then confirm)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client

from dashboard.models import AuditEntry, Outcome
from dashboard.views import export as export_views
from queuecore import Inspector
from queuecore.export import export_jsonl
from tests.support.factories import seed_task

HTMX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = b'{"note": "<script>alert(1)</script>"}'


def body(response: HttpResponse) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()  # type: ignore[arg-type]


def snapshot(client: redis.Redis) -> dict[bytes, bytes | None]:
    return {key: client.dump(key) for key in sorted(client.keys("*"))}


@pytest.fixture
def failures(redis_client: redis.Redis, queuecore_settings: str) -> list[str]:
    return [
        seed_task(
            redis_client,
            "archived",
            type="email:send",
            payload=b'{"to": "a@example.com"}',
            error_msg="smtp: refused",
            headers={"trace_id": "t-1"},
            score=1,
        ).id,
        seed_task(
            redis_client,
            "archived",
            type="<img src=x onerror=alert(2)>",
            payload=HOSTILE,
            error_msg="quota",
            score=2,
        ).id,
    ]


def export_file(insp: Inspector, queue: str = "default", state: str = "archived") -> bytes:
    return "".join(export_jsonl(insp, queue, state)).encode()


def upload(content: bytes, name: str = "tasks.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/x-ndjson")


# -- export ---------------------------------------------------------------------------------------


def test_a_viewer_downloads_a_state_as_json_lines_and_the_export_is_audited(
    viewer: Client, failures: list[str]
) -> None:
    response = viewer.get("/queues/default/export?state=archived")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="default-archived-\d{8}-\d{6}\.jsonl"', disposition)
    header, *tasks, end = (json.loads(line) for line in body(response).splitlines())
    assert (header["format"], header["queue"], header["state"]) == (
        "queuecore-export",
        "default",
        "archived",
    )
    assert header["limit"] == 10_000
    assert [t["id"] for t in tasks] == failures
    assert end["exported"] == 2
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.username, entry.queue, entry.state) == (
        "export_tasks",
        "viewer-user",
        "default",
        "archived",
    )
    assert (entry.count, entry.outcome) == (2, Outcome.SUCCEEDED)
    assert "jsonl" in entry.detail


def test_export_applies_the_search_filters_and_the_limit(
    viewer: Client, failures: list[str]
) -> None:
    matched = body(viewer.get("/queues/default/export?state=archived&error=SMTP"))
    assert [json.loads(line).get("id") for line in matched.splitlines()][1:-1] == failures[:1]
    assert json.loads(matched.splitlines()[0])["filters"] == {"error": "SMTP"}
    limited = body(viewer.get("/queues/default/export?state=archived&limit=1"))
    end = json.loads(limited.splitlines()[-1])
    assert (end["exported"], end["limit_reached"]) == (1, True)


def test_export_as_csv_is_a_csv_attachment(viewer: Client, failures: list[str]) -> None:
    response = viewer.get("/queues/default/export?state=archived&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('.csv"')
    lines = body(response).splitlines()
    assert lines[0] == "id,type,state,retried,max_retry,last_error,failed_at,payload_text"
    assert len(lines) == 3


def test_export_refuses_bad_parameters_before_streaming(
    viewer: Client, failures: list[str]
) -> None:
    for query in ("limit=0", "limit=100001", "limit=many", "state=nope", "format=xml", ""):
        params = query if query.startswith("state") else f"state=archived&{query}"
        if not query:
            params = ""
        response = viewer.get(f"/queues/default/export?{params}")
        assert response.status_code == 400, query
        assert not response.streaming
    missing = viewer.get("/queues/nope/export?state=archived")
    assert missing.status_code == 404
    assert not missing.streaming
    assert viewer.get("/queues/default/export?state=aggregating").status_code == 400
    assert viewer.get("/queues/default/export?state=archived&limit=100000").status_code == 200
    assert not AuditEntry.objects.filter(outcome=Outcome.FAILED).exists()


def test_export_needs_a_dashboard_role_but_not_the_operator_role(
    login: Callable[[str | None], Client], failures: list[str], settings: Any
) -> None:
    anonymous = Client()
    assert anonymous.get("/queues/default/export?state=archived").status_code == 302
    nobody = login(None)
    assert nobody.get("/queues/default/export?state=archived").status_code == 403
    settings.QUEUECORE = {**settings.QUEUECORE, "READ_ONLY": True}
    viewer = login("viewer")
    assert viewer.get("/queues/default/export?state=archived").status_code == 200


def test_queue_page_links_to_the_export_of_its_state_and_of_its_search(
    login: Callable[[str | None], Client], failures: list[str]
) -> None:
    viewer = login("viewer")
    page = viewer.get("/queues/default/?state=archived").content.decode()
    assert 'href="/queues/default/export?format=jsonl&amp;state=archived"' in page
    assert 'href="/queues/default/export?format=csv&amp;state=archived"' in page
    assert "data-import" not in page
    searched = viewer.get("/queues/default/?state=archived&error=smtp&type=email%3A*")
    text = searched.content.decode()
    assert (
        'href="/queues/default/export?format=jsonl&amp;state=archived&amp;type=email%3A%2A'
        '&amp;error=smtp"'
    ) in text
    assert "Export all matches" in text
    operator = login("operator")
    assert 'href="/import/?queue=default"' in operator.get("/queues/default/").content.decode()


# -- import ---------------------------------------------------------------------------------------


def test_import_page_is_for_operators_only_and_refusals_are_audited(
    viewer: Client, insp: Inspector, failures: list[str], settings: Any,
    login: Callable[[str | None], Client],
) -> None:  # fmt: skip
    assert viewer.get("/import/").status_code == 403
    response = viewer.post("/import/", {"file": upload(export_file(insp)), "queue": "x"})
    assert response.status_code == 403
    refused = AuditEntry.objects.get()
    assert (refused.action, refused.outcome, refused.queue) == (
        "import_tasks",
        Outcome.REFUSED,
        "x",
    )
    operator = login("operator")
    page = operator.get("/import/?queue=staging")
    assert page.status_code == 200
    assert 'value="staging"' in page.content.decode()
    settings.QUEUECORE = {**settings.QUEUECORE, "READ_ONLY": True}
    assert operator.get("/import/").status_code == 403


def test_import_needs_a_csrf_token(
    make_user: Callable[..., User], insp: Inspector, failures: list[str]
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("operator"))
    content = export_file(insp)
    assert client.post("/import/", {"file": upload(content)}).status_code == 403
    token = client.get("/import/").cookies["csrftoken"].value
    response = client.post("/import/", {"file": upload(content), "csrfmiddlewaretoken": token})
    assert response.status_code == 200


def test_preview_writes_nothing_and_escapes_hostile_payloads(
    operator: Client, insp: Inspector, failures: list[str], redis_client: redis.Redis
) -> None:
    content = export_file(insp)
    before = snapshot(redis_client)
    response = operator.post("/import/", {"file": upload(content), "queue": "staging"})
    assert response.status_code == 200
    page = response.content.decode()
    assert snapshot(redis_client) == before
    assert not AuditEntry.objects.exists()
    assert 'data-count="enqueued">2<' in page
    assert "Would be enqueued" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert 'name="confirm"' in page


def confirm_token(page: str) -> str:
    found = re.search(r'name="confirm" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_confirming_a_preview_imports_the_tasks_and_audits_it(
    operator: Client, insp: Inspector, failures: list[str]
) -> None:
    content = export_file(insp)
    preview = operator.post("/import/", {"file": upload(content), "queue": "staging"}, **HTMX)
    assert "<html" not in preview.content.decode()  # htmx gets the result region only
    token = confirm_token(preview.content.decode())
    done = operator.post(
        "/import/", {"file": upload(content), "queue": "staging", "confirm": token}, **HTMX
    )
    assert done.status_code == 200
    assert 'data-count="enqueued">2<' in done.content.decode()
    copies = insp.list_tasks("staging", "pending")
    assert sorted(t.type for t in copies) == sorted(["email:send", "<img src=x onerror=alert(2)>"])
    assert HOSTILE in [t.payload for t in copies]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.username, entry.queue) == (
        "import_tasks",
        "operator-user",
        "staging",
    )
    assert (entry.count, entry.total, entry.outcome) == (2, 2, Outcome.SUCCEEDED)
    assert sorted(entry.task_ids) == sorted(t.id for t in copies)
    assert "from an export of default/archived" in entry.detail


def test_a_confirmation_must_match_the_previewed_file_and_options(
    operator: Client, insp: Inspector, failures: list[str], redis_client: redis.Redis
) -> None:
    content = export_file(insp)
    preview = operator.post("/import/", {"file": upload(content), "queue": "staging"})
    token = confirm_token(preview.content.decode())
    before = snapshot(redis_client)
    other_queue = operator.post(
        "/import/", {"file": upload(content), "queue": "elsewhere", "confirm": token}
    )
    other_file = operator.post(
        "/import/", {"file": upload(content + b"\n"), "queue": "staging", "confirm": token}
    )
    forged = operator.post(
        "/import/", {"file": upload(content), "queue": "staging", "confirm": token[:-2] + "xx"}
    )
    no_file = operator.post("/import/", {"queue": "staging", "confirm": token})
    for response in (other_queue, other_file, forged, no_file):
        assert response.status_code == 400
    assert "preview again" in other_queue.content.decode()
    assert "Choose the export file" in no_file.content.decode()
    assert snapshot(redis_client) == before
    assert not AuditEntry.objects.exists()


def test_import_with_kept_ids_previews_and_skips_conflicts(
    operator: Client, insp: Inspector, failures: list[str], redis_client: redis.Redis
) -> None:
    content = export_file(insp)
    before = snapshot(redis_client)
    preview = operator.post("/import/", {"file": upload(content), "keep_ids": "on"})
    page = preview.content.decode()
    assert 'data-count="skipped">2<' in page
    assert "task ID conflicts with another task" in page
    assert 'name="confirm"' not in page  # nothing to import
    assert snapshot(redis_client) == before
    form = {"file": upload(content), "keep_ids": "on", "queue": "s2"}
    token = confirm_token(operator.post("/import/", form).content.decode())
    operator.post("/import/", {**form, "file": upload(content), "confirm": token})
    assert {t.id for t in insp.list_tasks("s2", "pending")} == set(failures)


def test_import_refuses_bad_files_with_a_clear_message(
    operator: Client, insp: Inspector, failures: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    not_export = operator.post("/import/", {"file": upload(b"id,type\n1,a\n", "tasks.csv")})
    assert not_export.status_code == 400
    assert "not a queuecore export" in not_export.content.decode()
    newer = operator.post(
        "/import/", {"file": upload(b'{"format": "queuecore-export", "version": 9}\n')}
    )
    assert "version 9 is not supported" in newer.content.decode()
    monkeypatch.setattr(export_views, "IMPORT_MAX_BYTES", 100)
    too_big = operator.post("/import/", {"file": upload(export_file(insp))})
    assert too_big.status_code == 400
    assert "imports at most 100" in too_big.content.decode()
    assert not AuditEntry.objects.exists()


def test_import_preview_lists_malformed_lines_by_number(
    operator: Client, insp: Inspector, failures: list[str]
) -> None:
    lines = export_file(insp).splitlines()
    content = b"\n".join([lines[0], b"<b>not json</b>", lines[1]]) + b"\n"
    page = operator.post("/import/", {"file": upload(content)}).content.decode()
    assert 'data-count="malformed">1<' in page
    assert "line 2: not JSON" in page
    assert "<b>not json</b>" not in page
    assert "it may have been cut short" in page
