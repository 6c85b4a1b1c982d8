"""Revenue by service, category and stylist, and stylist utilisation (analytics.breakdowns): the
roll-ups equal a raw computation on a random history (two zones, a day the clocks go forward and
one they go back, time off across midnight and overlapping, visit discounts, imported totals
without lines, voided visits, tips and top-ups); the dashboard's bars add up to the revenue tile;
every bar's and tile's list (/dashboard/visits/) holds exactly the rows behind it, scoped like
the clients list, with a logged CSV; bad input is a 400, never a 500; the queries are bounded."""

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import breakdowns, rollups
from analytics.models import DailyStats, DirtyDay, SalesDay, StaffDay
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentStatus,
    TimeOff,
    Visit,
    VisitLine,
    WorkingHours,
)
from customers.models import AccessLog, Customer
from customers.privacy import display_phone
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.analytics.test_dashboard import SHANGHAI, today
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ServiceCategoryFactory, ServiceFactory

salon = fixtures_core.salon  # the booking tests' salon: opening hours, a stylist's week, a cut

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 12, 31)
NOW = datetime(2027, 1, 1, 4, 0, tzinfo=UTC)
VISITS = "/dashboard/visits/"
URL = "/dashboard/"


# ---- a random history ---------------------------------------------------------------------------


def _history(seed: int):
    rng = random.Random(seed)
    shanghai = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    new_york = LocationFactory(code="ny", time_zone="America/New_York")
    locations = [shanghai, new_york]
    hair, colour = ServiceCategoryFactory(name="Hair"), ServiceCategoryFactory(name="Colour")
    services = [ServiceFactory(category=hair), ServiceFactory(category=hair), ServiceFactory(category=colour)]
    staff = [StaffMemberFactory(role="stylist", locations=locations, is_bookable=True) for _ in range(3)]
    clients = [CustomerFactory() for _ in range(12)]
    # weekly hours: split shifts, a night shift over the DST hours at New York, one stylist off
    # on Sundays everywhere (no hours: no availability)
    for s in staff[:2]:
        for d in range(6):
            WorkingHours.objects.create(staff=s, location=shanghai, weekday=d, start=time(9), end=time(12))
            WorkingHours.objects.create(staff=s, location=shanghai, weekday=d, start=time(13), end=time(18))
    WorkingHours.objects.create(staff=staff[2], location=new_york, weekday=6, start=time(0, 30), end=time(5))
    WorkingHours.objects.create(staff=staff[2], location=new_york, weekday=2, start=time(10), end=time(19))
    WorkingHours.objects.create(staff=staff[0], location=new_york, weekday=6, start=time(8), end=time(14))
    # time off: overlapping twice, across midnight, over a DST night
    ny = ZoneInfo("America/New_York")
    TimeOff.objects.create(
        staff=staff[0],
        start=datetime(2026, 3, 2, 10, tzinfo=SHANGHAI),
        end=datetime(2026, 3, 2, 15, tzinfo=SHANGHAI),
    )
    TimeOff.objects.create(
        staff=staff[0],
        start=datetime(2026, 3, 2, 14, tzinfo=SHANGHAI),
        end=datetime(2026, 3, 3, 10, tzinfo=SHANGHAI),
    )
    TimeOff.objects.create(
        staff=staff[2],
        start=datetime(2026, 11, 1, 1, 30, tzinfo=UTC),
        end=datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    )
    TimeOff.objects.create(
        staff=staff[1],
        start=datetime(2026, 6, 1, 0, tzinfo=SHANGHAI),
        end=datetime(2026, 6, 8, 0, tzinfo=SHANGHAI),
    )
    base = datetime(2026, 2, 20, tzinfo=UTC)
    for i in range(90):
        location = rng.choice(locations)
        moment = base + timedelta(days=rng.randint(0, 280), hours=rng.choice([0, 3, 9, 15.5, 16.2, 23.5]))
        status = rng.choice(["completed", "completed", "completed", "voided"])
        lines = []
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice(["service", "service", "service", "product", "tip", "topup"])
            service = rng.choice(services) if kind == "service" else None
            who = rng.choice([*staff, None]) if kind in ("service", "product", "tip") else None
            lines.append((kind, service, who, Decimal(rng.choice(["80.00", "120.50", "300.00"]))))
        discount = Decimal(rng.choice(["0", "0", "10.00"])) if lines else Decimal("0")
        subtotal = sum((a for *_x, a in lines), Decimal("0"))
        imported = not lines
        visit = Visit.objects.create(
            customer=rng.choice(clients),
            location=location,
            status=status,
            started_at=moment,
            completed_at=moment + timedelta(hours=1),
            subtotal=subtotal,
            discount=discount,
            total=Decimal("260.00") if imported else subtotal - discount,
            external_id=f"imp-{seed}-{i}" if imported else None,
        )
        for kind, service, who, amount in lines:
            VisitLine.objects.create(
                visit=visit,
                kind=kind,
                service=service,
                staff=who,
                description=kind,
                unit_price=amount,
                amount=amount,
            )
    # bookings: any status, some across the DST nights in New York
    for _ in range(70):
        location = rng.choice(locations)
        start = base + timedelta(days=rng.randint(0, 280), hours=rng.choice([1, 6, 14.5, 15.75, 23]))
        if rng.random() < 0.15:
            start = datetime(2026, rng.choice([3, 11]), rng.choice([1, 8]), 1, 0, tzinfo=ny)
        status = rng.choice(list(AppointmentStatus.values))
        appointment = Appointment.objects.create(
            customer=rng.choice(clients),
            location=location,
            status=status,
            start=start,
            end=start + timedelta(hours=2),
        )
        for k in range(rng.randint(1, 2)):
            item_start = start + timedelta(minutes=45 * k)
            AppointmentItem.objects.create(
                appointment=appointment,
                service=rng.choice(services),
                staff=rng.choice(staff),
                start=item_start,
                end=item_start + timedelta(minutes=rng.choice([30, 45, 90])),
                busy_until=item_start + timedelta(minutes=100 + 45 * k),
                price=Decimal("100"),
                is_active=False,  # random slots may overlap: the exclusion constraint is not the point
            )
    return locations, staff, services


