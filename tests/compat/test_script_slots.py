"""Checklist item 24: every script stays inside one Redis Cluster slot.

:class:`ScriptAudit` watches a real Redis with MONITOR while a workflow runs. MONITOR lists every
EVALSHA with its declared KEYS, followed by each command the script ran inside Lua; the keys of
those inner commands come from Redis itself (COMMAND GETKEYS). For every script call the audit
asserts that the declared KEYS hash to one slot (CRC16, computed here) and that every key touched
inside Lua carries the same hash tag as the declared ones. Scripts are named by their SHA via
``ScriptRegistry`` (which every store uses to resolve a script), so any store's scripts, sent
singly or in pipelines, are covered without knowing how they are sent.

The client workflow always runs; the worker server, scheduler and inspector workflows run when
those modules exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from redis.crc import key_slot as redis_py_key_slot

from queuecore import Client, Task, keys
from queuecore.errors import QueueCoreError
from queuecore.rdb.scripts import ScriptRegistry, script_names, script_source
from tests.support.asynq_fixture import load_into
from tests.support.cluster import hash_tag, key_slot
from tests.support.factories import make_message, seed_task

# ----------------------------------------------------------------------- cluster key slots


@pytest.mark.parametrize(
    ("key", "slot"),
    [
        (b"123456789", 12739),  # Redis Cluster spec: CRC16("123456789") = 0x31C3
        (b"asynq:{default}:pending", None),
        (b"asynq:{user:{42}}:t:x", None),
        (b"asynq:{}:pending", None),
        (b"asynq:queues", None),
    ],
)
def test_the_slot_computed_here_is_the_one_redis_cluster_uses(key, slot):
    assert key_slot(key) == redis_py_key_slot(key)
    if slot is not None:
        assert key_slot(key) == slot


def test_all_keys_of_a_queue_share_its_slot():
    q = "default"
    names = [
        keys.task_key(q, "id"),
        keys.pending_key(q),
        keys.lease_key(q),
        keys.unique_key(q, "t", b"p"),
        keys.group_key(q, "g"),
        keys.aggregation_set_key(q, "g", "s"),
        keys.processed_key(q, "2026-11-25"),
    ]
    assert {key_slot(n.encode()) for n in names} == {key_slot(b"{default}")}


# ------------------------------------------------------------------------- the MONITOR audit

_LINE = re.compile(rb"^(\d+\.\d+) \[(\d+) ([^\]]*)\] (.*)$", re.S)
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("a"): 7, ord("b"): 8}


def parse_monitor_args(text: bytes) -> list[bytes]:
    """Undo MONITOR's quoting (sdscatrepr): "..." words with \\n, \\", \\xHH escapes."""
    args: list[bytes] = []
    i = 0
    while i < len(text):
        if text[i] == ord(" "):
            i += 1
            continue
        if text[i] != ord('"'):
            raise ValueError(f"unexpected MONITOR text at {i}: {text[i : i + 20]!r}")
        i += 1
        word = bytearray()
        while text[i] != ord('"'):
            if text[i] == ord("\\"):
                escaped = text[i + 1]
                if escaped == ord("x"):
                    word.append(int(text[i + 2 : i + 4], 16))
                    i += 4
                    continue
                word.append(_ESCAPES.get(escaped, escaped))
                i += 2
                continue
            word.append(text[i])
            i += 1
        args.append(bytes(word))
        i += 1
    return args


@dataclass
class ScriptCall:
    name: str
    declared: list[bytes]
    inner: list[list[bytes]] = field(default_factory=list)


