"""The three roles as Django groups. Created by migration 0002 and kept by post_migrate
(which also runs after a test database flush), so the groups always exist."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

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
