"""Reads of the front desk's daily summary and a stylist's "my stats" (issue 13, item 4).

Both count what docs/metrics.md counts: a visit is a counted visit (completed, not voided) and
its day is the local day it started at its location (analytics.metrics.counted_visits). Every
figure is a fixed number of queries, however many visits the day or the period holds.

- `daily_summary(location, day)`: one location's day, never the chain's: takings by payment
  method, visits and revenue (the visits' net totals), tips, no-shows and cancellations of the
  day's bookings, and the next day's bookings.
- `my_stats(staff, start, end)`: one staff member's own figures over a period (both days
  included), at every location they worked at."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Sum

from analytics.metrics import _bounds, _rate, _rebooked, counted_visits
from analytics.sql import LocalDate
from appointments.line_kinds import TIP
from appointments.models import Appointment, AppointmentItem, AppointmentStatus, Payment, VisitLine
from appointments.payments import payment_label

ZERO = Decimal("0.00")
CENTS = Decimal("0.01")


def _money(value) -> Decimal:
    return (value or ZERO).quantize(CENTS)


def _appointments_of(location, day: date):
    """The location's appointments whose local start day is `day`."""
    low, high = _bounds(day, day)
    return (
        Appointment.objects.filter(location=location, start__gte=low, start__lt=high)
        .annotate(day=LocalDate(F("start"), F("location__time_zone")))
        .filter(day=day)
    )


@dataclass(frozen=True)
class DailySummary:
    day: date
    tomorrow: date
    visits: int
    revenue: Decimal
    tips: Decimal
    takings: list[dict]  # {"method", "label", "amount", "count"}, largest first
    takings_total: Decimal
    no_shows: int
    cancellations: int
    bookings_tomorrow: list  # Appointment, each with .service_names and .staff_names


def daily_summary(location, day: date) -> DailySummary:
    """Five queries."""
    visits = counted_visits([location], start=day, end=day)
    totals = visits.aggregate(n=Count("pk"), revenue=Sum("total"))
    takings = [
        {**row, "label": payment_label(row["method"]), "amount": _money(row["amount"])}
        for row in Payment.objects.filter(visit__in=visits.values("pk"))
        .values("method")
        .annotate(amount=Sum("amount"), count=Count("pk"))
        .order_by("-amount", "method")
    ]
    tips = VisitLine.objects.filter(kind=TIP, visit__in=visits.values("pk")).aggregate(s=Sum("amount"))["s"]
    booked = _appointments_of(location, day).aggregate(
        no_shows=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW)),
        cancellations=Count("pk", filter=Q(status=AppointmentStatus.CANCELLED)),
    )
    tomorrow = day + timedelta(days=1)
    upcoming = list(
        _appointments_of(location, tomorrow)
        .exclude(status__in=(AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW))
        .select_related("customer")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=AppointmentItem.objects.select_related("service", "staff").order_by("start", "pk"),
            )
        )
        .order_by("start", "pk")
    )
    for appointment in upcoming:
        items = list(appointment.items.all())
        appointment.service_names = [i.service.name for i in items]
        appointment.staff_names = list(dict.fromkeys(i.staff.display_name for i in items))
    return DailySummary(
        day=day,
        tomorrow=tomorrow,
        visits=totals["n"],
        revenue=_money(totals["revenue"]),
        tips=_money(tips),
        takings=takings,
        takings_total=_money(sum((row["amount"] for row in takings), ZERO)),
        no_shows=booked["no_shows"],
        cancellations=booked["cancellations"],
        bookings_tomorrow=upcoming,
    )


def my_stats(staff, *, start: date, end: date) -> dict:
    """A staff member's own figures over [start, end] (local days, both included): four queries.

    - revenue: the net amounts of the lines credited to them (their tips included, shown apart);
    - visits and clients: the counted visits with a line by them, and their distinct clients;
    - rebooking_rate: docs/metrics.md's rebooking rate over those visits alone;
    - csat, nps, stylist rating: the surveys of the period's visits that name them
      (feedback.selectors.score_summary, the feedback pages' own figures)."""
    from feedback.models import Survey
    from feedback.selectors import score_summary

    window = counted_visits(start=start, end=end)
    lines = VisitLine.objects.filter(staff=staff, visit__in=window.values("pk")).aggregate(
        revenue=Sum("amount"),
        tips=Sum("amount", filter=Q(kind=TIP)),
        visits=Count("visit_id", distinct=True),
        clients=Count("visit__customer_id", distinct=True),
    )
    visits = lines["visits"]
    theirs = window.filter(Exists(VisitLine.objects.filter(visit=OuterRef("pk"), staff=staff)))
    rebooked = _rebooked(theirs) if visits else 0
    scores = score_summary(Survey.objects.filter(staff=staff, visit__in=window.values("pk")))
    return {
        "start": start,
        "end": end,
        "revenue": _money(lines["revenue"]),
        "tips": _money(lines["tips"]),
        "visits": visits,
        "clients": lines["clients"],
        "rebooked": rebooked,
        "rebooking_rate": _rate(rebooked, visits),
        "scores": scores,
    }
