"""Property-based: after any sequence of earns, redemptions, top-ups, spends, refunds, voids,
adjustments and expiries, every balance is the sum of its ledger and none is negative; and the
rounding rules create or lose no cent over 10,000 random operations. Packages (sessions) and gift
cards (balances) are in the sequences too."""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appointments.services import visit_void
from loyalty import cards, services
from loyalty.models import GiftCard, LoyaltyAccount, PackagePlan, StoredValueEntry, TopUpRule
from tests.loyalty.conftest import assert_ledgers_hold, gift_card_line, package_line, topup

pytestmark = pytest.mark.django_db

OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "earn",
                "redeem",
                "topup",
                "spend",
                "refund",
                "void",
                "adjust",
                "expire",
                "package",
                "session",
                "gift",
                "giftpay",
            ]
        ),
        st.integers(min_value=1, max_value=1500),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_any_sequence_keeps_every_balance_the_sum_of_its_ledger(
    ops, salon, sell, manager, monkeypatch, on_the_day
):
    with transaction.atomic():  # each example starts from the same empty ledgers
        TopUpRule.objects.create(pay_at_least=Decimal("300"), bonus=Decimal("33.33"))
        plan = PackagePlan.objects.create(
            name="Cut ×3", sessions=3, price=Decimal("500.00"), validity_days=30
        )
        plan.services.set([salon.cut])
        visits = []
        clock = [on_the_day]
        monkeypatch.setattr(timezone, "now", lambda: clock[0])
        for op, n in ops:
            amount = Decimal(n) / 10  # 0.10 … 150.00
            try:
                with transaction.atomic():
                    if op == "earn":
                        visits.append(sell(pay=[("cash", "200.00")]))
                    elif op == "redeem":
                        paid = min(amount, Decimal("200.00"))
                        rest = Decimal("200.00") - paid
                        visits.append(
                            sell(pay=[("points", str(paid))] + ([("cash", str(rest))] if rest else []))
                        )
                    elif op == "topup":
                        visits.append(sell(lines=[topup(str(amount * 4))], pay=[("cash", str(amount * 4))]))
                    elif op == "spend":
                        paid = min(amount, Decimal("200.00"))
                        rest = Decimal("200.00") - paid
                        visits.append(
                            sell(pay=[("stored_value", str(paid))] + ([("cash", str(rest))] if rest else []))
                        )
                    elif op == "refund":
                        services.stored_value_refund(
                            customer=salon.customer, amount=amount, reason="r", method="cash", by=manager.user
                        )
                    elif op == "void" and visits:
                        visit_void(visit=visits[n % len(visits)], by=manager.user, reason="v")
                    elif op == "adjust":
                        services.points_adjust(
                            customer=salon.customer, points=n - 750, reason="a", by=manager.user
                        )
                    elif op == "expire":
                        clock[0] = clock[0] + timedelta(days=n)
                        services.points_expire(today=timezone.localdate(clock[0]))
                        cards.packages_expire(today=timezone.localdate(clock[0]))
                    elif op == "package":
                        visits.append(sell(lines=[package_line(plan)], pay=[("cash", "500.00")]))
                    elif op == "session":
                        visits.append(sell(pay=[("package", "200.00")]))
                    elif op == "gift":
                        visits.append(sell(lines=[gift_card_line(str(amount))], pay=[("cash", str(amount))]))
                    elif op == "giftpay":
                        card = GiftCard.objects.order_by("-balance").first()
                        if card is not None:
                            paid = min(amount, Decimal("200.00"))
                            rest = Decimal("200.00") - paid
                            visits.append(
                                sell(
                                    pay=[("gift_card", str(paid), card.code)]
                                    + ([("cash", str(rest))] if rest else [])
                                )
                            )
            except ValidationError:
                pass  # refused (not enough balance, spent, …): nothing written
            except Exception as exc:  # a Conflict (voiding twice) is a refusal too
                if type(exc).__name__ != "Conflict":
                    raise
            assert_ledgers_hold(salon.customer)
        transaction.set_rollback(True)


@dataclass
class Card:
    principal: Decimal = Decimal("0")
    bonus: Decimal = Decimal("0")


def test_10000_random_operations_create_or_lose_no_cent():
    """The rounding of the spend split and the refund forfeit, on the arithmetic alone: money
    in = money out + money left, to the cent, for principal and bonus separately."""
    rng = random.Random(20261203)
    card = LoyaltyAccount(principal=Decimal("0"), bonus=Decimal("0"))
    paid_in = bonus_given = spent_p = spent_b = refunded = forfeited = Decimal("0")
    for _ in range(10_000):
        op = rng.choice(["topup", "spend", "spend", "spend", "refund"])
        amount = Decimal(rng.randint(1, 200_000)) / 100
        if op == "topup":
            bonus = (amount * Decimal(rng.choice([0, 3, 7, 10])) / 100).quantize(Decimal("0.01"))
            card.principal += amount
            card.bonus += bonus
            paid_in += amount
            bonus_given += bonus
        elif op == "spend":
            try:
                p, b = services.spend_split(card, amount)
            except ValidationError:
                continue
            assert p >= 0 and b >= 0 and p + b == amount
            assert p.as_tuple().exponent >= -2 and b.as_tuple().exponent >= -2
            card.principal -= p
            card.bonus -= b
            spent_p += p
            spent_b += b
        elif card.principal > 0:
            amount = min(amount, card.principal)
            lost = services.refund_forfeit(card, amount)
            assert 0 <= lost <= card.bonus
            card.principal -= amount
            card.bonus -= lost
            refunded += amount
            forfeited += lost
        assert card.principal >= 0 and card.bonus >= 0
    assert paid_in == spent_p + refunded + card.principal
    assert bonus_given == spent_b + forfeited + card.bonus
    assert StoredValueEntry.objects.count() == 0  # arithmetic only
