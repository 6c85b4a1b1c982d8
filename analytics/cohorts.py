"""The dashboard's monthly cohorts and tier distribution (templates/analytics/_cohorts.html,
static/js/dashboard_cohorts.js) and the lists of clients behind their numbers and behind the
lifecycle funnel's stages (/dashboard/clients/?metric=cohort&cohort=2026-03, ...).

A cohort is the clients whose first visit day (CustomerMetrics.first_day; with locations: and
whose first visit was there, first_location) falls in a calendar month. "So far" is the
period's last day X: a client has repurchased when their second visit day is on or before X
(CustomerMetrics.second_day <= X), and revisited within 90 days when that second day is 1 to 90
days after the first (METRICS.md revisit_90d), shown only for the months whose every member's
first visit is at least 90 days before X. The twelve months up to X's are shown whatever the
period's start: a 30-day period would otherwise show one or two cohorts.

A client belongs to a location, for the tiers, by their home location, or when they have none
by the location of their first visit. Every read here is one query, whatever the number of
clients, months or locations (docs/metrics.md, "Monthly cohorts" and "Tiers")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DateField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics import metrics
from analytics.models import CustomerMetrics
from customers.models import Customer

MONTHS = 12
REVISIT_DAYS = 90
ZERO = Decimal("0")

COHORT_DRILLS = ("cohort", "cohort_repurchased", "cohort_revisited")
STAGE_DRILLS = tuple(f"stage_{s}" for s in metrics.STAGES)
DRILLS = (*COHORT_DRILLS, "tier", *STAGE_DRILLS)
NO_TIER = "none"

LABELS = {
    "cohort": gettext_lazy("Clients of a monthly cohort"),
    "cohort_repurchased": gettext_lazy("Clients of a monthly cohort who came back"),
    "cohort_revisited": gettext_lazy("Clients of a monthly cohort who came back within 90 days"),
    "tier": gettext_lazy("Clients of a membership tier"),
    **{f"stage_{s}": gettext_lazy("Clients at a lifecycle stage") for s in metrics.STAGES},
}
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


# ---- months -------------------------------------------------------------------------------------


def _month(d: date) -> date:
    return d.replace(day=1)


def _shift(month: date, n: int) -> date | None:
    """The first day of the month n months from `month`; None outside the calendar."""
    index = month.year * 12 + month.month - 1 + n
    year, m = divmod(index, 12)
    return date(year, m + 1, 1) if 1 <= year <= 9999 else None


def _month_end(month: date) -> date:
    after = _shift(month, 1)
    return after - timedelta(days=1) if after is not None else date.max


def _revisit_ready(month: date, last: date) -> bool:
    """Every member's first visit is at least 90 days before `last`."""
    return last >= date.min + timedelta(days=REVISIT_DAYS) and _month_end(month) <= last - timedelta(
        days=REVISIT_DAYS
    )


def _back_within_90():
    return ExpressionWrapper(F("first_day") + timedelta(days=REVISIT_DAYS), output_field=DateField())


def _members(locations, month: date, last: date):
    qs = CustomerMetrics.objects.filter(first_day__gte=month, first_day__lte=min(_month_end(month), last))
    if locations is not None:
        qs = qs.filter(first_location__in=[loc.pk for loc in locations])
    return qs


def revisited_90d(locations, period):
    """The 90-day revisit tile's clients (rollups.summary's numerator): first visit in the
    period (at `locations`) and at least 90 days before as_of, second visit day 1 to 90 days
    after it and by as_of."""
    as_of = period.as_of
    if as_of <= date.min + timedelta(days=REVISIT_DAYS):
        return CustomerMetrics.objects.none()
    qs = CustomerMetrics.objects.filter(
        first_day__gte=period.start, first_day__lte=min(period.last, as_of - timedelta(days=REVISIT_DAYS))
    )
    if locations is not None:
        qs = qs.filter(first_location__in=[loc.pk for loc in locations])
    return qs.filter(Q(second_day__lte=as_of) & Q(second_day__lte=_back_within_90()))


# ---- the cohorts --------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


