"""Day calendar page benchmark: the full request GET /calendar/?date= with 300 appointments.

    .venv/bin/python bench/calendar_page_bench.py [--db salon_bench_pages] [--runs 60]
                                                  [--out bench/results/calendar_page.md]

1. Creates (and migrates) its own PostgreSQL database if needed (never the app's; override the
   server with BENCH_PG=postgres://user@host:5432). Rebuilds one location "benchcal"
   (Asia/Shanghai, open 09:00–21:00) with 20 bookable stylists on shift and 300 appointments on
   2027-03-02 through the real booking service (15 per stylist, 45 minutes each), plus the
   neighbouring days (so the queries must filter), one cancelled appointment and a time off.
2. Measures, warm and in-process, --runs times: the whole request through Django's test client
   (session, auth, location access, the selector, grid layout, template rendering with the
   masked phone per block) as a receptionist; also the htmx grid fragment alone. Reports p50 /
   p95 / max wall time, CPU time, query count and the response size.
3. Writes the table to --out and prints it. Target: p95 ≤ 100 ms for the full page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.djangosetup import setup_django  # noqa: E402

DAY = date(2027, 3, 2)
STYLISTS = 20
PER_STYLIST = 15  # 15 x 45 min = 11 h 15 of a 12-hour day


def build():
    """The location, its 20 stylists and 300 appointments on DAY (idempotent: rebuilt each run)."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from accounts.models import Location, OpeningHours, StaffMember
    from accounts.services import staff_set_role
    from appointments.models import (
        Appointment,
        AppointmentItem,
        Service,
        ServiceCategory,
        TimeOff,
        WaitlistEntry,
        WorkingHours,
    )
    from appointments.services import BookingItem, appointment_book, appointment_cancel
    from customers.models import Customer
    from customers.search import derive_search_fields

    user_model = get_user_model()
    with transaction.atomic():
        old = Location.objects.filter(code="benchcal").first()
        if old is not None:
            AppointmentItem.objects.filter(appointment__location=old).delete()
            Appointment.objects.filter(location=old).delete()
            WaitlistEntry.objects.filter(location=old).delete()
            staff_ids = list(
                StaffMember.objects.filter(user__username__startswith="benchcal_").values_list(
                    "pk", flat=True
                )
            )
            TimeOff.objects.filter(staff_id__in=staff_ids).delete()
            WorkingHours.objects.filter(location=old).delete()
            Service.objects.filter(name__startswith="BC ").delete()
            user_model.objects.filter(username__startswith="benchcal_").delete()
            old.delete()
        Customer.objects.filter(external_id__startswith="benchcal-").delete()
        location = Location.objects.create(
            code="benchcal", name="基准店 Bench", address="上海市 1 号", time_zone="Asia/Shanghai"
        )
        OpeningHours.objects.bulk_create(
            [OpeningHours(location=location, weekday=d, opens=dtime(9), closes=dtime(21)) for d in range(7)]
        )
        category, _ = ServiceCategory.objects.get_or_create(name="Bench")
        blow = Service.objects.create(
            category=category, name="BC Blow-dry", duration_minutes=45, price=Decimal("150.00")
        )
        blow.locations.add(location)
        staff = []
        for n in range(STYLISTS):
            user = user_model.objects.create_user(username=f"benchcal_{n:02d}", password="x")
            member = StaffMember.objects.create(
                user=user,
                display_name=f"发型师 {n:02d}",
                role="stylist",
                is_bookable=True,
                calendar_colour=f"#{(n * 37) % 200 + 30:02x}{(n * 91) % 200 + 30:02x}c0",
            )
            member.locations.add(location)
            staff_set_role(staff=member, role="stylist")
            staff.append(member)
        WorkingHours.objects.bulk_create(
            [
                WorkingHours(staff=s, location=location, weekday=d, start=dtime(9), end=dtime(21))
                for s in staff
                for d in range(7)
            ]
        )
        desk_user = user_model.objects.create_user(username="benchcal_desk", password="x")
        desk = StaffMember.objects.create(user=desk_user, display_name="Desk", role="receptionist")
        desk.locations.add(location)
        staff_set_role(staff=desk, role="receptionist")
        customers = []
        for n in range(STYLISTS * PER_STYLIST + 40):
            c = Customer(
                name=f"客人{n:04d}", phone=f"+86135{n + 50_000_000:08d}", external_id=f"benchcal-{n}"
            )
            derive_search_fields(c)
            customers.append(c)
        Customer.objects.bulk_create(customers)
        customers = list(Customer.objects.filter(external_id__startswith="benchcal-").order_by("pk"))
    tz = location.tz
    k = 0
    for day, per in ((DAY, PER_STYLIST), (DAY - timedelta(days=1), 2), (DAY + timedelta(days=1), 2)):
        for s in staff:
            for slot in range(per):
                start = datetime.combine(day, dtime(9), tzinfo=tz) + timedelta(minutes=45 * slot)
                appointment_book(
                    customer=customers[k % len(customers)],
                    location=location,
                    items=[BookingItem(service=blow, staff=s, start=start)],
                    source="front_desk",
                    booked_by=None,
                )
                k += 1
    # a cancelled booking (hidden) and an afternoon off, so those paths run too
    first = Appointment.objects.filter(location=location, start__date=DAY).order_by("start").first()
    appointment_cancel(appointment=first, by=None, reason="bench")
    appointment_book(
        customer=customers[-1],
        location=location,
        items=[BookingItem(service=blow, staff=staff[0], start=first.start)],
        source="front_desk",
        booked_by=None,
    )
    TimeOff.objects.create(
        staff=staff[-1],
        start=datetime.combine(DAY, dtime(20, 15), tzinfo=tz),
        end=datetime.combine(DAY, dtime(21), tzinfo=tz),
        reason="training",
    )
    with connection.cursor() as cursor:
        # VACUUM too: every run deletes and re-creates the location's rows, and without it
        # the dead rows of earlier runs pile up (62,000 for 2,390 live items were seen) and
        # slow every scan - what autovacuum prevents in production.
        cursor.execute("VACUUM ANALYZE")
    shown = Appointment.objects.filter(location=location, start__date=DAY).exclude(status="cancelled").count()
    return location, desk, shown


