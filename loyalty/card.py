"""What loyalty adds to the client card (customers.card): the member tier (and what the next
one needs), points and stored value in the summary strip, and a panel with the ledger history and the managers' adjust and refund dialogs."""

from django.urls import reverse
from django.utils.translation import gettext as _

from customers import card
from customers.card import CardAction, CardFact, CardPanel
from loyalty import selectors, tiers
from loyalty.models import LoyaltySettings


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


def card_panel(*, customer, user) -> CardPanel | None:
    if not user.has_perm("loyalty.use_loyalty"):
        return None
    account = selectors.account_of(customer)
    settings = LoyaltySettings.current()
    points = account.points if account else 0
    value = selectors.money_text(points / settings.points_per_currency_unit) if points else ""
    progress = tiers.progress(customer)
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
    history = selectors.ledger_history(account, limit=10) if account else []
    packages = selectors.active_packages(customer) if account else []
    coupons = selectors.open_coupons(customer)
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
    card.register("loyalty", card_panel)