HEAT = ("bg-opacity-10", "bg-opacity-25", "bg-opacity-50", "bg-opacity-75", "bg-opacity-100")


def _heat(rate: float | None) -> str:
    """The cell's shade (a second cue: the cell says its number too)."""
    return "" if rate is None else "bg-info " + HEAT[min(int(rate * len(HEAT)), len(HEAT) - 1)]


def _cohort_counts(locations, first: date, last: date) -> dict:
    """{month: {size, repurchased, revisited}} (one query): from the first visits per day
    (analytics.snapshots) once built, otherwise from CustomerMetrics."""
    from analytics import snapshots

    found = snapshots.cohort_counts(
        first=first, last=last, location_ids=None if locations is None else [loc.pk for loc in locations]
    )
    if found is not None:
        return found
    qs = CustomerMetrics.objects.filter(first_day__gte=first, first_day__lte=last)
    if locations is not None:
        qs = qs.filter(first_location__in=[loc.pk for loc in locations])
    rows = (
        qs.annotate(month=TruncMonth("first_day", output_field=DateField()))
        .values("month")
        .annotate(
            size=Count("pk"),
            repurchased=Count("pk", filter=Q(second_day__lte=last)),
            revisited=Count("pk", filter=Q(second_day__lte=last) & Q(second_day__lte=_back_within_90())),
        )
        .order_by()
    )
    return {r["month"]: r for r in rows}


def cohorts(locations, last: date, *, gen=None) -> list[dict]:
    """The twelve monthly cohorts up to `last`'s month (oldest first), each with its size, how
    many came back by `last` (two visit days or more) and, once 90 days old, how many came back
    within 90 days. One query: CustomerMetrics grouped by the first visit's month; with `gen`
    (the roll-ups' generation) its counts are cached (rollups.cached), the texts are not."""
    from analytics import rollups
    from analytics.dashboard import RATE, show

    end = _month(last)
    first = _shift(end, -(MONTHS - 1)) or date.min
    if gen is None:
        found = _cohort_counts(locations, first, last)
    else:
        found = rollups.cached(
            "cohorts",
            (first, last, rollups.where_key(locations)),
            lambda: _cohort_counts(locations, first, last),
            gen=gen,
        )
    result = []
    month = first
    while month is not None and month <= end:
        r = found.get(month, {"size": 0, "repurchased": 0, "revisited": 0})
        ready = _revisit_ready(month, last)
        repurchase_rate = _rate(r["repurchased"], r["size"])
        revisit_rate = _rate(r["revisited"], r["size"]) if ready else None
        result.append(
            {
                "month": f"{month.year:04d}-{month.month:02d}",
                "size": r["size"],
                "repurchased": r["repurchased"],
                "repurchase_rate": repurchase_rate,
                "repurchase_text": show(repurchase_rate, RATE),
                "repurchase_heat": _heat(repurchase_rate),
                "ready": ready,
                "revisited": r["revisited"] if ready else None,
                "revisit_rate": revisit_rate,
                "revisit_text": show(revisit_rate, RATE),
                "revisit_heat": _heat(revisit_rate),
            }
        )
        month = _shift(month, 1)
    return result


# ---- the tiers ----------------------------------------------------------------------------------


def _in_scope(locations):
    """The active clients of `locations` (None: every one): home location, or, for a client with
    none, the location of their first visit."""
    qs = Customer.objects.active()
    if locations is not None:
        ids = [loc.pk for loc in locations]
        qs = qs.filter(
            Q(home_location__in=ids) | Q(home_location__isnull=True, metrics__first_location__in=ids)
        )
    return qs


def _tier_counts(locations, *, clients: str = "") -> dict:
    """{tier id or None: clients}: the refresh's counts while nothing they depend on changed
    since (`clients`: the current clients marker; analytics.snapshots), otherwise one query."""
    from analytics import snapshots

    counted = snapshots.tier_counts(
        None if locations is None else [loc.pk for loc in locations], clients=clients
    )
    if counted is not None:
        return counted
    return {
        r["tier"]: r["n"]
        for r in _in_scope(locations).values(tier=F("loyalty__tier")).annotate(n=Count("pk")).order_by()
    }


