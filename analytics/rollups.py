"""Building the roll-ups (analytics.models) with set-based SQL, and reading METRICS.md's summary
back from them (`summary`, the same answer as analytics.metrics.summary without touching a
visit row).

`rebuild()` recomputes everything (nightly, `manage.py compute_analytics`); `rebuild_days(pairs)`
only the (location, day) pairs a checkout or a void touched since (DirtyDay, every few minutes).
The INSERT … SELECT statements are compiled from querysets, so the local-day function is each
database's own (PostgreSQL in production, SQLite in the quick start)."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import (
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.metrics import _rate, counted_visits, today
from analytics.models import CustomerMetrics, DailyStats, DirtyDay, VisitDay
from analytics.sql import LocalDate
from appointments.models import Appointment, AppointmentStatus, Visit
from appointments.selectors import visits_counted

ZERO = Decimal("0")


def _insert_select(model, fields: list[str], qs) -> int:
    sql, params = qs.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {sql}", params)
        return cursor.rowcount


def _pairs_q(pairs, *, location="location_id", day="day") -> Q:
    q = Q(pk__in=[])
    by_location = defaultdict(set)
    for location_id, d in pairs:
        by_location[location_id].add(d)
    for location_id, days in by_location.items():
        q |= Q(**{location: location_id, f"{day}__in": sorted(days)})
    return q


# ---- visit days ---------------------------------------------------------------------------------


def _visit_days(pairs=None):
    qs = counted_visits()
    if pairs is not None:
        qs = qs.filter(_pairs_q(pairs))
    return (
        qs.values("customer_id", "location_id", "day")
        .annotate(visits=Count("pk"), revenue=Sum("total"))
        .order_by()
    )


# ---- daily stats --------------------------------------------------------------------------------


def _daily(pairs=None) -> dict:
    """{(location_id, day): {counter: n}} from visits, appointments and surveys."""
    from feedback.models import Survey

    rows: dict = defaultdict(dict)
    visits = counted_visits()
    if pairs is not None:
        visits = visits.filter(_pairs_q(pairs))
    held = (
        Appointment.objects.filter(customer=OuterRef("customer_id"))
        .annotate(
            start_day=LocalDate(F("start"), F("location__time_zone")),
            made_day=LocalDate(F("created_at"), OuterRef("location__time_zone")),
            cancelled_day=LocalDate(F("cancelled_at"), OuterRef("location__time_zone")),
        )
        .filter(start_day__gt=OuterRef("day"), made_day__lte=OuterRef("day"))
        .filter(Q(cancelled_at__isnull=True) | Q(cancelled_day__gt=OuterRef("day")))
    )
    for r in (
        visits.values("location_id", "day")
        .annotate(
            visits=Count("pk"), revenue=Sum("total"), rebooked_visits=Count("pk", filter=Q(Exists(held)))
        )
        .order_by()
    ):
        rows[(r.pop("location_id"), r.pop("day"))].update(r)
    appointments = Appointment.objects.annotate(day=LocalDate(F("start"), F("location__time_zone")))
    if pairs is not None:
        appointments = appointments.filter(_pairs_q(pairs))
    for r in (
        appointments.values("location_id", "day")
        .annotate(
            appointments=Count("pk"),
            completed=Count("pk", filter=Q(status=AppointmentStatus.COMPLETED)),
            no_shows=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW)),
            cancelled=Count("pk", filter=Q(status=AppointmentStatus.CANCELLED)),
        )
        .order_by()
    ):
        rows[(r.pop("location_id"), r.pop("day"))].update(r)
    answered = Q(answered_at__isnull=False)
    surveys = Survey.objects.filter(visit__in=visits.values("pk")).annotate(
        day=LocalDate(F("visit__started_at"), F("visit__location__time_zone")), loc=F("visit__location_id")
    )
    for r in (
        surveys.values("loc", "day")
        .annotate(
            surveys_sent=Count("pk", filter=answered | Q(message__status__in=("sent", "delivered"))),
            surveys_answered=Count("pk", filter=answered),
            csat_responses=Count("pk", filter=answered & Q(csat__isnull=False)),
            csat_good=Count("pk", filter=answered & Q(csat__gte=4)),
            nps_responses=Count("pk", filter=answered & Q(nps__isnull=False)),
            promoters=Count("pk", filter=answered & Q(nps__gte=9)),
            detractors=Count("pk", filter=answered & Q(nps__lte=6)),
        )
        .order_by()
    ):
        rows[(r.pop("loc"), r.pop("day"))].update(r)
    return rows


def _write_daily(rows: dict) -> int:
    now = timezone.now()
    DailyStats.objects.bulk_create(
        [DailyStats(location_id=loc, day=d, computed_at=now, **values) for (loc, d), values in rows.items()],
        batch_size=2000,
    )
    return len(rows)


# ---- client figures -----------------------------------------------------------------------------


def _customer_metrics(as_of: date, customers=None):
    year_ago = as_of - timedelta(days=365) if as_of > date.min + timedelta(days=366) else date.min
    firsts = visits_counted().filter(customer=OuterRef("customer_id")).order_by("started_at", "pk")
    seconds = (
        VisitDay.objects.filter(customer_id=OuterRef("customer_id"))
        .values("day")
        .distinct()
        .order_by("day")[1:2]
    )
    qs = VisitDay.objects.all()
    if customers is not None:
        qs = qs.filter(customer_id__in=customers)
    return (
        qs.values("customer_id")
        .annotate(
            first_day=Min("day"),
            first_location=Subquery(firsts.values("location_id")[:1]),
            last_day=Max("day"),
            second=Subquery(seconds),
            visit_days=Count("day", distinct=True),
            visits_n=Sum("visits"),
            revenue_n=Sum("revenue"),
            visits_12m=Coalesce(Sum("visits", filter=Q(day__gt=year_ago, day__lte=as_of)), 0),
            revenue_12m=Coalesce(Sum("revenue", filter=Q(day__gt=year_ago, day__lte=as_of)), ZERO),
            as_of_day=Value(as_of, output_field=DateField()),
        )
        .order_by()
    )


METRIC_FIELDS = [
    "customer",
    "first_day",
    "first_location",
    "last_day",
    "second_day",
    "visit_days",
    "visits",
    "revenue",
    "visits_12m",
    "revenue_12m",
    "as_of",
]

RFM_SQL = """
UPDATE analytics_customermetrics SET recency_score = s.r, frequency_score = s.f, monetary_score = s.m
FROM (
    SELECT customer_id,
           (5 * count(*) OVER (ORDER BY last_day) + n - 1) / n AS r,
           (5 * count(*) OVER (ORDER BY visits_12m) + n - 1) / n AS f,
           (5 * count(*) OVER (ORDER BY revenue_12m) + n - 1) / n AS m
    FROM (SELECT *, count(*) OVER () AS n FROM analytics_customermetrics) AS c
) AS s
WHERE analytics_customermetrics.customer_id = s.customer_id
"""


def _score_rfm() -> None:
    """Quintiles 1–5 over every client with a visit: recency by the last visit day, frequency by
    visits in 12 months, monetary by spend in 12 months (5 = most recent / frequent / spending).
    A score is ceil(5 × the share of clients at or below the client's value), so equal values get
    equal scores and the top client always gets 5."""
    with connection.cursor() as cursor:
        cursor.execute(RFM_SQL)


# ---- rebuilding -------------------------------------------------------------------------------


def _truncate(*models) -> None:
    for model in models:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
                cursor.execute(f"TRUNCATE {connection.ops.quote_name(model._meta.db_table)}")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            model.objects.all().delete()


@transaction.atomic
def rebuild(*, as_of: date | None = None) -> dict:
    """Every roll-up from scratch, in one transaction (readers see the old figures until it
    commits). Returns the row counts."""
    as_of = as_of or today()
    DirtyDay.objects.all().delete()
    _truncate(VisitDay, DailyStats, CustomerMetrics)
    days = _insert_select(VisitDay, ["customer", "location", "day", "visits", "revenue"], _visit_days())
    daily = _write_daily(_daily())
    clients = _insert_select(CustomerMetrics, METRIC_FIELDS, _customer_metrics(as_of))
    _score_rfm()
    return {"visit_days": days, "daily": daily, "clients": clients}


@transaction.atomic
def rebuild_days(pairs, *, as_of: date | None = None) -> dict:
    """Only these (location_id, day) pairs, and the clients who had or have a visit there."""
    pairs = set(pairs)
    if not pairs:
        return {"visit_days": 0, "daily": 0, "clients": 0}
    as_of = as_of or today()
    old = set(VisitDay.objects.filter(_pairs_q(pairs)).values_list("customer_id", flat=True))
    VisitDay.objects.filter(_pairs_q(pairs)).delete()
    DailyStats.objects.filter(_pairs_q(pairs)).delete()
    days = _insert_select(VisitDay, ["customer", "location", "day", "visits", "revenue"], _visit_days(pairs))
    daily = _write_daily(_daily(pairs))
    touched = old | set(VisitDay.objects.filter(_pairs_q(pairs)).values_list("customer_id", flat=True))
    CustomerMetrics.objects.filter(customer_id__in=touched).delete()
    clients = _insert_select(CustomerMetrics, METRIC_FIELDS, _customer_metrics(as_of, customers=touched))
    return {"visit_days": days, "daily": daily, "clients": clients}


def rebuild_dirty(*, as_of: date | None = None) -> dict:
    with transaction.atomic():
        dirty = list(
            DirtyDay.objects.select_for_update(skip_locked=True).values_list("pk", "location_id", "day")
        )
        result = rebuild_days({(loc, d) for _pk, loc, d in dirty}, as_of=as_of)
        DirtyDay.objects.filter(pk__in=[pk for pk, _loc, _d in dirty]).delete()
    return result


def mark_dirty(*, visit: Visit) -> None:
    day = timezone.localtime(visit.started_at, visit.location.tz).date()
    DirtyDay.objects.get_or_create(location_id=visit.location_id, day=day)


# ---- reading the summary back -----------------------------------------------------------------


def summary(*, start: date, end: date, locations=None, as_of: date | None = None) -> dict:
    """analytics.metrics.summary's answer from the roll-ups: constant work per day and location,
    no visit row read."""
    as_of = as_of or today()
    last = min(end, as_of)
    where = Q(day__gte=start, day__lte=last)
    if locations is not None:
        where &= Q(location__in=list(locations))
    daily = DailyStats.objects.filter(where).aggregate(
        visits=Coalesce(Sum("visits"), 0),
        revenue=Coalesce(Sum("revenue"), ZERO),
        rebooked=Coalesce(Sum("rebooked_visits"), 0),
        appointments=Coalesce(Sum("appointments"), 0),
        completed=Coalesce(Sum("completed"), 0),
        no_shows=Coalesce(Sum("no_shows"), 0),
        cancelled=Coalesce(Sum("cancelled"), 0),
        sent=Coalesce(Sum("surveys_sent"), 0),
        answered=Coalesce(Sum("surveys_answered"), 0),
        csat_n=Coalesce(Sum("csat_responses"), 0),
        csat_good=Coalesce(Sum("csat_good"), 0),
        nps_n=Coalesce(Sum("nps_responses"), 0),
        promoters=Coalesce(Sum("promoters"), 0),
        detractors=Coalesce(Sum("detractors"), 0),
    )
    days = VisitDay.objects.filter(where)
    active = days.values("customer_id").distinct().count()
    repeaters = days.values("customer_id").annotate(n=Count("day", distinct=True)).filter(n__gte=2).count()
    new = CustomerMetrics.objects.filter(first_day__gte=start, first_day__lte=last)
    if locations is not None:
        new = new.filter(first_location__in=list(locations))
    new_count = new.count()
    revisit = None
    if as_of > date.min + timedelta(days=90):
        cohort = new.filter(first_day__lte=as_of - timedelta(days=90))
        size = cohort.count()
        if size:
            # the earliest later visit day is the second one: within 90 days and by as_of
            back = cohort.filter(second_day__lte=as_of).filter(
                second_day__lte=ExpressionWrapper(
                    F("first_day") + timedelta(days=90), output_field=DateField()
                )
            )
            revisit = _rate(back.count(), size)
    visits = daily["visits"]
    revenue = Decimal(daily["revenue"]).quantize(Decimal("0.01"))
    nps = daily["nps_n"]
    return {
        "start": start,
        "end": end,
        "as_of": as_of,
        "visits": visits,
        "revenue": revenue,
        "avg_ticket": (revenue / visits).quantize(Decimal("0.01"), ROUND_HALF_UP) if visits else None,
        "active_customers": active,
        "new_customers": new_count,
        "returning_customers": active - new_count,
        "repurchase_rate": _rate(repeaters, active),
        "revisit_90d": revisit,
        "rebooking_rate": _rate(daily["rebooked"], visits),
        "no_show_rate": _rate(daily["no_shows"], daily["no_shows"] + daily["completed"]),
        "cancellation_rate": _rate(daily["cancelled"], daily["appointments"]),
        "csat": _rate(daily["csat_good"], daily["csat_n"]),
        "csat_responses": daily["csat_n"],
        "nps": round(100 * (daily["promoters"] - daily["detractors"]) / nps, 1) if nps else None,
        "nps_responses": nps,
        "survey_response_rate": _rate(daily["answered"], daily["sent"]),
    }
