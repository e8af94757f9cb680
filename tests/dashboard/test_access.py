"""The role rules as a table: what viewer, operator and admin may do, and read-only."""

from __future__ import annotations

import pytest

from dashboard.access import ADMINISTER, OPERATE, VIEW, Abilities, QueueAction, TaskAction
from queuecore import TaskState


class Holder:
    def __init__(self, *perms: str) -> None:
        self.perms = set(perms)

    def has_perm(self, perm: str, obj: None = None) -> bool:
        return perm in self.perms


VIEWER = Holder(VIEW)
OPERATOR = Holder(VIEW, OPERATE)
ADMIN = Holder(VIEW, OPERATE, ADMINISTER)


@pytest.mark.parametrize(
    ("user", "action", "state", "one", "all_"),
    [
        (VIEWER, TaskAction.RUN, TaskState.ARCHIVED, False, False),
        (OPERATOR, TaskAction.RUN, TaskState.ARCHIVED, True, False),
        (OPERATOR, TaskAction.DELETE, TaskState.ARCHIVED, True, False),
        (OPERATOR, TaskAction.DELETE, TaskState.PENDING, True, True),
        (OPERATOR, TaskAction.RUN, TaskState.RETRY, True, True),
        (OPERATOR, TaskAction.CANCEL, TaskState.ACTIVE, True, True),
        (OPERATOR, TaskAction.RUN, TaskState.PENDING, False, False),
        (OPERATOR, TaskAction.ARCHIVE, TaskState.ARCHIVED, False, False),
        (OPERATOR, TaskAction.DELETE, TaskState.ACTIVE, False, False),
        (ADMIN, TaskAction.RUN, TaskState.ARCHIVED, True, True),
        (ADMIN, TaskAction.DELETE, TaskState.ARCHIVED, True, True),
        (ADMIN, TaskAction.DELETE, TaskState.COMPLETED, True, True),
    ],
)
def test_roles_decide_task_actions_per_state(
    settings, user: Holder, action: TaskAction, state: TaskState, one: bool, all_: bool
) -> None:
    can = Abilities.of(user)
    assert can.task_action(action, state) is one
    assert can.bulk_action(action, state) is all_


@pytest.mark.parametrize(
    ("user", "pause", "delete"),
    [(VIEWER, False, False), (OPERATOR, True, False), (ADMIN, True, True)],
)
def test_roles_decide_queue_actions(settings, user: Holder, pause: bool, delete: bool) -> None:
    can = Abilities.of(user)
    assert can.queue_action(QueueAction.PAUSE) is pause
    assert can.queue_action(QueueAction.RESUME) is pause
    assert can.queue_action(QueueAction.DELETE) is delete


def test_read_only_takes_every_change_away_even_from_admins(settings) -> None:
    settings.QUEUECORE = {**settings.QUEUECORE, "READ_ONLY": True}
    can = Abilities.of(ADMIN)
    assert can.view
    assert not can.operate
    assert not can.administer
    assert not can.task_action(TaskAction.RUN, TaskState.ARCHIVED)
    assert not can.queue_action(QueueAction.PAUSE)
