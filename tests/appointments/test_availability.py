from datetime import time, timedelta

import pytest

from appointments.models import TimeOff, WorkingHours
from appointments.services import BookingItem, appointment_book, availability_find
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ServiceFactory

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db
DAY = fixtures_core.DAY


def find(salon, services, staff=None, day=DAY, days=1):
    return availability_find(
        location=salon.location,
        services=services,
        start_date=day,
        end_date=day + timedelta(days=days - 1),
        staff=staff,
    )


def starts(slots, salon):
    return [s.start.astimezone(salon.location.tz).strftime("%H:%M") for s in slots]


def book(salon, service, staff, start, by):
    return appointment_book(
        customer=CustomerFactory(),
        location=salon.location,
        items=[BookingItem(service=service, staff=staff, start=start)],
        source="front_desk",
        booked_by=by.user,
    )


def test_empty_day_grid_within_hours(salon):
    slots = find(salon, [salon.cut], staff=salon.stylist)
    got = starts(slots, salon)
    assert got[0] == "09:00" and got[-1] == "20:00"
    assert len(got) == 45  # 09:00..20:00 every 15 minutes
    assert all(s.end - s.start == timedelta(hours=1) for s in slots)


def test_no_slot_overlaps_a_three_hour_booking(salon, reception):
    three_hours = ServiceFactory(name="Perm", duration_minutes=180, locations=[salon.location])
    book(salon, three_hours, salon.stylist, salon.at(12), reception)
    slots = find(salon, [salon.cut], staff=salon.stylist)
    for s in slots:
        assert s.end <= salon.at(12) or s.start >= salon.at(15)
    got = starts(slots, salon)
    assert "11:00" in got and "11:15" not in got and "14:45" not in got and "15:00" in got


def test_buffer_after_is_honoured(salon, reception):
    # colour 10:00–12:00 + 15 min buffer: the stylist is free from 12:15
    book(salon, salon.colour, salon.stylist, salon.at(10), reception)
    got = starts(find(salon, [salon.cut], staff=salon.stylist), salon)
    assert "09:00" in got and "09:15" not in got and "12:00" not in got and "12:15" in got
    # and a colour's own buffer must fit before the next booking
    book(salon, salon.cut, salon.stylist, salon.at(16), reception)
    colour_starts = starts(find(salon, [salon.colour], staff=salon.stylist), salon)
    assert "13:45" in colour_starts and "14:00" not in colour_starts


def test_time_off_and_working_hours(salon):
    TimeOff.objects.create(staff=salon.stylist, start=salon.at(13), end=salon.at(15))
    WorkingHours.objects.filter(staff=salon.stylist, weekday=DAY.weekday()).update(
        start=time(12), end=time(18)
    )
    got = starts(find(salon, [salon.cut], staff=salon.stylist), salon)
    assert got == ["12:00"] + [f"{h:02d}:{m:02d}" for h in range(15, 18) for m in (0, 15, 30, 45)][:-3]


def test_resource_limits_slots(salon, reception):
    book(salon, salon.facial, salon.stylist, salon.at(10), reception)
    slots = find(salon, [salon.facial], staff=salon.other_stylist)
    got = starts(slots, salon)
    # the only room is busy 10:00–11:00 although the other stylist is free
    assert "09:00" in got and "09:15" not in got and "10:45" not in got and "11:00" in got


def test_two_services_in_a_row_same_stylist(salon):
    slots = find(salon, [salon.colour, salon.cut], staff=salon.stylist)
    # colour 120 + buffer 15 + cut 60 must end by 21:00
    assert starts(slots, salon)[-1] == "17:45"
    assert slots[0].end - slots[0].start == timedelta(minutes=195)


def test_closed_day_and_not_offered(salon, other_location):
    salon.location.opening_hours.filter(weekday=DAY.weekday()).delete()
    assert find(salon, [salon.cut]) == []
    salon.cut.locations.set([other_location])
    assert find(salon, [salon.cut], day=DAY + timedelta(days=1)) == []


def test_past_starts_are_never_offered(salon):
    now = salon.at(15, 5)
    slots = availability_find(
        location=salon.location,
        services=[salon.cut],
        start_date=DAY,
        end_date=DAY,
        staff=salon.stylist,
        now=now,
    )
    assert starts(slots, salon)[0] == "15:15"


@pytest.mark.parametrize("bookings", [1, 12])
def test_query_count_constant(salon, reception, bookings, django_assert_num_queries):
    for n in range(bookings):
        staff = salon.stylist if n % 2 == 0 else salon.other_stylist
        book(salon, salon.facial if n == 0 else salon.cut, staff, salon.at(9 + n // 2), reception)
    # services offered, staff, opening hours, working hours, time off, staff items,
    # resources, resource items
    with django_assert_num_queries(8):
        slots = find(salon, [salon.facial], days=7)
    assert len(slots) > 0
