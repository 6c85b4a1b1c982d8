"""50 concurrent redemptions of points on one account, each a checkout on its own database
connection: the account lock lets them through one at a time, the balance never goes below
zero and is always the sum of its ledger."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from appointments.line_kinds import CheckoutLine
from appointments.services import PaymentIn, visit_checkout
from loyalty import services
from loyalty.models import LoyaltySettings, PointsEntry
from tests.loyalty.conftest import account, assert_ledgers_hold

THREADS = 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_redemptions_never_overdraw(salon, reception, manager, on_the_day):
    # given: 1000 points and no earning (so the race is only about spending)
    LoyaltySettings.objects.update_or_create(pk=1, defaults={"points_per_unit": Decimal("0")})
    services.points_adjust(customer=salon.customer, points=1000, reason="race", by=manager.user)
    gate = threading.Barrier(THREADS)

    def redeem(_n: int) -> str:
        try:
            gate.wait(timeout=30)
            visit_checkout(
                location=salon.location,
                customer=salon.customer,
                by=reception.user,
                lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
                payments=[PaymentIn("points", Decimal("0.30")), PaymentIn("cash", Decimal("199.70"))],
            )
            return "ok"
        except ValidationError:
            return "refused"
        finally:
            connection.close()

    # when: 50 sales each pay 30 points at once
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(redeem, range(THREADS)))
    connections.close_all()

    # then: 33 × 30 = 990 fit in 1000; the other 17 are refused, none lost or doubled
    assert results.count("ok") == 33
    assert results.count("refused") == 17
    assert account(salon.customer).points == 10
    assert PointsEntry.objects.filter(kind="redeem").count() == 33
    assert_ledgers_hold(salon.customer)
