"""The installed wheel in a Django project of someone else's, under /ops/queues/.

A fresh ``django-admin startproject`` with an app of its own (``shop``, with a ``tasks.py``
handler), the settings and one ``include()`` the README's "Add to your Django project" gives,
``check`` and ``migrate``, then gunicorn serving it: log in, see the queue and its tasks, follow
links, htmx partials, redirects and static URLs under the prefix; ``runworker --burst`` runs the
project's own handler.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from queuecore import Client, Task
from tests.support.installed import Venv, clean_env, run, site_packages_of
from tests.support.redis_server import free_port
from tests.support.web import Browser, wait_until_serving

pytestmark = pytest.mark.slow

PREFIX = "/ops/queues"
ADMIN, PASSWORD = "ops-admin", "ops-Pass-8c1e5a"

SETTINGS = """
# --- queuecore (README: "Add to your Django project")
import os

INSTALLED_APPS += ["django_htmx", "queuecore.contrib.django", "dashboard", "shop"]
MIDDLEWARE += ["django_htmx.middleware.HtmxMiddleware"]
TEMPLATES[0]["OPTIONS"]["context_processors"].append("dashboard.context.dashboard")
QUEUECORE = {"REDIS_URL": os.environ["SHOP_REDIS_URL"], "QUEUES": {"orders": 2, "default": 1}}
"""

URLS = """
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("ops/queues/", include("dashboard.site_urls")),
]
"""

HANDLERS = """
from pathlib import Path

from queuecore import handler


@handler("shop:ship")
def ship(task):
    with Path("shipped.txt").open("ab") as out:
        out.write(task.payload + b"\\n")
"""


@dataclass(frozen=True)
class Project:
    venv: Venv
    root: Path
    env: dict[str, str]

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([self.venv.python, "manage.py", *args], cwd=self.root, env=self.env)


@pytest.fixture
def project(dashboard_venv: Venv, user_dir: Path, redis_url: str) -> Project:
    run([dashboard_venv.bin("django-admin"), "startproject", "mysite", "."], cwd=user_dir)
    env = clean_env(
        SHOP_REDIS_URL=redis_url,
        DJANGO_SUPERUSER_USERNAME=ADMIN,
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        DJANGO_SUPERUSER_EMAIL="ops@example.com",
    )
    made = Project(dashboard_venv, user_dir, env)
    made.manage("startapp", "shop")
    (user_dir / "shop" / "tasks.py").write_text(HANDLERS)
    settings = user_dir / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + SETTINGS)
    (user_dir / "mysite" / "urls.py").write_text(URLS)
    return made


@pytest.fixture
def served(project: Project) -> Iterator[Browser]:
    port = free_port()
    log = project.root / "gunicorn.log"
    args = [project.venv.bin("gunicorn"), "mysite.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", "1", "--threads", "4", "--no-control-socket"]
    with log.open("wb") as out:
        server = subprocess.Popen(args, cwd=project.root, env=project.env, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}{PREFIX}/healthz", server, log.read_text)
        yield Browser(base)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_wheel_plugs_into_a_new_django_project_under_a_prefix(
    project: Project, served: Browser, redis_url: str
) -> None:
    for module in ("queuecore", "dashboard"):
        assert project.venv.path in site_packages_of(project.venv, module, project.root).parents
    help_text = project.manage("help").stdout
    assert re.search(r"\[queuecore\]\n(    \w+\n)*    runworker\n", help_text), help_text
    project.manage("check")
    project.manage("migrate", "--noinput")
    project.manage("createsuperuser", "--noinput")
    found = project.manage("findstatic", "dashboard/dashboard.css").stdout
    assert str(project.venv.path) in found

    client = Client.from_url(redis_url)
    ids = [
        client.enqueue(Task("shop:ship", f"order-{n}".encode()), queue="orders").id for n in (1, 2)
    ]

    anonymous = served.request(f"{PREFIX}/", follow=False)
    assert anonymous.status == 302
    assert anonymous.headers["Location"].startswith(f"/accounts/login/?next={PREFIX}/")
    # The host has no LoginRequiredMiddleware: the dashboard's own views still require login.
    assert served.request(f"{PREFIX}/api/queues").status in (401, 403)
    assert served.request(f"{PREFIX}/metrics").status == 401
    assert served.request(f"{PREFIX}/healthz").status == 200
    served.login(ADMIN, PASSWORD, path=anonymous.headers["Location"])

    overview = served.request(f"{PREFIX}/")
    assert overview.status == 200
    assert f'href="{PREFIX}/queues/orders/"' in overview.text
    assert 'href="/static/dashboard/dashboard.css"' in overview.text

    page = served.request(f"{PREFIX}/queues/orders/?state=pending")
    assert page.status == 200
    assert all(task_id in page.text for task_id in ids)
    hrefs = re.findall(r'(?:href|hx-get|hx-post|action)="(/[^"]*)"', page.text)
    assert hrefs
    assert all(h.startswith((PREFIX + "/", "/static/", "/accounts/", "/admin/")) for h in hrefs)

    partial = served.request(
        f"{PREFIX}/queues/orders/?state=pending", headers={"HX-Request": "true"}
    )
    assert partial.status == 200
    assert "<html" not in partial.text
    assert ids[0] in partial.text

    paused = served.request(f"{PREFIX}/queues/orders/pause", data={}, follow=False)
    assert paused.status == 302
    assert paused.headers["Location"].startswith(f"{PREFIX}/")
    assert redis.Redis.from_url(redis_url).exists("asynq:{orders}:paused")
    resumed = served.request(f"{PREFIX}/queues/orders/resume", data={}, follow=False)
    assert resumed.status == 302

    api = served.request(f"{PREFIX}/api/queues")
    assert api.status == 200
    assert '"orders"' in api.text

    worked = project.manage("runworker", "--burst")
    assert "shop.tasks" in worked.stdout + worked.stderr
    shipped = (project.root / "shipped.txt").read_text().split()
    assert sorted(shipped) == ["order-1", "order-2"]  # concurrency 10: any order
    assert redis.Redis.from_url(redis_url).llen("asynq:{orders}:pending") == 0