# ---- the raw definitions, written plainly -------------------------------------------------------


def _raw_sales() -> dict:
    rows: dict = defaultdict(lambda: [0, Decimal("0")])
    for visit in (
        Visit.objects.filter(status="completed").select_related("location").prefetch_related("lines")
    ):
        day = visit.started_at.astimezone(visit.location.tz).date()
        for line in visit.lines.all():
            row = rows[(visit.location_id, day, line.kind, line.service_id, line.staff_id)]
            row[0] += 1
            row[1] += line.amount
        rest = visit.total - sum((line.amount for line in visit.lines.all()), Decimal("0"))
        if rest:
            row = rows[(visit.location_id, day, SalesDay.UNALLOCATED, None, None)]
            row[0] += 1
            row[1] += rest
    return {k: (n, amount) for k, (n, amount) in rows.items()}


def _rolled_sales() -> dict:
    return {
        (r.location_id, r.day, r.kind, r.service_id, r.staff_id): (r.lines, r.revenue)
        for r in SalesDay.objects.all()
    }


def _minutes(intervals) -> float:
    """Seconds covered by the union of (start, end) moments."""
    total, reach = 0.0, None
    for a, b in sorted(intervals):
        if reach is not None:
            a = max(a, reach)
        if b > a:
            total += (b - a).total_seconds()
        reach = b if reach is None else max(reach, b)
    return total


