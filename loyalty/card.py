"""What loyalty adds to the client card (customers.card): the member tier (and what the next
one needs), points and stored value in the summary strip, and a panel with the ledger history and the managers' adjust and refund dialogs."""

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from appointments.models import VisitLine
from appointments.selectors import visits_counted
from customers import card
from customers.card import CardAction, CardFact, CardPanel
from loyalty import selectors, tiers
from loyalty.models import (
    Coupon,
    CustomerPackage,
    LoyaltyAccount,
    LoyaltySettings,
    MembershipTier,
    PointsEntry,
    StoredValueEntry,
)
from salon_crm.rows import Obj, build, build_all, local_date, obj, row, rows

HISTORY = 10  # the newest rows of the two ledgers together
ZERO = Decimal("0")
CENT = Decimal("0.01")


def _tier_detail(progress) -> str:
    """ "¥1,320 or 2 visits to Gold" (what the next tier still needs), or "" at the top."""
    nxt = progress.next_tier
    if nxt is None:
        return ""
    needs = []
    if nxt.min_spend and progress.spend_needed:
        needs.append(selectors.money_text(progress.spend_needed))
    if nxt.min_visits and progress.visits_needed:
        needs.append(_("%(n)s visits") % {"n": progress.visits_needed})
    if not needs:
        return ""
    joiner = _(" and ") if nxt.requires_both else _(" or ")
    return _("%(needs)s more to %(tier)s") % {"needs": joiner.join(needs), "tier": nxt.name}


def _user(prefix: str) -> Obj:
    return obj(
        id=f"{prefix}_id",
        username=f"{prefix}__username",
        first_name=f"{prefix}__first_name",
        last_name=f"{prefix}__last_name",
    )


def card_reads(*, user, now: datetime) -> dict:
    """The client's account (+ tier), the 12-month tier figures (tiers.rolling_figures: counted
    visits in (now - 12 months, now], their net total less money put aside, those with a
    purchase), the active tiers, the points rate, the newest ledger rows of both ledgers, active
    packages and open coupons."""
    if not user.has_perm("loyalty.use_loyalty"):
        return {}
    today = local_date(now)
    client = OuterRef("pk")
    window = {"started_at__gt": now - tiers.WINDOW, "started_at__lte": now}
    purchase = VisitLine.objects.filter(visit=OuterRef("pk")).exclude(kind__in=tiers.PUT_ASIDE)
    of_client = visits_counted().filter(customer=OuterRef(OuterRef("pk")), **window)
    return {
        "account": row(
            LoyaltyAccount.objects.filter(customer=client),
            id="pk",
            points="points",
            principal="principal",
            bonus="bonus",
            tier=obj(
                id="tier_id",
                name="tier__name",
                rank="tier__rank",
                min_spend="tier__min_spend",
                min_visits="tier__min_visits",
                requires_both="tier__requires_both",
            ),
        ),
        "figures": row(
            visits_counted()
            .filter(customer=client, **window)
            .values("customer")
            .annotate(total=Sum("total"), n=Count("pk", filter=Q(Exists(purchase)))),
            total="total",
            n="n",
        ),
        "put_aside": row(
            VisitLine.objects.filter(visit__in=of_client.values("pk"), kind__in=tiers.PUT_ASIDE)
            .values("visit__customer")
            .annotate(s=Sum("amount")),
            s="s",
        ),
        "tiers": rows(
            MembershipTier.objects.filter(active=True).order_by("rank"),
            id="pk",
            name="name",
            rank="rank",
            min_spend="min_spend",
            min_visits="min_visits",
            requires_both="requires_both",
        ),
        "rate": row(LoyaltySettings.objects.filter(pk=1), rate="points_per_currency_unit"),
        "points_history": rows(
            PointsEntry.objects.filter(account__customer=client).order_by("-pk")[:HISTORY],
            id="pk",
            created_at="created_at",
            kind="kind",
            points="points",
            reason="reason",
            visit="visit_id",
            created_by=_user("created_by"),
        ),
        "value_history": rows(
            StoredValueEntry.objects.filter(account__customer=client).order_by("-pk")[:HISTORY],
            id="pk",
            created_at="created_at",
            kind="kind",
            principal="principal",
            bonus="bonus",
            reason="reason",
            visit="visit_id",
            created_by=_user("created_by"),
        ),
        "packages": rows(
            selectors.active_packages_qs(today).filter(account__customer=client),
            id="pk",
            name="name",
            sessions_left="sessions_left",
            sessions_total="sessions_total",
            expires_on="expires_on",
        ),
        "coupons": rows(
            selectors.open_coupons_qs(today).filter(customer=client),
            id="pk",
            code="code",
            value="value",
            min_spend="min_spend",
            valid_until="valid_until",
        ),
    }


