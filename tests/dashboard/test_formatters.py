"""Payload and result formatters: which one a task type gets, the built-ins, failures shown as a
note beside the default rendering, escaping, the JSON API, and the system check."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils.safestring import mark_safe

from dashboard import formatters
from dashboard.formatters import gzip_json, json_pretty, pick, protobuf_raw
from queuecore.contrib.django.checks import check_queuecore_settings
from queuecore.messages import encode_task_message
from tests.support.factories import make_message, seed_task

HERE = "tests.dashboard.test_formatters"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


# Formatters the settings below name by dotted path.
def tag_exact(task_type: str, data: bytes) -> str:
    return f"EXACT {task_type} {len(data)}"


def tag_prefix(task_type: str, data: bytes) -> str:
    return f"PREFIX {task_type}"


def tag_longer_prefix(task_type: str, data: bytes) -> str:
    return f"LONGER {task_type}"


def tag_default(task_type: str, data: bytes) -> str:
    return f"DEFAULT {task_type}"


def explode(task_type: str, data: bytes) -> str:
    raise RuntimeError("cannot decode this")


def give_int(task_type: str, data: bytes) -> int:
    return 42


def give_dict(task_type: str, data: bytes) -> dict[str, Any]:
    return {"type": task_type, "size": len(data), "ok": True}


def hostile(task_type: str, data: bytes) -> str:
    return HOSTILE


def hostile_safe(task_type: str, data: bytes) -> str:
    return mark_safe(HOSTILE)


def result_tag(task_type: str, data: bytes) -> str:
    return f"RESULT {data.decode()}"


NOT_CALLABLE = "just a string"


def configure(**overrides: Any) -> Any:
    return override_settings(QUEUECORE={**settings.QUEUECORE, **overrides})


def page(client: Client, task_id: str, queue: str = "default") -> str:
    response = client.get(f"/queues/{queue}/tasks/{task_id}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("task_type", "expected"),
    [
        ("email:send", "email:send"),  # the exact type beats every prefix
        ("email:send:bulk", "email:send*"),  # the longest prefix wins
        ("email:welcome", "email:*"),
        ("email:", "email:*"),  # a prefix matches the bare prefix too
        ("image:resize", "*"),  # "*" is the default
    ],
)
def test_the_exact_type_then_the_longest_prefix_then_the_default_is_picked(
    task_type: str, expected: str
) -> None:
    patterns = ["*", "email:*", "email:send*", "email:send"]
    assert pick(patterns, task_type) == expected
    assert pick(list(reversed(patterns)), task_type) == expected


def test_no_pattern_matching_means_no_formatter() -> None:
    assert pick(["email:*", "report:daily"], "image:resize") is None
    assert pick([], "anything") is None


def test_json_pretty_indents_and_keeps_non_ascii() -> None:
    assert json_pretty("t", '{"a":[1,2],"b":"é"}'.encode()) == (
        '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "é"\n}'
    )
    with pytest.raises(ValueError):
        json_pretty("t", b"not json")


def test_gzip_json_inflates_json_or_text_and_refuses_what_is_not_gzip() -> None:
    assert gzip_json("t", gzip.compress(b'{"user": 7}')) == '{\n  "user": 7\n}'
    assert gzip_json("t", gzip.compress(b"plain text")) == "plain text"
    with pytest.raises(ValueError, match="not gzip"):
        gzip_json("t", b'{"user": 7}')
    with pytest.raises(ValueError, match="truncated"):
        gzip_json("t", gzip.compress(b'{"user": 7}' * 100)[:-12])


def test_gzip_json_refuses_a_bomb_beyond_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formatters, "MAX_INFLATED", 1000)
    with pytest.raises(ValueError, match="more than 1000 bytes"):
        gzip_json("t", gzip.compress(b"0" * 5000))


def test_protobuf_raw_decodes_a_message_without_its_schema() -> None:
    msg = make_message(type="email:send", payload=b"\xff\x01", id="abc", retry=3, timeout=60)
    msg.headers.update({"trace_id": "t-1"})
    text = protobuf_raw("t", encode_task_message(msg))
    lines = text.splitlines()
    assert '1: "email:send"' in lines  # TaskMessage field 1 is the type
    assert "2: 0xff01" in lines  # binary bytes in hex
    assert '3: "abc"' in lines
    assert "5: 3" in lines
    assert "8: 60" in lines
    assert "15 {" in lines  # a map entry is a nested message
    assert '  1: "trace_id"' in lines
    with pytest.raises(ValueError):
        protobuf_raw("t", b"\xff\xff\xff")


@pytest.mark.django_db
def test_the_configured_formatter_renders_the_task_page_and_list_previews(
    viewer: Client, redis_client: redis.Redis
) -> None:
    exact = seed_task(redis_client, "pending", type="email:send")
    longer = seed_task(redis_client, "pending", type="email:send:bulk")
    prefix = seed_task(redis_client, "pending", type="email:welcome")
    other = seed_task(redis_client, "pending", type="image:resize")
    with configure(
        PAYLOAD_FORMATTERS={
            "email:send": f"{HERE}.tag_exact",
            "email:*": f"{HERE}.tag_prefix",
            "email:send*": f"{HERE}.tag_longer_prefix",
        }
    ):
        assert f"EXACT email:send {len(exact.payload)}" in page(viewer, exact.id)
        assert "LONGER email:send:bulk" in page(viewer, longer.id)
        assert "PREFIX email:welcome" in page(viewer, prefix.id)
        # No pattern matches and there is no "*": the default (pretty JSON) rendering.
        body = page(viewer, other.id)
        assert "PREFIX" not in body
        assert "EXACT" not in body
        assert "&quot;to&quot;: &quot;a@example.com&quot;" in body
        listed = viewer.get("/queues/default/?state=pending").content.decode()
    assert "EXACT email:send" in listed
    assert "LONGER email:send:bulk" in listed
    assert "PREFIX email:welcome" in listed


@pytest.mark.django_db
def test_the_star_pattern_is_the_default_for_every_other_type(
    viewer: Client, redis_client: redis.Redis
) -> None:
    task = seed_task(redis_client, "pending", type="image:resize")
    with configure(
        PAYLOAD_FORMATTERS={"*": f"{HERE}.tag_default", "email:*": f"{HERE}.tag_prefix"}
    ):
        body = page(viewer, task.id)
    assert "DEFAULT image:resize" in body
    assert f"Formatted by {HERE}.tag_default" in body


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (f"{HERE}.explode", "RuntimeError: cannot decode this"),
        (f"{HERE}.give_int", "returned int, not str"),
        (f"{HERE}.missing", "cannot be imported"),
        ("no_such_module_anywhere.fmt", "cannot be imported"),
        (f"{HERE}.NOT_CALLABLE", "must name a callable"),
    ],
)
@pytest.mark.django_db
def test_a_failing_formatter_shows_a_note_the_default_rendering_and_the_raw_bytes(
    viewer: Client, redis_client: redis.Redis, path: str, problem: str
) -> None:
    task = seed_task(redis_client, "pending", type="email:send", payload=b'{"n": 1}')
    with configure(PAYLOAD_FORMATTERS={"email:send": path}):
        body = page(viewer, task.id)
        listed = viewer.get("/queues/default/?state=pending").content.decode()
        raw = viewer.get(f"/queues/default/tasks/{task.id}/raw/payload")
    text = unescape(body)
    assert f"formatter {path} failed:" in text
    assert problem in text
    assert "data-formatter-note" in body
    assert '{\n  "n": 1\n}' in text  # the default pretty JSON
    assert f"/queues/default/tasks/{task.id}/raw/payload" in body
    assert raw.status_code == 200
    assert raw.content == b'{"n": 1}'
    assert "formatter failed" in listed  # the list preview says so too


@pytest.mark.parametrize("name", ["hostile", "hostile_safe"])
@pytest.mark.django_db
def test_formatter_output_is_always_escaped(
    viewer: Client, redis_client: redis.Redis, name: str
) -> None:
    task = seed_task(redis_client, "pending", type="email:send")
    with configure(PAYLOAD_FORMATTERS={"*": f"{HERE}.{name}"}):
        body = page(viewer, task.id)
        listed = viewer.get("/queues/default/?state=pending").content.decode()
    for html in (body, listed):
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


@pytest.mark.django_db
def test_a_dict_from_a_formatter_is_shown_as_pretty_json(
    viewer: Client, redis_client: redis.Redis
) -> None:
    task = seed_task(redis_client, "pending", type="email:send", payload=b"\xff\x01\x02")
    with configure(PAYLOAD_FORMATTERS={"email:send": f"{HERE}.give_dict"}):
        text = unescape(page(viewer, task.id))
    assert '{\n  "type": "email:send",\n  "size": 3,\n  "ok": true\n}' in text
    # The raw copy is still the hex of the bytes, not the formatted text.
    assert ">ff0102</textarea>" in text


@pytest.mark.django_db
def test_built_in_gzip_json_formats_a_compressed_payload_by_dotted_path(
    viewer: Client, redis_client: redis.Redis
) -> None:
    data = gzip.compress(b'{"order": 42}')
    task = seed_task(redis_client, "pending", type="order:sync", payload=data)
    with configure(PAYLOAD_FORMATTERS={"order:*": "dashboard.formatters.gzip_json"}):
        text = unescape(page(viewer, task.id))
        raw = viewer.get(f"/queues/default/tasks/{task.id}/raw/payload").content
    assert '{\n  "order": 42\n}' in text
    assert raw == data


@pytest.mark.django_db
def test_result_formatters_render_results_on_the_task_page_and_completed_list(
    viewer: Client, redis_client: redis.Redis
) -> None:
    task = seed_task(
        redis_client,
        "completed",
        type="report:daily",
        result=b"done",
        completed_at=1_700_000_000,
        retention=10**9,
    )
    with configure(
        RESULT_FORMATTERS={"report:*": f"{HERE}.result_tag"},
        PAYLOAD_FORMATTERS={"report:*": f"{HERE}.tag_prefix"},
    ):
        body = page(viewer, task.id)
        listed = viewer.get("/queues/default/?state=completed").content.decode()
    assert "RESULT done" in body
    assert "PREFIX report:daily" in body
    assert "RESULT done" in listed


@pytest.mark.django_db
def test_the_json_api_payload_and_result_strings_use_the_formatters(
    make_user: Callable[..., User], redis_client: redis.Redis, queuecore_settings: str
) -> None:
    pending = seed_task(redis_client, "pending", type="email:send", payload=b"\x00binary")
    done = seed_task(
        redis_client,
        "completed",
        type="email:send",
        result=b"ok",
        completed_at=1_700_000_000,
        retention=10**9,
    )
    failing = seed_task(redis_client, "pending", type="image:resize", payload=b"\xff")
    with configure(
        PAYLOAD_FORMATTERS={"email:*": f"{HERE}.tag_prefix", "image:*": f"{HERE}.explode"},
        RESULT_FORMATTERS={"email:send": f"{HERE}.result_tag"},
        API_TOKENS={"tok-formatters": make_user("viewer").username},
    ):
        client = Client(HTTP_AUTHORIZATION="Bearer tok-formatters")
        detail = client.get(f"/api/queues/default/tasks/{pending.id}").json()
        listed = client.get("/api/queues/default/pending_tasks?size=100").json()
        completed = client.get("/api/queues/default/completed_tasks").json()
        done_detail = client.get(f"/api/queues/default/tasks/{done.id}").json()
        failed = client.get(f"/api/queues/default/tasks/{failing.id}").json()
    assert detail["payload"] == "PREFIX email:send"
    rows = {row["id"]: row for row in listed["tasks"]}
    assert rows[pending.id]["payload"] == "PREFIX email:send"
    assert completed["tasks"][0]["result"] == "RESULT ok"
    assert done_detail["result"] == "RESULT ok"
    # A failing formatter leaves Asynqmon's default string; the shape stays the same.
    assert failed["payload"] == "non-printable bytes"
    assert set(failed) == set(detail)


def test_the_api_keeps_asynqmons_default_without_formatters() -> None:
    from dashboard.api.serializers import formatted

    with configure(PAYLOAD_FORMATTERS={}):
        assert formatted("PAYLOAD_FORMATTERS", "t", b"\x00") == "non-printable bytes"
        assert formatted("PAYLOAD_FORMATTERS", "t", b'{"a": 1}') == '{"a": 1}'


def check_messages(**overrides: Any) -> list[tuple[str, str]]:
    with configure(**overrides):
        return [(m.id or "", m.msg) for m in check_queuecore_settings()]


def test_valid_formatter_settings_pass_the_system_check() -> None:
    assert (
        check_messages(
            PAYLOAD_FORMATTERS={"*": "dashboard.formatters.json_pretty", "x:*": tag_prefix},
            RESULT_FORMATTERS={"report:daily": "dashboard.formatters.gzip_json"},
        )
        == []
    )


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"PAYLOAD_FORMATTERS": {"*": "no_such_module.fmt"}}, "cannot be imported"),
        ({"PAYLOAD_FORMATTERS": {"*": f"{HERE}.missing"}}, "cannot be imported"),
        ({"RESULT_FORMATTERS": {"t": f"{HERE}.NOT_CALLABLE"}}, "must name a callable"),
        ({"RESULT_FORMATTERS": {"a*b": f"{HERE}.tag_exact"}}, '"*" may only end a pattern'),
        ({"PAYLOAD_FORMATTERS": {"": f"{HERE}.tag_exact"}}, "blank or non-string pattern"),
        ({"PAYLOAD_FORMATTERS": ["dashboard.formatters.json_pretty"]}, "must be a dict"),
    ],
)
def test_bad_formatter_settings_are_reported_as_e008(overrides: dict[str, Any], text: str) -> None:
    messages = check_messages(**overrides)
    assert [code for code, _ in messages] == ["queuecore.E008"]
    assert text in messages[0][1]


def test_a_bad_dotted_path_is_named_in_the_check_message() -> None:
    [(code, msg)] = check_messages(PAYLOAD_FORMATTERS={"email:*": "myapp.formatters.nope"})
    assert code == "queuecore.E008"
    assert msg.startswith("QUEUECORE[\"PAYLOAD_FORMATTERS\"]['email:*'] cannot be imported:")
    assert "myapp" in msg


def test_a_formatter_note_is_bounded_in_length() -> None:
    def long_failure(task_type: str, data: bytes) -> str:
        raise ValueError("x" * 10_000)

    formatter = formatters.Formatter(name="f", fn=long_failure)
    out = formatters.run(formatter, "t", b"data")
    assert out.text is None
    assert len(out.note) == formatters.MAX_NOTE


def test_formatters_do_not_run_on_empty_bytes() -> None:
    with configure(PAYLOAD_FORMATTERS={"*": f"{HERE}.explode"}):
        view = formatters.payload_view("t", b"")
    assert view.note == ""
    assert view.formatter == ""
    assert view.kind == "empty"
