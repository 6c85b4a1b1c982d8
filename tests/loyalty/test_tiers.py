"""Membership tiers: upgrade at once at checkout, downgrade only at the nightly review, the
tier's discount as a visible line and its points multiplier, the history kept."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments.services import visit_void
from loyalty import tiers
from loyalty.models import MembershipTier, TierChange
from tests.loyalty.conftest import account, topup

pytestmark = pytest.mark.django_db


@pytest.fixture
def ladder(db):
    silver = MembershipTier.objects.create(name="Silver", rank=1, min_spend=Decimal("500"), min_visits=3)
    gold = MembershipTier.objects.create(
        name="Gold",
        rank=2,
        min_spend=Decimal("2000"),
        discount_percent=Decimal("10"),
        points_multiplier=Decimal("2"),
    )
    return silver, gold


def test_upgrade_at_once_at_checkout_with_the_figures_kept(salon, sell, ladder):
    silver, gold = ladder
    sell(pay=[("cash", "200.00")])
    assert account(salon.customer).tier is None
    sell(service=salon.colour, pay=[("cash", "680.00")])  # 880 in 12 months: Silver by spend
    acc = account(salon.customer)
    assert acc.tier == silver
    change = TierChange.objects.get()
    assert (change.from_tier, change.to_tier, change.reason, change.spend, change.visits) == (
        None,
        silver,
        "upgrade",
        Decimal("880.00"),
        2,
    )


def test_a_topup_is_not_spend_and_not_a_visit(salon, sell, ladder, rules):
    sell(lines=[topup("3000.00")], pay=[("cash", "3000.00")])
    assert tiers.rolling_figures([salon.customer.pk]) == {salon.customer.pk: (Decimal("0.00"), 0)}
    assert account(salon.customer).tier is None


def test_gold_gets_its_discount_as_a_visible_line_and_earns_double(salon, sell, ladder, client_as, reception):
    silver, gold = ladder
    for _ in range(3):
        sell(service=salon.colour, pay=[("cash", "680.00")])  # 2,040: Gold
    acc = account(salon.customer)
    assert acc.tier == gold and acc.points == 2040
    visit = sell(service=salon.colour, pay=[("cash", "612.00")])  # 10% off 680
    line = visit.lines.get()
    assert (line.discount, line.amount) == (Decimal("68.00"), Decimal("612.00"))
    assert (visit.rule_discount, visit.rule_label, visit.price_override_by) == (
        Decimal("68.00"),
        "Gold member 10%",
        None,
    )
    assert account(salon.customer).points == 2040 + 1224  # 612 × 2
    from django.urls import reverse

    html = client_as(reception).get(reverse("appointments:receipt", args=[visit.pk])).content.decode()
    assert 'id="receipt-rule-discount"' in html and "Gold member 10%" in html


def test_downgrade_only_at_the_nightly_review(salon, sell, ladder, manager, monkeypatch, on_the_day):
    silver, gold = ladder
    visits = [sell(service=salon.colour, pay=[("cash", "680.00")]) for _ in range(3)]
    assert account(salon.customer).tier == gold
    visit_void(visit=visits[0], by=manager.user, reason="wrong client")
    assert account(salon.customer).tier == gold  # a void does not downgrade at once
    assert tiers.tiers_review() == {"up": 0, "down": 1}
    assert account(salon.customer).tier == silver
    # thirteen months later nothing counts any more
    later = on_the_day + timedelta(days=400)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert tiers.tiers_review() == {"up": 0, "down": 1}
    assert account(salon.customer).tier is None
    assert [c.reason for c in TierChange.objects.order_by("pk")] == [
        "upgrade",
        "upgrade",
        "downgrade",
        "downgrade",
    ]


def test_progress_says_what_the_next_tier_needs(salon, sell, ladder):
    silver, gold = ladder
    sell(service=salon.colour, pay=[("cash", "680.00")])
    p = tiers.progress(salon.customer)
    assert (p.tier, p.next_tier, p.spend_needed, p.visits_needed) == (silver, gold, Decimal("1320.00"), 0)


def test_requires_both_thresholds(salon, sell):
    vip = MembershipTier.objects.create(
        name="VIP", rank=5, min_spend=Decimal("600"), min_visits=2, requires_both=True
    )
    sell(service=salon.colour, pay=[("cash", "680.00")])
    assert account(salon.customer).tier is None
    sell(pay=[("cash", "200.00")])
    assert account(salon.customer).tier == vip


def test_card_and_api_show_the_tier_and_what_the_next_needs(
    salon, sell, ladder, client_as, api_as, reception
):
    from django.urls import reverse

    sell(service=salon.colour, pay=[("cash", "680.00")])
    response = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk]))
    facts = {f.key: (f.value, f.detail) for f in response.context["card"].facts}
    assert facts["tier"] == ("Silver", "¥1,320.00 more to Gold")
    body = api_as(reception).get(f"/api/v1/customers/{salon.customer.pk}/loyalty/").json()
    assert body["tier"]["name"] == "Silver" and body["tier"]["discount_percent"] == "0.00"
    assert body["tier_progress"] == {
        "spend_12m": "680.00",
        "visits_12m": 1,
        "next_tier": "Gold",
        "spend_needed": "1320.00",
        "visits_needed": 0,
    }
