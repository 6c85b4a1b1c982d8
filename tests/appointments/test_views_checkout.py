"""Checkout page (lines, discounts, payments, server-side totals), receipt and void."""

from decimal import Decimal

import pytest
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus, Visit
from appointments.services import (
    BookingItem,
    CheckoutLine,
    PaymentIn,
    appointment_book,
    appointment_check_in,
    visit_checkout,
)
from tests.appointments import fixtures_core
from tests.appointments.factories import ProductFactory

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day  # check-in and checkout happen on the appointment's day
pytestmark = pytest.mark.django_db


@pytest.fixture
def arrived(salon, reception, on_the_day) -> Appointment:
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10)),
            BookingItem(service=salon.cut, staff=salon.other_stylist, start=salon.at(12)),
        ],
        source="front_desk",
        booked_by=None,
    )
    return appointment_check_in(appointment=appointment, by=reception.user)


def _post(salon, arrived, *, payments, lines_extra=None, discount="0", recalc=""):
    data = {
        "discount": discount,
        "override_reason": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-service": salon.colour.pk,
        "lines-0-staff": salon.stylist.pk,
        "lines-0-quantity": "1",
        "lines-0-unit_price": "680.00",
        "lines-0-discount": "80.00",
        "lines-1-service": salon.cut.pk,
        "lines-1-staff": salon.other_stylist.pk,
        "lines-1-quantity": "1",
        "lines-1-unit_price": "",
        "lines-1-discount": "0",
        "lines-2-quantity": "1",
        "pay-TOTAL_FORMS": str(len(payments)),
        "pay-INITIAL_FORMS": "0",
    }
    for n, (method, amount) in enumerate(payments):
        data[f"pay-{n}-method"] = method
        data[f"pay-{n}-amount"] = amount
    data.update(lines_extra or {})
    if recalc:
        data["recalc"] = recalc
    return data


def test_checkout_page_prefills_services_stylists_and_total(client_as, salon, reception, arrived):
    html = client_as(reception).get(reverse("appointments:checkout", args=[arrived.pk])).content.decode()
    assert f'<option value="{salon.colour.pk}" selected>' in html
    assert f'<option value="{salon.other_stylist.pk}" selected>' in html
    assert 'id="total-net">880.00<' in html
    assert 'name="pay-0-amount" value="880.00"' in html


def test_recalculation_is_server_side_decimal(client_as, salon, reception, arrived):
    product = ProductFactory(name="Shampoo", price=Decimal("88.00"))
    data = _post(
        salon,
        arrived,
        payments=[("cash", "")],
        discount="10.50",
        recalc="1",
        lines_extra={"lines-2-product": product.pk, "lines-2-quantity": "2"},
    )
    response = client_as(reception).post(reverse("appointments:checkout", args=[arrived.pk]), data)
    html = response.content.decode()
    # 600 (680 - 80) + 200 (catalogue price) + 176 (2 x 88) = 976; minus 10.50 = 965.50
    assert 'id="total-subtotal">976.00<' in html
    assert 'id="total-net">965.50<' in html
    assert Visit.objects.count() == 0


def test_checkout_with_split_payment_completes_and_shows_receipt(client_as, salon, reception, arrived):
    client = client_as(reception)
    data = _post(salon, arrived, payments=[("cash", "300.00"), ("wechat_pay", "500.00")])
    response = client.post(reverse("appointments:checkout", args=[arrived.pk]), data)
    visit = Visit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("appointments:receipt", args=[visit.pk]) + "?done=1"
    assert (visit.subtotal, visit.discount, visit.total) == (
        Decimal("800.00"),
        Decimal("0.00"),
        Decimal("800.00"),
    )
    assert sorted((p.method, p.amount) for p in visit.payments.all()) == [
        ("cash", Decimal("300.00")),
        ("wechat_pay", Decimal("500.00")),
    ]
    assert [(line.description, line.staff_id, line.amount) for line in visit.lines.order_by("pk")] == [
        ("Colour", salon.stylist.pk, Decimal("600.00")),
        ("Cut", salon.other_stylist.pk, Decimal("200.00")),
    ]
    arrived.refresh_from_db()
    assert arrived.status == AppointmentStatus.COMPLETED
    receipt = client.get(response["Location"]).content.decode()
    assert 'id="receipt-total">800.00<' in receipt
    assert "WeChat Pay" in receipt and "(Asia/Shanghai)" in receipt
    assert 'id="next-visit"' in receipt  # colour has a 42-day rebooking interval


def test_payments_not_matching_the_total_are_a_form_error(client_as, salon, reception, arrived):
    data = _post(salon, arrived, payments=[("cash", "100.00")])
    response = client_as(reception).post(reverse("appointments:checkout", args=[arrived.pk]), data)
    assert response.status_code == 200
    assert 'id="form-errors"' in response.content.decode()
    assert Visit.objects.count() == 0
    arrived.refresh_from_db()
    assert arrived.status == AppointmentStatus.ARRIVED


def test_negative_amounts_are_field_errors_not_500(client_as, salon, reception, arrived):
    data = _post(salon, arrived, payments=[("cash", "-5")], discount="abc")
    response = client_as(reception).post(reverse("appointments:checkout", args=[arrived.pk]), data)
    assert response.status_code == 200
    assert Visit.objects.count() == 0


def test_stylist_cannot_check_out(client_as, salon, arrived):
    response = client_as(salon.stylist).get(reverse("appointments:checkout", args=[arrived.pk]))
    assert response.status_code == 403


def test_walk_in_sale_of_a_product(client_as, salon, reception):
    product = ProductFactory(name="Hair oil", price=Decimal("120.00"))
    data = {
        "customer": salon.customer.pk,
        "discount": "0",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": product.pk,
        "lines-0-quantity": "1",
        "pay-TOTAL_FORMS": "1",
        "pay-INITIAL_FORMS": "0",
        "pay-0-method": "alipay",
        "pay-0-amount": "120.00",
    }
    response = client_as(reception).post(reverse("appointments:checkout_sale"), data)
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.appointment, visit.customer, visit.total) == (None, salon.customer, Decimal("120.00"))


def _completed_visit(salon, reception) -> Visit:
    return visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
        payments=[PaymentIn(method="cash", amount=Decimal("200.00"))],
    )


def test_manager_voids_with_reason(client_as, salon, reception, manager):
    visit = _completed_visit(salon, reception)
    client = client_as(manager)
    assert 'id="void-form"' in client.get(reverse("appointments:receipt", args=[visit.pk])).content.decode()
    response = client.post(reverse("appointments:void", args=[visit.pk]), {"reason": "wrong client"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.void_reason) == ("voided", "wrong client")
    assert "VOIDED" in client.get(reverse("appointments:receipt", args=[visit.pk])).content.decode()


def test_reception_cannot_void(client_as, salon, reception):
    visit = _completed_visit(salon, reception)
    client = client_as(reception)
    assert (
        'id="void-form"' not in client.get(reverse("appointments:receipt", args=[visit.pk])).content.decode()
    )
    assert client.post(reverse("appointments:void", args=[visit.pk]), {"reason": "x"}).status_code == 403
    visit.refresh_from_db()
    assert visit.status == "completed"


def test_receipt_shows_local_time_with_zone(client_as, salon, reception):
    visit = _completed_visit(salon, reception)
    local = (visit.completed_at or visit.started_at).astimezone(salon.location.tz)
    html = client_as(reception).get(reverse("appointments:receipt", args=[visit.pk])).content.decode()
    assert f"{local:%Y-%m-%d %H:%M} (Asia/Shanghai)" in html
