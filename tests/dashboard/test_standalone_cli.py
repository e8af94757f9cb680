"""``queuecore-dashboard`` refuses to start with a reason: bad flags exit 2, a Redis it cannot
reach or a port in use exit 1 — all before it touches the data directory or starts gunicorn."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dashboard.standalone import cli
from tests.support.redis_server import free_port


def start(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    code = cli.main(list(flags))
    return code, capsys.readouterr().err


def test_a_url_that_is_not_redis_exits_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = start(capsys, "--redis-url", "http://example.com", "--data-dir", str(tmp_path))
    assert code == 2
    assert "--redis-url: unsupported Redis URL scheme 'http'" in err


def test_a_sentinel_url_without_a_master_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = start(capsys, "--redis-url", "redis-sentinel://127.0.0.1:26379")
    assert code == 2
    assert "master" in err


@pytest.mark.parametrize("root", ["ops", "/ops queues", "/a?b"])
def test_a_root_path_that_is_not_a_path_exits_2(
    capsys: pytest.CaptureFixture[str], root: str
) -> None:
    code, err = start(capsys, "--root-path", root)
    assert code == 2
    assert "--root-path" in err


def test_an_unreachable_redis_exits_1_and_leaves_no_data_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    dead = f"redis://127.0.0.1:{free_port()}/0"
    code, err = start(
        capsys, "--redis-url", dead, "--port", str(free_port()), "--data-dir", str(data)
    )
    assert code == 1
    assert f"cannot reach Redis at {dead}" in err
    assert not data.exists()


def test_a_port_in_use_exits_1_naming_the_port(
    capsys: pytest.CaptureFixture[str], redis_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = start(capsys, "--redis-url", redis_url, "--port", str(port))
    assert code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in err


def test_the_redis_password_is_not_printed_when_redis_is_unreachable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    code, err = start(capsys, "--redis-url", dead, "--port", str(free_port()))
    assert code == 1
    assert "s3cret-pw" not in err


def test_the_flags_become_the_standalone_settings_environment(tmp_path: Path) -> None:
    options = cli.parse_options(
        [
            "--redis-url",
            "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/0?master=mymaster",
            "--root-path",
            "/ops/queues/",
            "--read-only",
            "--prometheus-addr",
            "http://127.0.0.1:9090",
            "--data-dir",
            str(tmp_path),
        ]
    )
    env = cli.environment(options)
    assert env["DJANGO_SETTINGS_MODULE"] == "dashboard.standalone.settings"
    assert env["QUEUECORE_STANDALONE_ROOT_PATH"] == "/ops/queues"
    assert env["QUEUECORE_STANDALONE_READ_ONLY"] == "1"
    assert env["QUEUECORE_STANDALONE_PROMETHEUS_URL"] == "http://127.0.0.1:9090"
    assert env["QUEUECORE_STANDALONE_DATA_DIR"] == str(tmp_path.resolve())


def test_the_secret_key_is_made_once_per_data_directory_and_kept_private(tmp_path: Path) -> None:
    first = cli.secret_key(tmp_path)
    assert cli.secret_key(tmp_path) == first
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
