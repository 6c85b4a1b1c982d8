"""Membership tiers (会员等级): reached by rolling 12-month spend and/or visits (docs/loyalty.md).

- The figures: completed visits (appointments.selectors.visits_counted) that started in the 365
  days up to now; spend is their net total less money put aside (top-ups, gift cards); a visit
  that only put money aside does not count as a visit.
- Upgrade at once: after a checkout (in its transaction) the client moves up to the best tier
  the figures reach. Never down there: a void or time passing lowers a tier only at the nightly
  review (`tiers_review`), which sets every account to the tier its figures reach now.
- Every change is a TierChange row with the figures behind it.
- The tier's discount is a price rule of checkout (appointments.line_kinds.register_price_rule):
  taken off every service and product line and shown as one row; its points multiplier applies
  to what the visit earns (loyalty.services.points_earn_for_visit)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.line_kinds import PriceRule
from appointments.models import VisitLine
from appointments.selectors import visits_counted
from loyalty.models import LoyaltyAccount, MembershipTier, TierChange

ZERO = Decimal("0")
WINDOW = timedelta(days=365)
PUT_ASIDE = ("topup", "gift_card", "tip")  # not purchases: no spend, no visit


def rolling_figures(customer_ids, *, as_of: datetime | None = None) -> dict[int, tuple[Decimal, int]]:
    """{customer id: (spend, visits)} over the 12 months up to `as_of`: two grouped queries."""
    as_of = as_of or timezone.now()
    visits = visits_counted().filter(started_at__gt=as_of - WINDOW, started_at__lte=as_of)
    if customer_ids is not None:
        visits = visits.filter(customer_id__in=list(customer_ids))
    purchase = VisitLine.objects.filter(visit=OuterRef("pk")).exclude(kind__in=PUT_ASIDE)
    rows = (
        visits.values("customer_id")
        .annotate(
            total=Sum("total"),
            n=Count("pk", filter=Q(Exists(purchase))),
        )
        .order_by()
    )
    figures = {r["customer_id"]: [r["total"] or ZERO, r["n"]] for r in rows}
    aside = (
        VisitLine.objects.filter(visit__in=visits.values("pk"), kind__in=PUT_ASIDE)
        .values("visit__customer_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    for r in aside:
        figures[r["visit__customer_id"]][0] -= r["s"] or ZERO
    return {pk: (max(spend, ZERO), n) for pk, (spend, n) in figures.items()}


def active_tiers() -> list[MembershipTier]:
    return list(MembershipTier.objects.filter(active=True).order_by("rank"))


def best_tier(spend: Decimal, visits: int, tiers: list[MembershipTier]) -> MembershipTier | None:
    reached = [t for t in tiers if t.qualifies(spend, visits)]
    return reached[-1] if reached else None


@dataclass(frozen=True)
class Progress:
    tier: MembershipTier | None
    spend: Decimal
    visits: int
    next_tier: MembershipTier | None
    spend_needed: Decimal  # 0 when the spend threshold is reached (or there is none)
    visits_needed: int


def progress(customer) -> Progress:
    """The client's tier, figures and what the next tier up still needs (the card, the API)."""
    account = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    spend, visits = rolling_figures([customer.pk]).get(customer.pk, (ZERO, 0))
    tier = account.tier if account else None
    higher = [t for t in active_tiers() if tier is None or t.rank > tier.rank]
    nxt = higher[0] if higher else None
    return Progress(
        tier=tier,
        spend=spend,
        visits=visits,
        next_tier=nxt,
        spend_needed=max((nxt.min_spend - spend) if nxt else ZERO, ZERO),
        visits_needed=max((nxt.min_visits - visits) if nxt else 0, 0),
    )


def _change(
    account: LoyaltyAccount, to: MembershipTier | None, *, reason: str, spend, visits, visit=None
) -> None:
    TierChange.objects.create(
        account=account,
        from_tier=account.tier,
        to_tier=to,
        reason=reason,
        spend=spend,
        visits=visits,
        visit=visit,
        at=timezone.now(),
    )
    account.tier = to
    account.tier_since = timezone.now()
    LoyaltyAccount.objects.filter(pk=account.pk).update(tier=to, tier_since=account.tier_since)


def upgrade_after_visit(visit) -> None:
    """Inside the checkout: up to the best tier the figures now reach, never down."""
    from loyalty.services import sale_account

    tiers = active_tiers()
    if not tiers:
        return
    spend, visits = rolling_figures([visit.customer_id]).get(visit.customer_id, (ZERO, 0))
    target = best_tier(spend, visits, tiers)
    if target is None:
        return
    account = sale_account(visit)
    current_rank = account.tier.rank if account.tier_id else -1
    if target.rank > current_rank:
        _change(account, target, reason=TierChange.Reason.UPGRADE, spend=spend, visits=visits, visit=visit)


def tiers_review(*, as_of: datetime | None = None) -> dict[str, int]:
    """Nightly: every client with a tier or with visits in the last 12 months gets the tier its
    figures reach now (down as well as up). Returns {"up": n, "down": n}."""
    as_of = as_of or timezone.now()
    tiers = active_tiers()
    figures = rolling_figures(None, as_of=as_of)
    with_tier = set(LoyaltyAccount.objects.filter(tier__isnull=False).values_list("customer_id", flat=True))
    counts = {"up": 0, "down": 0}
    for customer_id in sorted(set(figures) | with_tier):
        spend, visits = figures.get(customer_id, (ZERO, 0))
        target = best_tier(spend, visits, tiers)
        with transaction.atomic():
            LoyaltyAccount.objects.get_or_create(customer_id=customer_id) if target else None
            account = LoyaltyAccount.objects.select_for_update().filter(customer_id=customer_id).first()
            if account is None:
                continue
            current = account.tier
            if (current.pk if current else None) == (target.pk if target else None):
                continue
            going_up = (target.rank if target else -1) > (current.rank if current else -1)
            reason = TierChange.Reason.REVIEW_UP if going_up else TierChange.Reason.DOWNGRADE
            _change(account, target, reason=reason, spend=spend, visits=visits)
            counts["up" if going_up else "down"] += 1
    return counts


def tier_price_rule(customer) -> PriceRule | None:
    """The member discount of the client's tier (a price rule of checkout)."""
    account = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    tier = account.tier if account else None
    if tier is None or not tier.active or not tier.discount_percent:
        return None
    pct = format(tier.discount_percent, "f").rstrip("0").rstrip(".")  # 10.00 → "10", 7.50 → "7.5"
    return PriceRule(
        label=_("%(tier)s member %(pct)s%%") % {"tier": tier.name, "pct": pct}, percent=tier.discount_percent
    )
