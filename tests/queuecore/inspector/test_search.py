"""search: filters within one state, bounded by a budget, continued with a cursor."""

from __future__ import annotations

import pytest
import redis

from queuecore import InvalidArgumentError
from queuecore.inspector import Inspector
from tests.support.factories import make_message, seed_task


@pytest.fixture
def archived(redis_client: redis.Redis) -> list[str]:
    ids = []
    for i in range(30):
        msg = make_message(
            type="email:send" if i % 2 else "report:build",
            payload=b'{"user": {"id": %d}, "note": "Hello"}' % i,
            error_msg="SMTP timeout" if i % 3 == 0 else "bad input",
        )
        ids.append(seed_task(redis_client, "archived", msg, score=1_000 + i).id)
    return ids


def test_search_filters_by_type_error_text_and_json_field(
    inspector: Inspector, archived: list[str]
) -> None:
    found = inspector.search("default", "archived", type="email:send", error="smtp")
    assert [t.id for t in found.tasks] == [archived[i] for i in range(30) if i % 2 and i % 3 == 0]
    assert found.done
    assert found.scanned == 30
    by_field = inspector.search("default", "archived", json_fields={"user.id": 7})
    assert [t.id for t in by_field.tasks] == [archived[7]]
    assert len(inspector.search("default", "archived", text="hello").tasks) == 30
    assert len(inspector.search("default", "archived", type="report:*").tasks) == 15


def test_search_scans_at_most_its_budget_and_continues_from_the_cursor(
    inspector: Inspector, archived: list[str]
) -> None:
    first = inspector.search("default", "archived", text="hello", budget=12)
    assert (first.scanned, first.done) == (12, False)
    second = inspector.search("default", "archived", text="hello", budget=12, cursor=first.cursor)
    third = inspector.search("default", "archived", text="hello", budget=12, cursor=second.cursor)
    assert third.done
    assert third.scanned == 6
    assert [t.id for r in (first, second, third) for t in r.tasks] == archived


def test_search_refuses_a_bad_cursor_or_budget(inspector: Inspector, archived: list[str]) -> None:
    with pytest.raises(InvalidArgumentError):
        inspector.search("default", "archived", cursor="abc")
    with pytest.raises(InvalidArgumentError):
        inspector.search("default", "archived", budget=0)
