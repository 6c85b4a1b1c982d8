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


def test_checkout_via_api_with_split_payment_and_points_query_count(
    salon,
    reception,
    manager,
    booked,
    api_as,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    from loyalty.models import LoyaltyAccount, StoredValueEntry
    from loyalty.services import ledger_check
    from messaging.models import OutboundMessage

    # given: the client holds ¥500 of stored value (a top-up sold at the desk)
    with django_capture_on_commit_callbacks(execute=True):
        visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=manager.user,
            lines=[CheckoutLine(kind="topup", unit_price=Decimal("500.00"))],
            payments=[PaymentIn("cash", Decimal("500.00"))],
        )
    body = {
        "location": salon.location.pk,
        "customer": salon.customer.pk,
        "appointment": booked.pk,
        "payments": [{"method": "stored_value", "amount": "50.00"}, {"method": "card", "amount": "830.00"}],
    }
    # when: ¥880 paid ¥50 from stored value and ¥830 by card. 24 queries up to the commit: the
    # location and the client (input), the location check, the appointment; in the transaction
    # (SAVEPOINT … RELEASE here, inside the test's): the location check, the appointment locked,
    # its visit (none), its items, the client's tier (the price rule), the stylists at the
    # location, the visit, its lines (one INSERT), its payments (one INSERT), the account locked
    # (once for the whole sale), the stored-value row and balance, the earn key (none), the
    # settings, the points row and balance, the tiers, the appointment completed. The answer is
    # the visit as saved: nothing read again. (A token request adds the token, the user's and
    # their groups' permissions and the staff member.)
    with django_capture_on_commit_callbacks() as reactions, django_assert_max_num_queries(24):
        response = api_as(reception).post("/api/v1/visits/", body, format="json")
    assert response.status_code == 201
    # after the commit, each reaction once, in its own transaction (SAVEPOINTs here): the
    # balance notice (its key, template, row: the balance comes from the locked account); the
    # thank-you (the visit, its lines, the key, the template, the row); the survey (the visit,
    # its lines with their services and stylists, the survey, its row, the message's key,
    # template and row, the survey's link to it); the follow-up calls (none for these services);
    # the day for the roll-ups (the visit, the dirty day: already marked by the top-up). The
    # outbox's dispatch pass that the notice asks for is a task (sent after the commit).
    with django_assert_max_num_queries(32):
        for reaction in reactions:
            reaction()
    # then
    visit = Visit.objects.get(appointment=booked)
    assert response.json()["id"] == visit.pk
    assert [(p["method"], p["amount"]) for p in response.json()["payments"]] == [
        ("stored_value", "50.00"),
        ("card", "830.00"),
    ]
    account = LoyaltyAccount.objects.get(customer=salon.customer)
    assert (account.principal + account.bonus, account.points) == (Decimal("450.00"), 880)
    assert ledger_check(account).ok
    spent = StoredValueEntry.objects.get(visit=visit)
    assert (spent.principal + spent.bonus, spent.key) == (
        Decimal("-50.00"),
        f"spend:payment:{spent.payment_id}",
    )
    # the top-up's thank-you, then this visit's notice (the balance right after it), thank-you
    # and survey
    messages = OutboundMessage.objects.filter(customer=salon.customer).order_by("pk")
    assert [m.kind for m in messages] == [
        "visit_thank_you",
        "stored_value_notice",
        "visit_thank_you",
        "survey",
    ]
    notice = messages[1]
    assert (notice.idempotency_key, notice.context["change"], notice.context["balance"]) == (
        f"sv-notice:{spent.pk}",
        "¥50.00",
        "¥450.00",
    )
    assert [m.idempotency_key for m in messages[2:]] == [
        f"visit:{visit.pk}:visit_thank_you",
        f"visit:{visit.pk}:survey",
    ]
