"""No-show protection: deposit policies, a deposit taken at the desk and held, applied at
checkout, refunded on an early cancel, kept on a no-show or a late cancel unless a manager
waives it; fees for bookings that held none, offered at the next checkout."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments.services import (
    BookingItem,
    PaymentIn,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_no_show,
    visit_checkout,
    visit_void,
)
from loyalty import deposits
from loyalty.models import Deposit, DepositEntry, DepositPolicy, FeeCharge, LoyaltySettings
from tests.appointments.fixtures_core import DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def policies(salon):
    DepositPolicy.objects.create(name="Colour", service=salon.colour, kind="fixed", amount=Decimal("100"))
    DepositPolicy.objects.create(
        name="Long services 30%", kind="percent", amount=Decimal("30"), min_minutes=150
    )
    return salon


def _book(salon, reception, service, day=DAY, hour=10):
    return appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=service, staff=salon.stylist, start=salon.at(hour, day=day))],
        source="front_desk",
        booked_by=reception.user,
    )


def test_the_largest_policy_that_applies_is_asked_for(salon, reception, policies, on_the_day):
    cut = _book(salon, reception, salon.cut)
    assert deposits.deposit_required(cut) == (Decimal("0"), None)
    colour = _book(salon, reception, salon.colour, hour=14)
    amount, policy = deposits.deposit_required(colour)
    assert (amount, policy.name) == (Decimal("100"), "Colour")
    DepositPolicy.objects.filter(name="Long services 30%").update(min_minutes=60)
    assert deposits.deposit_required(colour)[0] == Decimal("204.00")  # 30% of 680
    DepositPolicy.objects.create(
        name="New clients", kind="fixed", amount=Decimal("300"), new_clients_only=True
    )
    assert deposits.deposit_required(colour)[0] == Decimal("300")


def test_a_deposit_is_held_then_applied_at_checkout_and_a_void_holds_it_again(
    salon, reception, manager, policies, on_the_day
):
    booked = _book(salon, reception, salon.colour)
    with pytest.raises(ValidationError):
        deposits.deposit_take(appointment=booked, method="bitcoin", by=reception.user)
    deposit = deposits.deposit_take(appointment=booked, method="wechat_pay", by=reception.user)
    assert (deposit.amount, deposit.held, deposit.status) == (Decimal("100.00"), Decimal("100.00"), "held")
    with pytest.raises(ValidationError, match="already has a deposit"):
        deposits.deposit_take(appointment=booked, method="cash", by=reception.user)
    appointment_check_in(appointment=booked, by=reception.user)
    with pytest.raises(ValidationError, match="whole deposit"):
        visit_checkout(
            location=salon.location, customer=salon.customer, by=reception.user, appointment=booked,
            payments=[PaymentIn("deposit", Decimal("50")), PaymentIn("cash", Decimal("630"))],
        )  # fmt: skip
    visit = visit_checkout(
        location=salon.location, customer=salon.customer, by=reception.user, appointment=booked,
        payments=[PaymentIn("deposit", Decimal("100")), PaymentIn("cash", Decimal("580"))],
    )  # fmt: skip
    deposit.refresh_from_db()
    assert (deposit.status, deposit.held) == ("applied", Decimal("0.00"))
    visit_void(visit=visit, by=manager.user, reason="wrong")
    deposit.refresh_from_db()
    assert (deposit.status, deposit.held) == ("held", Decimal("100.00"))
    assert [e.kind for e in DepositEntry.objects.order_by("pk")] == ["taken", "applied", "unapplied"]
    assert sum(e.amount for e in deposit.entries.all()) == deposit.held


def test_an_early_cancel_refunds_a_late_one_keeps_it_and_a_manager_may_waive(
    salon, reception, manager, policies, on_the_day, django_capture_on_commit_callbacks
):
    early = _book(salon, reception, salon.colour, day=DAY + timedelta(days=5))
    late = _book(salon, reception, salon.colour, hour=15)  # today, within the cut-off
    for appt in (early, late):
        deposits.deposit_take(appointment=appt, method="cash", by=reception.user)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=early, by=reception.user, reason="travel")
        appointment_cancel(appointment=late, by=reception.user, reason="sick")
    refunded, kept = Deposit.objects.get(appointment=early), Deposit.objects.get(appointment=late)
    assert (refunded.status, refunded.held) == ("refunded", Decimal("0.00"))
    assert (kept.status, kept.held) == ("forfeited", Decimal("0.00"))
    with pytest.raises(PermissionDenied):
        deposits.deposit_waive(deposit=kept, by=reception.user, reason="x")
    deposits.deposit_waive(deposit=kept, by=manager.user, reason="hospital note")
    kept.refresh_from_db()
    assert (kept.status, kept.reason, kept.closed_by) == ("refunded", "hospital note", manager.user)
    assert not FeeCharge.objects.exists()  # a deposit was held: no fee on top


def test_a_no_show_keeps_the_deposit_and_without_one_leaves_a_fee_for_the_next_checkout(
    salon, reception, manager, policies, on_the_day, django_capture_on_commit_callbacks, monkeypatch
):
    LoyaltySettings.objects.update_or_create(pk=1, defaults={"no_show_fee": Decimal("50")})
    with_deposit = _book(salon, reception, salon.colour)
    without = _book(salon, reception, salon.cut, hour=14)
    deposits.deposit_take(appointment=with_deposit, method="cash", by=reception.user)
    later = salon.at(20).astimezone(timezone.get_current_timezone())
    monkeypatch.setattr(timezone, "now", lambda: later)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_no_show(appointment=with_deposit, by=reception.user)
        appointment_no_show(appointment=without, by=reception.user)
    assert Deposit.objects.get().status == "forfeited"
    fee = FeeCharge.objects.get()
    assert (fee.appointment, fee.kind, fee.amount, fee.status) == (
        without,
        "no_show",
        Decimal("50.00"),
        "open",
    )
    # the next checkout offers it as a line
    from appointments.line_kinds import CheckoutLine

    assert deposits.fee_choices(salon.customer)[0][0] == fee.pk
    visit = visit_checkout(
        location=salon.location, customer=salon.customer, by=reception.user,
        lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist), CheckoutLine(kind="fee", ref=str(fee.pk))],
        payments=[PaymentIn("cash", Decimal("250"))],
    )  # fmt: skip
    fee.refresh_from_db()
    assert fee.status == "paid" and fee.visit_line.visit == visit
    assert deposits.fee_choices(salon.customer) == []
    visit_void(visit=visit, by=manager.user, reason="x")
    fee.refresh_from_db()
    assert fee.status == "open"
    deposits.fee_waive(fee=fee, by=manager.user, reason="first time")
    fee.refresh_from_db()
    assert (fee.status, fee.reason) == ("waived", "first time")


def test_the_appointment_dialog_shows_the_deposit_and_the_desk_takes_it(
    client_as, salon, reception, policies, on_the_day
):
    booked = _book(salon, reception, salon.colour)
    client = client_as(reception)
    html = client.get(reverse("appointments:detail", args=[booked.pk])).content.decode()
    assert 'id="deposit-panel"' in html and "asks for a deposit of 100" in html
    response = client.post(
        reverse("loyalty:deposit_take", args=[booked.pk]), {"amount": "-5", "method": "cash"}
    )
    assert response.status_code == 200 and not Deposit.objects.exists()
    response = client.post(
        reverse("loyalty:deposit_take", args=[booked.pk]), {"amount": "100", "method": "card"}
    )
    assert response.status_code == 204
    html = client.get(reverse("appointments:detail", args=[booked.pk])).content.decode()
    assert 'data-deposit-status="held"' in html
    # the checkout page says what is held
    html = client.get(reverse("appointments:checkout", args=[booked.pk])).content.decode()
    assert "for the booking of" in html
