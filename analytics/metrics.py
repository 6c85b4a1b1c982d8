"""The metrics of ../shared/METRICS.md, computed from the raw tables with set-based SQL (no loop
over clients): `summary` (GET /api/v1/metrics/summary/) and `lifecycle` (GET
/api/v1/metrics/lifecycle/). docs/metrics.md states every rule in the product's words.

Dates are local: a visit's date is the day it started in its own location's zone (LocalDate), a
window's `start` and `end` are both included, and nothing dated after `as_of` counts (a question
about 2024 is answered from what had happened by then)."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from analytics.sql import LocalDate
from appointments.models import Appointment, AppointmentStatus, Visit
from appointments.selectors import visits_counted
from customers.models import Customer

STAGES = ("potential", "new", "active", "dormant", "lost")
ZERO = Decimal("0")


def today() -> date:
    return timezone.localdate()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """A UTC range that holds every moment whose local date (any zone, UTC−12 to UTC+14) is in
    [start, end]: an index-friendly prefilter before the exact local-date test."""
    low = (
        datetime.combine(start, time.min, UTC) - timedelta(days=1)
        if start > date.min + timedelta(days=1)
        else datetime.min.replace(tzinfo=UTC)
    )
    high = (
        datetime.combine(end, time.min, UTC) + timedelta(days=2)
        if end < date.max - timedelta(days=2)
        else datetime.max.replace(tzinfo=UTC)
    )
    return low, high


def _visit_day(prefix: str = "") -> LocalDate:
    return LocalDate(F(f"{prefix}started_at"), F(f"{prefix}location__time_zone"))


def counted_visits(locations=None, *, start: date | None = None, end: date | None = None):
    """Completed, not voided visits with their local `day`, at `locations` (None: every one),
    dated from `start` to `end` (both included)."""
    qs = visits_counted().annotate(day=_visit_day())
    if locations is not None:
        qs = qs.filter(location__in=list(locations))
    if start is not None or end is not None:
        low, high = _bounds(start or date.min, end or date.max)
        qs = qs.filter(started_at__gte=low, started_at__lt=high)
        if start is not None:
            qs = qs.filter(day__gte=start)
        if end is not None:
            qs = qs.filter(day__lte=end)
    return qs


def _first_visits():
    """Per client (OuterRef "pk"), their earliest counted visit anywhere in the chain."""
    return visits_counted().filter(customer=OuterRef("pk")).order_by("started_at", "pk")


def new_customers_qs(*, start: date, end: date, locations=None, window=None):
    """Clients whose first visit ever falls in [start, end] (with `locations`: and was there),
    each annotated with `first_day`."""
    window = window if window is not None else counted_visits(locations, start=start, end=end)
    firsts = _first_visits()
    qs = (
        Customer.objects.filter(pk__in=window.values("customer_id"))
        .annotate(
            first_started=Subquery(firsts.values("started_at")[:1]),
            first_zone=Subquery(firsts.values("location__time_zone")[:1]),
            first_location=Subquery(firsts.values("location_id")[:1]),
        )
        .annotate(first_day=LocalDate(F("first_started"), F("first_zone")))
        .filter(first_day__gte=start, first_day__lte=end)
    )
    if locations is not None:
        qs = qs.filter(first_location__in=[loc.pk for loc in locations])
    return qs


def _revisits(cohort, as_of: date) -> int:
    """Of `cohort` (annotated first_day), those with another visit day 1–90 days after the
    first, dated on or before as_of."""
    later = (
        counted_visits()
        .filter(customer=OuterRef("pk"), day__lte=as_of)
        .annotate(
            gap=ExpressionWrapper(F("day") - OuterRef("first_day"), output_field=DurationField()),
        )
        .filter(gap__gte=timedelta(days=1), gap__lte=timedelta(days=90))
    )
    return cohort.filter(Exists(later)).count()


def rebooked_visits(window):
    """The visits of `window` (counted visits with their local `day`) after which the client, at
    the end of the visit's local day, held an appointment on a later day, made on or before that
    day and not cancelled by its end: the rebooking rate's numerator."""
    zone = OuterRef("location__time_zone")
    held = (
        Appointment.objects.filter(customer=OuterRef("customer_id"))
        .annotate(
            start_day=LocalDate(F("start"), F("location__time_zone")),
            made_day=LocalDate(F("created_at"), zone),
            cancelled_day=LocalDate(F("cancelled_at"), zone),
        )
        .filter(start_day__gt=OuterRef("day"), made_day__lte=OuterRef("day"))
        .filter(Q(cancelled_at__isnull=True) | Q(cancelled_day__gt=OuterRef("day")))
    )
    return window.filter(Exists(held))


def _rebooked(window) -> int:
    return rebooked_visits(window).count()