def _progress(data: dict, account: LoyaltyAccount | None) -> tiers.Progress:
    """tiers.progress() from the card's reads."""
    figures = data["figures"] or {}
    aside = (data["put_aside"] or {}).get("s") or 0
    spend = max(Decimal(figures.get("total") or 0) - Decimal(aside), ZERO).quantize(CENT)
    visits = figures.get("n", 0)
    tier = account.tier if account else None
    higher = [t for t in build_all(MembershipTier, data["tiers"]) if tier is None or t.rank > tier.rank]
    nxt = higher[0] if higher else None
    return tiers.Progress(
        tier=tier,
        spend=spend,
        visits=visits,
        next_tier=nxt,
        spend_needed=max((nxt.min_spend - spend) if nxt else ZERO, ZERO),
        visits_needed=max((nxt.min_visits - visits) if nxt else 0, 0),
    )


def card_panel(*, customer, user, now: datetime, data: dict) -> CardPanel | None:
    if not user.has_perm("loyalty.use_loyalty"):
        return None
    account = build(LoyaltyAccount, data["account"])
    rate = (data["rate"] or {}).get("rate") or LoyaltySettings().points_per_currency_unit
    points = account.points if account else 0
    value = selectors.money_text(points / rate) if points else ""
    progress = _progress(data, account)
    facts = [
        CardFact(
            "tier", _("Member tier"), progress.tier.name if progress.tier else "—", _tier_detail(progress)
        ),
        CardFact(
            "points", _("Points"), f"{points:,}", _("worth %(value)s") % {"value": value} if value else ""
        ),
        CardFact(
            "stored_value",
            _("Stored value"),
            selectors.money_text(account.stored_value if account else 0),
            _("%(principal)s paid + %(bonus)s bonus")
            % {"principal": f"{account.principal:,.2f}", "bonus": f"{account.bonus:,.2f}"}
            if account and account.stored_value
            else "",
        ),
    ]
    actions = []
    if user.has_perm("loyalty.adjust_ledger") and customer.erased_at is None:
        actions = [
            CardAction(
                "points_adjust",
                _("Adjust points…"),
                reverse("loyalty:points_adjust", args=[customer.pk]),
                dialog=True,
            ),
            CardAction(
                "stored_value_refund",
                _("Refund stored value…"),
                reverse("loyalty:stored_value_refund", args=[customer.pk]),
                dialog=True,
            ),
            CardAction(
                "coupon_issue",
                _("Give a coupon…"),
                reverse("loyalty:coupon_issue", args=[customer.pk]),
                dialog=True,
            ),
        ]
    history = selectors.ledger_rows(
        build_all(PointsEntry, data["points_history"]),
        build_all(StoredValueEntry, data["value_history"]),
        limit=HISTORY,
    )
    packages = build_all(CustomerPackage, data["packages"])
    coupons = build_all(Coupon, data["coupons"])
    return CardPanel(
        key="loyalty",
        title=_("Points and stored value"),
        facts=tuple(facts),
        actions=tuple(actions),
        template="loyalty/card_panel.html",
        data={"history": history, "packages": packages, "coupons": coupons, "can_adjust": bool(actions)},
        order=60,
    )


def register() -> None:
    card.register("loyalty", card_panel, reads=card_reads)