def _raw_staff_days(as_of: date) -> dict:
    booked: dict = defaultdict(float)
    days = []
    for item in AppointmentItem.objects.select_related("appointment__location"):
        day = item.start.astimezone(item.appointment.location.tz).date()
        days.append(day)
        if item.appointment.status != "cancelled":
            booked[(item.appointment.location_id, day, item.staff_id)] += (
                item.end - item.start
            ).total_seconds()
    result = {k: [round(v / 60), 0] for k, v in booked.items()}
    if not days:
        return {}
    first, last = min(days), max(as_of, max(days))
    offs = defaultdict(list)
    for t in TimeOff.objects.all():
        offs[t.staff_id].append((t.start, t.end))
    shifts = defaultdict(list)
    for wh in WorkingHours.objects.select_related("location"):
        shifts[(wh.location, wh.weekday)].append(wh)
    day = first
    while day <= last:
        per_staff = defaultdict(list)
        for (location, weekday), rows in shifts.items():
            if weekday != day.weekday():
                continue
            for wh in rows:
                # in UTC: Python subtracts two times of one zone by their wall clocks
                a = datetime.combine(day, wh.start, location.tz).astimezone(UTC)
                b = datetime.combine(day, wh.end, location.tz).astimezone(UTC)
                per_staff[(location.pk, wh.staff_id)].append((a, b))
        for (loc, staff_id), spans in per_staff.items():
            worked = _minutes(spans)
            # time off inside the worked spans: worked − (worked minus the time off)
            cut = []
            for a, b in spans:
                for t0, t1 in offs[staff_id]:
                    lo, hi = max(a, t0), min(b, t1)
                    if lo < hi:
                        cut.append((lo, hi))
            seconds = worked - _minutes(cut)
            result.setdefault((loc, day, staff_id), [0, 0])[1] = round(seconds / 60)
        day += timedelta(days=1)
    return {k: tuple(v) for k, v in result.items()}


