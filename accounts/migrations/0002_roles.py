"""Create the four role groups (owner, manager, receptionist, stylist) with their default
permissions from accounts/roles.py. Later apps' permissions are added by the post_migrate
sync in AccountsConfig.ready, which calls the same function."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from accounts.roles import sync_role_permissions

    sync_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
