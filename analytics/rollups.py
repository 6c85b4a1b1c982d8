"""Building the roll-ups (analytics.models) with set-based SQL, and reading METRICS.md's summary
back from them (`summary`, the same answer as analytics.metrics.summary without touching a
visit row, cached until the roll-ups change), and the lifecycle where they answer it exactly
(`lifecycle`).

`rebuild()` recomputes everything (nightly, `manage.py compute_analytics`); `rebuild_days(pairs)`
only the (location, day) pairs a checkout or a void touched since (DirtyDay, every few minutes).
The INSERT … SELECT statements are compiled from querysets, so the local-day function is each
database's own (PostgreSQL in production, SQLite in the quick start)."""

import hashlib
import logging
import uuid
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
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

from analytics import breakdowns, churn, client_days, metrics, snapshots
from analytics import lifecycle as lifecycle_changes
from analytics.metrics import _rate, counted_visits, today
from analytics.models import CustomerMetrics, DailyStats, DirtyDay, RollupState, VisitDay
from analytics.sql import LocalDate, insert_select, pairs_q
from appointments.models import Appointment, AppointmentStatus, Visit
from appointments.selectors import visits_counted

ZERO = Decimal("0")
log = logging.getLogger(__name__)


# ---- visit days ---------------------------------------------------------------------------------


def _visit_days(pairs=None):
    qs = counted_visits()
    if pairs is not None:
        qs = qs.filter(pairs_q(pairs))
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
        visits = visits.filter(pairs_q(pairs))
    # visits and revenue from the visit days just written (same transaction): no second pass
    # over the visits
    days = VisitDay.objects.all()
    if pairs is not None:
        days = days.filter(pairs_q(pairs))
    for r in (
        days.values("location_id", "day").annotate(visits=Sum("visits"), revenue=Sum("revenue")).order_by()
    ):
        rows[(r.pop("location_id"), r.pop("day"))].update(r)
    # Rebooking (METRICS.md) depends only on the client, the visit's zone and its local day, so
    # every visit of a visit day shares the answer: count the visit days that held a booking, as
    # a semi-join (WHERE EXISTS: one hash join) rather than a subplan per visit.
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
        days.filter(Exists(held))
        .values("location_id", "day")
        .annotate(rebooked_visits=Sum("visits"))
        .order_by()
    ):
        rows[(r.pop("location_id"), r.pop("day"))].update(r)
    appointments = Appointment.objects.annotate(day=LocalDate(F("start"), F("location__time_zone")))
    if pairs is not None:
        appointments = appointments.filter(pairs_q(pairs))
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


# PostgreSQL: every client figure in one pass over the visit days (sorted once by client and day),
# the first location by DISTINCT ON over the visits (no subquery per client), and with
# {scores} the RFM quintiles of RFM_SQL computed in the same INSERT instead of an UPDATE of
# every row. The quick start (SQLite) keeps the portable queryset above (median_gap then in Python).
CUSTOMER_METRICS_SQL = """
INSERT INTO analytics_customermetrics (
    customer_id, first_day, first_location_id, last_day, second_day, median_gap, visit_days, visits,
    revenue, visits_12m, revenue_12m, recency_score, frequency_score, monetary_score, as_of
)
WITH days AS (
    -- nth: the rank of the row's day among the client's distinct visit days (a day at two
    -- locations is two rows, one visit day); gap: days since the previous visit day, on the
    -- first row of each visit day only
    SELECT customer_id, day, visits, revenue, dense_rank() OVER w AS nth,
           CASE WHEN day > lag(day) OVER w THEN day - lag(day) OVER w END AS gap
    FROM analytics_visitday {where}
    WINDOW w AS (PARTITION BY customer_id ORDER BY day)
),
per AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day,
           min(day) FILTER (WHERE nth = 2) AS second_day,
           CASE WHEN max(nth) >= 3 THEN
               percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) FILTER (WHERE gap IS NOT NULL)
           END AS median_gap,
           max(nth) AS visit_days, sum(visits) AS visits, sum(revenue) AS revenue,
           coalesce(sum(visits) FILTER (WHERE day > %(year_ago)s AND day <= %(as_of)s), 0) AS visits_12m,
           coalesce(sum(revenue) FILTER (WHERE day > %(year_ago)s AND day <= %(as_of)s), 0) AS revenue_12m
    FROM days GROUP BY customer_id
),
firsts AS (
    SELECT DISTINCT ON (customer_id) customer_id, location_id
    FROM appointments_visit WHERE status = %(completed)s {and_customers}
    ORDER BY customer_id, started_at, id
)
SELECT p.customer_id, p.first_day, f.location_id, p.last_day, p.second_day, p.median_gap, p.visit_days,
       p.visits, p.revenue, p.visits_12m, p.revenue_12m, {scores}, %(as_of)s
FROM per p JOIN firsts f ON f.customer_id = p.customer_id
"""
SCORES_SQL = """(5 * count(*) OVER (ORDER BY p.last_day) + count(*) OVER () - 1) / count(*) OVER (),
       (5 * count(*) OVER (ORDER BY p.visits_12m) + count(*) OVER () - 1) / count(*) OVER (),
       (5 * count(*) OVER (ORDER BY p.revenue_12m) + count(*) OVER () - 1) / count(*) OVER ()"""