def tiers(locations, *, gen=None, clients: str = "") -> list[dict]:
    """Clients per membership tier (by rank, then "no tier"): two queries (the tiers, and the
    clients grouped by their loyalty account's tier). A tier no longer offered shows only while
    clients hold it.

    With `gen` the counts are cached (rollups.cached) under the roll-ups' generation and `clients`
    (rollups.generation's clients marker: the newest client and tier change). Tiers are not roll-ups, but every
    change of one is seen: a new client at once (the marker), an upgrade at checkout (a TierChange,
    and its visit marks the day dirty: the next refresh renews the generation), the nightly tier
    review (03:00) by its TierChange rows, and in any case by the nightly rebuild (03:30) after it.
    Only an edit of an existing client (a new home location, an erasure) waits for the next
    refresh."""
    from analytics import rollups
    from loyalty.models import MembershipTier

    if gen is None:
        counts = _tier_counts(locations)
    else:
        counts = rollups.cached(
            "tiers",
            (rollups.where_key(locations), clients),
            lambda: _tier_counts(locations, clients=clients),
            gen=gen,
        )
    result = [
        {"key": str(t.pk), "label": t.name, "count": counts.get(t.pk, 0)}
        for t in MembershipTier.objects.order_by("rank")
        if t.active or counts.get(t.pk)
    ]
    result.append({"key": NO_TIER, "label": _("No tier"), "count": counts.get(None, 0)})
    return result


def section(locations, period, *, gen=None, clients: str = "") -> dict:
    """What _cohorts.html shows (three queries; one with `gen` and a warm cache)."""
    rows = cohorts(locations, period.last, gen=gen)
    tier_rows = tiers(locations, gen=gen, clients=clients)
    return {
        "last": period.last,
        "cohorts": rows,
        "tiers": tier_rows,
        "chart": {
            "cohorts": {
                "labels": [c["month"] for c in rows],
                "repurchase": [
                    None if c["repurchase_rate"] is None else c["repurchase_rate"] * 100 for c in rows
                ],
                "revisit": [None if c["revisit_rate"] is None else c["revisit_rate"] * 100 for c in rows],
                "repurchase_label": _("Came back (%)"),
                "revisit_label": _("Came back within 90 days (%)"),
            },
            "tiers": {
                "labels": [t["label"] for t in tier_rows],
                "counts": [t["count"] for t in tier_rows],
                "keys": [t["key"] for t in tier_rows],
                "label": _("Clients"),
            },
        },
    }


# ---- the clients behind a number ----------------------------------------------------------------


class CustomerRows:
    """A Customer values() queryset read as the list's rows (customer_id, visits, days, revenue):
    Customer has a `visits` relation, so those names cannot be annotations on it. Supports what
    the list and the CSV use: count(), slicing and iterator()."""

    ordered = True

    def __init__(self, qs):
        self.qs = qs

    @staticmethod
    def _row(r: dict) -> dict:
        return {
            "customer_id": r["pk"],
            "visits": r["n_visits"],
            "days": r["n_days"],
            "revenue": r["n_revenue"],
        }

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [self._row(r) for r in self.qs[key]]
        return self._row(self.qs[key])

    def __iter__(self):
        return (self._row(r) for r in self.qs)

    def iterator(self, chunk_size: int = 2000):
        return (self._row(r) for r in self.qs.iterator(chunk_size=chunk_size))


def _customer_rows(qs) -> CustomerRows:
    """Each client's figures to date (the last roll-up), most revenue first."""
    return CustomerRows(
        qs.values("pk")
        .annotate(
            n_visits=Coalesce(F("metrics__visits"), 0),
            n_days=Coalesce(F("metrics__visit_days"), 0),
            n_revenue=Coalesce(F("metrics__revenue"), Value(ZERO)),
        )
        .order_by("-n_revenue", "pk")
    )


