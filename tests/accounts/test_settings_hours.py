"""Issue 9, item 9: a manager sets opening hours, a stylist's week and their time off on the
settings pages, without the Django admin. Writes go through accounts.services.opening_hours_set
and appointments.services.catalogue (working_hours_set, time_off_add, time_off_delete) under the
manager-of-this-location rule; another location's pages look missing; a denied write changes
nothing; overlapping periods are form errors; availability sees the new hours at once."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import OpeningHours
from accounts.services import WeeklyPeriod, opening_hours_set, weekly_periods_check
from appointments.models import Service, TimeOff, WorkingHours
from appointments.services import availability_find
from appointments.services.catalogue import time_off_add, working_hours_set
from tests.accounts.factories import StaffMemberFactory
from tests.appointments.factories import ServiceFactory, open_all_week, work_all_week

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 1, 11)


@pytest.fixture
def far_manager(other_location):
    return StaffMemberFactory(user__username="manager.xuhui", role="manager", locations=[other_location])


@pytest.fixture
def salon(location, stylist):
    """Open 09:00–21:00 every day; the stylist works 09:00–21:00 every day."""
    open_all_week(location)
    work_all_week(stylist, location)
    return location


def _week(prefix_days: dict[int, list[tuple[str, str]]], slots: int = 2) -> dict:
    """POST data of the weekly grid: {weekday: [(from, until), ...]}; other days empty."""
    data = {}
    for day in range(7):
        periods = prefix_days.get(day, [])
        total = max(slots, len(periods))
        data[f"d{day}-TOTAL_FORMS"] = str(total)
        data[f"d{day}-INITIAL_FORMS"] = "0"
        for n in range(total):
            start, end = periods[n] if n < len(periods) else ("", "")
            data[f"d{day}-{n}-start"] = start
            data[f"d{day}-{n}-end"] = end
    return data


def _opening(location) -> list[tuple]:
    return list(OpeningHours.objects.filter(location=location).values_list("weekday", "opens", "closes"))


def _working(staff) -> list[tuple]:
    return list(
        WorkingHours.objects.filter(staff=staff)
        .order_by("weekday", "start")
        .values_list("weekday", "start", "end")
    )


# ---- opening hours ----------------------------------------------------------------------------


def test_manager_edits_their_locations_opening_hours(client_as, manager, salon, location):
    client = client_as(manager)
    url = reverse("accounts:opening_hours", args=[location.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="d0-0-start" value="09:00"' in page.content.decode()
    week = {d: [("9:00", "12:00"), ("13:00", "21:00")] for d in range(5)} | {5: [("10", "1800")]}
    response = client.post(url, _week(week))
    assert response.status_code == 302 and response.url == reverse("accounts:settings")
    assert _opening(location) == [
        row for d in range(5) for row in ((d, time(9), time(12)), (d, time(13), time(21)))
    ] + [(5, time(10), time(18))]  # Sunday closed
    settings_page = client.get(reverse("accounts:settings")).content.decode()
    assert "09:00–12:00, 13:00–21:00" in settings_page
    assert f'id="edit-hours-{location.pk}"' in settings_page


def test_manager_of_another_location_gets_404_and_changes_nothing(client_as, far_manager, salon, location):
    before = _opening(location)
    client = client_as(far_manager)
    url = reverse("accounts:opening_hours", args=[location.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, _week({0: [("10:00", "11:00")]})).status_code == 404
    assert _opening(location) == before
    assert f'id="edit-hours-{location.pk}"' not in client.get(reverse("accounts:settings")).content.decode()


@pytest.mark.parametrize("persona", ["reception", "stylist"])
def test_desk_and_stylists_cannot_edit_hours(request, client_as, persona, salon, location, stylist):
    staff = request.getfixturevalue(persona)
    before = (_opening(location), _working(stylist))
    client = client_as(staff)
    assert client.post(reverse("accounts:opening_hours", args=[location.pk]), _week({})).status_code == 403
    assert client.post(reverse("appointments:staff_hours", args=[stylist.pk]), _week({})).status_code == 403
    assert (_opening(location), _working(stylist)) == before
    with pytest.raises(PermissionDenied):
        opening_hours_set(location=location, by=staff.user, periods=[])
    assert _opening(location) == before[0]


def test_overlapping_periods_are_a_form_error(client_as, manager, salon, location):
    before = _opening(location)
    url = reverse("accounts:opening_hours", args=[location.pk])
    response = client_as(manager).post(url, _week({2: [("09:00", "13:00"), ("12:00", "18:00")]}))
    assert response.status_code == 400
    assert "09:00–13:00 and 12:00–18:00 overlap." in response.content.decode()
    assert _opening(location) == before


def test_end_before_start_and_half_periods_are_form_errors(client_as, manager, salon, location):
    before = _opening(location)
    url = reverse("accounts:opening_hours", args=[location.pk])
    response = client_as(manager).post(
        url, _week({0: [("18:00", "09:00")], 1: [("09:00", "")], 2: [("25:00", "26:00")]})
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Ends before it starts." in html and "Until when?" in html and "Enter a valid time." in html
    assert _opening(location) == before


def test_tampered_grid_is_a_400_not_a_500(client_as, manager, salon, location):
    url = reverse("accounts:opening_hours", args=[location.pk])
    data = _week({})
    data["d3-TOTAL_FORMS"] = "100000"
    assert client_as(manager).post(url, data).status_code == 400
    del data["d3-TOTAL_FORMS"]
    assert client_as(manager).post(url, data).status_code == 400


def test_weekly_periods_check_rules():
    touching = [WeeklyPeriod(0, time(13), time(18)), WeeklyPeriod(0, time(9), time(13))]
    assert weekly_periods_check(touching) == sorted(touching, key=lambda p: p.start)
    with pytest.raises(ValidationError) as exc:
        weekly_periods_check([WeeklyPeriod(4, time(9), time(14)), WeeklyPeriod(4, time(13), time(18))])
    assert exc.value.message_dict == {"periods": ["Friday: 09:00–14:00 and 13:00–18:00 overlap."]}
    with pytest.raises(ValidationError):
        weekly_periods_check([WeeklyPeriod(7, time(9), time(10))])


# ---- a stylist's week and time off --------------------------------------------------------------


def test_manager_edits_a_stylists_week(client_as, manager, salon, location, stylist):
    client = client_as(manager)
    url = reverse("appointments:staff_hours", args=[stylist.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Salon open" in page.content.decode()
    week = {0: [("10:00", "14:00"), ("15:00", "19:00")], 2: [("09:00", "21:00")]}
    response = client.post(url + f"?location={location.pk}", _week(week))
    assert response.status_code == 302
    assert _working(stylist) == [(0, time(10), time(14)), (0, time(15), time(19)), (2, time(9), time(21))]


def test_stylists_week_of_another_location_is_404(client_as, far_manager, salon, stylist):
    before = _working(stylist)
    client = client_as(far_manager)
    url = reverse("appointments:staff_hours", args=[stylist.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, _week({0: [("10:00", "11:00")]})).status_code == 404
    add = reverse("appointments:staff_time_off_add", args=[stylist.pk])
    assert client.post(add, {"start_date": "2027-01-11", "end_date": "2027-01-11"}).status_code == 404
    assert _working(stylist) == before and TimeOff.objects.count() == 0
    with pytest.raises(PermissionDenied):
        working_hours_set(staff=stylist, location=stylist.locations.get(), by=far_manager.user, periods=[])
    assert _working(stylist) == before


def test_a_location_the_stylist_does_not_work_at_is_404(client_as, owner, salon, stylist, other_location):
    url = reverse("appointments:staff_hours", args=[stylist.pk]) + f"?location={other_location.pk}"
    assert client_as(owner).get(url).status_code == 404


def test_overlapping_working_periods_are_a_form_error(client_as, manager, salon, stylist):
    before = _working(stylist)
    url = reverse("appointments:staff_hours", args=[stylist.pk])
    response = client_as(manager).post(url, _week({4: [("09:00", "13:00"), ("12:30", "18:00")]}))
    assert response.status_code == 400
    assert "09:00–13:00 and 12:30–18:00 overlap." in response.content.decode()
    assert _working(stylist) == before


def test_time_off_added_and_removed_in_the_locations_clock(client_as, manager, salon, location, stylist):
    client = client_as(manager)
    add = reverse("appointments:staff_time_off_add", args=[stylist.pk])
    response = client.post(
        add,
        {
            "start_date": "2027-01-11",
            "end_date": "2027-01-12",
            "start_time": "",
            "end_time": "",
            "reason": "训练",
        },
    )
    assert response.status_code == 302
    t = TimeOff.objects.get()
    tz = location.tz
    assert (t.start, t.end, t.reason) == (
        datetime(2027, 1, 11, tzinfo=tz),
        datetime(2027, 1, 13, tzinfo=tz),
        "训练",
    )
    page = client.get(reverse("appointments:staff_hours", args=[stylist.pk])).content.decode()
    assert "2027-01-11 – 2027-01-12" in page
    # half a day, then a bad range
    response = client.post(add, {"start_date": "2027-01-14", "start_time": "14:00", "end_date": "2027-01-14"})
    assert response.status_code == 302
    assert TimeOff.objects.order_by("start").last().start == datetime(2027, 1, 14, 14, tzinfo=tz)
    response = client.post(
        add,
        {"start_date": "2027-01-15", "start_time": "14:00", "end_date": "2027-01-15", "end_time": "09:00"},
    )
    assert response.status_code == 400 and "The end must be after the start." in response.content.decode()
    assert TimeOff.objects.count() == 2
    delete = reverse("appointments:staff_time_off_delete", args=[t.pk])
    assert client.post(delete).status_code == 302
    assert TimeOff.objects.count() == 1


def test_time_off_of_another_locations_stylist_cannot_be_removed(client_as, far_manager, salon, stylist):
    t = time_off_add(
        staff=stylist,
        start=datetime(2027, 1, 11, 9, tzinfo=stylist.locations.get().tz),
        end=datetime(2027, 1, 11, 12, tzinfo=stylist.locations.get().tz),
        by=None,
    )
    response = client_as(far_manager).post(reverse("appointments:staff_time_off_delete", args=[t.pk]))
    assert response.status_code == 404
    assert TimeOff.objects.filter(pk=t.pk).exists()


# ---- the booking engine sees the new hours -------------------------------------------------------


def _starts(location, stylist, day: date) -> list[str]:
    cut = Service.objects.filter(name="Cut").first() or ServiceFactory(name="Cut", locations=[location])
    slots = availability_find(location=location, services=[cut], start_date=day, end_date=day, staff=stylist)
    return [s.start.astimezone(location.tz).strftime("%H:%M") for s in slots]


def test_availability_follows_the_new_hours(client_as, manager, salon, location, stylist):
    assert "12:00" in _starts(location, stylist, MONDAY)
    client = client_as(manager)
    # the salon: a lunch break on Monday, closed on Tuesday
    client.post(
        reverse("accounts:opening_hours", args=[location.pk]),
        _week({0: [("09:00", "12:00"), ("13:00", "18:00")]} | {d: [("09:00", "21:00")] for d in range(2, 7)}),
    )
    starts = _starts(location, stylist, MONDAY)
    assert starts[0] == "09:00" and "11:00" in starts and "12:00" not in starts and "12:30" not in starts
    assert "13:00" in starts and starts[-1] == "17:00"
    assert _starts(location, stylist, MONDAY + timedelta(days=1)) == []
    # the stylist works Wednesdays 14:00–16:00 only
    client.post(
        reverse("appointments:staff_hours", args=[stylist.pk]),
        _week({0: [("09:00", "21:00")], 2: [("14:00", "16:00")]}),
    )
    assert _starts(location, stylist, MONDAY + timedelta(days=2)) == [
        "14:00",
        "14:15",
        "14:30",
        "14:45",
        "15:00",
    ]
    # time off on Monday morning
    client.post(
        reverse("appointments:staff_time_off_add", args=[stylist.pk]),
        {"start_date": MONDAY.isoformat(), "end_date": MONDAY.isoformat(), "end_time": "11:00"},
    )
    assert _starts(location, stylist, MONDAY)[0] == "11:00"


# ---- pages that list things: bounded queries -----------------------------------------------------


def test_settings_page_queries_do_not_grow_with_staff(client_as, owner, salon, location, other_location):
    client = client_as(owner)
    url = reverse("accounts:settings")
    client.get(url)  # warm the session
    baseline = _count(client, url)
    open_all_week(other_location)
    for n in range(5):
        StaffMemberFactory(user__username=f"extra{n}", role="stylist", locations=[location, other_location])
    # the same queries for two locations with six more people and a week of hours each
    assert _count(client, url) == baseline


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_hours_overview_queries_do_not_grow_with_staff(client_as, owner, salon, location):
    client = client_as(owner)
    url = reverse("appointments:catalogue_hours")
    client.get(url)
    baseline = _count(client, url)
    for n in range(5):
        extra = StaffMemberFactory(
            user__username=f"extra{n}", role="stylist", locations=[location], is_bookable=True
        )
        work_all_week(extra, location)
    assert _count(client, url) == baseline
    html = client.get(url).content.decode()
    assert html.count("Edit week") == 6


def test_new_pages_have_nothing_the_policy_blocks(client_as, owner, salon, location, stylist):
    from tests.test_csp import offences

    client = client_as(owner)
    time_off_add(
        staff=stylist,
        start=datetime(2027, 1, 11, tzinfo=location.tz),
        end=datetime(2027, 1, 12, tzinfo=location.tz),
        reason="holiday",
        by=None,
    )
    for url in (
        reverse("accounts:settings"),
        reverse("accounts:opening_hours", args=[location.pk]),
        reverse("appointments:catalogue_hours"),
        reverse("appointments:staff_hours", args=[stylist.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert offences(response.content.decode()) == [], url
