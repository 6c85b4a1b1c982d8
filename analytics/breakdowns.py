"""Revenue by service, category and stylist, and stylist utilisation (issue 13, item 3):
building their roll-ups (analytics.models.SalesDay, StaffDay), reading them for the dashboard,
and the rows behind every bar (the visits, lines and appointments /dashboard/visits/ lists).

What counts (docs/metrics.md, "Revenue by service, category and stylist; utilisation"):

- a line counts when its visit counts (a completed visit: analytics.metrics.counted_visits), on
  the visit's local day; its amount is the line's net amount (after its own and the member
  discount);
- revenue by service and by category: service lines only;
- revenue by stylist: the service and retail-product lines credited to them (tips, top-ups,
  packages, gift cards and fees are not a stylist's sales);
- what a visit's net total holds beyond its lines (a visit discount, less; an imported total
  without lines, more) is "not on a line": services + products + other sales + that = revenue;
- booked minutes: the services of appointments assigned to the stylist that were not cancelled
  (a no-show held the time, so it counts), on the local day the service starts; available
  minutes: the stylist's weekly hours at that location that weekday, in the location's time
  zone (a day the clocks change has its real length), less their time off. Utilisation = booked
  ÷ available, empty when nothing was available.

`refresh(pairs)` is what analytics.rollups.rebuild (pairs None: everything) and rebuild_days
call; every statement is set-based (INSERT … SELECT, or one SQL statement for the available
minutes on PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.dashboard import RATE, show
from analytics.metrics import _bounds, counted_visits, rebooked_visits, today
from analytics.models import MONEY, SalesDay, StaffDay
from analytics.sql import LocalDate, insert_select, pairs_q
from appointments.line_kinds import line_kind
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentStatus,
    Service,
    TimeOff,
    VisitLine,
    WorkingHours,
)

ZERO = Decimal("0")
SERVICE, PRODUCT = VisitLine.Kind.SERVICE.value, VisitLine.Kind.PRODUCT.value
CREDITED = (SERVICE, PRODUCT)  # what a stylist's revenue holds
UNALLOCATED = SalesDay.UNALLOCATED
TOP_SERVICES = 10  # the service chart's bars; the rest is one "other services" bar
SALES_FIELDS = ["location", "day", "kind", "service", "staff", "lines", "revenue"]


# ---- building the roll-ups ----------------------------------------------------------------------


def _lines(pairs=None):
    """Per location, local day, kind, service and staff member: the counted visits' lines."""
    qs = VisitLine.objects.filter(visit__in=counted_visits().values("pk")).annotate(
        loc=F("visit__location_id"),
        day=LocalDate(F("visit__started_at"), F("visit__location__time_zone")),
    )
    if pairs is not None:
        qs = qs.filter(pairs_q(pairs, location="visit__location_id"))
    return (
        qs.values("loc", "day", "kind", "service_id", "staff_id")
        .annotate(lines=Count("pk"), revenue=Sum("amount"))
        .order_by()
    )


def _line_total():
    """Per visit (OuterRef "pk"): the sum of its lines' net amounts."""
    return (
        VisitLine.objects.filter(visit=OuterRef("pk"))
        .order_by()
        .values("visit")
        .annotate(s=Sum("amount"))
        .values("s")
    )


def _with_rest(visits):
    """`rest`: what a visit's net total holds beyond its lines (less a visit discount; an
    imported total without lines)."""
    money = DecimalField(**MONEY)
    return visits.annotate(
        rest=ExpressionWrapper(
            F("total") - Coalesce(Subquery(_line_total(), output_field=money), Value(ZERO, money)),
            output_field=money,
        )
    ).exclude(rest=0)


def _unallocated(pairs=None):
    """Per location and local day, one row of kind UNALLOCATED: the visits' `rest`."""
    qs = counted_visits()
    if pairs is not None:
        qs = qs.filter(pairs_q(pairs, location="location_id"))
    return (
        _with_rest(qs)
        .values("location_id", "day")
        .annotate(
            kind=Value(UNALLOCATED),
            service=Value(None, output_field=IntegerField()),
            staff=Value(None, output_field=IntegerField()),
            lines=Count("pk"),
            revenue=Sum("rest"),
        )
        .order_by()
    )


