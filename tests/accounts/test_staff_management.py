"""Issue 8, item 1: a manager manages only the staff of their own locations and can never give a
role above their own or a location they do not hold - in the admin, the settings page and the
API, all through accounts.access / accounts.services. Every refusal leaves the records as they
were."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts import access
from accounts.models import Location, OpeningHours, Role, StaffMember
from accounts.services import location_update, staff_check_grant, staff_create, staff_update
from tests.accounts.factories import StaffMemberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_manager(other_location):
    return StaffMemberFactory(user__username="manager.xuhui", role="manager", locations=[other_location])


@pytest.fixture
def far_stylist(other_location):
    return StaffMemberFactory(user__username="stylist.xuhui", role="stylist", locations=[other_location])


@pytest.fixture
def shared_stylist(location, other_location):
    """Works at both locations: the Xuhui manager has a say too, so only an owner changes them."""
    return StaffMemberFactory(
        user__username="stylist.both", role="stylist", locations=[location, other_location]
    )


def _snapshot():
    """Every staff record, its locations, its user's groups and admin flag."""
    return sorted(
        (
            s.pk,
            s.role,
            s.display_name,
            s.is_active,
            s.is_bookable,
            tuple(sorted(s.locations.values_list("code", flat=True))),
            tuple(sorted(s.user.groups.values_list("name", flat=True))),
            s.user.is_staff,
            s.user.is_superuser,
        )
        for s in StaffMember.objects.select_related("user")
    )


def _locations():
    return sorted(Location.objects.values_list("pk", "code", "name", "phone", "is_active"))


