"""The dashboard at real screen widths, over demo-like data, in Debian's chromium.

At 1280 and 1024 px (laptops) and 390 px (a phone) every page's main table fits its box and the row
actions are on screen; screenshots of the overview, a retry tab and a task page at each width go
to test-artifacts/widths/ (git-ignored) for a person to look at. Also here: relative times that
count in the browser, the Breakdown panel agreeing with the tab right after "Run all", the one
confirmation dialog for a plain form too, and a walk through the nav with no console error and no
failed request.
"""

from __future__ import annotations

import random
import time
import zoneinfo
from datetime import UTC, datetime, timedelta
from itertools import cycle
from typing import Any

import pytest
import redis
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from dashboard.models import UserSettings
from demo.traffic import plan_tick
from queuecore import keys
from tests.dashboard.browser.conftest import ARTIFACTS, log_in, screenshot
from tests.dashboard.test_polish import register_entries, register_server
from tests.support.factories import seed_task

pytestmark = pytest.mark.browser

WIDTHS = (1280, 1024, 390)
LONG_QUEUE = "notifications-eu-west-1-high-priority"
LONG_ERROR = (
    "POST https://hooks.partner.example.com/v2/accounts/83412/events?batch=true: 503 Service "
    "Unavailable; upstream said: " + "connection reset by peer while reading response body " * 6
)
ERRORS = (
    "POST https://flaky.example.net/events: 503 Service Unavailable",
    "550 5.1.1 <user69@bounce.example.com>: mailbox does not exist",
    "cannot identify image file (truncated upload?)",
    LONG_ERROR,
)
# What a page's main tables and row actions look like from inside the browser.
MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const tables = Array.from(document.querySelectorAll("main table.grid")).map((t) => {
    const box = t.closest(".table-wrap") || t.parentElement;
    return {name: t.className, table: [t.scrollWidth, t.clientWidth],
            box: [box.scrollWidth, box.clientWidth]};
  });
  const actions = Array.from(document.querySelectorAll("main td.actions .btn")).map((b) => {
    const r = b.getBoundingClientRect();
    return [b.textContent.trim(), Math.floor(r.left), Math.ceil(r.right)];
  });
  return {width, page: document.documentElement.scrollWidth, tables, actions};
}"""


@pytest.fixture(autouse=True)
def widths_folder() -> None:
    (ARTIFACTS / "widths").mkdir(parents=True, exist_ok=True)


def seed_demo_traffic(client: redis.Redis) -> str:
    """Tasks as the demo enqueues them (plan_tick), spread over every state; returns a retry id."""
    rng, now = random.Random(14), time.time()
    states = cycle(("retry", "archived", "scheduled", "pending", "completed", "retry", "archived"))
    retry_id = ""
    for tick in range(5):
        for n, planned in enumerate(plan_tick(tick, rng)):
            state = next(states)
            fields: dict[str, Any] = {
                "type": planned.type,
                "payload": planned.payload_bytes(),
                "queue": planned.queue,
                "retry": 4,
            }
            score = None
            if state in ("retry", "archived"):
                fields.update(error_msg=ERRORS[n % len(ERRORS)], retried=2, last_failed_at=int(now))
                score = int(now) + 35 + 60 * n if state == "retry" else int(now) - 90
            if state == "scheduled":
                score = int(now) + 600 + 37 * n
            if state == "completed":
                fields.update(completed_at=int(now) - 200, retention=3600)
            task = seed_task(client, state, score=score, **fields)
            if state == "retry" and planned.queue == "default":
                retry_id = task.id
    # The long things a real deployment has: a long queue name, type, payload and error.
    devices = b",".join(b'"device-%d-abcdef0123456789"' % i for i in range(40))
    for state in ("retry", "archived", "active"):
        seed_task(
            client, state, queue=LONG_QUEUE, type="com.example.notifications:push-to-all-devices",
            payload=b'{"devices":[' + devices + b"]}",
            error_msg=LONG_ERROR, retried=3, retry=4, score=int(now) + 300,
        )  # fmt: skip
    seed_task(client, "aggregating", group_key="digest:user-42", type="email:digest")
    seed_task(client, "active", queue="default", type="image:resize")
    started = datetime.now(UTC) - timedelta(minutes=5)
    register_server(client, "worker-7f9c2d-eu-west-1.internal.example.com", 4242, started)
    register_entries(client, {"kpi-snapshot": datetime.now(UTC) + timedelta(seconds=20)})
    return retry_id


@pytest.mark.parametrize("width", WIDTHS)
def test_each_page_fits_the_width_and_its_row_actions_are_on_screen(
    page: Any, redis_client: redis.Redis, operator_user: User, width: int
) -> None:
    operator_user.groups.add(Group.objects.get(name="admin"))  # the most buttons per row
    retry_id = seed_demo_traffic(redis_client)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page)
    paths = {
        "overview": "/",
        **{
            f"queue-{state}": f"/queues/default/?state={state}"
            for state in ("retry", "archived", "scheduled", "pending", "active", "completed")
        },
        "queue-aggregating": "/queues/default/?state=aggregating",
        "long-queue-retry": f"/queues/{LONG_QUEUE}/?state=retry",
        "servers": "/servers/",
        "schedulers": "/schedulers/",
        "alerts": "/alerts/",
        "audit": "/audit/",
        "recently-deleted": "/recently-deleted/",
        "task": f"/queues/default/tasks/{retry_id}/",
    }
    for name, path in paths.items():
        page.goto(page.base + path)
        if name.startswith("queue") or name.startswith("long"):
            expect(page.locator("section.breakdown .pager")).to_be_visible()  # panel loaded
        seen = page.evaluate(MEASURE)
        assert seen["page"] <= seen["width"], f"{name} scrolls sideways at {width}px: {seen}"
        for table in seen["tables"]:
            for part in ("table", "box"):
                scroll, client = table[part]
                assert scroll <= client, f"{name}: {table['name']} overflows at {width}px: {table}"
        for label, left, right in seen["actions"]:
            assert left >= 0, f"{name}: {label} is off-screen: {seen}"
            assert right <= seen["width"], f"{name}: {label} is off-screen: {seen}"
        if name in ("overview", "queue-retry", "task"):
            screenshot(page, f"widths/{name}-{width}")
    # The actions the user came for are there at every width.
    page.goto(page.base + "/queues/default/?state=retry")
    for action in ("run", "archive", "delete"):
        first_row = page.locator("#task-rows tr").first
        expect(first_row.locator(f"button[data-action={action}]")).to_be_visible()
    # Rows a poll brings are labelled for the phone layout too.
    page.goto(page.base + "/")
    page.evaluate("document.querySelector('#page').dataset.stale = 'yes'")
    page.evaluate("htmx.trigger(document.body, 'dashboard:changed')")
    page.wait_for_selector("#page:not([data-stale])")
    expect(page.locator("tr[data-queue=default] td[data-label=Size]")).to_have_count(1)
    # Long text is cut, never lost: the full error is the cell's tooltip.
    page.goto(page.base + f"/queues/{LONG_QUEUE}/?state=retry")
    expect(page.locator("#task-rows td.error .error-text")).to_have_attribute("title", LONG_ERROR)


def test_relative_times_count_in_the_browser_with_the_zone_time_on_hover(
    page: Any, redis_client: redis.Redis, operator_user: User
) -> None:
    UserSettings.objects.create(user=operator_user, refresh_interval=0, time_zone="Europe/Berlin")
    due = int(time.time()) + 100
    task = seed_task(redis_client, "retry", error_msg="timeout", retried=1, score=due)
    page.clock.install()
    log_in(page)
    page.goto(page.base + "/queues/default/?state=retry")
    expect(page.locator("section.breakdown .pager")).to_be_visible()  # the page's own requests
    page.clock.pause_at(datetime.fromtimestamp(due - 95, UTC))
    page.clock.run_for(1000)
    shown = page.locator(f"tr[data-task-id='{task.id}'] td.time time")
    expect(shown).to_have_text("in 1 min 34 s")
    local = datetime.fromtimestamp(due, UTC).astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    expect(shown).to_have_attribute("title", local.strftime("%Y-%m-%d %H:%M:%S ") + local.tzname())

    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.clock.run_for(35_000)
    expect(shown).to_have_text("in 59 s")
    page.clock.run_for(120_000)
    expect(shown).to_have_text("1 min 1 s ago")
    assert asked == []  # counted in the page, no round trip


def test_run_all_on_archived_leaves_the_breakdown_agreeing_with_the_tab(
    page: Any, redis_client: redis.Redis, operator_user: User
) -> None:
    operator_user.groups.add(Group.objects.get(name="admin"))  # "… all" on archived is theirs
    for n in range(34):
        seed_task(redis_client, "archived", type="webhook:deliver", error_msg=ERRORS[n % 2])
    log_in(page)
    page.goto(page.base + "/queues/default/?state=archived")
    panel = page.locator("#breakdown-archived")
    expect(panel).to_contain_text("Scanned all 34 archived tasks.")

    page.click("a[data-bulk=run]")
    dialog = page.locator("#dialog dialog")
    expect(dialog.locator("[data-confirm-count]")).to_have_text("34")
    assert page.evaluate("document.querySelector('#dialog dialog').matches(':modal')")
    screenshot(page, "widths/confirm-run-all")
    dialog.locator("[data-confirm]").click()

    expect(page.locator("nav.tabs a[data-state=archived] .count")).to_have_text("0")
    expect(page.locator("#task-rows")).to_contain_text("No archived tasks.")
    expect(panel).to_contain_text("No archived tasks counted.")
    expect(panel).not_to_contain_text("webhook:deliver")
    for action in ("run", "delete"):
        expect(page.locator(f"button[data-bulk={action}]")).to_be_disabled()
    screenshot(page, "widths/archived-after-run-all")


def test_every_page_of_the_nav_loads_without_a_console_error_or_a_failed_request(
    page: Any, redis_client: redis.Redis, operator_user: User
) -> None:
    operator_user.is_staff = True  # so the nav has its Admin link too
    operator_user.save()
    retry_id = seed_demo_traffic(redis_client)
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console: {m.text} {m.location}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on(
        "response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None
    )
    log_in(page)
    links = page.eval_on_selector_all("nav.nav a", "links => links.map(a => a.href)")
    assert len(links) >= 7
    extra = [
        page.base + "/queues/default/?state=retry",
        page.base + f"/queues/default/tasks/{retry_id}/",
    ]
    for url in [*links, *extra]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    assert problems == []


def test_deleting_an_unreadable_record_asks_in_the_same_dialog(
    page: Any, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "archived")
    redis_client.set(keys.task_key("default", "bad-string"), b"raw bytes\x00")
    redis_client.zadd(keys.archived_key("default"), {"bad-string": 1})
    log_in(page)
    page.goto(page.base + "/queues/default/?state=archived")
    dialog = page.locator("#dialog dialog")

    page.click("[data-unreadable] button:text('Delete record')")
    expect(dialog.locator("h2")).to_have_text("Delete this record?")
    expect(dialog.locator("[data-confirm-count]")).to_have_text("1")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert redis_client.exists(keys.task_key("default", "bad-string"))

    page.click("[data-unreadable] button:text('Delete record')")
    dialog.locator("[data-confirm]").click()
    expect(page.locator("[data-unreadable]")).to_have_count(0)
    assert not redis_client.exists(keys.task_key("default", "bad-string"))