class ScriptAudit:
    """Records every script call on one Redis (see the module docstring)."""

    def __init__(self, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.port = port
        self.by_sha = {
            hashlib.sha1(script_source(n).encode()).hexdigest().encode(): n for n in script_names()
        }
        self.requested: set[str] = set()
        original_get = ScriptRegistry.get

        def recording_get(registry: ScriptRegistry, name: str) -> Any:
            self.requested.add(name)
            return original_get(registry, name)

        monkeypatch.setattr(ScriptRegistry, "get", recording_get)
        self._conn = redis.Connection(port=port)
        self._admin = redis.Redis(port=port)
        self._getkeys_cache: dict[tuple[bytes, ...], list[bytes]] = {}
        self.calls: list[ScriptCall] = []

    def __enter__(self) -> ScriptAudit:
        self._conn.send_command("MONITOR")
        assert self._conn.read_response() in (b"OK", "OK")
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.disconnect()
        self._admin.close()

    def collect(self) -> list[ScriptCall]:
        """Read what MONITOR saw up to now; the calls so far are in ``self.calls``."""
        self._read_until_marker()
        return self.calls

    def _read_until_marker(self) -> None:
        marker = f"script-audit-end-{uuid.uuid4()}".encode()
        self._admin.echo(marker)
        current: ScriptCall | None = None
        while True:
            line = self._conn.read_response()
            m = _LINE.match(line)
            assert m, f"unparsed MONITOR line {line[:80]!r}"
            client, args = m.group(3), parse_monitor_args(m.group(4))
            if client == b"lua":
                assert current is not None, f"a Lua command outside a script: {args!r}"
                current.inner.append(args)
                continue
            command = args[0].upper()
            if command == b"ECHO" and args[1:] == [marker]:
                return
            if command in (b"EVALSHA", b"EVAL", b"EVALSHA_RO", b"EVAL_RO"):
                numkeys = int(args[2])
                if command.startswith(b"EVALSHA"):
                    name = self.by_sha.get(args[1], f"<unknown sha {args[1].decode()}>")
                else:
                    name = "<EVAL of inline source>"
                current = ScriptCall(name=name, declared=args[3 : 3 + numkeys])
                self.calls.append(current)
            else:
                current = None

    def keys_of(self, command: list[bytes]) -> list[bytes]:
        cache_key = tuple(command)
        if cache_key not in self._getkeys_cache:
            try:
                found = self._admin.command_getkeys(*command)
            except redis.ResponseError:  # a command without key arguments
                found = []
            self._getkeys_cache[cache_key] = [
                k.encode() if isinstance(k, str) else k for k in found
            ]
        return self._getkeys_cache[cache_key]

    def violations(self) -> list[str]:
        problems = []
        for call in self.calls:
            declared_slots = {key_slot(k) for k in call.declared}
            if len(declared_slots) > 1:
                problems.append(f"{call.name}: declared KEYS span slots: {call.declared!r}")
                continue
            tags = {hash_tag(k) for k in call.declared}
            for command in call.inner:
                for key in self.keys_of(command):
                    if not call.declared:
                        problems.append(
                            f"{call.name}: declares no KEYS but touches {key!r} ({command[0]!r})"
                        )
                    elif key_slot(key) not in declared_slots or hash_tag(key) not in tags:
                        problems.append(
                            f"{call.name}: {command[0].decode()} touches {key!r}, outside the "
                            f"tag {sorted(tags)!r} of its KEYS"
                        )
        return problems

    def names(self) -> set[str]:
        return {call.name for call in self.calls}


@pytest.fixture
def audit(redis_server, redis_url, monkeypatch) -> Iterator[ScriptAudit]:
    with ScriptAudit(redis_server.port, monkeypatch) as found:
        yield found


def assert_single_slot(audit: ScriptAudit) -> None:
    assert audit.collect(), "no script ran"
    problems = audit.violations()
    assert not problems, "\n".join(problems)
    unseen = audit.requested - audit.names()
    assert not unseen, f"scripts resolved through ScriptRegistry but never seen running: {unseen}"


def test_the_audit_catches_a_script_that_leaves_its_slot(redis_server, redis_client, monkeypatch):
    source = "redis.call('SET', KEYS[1], 1); redis.call('SET', 'asynq:{other}:x', 1); return 1"
    with ScriptAudit(redis_server.port, monkeypatch) as audit:
        redis_client.eval(source, 1, "asynq:{default}:x")
        audit.collect()
    (problem,) = audit.violations()
    assert "asynq:{other}:x" in problem


# ------------------------------------------------------------------------------- workflows

QUEUES = ["default", "critical", "odd{name}", "user:42"]


def client_workflow(url: str) -> None:
    with Client(url) as client:
        for q in QUEUES:
            client.enqueue(Task("plain", b"1"), queue=q)
            client.enqueue(Task("unique", uuid.uuid4().bytes), queue=q, unique=60)
            client.enqueue(Task("later", b"2"), queue=q, process_in=60)
            client.enqueue(
                Task("later-unique", uuid.uuid4().bytes), queue=q, process_in=60, unique=60
            )
            client.enqueue(Task("grouped", b"3"), queue=q, group="g:1")
            client.enqueue(
                Task("grouped-unique", uuid.uuid4().bytes), queue=q, group="g", unique=60
            )
            client.enqueue_many(
                [Task("batch", b"4"), Task("batch", b"5", process_in=5), Task("b", group="g")],
                queue=q,
            )
            client.enqueue(Task("dup", b"d"), queue=q, unique=60, task_id=f"{q}-taken")
            with pytest.raises(QueueCoreError):
                client.enqueue(Task("dup", b"d"), queue=q, unique=60)
            with pytest.raises(QueueCoreError):
                client.enqueue(Task("dup", b"e"), queue=q, unique=60, task_id=f"{q}-taken")


def test_client_scripts_stay_in_their_queues_slot(audit, redis_url):
    client_workflow(redis_url)
    assert_single_slot(audit)
    assert audit.names() >= {
        "enqueue",
        "enqueue_unique",
        "schedule",
        "schedule_unique",
        "add_to_group",
        "add_to_group_unique",
    }


def server_workflow(url: str, redis_client: redis.Redis) -> None:
    server_module = pytest.importorskip("queuecore.server")
    handlers = pytest.importorskip("queuecore.handlers")
    mux = handlers.ServeMux()

    @mux.handle("ok")
    def ok(task: Any) -> None:
        task.write_result(b"done")

    @mux.handle("fail")
    def fail(task: Any) -> None:
        raise RuntimeError("transient")

    @mux.handle("skip")
    def skip(task: Any) -> None:
        raise handlers.SkipRetry("bad input")

    def aggregate(group: str, tasks: list[Any]) -> Task:
        return Task("ok", b"|".join(t.payload for t in tasks))

    now = time.time()
    with Client(url) as client:
        for q in QUEUES:
            client.enqueue(Task("ok", b"a"), queue=q)
            client.enqueue(Task("ok", b"kept"), queue=q, retention=3600)
            client.enqueue(Task("ok", b"u"), queue=q, unique=600)
            client.enqueue(Task("fail", b"b"), queue=q, max_retry=3)
            client.enqueue(Task("fail", b"c"), queue=q, max_retry=0)
            client.enqueue(Task("skip", b"d"), queue=q)
            # Due for the forwarder, expired for the recoverer and janitor, ripe for the aggregator.
            seed_task(
                redis_client, "scheduled", make_message(queue=q, type="ok"), score=int(now) - 5
            )
            seed_task(redis_client, "retry", make_message(queue=q, type="ok"), score=int(now) - 5)
            seed_task(
                redis_client, "active", make_message(queue=q, type="ok"), score=int(now) - 120
            )
            seed_task(redis_client, "completed", make_message(queue=q), score=int(now) - 1)
            for _ in range(2):
                seed_task(
                    redis_client,
                    "aggregating",
                    make_message(queue=q, type="part", group_key="g"),
                    score=int(now) - 3600,
                )
            # Poison data: claimed, found not protobuf, quarantined (quarantine.lua).
            redis_client.hset(keys.task_key(q, "poison"), mapping={"msg": b"not protobuf"})
            redis_client.lpush(keys.pending_key(q), "poison")
            stale = keys.aggregation_set_key(q, "g", "stale-set")
            redis_client.zadd(stale, {"gone-member": int(now) - 3600})
            redis_client.zadd(keys.all_aggregation_sets(q), {stale: int(now) - 10})
    server = server_module.Server.from_url(
        url,
        queues=dict.fromkeys(QUEUES, 1),
        concurrency=4,
        mux=mux,
        shutdown_timeout=2,
        group_aggregator=aggregate,
        group_grace_period=1.0,
        retry_delay=lambda n, error, task: 3600.0,
    )
    server.heartbeat.run_once()
    server.recoverer.run_once()
    server.janitor.run_once()
    if server.aggregator is not None:
        server.aggregator.run_once()
    server.start(burst=True)
    assert server.wait(60), "the burst-mode server did not finish"
    server.forwarder.run_once()
    server.heartbeat.run_once()
    # Requeue (shutdown) is the one worker path a burst does not take: call it directly.
    with Client(url) as client:
        for q in QUEUES:
            client.enqueue(Task("ok", b"requeued"), queue=q)
            for msg in server.store.dequeue(q, int(time.time()) + 30) or []:
                server.store.requeue(msg)


def test_worker_scripts_stay_in_their_queues_slot(audit, redis_url, redis_client):
    server_workflow(redis_url, redis_client)
    assert_single_slot(audit)
    assert audit.names() >= {"dequeue", "done", "mark_complete", "retry", "archive"}


def scheduler_workflow(url: str) -> None:
    scheduler_module = pytest.importorskip("queuecore.scheduler")
    from queuecore.clock import FrozenClock

    clock = FrozenClock(1795621200.0 - 1)
    scheduler = scheduler_module.Scheduler.from_url(url, clock=clock)
    scheduler.register("@every 30s", Task("tick", b"t"), queue="low")
    scheduler.register("*/5 * * * *", Task("tock"), queue="odd{name}")
    scheduler.run_once()
    clock.advance(31)
    scheduler.run_once()
    scheduler.heartbeat.run_once()
    scheduler.shutdown()


def test_scheduler_scripts_stay_in_one_slot(audit, redis_url):
    scheduler_workflow(redis_url)
    assert_single_slot(audit)


def alerts_workflow(url: str) -> None:
    """Alert state transitions (our own keys, one per script call)."""
    from queuecore.rdb.alerts import AlertStore

    store = AlertStore.from_url(url)
    assert isinstance(store, AlertStore)
    assert store.transition("ops{x}", "no_consumer|q|", expected="", new="open")
    assert not store.transition("ops{x}", "no_consumer|q|", expected="", new="open")
    assert store.transition("ops{x}", "no_consumer|q|", expected="open", new="")
    store.client.close()


def test_alert_scripts_stay_in_one_slot(audit, redis_url):
    alerts_workflow(redis_url)
    assert_single_slot(audit)


def inspector_workflow(url: str, redis_client: redis.Redis) -> None:
    inspector_module = pytest.importorskip("queuecore.inspector")
    from queuecore.clock import FrozenClock
    from queuecore.taskinfo import TaskState
    from tests.support.asynq_fixture import CAPTURED_AT

    load_into(redis_client)
    inspector = inspector_module.Inspector.from_url(url, clock=FrozenClock(CAPTURED_AT.timestamp()))

    def attempt(call: Callable[[], object]) -> None:
        # Refusals (wrong state, not found) still ran their scripts.
        with contextlib.suppress(QueueCoreError):
            call()

    try:
        for q in inspector.queues():
            attempt(lambda q=q: inspector.get_queue_info(q))
            attempt(lambda q=q: inspector.get_queue_info(q, cheap=True))
            attempt(lambda q=q: inspector.history(q, 7))
            groups = [g.group for g in inspector.groups(q)]
            for state in TaskState:
                for group in groups if state is TaskState.AGGREGATING else [None]:
                    if state is TaskState.AGGREGATING and group is None:
                        continue
                    page = inspector.list_tasks(q, state, 1, 0, group=group)
                    attempt(lambda q=q, s=state, g=group: inspector.breakdown(q, s, group=g))
                    for task in list(page)[:1]:
                        attempt(lambda q=q, t=task: inspector.get_task_info(q, t.id))
                        if state is TaskState.SCHEDULED:
                            attempt(
                                lambda q=q, t=task: inspector.update_task_payload(q, t.id, b"{}")
                            )
                        attempt(lambda q=q, t=task: inspector.archive_task(q, t.id))
                        attempt(lambda q=q, t=task: inspector.run_task(q, t.id))
                        attempt(lambda q=q, t=task: inspector.delete_task(q, t.id))
                        attempt(lambda q=q, t=task: inspector.run_tasks(q, [t.id]))
                        attempt(lambda q=q, t=task: inspector.archive_tasks(q, [t.id]))
                        attempt(lambda q=q, t=task: inspector.delete_tasks(q, [t.id]))
                        attempt(lambda q=q, t=task: inspector.unreadable_record(q, t.id))
                        attempt(lambda q=q, t=task: inspector.delete_unreadable(q, t.id))
            for state in ("scheduled", "retry", "archived", "completed"):
                attempt(lambda q=q, s=state: inspector.run_all(q, s))
            for group in groups:
                attempt(lambda q=q, g=group: inspector.archive_all(q, "aggregating", g))
                attempt(lambda q=q, g=group: inspector.run_all(q, "archived"))
            for state in ("pending", "scheduled", "retry"):
                attempt(lambda q=q, s=state: inspector.archive_all(q, s))
            for state in ("archived", "completed", "pending", "scheduled", "retry"):
                attempt(lambda q=q, s=state: inspector.delete_all(q, s))
            attempt(lambda q=q: inspector.pause_queue(q))
            attempt(lambda q=q: inspector.unpause_queue(q))
        attempt(inspector.servers)
        attempt(inspector.scheduler_entries)
        attempt(lambda: inspector.delete_queue("paused_q", force=False))
        attempt(lambda: inspector.delete_queue("paused_q", force=True))
        attempt(lambda: inspector.delete_queue("critical", force=True))
    finally:
        inspector.close()


def test_inspector_scripts_stay_in_their_queues_slot(audit, redis_url, redis_client):
    inspector_workflow(redis_url, redis_client)
    assert_single_slot(audit)
    assert len({n for n in audit.names() if n.startswith("inspect_")}) >= 5


def test_every_script_in_the_package_was_audited(audit, redis_url, redis_client):
    """Run every workflow in one audit and report scripts none of them reached."""
    client_workflow(redis_url)
    redis_client.flushdb()
    inspector_workflow(redis_url, redis_client)
    redis_client.flushdb()
    server_workflow(redis_url, redis_client)
    redis_client.flushdb()
    scheduler_workflow(redis_url)
    alerts_workflow(redis_url)
    assert_single_slot(audit)
    never_run = set(script_names()) - audit.names()
    assert not never_run, f"no workflow here runs {sorted(never_run)}: extend the workflows"
