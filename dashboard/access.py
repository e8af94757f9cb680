"""Who may do what: the roles' rules and the read-only switches, in one place.

Pure decisions over a user's permissions, so they are table-tested and the same function both hides
a button in a template and refuses the POST on the server.

Both depend on the instance being served (``queuecore.contrib.django.instances.current``): the
instance's ``READ_ONLY`` adds to the global switch, and a user in a per-instance role group
(``dashboard.roles.instance_group``, e.g. ``operator@staging``) has that role on that instance
instead of their global one, so one person can be an operator on staging and a viewer on production.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from django.core.exceptions import PermissionDenied

from dashboard.roles import instance_role
from queuecore import TaskState
from queuecore.contrib.django import instances
from queuecore.contrib.django.conf import queuecore_setting

VIEW = "dashboard.view_dashboard"
OPERATE = "dashboard.operate_tasks"
ADMINISTER = "dashboard.administer_queues"


class TaskAction(StrEnum):
    RUN = "run"
    ARCHIVE = "archive"
    DELETE = "delete"
    CANCEL = "cancel"


class QueueAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    DELETE = "delete"


# Asynqmon's per-state actions (dashboards.md §1.3): what each state's table offers.
ACTIONS_BY_STATE: dict[TaskState, tuple[TaskAction, ...]] = {
    TaskState.ACTIVE: (TaskAction.CANCEL,),
    TaskState.PENDING: (TaskAction.ARCHIVE, TaskAction.DELETE),
    TaskState.AGGREGATING: (TaskAction.RUN, TaskAction.ARCHIVE, TaskAction.DELETE),
    TaskState.SCHEDULED: (TaskAction.RUN, TaskAction.ARCHIVE, TaskAction.DELETE),
    TaskState.RETRY: (TaskAction.RUN, TaskAction.ARCHIVE, TaskAction.DELETE),
    TaskState.ARCHIVED: (TaskAction.RUN, TaskAction.DELETE),
    TaskState.COMPLETED: (TaskAction.DELETE,),
}


class PermissionHolder(Protocol):
    def has_perm(self, perm: str, obj: None = None) -> bool: ...


class ReadOnlyError(PermissionDenied):
    """The read-only switch is on: no change at all."""

    def __init__(self) -> None:
        here = instances.current()
        if here.read_only and not queuecore_setting("READ_ONLY"):
            super().__init__(f"The instance {here.label} is read-only; changes are switched off.")
        else:
            super().__init__("The dashboard is read-only; changes are switched off.")


class NotAllowedError(PermissionDenied):
    """The caller's role does not allow this change."""


def read_only() -> bool:
    """The global switch, or the current instance's."""
    return bool(queuecore_setting("READ_ONLY")) or instances.current().read_only


@dataclass(frozen=True)
class Abilities:
    """What one user may do right now; templates read it as ``can``."""

    view: bool
    operate: bool
    administer: bool

    @classmethod
    def of(cls, user: PermissionHolder) -> Abilities:
        """On the current instance: its role group's role if the user has one, else their own."""
        writable = not read_only()
        role = instance_role(user, instances.current_name())
        if role is not None and not getattr(user, "is_superuser", False):
            return cls.of_role(role, writable)
        return cls(
            view=user.has_perm(VIEW),
            operate=writable and user.has_perm(OPERATE),
            administer=writable and user.has_perm(ADMINISTER) and user.has_perm(OPERATE),
        )

    @classmethod
    def of_role(cls, role: str, writable: bool) -> Abilities:
        return cls(
            view=True,
            operate=writable and role in ("operator", "admin"),
            administer=writable and role == "admin",
        )

    @property
    def change(self) -> bool:
        return self.operate

    def task_action(self, action: TaskAction, state: TaskState) -> bool:
        return self.operate and action in ACTIONS_BY_STATE[state]

    def bulk_action(self, action: TaskAction, state: TaskState) -> bool:
        """An action on every task in a state; on archived tasks only admins may."""
        if not self.task_action(action, state):
            return False
        return self.administer or state is not TaskState.ARCHIVED

    def queue_action(self, action: QueueAction) -> bool:
        if action is QueueAction.DELETE:
            return self.administer
        return self.operate
