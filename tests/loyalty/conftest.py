"""Loyalty fixtures: the salon of the booking tests, sales at its desk, and ledger helpers."""

from decimal import Decimal

import pytest

from appointments.line_kinds import CheckoutLine
from appointments.services import PaymentIn, visit_checkout
from loyalty.models import LoyaltyAccount, LoyaltySettings, TopUpRule
from loyalty.services import ledger_check
from tests.appointments import fixtures_core

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day


@pytest.fixture
def sell(salon, reception, on_the_day):
    """sell(lines=[...] or service=…, pay=[("cash", "200"), ("coupon", "50", "CP-…")],
    customer=…) -> Visit (a walk-in sale at the desk, by reception; a third item of a payment is
    its reference)."""

    def run(*, pay, service=None, lines=None, customer=None, by=None, discount="0"):
        if lines is None:
            service = service or salon.cut
            lines = [CheckoutLine(kind="service", service=service, staff=salon.stylist)]
        return visit_checkout(
            location=salon.location,
            customer=customer or salon.customer,
            by=(by or reception).user,
            lines=lines,
            discount=Decimal(discount),
            payments=[PaymentIn(p[0], Decimal(p[1]), *p[2:]) for p in pay],
        )

    return run


def topup(amount: str) -> CheckoutLine:
    return CheckoutLine(kind="topup", unit_price=Decimal(amount))


@pytest.fixture
def rules(db):
    TopUpRule.objects.create(pay_at_least=Decimal("500"), bonus=Decimal("30"))
    TopUpRule.objects.create(pay_at_least=Decimal("1000"), bonus=Decimal("100"))
    return LoyaltySettings.current()


def account(customer) -> LoyaltyAccount:
    return LoyaltyAccount.objects.get(customer=customer)


def assert_ledgers_hold(*customers) -> None:
    """Every balance is the sum of its ledger and none is negative: the clients' points and
    stored value, and every package's sessions and gift card's balance."""
    from django.db.models import Sum

    from loyalty.models import CustomerPackage, GiftCard

    for customer in customers:
        acc = LoyaltyAccount.objects.filter(customer=customer).first()
        if acc is not None:
            check = ledger_check(acc)
            assert check.ok, check
    for package in CustomerPackage.objects.all():
        assert package.sessions_left == (package.entries.aggregate(s=Sum("sessions"))["s"] or 0), package
        assert 0 <= package.sessions_left <= package.sessions_total
    for card in GiftCard.objects.all():
        assert card.balance == (card.entries.aggregate(s=Sum("amount"))["s"] or 0), card
        assert 0 <= card.balance <= card.initial


@pytest.fixture
def plan(salon):
    from loyalty.models import PackagePlan

    p = PackagePlan.objects.create(name="Colour ×5", sessions=5, price=Decimal("2000.00"), validity_days=180)
    p.services.set([salon.colour])
    return p


def package_line(plan) -> CheckoutLine:
    return CheckoutLine(kind="package", ref=str(plan.pk))


def gift_card_line(amount: str) -> CheckoutLine:
    return CheckoutLine(kind="gift_card", unit_price=Decimal(amount))
