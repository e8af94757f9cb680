"""Every action changes Redis as the Inspector says, answers htmx with a fragment, is audited."""

from __future__ import annotations

import pytest
import redis
from django.test import Client

from dashboard import operations
from dashboard.models import AuditEntry, Outcome
from queuecore import Inspector, TaskNotFoundError, TaskState
from tests.support.factories import seed_task

HTMX = {"HTTP_HX_REQUEST": "true"}


def state_of(insp: Inspector, task_id: str, queue: str = "default") -> TaskState | None:
    try:
        return insp.get_task_info(queue, task_id).state
    except TaskNotFoundError:
        return None


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        (TaskState.ARCHIVED, "run", TaskState.PENDING),
        (TaskState.RETRY, "run", TaskState.PENDING),
        (TaskState.SCHEDULED, "run", TaskState.PENDING),
        (TaskState.AGGREGATING, "run", TaskState.PENDING),
        (TaskState.PENDING, "archive", TaskState.ARCHIVED),
        (TaskState.RETRY, "archive", TaskState.ARCHIVED),
        (TaskState.SCHEDULED, "archive", TaskState.ARCHIVED),
        (TaskState.COMPLETED, "delete", None),
        (TaskState.ARCHIVED, "delete", None),
        (TaskState.PENDING, "delete", None),
    ],
)
def test_one_task_action_moves_the_task(
    operator: Client, insp: Inspector, seeded: dict[TaskState, str], state: TaskState, action: str,
    after: TaskState | None,
) -> None:  # fmt: skip
    task_id = seeded[state]
    response = operator.post(f"/queues/default/tasks/{task_id}/{action}", **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "dashboard:changed, dashboard:acted"
    assert state_of(insp, task_id) is after
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.action, entry.queue, entry.task_ids) == (
        "operator-user",
        action,
        "default",
        [task_id],
    )
    assert (entry.outcome, entry.count, entry.state) == (Outcome.SUCCEEDED, 1, state.value)


def test_an_action_without_htmx_redirects_back_with_a_message(
    operator: Client, insp: Inspector, seeded: dict[TaskState, str]
) -> None:
    task_id = seeded[TaskState.ARCHIVED]
    response = operator.post(
        f"/queues/default/tasks/{task_id}/run",
        {"next": "/queues/default/?state=archived"},
        follow=True,
    )
    assert response.redirect_chain[-1] == ("/queues/default/?state=archived", 302)
    assert b"moved to pending" in response.content
    assert state_of(insp, task_id) is TaskState.PENDING


def test_an_action_on_a_task_that_changed_state_is_a_plain_409(
    operator: Client, insp: Inspector, seeded: dict[TaskState, str]
) -> None:
    task_id = seeded[TaskState.ARCHIVED]
    insp.run_task("default", task_id)  # someone else retried it meanwhile
    response = operator.post(f"/queues/default/tasks/{task_id}/run", **HTMX)
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#flash"
    assert b"is now pending" in response.content
    assert AuditEntry.objects.get().outcome == Outcome.FAILED
    gone = operator.post("/queues/default/tasks/vanished/delete", **HTMX)
    assert gone.status_code == 404
    assert b"task not found" in gone.content


def test_cancel_asks_the_servers_over_pubsub(
    operator: Client, insp: Inspector, seeded: dict[TaskState, str], redis_client: redis.Redis
) -> None:
    pubsub = redis_client.pubsub()
    pubsub.subscribe("asynq:cancel")
    pubsub.get_message(timeout=1)
    task_id = seeded[TaskState.ACTIVE]
    assert operator.post(f"/queues/default/tasks/{task_id}/cancel", **HTMX).status_code == 200
    message = pubsub.get_message(timeout=2)
    assert message
    assert message["data"] == task_id.encode()
    pubsub.close()


def test_selected_rows_report_what_happened_to_each(
    operator: Client, insp: Inspector, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    archived = [seed_task(redis_client, "archived").id for _ in range(3)]
    pending = seed_task(redis_client, "pending").id
    response = operator.post(
        "/queues/default/selected/run", {"ids": [*archived, pending, "missing"]}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        "Ran 3 tasks. 1 task had changed state and was left alone. 1 task no longer existed."
        in body
    )
    assert all(state_of(insp, i) is TaskState.PENDING for i in archived)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.count, entry.total, entry.outcome) == (
        "run_selected",
        3,
        5,
        Outcome.PARTIAL,
    )


def test_selected_with_nothing_selected_is_400(
    operator: Client, seeded: dict[TaskState, str]
) -> None:
    assert operator.post("/queues/default/selected/delete", {}, **HTMX).status_code == 400


def test_all_in_state_asks_for_confirmation_with_the_exact_count_first(
    operator: Client, insp: Inspector, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    for _ in range(7):
        seed_task(redis_client, "retry")
    confirm = operator.get("/queues/default/all/retry/delete", **HTMX)
    assert confirm.status_code == 200
    assert b"<dialog open" in confirm.content
    assert b"data-confirm-count>7<" in confirm.content
    assert insp.get_queue_info("default").retry == 7  # nothing happened yet
    done = operator.post("/queues/default/all/retry/delete", **HTMX)
    assert b"Deleted 7 tasks (retry in default)." in done.content
    assert insp.get_queue_info("default").retry == 0
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.state, entry.count, entry.outcome) == (
        "delete_all",
        "retry",
        7,
        Outcome.SUCCEEDED,
    )