def _write_customer_metrics(as_of: date, customers=None) -> int:
    """CustomerMetrics rows for every client with a visit day (with RFM scores), or for
    `customers` only (scores 0 here: rebuild_days carries their last scores over)."""
    if connection.vendor != "postgresql":
        clients = insert_select(CustomerMetrics, METRIC_FIELDS, _customer_metrics(as_of, customers))
        _median_gaps_in_python(customers)
        if customers is None:
            _score_rfm()
        return clients
    year_ago = as_of - timedelta(days=365) if as_of > date.min + timedelta(days=366) else date.min
    params = {"as_of": as_of, "year_ago": year_ago, "completed": Visit.Status.COMPLETED.value}
    if customers is None:
        where = and_customers = ""
        scores = SCORES_SQL
    else:
        params["customers"] = sorted(customers)
        where = "WHERE customer_id = ANY(%(customers)s)"
        and_customers = "AND customer_id = ANY(%(customers)s)"
        scores = "0, 0, 0"
    sql = CUSTOMER_METRICS_SQL.format(where=where, and_customers=and_customers, scores=scores)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _median_gaps_in_python(customers=None) -> None:
    """SQLite (the quick start) has no percentile: the median gap of the clients with three
    visit days or more, from their visit days (a loop the PostgreSQL path does in SQL)."""
    days: dict[int, set] = defaultdict(set)
    rows = (
        VisitDay.objects.all()
        if customers is None
        else VisitDay.objects.filter(customer_id__in=list(customers))
    )
    for pk, day in rows.values_list("customer_id", "day"):
        days[pk].add(day)
    medians = {}
    for pk, found in days.items():
        if len(found) >= 3:
            ordered = sorted(found)
            medians[pk] = float(median((b - a).days for a, b in zip(ordered, ordered[1:], strict=False)))
    CustomerMetrics.objects.bulk_update(
        [CustomerMetrics(customer_id=pk, median_gap=m) for pk, m in medians.items()],
        ["median_gap"],
        batch_size=500,
    )


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


