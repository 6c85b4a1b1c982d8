"""Django's ModelBackend with the permission loads written as plain SQL.

Every API request builds a fresh user (token authentication), so its first `has_perm` loads
the user's own and group permissions: two queries that the ORM spends ~2 ms composing
(a four-table join through the user's groups), more than PostgreSQL spends answering them.
Same queries, same results, same per-user caches (`_user_perm_cache`, `_group_perm_cache`)
and the same query count; superusers, inactive and anonymous users go to Django's code."""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection


@cache
def _permissions_sql(from_name: str) -> str:
    """The statement Django's ORM builds for `_get_<from_name>_permissions` (one user id)."""
    user_model = get_user_model()
    perm, ct = Permission._meta.db_table, ContentType._meta.db_table
    if from_name == "user":
        field = user_model._meta.get_field("user_permissions")
        join = (
            f"JOIN {field.m2m_db_table()} up ON up.{field.m2m_reverse_name()} = p.id"
            f" WHERE up.{field.m2m_column_name()} = %s"
        )
    else:
        groups = user_model._meta.get_field("groups")
        perms = Group._meta.get_field("permissions")
        join = (
            f"JOIN {perms.m2m_db_table()} gp ON gp.{perms.m2m_reverse_name()} = p.id"
            f" JOIN {groups.m2m_db_table()} ug ON ug.{groups.m2m_reverse_name()} = gp.{perms.m2m_column_name()}"
            f" WHERE ug.{groups.m2m_column_name()} = %s"
        )
    return f"SELECT ct.app_label, p.codename FROM {perm} p JOIN {ct} ct ON ct.id = p.content_type_id {join}"


class PlainSQLModelBackend(ModelBackend):
    def _get_permissions(self, user_obj, obj, from_name):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super()._get_permissions(user_obj, obj, from_name)
        cache_name = f"_{from_name}_perm_cache"
        if not hasattr(user_obj, cache_name):
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(from_name), [user_obj.pk])
                setattr(user_obj, cache_name, {f"{app}.{codename}" for app, codename in cursor.fetchall()})
        return getattr(user_obj, cache_name)
