from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments import events, payments
from appointments.models import Payment, Visit, VisitLine
from appointments.selectors import next_visit_suggestion, receipt_data, visit_get
from appointments.services import (
    BookingItem,
    CheckoutLine,
    PaymentIn,
    appointment_book,
    visit_checkout,
    visit_void,
)
from salon_crm.errors import Conflict
from tests.appointments import fixtures_core
from tests.appointments.factories import ProductFactory

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day  # checkout happens on the appointment's day
pytestmark = pytest.mark.django_db


def checkout(salon, booked, by, method: str, amount: str):
    """Check out the booked appointment with its own lines and one payment."""
    return visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=by.user,
        appointment=booked,
        payments=[PaymentIn(method, Decimal(amount))],
    )


@pytest.fixture
def booked(salon, reception, on_the_day):
    return appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10)),
            BookingItem(service=salon.cut, staff=salon.other_stylist, start=salon.at(12, 15)),
        ],
        source="front_desk",
        booked_by=reception.user,
    )


def test_checkout_with_product_discount_and_split_payment(
    salon, reception, booked, django_capture_on_commit_callbacks
):
    shampoo = ProductFactory(name="Shampoo", price=Decimal("88.00"))
    completed = []
    with (
        events.listening("test", completed.append, kinds=[events.VISIT_COMPLETED]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        visit = visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            appointment=booked,
            lines=[
                CheckoutLine(kind="service", service=salon.colour, staff=salon.stylist),
                CheckoutLine(
                    kind="service",
                    service=salon.cut,
                    staff=salon.other_stylist,
                    discount=Decimal("20.00"),
                ),
                CheckoutLine(kind="product", product=shampoo, quantity=2, unit_price=Decimal("79.90")),
            ],
            discount=Decimal("10.10"),
            payments=[PaymentIn("wechat_pay", Decimal("1000.00")), PaymentIn("cash", Decimal("9.70"))],
        )
    # then: 680 + (200 - 20) + 2 × 79.90 = 1019.80; minus 10.10 = 1009.70 = 1000 + 9.70
    assert (visit.subtotal, visit.discount, visit.total) == (
        Decimal("1019.80"),
        Decimal("10.10"),
        Decimal("1009.70"),
    )
    assert visit.status == "completed"
    assert [(line.kind, line.amount) for line in visit.lines.all()] == [
        ("service", Decimal("680.00")),
        ("service", Decimal("180.00")),
        ("product", Decimal("159.80")),
    ]
    booked.refresh_from_db()
    assert booked.status == "completed"
    assert [(e.kind, e.visit_id, e.appointment_id, e.actor_id) for e in completed] == [
        ("visit_completed", visit.pk, booked.pk, reception.user.pk)
    ]


def test_payments_must_sum_to_total(salon, reception, booked):
    with pytest.raises(ValidationError) as exc:
        checkout(salon, booked, reception, "cash", "879.99")
    assert exc.value.message_dict == {"payments": ["Payments (879.99) must add up to the total (880.00)."]}
    assert Visit.objects.count() == 0 and Payment.objects.count() == 0
    booked.refresh_from_db()
    assert booked.status == "booked"


def test_default_lines_from_appointment_and_second_checkout_conflicts(salon, reception, booked):
    visit = checkout(salon, booked, reception, "alipay", "880.00")
    assert [(line.description, line.staff_id) for line in visit.lines.all()] == [
        ("Colour", salon.stylist.pk),
        ("Cut", salon.other_stylist.pk),
    ]
    with pytest.raises(Conflict):
        checkout(salon, booked, reception, "alipay", "880.00")
    assert Visit.objects.count() == 1


def test_unknown_method_and_stylist_cannot_check_out(salon, reception, stylist, booked):
    with pytest.raises(ValidationError):
        checkout(salon, booked, reception, "bitcoin", "880.00")
    with pytest.raises(PermissionDenied):
        checkout(salon, booked, stylist, "cash", "880.00")
    assert Visit.objects.count() == 0


def test_payment_handler_can_refuse_and_roll_back(salon, reception, booked):
    def refuse(visit, payment):
        raise ValidationError({"payments": ["Not enough stored value."]})

    with (
        payments.payment_method_registered("test_stored_value", "Stored value", charge=refuse, refund=refuse),
        pytest.raises(ValidationError),
    ):
        checkout(salon, booked, reception, "test_stored_value", "880.00")
    assert Visit.objects.count() == 0 and VisitLine.objects.count() == 0
    booked.refresh_from_db()
    assert booked.status == "booked"


def test_void_needs_manager_and_reason(salon, reception, manager, booked):
    visit = checkout(salon, booked, reception, "card", "880.00")
    with pytest.raises(PermissionDenied):
        visit_void(visit=visit, by=reception.user, reason="typo")
    with pytest.raises(ValidationError):
        visit_void(visit=visit, by=manager.user, reason="  ")
    assert Visit.objects.get().status == "completed"
    voided = visit_void(visit=visit, by=manager.user, reason="wrong client")
    assert (voided.status, voided.void_reason, voided.voided_by) == ("voided", "wrong client", manager.user)
    with pytest.raises(Conflict):
        visit_void(visit=visit, by=manager.user, reason="again")


def test_next_visit_and_receipt(salon, reception, booked, django_assert_num_queries):
    visit = checkout(salon, booked, reception, "card", "880.00")
    visit = visit_get(pk=visit.pk)
    suggestion = next_visit_suggestion(visit)
    assert (suggestion.date, suggestion.service) == (date(2027, 2, 17), salon.colour)  # 6 Jan + 42 days
    # nothing for the visit's own rows (prefetched); loyalty's rows: gift cards sold and package
    # sessions of this visit, the account, then the points rows of this visit (last, counts,
    # balance) and its stored-value rows (none)
    with django_assert_num_queries(7):
        receipt = receipt_data(visit)
    assert receipt["total"] == Decimal("880.00")
    assert receipt["time_zone"] == "Asia/Shanghai"
    assert [(line["description"], line["amount"]) for line in receipt["lines"]] == [
        ("Colour", Decimal("680.00")),
        ("Cut", Decimal("200.00")),
    ]
    assert receipt["payments"] == [
        {"method": "card", "label": "Bank card", "amount": Decimal("880.00"), "reference": ""}
    ]
    assert receipt["balances"] == [
        {"label": "Points earned", "value": "880"},
        {"label": "Points balance", "value": "880"},
    ]


def test_checkout_and_void_via_api(salon, reception, manager, booked, api_as):
    api = api_as(reception)
    response = api.post(
        "/api/v1/visits/",
        {
            "location": salon.location.pk,
            "customer": salon.customer.pk,
            "appointment": booked.pk,
            "payments": [{"method": "cash", "amount": "880.00"}],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["total"], body["status"], body["next_visit"]) == (
        "880.00",
        "completed",
        {"date": "2027-02-17", "service": salon.colour.pk},
    )
    pk = body["id"]
    assert api.post(f"/api/v1/visits/{pk}/void/", {"reason": "x"}, format="json").status_code == 403
    assert (
        api_as(manager).post(f"/api/v1/visits/{pk}/void/", {"reason": "x"}, format="json").json()["status"]
        == "voided"
    )
    bad = api.post(
        "/api/v1/visits/",
        {
            "location": salon.location.pk,
            "customer": salon.customer.pk,
            "payments": [{"method": "cash", "amount": "abc"}],
        },
        format="json",
    )
    assert bad.status_code == 400