def _items(pairs=None):
    """The appointment services that hold a stylist's time (not cancelled; a no-show did), with
    their location and local day."""
    qs = AppointmentItem.objects.exclude(appointment__status=AppointmentStatus.CANCELLED).annotate(
        loc=F("appointment__location_id"),
        day=LocalDate(F("start"), F("appointment__location__time_zone")),
    )
    if pairs is not None:
        qs = qs.filter(pairs_q(pairs, location="appointment__location_id"))
    return qs


def _booked(pairs=None) -> dict:
    """{(location_id, day, staff_id): minutes} (one query)."""
    length = ExpressionWrapper(F("end") - F("start"), output_field=DurationField())
    rows = _items(pairs).values("loc", "day", "staff_id").annotate(booked=Sum(length)).order_by()
    return {(r["loc"], r["day"], r["staff_id"]): round(r["booked"].total_seconds() / 60) for r in rows}


AVAILABLE_SQL = """
WITH days AS ({days}),
shifts AS (
    SELECT d.location_id, d.day, wh.staff_id,
           range_agg(tstzrange((d.day + wh.start) AT TIME ZONE d.zone,
                               (d.day + wh."end") AT TIME ZONE d.zone)) AS worked
    FROM days d
    JOIN appointments_workinghours wh
      ON wh.location_id = d.location_id AND wh.weekday = extract(isodow FROM d.day)::int - 1
    GROUP BY d.location_id, d.day, wh.staff_id
)
SELECT s.location_id, s.day, s.staff_id,
       (SELECT coalesce(sum(extract(epoch FROM upper(f) - lower(f))), 0)
        FROM unnest(s.worked - coalesce(
            (SELECT range_agg(tstzrange(t.start, t."end"))
             FROM appointments_timeoff t
             WHERE t.staff_id = s.staff_id AND t.start < upper(s.worked) AND t."end" > lower(s.worked)),
            '{{}}'::tstzmultirange)) AS f) AS seconds
FROM shifts s
"""
ALL_DAYS = """SELECT l.id AS location_id, l.time_zone AS zone, g::date AS day
    FROM accounts_location l CROSS JOIN generate_series(%s::date, %s::date, interval '1 day') AS g"""
SOME_DAYS = """SELECT l.id AS location_id, l.time_zone AS zone, p.day
    FROM unnest(%s::bigint[], %s::date[]) AS p(location_id, day)
    JOIN accounts_location l ON l.id = p.location_id"""


def _available_sql(days) -> dict:
    """{(location_id, day, staff_id): minutes} on PostgreSQL, in one statement: the shifts of
    each day as a multirange of real moments (wall-clock times in the location's zone), less a
    multirange of the stylist's time off."""
    if isinstance(days, tuple):
        sql, params = AVAILABLE_SQL.format(days=ALL_DAYS), list(days)
    else:
        pairs = sorted(days)
        sql = AVAILABLE_SQL.format(days=SOME_DAYS)
        params = [[loc for loc, _d in pairs], [d for _loc, d in pairs]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(loc, d, staff): round(float(seconds) / 60) for loc, d, staff, seconds in cursor.fetchall()}


def _available_python(days) -> dict:
    """The same as _available_sql, for SQLite (the quick start's few thousand rows)."""
    from accounts.models import Location

    zones = {loc.pk: loc.tz for loc in Location.objects.all()}
    if isinstance(days, tuple):
        first, last = days
        pairs = [(loc, first + timedelta(days=i)) for loc in zones for i in range((last - first).days + 1)]
    else:
        pairs = sorted(days)
    shifts = defaultdict(list)
    for wh in WorkingHours.objects.all():
        shifts[(wh.location_id, wh.weekday)].append(wh)
    off = defaultdict(list)
    for t in TimeOff.objects.all():
        off[t.staff_id].append((t.start.astimezone(UTC), t.end.astimezone(UTC)))
    result = {}
    for loc, d in pairs:
        worked = defaultdict(list)
        for wh in shifts.get((loc, d.weekday()), []):
            # in UTC: Python compares and subtracts two times of one zone by their wall clocks
            a = datetime.combine(d, wh.start, zones[loc]).astimezone(UTC)
            b = datetime.combine(d, wh.end, zones[loc]).astimezone(UTC)
            worked[wh.staff_id].append((a, b))
        for staff, ranges in worked.items():
            seconds = _length(_minus(_union(ranges), _union(off.get(staff, []))))
            result[(loc, d, staff)] = round(seconds / 60)
    return result


