"""The demo salon's loyalty data: tiers, rules and plans, balances that agree with the clients'
history and ledgers, written through the real services; a second seeding adds nothing."""

from decimal import ROUND_DOWN, Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from accounts.demo import seed_all
from appointments.demo import MARKER
from appointments.models import Visit
from loyalty import tiers
from loyalty.models import (
    Coupon,
    CustomerPackage,
    GiftCard,
    GiftCardEntry,
    LoyaltyAccount,
    MembershipTier,
    PackageEntry,
    PackagePlan,
    PointsEntry,
    StoredValueEntry,
    TierChange,
    TopUpRule,
)
from loyalty.services import ledger_check

pytestmark = pytest.mark.django_db


def _seed():
    seed_all(password="pw-demo-123", log=lambda m: None)


def _counts() -> dict:
    models = [
        LoyaltyAccount,
        PointsEntry,
        StoredValueEntry,
        CustomerPackage,
        PackageEntry,
        GiftCard,
        GiftCardEntry,
        Coupon,
        TierChange,
        MembershipTier,
        TopUpRule,
        PackagePlan,
        Visit,
    ]
    counts = {m.__name__: m.objects.count() for m in models}
    counts["balances"] = sorted(
        LoyaltyAccount.objects.values_list("customer_id", "points", "principal", "bonus", "tier_id")
    )
    return counts


def test_demo_loyalty_is_consistent_with_history_and_idempotent():
    _seed()
    first = _counts()

    # the programme
    assert list(MembershipTier.objects.values_list("rank", "min_spend", "discount_percent")) == [
        (1, Decimal("1000"), Decimal("0")),
        (2, Decimal("3000"), Decimal("5")),
        (3, Decimal("8000"), Decimal("10")),
    ]
    assert list(TopUpRule.objects.values_list("pay_at_least", "bonus")) == [
        (Decimal("1000"), Decimal("100")),
        (Decimal("3000"), Decimal("400")),
    ]
    assert PackagePlan.objects.count() == 2
    assert all(plan.services.exists() for plan in PackagePlan.objects.all())

    # every balance is the sum of its ledger, and the audit agrees
    accounts = list(LoyaltyAccount.objects.all())
    assert len(accounts) >= 150
    for account in accounts:
        check = ledger_check(account)
        assert check.ok, check
    call_command("loyalty_audit", stdout=open("/dev/null", "w"))  # noqa: SIM115 - raises on a mismatch

    # every completed demo visit earned once, on what it paid; a client who bought nothing at the
    # desk since has exactly the points of their visits
    demo_visits = Visit.objects.filter(external_id__startswith=MARKER, status=Visit.Status.COMPLETED)
    assert PointsEntry.objects.filter(key__startswith="earn:visit:", visit__in=demo_visits).count() == (
        demo_visits.filter(total__gt=0).count()
    )
    desk_clients = set(
        Visit.objects.exclude(external_id__startswith=MARKER).values_list("customer_id", flat=True)
    )
    expected: dict[int, int] = {}
    for customer_id, total in demo_visits.values_list("customer_id", "total"):
        expected[customer_id] = expected.get(customer_id, 0) + int(
            total.to_integral_value(rounding=ROUND_DOWN)
        )
    checked = 0
    for account in accounts:
        if account.customer_id not in desk_clients:
            assert account.points == expected.get(account.customer_id, 0), account
            checked += 1
    assert checked >= 100
    # tiers follow the last 12 months: a review now changes nothing
    assert tiers.tiers_review() == {"up": 0, "down": 0}
    assert LoyaltyAccount.objects.filter(tier__isnull=False).count() >= 50

    # the desk's sales: stored value, packages with sessions used, gift cards, coupons
    topped_up = LoyaltyAccount.objects.filter(principal__gt=0)
    assert topped_up.count() == 8
    assert StoredValueEntry.objects.filter(kind="spend").exists()
    assert all(a.bonus > 0 for a in topped_up)
    packages = CustomerPackage.objects.all()
    assert packages.count() == 4
    assert all(p.sessions_left < p.sessions_total for p in packages)
    for package in packages:
        assert package.sessions_left == package.entries.aggregate(s=Sum("sessions"))["s"]
    assert GiftCard.objects.count() == 2
    for card in GiftCard.objects.all():
        assert card.balance == card.entries.aggregate(s=Sum("amount"))["s"]
    assert GiftCard.objects.filter(balance__lt=Decimal("1000"), initial=Decimal("1000")).exists()
    assert Coupon.objects.exclude(kind="complaint").count() == 4  # feedback's demo gives one more
    assert Coupon.objects.filter(status="used").count() == 1

    _seed()
    assert _counts() == first
