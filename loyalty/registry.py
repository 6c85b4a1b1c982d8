"""loyalty's places in the lower apps' registries (called once from LoyaltyConfig.ready()):
two payment methods and a checkout line kind (appointments.payments, appointments.line_kinds),
the earning of points for a visit (appointments.visit_hooks), its part of merging two clients
(customers.services) and of a client's export and erasure."""

from django.utils.translation import gettext_lazy as _

from appointments.line_kinds import register_line_kind, register_price_rule
from appointments.payments import register_payment_method
from appointments.visit_hooks import (
    register_appointment_panel,
    register_online_booking_panel,
    register_visit_hook,
)
from customers.services import (
    MergeHandler,
    customer_rows_count,
    reassign_customer_rows,
    register_export_section,
    register_merge_handler,
    relation_label,
)
from loyalty import cards, deposits, selectors, services, tiers
from loyalty.models import (
    Coupon,
    CustomerPackage,
    Deposit,
    FeeCharge,
    GiftCard,
    LoyaltyAccount,
    PointsEntry,
    StoredValueEntry,
)


def _visit_completed(visit) -> None:
    services.points_earn_for_visit(visit)
    tiers.upgrade_after_visit(visit)


def _visit_voided(visit) -> None:
    services.points_reverse_for_visit(visit)


def _receipt(visit) -> list[tuple[str, str]]:
    return selectors.receipt_balances(visit)


def _points_available(customer) -> str | None:
    return selectors.points_available_text(customer)


def _value_available(customer) -> str | None:
    return selectors.stored_value_available_text(customer)


def _packages_available(customer) -> str | None:
    return selectors.packages_available_text(customer)


def _coupons_available(customer) -> str | None:
    return selectors.coupons_available_text(customer)


def _plans(customer=None) -> list[tuple[int, str]]:
    from loyalty.models import PackagePlan

    return [
        (p.pk, f"{p.name} ×{p.sessions} · {selectors.money_text(p.price)}")
        for p in PackagePlan.objects.filter(active=True)
    ]


def _deposit_panel(appointment, user):
    """The appointment dialog's deposit section: what the booking needs, what it holds, and
    the desk's "Take deposit" (the desk, before the service)."""
    if not user.has_perm("loyalty.use_loyalty"):
        return None
    from loyalty.forms import DepositTakeForm
    from loyalty.models import Deposit

    deposit = Deposit.objects.filter(appointment=appointment).first()
    required, policy = deposits.deposit_required(appointment) if deposit is None else (None, None)
    if deposit is None and not required:
        return None
    can_take = deposit is None and appointment.status in deposits.BEFORE_SERVICE
    return (
        "loyalty/deposit_panel.html",
        {
            "deposit": deposit,
            "required": required,
            "policy": policy,
            "appointment": appointment,
            "form": DepositTakeForm(initial={"amount": required}) if can_take else None,
            "can_waive": deposit is not None
            and deposit.status == Deposit.Status.FORFEITED
            and user.has_perm("loyalty.adjust_ledger"),
        },
    )


def _online_deposit_panel(appointment):
    """The client's manage page of a booking: pay its deposit online (loyalty.payments_online)."""
    from loyalty.payments_online import online_deposit_panel

    return online_deposit_panel(appointment)


# ---- merge ------------------------------------------------------------------------------------


# Rows that point at a client directly (moved as they are).
CUSTOMER_ROWS = ((Coupon, "customer"), (GiftCard, "buyer"), (Deposit, "customer"), (FeeCharge, "customer"))


def _merge_preview(*, keep, merge) -> dict[str, int]:
    counts = {relation_label(m, f): customer_rows_count(m, f, customer=merge) for m, f in CUSTOMER_ROWS}
    account = LoyaltyAccount.objects.filter(customer=merge).first()
    if account is not None:
        counts.update(
            {
                relation_label(LoyaltyAccount, "customer"): 1,
                "loyalty.PointsEntry.account": account.points_entries.count(),
                "loyalty.StoredValueEntry.account": account.value_entries.count(),
                "loyalty.CustomerPackage.account": account.packages.count(),
            }
        )
    return counts


