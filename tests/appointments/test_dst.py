"""Time zones across the UK clock changes of 2026 (29 March: 01:00 GMT → 02:00 BST; 25 October:
02:00 BST → 01:00 GMT), with one location in Europe/London and one in Asia/Shanghai (no DST)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from appointments.selectors import day_calendar
from appointments.services import BookingItem, appointment_book, appointment_move, availability_find
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.appointments.factories import CustomerFactory, ServiceFactory, open_all_week, work_all_week

pytestmark = pytest.mark.django_db
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def before_the_changes(monkeypatch):
    """It is New Year 2026: the days of both clock changes are ahead (a booking by a person
    must not start in the past: appointments.services.checks.check_not_past)."""
    moment = datetime(2026, 1, 1, 12, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)


@pytest.fixture
def london(db):
    location = LocationFactory(code="london", name="London", time_zone="Europe/London")
    open_all_week(location)
    return location


@pytest.fixture
def shanghai(db):
    location = LocationFactory(code="sh", name="Shanghai", time_zone="Asia/Shanghai")
    open_all_week(location)
    return location


@pytest.fixture
def team(london, shanghai):
    uk = StaffMemberFactory(user__username="uk_stylist", role="stylist", locations=[london], is_bookable=True)
    cn = StaffMemberFactory(
        user__username="cn_stylist", role="stylist", locations=[shanghai], is_bookable=True
    )
    work_all_week(uk, london)
    work_all_week(cn, shanghai)
    owner = StaffMemberFactory(user__username="boss", role="owner", locations=[london, shanghai])
    cut = ServiceFactory(name="Cut", duration_minutes=60, locations=[london, shanghai])
    return {"uk": uk, "cn": cn, "owner": owner, "cut": cut}


def _book(location, staff, service, start, by):
    return appointment_book(
        customer=CustomerFactory(),
        location=location,
        items=[BookingItem(service=service, staff=staff, start=start)],
        source="phone",
        booked_by=by.user,
    )


def _slots(location, staff, service, day):
    return availability_find(
        location=location, services=[service], start_date=day, end_date=day, staff=staff, now=LONG_AGO
    )


@pytest.mark.parametrize(
    ("day", "utc_hour_of_nine_local"),
    [(SPRING - timedelta(days=1), 9), (SPRING, 8), (AUTUMN - timedelta(days=1), 8), (AUTUMN, 9)],
)
def test_london_slots_follow_local_hours_across_dst(london, team, day, utc_hour_of_nine_local):
    slots = _slots(london, team["uk"], team["cut"], day)
    assert slots[0].start.astimezone(london.tz).time() == time(9)
    assert slots[0].start.astimezone(UTC).hour == utc_hour_of_nine_local
    assert slots[-1].start.astimezone(london.tz).time() == time(20)
    assert len(slots) == 45


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_shanghai_unaffected_by_uk_change(shanghai, team, day):
    slots = _slots(shanghai, team["cn"], team["cut"], day)
    assert slots[0].start.astimezone(UTC) == datetime.combine(day, time(1), tzinfo=UTC)
    assert len(slots) == 45


def test_ten_local_stays_ten_local_across_the_change(london, team):
    before = datetime.combine(SPRING - timedelta(days=1), time(10), tzinfo=london.tz)
    appt = _book(london, team["uk"], team["cut"], before, team["owner"])
    item = appt.items.get()
    item.refresh_from_db()
    assert item.start.astimezone(UTC).hour == 10  # GMT
    # moved one week later, to 10:00 local again: now BST, 09:00 UTC
    after = datetime.combine(SPRING + timedelta(days=6), time(10), tzinfo=london.tz)
    appointment_move(appointment=appt, new_start=after, by=team["owner"].user)
    item.refresh_from_db()
    assert item.start.astimezone(london.tz).time() == time(10)
    assert item.start.astimezone(UTC).hour == 9
    assert item.end.astimezone(london.tz).time() == time(11)


def test_autumn_booking_stored_in_utc_and_shown_local(london, team):
    day_after = datetime.combine(AUTUMN + timedelta(days=1), time(10), tzinfo=london.tz)
    day_before = datetime.combine(AUTUMN - timedelta(days=1), time(10), tzinfo=london.tz)
    a = _book(london, team["uk"], team["cut"], day_before, team["owner"])
    b = _book(london, team["uk"], team["cut"], day_after, team["owner"])
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.start.astimezone(UTC).hour, b.start.astimezone(UTC).hour) == (9, 10)
    assert a.start.astimezone(london.tz).time() == b.start.astimezone(london.tz).time() == time(10)


def test_outside_local_hours_refused_on_dst_day(london, team):
    from django.core.exceptions import ValidationError

    # 08:30 BST on the spring day is 07:30 UTC; the salon opens at 09:00 local
    with pytest.raises(ValidationError):
        _book(london, team["uk"], team["cut"], datetime(2026, 3, 29, 7, 30, tzinfo=UTC), team["owner"])
    # 09:00 BST == 08:00 UTC is fine
    _book(london, team["uk"], team["cut"], datetime(2026, 3, 29, 8, 0, tzinfo=UTC), team["owner"])


@pytest.mark.parametrize(("day", "hours"), [(SPRING, 23), (AUTUMN, 25), (SPRING + timedelta(days=1), 24)])
def test_day_calendar_day_length_on_dst_days(london, team, day, hours):
    cal = day_calendar(location=london, date=day)
    assert cal.day_end - cal.day_start == timedelta(hours=hours)
    column = next(c for c in cal.columns if c.staff == team["uk"])
    assert [(a.astimezone(london.tz).time(), b.astimezone(london.tz).time()) for a, b in column.working] == [
        (time(9), time(21))
    ]


def test_booking_in_the_small_hours_of_the_autumn_day_in_calendar(london, team):
    # a location open all night on the autumn day: 01:30 happens twice; both are on that day
    london.opening_hours.filter(weekday=AUTUMN.weekday()).update(opens=time(0))
    team["uk"].working_hours.filter(weekday=AUTUMN.weekday()).update(start=time(0))
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    _book(london, team["uk"], team["cut"], first, team["owner"])
    _book(london, team["uk"], team["cut"], second, team["owner"])
    cal = day_calendar(location=london, date=AUTUMN)
    assert [i.start for i in cal.items] == [first, second]


def test_api_slots_on_the_autumn_night_keep_their_offsets(london, team):
    from appointments.api import slots_as_json

    # open all night on the autumn day: 01:15 happens twice (BST, then GMT). The date is past,
    # so the search runs with an earlier "now" and the API's formatting is checked on its own.
    london.opening_hours.filter(weekday=AUTUMN.weekday()).update(opens=time(0))
    team["uk"].working_hours.filter(weekday=AUTUMN.weekday()).update(start=time(0))
    starts = [s["start"] for s in slots_as_json(_slots(london, team["uk"], team["cut"], AUTUMN))]
    assert "2026-10-25T01:15:00+01:00" in starts and "2026-10-25T01:15:00+00:00" in starts
    assert starts.index("2026-10-25T01:15:00+01:00") < starts.index("2026-10-25T01:15:00+00:00")
    assert len(starts) == len(set(starts))