def _staff_form(staff, **overrides):
    data = {
        "display_name": staff.display_name,
        "role": staff.role,
        "locations": [str(pk) for pk in staff.locations.values_list("pk", flat=True)],
        "calendar_colour": staff.calendar_colour,
        "is_active": "on" if staff.is_active else "",
        "is_bookable": "on" if staff.is_bookable else "",
        "_save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


# ---- the rule (accounts.access) -------------------------------------------------------------------


def test_the_rule_in_one_place(
    owner, manager, other_manager, stylist, far_stylist, shared_stylist, reception
):
    assert access.roles_grantable_by(manager.user) == ["manager", "receptionist", "stylist"]
    assert access.roles_grantable_by(owner.user) == ["owner", "manager", "receptionist", "stylist"]
    assert access.roles_grantable_by(reception.user) == []
    assert set(access.staff_manageable_by(manager.user)) == {manager, reception, stylist}
    assert set(access.staff_manageable_by(other_manager.user)) == {other_manager, far_stylist}
    assert access.can_manage_staff(manager.user, owner) is False  # above them, and at Xuhui
    assert access.can_manage_staff(manager.user, shared_stylist) is False  # also Xuhui's
    assert access.can_manage_staff(owner.user, shared_stylist) is True
    assert access.can_manage_staff(reception.user, stylist) is False  # no permission at all
    assert set(access.staff_visible_to(manager.user)) == {owner, manager, reception, stylist, shared_stylist}


# ---- the service -------------------------------------------------------------------------------


def test_service_refuses_a_manager_making_themselves_owner(manager):
    before = _snapshot()
    with pytest.raises(ValidationError) as exc:
        staff_update(staff=manager, by=manager.user, role=Role.OWNER)
    assert exc.value.message_dict == {"role": ["You cannot give a role above your own."]}
    assert _snapshot() == before


def test_service_refuses_a_location_the_manager_does_not_hold(manager, stylist, other_location):
    before = _snapshot()
    with pytest.raises(ValidationError) as exc:
        staff_update(staff=stylist, by=manager.user, locations=[stylist.locations.get(), other_location])
    assert exc.value.message_dict == {
        "locations": ["You can only give locations you work at yourself (not 徐汇店)."]
    }
    with pytest.raises(ValidationError):
        staff_update(staff=manager, by=manager.user, locations=[other_location])
    with pytest.raises(ValidationError) as exc:
        staff_update(staff=stylist, by=manager.user, locations=[])
    assert exc.value.message_dict == {"locations": ["Give at least one of your locations."]}
    assert _snapshot() == before


def test_service_refuses_another_locations_staff(
    manager, far_stylist, shared_stylist, owner, stylist, location
):
    before = _snapshot()
    users = get_user_model().objects.count()
    for staff in (far_stylist, shared_stylist, owner):
        with pytest.raises(PermissionDenied):
            staff_update(staff=staff, by=manager.user, display_name="Hacked")
    with pytest.raises(PermissionDenied):
        staff_create(
            username="mole",
            password=None,
            display_name="Mole",
            role="stylist",
            locations=[location],
            by=stylist.user,
        )
    assert _snapshot() == before
    assert get_user_model().objects.count() == users


def test_service_lets_a_manager_run_their_own_team(manager, stylist, reception, location):
    staff_update(staff=stylist, by=manager.user, role=Role.MANAGER, display_name="Lead")
    stylist.refresh_from_db()
    assert (stylist.role, stylist.display_name, stylist.user.is_staff) == ("manager", "Lead", True)
    assert list(stylist.user.groups.values_list("name", flat=True)) == ["manager"]
    new = staff_create(
        username="new.desk",
        password=None,
        display_name="New",
        role="receptionist",
        locations=[location],
        by=manager.user,
    )
    assert list(new.locations.all()) == [location]


def test_service_owner_may_do_anything(owner, manager, other_location, location):
    staff_update(staff=manager, by=owner.user, role=Role.OWNER, locations=[location, other_location])
    manager.refresh_from_db()
    assert manager.role == "owner"
    assert manager.user.has_perm("accounts.view_all_locations")


def test_check_grant_for_a_new_record_needs_the_add_permission(reception, location):
    with pytest.raises(PermissionDenied):
        staff_check_grant(by=reception.user, staff=None, role="stylist", locations=[location])


def test_location_update_only_for_locations_held(manager, other_location, location):
    before = _locations()
    with pytest.raises(PermissionDenied):
        location_update(location=other_location, by=manager.user, name="Mine now")
    assert _locations() == before
    location_update(location=location, by=manager.user, phone="021-1234")
    location.refresh_from_db()
    assert location.phone == "021-1234"


# ---- the admin -------------------------------------------------------------------------------


def test_admin_manager_posting_role_owner_for_themselves_changes_nothing(client_as, manager):
    client = client_as(manager)
    before = _snapshot()
    url = reverse("admin:accounts_staffmember_change", args=[manager.pk])
    page = client.get(url)
    assert page.status_code == 200
    role_choices = [v for v, _label in page.context["adminform"].form.fields["role"].choices if v]
    assert role_choices == ["manager", "receptionist", "stylist"]
    response = client.post(url, _staff_form(manager, role="owner"))
    assert response.status_code == 200  # the form again, with the error
    assert "role" in response.context["adminform"].form.errors
    assert _snapshot() == before
    assert manager.user.has_perm("accounts.view_all_locations") is False


def test_admin_manager_cannot_add_a_location_they_do_not_hold(client_as, manager, stylist, other_location):
    client = client_as(manager)
    before = _snapshot()
    url = reverse("admin:accounts_staffmember_change", args=[stylist.pk])
    locations = [str(stylist.locations.get().pk), str(other_location.pk)]
    response = client.post(url, _staff_form(stylist, locations=locations))
    assert response.status_code == 200
    assert "locations" in response.context["adminform"].form.errors
    response = client.post(
        reverse("admin:accounts_staffmember_change", args=[manager.pk]),
        _staff_form(manager, locations=locations),
    )
    assert response.status_code == 200
    assert _snapshot() == before


@pytest.mark.parametrize("who", ["far_stylist", "shared_stylist", "owner"])
def test_admin_other_locations_staff_cannot_be_changed(request, client_as, manager, who):
    target = request.getfixturevalue(who)
    client = client_as(manager)
    before = _snapshot()
    url = reverse("admin:accounts_staffmember_change", args=[target.pk])
    page = client.get(url)
    if who == "far_stylist":
        # Not theirs at all: it looks missing (the admin redirects to its index with a message).
        assert page.status_code == 302 and page.url == reverse("admin:index")
    else:
        # Works at one of their locations too: they may look, read-only (no save button).
        assert page.status_code == 200
        assert page.context["has_change_permission"] is False
    response = client.post(url, _staff_form(target, display_name="Hacked", role="manager"))
    assert response.status_code in (302, 403)
    assert _snapshot() == before


def test_admin_staff_list_shows_only_my_locations(client_as, manager, far_stylist, stylist):
    response = client_as(manager).get(reverse("admin:accounts_staffmember_changelist"))
    shown = set(response.context["cl"].queryset)
    assert stylist in shown and manager in shown
    assert far_stylist not in shown


def test_admin_manager_adds_staff_only_with_their_roles_and_locations(
    client_as, manager, location, other_location
):
    client = client_as(manager)
    login = UserFactory(username="new.person")
    before = _snapshot()
    url = reverse("admin:accounts_staffmember_add")
    form = {
        "user": str(login.pk),
        "display_name": "New",
        "role": "owner",
        "locations": [str(location.pk)],
        "calendar_colour": "#123456",
        "is_active": "on",
        "_save": "Save",
    }
    assert client.post(url, form).status_code == 200
    assert (
        client.post(url, {**form, "role": "stylist", "locations": [str(other_location.pk)]}).status_code
        == 200
    )
    assert _snapshot() == before
    response = client.post(url, {**form, "role": "stylist"})
    assert response.status_code == 302
    added = StaffMember.objects.get(user=login)
    assert (added.role, list(added.locations.all()), added.is_bookable) == ("stylist", [location], False)
    assert list(login.groups.values_list("name", flat=True)) == ["stylist"]


def test_admin_manager_cannot_open_another_location(client_as, manager, other_location, location):
    client = client_as(manager)
    OpeningHours.objects.create(location=other_location, weekday=0, opens="09:00", closes="18:00")
    before = (_locations(), sorted(OpeningHours.objects.values_list("pk", "location", "opens", "closes")))
    url = reverse("admin:accounts_location_change", args=[other_location.pk])
    assert client.get(url).status_code == 302
    response = client.post(
        url,
        {
            "code": "xuhui",
            "name": "Mine",
            "time_zone": "Asia/Shanghai",
            "is_active": "on",
            "opening_hours-TOTAL_FORMS": "0",
            "opening_hours-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert client.get(reverse("admin:accounts_location_changelist")).context["cl"].queryset.get() == location
    assert client.get(reverse("admin:accounts_location_add")).status_code == 403  # owners add locations
    after = (_locations(), sorted(OpeningHours.objects.values_list("pk", "location", "opens", "closes")))
    assert after == before


def test_admin_manager_edits_their_own_location_and_its_opening_hours(client_as, manager, location):
    client = client_as(manager)
    url = reverse("admin:accounts_location_change", args=[location.pk])
    response = client.post(
        url,
        {
            "code": location.code,
            "name": location.name,
            "phone": "021-5555",
            "time_zone": "Asia/Shanghai",
            "is_active": "on",
            "opening_hours-TOTAL_FORMS": "1",
            "opening_hours-INITIAL_FORMS": "0",
            "opening_hours-0-weekday": "0",
            "opening_hours-0-opens": "10:00",
            "opening_hours-0-closes": "19:00",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    location.refresh_from_db()
    assert location.phone == "021-5555"
    assert list(OpeningHours.objects.filter(location=location).values_list("weekday", "opens", "closes")) == [
        (0, datetime.time(10), datetime.time(19))
    ]


# ---- the settings page and the API ----------------------------------------------------------------


def test_settings_page_shows_only_my_locations_and_cannot_write(
    client_as, manager, far_stylist, other_location
):
    client = client_as(manager)
    response = client.get(reverse("accounts:settings"))
    html = response.content.decode()
    assert response.status_code == 200
    assert other_location.name not in html and far_stylist.display_name not in html
    before = _snapshot()
    response = client.post(reverse("accounts:settings"), {"role": "owner", "locations": [other_location.pk]})
    assert response.status_code == 405
    assert _snapshot() == before


def test_api_has_no_staff_write_and_lists_only_my_locations(api_as, manager, far_stylist, other_location):
    client = api_as(manager)
    before = _snapshot()
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/staff/", {"role": "owner"}, format="json").status_code == 405
        assert getattr(client, method)("/api/v1/me/", {"role": "owner"}, format="json").status_code == 405
    assert _snapshot() == before
    ids = {row["id"] for row in client.get("/api/v1/staff/").json()}
    assert far_stylist.pk not in ids and manager.pk in ids
    ids = {row["id"] for row in client.get("/api/v1/locations/").json()}
    assert other_location.pk not in ids
