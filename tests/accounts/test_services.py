"""accounts services: locations, staff (active or not, with or without a password), API tokens."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Location, Role, StaffMember
from accounts.services import api_token_for, location_create, staff_create

pytestmark = pytest.mark.django_db


def test_location_create_checks_every_field():
    location = location_create(code="mars", name="Mars", time_zone="Europe/London")
    location.refresh_from_db()
    assert (location.code, location.name, location.time_zone, location.is_active) == (
        "mars",
        "Mars",
        "Europe/London",
        True,
    )
    with pytest.raises(ValidationError) as exc:
        location_create(code="not a slug", name="X", time_zone="Mars/Olympus")
    assert sorted(exc.value.message_dict) == ["code", "time_zone"]
    assert list(Location.objects.values_list("code", flat=True)) == ["mars"]


def test_staff_create_for_someone_who_no_longer_works_here(location):
    staff = staff_create(
        username="old.stylist",
        password=None,
        display_name="Old Stylist",
        role=Role.STYLIST,
        locations=[location.pk],
        is_bookable=False,
        is_active=False,
    )
    staff = StaffMember.objects.select_related("user").get(pk=staff.pk)
    assert (staff.is_active, staff.is_bookable, staff.user.is_active, staff.user.is_staff) == (
        False,
        False,
        False,
        False,
    )
    assert staff.user.has_usable_password() is False
    assert list(staff.locations.all()) == [location]
    assert list(staff.user.groups.values_list("name", flat=True)) == ["stylist"]
    assert StaffMember.objects.active().filter(pk=staff.pk).exists() is False


def test_staff_create_defaults_to_an_active_bookable_stylist(location):
    staff = staff_create(
        username="lina", password="pw-lina-2026", display_name="Lina", role=Role.STYLIST, locations=[location]
    )
    assert (staff.is_active, staff.is_bookable, staff.user.is_active) == (True, True, True)
    assert staff.user.check_password("pw-lina-2026")


def test_api_token_is_created_once(manager):
    first = api_token_for(user=manager.user)
    assert api_token_for(user=manager.user).key == first.key