def _rolled_staff_days() -> dict:
    return {
        (r.location_id, r.day, r.staff_id): (r.booked_minutes, r.available_minutes)
        for r in StaffDay.objects.all()
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_roll_ups_equal_the_raw_computation_on_a_random_history(seed, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    locations, staff, _services = _history(seed)
    rollups.rebuild(as_of=AS_OF)
    raw = _raw_sales()
    assert len(raw) > 20
    assert _rolled_sales() == raw
    assert _rolled_staff_days() == _raw_staff_days(AS_OF)
    # every day's rows add up to its revenue (the summary's)
    by_day = defaultdict(Decimal)
    for (loc, day, *_rest), (_n, amount) in raw.items():
        by_day[(loc, day)] += amount
    daily = {(d.location_id, d.day): d.revenue for d in DailyStats.objects.exclude(visits=0)}
    assert {k: v for k, v in by_day.items() if v or k in daily} == daily

    # the SQLite way (Python) gives the same available minutes as PostgreSQL's statement
    span = (date(2026, 2, 19), AS_OF)
    if connection.vendor == "postgresql":  # the SQL (multiranges) is PostgreSQL's; SQLite has the Python
        assert breakdowns._available_python(span) == breakdowns._available_sql(span)

    # a late void and a cancelled booking: only their days are recomputed
    visit = Visit.objects.filter(status="completed").exclude(lines=None).order_by("started_at").first()
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.VOIDED)
    rollups.mark_dirty(visit=visit)
    appointment = Appointment.objects.exclude(status="cancelled").order_by("start").first()
    Appointment.objects.filter(pk=appointment.pk).update(status="cancelled")
    breakdowns.mark_appointment_dirty(type("E", (), {"appointment_id": appointment.pk}))
    rollups.rebuild_dirty(as_of=AS_OF)
    assert _rolled_sales() == _raw_sales()
    assert _rolled_staff_days() == _raw_staff_days(AS_OF)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the multirange SQL is PostgreSQL's")
def test_a_day_the_clocks_change_has_its_real_length():
    # New York: 00:30–05:00 on Sunday 8 March 2026 is 3 h 30 (02:00 → 03:00), on Sunday
    # 1 November 5 h 30 (02:00 → 01:00); an ordinary Sunday 4 h 30
    new_york = LocationFactory(code="ny", time_zone="America/New_York")
    stylist = StaffMemberFactory(role="stylist", locations=[new_york])
    WorkingHours.objects.create(staff=stylist, location=new_york, weekday=6, start=time(0, 30), end=time(5))
    pairs = {
        (new_york.pk, date(2026, 3, 8)),
        (new_york.pk, date(2026, 11, 1)),
        (new_york.pk, date(2026, 3, 15)),
    }
    minutes = {d: m for (_loc, d, _s), m in breakdowns._available_sql(pairs).items()}
    assert minutes == {date(2026, 3, 8): 210, date(2026, 11, 1): 330, date(2026, 3, 15): 270}
    assert {d: m for (_l, d, _s), m in breakdowns._available_python(pairs).items()} == minutes


def test_utilisation_is_empty_without_hours_and_time_off_takes_its_share(location, monkeypatch):
    # given: one stylist with hours (09:00–18:00) and 3 hours off on the day, one without hours,
    # each booked for 2 hours that day, and a cancelled booking (not counted) and a no-show (counted)
    day = date(2026, 5, 6)
    at = lambda h: datetime.combine(day, time(h), SHANGHAI)  # noqa: E731
    busy = StaffMemberFactory(role="stylist", locations=[location], display_name="Busy")
    free = StaffMemberFactory(role="stylist", locations=[location], display_name="Free")
    WorkingHours.objects.create(
        staff=busy, location=location, weekday=day.weekday(), start=time(9), end=time(18)
    )
    TimeOff.objects.create(staff=busy, start=at(15), end=at(18))
    service = ServiceFactory()
    client = CustomerFactory()
    for who, h, status in (
        (busy, 10, "completed"),
        (free, 10, "completed"),
        (busy, 13, "no_show"),
        (busy, 14, "cancelled"),
    ):
        a = Appointment.objects.create(
            customer=client, location=location, status=status, start=at(h), end=at(h + 1)
        )
        AppointmentItem.objects.create(
            appointment=a,
            service=service,
            staff=who,
            start=at(h),
            end=at(h + 1),
            busy_until=at(h + 1),
            price=1,
        )
    rollups.rebuild(as_of=day)
    scope = breakdowns.Scope([location], day, day, "x=1")
    rows = {r["label"]: r for r in breakdowns.section(scope)["utilisation"]}
    assert (rows["Busy"]["booked"], rows["Busy"]["available"], rows["Busy"]["rate"]) == (120, 360, 0.3333)
    assert (rows["Free"]["booked"], rows["Free"]["available"], rows["Free"]["rate"]) == (60, 0, None)
    assert rows["Free"]["rate_text"] == "—"


def test_a_past_day_keeps_the_hours_worked_then_when_the_weekly_hours_change(location):
    """Rolled up on 6 May with the stylist working 09:00–18:00 on Wednesdays; the hours then
    change to 10:00–12:00. The next rebuilds (nightly, and a dirty refresh of 6 May) keep 6 May's
    540 available minutes; a Wednesday still ahead (13 May) takes the new hours."""
    day, later = date(2026, 5, 6), date(2026, 5, 13)
    stylist = StaffMemberFactory(role="stylist", locations=[location], display_name="Lin")
    hours = WorkingHours.objects.create(
        staff=stylist, location=location, weekday=day.weekday(), start=time(9), end=time(18)
    )
    service, client = ServiceFactory(), CustomerFactory()
    for d in (day, later):
        at = datetime.combine(d, time(10), SHANGHAI)
        a = Appointment.objects.create(
            customer=client, location=location, start=at, end=at + timedelta(hours=1)
        )
        AppointmentItem.objects.create(
            appointment=a,
            service=service,
            staff=stylist,
            start=at,
            end=at + timedelta(hours=1),
            busy_until=at + timedelta(hours=1),
            price=1,
        )

    def available(d):
        return StaffDay.objects.get(location=location, day=d, staff=stylist).available_minutes

    rollups.rebuild(as_of=day)
    assert (available(day), available(later)) == (540, 540)
    hours.start, hours.end = time(10), time(12)
    hours.save()
    rollups.rebuild(as_of=day + timedelta(days=1))
    assert (available(day), available(later)) == (540, 120)
    rollups.rebuild_days({(location.pk, day)}, as_of=day + timedelta(days=1))
    assert available(day) == 540
    rollups.rebuild_days({(location.pk, later)}, as_of=day + timedelta(days=1))
    assert available(later) == 120


def test_an_appointment_change_marks_its_local_day_dirty(
    location, stylist, django_capture_on_commit_callbacks
):
    from appointments import events

    start = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Shanghai
    appointment = Appointment.objects.create(
        customer=CustomerFactory(), location=location, start=start, end=start + timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        events.appointment_event(events.CANCELLED, appointment, by=None)
    assert list(DirtyDay.objects.values_list("location_id", "day")) == [(location.pk, date(2026, 3, 2))]


def test_a_move_marks_the_day_it_left_and_the_day_it_went_to(
    location, stylist, salon, django_capture_on_commit_callbacks
):
    """Moved through the booking service from one day to three days later: both days' booked
    minutes and counters are recomputed by the next refresh, not only the new one's."""
    from appointments.services import BookingItem, appointment_book, appointment_move
    from tests.appointments.fixtures_core import DAY

    shop = salon
    appointment = appointment_book(
        customer=CustomerFactory(),
        location=location,
        items=[BookingItem(service=shop.cut, staff=stylist, start=shop.at(11))],
        source="front_desk",
        booked_by=None,
    )
    DirtyDay.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        appointment_move(appointment=appointment, new_start=shop.at(11, day=DAY + timedelta(days=3)), by=None)
    days = set(DirtyDay.objects.filter(location=location).values_list("day", flat=True))
    assert days == {DAY, DAY + timedelta(days=3)}


# ---- the dashboard and the lists behind it ------------------------------------------------------


@pytest.fixture
def sales(location, other_location, stylist, other_stylist):
    """In the last 30 days at the home location: cuts and a colour by two stylists, a product, a
    tip, a top-up, a visit discount, an imported visit without lines, a voided visit; a no-show
    and a cancelled booking; and a sale at the other location."""
    t = today()
    hair, colour = ServiceCategoryFactory(name="Hair"), ServiceCategoryFactory(name="Colour")
    cut = ServiceFactory(name="Cut", category=hair)
    tint = ServiceFactory(name="Tint", category=colour)

    def sale(loc, days_ago, lines, *, discount="0", status="completed", total=None, hour=11):
        when = datetime.combine(t - timedelta(days=days_ago), time(hour), SHANGHAI)
        subtotal = sum((Decimal(a) for *_x, a in lines), Decimal("0"))
        visit = Visit.objects.create(
            customer=CustomerFactory(name=f"顾客{Visit.objects.count()}"),
            location=loc,
            status=status,
            started_at=when,
            completed_at=when,
            subtotal=subtotal,
            discount=Decimal(discount),
            total=Decimal(total) if total else subtotal - Decimal(discount),
        )
        for kind, service, who, amount in lines:
            VisitLine.objects.create(
                visit=visit, kind=kind, service=service, staff=who, description=str(service or kind),
                unit_price=Decimal(amount), amount=Decimal(amount),
            )  # fmt: skip
        return visit

    sale(location, 1, [("service", cut, stylist, "200"), ("product", None, stylist, "88")])
    sale(
        location,
        2,
        [("service", cut, other_stylist, "180"), ("tip", None, other_stylist, "20")],
        discount="30",
    )
    sale(location, 3, [("service", tint, stylist, "500"), ("topup", None, None, "1000")])
    sale(location, 4, [("service", cut, None, "150")])
    sale(location, 5, [], total="300")  # imported without lines
    sale(location, 6, [("service", tint, stylist, "999")], status="voided")
    sale(other_location, 2, [("service", cut, stylist, "777")])
    for status in (AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED):
        start = datetime.combine(t - timedelta(days=7), time(10), SHANGHAI)
        a = Appointment.objects.create(
            customer=CustomerFactory(),
            location=location,
            status=status,
            start=start,
            end=start + timedelta(hours=1),
        )
        AppointmentItem.objects.create(
            appointment=a, service=cut, staff=stylist, start=start, end=start + timedelta(minutes=45),
            busy_until=start + timedelta(hours=1), price=200, is_active=False,
        )  # fmt: skip
    for d in range(7):
        WorkingHours.objects.create(staff=stylist, location=location, weekday=d, start=time(9), end=time(18))
    rollups.rebuild()
    return {"cut": cut, "tint": tint, "hair": hair, "colour": colour}


def _tiles(response) -> dict:
    return {t["key"]: t for t in response.context["tiles"]}


def _get(client, url: str):
    parts = urlsplit(url)
    return client.get(parts.path, dict(parse_qsl(parts.query)))


def test_the_bars_add_up_to_the_revenue_tile(client_as, manager, location, stylist, other_stylist, sales):
    response = client_as(manager).get(URL)
    b = response.context["breakdowns"]
    tiles = _tiles(response)
    assert tiles["revenue"]["value"] == b["total"] == Decimal("2408.00")
    parts = {r["label"]: r["revenue"] for r in b["reconcile"]}
    # services 200 + 180 + 500 + 150; products 88; a tip 20 and a top-up 1000; −30 discount, +300 imported
    assert parts["Services"] == Decimal("1030") and parts["Retail products"] == Decimal("88")
    assert parts["Stored-value top-up"] == Decimal("1000") and parts["Tip for the stylist"] == Decimal("20")
    assert parts[str(breakdowns.NOT_ON_A_LINE)] == Decimal("270")
    assert {r["label"]: r["revenue"] for r in b["services"]} == {
        "Cut": Decimal("530"),
        "Tint": Decimal("500"),
    }
    assert {r["label"]: r["revenue"] for r in b["categories"]} == {
        "Hair": Decimal("530"),
        "Colour": Decimal("500"),
    }
    staff = {r["label"]: (r["services"], r["products"]) for r in b["staff"]}
    assert staff == {
        stylist.display_name: (Decimal("700"), Decimal("88")),
        other_stylist.display_name: (Decimal("180"), Decimal("0")),
        str(breakdowns.NO_STYLIST): (Decimal("150"), Decimal("0")),
    }
    use = {r["label"]: r for r in b["utilisation"]}
    # 45 minutes each for the no-show and the completed booking (not the cancelled one); 9 hours a
    # day available from the first day anything was booked (7 days ago) to today
    assert (use[stylist.display_name]["booked"], use[stylist.display_name]["available"]) == (90, 8 * 540)
    html = response.content.decode()
    for table in (
        "by-service-table",
        "by-category-table",
        "by-stylist-table",
        "utilisation-table",
        "reconcile-table",
    ):
        assert f'id="{table}"' in html
    assert '<script id="breakdowns-data" type="application/json">' in html
    assert '<script src="/static/js/dashboard_breakdowns.js" defer></script>' in html


def test_every_bar_opens_exactly_the_rows_behind_it(client_as, manager, location, sales):
    client = client_as(manager)
    b = client.get(URL).context["breakdowns"]
    for group in ("services", "categories"):
        for row in b[group]:
            page = _get(client, row["url"])
            assert page.status_code == 200
            assert page.context["page"].paginator.count == row["lines"], row
            assert page.context["total"] == row["revenue"], row
    for row in b["staff"] + b["reconcile"]:
        page = _get(client, row["url"])
        assert page.status_code == 200 and page.context["total"] == row["revenue"], row
    for row in b["utilisation"]:
        page = _get(client, row["url"])
        assert page.context["total"] == row["booked"] and page.context["mode"] == "item"
    # the chart's bars link where the table's rows do
    assert b["chart"]["services"]["urls"] == [r["url"] for r in b["services"]]


def test_the_visit_tiles_open_their_visits_and_bookings(client_as, manager, location, sales):
    client = client_as(manager)
    response = client.get(URL)
    tiles = _tiles(response)
    html = response.content.decode()
    assert "/dashboard/visits/?kind=no_show&amp;location=" in html
    visits = client.get(VISITS, {"kind": "visits"})
    assert visits.context["page"].paginator.count == tiles["visits"]["value"] == 5
    assert visits.context["total"] == tiles["revenue"]["value"]
    no_shows = client.get(VISITS, {"kind": "no_show"})
    assert no_shows.context["page"].paginator.count == 1
    assert [r["status"] for r in no_shows.context["rows"]] == ["No-show"]
    assert client.get(VISITS, {"kind": "cancelled"}).context["page"].paginator.count == 1
    row = visits.context["rows"][0]
    customer = Customer.objects.get(pk=row["customer_id"])
    assert row["phone"] and row["phone"] == display_phone(manager.user, customer.phone)  # as the role sees it


def test_a_manager_sees_only_their_locations(client_as, manager, location, other_location, sales):
    response = client_as(manager).get(VISITS, {"location": other_location.pk, "service": sales["cut"].pk})
    assert response.status_code == 200
    assert response.context["filters"].locations == [location]
    assert b"dashboard-filters-errors" in response.content
    assert response.context["total"] == Decimal("530")  # the home location's cuts, not the 777


def test_stylists_and_the_desk_are_refused(client_as, stylist, reception, sales):
    for staff in (stylist, reception):
        assert client_as(staff).get(VISITS).status_code == 403
        assert client_as(staff).get(VISITS, {"format": "csv"}).status_code == 403
    assert not AccessLog.objects.exists()


def test_the_csv_is_logged_and_spreadsheet_safe(client_as, manager, location, stylist, sales):
    response = client_as(manager).get(VISITS, {"staff": stylist.pk, "format": "csv"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0] == "Date" and len(rows) == 1 + 3  # the cut, the product, the tint
    assert sorted(r[-1] for r in rows[1:]) == ["200.00", "500.00", "88.00"]
    assert all(r[3] for r in rows[1:])  # the phone, as the role sees it
    log = AccessLog.objects.get()
    assert log.action == AccessLog.Action.EXPORT and log.user == manager.user and log.customer is None
    assert (
        "dashboard visits csv" in log.detail
        and "3 rows" in log.detail
        and f"staff={stylist.pk}" in log.detail
    )


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "nonsense"},
        {"service": "abc"},
        {"service": "999999999999999999999"},
        {"service": "0"},
        {"service": "987654"},
        {"category": "-1"},
        {"staff": "x"},
        {"staff": "99999999999999999999999"},
        {"line": "nonsense"},
        {"kind": "no_show", "service": "1"},
        {"kind": "booked", "staff": "none"},
        {"kind": "cancelled", "staff": "none"},
    ],
)
def test_bad_input_is_a_400_with_a_message_never_a_500(client_as, manager, sales, query):
    response = client_as(manager).get(VISITS, query)
    assert response.status_code == 400
    assert b'id="visits-errors"' in response.content
    csv_response = client_as(manager).get(VISITS, {**query, "format": "csv"})
    assert csv_response.status_code == 400
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize("query", [{"page": "x"}, {"page": "-1"}, {"start": "garbage"}, {"location": "zzz"}])
def test_wrong_paging_and_period_fall_back(client_as, manager, sales, query):
    assert client_as(manager).get(VISITS, query).status_code == 200


