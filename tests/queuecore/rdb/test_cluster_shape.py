"""Reading CLUSTER NODES: raw text and redis-py's parsed form, odd entries skipped."""

from __future__ import annotations

import pytest

from queuecore.rdb.cluster import _from_parsed, _parse_cluster_nodes, _parsed_slots

RAW = (
    "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave "
    "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n"
    "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 "
    "connected 0-5460 5798 [5799->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]\n"
    "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master,fail? - "
    "1426238316232 1426238314000 2 disconnected 5461-10922\n"
    "garbage line\n"
)


def test_raw_cluster_nodes_give_roles_states_and_slot_ranges() -> None:
    nodes = {n.address: n for n in _parse_cluster_nodes(RAW)}
    assert sorted(nodes) == ["127.0.0.1:30001", "127.0.0.1:30002", "127.0.0.1:30004"]
    primary = nodes["127.0.0.1:30001"]
    assert (primary.role, primary.connected, primary.failing) == ("master", True, False)
    assert primary.slots == ((0, 5460), (5798, 5798))
    assert primary.slot_count == 5462
    replica = nodes["127.0.0.1:30004"]
    assert (replica.role, replica.primary_id) == ("replica", primary.node_id)
    suspect = nodes["127.0.0.1:30002"]
    assert (suspect.connected, suspect.failing, suspect.slot_count) == (False, True, 5462)


def test_parsed_cluster_nodes_read_like_the_raw_text() -> None:
    parsed = {
        "127.0.0.1:30001@31001": {
            "node_id": "abc",
            "flags": "myself,master",
            "master_id": "-",
            "connected": True,
            "slots": [["0", "5460"], ["5798"]],
        }
    }
    [node] = _from_parsed(parsed)
    assert (node.address, node.role, node.primary_id, node.slots) == (
        "127.0.0.1:30001",
        "master",
        "",
        ((0, 5460), (5798, 5798)),
    )


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([["0", "10"]], ((0, 10),)),
        ([["7"]], ((7, 7),)),
        (["3-4"], ((3, 4),)),
        ([["x"], []], ()),
        (None, ()),
    ],
)
def test_parsed_slots_skip_what_they_cannot_read(
    items: object, expected: tuple[tuple[int, int], ...]
) -> None:
    assert _parsed_slots(items) == expected