def _appointment_rates(locations, start: date, end: date) -> tuple[float | None, float | None]:
    low, high = _bounds(start, end)
    qs = Appointment.objects.filter(start__gte=low, start__lt=high).annotate(
        day=LocalDate(F("start"), F("location__time_zone"))
    )
    if locations is not None:
        qs = qs.filter(location__in=list(locations))
    row = qs.filter(day__gte=start, day__lte=end).aggregate(
        all=Count("pk"),
        no_show=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW)),
        completed=Count("pk", filter=Q(status=AppointmentStatus.COMPLETED)),
        cancelled=Count("pk", filter=Q(status=AppointmentStatus.CANCELLED)),
    )
    return _rate(row["no_show"], row["no_show"] + row["completed"]), _rate(row["cancelled"], row["all"])


@dataclass(frozen=True)
class Window:
    start: date
    end: date
    as_of: date

    @property
    def last(self) -> date:
        """What counts: nothing dated after as_of."""
        return min(self.end, self.as_of)


def summary(*, start: date, end: date, locations=None, as_of: date | None = None) -> dict:
    w = Window(start, end, as_of or today())
    last = w.last
    window = (
        counted_visits(locations, start=start, end=last)
        if last >= start
        else Visit.objects.none().annotate(day=_visit_day())
    )
    totals = window.aggregate(
        visits=Count("pk"), revenue=Sum("total"), active=Count("customer_id", distinct=True)
    )
    visits = totals["visits"]
    revenue = (totals["revenue"] or ZERO).quantize(Decimal("0.01"))
    active = totals["active"]
    new = new_customers_qs(start=start, end=last, locations=locations, window=window) if visits else None
    new_count = new.count() if new is not None else 0
    repeaters = (
        window.values("customer_id").annotate(days=Count("day", distinct=True)).filter(days__gte=2).count()
        if visits
        else 0
    )
    old_enough = w.as_of - timedelta(days=90) if w.as_of > date.min + timedelta(days=90) else None
    cohort = new.filter(first_day__lte=old_enough) if new is not None and old_enough else None
    cohort_size = cohort.count() if cohort is not None else 0
    revisit = _rate(_revisits(cohort, w.as_of), cohort_size) if cohort_size else None
    no_show, cancelled = _appointment_rates(locations, start, last) if last >= start else (None, None)
    from feedback.models import Survey
    from feedback.selectors import score_summary

    scores = score_summary(Survey.objects.filter(visit__in=window.values("pk")))
    return {
        "start": start,
        "end": end,
        "as_of": w.as_of,
        "visits": visits,
        "revenue": revenue,
        "avg_ticket": (revenue / visits).quantize(Decimal("0.01"), ROUND_HALF_UP) if visits else None,
        "active_customers": active,
        "new_customers": new_count,
        "returning_customers": active - new_count,
        "repurchase_rate": _rate(repeaters, active),
        "revisit_90d": revisit,
        "rebooking_rate": _rate(_rebooked(window), visits) if visits else None,
        "no_show_rate": no_show,
        "cancellation_rate": cancelled,
        "csat": scores["csat"],
        "csat_responses": scores["csat_n"],
        "nps": scores["nps"],
        "nps_responses": scores["nps_n"],
        "survey_response_rate": scores["response_rate"],
    }


# ---- lifecycle ----------------------------------------------------------------------------------


def _thresholds() -> dict:
    return {
        "dormant_days": settings.ANALYTICS_DORMANT_DAYS,
        "lost_days": settings.ANALYTICS_LOST_DAYS,
        "dormant_factor": settings.ANALYTICS_DORMANT_FACTOR,
        "lost_factor": settings.ANALYTICS_LOST_FACTOR,
        "new_days": settings.ANALYTICS_NEW_DAYS,
    }


def stage_of(*, days: list[date], as_of: date) -> str:
    """One client's stage from their visit days up to as_of (sorted, distinct); [] = potential.
    The reference implementation the SQL is tested against."""
    if not days:
        return "potential"
    t = _thresholds()
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    m = median(gaps) if len(days) >= 3 else None
    dormant_after = max(t["dormant_days"], t["dormant_factor"] * m) if m is not None else t["dormant_days"]
    lost_after = max(t["lost_days"], t["lost_factor"] * m) if m is not None else t["lost_days"]
    gap = (as_of - days[-1]).days
    if gap > lost_after:
        return "lost"
    if gap > dormant_after:
        return "dormant"
    if (as_of - days[0]).days <= t["new_days"]:
        return "new"
    return "active"


def _population(as_of: date, locations=None):
    """The clients that exist on as_of: not erased, first seen (created) on or before it, or
    with a visit by then; with `locations`, those whose home is there or who visited there."""
    zone_end = (
        datetime.combine(as_of + timedelta(days=1), time.min, timezone.get_default_timezone())
        if as_of < date.max
        else None
    )
    had_visit = counted_visits(locations, end=as_of).filter(customer=OuterRef("pk"))
    qs = Customer.objects.active()
    if locations is not None:
        qs = qs.filter(Q(home_location__in=list(locations)) | Exists(had_visit))
    if zone_end is None:  # the last day of the calendar: everyone was first seen by then
        return qs
    return qs.filter(Q(created_at__lt=zone_end) | Exists(had_visit))