# ---- the queries are bounded --------------------------------------------------------------------


def test_the_section_reads_the_roll_ups_in_four_queries(location, sales, django_assert_max_num_queries):
    t = today()
    scope = breakdowns.Scope([location], t - timedelta(days=29), t, "x=1")
    # sales rows; their services with categories; stylists' minutes; stylists' names
    with django_assert_max_num_queries(4):
        breakdowns.section(scope)


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def test_the_pages_cost_the_same_queries_however_many_rows(client_as, owner, location, stylist, sales):
    client = client_as(owner)
    params = {"location": location.pk}
    asks = ({}, {"line": "service"}, {"kind": "no_show"}, {"kind": "booked", "staff": stylist.pk})
    small = [_queries(client, VISITS, {**params, **q}) for q in asks]
    dashboard_small = _queries(client, URL, params)
    # many more sales, services and stylists
    t = today()
    for i in range(40):
        who = StaffMemberFactory(role="stylist", locations=[location])
        service = ServiceFactory()
        when = datetime.combine(t - timedelta(days=i % 20), time(12), SHANGHAI)
        visit = Visit.objects.create(
            customer=CustomerFactory(), location=location, started_at=when, subtotal=50, total=50
        )
        VisitLine.objects.create(
            visit=visit, kind="service", service=service, staff=who, description="x", unit_price=50, amount=50
        )
        a = Appointment.objects.create(
            customer=visit.customer,
            location=location,
            status="no_show",
            start=when,
            end=when + timedelta(hours=1),
        )
        AppointmentItem.objects.create(
            appointment=a, service=service, staff=who, start=when, end=when + timedelta(hours=1),
            busy_until=when + timedelta(hours=1), price=50, is_active=False,
        )  # fmt: skip
    rollups.rebuild()
    for q, n in zip(asks, small, strict=True):
        assert _queries(client, VISITS, {**params, **q}) == n, q
        # at most 18: session, user, 2 × permissions, 2 × locations (the filters), the drill's form
        # (does the stylist exist) and title, count, page, total, clients, locations, stylists,
        # services or lines, and the header's location and staff member
        assert n <= 18, (q, n)
    assert _queries(client, URL, params) == dashboard_small


