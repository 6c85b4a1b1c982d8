"""Managers' loyalty reports (docs/loyalty.md, Reports): what the salon owes its clients in points,
stored value and package sessions, and how the clients spread over the membership tiers.

Every report is a fixed number of set-based queries (aggregates and GROUP BY), whatever the
number of clients or ledger rows; each returns plain dataclasses for the page and the CSV.

Scope: points and tiers are chain-wide (accounts are). The stored-value and package reports take
`locations`: the ids of the locations whose rows the reader may see, or None for every row (an
owner's view, the only one that has the chain total and the rows of no location)."""

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum

from loyalty.models import (
    CustomerPackage,
    LoyaltyAccount,
    LoyaltySettings,
    MembershipTier,
    PackageEntry,
    PointsEntry,
    StoredValueEntry,
)
from loyalty.services import points_value

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
EXPIRY_HORIZONS = (30, 90)


# ---- the period -------------------------------------------------------------------------------


def _midnight(day: date, tz: tzinfo) -> datetime | None:
    """The start of `day` in `tz`, as UTC; None where that is outside what a datetime holds
    (1 January of year 1 east of Greenwich): the period is then open on that side."""
    try:
        return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        return None


@dataclass(frozen=True)
class Period:
    """From the start of `start` to the end of `end` (both days included), in the zone `tz`."""

    start: date
    end: date
    tz: tzinfo

    @classmethod
    def month_of(cls, day: date, tz: tzinfo) -> "Period":
        return cls(day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1]), tz)

    def q(self, field_name: str) -> Q:
        """created_at (or `field_name`) inside the period: [start 00:00, the day after end 00:00)."""
        q = Q()
        lower = _midnight(self.start, self.tz)
        if lower is not None:
            q &= Q(**{f"{field_name}__gte": lower})
        upper = _midnight(self.end + timedelta(days=1), self.tz) if self.end < date.max else None
        if upper is not None:
            q &= Q(**{f"{field_name}__lt": upper})
        return q


def _money(value) -> Decimal:
    return (value or ZERO).quantize(CENT)


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """part ÷ whole as a percentage with one decimal (half up); None when `whole` is zero."""
    if not whole:
        return None
    return (part * 100 / whole).quantize(TENTH, rounding=ROUND_HALF_UP)


# ---- 1. points liability ----------------------------------------------------------------------


@dataclass(frozen=True)
class Expiring:
    days: int
    points: int
    value: Decimal


@dataclass(frozen=True)
class PointsLiability:
    rate: int  # points per ¥1 redeemed, now
    points: int  # outstanding: the sum of every account's balance
    value: Decimal  # what they pay at `rate`
    expiring: list[Expiring]  # open lots whose last day is within 30 / 90 days (cumulative)
    earned: int  # in the period; the movements below are positive numbers of points
    redeemed: int
    expired: int
    adjusted: int  # net: + given, − taken
    reversed: int  # net, by voids: + points given back, − earnings taken back


def points_liability(*, period: Period, today: date) -> PointsLiability:
    """4 queries: the settings, the balances, the open lots, the period's movements."""
    settings = LoyaltySettings.current()
    outstanding = int(LoyaltyAccount.objects.aggregate(p=Sum("points"))["p"] or 0)
    lots = PointsEntry.objects.filter(remaining__gt=0).aggregate(
        **{
            f"d{days}": Sum("remaining", filter=Q(expires_on__lte=today + timedelta(days=days)))
            for days in EXPIRY_HORIZONS
        }
    )
    K = PointsEntry.Kind
    moved = PointsEntry.objects.filter(period.q("created_at")).aggregate(
        earned=Sum("points", filter=Q(kind=K.EARN)),
        redeemed=Sum("points", filter=Q(kind=K.REDEEM)),
        expired=Sum("points", filter=Q(kind=K.EXPIRE)),
        adjusted=Sum("points", filter=Q(kind=K.ADJUST)),
        reversed=Sum("points", filter=Q(kind=K.REVERSE)),
    )
    moved = {k: int(v or 0) for k, v in moved.items()}
    expiring = []
    for days in EXPIRY_HORIZONS:
        points = int(lots[f"d{days}"] or 0)
        expiring.append(Expiring(days, points, points_value(points, settings)))
    return PointsLiability(
        rate=settings.points_per_currency_unit,
        points=outstanding,
        value=points_value(outstanding, settings),
        expiring=expiring,
        earned=moved["earned"],
        redeemed=-moved["redeemed"],
        expired=-moved["expired"],
        adjusted=moved["adjusted"],
        reversed=moved["reversed"],
    )


# ---- 2. stored-value liability by location ----------------------------------------------------


@dataclass(frozen=True)
class ValueRow:
    location_id: int | None  # None: entries of no location (a refund or adjustment off the desk)
    location: str
    principal: Decimal
    bonus: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.bonus


@dataclass(frozen=True)
class StoredValueLiability:
    rows: list[ValueRow]
    complete: bool  # every location's rows (and those of none): the total is the chain's
    principal: Decimal  # the sum of the rows shown
    bonus: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.bonus


def _scope(field_name: str, locations: Iterable[int] | None) -> Q:
    return Q() if locations is None else Q(**{f"{field_name}__in": list(locations)})