LIFECYCLE_CTE = """
WITH pop AS ({population}),
days AS (
    SELECT DISTINCT v.customer_id, (timezone(l.time_zone, v.started_at))::date AS day
    FROM appointments_visit v JOIN accounts_location l ON l.id = v.location_id
    WHERE v.status = 'completed' AND v.started_at < %(upper)s AND v.customer_id IN (SELECT pop.pk FROM pop)
),
gaps AS (
    SELECT customer_id, day, day - lag(day) OVER (PARTITION BY customer_id ORDER BY day) AS gap
    FROM days WHERE day <= %(as_of)s
),
per AS (
    SELECT customer_id, min(day) AS first, max(day) AS last, count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) FILTER (WHERE gap IS NOT NULL) AS m
    FROM gaps GROUP BY customer_id
),
staged AS (
    SELECT customer_id, CASE
        WHEN (%(as_of)s::date - last) > GREATEST(%(lost_days)s, CASE WHEN n >= 3 THEN %(lost_factor)s * m END) THEN 'lost'
        WHEN (%(as_of)s::date - last) > GREATEST(%(dormant_days)s, CASE WHEN n >= 3 THEN %(dormant_factor)s * m END) THEN 'dormant'
        WHEN (%(as_of)s::date - first) <= %(new_days)s THEN 'new'
        ELSE 'active' END AS stage
    FROM per
)
"""
LIFECYCLE_SQL = (
    LIFECYCLE_CTE
    + """SELECT stage, count(*) FROM staged GROUP BY stage
UNION ALL
SELECT 'potential', count(*) FROM pop WHERE pk NOT IN (SELECT customer_id FROM per)
"""
)
# the clients at one stage (the funnel's drill-down): the same CTEs, so the same counts
LIFECYCLE_MEMBERS_SQL = (
    LIFECYCLE_CTE
    + """SELECT customer_id FROM staged WHERE stage = %(stage)s
UNION ALL
SELECT pk FROM pop WHERE %(stage)s = 'potential' AND pk NOT IN (SELECT customer_id FROM per)
"""
)


def _positional(template: str, named: dict, population_sql: str, population_params) -> tuple[str, list]:
    """The template with {population} and %(name)s placeholders as one positional query."""
    parts, params, at = [], [], 0
    for match in re.finditer(r"\{population\}|%\((\w+)\)s", template):
        parts.append(template[at : match.start()])
        if match.group(1):
            parts.append("%s")
            params.append(named[match.group(1)])
        else:
            parts.append(population_sql)
            params.extend(population_params)
        at = match.end()
    parts.append(template[at:])
    return "".join(parts), params


def _lifecycle_sql(template: str, population, as_of: date, **named) -> tuple[str, list]:
    pop_sql, pop_params = population.query.sql_with_params()
    if as_of < date.max - timedelta(days=2):
        upper = datetime.combine(as_of, time.min, UTC) + timedelta(days=2)
    else:
        upper = datetime.max.replace(tzinfo=UTC)
    return _positional(
        template, {"as_of": as_of, "upper": upper, **_thresholds(), **named}, pop_sql, pop_params
    )


def _stages_in_python(population, as_of: date) -> dict[int, str]:
    """{client: stage} by stage_of (SQLite, the quick start): a loop the PostgreSQL path avoids."""
    days: dict[int, set[date]] = {pk: set() for pk in population.values_list("pk", flat=True)}
    for customer_id, day in (
        counted_visits(end=as_of).filter(customer_id__in=list(days)).values_list("customer_id", "day")
    ):
        days[customer_id].add(day)
    return {pk: stage_of(days=sorted(visit_days), as_of=as_of) for pk, visit_days in days.items()}


def lifecycle_members(*, as_of: date, stage: str, locations=None):
    """The clients `lifecycle` counts at `stage` on as_of, as a queryset of active clients (one
    query when evaluated; its count() is the funnel's number)."""
    if stage not in STAGES:
        raise ValueError(stage)
    population = _population(as_of, locations).values("pk")
    if connection.vendor == "postgresql":
        sql, params = _lifecycle_sql(LIFECYCLE_MEMBERS_SQL, population, as_of, stage=stage)
        return Customer.objects.filter(pk__in=RawSQL(sql, params))
    staged = _stages_in_python(population, as_of)
    return Customer.objects.filter(pk__in=[pk for pk, s in staged.items() if s == stage])


def lifecycle(*, as_of: date, locations=None) -> dict:
    population = _population(as_of, locations).values("pk")
    counts = dict.fromkeys(STAGES, 0)
    if connection.vendor == "postgresql":
        sql, params = _lifecycle_sql(LIFECYCLE_SQL, population, as_of)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for stage, n in cursor.fetchall():
                counts[stage] += n
    else:
        for stage in _stages_in_python(population, as_of).values():
            counts[stage] += 1
    return {"as_of": as_of, **counts}