def _union(ranges):
    merged: list[list] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _minus(ranges, holes):
    out = []
    for a, b in ranges:
        for h0, h1 in holes:
            if h1 <= a or h0 >= b:
                continue
            if h0 > a:
                out.append((a, h0))
            a = max(a, h1)
            if a >= b:
                break
        if a < b:
            out.append((a, b))
    return out


def _length(ranges) -> float:
    return sum((b - a).total_seconds() for a, b in ranges)


def _rolled_up_availability(pairs, as_of: date) -> dict:
    """{(location, day, staff): available minutes} of the days before as_of already rolled up:
    a past day keeps the hours that were worked then (a later change of someone's weekly hours
    does not rewrite last year's utilisation). Read before the rows are cleared."""
    rows = StaffDay.objects.filter(day__lt=as_of)
    if pairs is not None:
        rows = rows.filter(pairs_q(pairs, location="location_id"))
    return {
        (loc, d, staff): m
        for loc, d, staff, m in rows.values_list("location_id", "day", "staff_id", "available_minutes")
    }


def _staff_days(pairs, as_of: date, kept: dict | None = None) -> int:
    booked = _booked(pairs)
    if pairs is None:
        span = _items().aggregate(first=Min("day"), last=Max("day"))
        if span["first"] is None:
            return 0
        days = (span["first"], max(as_of, span["last"]))
    else:
        days = set(pairs)
    available = (_available_sql if connection.vendor == "postgresql" else _available_python)(days)
    if kept:  # the past days rolled up before: their minutes as they were, not today's hours'
        rolled = {(loc, d) for loc, d, _staff in kept}
        available = {k: m for k, m in available.items() if (k[0], k[1]) not in rolled}
        available |= {k: m for k, m in kept.items() if m}
    StaffDay.objects.bulk_create(
        [
            StaffDay(
                location_id=loc,
                day=d,
                staff_id=staff,
                booked_minutes=booked.get((loc, d, staff), 0),
                available_minutes=available.get((loc, d, staff), 0),
            )
            for loc, d, staff in booked.keys() | available.keys()
        ],
        batch_size=2000,
    )
    return len(booked.keys() | available.keys())


def _clear(pairs) -> None:
    for model in (SalesDay, StaffDay):
        if pairs is not None:
            model.objects.filter(pairs_q(pairs, location="location_id")).delete()
        elif connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
                cursor.execute(f"TRUNCATE {connection.ops.quote_name(model._meta.db_table)}")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            model.objects.all().delete()


def refresh(pairs=None, *, as_of: date | None = None) -> dict:
    """The sales and stylist-minutes roll-ups of these (location_id, day) pairs, or of
    everything (None). Runs inside the caller's transaction (analytics.rollups). Minutes
    available on a day before as_of that was rolled up before are kept (the hours worked then);
    booked minutes are always recomputed. Returns the row counts."""
    if pairs is not None:
        pairs = set(pairs)
        if not pairs:
            return {"sales": 0, "staff_days": 0}
    as_of = as_of or today()
    kept = _rolled_up_availability(pairs, as_of)
    _clear(pairs)
    sales = insert_select(SalesDay, SALES_FIELDS, _lines(pairs))
    sales += insert_select(SalesDay, SALES_FIELDS, _unallocated(pairs))
    staff_days = _staff_days(pairs, as_of, kept)
    return {"sales": sales, "staff_days": staff_days}


def mark_appointment_dirty(event) -> None:
    """A booking, a move, a cancellation or a no-show changes its day's booked minutes (and its
    booking counters): mark the (location, local day) it now starts on, and for a move the day it
    started on before (the event's moved_from)."""
    from analytics.models import DirtyDay

    appointment = Appointment.objects.select_related("location").filter(pk=event.appointment_id).first()
    if appointment is not None:
        zone = appointment.location.tz
        starts = [appointment.start, *([event.moved_from] if getattr(event, "moved_from", None) else [])]
        for day in {start.astimezone(zone).date() for start in starts}:
            DirtyDay.objects.get_or_create(location_id=appointment.location_id, day=day)


# ---- reading them for the dashboard -------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What the dashboard's filters chose: None for locations is the whole chain."""

    locations: list | None
    start: date
    last: date
    query: str  # the dashboard's location/start/end query string


def _where(scope: Scope) -> Q:
    where = Q(day__gte=scope.start, day__lte=scope.last)
    if scope.locations is not None:
        where &= Q(location__in=list(scope.locations))
    return where


