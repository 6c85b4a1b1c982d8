"""Issue 8, item 6 (b)-(d): checkout refuses a line credited to another location's stylist, a
price far below the catalogue without a reason (managers may, and it is recorded), and a sale
with nothing to pay without a reason. Each refusal has a clear message and changes nothing."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus, Payment, Visit, VisitLine
from appointments.services import (
    BookingItem,
    CheckoutLine,
    PaymentIn,
    appointment_book,
    appointment_check_in,
    checkout_quote,
    visit_checkout,
)
from tests.accounts.factories import StaffMemberFactory
from tests.appointments import fixtures_core
from tests.appointments.factories import ProductFactory

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day  # check-in and checkout happen on the appointment's day
pytestmark = pytest.mark.django_db


def _sales():
    """Everything a checkout writes, and the appointments' states."""
    return (
        sorted(Visit.objects.values_list("pk", "total", "status")),
        sorted(VisitLine.objects.values_list("pk", "amount")),
        sorted(Payment.objects.values_list("pk", "amount")),
        sorted(Appointment.objects.values_list("pk", "status")),
    )


@pytest.fixture
def far_stylist(other_location):
    return StaffMemberFactory(user__username="stylist.xuhui", role="stylist", locations=[other_location])


@pytest.fixture
def arrived(salon, reception, on_the_day) -> Appointment:
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=reception.user,
    )
    return appointment_check_in(appointment=appointment, by=reception.user)


def _sell(salon, by, *, unit_price=None, discount="0", line_discount="0", paid=None, reason="", staff=None):
    lines = [
        CheckoutLine(
            kind="service",
            service=salon.colour,
            staff=staff or salon.stylist,
            unit_price=None if unit_price is None else Decimal(unit_price),
            discount=Decimal(line_discount),
        )
    ]
    return visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=by.user,
        lines=lines,
        discount=Decimal(discount),
        payments=[PaymentIn("cash", Decimal(paid))] if paid else [],
        price_reason=reason,
    )


# ---- (b) a stylist of another location ------------------------------------------------------------


def test_a_line_credited_to_another_locations_stylist_is_refused(salon, reception, far_stylist):
    before = _sales()
    with pytest.raises(ValidationError) as exc:
        _sell(salon, reception, staff=far_stylist, paid="680.00")
    assert exc.value.message_dict == {
        "lines": ["Stylist.Xuhui does not work at 静安店; credit the line to someone who does."]
    }
    assert _sales() == before