def test_all_in_a_group_only_touches_that_group(
    operator: Client, insp: Inspector, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    for group, n in (("g1", 3), ("g2", 2)):
        for _ in range(n):
            seed_task(redis_client, "aggregating", group_key=group)
    confirm = operator.get("/queues/default/all/aggregating/run?group=g1")
    assert b"data-confirm-count>3<" in confirm.content
    operator.post("/queues/default/all/aggregating/run", {"group": "g1"}, **HTMX)
    assert {g.group: g.size for g in insp.groups("default")} == {"g2": 2}
    assert insp.get_queue_info("default").pending == 3


def test_long_all_actions_run_in_the_background_and_report_progress(
    operator: Client, insp: Inspector, redis_client: redis.Redis, queuecore_settings: str,
    monkeypatch: pytest.MonkeyPatch, transactional_db: None,
) -> None:  # fmt: skip
    monkeypatch.setattr(operations, "SYNC_LIMIT", 2)
    for _ in range(5):
        seed_task(redis_client, "scheduled")
    started = operator.post("/queues/default/all/scheduled/run", **HTMX)
    assert b"<progress" in started.content
    entry = AuditEntry.objects.get()
    for thread in __import__("threading").enumerate():
        if thread.name == f"dashboard-op-{entry.pk}":
            thread.join(timeout=10)
    finished = operator.get(f"/operations/{entry.pk}/", **HTMX)
    assert finished.status_code == 286
    assert b"Ran 5 tasks (scheduled in default)." in finished.content
    assert insp.get_queue_info("default").pending == 5


def test_pause_and_resume_a_queue(
    operator: Client, insp: Inspector, seeded: dict[TaskState, str]
) -> None:
    assert operator.post("/queues/default/pause", **HTMX).status_code == 200
    assert insp.get_queue_info("default").paused
    again = operator.post("/queues/default/pause", **HTMX)
    assert again.status_code == 409
    assert b"already paused" in again.content
    assert operator.post("/queues/default/resume", **HTMX).status_code == 200
    assert not insp.get_queue_info("default").paused
    assert [e.action for e in AuditEntry.objects.order_by("id")] == [
        "pause_queue",
        "pause_queue",
        "resume_queue",
    ]


def test_deleting_a_queue_confirms_its_size_then_deletes_everything(
    admin: Client, insp: Inspector, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    for state in ("pending", "archived", "retry"):
        seed_task(redis_client, state, queue="doomed")
    confirm = admin.get("/queues/doomed/delete", **HTMX)
    assert b"data-confirm-count>3<" in confirm.content
    done = admin.post("/queues/doomed/delete", **HTMX)
    assert done.status_code == 204
    assert done["HX-Redirect"] == "/"
    assert "doomed" not in insp.queues()
    assert AuditEntry.objects.get().action == "delete_queue"


def test_a_queue_with_active_tasks_is_not_deleted(
    admin: Client, insp: Inspector, redis_client: redis.Redis, queuecore_settings: str
) -> None:
    seed_task(redis_client, "active", queue="busy")
    response = admin.post("/queues/busy/delete", **HTMX)
    assert response.status_code == 409
    assert b"active tasks" in response.content
    assert "busy" in insp.queues()


def test_changes_need_post(operator: Client, seeded: dict[TaskState, str]) -> None:
    task_id = seeded[TaskState.ARCHIVED]
    assert operator.get(f"/queues/default/tasks/{task_id}/run").status_code == 405
    assert operator.get("/queues/default/selected/run").status_code == 405
    assert operator.get("/queues/default/pause").status_code == 400


def test_changes_need_a_csrf_token(
    make_user, seeded: dict[TaskState, str], insp: Inspector
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    task_id = seeded[TaskState.ARCHIVED]
    assert client.post(f"/queues/default/tasks/{task_id}/run").status_code == 403
    assert state_of(insp, task_id) is TaskState.ARCHIVED
    page = client.get(f"/queues/default/tasks/{task_id}/")
    token = page.cookies["csrftoken"].value
    ok = client.post(f"/queues/default/tasks/{task_id}/run", HTTP_X_CSRFTOKEN=token, **HTMX)
    assert ok.status_code == 200


def test_a_progress_note_the_database_refuses_does_not_stop_the_background_action(
    monkeypatch: pytest.MonkeyPatch, transactional_db: None
) -> None:
    # SQLite answers "database table is locked" when another connection holds the table; the
    # action must go on and its final record still be written.
    from django.db import OperationalError
    from django.db.models import QuerySet

    entry = AuditEntry.objects.create(action="run_all", queue="default", total=3)
    real_update = QuerySet.update
    refusals = iter([True])

    def update_once_refused(self: QuerySet, **fields: object) -> int:
        if next(refusals, False):
            raise OperationalError("database table is locked: dashboard_auditentry")
        return real_update(self, **fields)

    monkeypatch.setattr(QuerySet, "update", update_once_refused)

    def work(progress: operations.Progress) -> int:
        for done in range(1, 4):
            progress(done)
        return 3

    operations.start_background(entry, work).join(timeout=10)
    entry.refresh_from_db()
    assert (entry.outcome, entry.count) == (Outcome.SUCCEEDED, 3)
