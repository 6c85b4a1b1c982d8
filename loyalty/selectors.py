"""Reads of the loyalty ledgers used by more than one page (the card, checkout, the receipt, the
API). Each is a fixed number of queries whatever the client's history."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.models import (
    Coupon,
    CustomerPackage,
    GiftCard,
    LoyaltyAccount,
    LoyaltySettings,
    PackageEntry,
    PointsEntry,
    StoredValueEntry,
)
from salon_crm.money import currency_symbol

ZERO = Decimal("0")


def account_of(customer) -> LoyaltyAccount | None:
    return LoyaltyAccount.objects.filter(customer=customer).first()


def money_text(amount) -> str:
    """¥818.18: the deployment's currency symbol, always the cents (balances are exact)."""
    return f"{currency_symbol()}{Decimal(amount):,.2f}"


def points_available_text(customer) -> str | None:
    account = account_of(customer)
    if account is None or not account.points:
        return None
    value = Decimal(account.points) / LoyaltySettings.current().points_per_currency_unit
    return _("%(points)s points = %(value)s") % {"points": f"{account.points:,}", "value": money_text(value)}


def stored_value_available_text(customer) -> str | None:
    account = account_of(customer)
    if account is None or not (account.principal or account.bonus):
        return None
    return _("%(total)s (%(principal)s paid + %(bonus)s bonus)") % {
        "total": money_text(account.principal + account.bonus),
        "principal": f"{account.principal:,.2f}",
        "bonus": f"{account.bonus:,.2f}",
    }


def active_packages_qs(today: date) -> QuerySet[CustomerPackage]:
    """Packages with sessions left and not expired on `today`, the first to expire first."""
    return CustomerPackage.objects.filter(
        status=CustomerPackage.Status.ACTIVE, sessions_left__gt=0, expires_on__gte=today
    ).order_by("expires_on", "pk")


def active_packages(customer) -> list[CustomerPackage]:
    return list(active_packages_qs(timezone.localdate()).filter(account__customer=customer))


def packages_available_text(customer) -> str | None:
    packages = active_packages(customer)
    if not packages:
        return None
    return "; ".join(
        _("%(name)s: %(left)s of %(total)s sessions left, until %(day)s")
        % {
            "name": p.name,
            "left": p.sessions_left,
            "total": p.sessions_total,
            "day": p.expires_on.isoformat(),
        }
        for p in packages
    )


def open_coupons_qs(today: date) -> QuerySet[Coupon]:
    """Coupons issued and still valid on `today`, the first to lapse first."""
    return Coupon.objects.filter(status=Coupon.Status.ISSUED, valid_until__gte=today).order_by(
        "valid_until", "pk"
    )


def open_coupons(customer) -> list[Coupon]:
    return list(open_coupons_qs(timezone.localdate()).filter(customer=customer))


def coupons_available_text(customer) -> str | None:
    coupons = open_coupons(customer)
    if not coupons:
        return None
    return "; ".join(
        _("%(code)s: %(value)s until %(day)s")
        % {"code": c.code, "value": money_text(c.value), "day": c.valid_until.isoformat()}
        for c in coupons
    )


def receipt_balances(visit) -> list[tuple[str, str]]:
    """The client's balances right after this visit's own ledger rows (later rows left out):
    points earned or used here and the balance, stored value used here and the balance."""
    rows = _receipt_cards(visit)
    account = account_of(visit.customer)
    if account is None:
        return rows
    own = Q(visit=visit)
    points = PointsEntry.objects.filter(account=account)
    value = StoredValueEntry.objects.filter(account=account)
    last_points = points.filter(own).order_by("-pk").values_list("pk", flat=True).first()
    last_value = value.filter(own).order_by("-pk").values_list("pk", flat=True).first()
    if last_points is not None:
        here = points.filter(own).aggregate(
            earned=Sum("points", filter=Q(kind="earn")), used=Sum("points", filter=Q(kind="redeem"))
        )
        after = points.filter(pk__lte=last_points).aggregate(s=Sum("points"))["s"] or 0
        if here["earned"]:
            rows.append((_("Points earned"), f"{here['earned']:,}"))
        if here["used"]:
            rows.append((_("Points used"), f"{-here['used']:,}"))
        rows.append((_("Points balance"), f"{after:,}"))
    if last_value is not None:
        after = value.filter(pk__lte=last_value).aggregate(p=Sum("principal"), b=Sum("bonus"))
        rows.append(
            (
                _("Stored value balance"),
                _("%(total)s (%(principal)s paid + %(bonus)s bonus)")
                % {
                    "total": money_text(after["p"] + after["b"]),
                    "principal": f"{after['p']:,.2f}",
                    "bonus": f"{after['b']:,.2f}",
                },
            )
        )
    return rows


def _receipt_cards(visit) -> list[tuple[str, str]]:
    """Gift cards sold here (their codes), package sessions used here (with what is left),
    packages sold here (two queries)."""
    rows = [
        (_("Gift card %(code)s") % {"code": card.code}, money_text(card.initial))
        for card in GiftCard.objects.filter(visit_line__visit=visit).order_by("pk")
    ]
    for entry in PackageEntry.objects.filter(visit=visit).select_related("package").order_by("pk"):
        package = entry.package
        if entry.kind in (PackageEntry.Kind.USED, PackageEntry.Kind.SOLD):
            rows.append(
                (
                    _("Package %(name)s") % {"name": package.name},
                    _("%(left)s of %(total)s sessions left")
                    % {"left": package.sessions_left, "total": package.sessions_total},
                )
            )
    return rows


@dataclass(frozen=True)
class LedgerRow:
    at: object
    ledger: str  # "points" | "stored_value"
    kind: str
    kind_label: str
    change: str
    reason: str
    visit_id: int | None
    by: str


def ledger_history(account: LoyaltyAccount, *, limit: int = 20) -> list[LedgerRow]:
    """The latest rows of both ledgers, newest first (two queries)."""
    pts = account.points_entries.select_related("created_by").order_by("-pk")[:limit]
    val = account.value_entries.select_related("created_by").order_by("-pk")[:limit]
    return ledger_rows(pts, val, limit=limit)


def ledger_rows(pts, val, *, limit: int) -> list[LedgerRow]:
    """The newest `limit` of the two ledgers' latest rows (each with `created_by`) as one list."""
    rows = [
        LedgerRow(
            e.created_at,
            "points",
            e.kind,
            e.get_kind_display(),
            f"{e.points:+,}",
            e.reason,
            e.visit_id,
            _by(e),
        )
        for e in pts
    ]
    rows += [
        LedgerRow(
            e.created_at,
            "stored_value",
            e.kind,
            e.get_kind_display(),
            f"{e.principal:+,.2f} / {e.bonus:+,.2f}",
            e.reason,
            e.visit_id,
            _by(e),
        )
        for e in val
    ]
    return sorted(rows, key=lambda r: r.at, reverse=True)[:limit]


def _by(entry) -> str:
    user = entry.created_by
    return (user.get_full_name() or user.get_username()) if user else ""
