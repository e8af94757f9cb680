"""The three roles as Django groups. Created by migration 0002 and kept by post_migrate
(which also runs after a test database flush), so the groups always exist.

Per Redis instance, a group ``<role>@<instance>`` (e.g. ``operator@staging``) gives its members
that role on that instance in place of their global one (``dashboard.access.Abilities.of``).
These groups carry no permissions themselves; post_migrate creates one per role and configured
instance, so an admin only has to put users in them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

INSTANCE_MARK = "@"
# The roles from least to most; a user in several groups of one instance has the highest.
ORDER = ("viewer", "operator", "admin")

ROLES: dict[str, tuple[str, ...]] = {
    "viewer": ("dashboard.view_dashboard",),
    "operator": ("dashboard.view_dashboard", "dashboard.operate_tasks"),
    "admin": (
        "dashboard.view_dashboard",
        "dashboard.operate_tasks",
        "dashboard.administer_queues",
        *(
            f"auth.{verb}_{model}"
            for model in ("user", "group")
            for verb in ("add", "change", "delete", "view")
        ),
    ),
}


def instance_group(role: str, instance: str) -> str:
    return f"{role}{INSTANCE_MARK}{instance}"


def instance_role(user: Any, instance: str) -> str | None:
    """The user's role on ``instance`` from the per-instance groups, None when they have none.

    The user's per-instance groups are read once per user object (one query per request).
    """
    groups = getattr(user, "groups", None)
    if groups is None or not getattr(user, "is_authenticated", False):
        return None
    found: dict[str, str] | None = getattr(user, "_dashboard_instance_roles", None)
    if found is None:
        found = {}
        for name in groups.filter(name__contains=INSTANCE_MARK).values_list("name", flat=True):
            role, _, where = name.partition(INSTANCE_MARK)
            if role in ORDER and ORDER.index(role) >= ORDER.index(found.get(where, role)):
                found[where] = role
        user._dashboard_instance_roles = found
    return found.get(instance)


def ensure_roles(**signal_kwargs: Any) -> None:
    # The dashboard's permissions belong to a model without a table; make sure they exist.
    from dashboard.models import Dashboard

    content_type = ContentType.objects.get_for_model(Dashboard, for_concrete_model=False)
    for codename, name in Dashboard._meta.permissions:
        Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                group.permissions.add(perm)
    from queuecore.contrib.django import instances

    served = instances.names()
    for instance in served if len(served) > 1 else ():
        for role in ORDER:
            Group.objects.get_or_create(name=instance_group(role, instance))
