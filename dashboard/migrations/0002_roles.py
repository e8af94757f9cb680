"""Creates the three roles as Django groups, with the dashboard's permissions.

viewer reads; operator also runs, archives, deletes and cancels tasks and pauses queues; admin
also deletes queues, acts on all archived tasks, and manages users in the Django admin.
"""

from django.db import migrations

DASHBOARD_PERMISSIONS = {
    "view_dashboard": "Can view queues, tasks, servers and Redis",
    "operate_tasks": "Can run, archive, delete and cancel tasks and pause queues",
    "administer_queues": "Can delete queues and act on all archived tasks",
}
ROLES = {
    "viewer": ["view_dashboard"],
    "operator": ["view_dashboard", "operate_tasks"],
    "admin": ["view_dashboard", "operate_tasks", "administer_queues"],
}
ADMIN_AUTH_MODELS = ["user", "group"]


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Permissions are normally created after migrate; the roles need them now.
    dashboard_ct, _ = ContentType.objects.get_or_create(app_label="dashboard", model="dashboard")
    perms = {}
    for codename, name in DASHBOARD_PERMISSIONS.items():
        perms[codename], _ = Permission.objects.get_or_create(
            content_type=dashboard_ct, codename=codename, defaults={"name": name}
        )
    auth_perms = []
    for model in ADMIN_AUTH_MODELS:
        ct, _ = ContentType.objects.get_or_create(app_label="auth", model=model)
        for verb in ("add", "change", "delete", "view"):
            perm, _ = Permission.objects.get_or_create(
                content_type=ct,
                codename=f"{verb}_{model}",
                defaults={"name": f"Can {verb} {model}"},
            )
            auth_perms.append(perm)
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*[perms[c] for c in codenames])
        if role == "admin":
            group.permissions.add(*auth_perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
