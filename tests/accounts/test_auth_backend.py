"""salon_crm.auth_backends.PlainSQLModelBackend answers exactly like Django's ModelBackend."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

from salon_crm.auth_backends import PlainSQLModelBackend

pytestmark = pytest.mark.django_db


def _fresh(user):
    return type(user).objects.get(pk=user.pk)  # no permission caches


def test_same_permissions_and_queries_as_django(stylist, manager, django_assert_num_queries):
    user = stylist.user
    extra = Group.objects.create(name="extra")
    extra.permissions.add(Permission.objects.get(codename="view_full_phone"))
    user.groups.add(extra)
    user.user_permissions.add(Permission.objects.get(codename="export_customer"))
    for who in (user, manager.user):
        django_perms = ModelBackend().get_all_permissions(_fresh(who))
        fresh = _fresh(who)
        with django_assert_num_queries(2):  # user permissions, group permissions
            assert PlainSQLModelBackend().get_all_permissions(fresh) == django_perms
        assert PlainSQLModelBackend().get_user_permissions(fresh) == ModelBackend().get_user_permissions(
            _fresh(who)
        )
    assert {
        "customers.view_full_phone",
        "customers.export_customer",
    } <= PlainSQLModelBackend().get_all_permissions(_fresh(user))


def test_inactive_users_have_none(stylist):
    user = _fresh(stylist.user)
    user.is_active = False
    assert PlainSQLModelBackend().get_all_permissions(user) == set()
    assert not user.has_perm("customers.view_customer")


def test_django_backend_after_it_adds_no_queries(reception, django_assert_num_queries):
    # Both backends are listed (old sessions name Django's); a denied permission asks both.
    user = _fresh(reception.user)
    with django_assert_num_queries(2):
        assert user.has_perm("customers.view_full_phone")
        assert not user.has_perm("customers.delete_customer")
        assert not user.has_perm("customers.erase_customer")
