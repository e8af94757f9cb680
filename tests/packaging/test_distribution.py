"""The sdist and wheel hold everything, and the core installs and works without Django."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest
import redis

from queuecore import __version__
from tests.packaging.conftest import Dist
from tests.support.installed import Venv, clean_env, run, site_packages_of

pytestmark = pytest.mark.slow


def wheel_names(dist: Dist) -> set[str]:
    with zipfile.ZipFile(dist.wheel) as wheel:
        return set(wheel.namelist())


def test_the_wheel_is_named_and_versioned_from_queuecore_version(dist: Dist) -> None:
    assert dist.wheel.name == f"queuecore-{__version__}-py3-none-any.whl"
    assert dist.sdist.name == f"queuecore-{__version__}.tar.gz"


def test_the_wheel_ships_lua_proto_migrations_templates_and_static_files(dist: Dist) -> None:
    names = wheel_names(dist)
    repo = Path(__file__).resolve().parents[2]
    lua = {f"queuecore/rdb/lua/{p.name}" for p in (repo / "queuecore/rdb/lua").glob("*.lua")}
    assert lua
    assert lua <= names
    assert {"queuecore/proto/asynq.proto", "queuecore/proto/asynq_pb2.py"} <= names
    assert "dashboard/migrations/0001_initial.py" in names
    templates = {
        f"dashboard/templates/{p.relative_to(repo / 'templates')}"
        for p in (repo / "templates").rglob("*.html")
    }
    static = {
        f"dashboard/static/{p.relative_to(repo / 'static')}"
        for p in (repo / "static").rglob("*")
        if p.is_file()
    }
    assert templates
    assert templates <= names
    assert static
    assert static <= names
    assert "queuecore/contrib/django/queuecore/management/commands/runworker.py" in names
    assert not any(n.startswith(("tests/", "config/", "demo/", "bench/")) for n in names)


def test_the_sdist_holds_the_sources_the_wheel_is_built_from(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "templates/dashboard/base.html"} <= names
    assert "queuecore/rdb/lua/enqueue.lua" in names


def test_the_wheel_declares_the_core_and_a_dashboard_extra(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        meta = wheel.read(f"queuecore-{__version__}.dist-info/METADATA").decode()
        scripts = wheel.read(f"queuecore-{__version__}.dist-info/entry_points.txt").decode()
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    core = [r for r in requires if "extra ==" not in r]
    assert {r.split()[1].split("<")[0].split(">")[0].lower() for r in core} >= {
        "redis",
        "protobuf",
        "croniter",
    }
    assert not any("django" in r.lower() for r in core)
    assert "Provides-Extra: dashboard" in meta
    assert any(r.startswith("Requires-Dist: django<") and "dashboard" in r for r in requires)
    assert "queuecore-dashboard = dashboard.standalone.cli:main" in scripts
    assert "queuecore-worker = queuecore.server.__main__:main" in scripts


HANDLERS = """
import pathlib
from queuecore import handler

@handler("invoice:render")
def render(task):
    pathlib.Path("rendered.txt").write_bytes(task.payload)
"""

ENQUEUE = """
import sys
import queuecore
from queuecore import Client, Task
info = Client.from_url(sys.argv[1]).enqueue(Task("invoice:render", b"INV-7"), queue="billing")
print(queuecore.__version__, info.id)
"""


def test_the_core_alone_imports_and_runs_a_client_and_a_worker_without_django(
    core_installed: Venv, user_dir: Path, redis_url: str
) -> None:
    where = site_packages_of(core_installed, "queuecore", user_dir)
    assert core_installed.path in where.parents
    assert "site-packages" in where.parts
    missing = run(
        [core_installed.python, "-c", "import importlib.util as u; print(u.find_spec('django'))"],
        cwd=user_dir,
    )
    assert missing.stdout.strip() == "None"

    (user_dir / "invoices.py").write_text(HANDLERS)
    (user_dir / "enqueue.py").write_text(ENQUEUE)
    version, task_id = run(
        [core_installed.python, "enqueue.py", redis_url], cwd=user_dir
    ).stdout.split()
    assert version == __version__
    env = clean_env(PYTHONPATH=str(user_dir))
    args = ["--redis-url", redis_url, "--import", "invoices", "-q", "billing", "--burst"]
    run([core_installed.bin("queuecore-worker"), *args], cwd=user_dir, env=env)

    assert (user_dir / "rendered.txt").read_bytes() == b"INV-7"
    client = redis.Redis.from_url(redis_url)
    assert client.llen("asynq:{billing}:pending") == 0
    assert not client.exists(f"asynq:{{billing}}:t:{task_id}")  # done, no retention: gone
