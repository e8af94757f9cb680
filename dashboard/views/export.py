"""Export a state's tasks as a download, and import an export: preview (a dry run), then confirm.

Export is a read, so the viewer role may do it, read-only mode included: the dashboard has no
payload-visibility distinction (viewers see whole payloads on the task page and can download them
raw), so an export shows nothing a viewer cannot already see. Because it takes many payloads at
once, every export is recorded in the audit log with what it wrote.

Import is a change: operators only, POST + CSRF, audited. The first POST previews (a dry run,
nothing written) and hands back a signed token naming the file's digest and the options; the
confirming POST sends the same file again with that token, so what is imported is exactly what
was previewed, without keeping the upload on the server between the two requests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from django import forms
from django.core import signing
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from dashboard import changes
from dashboard.audit import Change, audited, finish, new_entry
from dashboard.changes import Actor
from dashboard.connection import client, inspector
from dashboard.forms import parse_int, valid_or_400
from dashboard.http import dashboard_view
from dashboard.models import AuditEntry, Outcome
from queuecore import TaskState
from queuecore.export import (
    ExportFilters,
    ExportStats,
    ImportFormatError,
    ImportInterruptedError,
    ImportResult,
    PlannedTask,
    export_csv,
    export_jsonl,
    import_tasks,
)

EXPORT_LIMIT_DEFAULT = 10_000
EXPORT_LIMIT_MAX = 100_000
# Bigger files go through ``manage.py task import``: a request should not run for minutes.
IMPORT_MAX_BYTES = 5 * 1024 * 1024
# How long a preview's token stays good for its confirmation.
PREVIEW_MAX_AGE = 3600
# Characters of a payload shown per task in the import preview.
PAYLOAD_PREVIEW = 120
# Export lines are sent in chunks of about this many characters, not one write per task.
STREAM_CHUNK = 64 * 1024

_TOKEN_SALT = "dashboard.import"
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")

CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


class ExportForm(forms.Form):
    state = forms.ChoiceField(choices=[(s.value, s.value) for s in TaskState])
    group = forms.CharField(max_length=1024, required=False)
    type = forms.CharField(max_length=1024, required=False, strip=False)
    error = forms.CharField(max_length=1024, required=False, strip=False)
    text = forms.CharField(max_length=1024, required=False, strip=False)
    format = forms.ChoiceField(choices=[("jsonl", "JSON Lines"), ("csv", "CSV")], required=False)


class ImportForm(forms.Form):
    file = forms.FileField(
        required=False,
        help_text=f"A JSON Lines export (at most {IMPORT_MAX_BYTES // (1024 * 1024)} MB).",
    )
    queue = forms.CharField(
        max_length=1024,
        required=False,
        help_text="Enqueue every task into this queue; empty keeps each task's own queue.",
    )
    keep_ids = forms.BooleanField(
        required=False,
        help_text="Keep the exported ids; an id that exists in the queue is skipped, "
        "never overwritten.",
    )
    keep_schedule = forms.BooleanField(
        required=False,
        help_text="A task due later stays scheduled until then; otherwise every task runs now.",
    )
    confirm = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload is None:
            raise forms.ValidationError(
                "Choose the export file (to confirm, choose the file you previewed again)."
            )
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the dashboard imports at most "
                f"{IMPORT_MAX_BYTES:,}. Use manage.py task import for bigger files."
            )
        return upload


@require_GET
@dashboard_view
def export(request: HttpRequest, queue: str) -> HttpResponse:
    """The tasks of one state (with the search filters, if any) as a JSON Lines or CSV file."""
    data = valid_or_400(ExportForm(request.GET)).cleaned_data
    state, fmt = TaskState(data["state"]), data["format"] or "jsonl"
    limit = parse_int(
        request.GET.get("limit"),
        default=EXPORT_LIMIT_DEFAULT,
        low=1,
        high=EXPORT_LIMIT_MAX,
        name="limit",
    )
    filters = ExportFilters(
        text=data["text"] or None,
        type=data["type"] or None,
        error=data["error"] or None,
        group=data["group"] or None,
    )
    stats = ExportStats()
    write = export_csv if fmt == "csv" else export_jsonl
    # Reads the first page now: a missing queue is a 404 page, not a broken download.
    lines = write(inspector(), queue, state, filters=filters, limit=limit, stats=stats)
    entry = new_entry(request, "export_tasks", queue=queue, state=state, group=filters.group or "")
    described = ", ".join(f"{k}={v}" for k, v in filters.given().items()) or "no filters"
    response = StreamingHttpResponse(
        _audited_stream(lines, entry, stats, f"{fmt}, {described}, limit {limit}"),
        content_type=CONTENT_TYPES[fmt],
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = f"{_UNSAFE_FILENAME.sub('_', queue)[:80]}-{state}-{stamp}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # dashboard_view is typed for HttpResponse; it passes a streaming response through untouched
    # apart from its no-cache headers.
    return response  # type: ignore[return-value]


def _audited_stream(
    lines: Iterator[str], entry: AuditEntry, stats: ExportStats, described: str
) -> Iterator[str]:
    """The lines in chunks; the audit entry is written once the download ends, however it ends."""
    change = Change()
    try:
        chunk: list[str] = []
        size = 0
        for line in lines:
            chunk.append(line)
            size += len(line)
            if size >= STREAM_CHUNK:
                yield "".join(chunk)
                chunk, size = [], 0
        if chunk:
            yield "".join(chunk)
    except GeneratorExit:
        change.outcome, change.detail = Outcome.FAILED, "the download stopped before the end"
        raise
    except Exception as exc:
        change.outcome, change.detail = Outcome.FAILED, f"export failed: {exc}"
        raise
    finally:
        change.count = change.total = stats.exported
        summary = f"{described}; scanned {stats.scanned}, skipped {stats.skipped} unreadable"
        if stats.limit_reached:
            summary += "; stopped at the limit"
        change.detail = f"{change.detail}; {summary}" if change.detail else summary
        finish(entry, change)


@require_http_methods(["GET", "POST"])
@dashboard_view
def import_page(request: HttpRequest) -> HttpResponse:
    queue = (request.POST.get("queue") or request.GET.get("queue") or "").strip()
    actor = Actor(request)
    changes.authorize(actor, actor.can.operate, "import_tasks", queue[:255])
    if request.method == "GET":
        return _page(request, ImportForm(initial={"queue": queue}))
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    content = data["file"].read()
    options = {
        "queue": data["queue"].strip() or None,
        "keep_ids": data["keep_ids"],
        "as_pending": not data["keep_schedule"],
    }
    claims = _claims(request, content, options)
    if not data["confirm"]:
        try:
            preview = import_tasks(
                content.splitlines(), client(), dry_run=True, inspector=inspector(), **options
            )
        except ImportFormatError as exc:
            form.add_error("file", str(exc))
            return _page(request, form, status=400)
        token = signing.dumps(claims, salt=_TOKEN_SALT)
        return _page(request, form, preview=preview, token=token)
    if not _confirms(data["confirm"], claims):
        form.add_error(
            None,
            "The file or the options differ from the preview (or it is over an hour old): "
            "preview again before importing.",
        )
        return _page(request, form, status=400)
    return _import(request, form, content, options)


def _import(
    request: HttpRequest, form: ImportForm, content: bytes, options: dict[str, Any]
) -> HttpResponse:
    actor = Actor(request)
    queue = (options["queue"] or "")[:255]
    entry = changes.begin(actor, "import_tasks", allowed=actor.can.operate, queue=queue)
    with audited(entry) as change:
        try:
            result = import_tasks(content.splitlines(), client(), **options)
        except ImportInterruptedError as exc:
            change.count, change.task_ids = exc.result.enqueued, list(exc.result.task_ids)
            raise
        if not entry.queue:
            entry.queue = str(result.header.get("queue") or "")[:255]
        change.count, change.total = result.enqueued, result.read
        change.task_ids = list(result.task_ids)
        change.detail = _summary(result, options)
        if result.enqueued < result.read:
            change.outcome = Outcome.PARTIAL if result.enqueued else Outcome.FAILED
    return _page(request, ImportForm(initial={"queue": options["queue"] or ""}), done=result)


def _summary(result: ImportResult, options: dict[str, Any]) -> str:
    parts = [f"enqueued {result.enqueued} of {result.read}"]
    if result.skipped_count:
        reasons = "; ".join(f"{n}: {why}" for why, n in result.skipped_by_reason.items())
        parts.append(f"skipped {result.skipped_count} ({reasons})")
    if result.malformed_count:
        lines = ", ".join(str(p.line) for p in result.malformed[:20])
        parts.append(f"malformed {result.malformed_count} (lines {lines})")
    if result.complete is False:
        parts.append("the file has no matching end line: it may have been cut short")
    source = result.header
    parts.append(
        f"from an export of {source.get('queue')!s}/{source.get('state')!s} "
        f"taken {source.get('exported_at')!s}"
    )
    flags = [name for name in ("keep_ids",) if options[name]]
    if not options["as_pending"]:
        flags.append("keep_schedule")
    if flags:
        parts.append("options: " + ", ".join(flags))
    return "; ".join(parts)


def _claims(request: HttpRequest, content: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """What a confirmation must match: this user, this file, these options."""
    return {
        "user": request.user.pk,
        "sha256": hashlib.sha256(content).hexdigest(),
        "options": [options["queue"], options["keep_ids"], options["as_pending"]],
    }


def _confirms(token: str, claims: dict[str, Any]) -> bool:
    try:
        signed = signing.loads(token, salt=_TOKEN_SALT, max_age=PREVIEW_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return False
    return bool(signed == claims)


def _page(
    request: HttpRequest,
    form: ImportForm,
    *,
    preview: ImportResult | None = None,
    token: str = "",
    done: ImportResult | None = None,
    status: int = 200,
) -> HttpResponse:
    shown = done or preview
    context = {
        "result": shown,
        "rows": [_row(p) for p in shown.sample] if shown else [],
        "form": form,
        "preview": preview,
        "token": token,
        "done": done,
        "max_mb": IMPORT_MAX_BYTES // (1024 * 1024),
    }
    partial = "#result" if request.htmx else ""  # type: ignore[attr-defined]
    return render(request, f"dashboard/import.html{partial}", context, status=status)


def _row(task: PlannedTask) -> dict[str, object]:
    try:
        text = " ".join(task.payload.decode("utf-8").split())
    except UnicodeDecodeError:
        text = f"binary, {len(task.payload)} bytes"
    if len(text) > PAYLOAD_PREVIEW:
        text = text[: PAYLOAD_PREVIEW - 1] + "…"
    return {"task": task, "payload": text}