def measure(fn, runs: int):
    from django.db import connection

    fn()  # warm: templates compiled, permissions cached in the process
    # Count with an execute wrapper: the request_started signal resets connection.queries.
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        size = fn()
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    cpu.sort()

    def p95(values):
        return values[max(0, int(round(0.95 * len(values))) - 1)]

    return (
        statistics.median(times),
        p95(times),
        times[-1],
        statistics.median(cpu),
        p95(cpu),
        len(executed),
        size,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="salon_bench_pages")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--out", default=str(ROOT / "bench/results/calendar_page.md"))
    args = parser.parse_args()
    setup_django(args.db)
    from django.conf import settings
    from django.test import Client

    location, desk, shown = build()
    client = Client(HTTP_HOST="localhost")
    client.force_login(desk.user)
    url = "/calendar/"

    def page():
        response = client.get(url, {"date": DAY.isoformat()})
        assert response.status_code == 200, response.status_code
        assert response.content.count(b'class="appt st-') == shown, "every appointment must be drawn"
        return len(response.content)

    def fragment():
        response = client.get(url, {"date": DAY.isoformat(), "part": "grid"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        return len(response.content)

    rows = []
    load_before = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    for label, fn in (
        (f"GET /calendar/ full page, {shown} appointments, {STYLISTS} stylists", page),
        ("GET /calendar/?part=grid (htmx refresh after a change)", fragment),
    ):
        p50, p95, worst, cpu50, cpu95, queries, size = measure(fn, args.runs)
        rows.append(
            f"| {label} | {p50:.1f} | {p95:.1f} | {worst:.1f} | {cpu50:.1f} | {cpu95:.1f} | {queries} | {size // 1024} KiB |"
        )
    import django
    import psycopg2

    table = "\n".join(
        [
            "# Day calendar page benchmark",
            "",
            f"`bench/calendar_page_bench.py --runs {args.runs}` on PostgreSQL "
            f"({psycopg2.__version__.split()[0]} driver), Django {django.get_version()}, DEBUG={settings.DEBUG}, "
            f"{os.cpu_count()} CPU(s) shared with other work; warm, in-process test client (no network hop).",
            "",
            f"Data: one location, {STYLISTS} stylists on shift 09:00–21:00, {shown} appointments on {DAY} "
            "(plus 80 on the days around it, one cancelled one hidden, one time off).",
            "",
            "| request | p50 ms | p95 ms | max ms | CPU p50 ms | CPU p95 ms | queries | size |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            f"Machine load average (1/5/15 min) at the start: {' / '.join(load_before)} on "
            f"{os.cpu_count()} cores: wall times include waiting for the CPU; the CPU columns do not.",
            "",
            "Target: full page p95 ≤ 100 ms.",
            "",
        ]
    )
    Path(args.out).write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
