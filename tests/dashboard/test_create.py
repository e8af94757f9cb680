"""Creating tasks from the dashboard: the enqueue form, clone-and-edit, a scheduler entry's
"run now"."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client

from dashboard.models import AuditEntry, Outcome, UserSettings
from queuecore import Inspector, TaskState, keys
from queuecore.messages import SchedulerEntry
from tests.support.factories import seed_task
from tests.support.redis_server import free_port

HTMX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2) \' x="'


def form(**fields: Any) -> dict[str, Any]:
    """What the browser sends for the enqueue form: every field, blanks included."""
    data = dict.fromkeys(
        ("process_in", "process_at", "max_retry", "timeout", "deadline", "unique", "task_id",
         "retention", "group", "headers", "payload", "source"),
        "",
    )  # fmt: skip
    data.update(queue="default", type="email:send", encoding="text")
    data.update(fields)
    return data


def created_id(response: Any) -> str:
    match = re.fullmatch(r"/queues/([^/]+)/tasks/([^/]+)/", response["Location"])
    assert match, response["Location"]
    return match[2]


def add_scheduler_entry(
    client: redis.Redis, entry_id: str, options: list[str], **fields: Any
) -> None:
    """A live scheduler's entry, written as asynq's scheduler heartbeat writes it."""
    entry = SchedulerEntry(
        id=entry_id,
        spec=fields.get("spec", "@every 30s"),
        task_type=fields.get("task_type", "report:daily"),
        task_payload=fields.get("payload", b""),
        enqueue_options=options,
    )
    key = keys.scheduler_entries_key("host:1:sched")
    client.rpush(key, entry.SerializeToString())
    client.zadd(keys.ALL_SCHEDULERS, {key: time.time() + 3600})


# --- enqueue -----------------------------------------------------------------------------------


def test_queue_page_and_overview_offer_the_enqueue_form_prefilled_with_the_queue(
    operator: Client, seeded: dict[TaskState, str]
) -> None:
    queue_page = operator.get("/queues/default/").content.decode()
    assert 'href="/enqueue/?queue=default"' in queue_page
    assert 'href="/enqueue/"' in operator.get("/").content.decode()
    page = operator.get("/enqueue/?queue=critical")
    assert page.status_code == 200
    assert 'name="queue" id="id_queue" value="critical"' in page.content.decode()


def test_enqueue_stores_text_payload_as_utf8_and_shows_the_new_task(
    operator: Client, insp: Inspector
) -> None:
    payload = '{"name": "Zoë", "note": "first line\r\nsecond line"}'
    response = operator.post("/enqueue/", form(queue="mail", payload=payload))
    assert response.status_code == 302
    task = insp.get_task_info("mail", created_id(response))
    assert task.payload == '{"name": "Zoë", "note": "first line\nsecond line"}'.encode()
    assert (task.type, task.state, task.max_retry) == ("email:send", TaskState.PENDING, 25)
    assert task.timeout == timedelta(minutes=30)
    page = operator.get(response["Location"]).content.decode()
    assert f"Enqueued task {task.id} as pending in queue mail." in page
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.queue, entry.task_ids, entry.outcome, entry.count) == (
        "enqueue", "mail", [task.id], Outcome.SUCCEEDED, 1,
    )  # fmt: skip


def test_enqueue_stores_a_base64_payload_byte_for_byte(operator: Client, insp: Inspector) -> None:
    raw = bytes(range(256)) + b"\r\n\x00"
    encoded = base64.b64encode(raw).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    response = operator.post("/enqueue/", form(encoding="base64", payload=wrapped))
    assert insp.get_task_info("default", created_id(response)).payload == raw


def test_empty_payload_enqueues_a_task_without_payload(operator: Client, insp: Inspector) -> None:
    response = operator.post("/enqueue/", form())
    assert insp.get_task_info("default", created_id(response)).payload == b""


def test_enqueue_applies_every_option(operator: Client, insp: Inspector) -> None:
    response = operator.post(
        "/enqueue/",
        form(
            queue="critical", task_id="my-task-1", max_retry="5", timeout="90",
            deadline="2031-01-02T03:04:05", retention="3600", unique="600",
            headers="trace-id=abc\r\n\r\nfilter=a=b\r\n", process_in="3600",
        ),
    )  # fmt: skip
    assert response["Location"] == "/queues/critical/tasks/my-task-1/"
    task = insp.get_task_info("critical", "my-task-1")
    assert task.state is TaskState.SCHEDULED
    assert (task.max_retry, task.timeout, task.retention) == (
        5, timedelta(seconds=90), timedelta(hours=1),
    )  # fmt: skip
    assert task.deadline == datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert dict(task.headers) == {"trace-id": "abc", "filter": "a=b"}
    assert task.next_process_at is not None
    assert task.next_process_at > datetime.now(UTC) + timedelta(minutes=59)


def test_enqueue_with_a_group_adds_the_task_to_the_group(operator: Client, insp: Inspector) -> None:
    response = operator.post("/enqueue/", form(group="user:42"))
    task = insp.get_task_info("default", created_id(response))
    assert (task.state, task.group) == (TaskState.AGGREGATING, "user:42")


def test_process_at_is_read_in_the_users_time_zone(operator: Client, insp: Inspector) -> None:
    user = User.objects.get(username="operator-user")
    UserSettings.objects.update_or_create(user=user, defaults={"time_zone": "Asia/Tokyo"})
    page = operator.get("/enqueue/").content.decode()
    assert "In your time zone (Asia/Tokyo)." in page
    response = operator.post("/enqueue/", form(process_at="2031-06-01T09:00:00"))
    task = insp.get_task_info("default", created_id(response))
    assert task.next_process_at == datetime(2031, 6, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"encoding": "base64", "payload": "not base64!"}, "payload", "This is not valid base64"),
        ({"type": "   "}, "type", "The task type cannot be blank."),
        ({"queue": ""}, "queue", "This field is required."),
        ({"headers": "no equals sign"}, "headers", "Line 1 is not key=value"),
        ({"process_in": "10", "process_at": "2031-01-01T00:00:00"}, "process_at", "not both"),
        ({"unique": "0"}, "unique", "greater than or equal to 1"),
        ({"max_retry": "-1"}, "max_retry", "greater than or equal to 0"),
        ({"deadline": "tomorrow"}, "deadline", "Enter a valid date/time."),
    ],
)
def test_invalid_input_is_shown_in_the_form_and_enqueues_nothing(
    operator: Client, insp: Inspector, fields: dict[str, str], field: str, text: str
) -> None:
    response = operator.post("/enqueue/", form(**fields))
    assert response.status_code == 400
    html = unescape(response.content.decode())
    block = re.search(
        rf'data-field="{field}">(.*?)</div>\s*(?=<div class="field"|<div class="dialog)', html, re.S
    )
    assert block
    assert text in block[1]
    assert insp.queues() == []
    assert not AuditEntry.objects.exists()


def test_an_id_conflict_and_a_duplicate_are_form_errors_and_audited_as_failed(
    operator: Client, insp: Inspector
) -> None:
    assert operator.post("/enqueue/", form(task_id="once")).status_code == 302
    again = operator.post("/enqueue/", form(task_id="once", payload="other"))
    assert again.status_code == 409  # as run-now and every page: the one status table
    assert "task ID conflicts with another task" in again.content.decode()
    assert operator.post("/enqueue/", form(unique="60", payload="x")).status_code == 302
    duplicate = operator.post("/enqueue/", form(unique="60", payload="x"))
    assert duplicate.status_code == 409
    assert "task already exists" in duplicate.content.decode()
    # The form keeps what was typed.
    assert 'name="unique" value="60"' in duplicate.content.decode()
    outcomes = [(e.action, e.outcome) for e in AuditEntry.objects.order_by("id")]
    assert outcomes == [("enqueue", Outcome.SUCCEEDED), ("enqueue", Outcome.FAILED)] * 2
    assert insp.get_queue_info("default").pending == 2


def test_hostile_text_is_escaped_on_the_form_and_on_the_new_task_page(
    operator: Client, insp: Inspector
) -> None:
    response = operator.post(
        "/enqueue/", form(type=HOSTILE, payload=HOSTILE, headers=f"x={HOSTILE}", group=HOSTILE)
    )
    task_page = operator.get(response["Location"]).content.decode()
    assert "<script>alert(1)" not in task_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in task_page
    invalid = operator.post("/enqueue/", form(type=HOSTILE, payload=HOSTILE, unique="0"))
    assert invalid.status_code == 400
    assert "<script>alert(1)" not in invalid.content.decode()


def test_redis_down_keeps_the_form_and_what_was_typed(operator: Client, settings: Any) -> None:
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0?retry_timeout=0",
    }
    response = operator.post("/enqueue/", form(type="kept:type", payload="kept payload"))
    assert response.status_code == 503
    html = response.content.decode()
    assert "Redis unavailable" in html
    assert 'value="kept:type"' in html
    assert "kept payload</textarea>" in html
    assert AuditEntry.objects.get().outcome == Outcome.FAILED


# --- who may ------------------------------------------------------------------------------------


def test_viewers_see_no_create_buttons_and_are_refused(
    viewer: Client, insp: Inspector, seeded: dict[TaskState, str], redis_client: redis.Redis
) -> None:
    add_scheduler_entry(redis_client, "entry-1", ['Queue("low")'])
    pending = seeded[TaskState.PENDING]
    assert "Enqueue task" not in viewer.get("/queues/default/").content.decode()
    assert "Enqueue task" not in viewer.get("/").content.decode()
    assert "Clone" not in viewer.get(f"/queues/default/tasks/{pending}/").content.decode()
    assert "Run now" not in viewer.get("/schedulers/").content.decode()
    for url in ("/enqueue/", f"/queues/default/tasks/{pending}/clone", "/schedulers/entry-1/run"):
        assert viewer.get(url).status_code == 403
    assert viewer.post("/enqueue/", form()).status_code == 403
    assert viewer.post("/schedulers/entry-1/run", **HTMX).status_code == 403
    assert insp.get_queue_info("default").pending == 1
    assert [e.outcome for e in AuditEntry.objects.all()] == [Outcome.REFUSED] * 2


def test_read_only_hides_and_refuses_creating_tasks(
    admin: Client, insp: Inspector, seeded: dict[TaskState, str], redis_client: redis.Redis,
    settings: Any,
) -> None:  # fmt: skip
    settings.QUEUECORE = {**settings.QUEUECORE, "READ_ONLY": True}
    add_scheduler_entry(redis_client, "entry-1", ['Queue("low")'])
    pending = seeded[TaskState.PENDING]
    assert "Enqueue task" not in admin.get("/queues/default/").content.decode()
    assert "Clone" not in admin.get(f"/queues/default/tasks/{pending}/").content.decode()
    assert "Run now" not in admin.get("/schedulers/").content.decode()
    for response in (
        admin.get("/enqueue/"),
        admin.post("/enqueue/", form()),
        admin.get(f"/queues/default/tasks/{pending}/clone"),
        admin.post("/schedulers/entry-1/run"),
    ):
        assert response.status_code == 403
        assert b"read-only" in response.content
    assert insp.queues() == ["default"]
    assert insp.get_queue_info("default").pending == 1
    assert AuditEntry.objects.filter(outcome=Outcome.REFUSED).count() == 2


def test_creating_tasks_needs_a_csrf_token(
    make_user: Callable[..., User], insp: Inspector, queuecore_settings: str,
    redis_client: redis.Redis,
) -> None:  # fmt: skip
    add_scheduler_entry(redis_client, "entry-1", ['Queue("low")'])
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("operator"))
    assert client.post("/enqueue/", form()).status_code == 403
    assert client.post("/schedulers/entry-1/run").status_code == 403
    assert insp.queues() == []
    token = client.get("/enqueue/").cookies["csrftoken"].value
    assert client.post("/enqueue/", form(csrfmiddlewaretoken=token)).status_code == 302
    ran = client.post("/schedulers/entry-1/run", HTTP_X_CSRFTOKEN=token, **HTMX)
    assert ran.status_code == 200
    assert insp.get_queue_info("low").pending == 1


def test_create_urls_answer_only_their_methods(
    operator: Client, seeded: dict[TaskState, str]
) -> None:
    pending = seeded[TaskState.PENDING]
    assert operator.post(f"/queues/default/tasks/{pending}/clone").status_code == 405
    assert operator.put("/enqueue/").status_code == 405


# --- clone -------------------------------------------------------------------------------------


def clone_form(page: str) -> dict[str, Any]:
    """The values the clone page prefilled, as the browser would submit them."""
    html = page
    data: dict[str, Any] = {}
    for name, value in re.findall(
        r'<input type="(?:text|number|hidden|datetime-local)" name="(\w+)" [^>]*?value="([^"]*)"',
        html,
    ):
        data[name] = unescape(value)
    for name, value in re.findall(r'<textarea name="(\w+)"[^>]*>\n?(.*?)</textarea>', html, re.S):
        data[name] = unescape(value).replace("\n", "\r\n")
    checked = re.search(r'name="encoding" value="(\w+)"[^>]*checked', html)
    assert checked
    data["encoding"] = checked[1]
    data.pop("csrfmiddlewaretoken", None)
    return form(**data)


def test_clone_prefills_the_form_from_the_task_and_creates_a_new_one(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    original = seed_task(
        redis_client, "retry", queue="critical", type="report:build",
        payload=b'{"month": "2026-10",\n "rows": 3}', retry=7, retried=2, error_msg="boom",
        timeout=120, deadline=1_900_000_000, retention=600, headers={"trace": "t-1", "b": "x=y"},
    )  # fmt: skip
    assert (
        'href="/queues/critical/tasks/'
        in operator.get(f"/queues/critical/tasks/{original.id}/").content.decode()
    )
    page = operator.get(f"/queues/critical/tasks/{original.id}/clone")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{original.id}"' not in html
    data = clone_form(html)
    assert (data["task_id"], data["unique"]) == ("", "")
    assert (data["queue"], data["type"], data["max_retry"], data["timeout"]) == (
        "critical", "report:build", "7", "120",
    )  # fmt: skip
    assert (data["encoding"], data["retention"]) == ("text", "600")
    response = operator.post("/enqueue/", data)
    assert response.status_code == 302, response.content.decode()
    copy = insp.get_task_info("critical", created_id(response))
    assert copy.id != original.id
    assert (copy.type, copy.payload, copy.max_retry, copy.timeout, copy.retention) == (
        "report:build", b'{"month": "2026-10",\n "rows": 3}', 7, timedelta(seconds=120),
        timedelta(seconds=600),
    )  # fmt: skip
    assert copy.deadline == datetime.fromtimestamp(1_900_000_000, UTC)
    assert dict(copy.headers) == {"trace": "t-1", "b": "x=y"}
    assert (copy.state, copy.retried, copy.last_err) == (TaskState.PENDING, 0, "")
    assert insp.get_task_info("critical", original.id).state is TaskState.RETRY
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.task_ids) == ("clone_task", [copy.id])
    assert entry.detail == f"cloned from task {original.id} of queue critical"


def test_clone_carries_a_binary_payload_as_base64(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    raw = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
    original = seed_task(redis_client, "archived", payload=raw, group_key="g7")
    data = clone_form(operator.get(f"/queues/default/tasks/{original.id}/clone").content.decode())
    assert data["encoding"] == "base64"
    assert data["group"] == "g7"
    response = operator.post("/enqueue/", data)
    copy = insp.get_task_info("default", created_id(response))
    assert (copy.payload, copy.state, copy.group) == (raw, TaskState.AGGREGATING, "g7")


def test_clone_of_a_missing_task_is_a_404(operator: Client, seeded: dict[TaskState, str]) -> None:
    assert operator.get("/queues/default/tasks/nope/clone").status_code == 404


# --- run a scheduler entry now ------------------------------------------------------------------


def test_run_now_enqueues_the_entrys_task_with_its_options_and_leaves_its_history(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    options = ['Queue("low")', "MaxRetry(3)", "Timeout(2m0s)", 'Header(["source","cron"])']
    add_scheduler_entry(
        redis_client, "entry-1", options, payload=b'{"every":"30s"}', task_type="lab:heartbeat"
    )
    history = keys.scheduler_history_key("entry-1")
    redis_client.zadd(history, {b"earlier-event": 1_700_000_000})
    assert 'href="/schedulers/entry-1/run"' in operator.get("/schedulers/").content.decode()
    confirm = operator.get("/schedulers/entry-1/run", **HTMX)
    assert confirm.status_code == 200
    assert "Run lab:heartbeat now?" in confirm.content.decode()
    assert 'hx-post="/schedulers/entry-1/run"' in confirm.content.decode()
    assert insp.queues() == []
    ran = operator.post("/schedulers/entry-1/run", **HTMX)
    assert ran.status_code == 200
    [task] = insp.list_tasks("low", TaskState.PENDING)
    assert (
        f"Enqueued task {task.id} (lab:heartbeat) as pending in queue low." in ran.content.decode()
    )
    assert (task.type, task.payload, task.max_retry, task.timeout) == (
        "lab:heartbeat", b'{"every":"30s"}', 3, timedelta(minutes=2),
    )  # fmt: skip
    assert dict(task.headers) == {"source": "cron"}
    assert redis_client.zrange(history, 0, -1) == [b"earlier-event"]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.queue, entry.task_ids, entry.outcome) == (
        "run_scheduler_entry", "low", [task.id], Outcome.SUCCEEDED,
    )  # fmt: skip
    assert entry.detail == "entry entry-1 (@every 30s, lab:heartbeat)"


def test_run_now_without_htmx_redirects_back_with_a_message(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    add_scheduler_entry(redis_client, "entry-1", [])
    page = operator.get("/schedulers/entry-1/run")
    assert 'name="next" value="/schedulers/"' in page.content.decode()
    response = operator.post("/schedulers/entry-1/run", {"next": "/schedulers/"}, follow=True)
    assert response.redirect_chain == [("/schedulers/", 302)]
    [task] = insp.list_tasks("default", TaskState.PENDING)
    assert f"Enqueued task {task.id} (report:daily)" in response.content.decode()
    assert task.payload == b""


@pytest.mark.parametrize(
    "option",
    ["Frobnicate(3)", "Deadline(Wed Nov 25 17:36:42 CET 2026)", "MaxRetry(three)", "Queue(low)"],
)
def test_run_now_refuses_an_entry_with_an_option_it_cannot_read(
    operator: Client, insp: Inspector, redis_client: redis.Redis, option: str
) -> None:
    add_scheduler_entry(redis_client, "entry-1", ['Queue("low")', option])
    confirm = operator.get("/schedulers/entry-1/run", **HTMX)
    assert confirm.status_code == 400
    assert "cannot run this entry" in unescape(confirm.content.decode())
    assert operator.post("/schedulers/entry-1/run", **HTMX).status_code == 400
    assert insp.queues() == []
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome) == ("run_scheduler_entry", Outcome.FAILED)
    assert option in entry.detail


def test_run_now_of_an_unknown_entry_is_a_404(operator: Client, queuecore_settings: str) -> None:
    assert operator.get("/schedulers/gone/run").status_code == 404
    assert operator.post("/schedulers/gone/run").status_code == 404


def test_run_now_reports_a_duplicate_of_a_unique_entry(
    operator: Client, insp: Inspector, redis_client: redis.Redis
) -> None:
    add_scheduler_entry(redis_client, "entry-1", ["Unique(1h0m0s)"])
    assert operator.post("/schedulers/entry-1/run", **HTMX).status_code == 200
    again = operator.post("/schedulers/entry-1/run", **HTMX)
    assert again.status_code == 409
    assert "task already exists" in again.content.decode()
    assert insp.get_queue_info("default").pending == 1
