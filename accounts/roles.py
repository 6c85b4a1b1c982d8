"""Roles are Django groups; this table is the default permission set of each (DESIGN.md, Roles).

Owners can change a group's permissions in the admin afterwards; `sync_role_permissions` only
adds what is listed here, it never removes what an owner granted. Each app lists its own
permissions and ships a data migration that calls `sync_role_permissions`.
"""

from accounts.models import Role

# role -> "app_label.codename" it holds by default. Codenames that do not exist yet (an app
# not installed) are skipped, so the table can list every app's permissions.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.OWNER: [
        "accounts.view_all_locations",
        "accounts.manage_staff",
        "accounts.view_location",
        "accounts.add_location",
        "accounts.change_location",
        "accounts.view_staffmember",
        "accounts.add_staffmember",
        "accounts.change_staffmember",
        "accounts.view_dashboards",
        # Data retention, the access log's review and its alerts (customers' privacy pages).
        "accounts.manage_privacy",
        "accounts.review_access_log",
    ],
    Role.MANAGER: [
        "accounts.manage_staff",
        "accounts.view_location",
        "accounts.change_location",
        "accounts.view_staffmember",
        "accounts.add_staffmember",
        "accounts.change_staffmember",
        "accounts.view_dashboards",
    ],
    Role.RECEPTIONIST: [
        "accounts.view_location",
        "accounts.view_staffmember",
    ],
    Role.STYLIST: [
        "accounts.view_location",
        "accounts.view_staffmember",
    ],
}


def register(perms: dict[str, list[str]]) -> None:
    """Called by an app's `roles.py` (imported from its AppConfig.ready) to add its defaults."""
    for role, codes in perms.items():
        for code in codes:
            if code not in ROLE_PERMISSIONS[role]:
                ROLE_PERMISSIONS[role].append(code)


def sync_role_permissions(
    apps=None, schema_editor=None, *, roles: dict[str, list[str]] | None = None
) -> None:
    """Create the four groups and grant their default permissions. Idempotent; usable as a
    migration's RunPython (with historical models) or directly."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions
    from django.db.models import Q

    historical = apps is not None
    apps = apps or global_apps
    # Permissions are normally created after migrate; create them now so a data migration sees them.
    for app_config in apps.get_app_configs():
        if historical:
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None
        elif app_config.models_module is not None:
            create_permissions(app_config, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    table = roles or ROLE_PERMISSIONS
    for role in Role.values:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = table.get(role, [])
        q = None
        for code in wanted:
            app_label, codename = code.split(".", 1)
            term = Q(content_type__app_label=app_label, codename=codename)
            q = term if q is None else q | term
        if q is not None:
            group.permissions.add(*Permission.objects.filter(q))