def stored_value_liability(*, locations: Iterable[int] | None) -> StoredValueLiability:
    """1 query. Accounts are chain-wide: a location's figure is the sum of the ledger rows written
    there (top-ups +, spends −, refunds −), so a location where more was spent than topped up
    owes a negative amount; every location together (and the rows of none) is the sum of the
    balances."""
    grouped = (
        StoredValueEntry.objects.filter(_scope("location_id", locations))
        .values("location_id", "location__name")
        .annotate(principal=Sum("principal"), bonus=Sum("bonus"))
        .order_by()
    )
    rows = [
        ValueRow(r["location_id"], r["location__name"] or "—", _money(r["principal"]), _money(r["bonus"]))
        for r in grouped
    ]
    rows.sort(key=lambda r: (r.location_id is None, r.location, r.location_id or 0))  # "—" last
    return StoredValueLiability(
        rows=rows,
        complete=locations is None,
        principal=sum((r.principal for r in rows), ZERO),
        bonus=sum((r.bonus for r in rows), ZERO),
    )


# ---- 3. package use (耗卡率) -------------------------------------------------------------------


@dataclass
class PackageRow:
    location_id: int | None  # where the packages were sold
    location: str
    plan_id: int
    plan: str
    packages_sold: int = 0
    sessions_sold: int = 0
    sessions_used: int = 0  # in the period, net of uses given back by a void
    revenue: Decimal = ZERO  # recognised in the period (sessions used, expired, reversed)
    value_sold: Decimal = ZERO
    value_used: Decimal = ZERO  # since the start

    @property
    def use_rate(self) -> Decimal | None:
        """耗卡率: value used ÷ value sold, in % with one decimal."""
        return percent(self.value_used, self.value_sold)


@dataclass
class PackageUse:
    rows: list[PackageRow]
    total: PackageRow = field(default_factory=lambda: PackageRow(None, "", 0, ""))


def package_use(*, period: Period, locations: Iterable[int] | None) -> PackageUse:
    """2 queries: the packages sold (not voided) and their ledger, each grouped by the location
    that sold them and the plan. A package's sessions and revenue count at the location that
    sold it, wherever they were used, so each row's 耗卡率 compares like with like."""
    locations = None if locations is None else list(locations)
    voided = CustomerPackage.Status.VOIDED
    sold = (
        CustomerPackage.objects.exclude(status=voided)
        .filter(_scope("location_id", locations))
        .values("location_id", "location__name", "plan_id", "plan__name")
        .annotate(n=Count("pk"), sessions=Sum("sessions_total"), value=Sum("price"))
        .order_by()
    )
    K = PackageEntry.Kind
    in_period = period.q("created_at")
    used_back = Q(kind=K.REVERSE, sessions__gt=0)  # a session given back by a void
    moved = (
        PackageEntry.objects.exclude(package__status=voided)
        .filter(_scope("package__location_id", locations))
        .values("package__location_id", "package__plan_id")
        .annotate(
            used=Sum("sessions", filter=in_period & (Q(kind=K.USED) | used_back)),
            revenue=Sum("value", filter=in_period & Q(kind__in=[K.USED, K.EXPIRE, K.REVERSE])),
            value_used=Sum("value", filter=Q(kind__in=[K.USED, K.REVERSE])),
        )
        .order_by()
    )
    rows: dict[tuple, PackageRow] = {}
    for r in sold:
        key = (r["location_id"], r["plan_id"])
        rows[key] = PackageRow(
            r["location_id"],
            r["location__name"] or "—",
            r["plan_id"],
            r["plan__name"],
            packages_sold=r["n"],
            sessions_sold=int(r["sessions"] or 0),
            value_sold=_money(r["value"]),
        )
    for r in moved:
        row = rows.get((r["package__location_id"], r["package__plan_id"]))
        if row is None:  # not possible while the ledger holds (no entry without its package)
            continue
        row.sessions_used = -int(r["used"] or 0)
        row.revenue = _money(r["revenue"])
        row.value_used = _money(r["value_used"])
    ordered = sorted(rows.values(), key=lambda r: (r.location_id is None, r.location, r.plan, r.plan_id))
    total = PackageRow(None, "", 0, "")
    for r in ordered:
        total.packages_sold += r.packages_sold
        total.sessions_sold += r.sessions_sold
        total.sessions_used += r.sessions_used
        total.revenue += r.revenue
        total.value_sold += r.value_sold
        total.value_used += r.value_used
    return PackageUse(rows=ordered, total=total)


# ---- 4. tier distribution ---------------------------------------------------------------------


@dataclass(frozen=True)
class TierRow:
    tier_id: int | None  # None: no tier
    tier: str
    active: bool
    accounts: int
    share: Decimal | None  # % of every account, one decimal


@dataclass(frozen=True)
class TierDistribution:
    rows: list[TierRow]
    accounts: int


def tier_distribution() -> TierDistribution:
    """2 queries: the tiers, and the accounts counted per tier. Every active tier is listed (with
    0 if no one holds it), an inactive one only while accounts still hold it; then "no tier"."""
    tiers = list(MembershipTier.objects.order_by("rank"))
    counts = {
        r["tier_id"]: r["n"]
        for r in LoyaltyAccount.objects.values("tier_id").annotate(n=Count("pk")).order_by()
    }
    total = sum(counts.values())
    rows = [
        TierRow(
            t.pk, t.name, t.active, counts.get(t.pk, 0), percent(Decimal(counts.get(t.pk, 0)), Decimal(total))
        )
        for t in tiers
        if t.active or counts.get(t.pk)
    ]
    rows.append(
        TierRow(None, "", True, counts.get(None, 0), percent(Decimal(counts.get(None, 0)), Decimal(total)))
    )
    return TierDistribution(rows=rows, accounts=total)