def drill_url(scope: Scope, **params) -> str:
    return f"{reverse('analytics:visits')}?{urlencode(params)}&{scope.query}"


def kind_label(kind: str) -> str:
    registered = line_kind(kind)
    return str(registered.label) if registered is not None else kind


NO_STYLIST = gettext_lazy("No stylist named")
OTHER_SERVICES = gettext_lazy("Other services")
NOT_ON_A_LINE = gettext_lazy("Not on a line (visit discounts, imported totals)")


def _sums(scope: Scope) -> tuple[list[dict], list[dict]]:
    """The sales rows and the stylists' minutes of the scope (2 queries): numbers and ids only."""
    sales: list[dict] = []
    minutes: list[dict] = []
    if scope.last >= scope.start:
        sales = list(
            SalesDay.objects.filter(_where(scope))
            .values("kind", "service_id", "staff_id")
            .annotate(lines=Sum("lines"), revenue=Sum("revenue"))
            .order_by()
        )
        minutes = list(
            StaffDay.objects.filter(_where(scope))
            .values("staff_id")
            .annotate(booked=Sum("booked_minutes"), available=Sum("available_minutes"))
            .order_by()
        )
    return sales, minutes


def section(scope: Scope, *, gen=None) -> dict:
    """The dashboard's breakdowns for the scope, from the roll-ups only (4 queries: the sales
    rows, their services with categories, the stylists' minutes, the stylists' names). With
    `gen` (the roll-ups' generation) the sums are cached (rollups.cached: numbers and ids, so a
    renamed service or stylist shows its new name at once); the names are read every time."""
    if gen is None:
        sales, minutes = _sums(scope)
    else:
        from analytics import rollups  # rollups imports this module

        where = rollups.where_key(scope.locations)
        sales, minutes = rollups.cached(
            "breakdowns", (scope.start, scope.last, where), lambda: _sums(scope), gen=gen
        )
    service_ids = {r["service_id"] for r in sales if r["kind"] == SERVICE and r["service_id"]}
    services = Service.objects.select_related("category").in_bulk(service_ids) if service_ids else {}
    staff_ids = {r["staff_id"] for r in sales if r["kind"] in CREDITED and r["staff_id"]}
    staff_ids |= {r["staff_id"] for r in minutes}
    from accounts.models import StaffMember

    names = StaffMember.objects.in_bulk(staff_ids) if staff_ids else {}

    by_service: dict = defaultdict(lambda: [0, ZERO])
    by_staff: dict = defaultdict(lambda: [ZERO, ZERO])
    by_kind: dict = defaultdict(lambda: ZERO)
    for r in sales:
        kind, amount = r["kind"], r["revenue"] or ZERO
        by_kind[kind] += amount
        if kind == SERVICE:
            by_service[r["service_id"]][0] += r["lines"]
            by_service[r["service_id"]][1] += amount
        if kind in CREDITED:
            by_staff[r["staff_id"]][0 if kind == SERVICE else 1] += amount

    service_rows = []
    for pk, (lines, amount) in by_service.items():
        service = services.get(pk)
        service_rows.append(
            {
                "label": service.name if service else _("(service removed)"),
                "lines": lines,
                "revenue": amount,
                "url": drill_url(scope, service=pk) if pk else drill_url(scope, line=SERVICE),
                "category": service.category if service else None,
            }
        )
    service_rows.sort(key=lambda r: (-r["revenue"], r["label"]))
    categories: dict = {}
    for r in service_rows:
        c = r["category"]
        key = c.pk if c else None
        row = categories.setdefault(
            key,
            {
                "label": c.name if c else _("(no category)"),
                "lines": 0,
                "revenue": ZERO,
                "url": drill_url(scope, category=key) if key else drill_url(scope, line=SERVICE),
            },
        )
        row["lines"] += r["lines"]
        row["revenue"] += r["revenue"]
    category_rows = sorted(categories.values(), key=lambda r: (-r["revenue"], r["label"]))

    staff_rows = [
        {
            "label": names[pk].display_name if pk in names else str(NO_STYLIST),
            "services": s,
            "products": p,
            "revenue": s + p,
            "url": drill_url(scope, staff=pk if pk else "none"),
        }
        for pk, (s, p) in by_staff.items()
    ]
    staff_rows.sort(key=lambda r: (-r["revenue"], r["label"]))

    use_rows = [
        {
            "label": names[r["staff_id"]].display_name if r["staff_id"] in names else str(r["staff_id"]),
            "booked": r["booked"],
            "available": r["available"],
            "rate": round(r["booked"] / r["available"], 4) if r["available"] else None,
            "rate_text": show(round(r["booked"] / r["available"], 4) if r["available"] else None, RATE),
            "url": drill_url(scope, kind="booked", staff=r["staff_id"]),
        }
        for r in minutes
    ]
    use_rows.sort(key=lambda r: (r["rate"] is None, -(r["rate"] or 0), r["label"]))

    services_total = by_kind.get(SERVICE, ZERO)
    products_total = by_kind.get(PRODUCT, ZERO)
    rest = by_kind.get(UNALLOCATED, ZERO)
    other = [
        {"label": kind_label(k), "revenue": v, "url": drill_url(scope, line=k)}
        for k, v in sorted(by_kind.items())
        if k not in (SERVICE, PRODUCT, UNALLOCATED)
    ]
    reconcile = [
        {"label": _("Services"), "revenue": services_total, "url": drill_url(scope, line=SERVICE)},
        {"label": _("Retail products"), "revenue": products_total, "url": drill_url(scope, line=PRODUCT)},
        *other,
    ]
    if rest:
        reconcile.append(
            {"label": str(NOT_ON_A_LINE), "revenue": rest, "url": drill_url(scope, line="unallocated")}
        )
    total = sum((r["revenue"] for r in reconcile), ZERO)

    top = service_rows[:TOP_SERVICES]
    rest_services = service_rows[TOP_SERVICES:]
    chart_services = [(r["label"], r["revenue"], r["url"]) for r in top]
    if rest_services:
        chart_services.append(
            (
                str(OTHER_SERVICES),
                sum((r["revenue"] for r in rest_services), ZERO),
                drill_url(scope, line=SERVICE),
            )
        )
    return {
        "services": service_rows,
        "categories": category_rows,
        "staff": staff_rows,
        "utilisation": use_rows,
        "reconcile": reconcile,
        "total": total,
        "chart": {
            "services": _bars(chart_services),
            "categories": _bars([(r["label"], r["revenue"], r["url"]) for r in category_rows]),
            "staff": {
                "labels": [r["label"] for r in staff_rows],
                "services": [float(r["services"]) for r in staff_rows],
                "products": [float(r["products"]) for r in staff_rows],
                "urls": [r["url"] for r in staff_rows],
                "services_label": _("Services"),
                "products_label": _("Retail products"),
            },
            "utilisation": {
                "labels": [r["label"] for r in use_rows],
                "values": [None if r["rate"] is None else round(r["rate"] * 100, 1) for r in use_rows],
                "urls": [r["url"] for r in use_rows],
                "label": _("Utilisation (%)"),
            },
        },
    }


