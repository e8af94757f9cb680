"""The distribution as a user gets it: built once per session, installed into fresh venvs.

``dist`` builds the sdist and, from it, the wheel with ``python -m build`` (so a file missing from
the sdist breaks the wheel too). ``core_installed`` is a venv with the wheel alone (no Django),
``dashboard_venv`` one with the wheel and its ``dashboard`` extra. Both use a Python 3.12+ found by
scripts/python, pip's cache, and requirements.txt as constraints (the versions the repository pins).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.installed import ROOT, Venv, new_venv, pinned, run


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="session")
def packaging_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("packaging")


@pytest.fixture(scope="session")
def core_venv(packaging_dir: Path) -> Venv:
    return new_venv(packaging_dir / "core-venv")


@pytest.fixture(scope="session")
def dist(packaging_dir: Path, core_venv: Venv) -> Dist:
    # The build frontend lives in the core venv (never in the shared .venv); the backend
    # (hatchling, pinned in pyproject.toml) is installed by build into its isolated environment.
    core_venv.pip_install(pinned("build"), cwd=packaging_dir)
    out = packaging_dir / "dist"
    run([core_venv.python, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=packaging_dir)
    (wheel,) = out.glob("queuecore-*.whl")
    (sdist,) = out.glob("queuecore-*.tar.gz")
    return Dist(wheel=wheel, sdist=sdist)


@pytest.fixture(scope="session")
def core_installed(core_venv: Venv, dist: Dist, packaging_dir: Path) -> Venv:
    core_venv.pip_install(str(dist.wheel), cwd=packaging_dir)
    return core_venv


@pytest.fixture(scope="session")
def dashboard_venv(dist: Dist, packaging_dir: Path) -> Venv:
    venv = new_venv(packaging_dir / "dashboard-venv")
    venv.pip_install(f"{dist.wheel}[dashboard]", cwd=packaging_dir)
    return venv


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A directory of the user's, far from the repository, to run installed commands in."""
    where = tmp_path / "user"
    where.mkdir()
    assert ROOT not in where.parents
    return where