def _tune(*, work_mem: str) -> None:
    """PostgreSQL, for the rest of this transaction: sorts and hashes in memory (the default 4 MB
    spilled ~800 MB to disk), and no JIT (seconds of compiling per statement, nothing gained)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('work_mem', %s, true), set_config('maintenance_work_mem', %s, true),"
                " set_config('jit', 'off', true)",
                [work_mem, work_mem],
            )


def _analyze(*models) -> None:
    """Fresh planner statistics for the rebuilt tables (ANALYZE may run inside a transaction): the
    planner otherwise reads a year's 2.7 M visit days as 20 thousand."""
    if connection.vendor == "postgresql":
        tables = ", ".join(m._meta.db_table for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")


@contextmanager
def _indexes_built_after(model):
    """PostgreSQL: the model's secondary indexes dropped while its table is filled and built
    again at the end (one sort each instead of millions of scattered inserts: 62 s of the
    VisitDay INSERT). Inside rebuild's transaction, after its TRUNCATE, so no reader sees the
    table without them."""
    if connection.vendor != "postgresql":
        yield
        return
    indexes = list(model._meta.indexes)
    with connection.schema_editor(atomic=False) as editor:
        for index in indexes:
            editor.remove_index(model, index)
    yield
    with connection.schema_editor(atomic=False) as editor:
        for index in indexes:
            editor.add_index(model, index)


def rebuild(*, as_of: date | None = None) -> dict:
    """Every roll-up from scratch, in one transaction (on PostgreSQL its TRUNCATE makes readers of
    the roll-ups wait until it commits, the cached summary's generation check included). Returns
    the row counts. Run on its own (not inside a transaction: the nightly task, compute_analytics), it
    then VACUUMs the visit days and client figures so the summary's index-only scans need no
    heap visit."""
    result = _rebuild(as_of=as_of)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            for model in (VisitDay, CustomerMetrics):
                cursor.execute(f"VACUUM {connection.ops.quote_name(model._meta.db_table)}")
    return result


@transaction.atomic
def _rebuild(*, as_of: date | None = None) -> dict:
    as_of = as_of or today()
    _tune(work_mem="256MB")
    DirtyDay.objects.all().delete()
    _truncate(VisitDay, DailyStats, CustomerMetrics)
    with _indexes_built_after(VisitDay):
        days = insert_select(VisitDay, ["customer", "location", "day", "visits", "revenue"], _visit_days())
    _analyze(VisitDay)  # the daily figures and client figures below read it
    daily = _write_daily(_daily())
    with _indexes_built_after(CustomerMetrics):
        clients = _write_customer_metrics(as_of)
    breakdowns.refresh(as_of=as_of)  # sales by line and stylist minutes
    _analyze(DailyStats, CustomerMetrics)
    inputs = lifecycle_changes.read_inputs()  # the visit days and clients, read once for both:
    changes = lifecycle_changes.refresh(inputs)  # the funnel as of any day
    day_rows = client_days.rebuild(inputs[1])  # the distinct clients of any window
    model = churn.refresh(as_of, inputs[1])  # fit, score every client, calibrate
    del inputs
    snapshots.refresh()  # first visits per day, clients per tier
    _changed()
    return dict(
        visit_days=days,
        daily=daily,
        clients=clients,
        lifecycle_changes=changes,
        client_days=day_rows,
        churn_scores=model["scored"],
        churn_converged=model["converged"],
    )


@transaction.atomic
def rebuild_days(pairs, *, as_of: date | None = None, whole_chain: bool = True) -> dict:
    """Only these (location_id, day) pairs, and the clients who had or have a visit there; then,
    with `whole_chain`, the figures recomputed over every client at each refresh (the lifecycle's
    stage changes, first visits, clients per tier: ~8 s at a million clients). A merge passes
    False (it answers in the request): those wait for the next dirty run, which its dirty marks
    guarantee, and the funnel is counted the exact slower way until then (the merge bumped the
    lifecycle's version)."""
    pairs = set(pairs)
    if not pairs:
        return {"visit_days": 0, "daily": 0, "clients": 0}
    as_of = as_of or today()
    _tune(work_mem="64MB")
    old = set(VisitDay.objects.filter(pairs_q(pairs)).values_list("customer_id", flat=True))
    VisitDay.objects.filter(pairs_q(pairs)).delete()
    DailyStats.objects.filter(pairs_q(pairs)).delete()
    days = insert_select(VisitDay, ["customer", "location", "day", "visits", "revenue"], _visit_days(pairs))
    daily = _write_daily(_daily(pairs))
    touched = old | set(VisitDay.objects.filter(pairs_q(pairs)).values_list("customer_id", flat=True))
    # the touched clients keep their last nightly RFM scores until the next one (a quintile
    # needs every client's figures; a new client has none yet: 0, "not scored")
    scores = {
        pk: (r, f, m)
        for pk, r, f, m in CustomerMetrics.objects.filter(customer_id__in=touched).values_list(
            "customer_id", "recency_score", "frequency_score", "monetary_score"
        )
    }
    CustomerMetrics.objects.filter(customer_id__in=touched).delete()
    clients = _write_customer_metrics(as_of, customers=touched)
    kept = [
        CustomerMetrics(customer_id=pk, recency_score=r, frequency_score=f, monetary_score=m)
        for pk, (r, f, m) in scores.items()
        if r or f or m
    ]
    CustomerMetrics.objects.bulk_update(
        kept, ["recency_score", "frequency_score", "monetary_score"], batch_size=1000
    )
    breakdowns.refresh(pairs, as_of=as_of)  # sales by line and stylist minutes
    changes = lifecycle_changes.refresh() if whole_chain else 0  # stages follow the visit days
    day_rows = client_days.rebuild_days(pairs)
    if whole_chain:
        snapshots.refresh()
    _changed()
    return dict(
        visit_days=days, daily=daily, clients=clients, lifecycle_changes=changes, client_days=day_rows
    )


def rebuild_dirty(*, as_of: date | None = None) -> dict:
    with transaction.atomic():
        dirty = list(
            DirtyDay.objects.select_for_update(skip_locked=True).values_list("pk", "location_id", "day")
        )
        result = rebuild_days({(loc, d) for _pk, loc, d in dirty}, as_of=as_of)
        DirtyDay.objects.filter(pk__in=[pk for pk, _loc, _d in dirty]).delete()
        if not dirty and lifecycle_changes.stale():  # a client erased, merged or moved home
            result["lifecycle_changes"] = lifecycle_changes.refresh()
            snapshots.refresh()
            _changed()
    return result


def mark_dirty(*, visit: Visit) -> None:
    day = timezone.localtime(visit.started_at, visit.location.tz).date()
    DirtyDay.objects.get_or_create(location_id=visit.location_id, day=day)


# ---- reading the summary back -----------------------------------------------------------------
#
# The answers are cached (Django's cache) under the arguments and the roll-ups' generation: a
# random token every rebuild / rebuild_days replaces (at once and again when it commits), with the
# daily figures' latest computed_at and row count (read from the database in the same request,
# so an answer cached from figures another transaction has since replaced is never read back).
# Without a cache (Redis down) the answer is computed.

GENERATION_KEY = "analytics:rollups:generation"
SUMMARY_SECONDS = 24 * 3600


def _set_generation() -> None:
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    except Exception:  # the cache is down: the database marker in the key still changes
        log.warning("analytics: could not renew the roll-ups' cache generation", exc_info=True)


def _changed() -> None:
    """The roll-ups changed: no cached answer computed from the old ones is read again (the
    database counter moves with this transaction; the cache token at once and at its commit)."""
    if not RollupState.objects.filter(pk=1).update(generation=F("generation") + 1):
        RollupState.objects.create(pk=1, generation=1)
    _set_generation()
    transaction.on_commit(_set_generation)  # and none computed while this transaction ran


# One row that no rebuild truncates: while the nightly rebuild holds its tables (TRUNCATE, ~2
# minutes at a million clients), this still answers at once, so every page cached from the
# previous roll-ups keeps being served until the new ones commit.
CLIENTS_MARKER_SQL = """SELECT s.generation,
    (SELECT max(id) FROM customers_customer), (SELECT max(id) FROM loyalty_tierchange), s.version
FROM (SELECT 1 AS one) AS o LEFT JOIN analytics_rollupstate s ON s.id = 1"""


def generation(*, clients: bool = False):
    """The roll-ups' current generation, or None when nothing should be cached (never rolled up,
    or no cache). With `clients`: (generation, clients marker), in the same one query: the
    marker (the newest client and tier change, two index lookups) is what the sections read
    from the clients and their tiers are cached under too (dashboard.funnel, cohorts.tiers): a new
    client, a tier change, an erasure, a merge or a move of home location (analytics.lifecycle's
    version) counts at once. Reads only RollupState's row (never blocked by a rebuild)."""
    if clients:
        with connection.cursor() as cursor:
            cursor.execute(CLIENTS_MARKER_SQL)
            counter, newest_client, newest_change, erasures = cursor.fetchone()
        newest = f"{newest_client}:{newest_change}:{erasures}"
    else:
        counter = RollupState.objects.filter(pk=1).values_list("generation", flat=True).first()
    gen = _generation(counter)
    return (gen, newest) if clients else gen


def _generation(counter: int | None) -> str | None:
    if not counter:
        return None
    try:
        token = cache.get(GENERATION_KEY)
        if token is None:
            cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
            token = cache.get(GENERATION_KEY)
    except Exception:
        log.warning("analytics: the cache is unavailable; summary not cached", exc_info=True)
        return None
    if token is None:
        return None
    return f"{token}:{counter}"


def _pks(locations) -> list[int]:
    return [getattr(loc, "pk", loc) for loc in locations]


_LOOK_UP = object()


def where_key(locations) -> str:
    """The locations as a cache key's part: "all" (the chain) or their sorted ids."""
    return "all" if locations is None else ",".join(str(pk) for pk in sorted(_pks(locations)))


def cached(name: str, parts, compute, *, gen=_LOOK_UP):
    """compute()'s answer, cached under `name`, `parts` (the arguments: dates, location ids, the
    language when the answer holds translated text) and the roll-ups' generation, so it is never
    read back once the roll-ups have changed. `gen`: a generation the caller already read (one
    query for a page of cached sections), or None not to cache. No cache (Redis down): computed."""
    if gen is _LOOK_UP:
        gen = generation()
    if gen is None:
        return compute()
    raw = "|".join([gen, *(str(p) for p in parts)])
    key = f"analytics:{name}:" + hashlib.sha256(raw.encode()).hexdigest()
    try:
        found = cache.get(key)
    except Exception:
        found = None
    if found is not None:
        return found
    answer = compute()
    try:
        cache.set(key, answer, SUMMARY_SECONDS)
    except Exception:
        log.warning("analytics: could not cache %s", name, exc_info=True)
    return answer


def summary(*, start: date, end: date, locations=None, as_of: date | None = None, gen=_LOOK_UP) -> dict:
    """analytics.metrics.summary's answer from the roll-ups: constant work per day and location,
    no visit row read; cached until the roll-ups change."""
    as_of = as_of or today()
    if gen is _LOOK_UP:
        gen = generation()
    return cached(
        "summary",
        (start, end, where_key(locations), as_of),
        lambda: _summary(start=start, end=end, locations=locations, as_of=as_of, gen=gen),
        gen=gen,
    )


def window_clients(*, start: date, last: date, locations=None, gen=None) -> tuple[int, int]:
    """clients_in_window, cached under `gen` (None: not cached): the summary and the dashboard's
    repurchase tile ask the same window once."""
    return cached(
        "window_clients",
        (start, last, where_key(locations)),
        lambda: clients_in_window(start=start, last=last, locations=locations),
        gen=gen,
    )


def _clients_in_window(where: Q) -> tuple[int, int]:
    """(active clients, clients with 2+ visit days) in one scan: per client the first and last
    visit day in the window; two visit days or more when they differ."""
    per = (
        VisitDay.objects.filter(where).values("customer_id").annotate(lo=Min("day"), hi=Max("day")).order_by()
    )
    try:
        sql, params = per.query.sql_with_params()
    except EmptyResultSet:  # no location at all (a manager without one)
        return 0, 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(sum(CASE WHEN w.lo < w.hi THEN 1 ELSE 0 END), 0) FROM ({sql}) w",
            params,
        )
        active, repeaters = cursor.fetchone()
    return int(active), int(repeaters)


