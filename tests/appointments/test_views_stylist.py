"""The stylist's day (tablet), service records with a colour formula, and the Today panel."""

from datetime import datetime, time

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import AppointmentStatus, ServiceRecord
from appointments.services import BookingItem, appointment_book, appointment_check_in
from customers.models import ColourFormula
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ProductFactory

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


def today_at(salon, hour, minute=0):
    day = timezone.now().astimezone(salon.location.tz).date()
    return datetime.combine(day, time(hour, minute), tzinfo=salon.location.tz)


def book_today(salon, hour, staff, customer=None, service=None):
    return appointment_book(
        customer=customer or CustomerFactory(),
        location=salon.location,
        items=[BookingItem(service=service or salon.cut, staff=staff, start=today_at(salon, hour))],
        source="front_desk",
        booked_by=None,
    )


def test_my_day_lists_only_my_appointments_with_masked_phones(client_as, salon):
    mine = book_today(salon, 10, salon.stylist, CustomerFactory(name="我的客人", phone="+8613811112222"))
    book_today(salon, 11, salon.other_stylist, CustomerFactory(name="别人的客人"))
    html = client_as(salon.stylist).get(reverse("appointments:my_day")).content.decode()
    assert "我的客人" in html and "138****2222" in html
    assert "别人的客人" not in html
    assert reverse("customers:detail", args=[mine.customer_id]) in html


def test_start_button_moves_arrived_to_in_service(client_as, salon, reception):
    appointment = book_today(salon, 10, salon.stylist)
    appointment_check_in(appointment=appointment, by=reception.user)
    item = appointment.items.get()
    client = client_as(salon.stylist)
    assert (
        f'action="{reverse("appointments:my_day_start", args=[item.pk])}"'
        in client.get(reverse("appointments:my_day")).content.decode()
    )
    response = client.post(reverse("appointments:my_day_start", args=[item.pk]))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.IN_SERVICE


def test_stylist_cannot_start_another_stylists_item(client_as, salon, reception):
    appointment = book_today(salon, 10, salon.other_stylist)
    appointment_check_in(appointment=appointment, by=reception.user)
    response = client_as(salon.stylist).post(
        reverse("appointments:my_day_start", args=[appointment.items.get().pk])
    )
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED


def test_service_record_with_products_and_colour_formula(client_as, salon, reception):
    appointment = book_today(salon, 10, salon.stylist, service=salon.colour)
    appointment_check_in(appointment=appointment, by=reception.user)
    item = appointment.items.get()
    dye = ProductFactory(name="Koleston 7/1", kind="back_bar")
    response = client_as(salon.stylist).post(
        reverse("appointments:service_record", args=[item.pk]),
        {
            "products": [dye.pk],
            "notes": "grey coverage at roots",
            "result": "even, cool tone",
            "formula_brand": "Wella",
            "formula_shades": "7/1 30, 8/0 15g",
            "formula_developer": "6%",
            "formula_minutes": "35",
        },
    )
    assert response.status_code == 302
    record = ServiceRecord.objects.get(item=item)
    assert (record.notes, record.result, record.written_by) == (
        "grey coverage at roots",
        "even, cool tone",
        salon.stylist,
    )
    assert list(record.products_used.all()) == [dye]
    formula = ColourFormula.objects.get()
    assert record.formula == formula
    assert (formula.brand, formula.developer, formula.processing_minutes, formula.customer_id) == (
        "Wella",
        "6%",
        35,
        appointment.customer_id,
    )
    assert [(s.shade, str(s.grams)) for s in formula.shades.all()] == [("7/1", "30.0"), ("8/0", "15.0")]


def test_bad_shades_keep_the_input_and_save_nothing(client_as, salon):
    appointment = book_today(salon, 10, salon.stylist, service=salon.colour)
    item = appointment.items.get()
    response = client_as(salon.stylist).post(
        reverse("appointments:service_record", args=[item.pk]),
        {"notes": "kept", "result": "", "formula_brand": "Wella", "formula_shades": "7/1 lots"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Grams must be a number" in html and "kept" in html
    assert ServiceRecord.objects.count() == 0 and ColourFormula.objects.count() == 0


# ---- Today panel --------------------------------------------------------------------------------


def test_today_panel_for_reception_lists_todays_appointments(client_as, salon, reception):
    book_today(salon, 10, salon.stylist, CustomerFactory(name="早上的客人"))
    html = client_as(reception).get(reverse("accounts:home")).content.decode()
    assert 'id="appointments-panel"' in html and "早上的客人" in html and "10:00" in html


def test_today_panel_for_stylist_lists_own_only(client_as, salon):
    book_today(salon, 10, salon.stylist, CustomerFactory(name="我的客人"))
    book_today(salon, 11, salon.other_stylist, CustomerFactory(name="别人的客人"))
    html = client_as(salon.stylist).get(reverse("accounts:home")).content.decode()
    assert "我的客人" in html and "别人的客人" not in html


# The Today page for a receptionist, 13 queries whatever the day holds: session, user, user and
# group permissions, staff member, locations (switcher and access), team, opening hours, then the
# panel: the day's appointments with client and location, and their items with service and staff;
# then the online bookings held for the desk to confirm the client (one query); then feedback's
# panel: the follow-up calls due and the open complaint cases (one query each).
HOME_QUERIES = 15


@pytest.mark.parametrize("count", [2, 12])
def test_today_panel_query_count_is_constant(client_as, salon, reception, count, django_assert_num_queries):
    client = client_as(reception)
    for n in range(count):
        book_today(salon, 9 + n // 2, salon.stylist if n % 2 else salon.other_stylist)
    with django_assert_num_queries(HOME_QUERIES):
        response = client.get(reverse("accounts:home"))
    assert response.content.decode().count("st-booked") == count