def test_the_rebooking_tile_opens_the_visits_followed_by_a_next_booking(client_as, manager, location):
    # given: two visits two days ago; one client booked their next visit at the desk that day
    t = today()
    visited = datetime.combine(t - timedelta(days=2), time(11), SHANGHAI)
    rebooker, other = CustomerFactory(name="再约"), CustomerFactory(name="没约")
    for client in (rebooker, other):
        Visit.objects.create(
            customer=client, location=location, status="completed", started_at=visited,
            completed_at=visited, total=Decimal("100"),
        )  # fmt: skip
    start = datetime.combine(t + timedelta(days=20), time(10), SHANGHAI)
    booking = Appointment.objects.create(
        customer=rebooker, location=location, start=start, end=start + timedelta(hours=1)
    )
    Appointment.objects.filter(pk=booking.pk).update(created_at=visited + timedelta(minutes=30))
    rollups.rebuild()
    client = client_as(manager)

    # when: the manager opens the rebooking tile
    response = client.get(URL)
    assert "/dashboard/visits/?kind=rebooked&amp;" in response.content.decode()
    listed = client.get(VISITS, {"kind": "rebooked"})

    # then: the one visit behind the 50 %
    assert _tiles(response)["rebooking_rate"]["value"] == 0.5
    assert [r["customer_id"] for r in listed.context["rows"]] == [rebooker.pk]
    assert "Visits followed by a next booking" in listed.content.decode()
    # a rebooking list is not narrowed by a sale line, a service or a stylist
    assert client.get(VISITS, {"kind": "rebooked", "staff": "none"}).status_code == 400


