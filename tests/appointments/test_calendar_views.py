"""The day calendar page, its booking dialog and the appointment dialog's actions."""

import pytest
from django.urls import reverse

from appointments.models import Appointment
from appointments.services import BookingItem, appointment_book
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ServiceFactory
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


def book(salon, hour, staff=None, service=None, customer=None, minute=0, day=DAY):
    return appointment_book(
        customer=customer or CustomerFactory(),
        location=salon.location,
        items=[
            BookingItem(
                service=service or salon.cut, staff=staff or salon.stylist, start=salon.at(hour, minute, day)
            )
        ],
        source="front_desk",
        booked_by=None,
    )


def post_booking(client, salon, **overrides):
    data = {
        "customer": salon.customer.pk,
        "date": DAY.isoformat(),
        "notes": "",
        "override_reason": "",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-0-service": salon.colour.pk,
        "items-0-staff": salon.stylist.pk,
        "items-0-start": "10:00",
        "items-1-service": salon.cut.pk,
        "items-1-staff": salon.other_stylist.pk,
        "items-1-start": "",
    }
    data.update(overrides)
    return client.post(reverse("appointments:book"), data, HTTP_HX_REQUEST="true")


def test_day_page_shows_columns_and_appointments_with_masked_phone_for_stylist(client_as, salon, reception):
    # given a booking with a known phone
    customer = CustomerFactory(name="李四", phone="+8613812345678")
    book(salon, 10, customer=customer)
    # when the receptionist opens the day
    response = client_as(reception).get(reverse("appointments:day"), {"date": DAY.isoformat()})
    # then both stylists have a column and the appointment shows with the full phone
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-staff="{salon.stylist.pk}"' in html and f'data-staff="{salon.other_stylist.pk}"' in html
    assert "李四" in html and "138 1234 5678" in html
    assert "10:00–11:00" in html


def test_stylist_sees_masked_phone(client_as, salon):
    book(salon, 10, customer=CustomerFactory(name="李四", phone="+8613812345678"))
    html = (
        client_as(salon.stylist).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    )
    assert "138****5678" in html
    assert "138 1234 5678" not in html


# 12 queries whatever the number of appointments: session, user, user permissions, group
# permissions, staff member (location access), locations (current location), then the
# selector: opening hours, items with appointment + client + location + service + staff,
# columns' staff, working hours, time off; and the header's location list.
QUERIES_DAY = 12


@pytest.mark.parametrize("count", [5, 50])
def test_day_page_query_count_is_constant(client_as, salon, reception, django_assert_num_queries, count):
    # given `count` appointments of 15 minutes spread over both stylists
    fringe = ServiceFactory(name="Fringe", duration_minutes=15, locations=[salon.location])
    for n in range(count):
        staff = salon.stylist if n % 2 == 0 else salon.other_stylist
        minutes = (n // 2) * 15
        book(salon, 9 + minutes // 60, staff=staff, service=fringe, minute=minutes % 60)
    assert Appointment.objects.count() == count
    client = client_as(reception)
    # when / then
    with django_assert_num_queries(QUERIES_DAY):
        response = client.get(reverse("appointments:day"), {"date": DAY.isoformat()})
    assert response.content.decode().count('class="appt st-booked"') == count