def test_api_refuses_another_locations_stylist(api_as, salon, reception, far_stylist, arrived):
    before = _sales()
    response = api_as(reception).post(
        "/api/v1/visits/",
        {
            "location": salon.location.pk,
            "customer": salon.customer.pk,
            "appointment": arrived.pk,
            "lines": [{"kind": "service", "service": salon.colour.pk, "staff": far_stylist.pk}],
            "payments": [{"method": "cash", "amount": "680.00"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["lines"] == [
        "Stylist.Xuhui does not work at 静安店; credit the line to someone who does."
    ]
    assert _sales() == before


# ---- (c) far below the catalogue -------------------------------------------------------------------


def test_the_quote_says_when_a_price_is_an_override(salon):
    def quote(unit, line_discount="0", discount="0"):
        line = CheckoutLine(
            kind="service",
            service=salon.colour,
            staff=salon.stylist,
            unit_price=Decimal(unit),
            discount=Decimal(line_discount),
        )
        return checkout_quote(lines=[line], discount=Decimal(discount))

    assert quote("680.00").needs_override is False
    assert quote("612.00").needs_override is False  # 10 % off: an everyday discount
    assert quote("544.00").needs_override is False  # exactly 20 % off
    assert quote("543.99").needs_override is True
    assert quote("680.00", line_discount="300.00").needs_override is True
    assert quote("680.00", discount="200.00").needs_override is True  # the sale as a whole
    # 12 % off the line, then 60 off the visit: 540 for 680 of catalogue is 20.6 % below.
    assert quote("600.00", discount="60.00").needs_override is True
    assert quote("600.00", discount="56.00").needs_override is False  # 544: exactly 20 %
    assert quote("680.00").lines[0].list_price == Decimal("680.00")


def test_reception_cannot_sell_far_below_the_catalogue_without_a_reason(salon, reception):
    before = _sales()
    with pytest.raises(ValidationError) as exc:
        _sell(salon, reception, unit_price="1.00", paid="1.00")
    assert exc.value.message_dict == {
        "price_reason": ["A price more than 20% below the catalogue needs a reason, or a manager."]
    }
    with pytest.raises(ValidationError):
        _sell(salon, reception, discount="600.00", paid="80.00")
    with pytest.raises(ValidationError):
        _sell(salon, reception, line_discount="500.00", paid="180.00")
    assert _sales() == before


def test_reception_with_a_reason_is_recorded(salon, reception):
    visit = _sell(
        salon, reception, unit_price="340.00", paid="340.00", reason="  half price: redo of last week  "
    )
    visit.refresh_from_db()
    line = visit.lines.get()
    assert (visit.total, visit.price_override_reason, visit.price_override_by) == (
        Decimal("340.00"),
        "half price: redo of last week",
        reception.user,
    )
    assert (line.unit_price, line.list_price) == (Decimal("340.00"), Decimal("680.00"))


def test_a_manager_may_override_without_a_reason_and_it_is_recorded(salon, manager):
    visit = _sell(salon, manager, unit_price="100.00", paid="100.00")
    visit.refresh_from_db()
    assert (visit.price_override_reason, visit.price_override_by) == ("", manager.user)


def test_an_ordinary_sale_records_no_override(salon, reception):
    visit = _sell(salon, reception, line_discount="68.00", paid="612.00", reason="ignored")
    visit.refresh_from_db()
    assert (visit.price_override_reason, visit.price_override_by) == ("", None)


def test_a_retail_product_far_below_its_price_needs_a_reason(salon, reception):
    oil = ProductFactory(name="Hair oil", price=Decimal("120.00"))
    before = _sales()
    with pytest.raises(ValidationError) as exc:
        visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            lines=[CheckoutLine(kind="product", product=oil, quantity=3, unit_price=Decimal("10.00"))],
            payments=[PaymentIn("cash", Decimal("30.00"))],
        )
    assert list(exc.value.message_dict) == ["price_reason"]
    assert _sales() == before


# ---- (d) nothing to pay ----------------------------------------------------------------------------


def test_nothing_to_pay_needs_a_reason(salon, reception):
    before = _sales()
    with pytest.raises(ValidationError) as exc:
        _sell(salon, reception, unit_price="0")
    assert exc.value.message_dict == {
        "price_reason": [
            "There is nothing to pay: give a reason (e.g. complimentary, redo), or ask a manager."
        ]
    }
    assert _sales() == before
    visit = _sell(salon, reception, unit_price="0", reason="complimentary: birthday")
    visit.refresh_from_db()
    assert (visit.total, visit.payments.count(), visit.price_override_reason) == (
        Decimal("0.00"),
        0,
        "complimentary: birthday",
    )


def test_nothing_to_pay_even_at_a_free_catalogue_price(salon, reception):
    salon.cut.price = Decimal("0")
    salon.cut.save(update_fields=["price"])
    before = _sales()
    with pytest.raises(ValidationError) as exc:
        visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
            payments=[],
        )
    assert list(exc.value.message_dict) == ["price_reason"]
    assert _sales() == before


def test_api_price_reason(api_as, salon, reception, arrived):
    payload = {
        "location": salon.location.pk,
        "customer": salon.customer.pk,
        "appointment": arrived.pk,
        "lines": [
            {"kind": "service", "service": salon.colour.pk, "staff": salon.stylist.pk, "unit_price": "0"}
        ],
        "payments": [],
    }
    client = api_as(reception)
    before = _sales()
    response = client.post("/api/v1/visits/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["price_reason"]
    assert _sales() == before
    response = client.post("/api/v1/visits/", {**payload, "price_reason": "complimentary"}, format="json")
    assert response.status_code == 201
    assert Visit.objects.get().price_override_reason == "complimentary"


# ---- the checkout page --------------------------------------------------------------------------


def _page_data(salon, *, unit_price, paid, reason=None, recalc=False):
    data = {
        "discount": "0",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-service": salon.colour.pk,
        "lines-0-staff": salon.stylist.pk,
        "lines-0-quantity": "1",
        "lines-0-unit_price": unit_price,
        "lines-0-discount": "0",
        "pay-TOTAL_FORMS": "1",
        "pay-INITIAL_FORMS": "0",
        "pay-0-method": "cash" if paid else "",
        "pay-0-amount": paid,
    }
    if reason is not None:
        data["price_reason"] = reason
    if recalc:
        data["recalc"] = "1"
    return data


def test_checkout_page_shows_the_reason_field_when_needed(client_as, salon, reception, arrived):
    client = client_as(reception)
    url = reverse("appointments:checkout", args=[arrived.pk])
    assert 'name="price_reason"' not in client.get(url).content.decode()
    totals = client.post(
        url, _page_data(salon, unit_price="680.00", paid="680.00", recalc=True)
    ).content.decode()
    assert 'name="price_reason"' not in totals
    totals = client.post(
        url, _page_data(salon, unit_price="100.00", paid="100.00", recalc=True)
    ).content.decode()
    assert 'name="price_reason"' in totals


def test_checkout_page_refuses_without_a_reason_then_accepts_one(client_as, salon, reception, arrived):
    client = client_as(reception)
    url = reverse("appointments:checkout", args=[arrived.pk])
    before = _sales()
    response = client.post(url, _page_data(salon, unit_price="100.00", paid="100.00"))
    assert response.status_code == 200
    assert response.context["form"].errors["price_reason"] == [
        "A price more than 20% below the catalogue needs a reason, or a manager."
    ]
    assert 'name="price_reason"' in response.content.decode()
    assert _sales() == before
    response = client.post(url, _page_data(salon, unit_price="100.00", paid="100.00", reason="loyal client"))
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.total, visit.price_override_reason, visit.price_override_by) == (
        Decimal("100.00"),
        "loyal client",
        reception.user,
    )
    arrived.refresh_from_db()
    assert arrived.status == AppointmentStatus.COMPLETED
