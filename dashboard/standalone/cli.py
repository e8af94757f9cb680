"""``queuecore-dashboard``: serve the dashboard for one Redis, with no Django project of yours.

    queuecore-dashboard --redis-url redis://127.0.0.1:6379/0 --port 8080

Checks the flags, the port and Redis first (a clear message and exit status 2 for a bad flag, 1
for a Redis it cannot reach or a port in use), then prepares the data directory, migrates its
SQLite database, creates the first admin (from DJANGO_SUPERUSER_USERNAME/_PASSWORD, or a generated
password printed once) and replaces itself with gunicorn.
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import re
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from queuecore import __version__
from queuecore.errors import QueueCoreError
from queuecore.rdb.connection import RedisSettings

PROG = "queuecore-dashboard"
ENV = "QUEUECORE_STANDALONE_"
SETTINGS_MODULE = "dashboard.standalone.settings"
_ROOT_PATH = re.compile(r"^(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$")


class UsageError(Exception):
    """A flag the command refuses; exit status 2, like argparse's own errors."""


class StartupError(Exception):
    """The environment is not ready (Redis unreachable, port taken); exit status 1."""


@dataclass(frozen=True, kw_only=True)
class Options:
    redis_url: str
    host: str
    port: int
    root_path: str  # "" or "/a/b", never a trailing slash
    read_only: bool
    prometheus_url: str
    data_dir: Path
    workers: int
    threads: int


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / PROG


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis-url",
        default=env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="redis://, rediss:// (TLS), unix://, redis-sentinel://…?master=NAME or "
        "redis-cluster:// (default: $REDIS_URL or redis://127.0.0.1:6379/0)",
    )
    parser.add_argument("--port", type=int, default=int(env("PORT", "8080")))
    parser.add_argument(
        "--host", default=env("HOST", "127.0.0.1"), help="address to listen on (0.0.0.0: all)"
    )
    parser.add_argument(
        "--root-path", default="", help="serve under this path, e.g. /ops/queues (default: /)"
    )
    parser.add_argument("--read-only", action="store_true", help="refuse every change")
    parser.add_argument(
        "--prometheus-url",
        "--prometheus-addr",
        default="",
        help="the Prometheus that scrapes /metrics, for the Metrics page",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env("QUEUECORE_DATA_DIR") or default_data_dir()),
        help="its SQLite database (users, audit log, recycle bin) and secret key "
        f"(default: $QUEUECORE_DATA_DIR or {default_data_dir()})",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per process")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def parse_options(argv: list[str] | None = None) -> Options:
    args = build_parser().parse_args(argv)
    try:
        RedisSettings.from_url(args.redis_url)
    except QueueCoreError as exc:
        raise UsageError(f"--redis-url: {exc}") from exc
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    root = args.root_path.rstrip("/")
    if root and not _ROOT_PATH.match(root):
        raise UsageError(f"--root-path must look like /ops/queues, got {args.root_path!r}")
    if args.workers < 1 or args.threads < 1:
        raise UsageError("--workers and --threads must be at least 1")
    return Options(
        redis_url=args.redis_url,
        host=args.host,
        port=args.port,
        root_path=root,
        read_only=args.read_only,
        prometheus_url=args.prometheus_url,
        data_dir=args.data_dir.expanduser().resolve(),
        workers=args.workers,
        threads=args.threads,
    )


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(f"port {port} on {host} is already in use") from exc
            raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def check_redis(url: str) -> None:
    from queuecore.contrib.django.connection import health_probe

    try:
        health_probe(url).ping()
    except QueueCoreError as exc:
        shown = RedisSettings.from_url(url).display()
        raise StartupError(f"cannot reach Redis at {shown}: {exc}") from exc


def secret_key(data_dir: Path) -> str:
    """The data directory's secret key, made once so sessions survive a restart."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def environment(options: Options) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        ENV + "DATA_DIR": str(options.data_dir),
        ENV + "SECRET_KEY": secret_key(options.data_dir),
        ENV + "REDIS_URL": options.redis_url,
        ENV + "ROOT_PATH": options.root_path,
        ENV + "READ_ONLY": "1" if options.read_only else "",
        ENV + "PROMETHEUS_URL": options.prometheus_url,
    }


def ensure_first_admin(root_path: str) -> str | None:
    """Create a superuser when there is no user at all; returns what to tell the operator."""
    from django.contrib.auth import get_user_model

    users = get_user_model()
    if users.objects.exists():
        return None
    username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
    password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or ""
    if password:
        users.objects.create_superuser(username=username, email="", password=password)
        return f"created the first admin {username!r} from DJANGO_SUPERUSER_PASSWORD"
    generated = secrets.token_urlsafe(12)
    users.objects.create_superuser(username=username, email="", password=generated)
    return (
        f"created the first admin (shown once; change it at {root_path}/admin/password_change/): "
        f"{username} / {generated}"
    )


def prepare(options: Options) -> None:
    """Data directory, settings, migrations and the first admin, in this process."""
    import django
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        options.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create --data-dir {options.data_dir}: {exc.strerror}") from exc
    os.environ.update(environment(options))
    django.setup()
    try:
        # The QUEUECORE system checks are the one place its values are validated.
        call_command("check", stdout=io.StringIO())
    except SystemCheckError as exc:
        raise UsageError(str(exc).strip()) from exc
    call_command("migrate", interactive=False, verbosity=0)
    told = ensure_first_admin(options.root_path)
    if told:
        print(f"{PROG}: {told}")


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_argv(options: Options) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "dashboard.standalone.wsgi:application",
        "--config",
        "python:dashboard.standalone.gunicorn_conf",
        "--bind",
        bind_address(options.host, options.port),
        "--workers",
        str(options.workers),
        "--threads",
        str(options.threads),
    ]


def main(argv: list[str] | None = None) -> int:
    try:
        options = parse_options(argv)
        check_port_free(options.host, options.port)
        check_redis(options.redis_url)
        prepare(options)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    shown = RedisSettings.from_url(options.redis_url).display()
    print(
        f"{PROG}: serving {shown} at "
        f"http://{bind_address(options.host, options.port)}{options.root_path}/"
        + (" (read-only)" if options.read_only else ""),
        flush=True,
    )
    os.execv(sys.executable, gunicorn_argv(options))  # noqa: S606 - our own interpreter, fixed argv
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