def clients_in_window(*, start: date, last: date, locations=None) -> tuple[int, int]:
    """(active clients, clients with two visit days or more) from start to last: the summary's
    active_customers and its repurchase rate's numerator. From the clients of each day (one row
    per day: analytics.client_days) once built, otherwise from the visit days (one scan)."""
    if locations is not None and not _pks(locations):
        return 0, 0
    answer = client_days.in_window(
        start=start, last=last, location_ids=None if locations is None else _pks(locations)
    )
    if answer is not None:
        return answer
    where = Q(day__gte=start, day__lte=last)
    if locations is not None:
        where &= Q(location__in=_pks(locations))
    return _clients_in_window(where)


def _newcomers(*, start: date, last: date, locations, as_of: date) -> tuple[int, int, int]:
    """(new clients, the 90-day cohort, those of it back within 90 days) from CustomerMetrics in
    one query, where analytics.snapshots has no rows (SQLite, before the first refresh): the
    cohort's first day is at least 90 days before as_of; the earliest later visit day is the
    second one, within 90 days and by as_of."""
    new = CustomerMetrics.objects.filter(first_day__gte=start, first_day__lte=last)
    if locations is not None:
        new = new.filter(first_location__in=_pks(locations))
    old_enough = as_of - timedelta(days=90) if as_of > date.min + timedelta(days=90) else None
    in_cohort = Q(first_day__lte=old_enough) if old_enough else Q(first_day__lt=date.min)
    back = (
        in_cohort
        & Q(second_day__lte=as_of)
        & Q(second_day__lte=ExpressionWrapper(F("first_day") + timedelta(days=90), output_field=DateField()))
    )
    counts = new.aggregate(
        new=Count("pk"), cohort=Count("pk", filter=in_cohort), back=Count("pk", filter=back)
    )
    return counts["new"], counts["cohort"], counts["back"]


