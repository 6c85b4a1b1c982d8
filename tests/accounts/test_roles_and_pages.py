import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.access import can_act_at, locations_for
from accounts.models import Role

pytestmark = pytest.mark.django_db


def test_role_groups_are_created_with_default_permissions():
    groups = {
        g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()}
        for g in Group.objects.all()
    }
    assert set(Role.values) <= set(groups)
    assert "accounts.view_all_locations" in groups["owner"]
    assert "accounts.manage_staff" in groups["manager"]
    assert "accounts.view_all_locations" not in groups["manager"]
    assert "accounts.manage_staff" not in groups["receptionist"]
    assert "accounts.manage_staff" not in groups["stylist"]


def test_staff_user_is_in_exactly_the_group_of_its_role(stylist):
    assert list(stylist.user.groups.values_list("name", flat=True)) == ["stylist"]
    assert stylist.user.is_staff is False


@pytest.mark.parametrize(
    ("persona", "url_name", "expected"),
    [
        ("owner", "accounts:home", 302),  # their home is the dashboard (tests/analytics/test_cohorts.py)
        ("manager", "accounts:home", 302),
        ("reception", "accounts:home", 200),
        ("stylist", "accounts:home", 200),
        ("owner", "accounts:today", 200),
        ("manager", "accounts:today", 200),
        ("reception", "accounts:today", 200),
        ("stylist", "accounts:today", 200),
        ("owner", "accounts:settings", 200),
        ("manager", "accounts:settings", 200),
        ("reception", "accounts:settings", 403),
        ("stylist", "accounts:settings", 403),
        ("owner", "admin:index", 200),
        ("manager", "admin:index", 200),
        ("reception", "admin:index", 302),
        ("stylist", "admin:index", 302),
    ],
)
def test_role_page_permissions(request, client_as, persona, url_name, expected):
    staff = request.getfixturevalue(persona)
    response = client_as(staff).get(reverse(url_name))
    assert response.status_code == expected


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_navigation_follows_the_role(client_as, manager, reception):
    manager_nav = [i["key"] for i in client_as(manager).get("/today/").context["nav_items"]]
    assert "today" in manager_nav and "settings" in manager_nav
    reception_nav = [i["key"] for i in client_as(reception).get("/").context["nav_items"]]
    assert "today" in reception_nav and "settings" not in reception_nav


def test_home_shows_real_data(client_as, reception, stylist, location):
    response = client_as(reception).get(reverse("accounts:home"))
    html = response.content.decode()
    assert location.name in html
    assert stylist.display_name in html  # the team list
    assert response.context["today"]["tz_name"] == "Asia/Shanghai"


def test_can_act_at_follows_locations(owner, manager, location, other_location):
    assert can_act_at(owner.user, location) and can_act_at(owner.user, other_location)
    assert can_act_at(manager.user, location)
    assert not can_act_at(manager.user, other_location)
    assert list(locations_for(manager.user)) == [location]


def test_location_switch_refuses_a_location_not_mine(client_as, reception, other_location):
    client = client_as(reception)
    response = client.post(reverse("accounts:switch_location"), {"location": other_location.pk})
    assert response.status_code == 404
    assert client.session.get("current_location_id") is None


def test_owner_switches_location(client_as, owner, other_location):
    client = client_as(owner)
    response = client.post(reverse("accounts:switch_location"), {"location": other_location.pk, "next": "/"})
    assert response.status_code == 302
    assert client.get("/today/").context["current_location"] == other_location


def test_inactive_staff_has_no_locations(manager, location):
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    assert not can_act_at(manager.user, location)
