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
    """sell(lines=[...] or service=…, pay=[("cash", "200")], customer=…) -> Visit (a walk-in sale
    at the desk, by reception)."""

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
            payments=[PaymentIn(method, Decimal(amount)) for method, amount in pay],
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
    for customer in customers:
        acc = LoyaltyAccount.objects.filter(customer=customer).first()
        if acc is not None:
            check = ledger_check(acc)
            assert check.ok, check