def _summary(*, start: date, end: date, locations, as_of: date, gen=None) -> dict:
    last = min(end, as_of)
    where = Q(day__gte=start, day__lte=last)
    if locations is not None:
        where &= Q(location__in=_pks(locations))
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
    active, repeaters = window_clients(start=start, last=last, locations=locations, gen=gen)
    found = snapshots.newcomers(
        start=start, last=last, location_ids=None if locations is None else _pks(locations), as_of=as_of
    )
    if found is not None:
        new_count, cohort, back = found
    else:
        new_count, cohort, back = _newcomers(start=start, last=last, locations=locations, as_of=as_of)
    revisit = _rate(back, cohort) if cohort else None
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


# ---- the lifecycle from the client figures --------------------------------------------------------

LIFECYCLE_SQL = """
SELECT stage, count(*) FROM (
    SELECT CASE
        WHEN m.customer_id IS NULL THEN 'potential'
        WHEN (%s::date - m.last_day) > GREATEST(%s, CASE WHEN m.visit_days >= 3 THEN %s * m.median_gap END)
            THEN 'lost'
        WHEN (%s::date - m.last_day) > GREATEST(%s, CASE WHEN m.visit_days >= 3 THEN %s * m.median_gap END)
            THEN 'dormant'
        WHEN (%s::date - m.first_day) <= %s THEN 'new'
        ELSE 'active' END AS stage
    FROM ({population}) AS p LEFT JOIN analytics_customermetrics m ON m.customer_id = p.id
) AS s GROUP BY stage
"""