def _merge(*, keep, merge, by) -> dict[str, int]:
    """Balances add up and every ledger row is kept: the absorbed client's rows move to the kept
    client's account (made if it has none), its balances are added, its account goes."""
    counts = {
        relation_label(m, f): reassign_customer_rows(m, f, keep=keep, merge=merge) for m, f in CUSTOMER_ROWS
    }
    gone = LoyaltyAccount.objects.select_for_update().filter(customer=merge).first()
    if gone is None:
        return counts
    kept = services.account_locked(keep)
    points = PointsEntry.objects.filter(account=gone).update(account=kept)
    value = StoredValueEntry.objects.filter(account=gone).update(account=kept)
    packages = CustomerPackage.objects.filter(account=gone).update(account=kept)
    LoyaltyAccount.objects.filter(pk=kept.pk).update(
        points=kept.points + gone.points,
        principal=kept.principal + gone.principal,
        bonus=kept.bonus + gone.bonus,
    )
    gone.delete()
    return {
        **counts,
        relation_label(LoyaltyAccount, "customer"): 1,
        "loyalty.PointsEntry.account": points,
        "loyalty.StoredValueEntry.account": value,
        "loyalty.CustomerPackage.account": packages,
    }


MERGE_HANDLER = MergeHandler("loyalty", preview=_merge_preview, merge=_merge)


def _export(customer) -> dict:
    """The client's balances and every ledger row (the data export; its rows are money records,
    kept on erasure like the visits they belong to)."""
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    if account is None:
        return {}
    return {
        "points": account.points,
        "stored_value": {"principal": str(account.principal), "bonus": str(account.bonus)},
        "points_ledger": [
            {
                "at": e.created_at,
                "kind": e.kind,
                "points": e.points,
                "expires_on": e.expires_on,
                "reason": e.reason,
            }
            for e in account.points_entries.order_by("pk")
        ],
        "stored_value_ledger": [
            {
                "at": e.created_at,
                "kind": e.kind,
                "principal": str(e.principal),
                "bonus": str(e.bonus),
                "reason": e.reason,
            }
            for e in account.value_entries.order_by("pk")
        ],
    }


def register() -> None:
    register_payment_method(
        services.STORED_VALUE,
        _("Stored value"),
        charge=services.stored_value_charge,
        refund=services.stored_value_refund_payment,
        available=_value_available,
    )
    register_payment_method(
        services.POINTS,
        _("Points"),
        charge=services.points_charge,
        refund=services.points_refund,
        available=_points_available,
    )
    register_line_kind(
        services.TOPUP,
        _("Stored-value top-up"),
        price=services.topup_price,
        sold=services.topup_sold,
        voided=services.topup_voided,
        by_amount=True,
    )
    register_line_kind(
        cards.PACKAGE,
        _("Package"),
        price=cards.package_price,
        sold=cards.package_sold,
        voided=cards.package_voided,
        choices=_plans,
    )
    register_line_kind(
        cards.GIFT_CARD,
        _("Gift card"),
        price=cards.gift_card_price,
        sold=cards.gift_card_sold,
        voided=cards.gift_card_voided,
        by_amount=True,
    )
    register_payment_method(
        cards.PACKAGE,
        _("Package session"),
        charge=cards.package_charge,
        refund=cards.package_refund,
        available=_packages_available,
    )
    register_payment_method(
        cards.GIFT_CARD, _("Gift card"), charge=cards.gift_card_charge, refund=cards.gift_card_refund
    )
    register_payment_method(
        cards.COUPON,
        _("Coupon"),
        charge=cards.coupon_charge,
        refund=cards.coupon_refund,
        available=_coupons_available,
    )
    register_price_rule("loyalty.tier", tiers.tier_price_rule)
    register_payment_method(
        deposits.DEPOSIT,
        _("Deposit"),
        charge=deposits.deposit_charge,
        refund=deposits.deposit_refund_payment,
        available=deposits.deposit_available_text,
    )
    register_line_kind(
        deposits.FEE,
        _("No-show or late-cancellation fee"),
        price=deposits.fee_price,
        sold=deposits.fee_sold,
        voided=deposits.fee_voided,
        choices=deposits.fee_choices,
    )
    deposits.subscribe()
    register_appointment_panel("loyalty.deposit", _deposit_panel)
    register_online_booking_panel("loyalty.deposit_online", _online_deposit_panel)
    register_visit_hook("loyalty.points", completed=_visit_completed, voided=_visit_voided, receipt=_receipt)
    register_merge_handler(MERGE_HANDLER)
    register_export_section("loyalty", _export)