def test_the_survey_tiles_open_the_visits_behind_their_answers(client_as, manager, location):
    from feedback.models import Survey

    # given: three surveyed visits: satisfied and recommending, unhappy without an NPS, unanswered
    t = today()
    visited = datetime.combine(t - timedelta(days=3), time(11), SHANGHAI)
    answers = {"满意": (5, 9), "不满意": (2, None), "没回": (None, None)}
    for name, (csat, nps) in answers.items():
        visit = Visit.objects.create(
            customer=CustomerFactory(name=name), location=location, status="completed",
            started_at=visited, completed_at=visited, total=Decimal("100"),
        )  # fmt: skip
        Survey.objects.create(
            visit=visit, customer=visit.customer, location=location, nonce="n", created_at=visited,
            send_at=visited, expires_at=visited + timedelta(days=14),
            answered_at=visited + timedelta(hours=3) if csat else None, csat=csat, nps=nps,
        )  # fmt: skip
    rollups.rebuild()
    client = client_as(manager)
    tiles = _tiles(client.get(URL))

    def listed(kind):
        response = client.get(VISITS, {"kind": kind})
        assert response.status_code == 200
        return {r["name"]: r["answer"] for r in response.context["rows"]}

    # then: each list holds exactly the answers its tile counts, with the answer shown
    assert tiles["csat"]["responses"] == 2 and listed("csat") == {
        "满意": "CSAT 5/5 · NPS 9",
        "不满意": "CSAT 2/5",
    }
    assert tiles["nps"]["responses"] == 1 and listed("nps") == {"满意": "CSAT 5/5 · NPS 9"}
    assert tiles["survey_response_rate"]["value"] == 1.0  # an unsent survey is in neither count
    assert set(listed("surveyed")) == {"满意", "不满意"}
    csv_text = client.get(VISITS, {"kind": "csat", "format": "csv"}).getvalue().decode("utf-8-sig")
    assert "CSAT 2/5" in csv_text and AccessLog.objects.filter(action=AccessLog.Action.EXPORT).count() == 1