def lifecycle(*, as_of: date, locations=None) -> dict | None:
    """analytics.metrics.lifecycle's answer from the roll-ups, or None where they cannot give
    exactly that answer. The chain, one location or a manager's set of locations: from the stage
    changes (analytics.lifecycle: any day, two small queries) while they are current. Other sets
    of locations, or the changes not current: from CustomerMetrics (one scan of the clients), PostgreSQL only (SQLite keeps no
    median gap) and only when no visit day is dated after as_of (the client figures count every
    visit day, the definition only those up to as_of: a past date is answered from the raw visits)."""
    from customers.models import Customer

    if locations is not None and not _pks(locations):
        return None
    if locations is None:
        counts = lifecycle_changes.counts(as_of=as_of)
    elif len(_pks(locations)) == 1:
        counts = lifecycle_changes.counts(as_of=as_of, location=_pks(locations)[0])
    else:  # a manager's set of locations: kept when a manager has exactly it
        counts = lifecycle_changes.counts(as_of=as_of, locations=_pks(locations))
    if counts is not None:
        return {"as_of": as_of, **counts}
    if connection.vendor != "postgresql":
        return None
    if VisitDay.objects.filter(day__gt=as_of).exists():
        return None
    has_figures = CustomerMetrics.objects.filter(customer_id=OuterRef("pk"))
    population = Customer.objects.active()
    if locations is not None:
        pks = _pks(locations)
        visited = VisitDay.objects.filter(customer_id=OuterRef("pk"), location__in=pks)
        population = population.filter(Q(home_location__in=pks) | Exists(visited))
    if as_of < date.max:  # as metrics._population: first seen (created) by the end of as_of
        zone_end = datetime.combine(as_of + timedelta(days=1), time.min, timezone.get_default_timezone())
        population = population.filter(Q(created_at__lt=zone_end) | Exists(has_figures))
    pop_sql, pop_params = population.values("id").query.sql_with_params()
    t = metrics._thresholds()
    params = [
        as_of,
        t["lost_days"],
        t["lost_factor"],
        as_of,
        t["dormant_days"],
        t["dormant_factor"],
        as_of,
        t["new_days"],
    ]
    counts = dict.fromkeys(metrics.STAGES, 0)
    with connection.cursor() as cursor:
        cursor.execute(LIFECYCLE_SQL.replace("{population}", pop_sql), [*params, *pop_params])
        for stage, n in cursor.fetchall():
            counts[stage] += n
    return {"as_of": as_of, **counts}