def _bars(rows) -> dict:
    return {
        "labels": [label for label, _v, _u in rows],
        "values": [float(v) for _l, v, _u in rows],
        "urls": [u for _l, _v, u in rows],
    }


# ---- the rows behind a bar or a tile (/dashboard/visits/) ---------------------------------------

VISITS, NO_SHOW, CANCELLED, BOOKED = "visits", "no_show", "cancelled", "booked"
REBOOKED = "rebooked"  # the visits after which the client held their next booking
# the visits behind the survey tiles, as DailyStats counts them (by the visit's day)
CSAT, NPS, SURVEYED = "csat", "nps", "surveyed"
SURVEY_KINDS = {
    CSAT: Q(survey__answered_at__isnull=False, survey__csat__isnull=False),
    NPS: Q(survey__answered_at__isnull=False, survey__nps__isnull=False),
    SURVEYED: Q(survey__answered_at__isnull=False) | Q(survey__message__status__in=("sent", "delivered")),
}
KINDS = (VISITS, REBOOKED, *SURVEY_KINDS, NO_SHOW, CANCELLED, BOOKED)
LINES = (SERVICE, PRODUCT, "other", "unallocated")


def _local_window(qs, moment: str, zone: str, *, locations, location: str, start: date, last: date):
    low, high = _bounds(start, last)  # an index-friendly UTC range before the local-day test
    qs = qs.filter(**{f"{moment}__gte": low, f"{moment}__lt": high})
    if locations is not None:
        qs = qs.filter(**{f"{location}__in": list(locations)})
    return qs.annotate(day=LocalDate(F(moment), F(zone))).filter(day__gte=start, day__lte=last)