@dataclass(frozen=True)
class Drill:
    metric: str
    arg: str = ""  # the cohort's month, the tier's id or "none"
    param: str = ""  # the query parameter holding arg ("cohort", "tier"), "" for none
    title: str = ""
    error: str = ""
    rows: object = None

    @property
    def query(self) -> str:
        return f"metric={self.metric}" + (f"&{self.param}={self.arg}" if self.param else "")

    @property
    def name(self) -> str:
        """For the CSV's file name and the access log."""
        return f"{self.metric}-{self.arg}" if self.arg else self.metric


def _error(metric: str, param: str, arg: str, message: str) -> Drill:
    return Drill(metric, arg=arg, param=param, title=str(LABELS[metric]), error=message)


def drill(metric: str, params, *, locations, period) -> Drill | None:
    """The list behind a cohort's, a tier's or a stage's number, or None when `metric` is not
    one of these (dashboard.clients_behind's). A wrong month or tier is an error to show (400)."""
    if metric in COHORT_DRILLS:
        return _cohort_drill(metric, params.get("cohort", ""), locations=locations, last=period.last)
    if metric == "tier":
        return _tier_drill(params.get("tier", ""), locations=locations)
    if metric in STAGE_DRILLS:
        stage = metric.removeprefix("stage_")
        from analytics.dashboard import STAGE_LABELS

        qs = metrics.lifecycle_members(as_of=period.last, stage=stage, locations=locations)
        title = _("Clients at the stage “%(stage)s” on %(day)s") % {
            "stage": STAGE_LABELS[stage],
            "day": period.last.isoformat(),
        }
        return Drill(metric, title=title, rows=_customer_rows(qs))
    return None


def _cohort_drill(metric: str, arg: str, *, locations, last: date) -> Drill:
    arg = arg.strip()[:7]
    match = MONTH_RE.match(arg)
    month = None
    if match and 1 <= int(match.group(2)) <= 12 and int(match.group(1)) >= 1:
        month = date(int(match.group(1)), int(match.group(2)), 1)
    if month is None:
        return _error(metric, "cohort", "", _("A cohort is a month written like 2026-03."))
    if month > last:
        return _error(
            metric,
            "cohort",
            arg,
            _("The cohort %(month)s starts after %(day)s, the period's last day.")
            % {"month": arg, "day": last.isoformat()},
        )
    qs = _members(locations, month, last)
    if metric == "cohort":
        title = _("Clients whose first visit was in %(month)s") % {"month": arg}
    elif metric == "cohort_repurchased":
        qs = qs.filter(second_day__lte=last)
        title = _("Clients first seen in %(month)s who came back by %(day)s") % {
            "month": arg,
            "day": last.isoformat(),
        }
    else:
        if not _revisit_ready(month, last):
            return _error(
                metric,
                "cohort",
                arg,
                _("The cohort %(month)s is not 90 days old yet on %(day)s.")
                % {"month": arg, "day": last.isoformat()},
            )
        qs = qs.filter(Q(second_day__lte=last) & Q(second_day__lte=_back_within_90()))
        title = _("Clients first seen in %(month)s who came back within 90 days") % {"month": arg}
    rows = qs.values("customer_id", "visits", "revenue", days=F("visit_days")).order_by(
        "-revenue", "customer_id"
    )
    return Drill(metric, arg=arg, param="cohort", title=title, rows=rows)


def _tier_drill(arg: str, *, locations) -> Drill:
    from loyalty.models import MembershipTier

    arg = arg.strip()[:20]
    qs = _in_scope(locations)
    if arg == NO_TIER:
        return Drill(
            "tier",
            arg=arg,
            param="tier",
            title=_("Clients without a tier"),
            rows=_customer_rows(qs.filter(loyalty__tier__isnull=True)),
        )
    tier = MembershipTier.objects.filter(pk=int(arg)).first() if arg.isdigit() and len(arg) < 10 else None
    if tier is None:
        return _error("tier", "tier", "", _("That membership tier does not exist."))
    return Drill(
        "tier",
        arg=arg,
        param="tier",
        title=_("Clients in the tier “%(tier)s”") % {"tier": tier.name},
        rows=_customer_rows(qs.filter(loyalty__tier=tier)),
    )
