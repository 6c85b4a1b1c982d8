from datetime import timedelta

import pytest

from appointments.selectors import appointments_for_customer, day_calendar, stylist_day
from appointments.services import BookingItem, appointment_book, appointment_cancel
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


def _fill(salon, reception, hours):
    for n, hour in enumerate(hours):
        appointment_book(
            customer=CustomerFactory(),
            location=salon.location,
            items=[
                BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(hour)),
                BookingItem(service=salon.cut, staff=salon.other_stylist, start=salon.at(hour)),
            ][: 1 + n % 2],
            source="front_desk",
            booked_by=reception.user,
        )


@pytest.mark.parametrize("hours", [[10], [9, 10, 11, 12, 13, 14, 15, 16]])
def test_day_calendar_query_count_is_constant(salon, reception, hours, django_assert_num_queries):
    _fill(salon, reception, hours)
    # 5 queries: opening hours, items (rows with the appointment's status, client's name and
    # phone, service, safety flags), staff columns, working hours, time off
    with django_assert_num_queries(5):
        cal = day_calendar(location=salon.location, date=fixtures_core.DAY)
        names = [(c.staff.pk, [(i.customer_name, i.service_name) for i in c.items]) for c in cal.columns]
    assert sum(len(items) for _pk, items in names) == len(hours) + len(hours) // 2
    assert {pk for pk, _ in names} == {salon.stylist.pk, salon.other_stylist.pk}
    column = next(c for c in cal.columns if c.staff == salon.stylist)
    assert column.working == [(salon.at(9), salon.at(21))]
    assert cal.opening == [(salon.at(9), salon.at(21))]


def test_cancelled_hidden_and_stylist_day(salon, reception):
    _fill(salon, reception, [10, 11])
    first = salon.stylist.appointment_items.order_by("start").first().appointment
    appointment_cancel(appointment=first, by=reception.user)
    cal = day_calendar(location=salon.location, date=fixtures_core.DAY)
    assert [i.start for i in cal.items] == [salon.at(11), salon.at(11)]
    assert [i.start for i in stylist_day(staff=salon.stylist, date=fixtures_core.DAY)] == [salon.at(11)]
    assert stylist_day(staff=salon.stylist, date=fixtures_core.DAY + timedelta(days=1)) == []
    assert [a.pk for a in appointments_for_customer(customer=first.customer, limit=5)] == [first.pk]