def rows_behind(
    *, kind: str, locations, start: date, last: date, line="", service=None, category=None, staff=None
):
    """The rows behind a bar or a tile, newest first, as values with a common shape (pk, when,
    customer_id, location_id, zone, amount or minutes, status, line_id / visit_id / appointment_id):

    - kind "visits" with no line filter: the counted visits (amount: the net total);
    - with `line` "unallocated": the visits whose net total differs from their lines (amount: the
      difference);
    - with any other line, service, category or staff filter: the counted visits' lines (amount:
      the line's net amount; `staff` alone: their service and product lines, "none" for lines
      with nobody named);
    - "no_show" / "cancelled": the appointments starting in the period with that status;
    - "rebooked": the counted visits after which the client held a later booking (the rebooking
      rate's numerator, analytics.metrics.rebooked_visits; amount: the net total);
    - "csat" / "nps": the visits whose survey was answered with that score, "surveyed" those whose
      survey was sent (the survey tiles' answers and the response rate's base; with csat, nps and
      answered_at);
    - "booked": the appointment services that held time (not cancelled), optionally one
      stylist's: the booked minutes of the utilisation chart.
    One query; its count() is the bar's or tile's number."""
    if kind in (NO_SHOW, CANCELLED):
        qs = _local_window(
            Appointment.objects.filter(status=kind),
            "start",
            "location__time_zone",
            locations=locations,
            location="location",
            start=start,
            last=last,
        )
        return qs.values("pk", "customer_id", "location_id", "status", when=F("start")).order_by(
            "-start", "-pk"
        )
    if kind == BOOKED:
        qs = _local_window(
            AppointmentItem.objects.exclude(appointment__status=AppointmentStatus.CANCELLED),
            "start",
            "appointment__location__time_zone",
            locations=locations,
            location="appointment__location",
            start=start,
            last=last,
        )
        if staff not in (None, "none"):
            qs = qs.filter(staff=staff)
        length = ExpressionWrapper(F("end") - F("start"), output_field=DurationField())
        return qs.values(
            "pk",
            "staff_id",
            "service_id",
            when=F("start"),
            customer_id=F("appointment__customer_id"),
            location_id=F("appointment__location_id"),
            status=F("appointment__status"),
            length=length,
        ).order_by("-start", "-pk")
    visits = counted_visits(locations, start=start, end=last)
    if kind == REBOOKED:
        visits = rebooked_visits(visits)
    if kind in SURVEY_KINDS:
        return (
            visits.filter(SURVEY_KINDS[kind])
            .values(
                "pk",
                "customer_id",
                "location_id",
                when=F("started_at"),
                amount=F("total"),
                csat=F("survey__csat"),
                nps=F("survey__nps"),
                answered_at=F("survey__answered_at"),
            )
            .order_by("-started_at", "-pk")
        )
    if line == "unallocated":
        return (
            _with_rest(visits)
            .values("pk", "customer_id", "location_id", when=F("started_at"), amount=F("rest"))
            .order_by("-started_at", "-pk")
        )
    if not (line or service or category or staff):
        return visits.values(
            "pk", "customer_id", "location_id", when=F("started_at"), amount=F("total")
        ).order_by("-started_at", "-pk")
    lines = _local_window(
        VisitLine.objects.filter(visit__status="completed"),
        "visit__started_at",
        "visit__location__time_zone",
        locations=locations,
        location="visit__location",
        start=start,
        last=last,
    )
    if line == "other":
        lines = lines.exclude(kind__in=CREDITED)
    elif line:
        lines = lines.filter(kind=line)
    if service is not None:
        lines = lines.filter(kind=SERVICE, service=service)
    if category is not None:
        lines = lines.filter(kind=SERVICE, service__category=category)
    if staff is not None:
        lines = lines.filter(kind__in=CREDITED)
        lines = lines.filter(staff__isnull=True) if staff == "none" else lines.filter(staff=staff)
    return lines.values(
        "pk",
        "staff_id",
        "service_id",
        "description",
        "visit_id",
        "amount",
        when=F("visit__started_at"),
        customer_id=F("visit__customer_id"),
        location_id=F("visit__location_id"),
    ).order_by("-visit__started_at", "-pk")
