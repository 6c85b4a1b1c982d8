"""Availability and day-calendar benchmark on PostgreSQL (issue 4).

    .venv/bin/python bench/availability_bench.py [--db salon_bench_appt] [--runs 60]
                                                 [--out bench/results/availability.md]

1. Creates (and migrates) the database if needed (never the app's own). Rebuilds one location
   "bench40" (Asia/Shanghai, open 10:00–21:00 daily) with 40 bookable stylists working six days
   a week, a cut (60 min), a colour (120 min + 15 buffer), a facial (75 min + 15, needs one of 4
   rooms), and existing bookings over 14 days from 2027-03-01: about 60 % of every stylist's day
   (≈ 5 appointments each per working day, ≈ 2,400 items), the first day holding exactly 300
   appointments for the calendar.
2. Measures (warm, in-process, --runs each, p50 / p95 / max and the query count):
   - availability_find over 14 days, any stylist: cut; colour + cut in a row; facial (rooms);
     one named stylist;
   - GET /api/v1/availability/?days=14 and ?days=1 through Django's test client (view,
     authentication, JSON rendering; no network hop);
   - day_calendar for the 300-appointment day (the selector; the pages engineer measures the page).
   Each case runs --repeat passes; the table shows all passes together, the best pass (lowest
   p95: the machine's cores are shared, so a pass can wait for a CPU) and this process's CPU time.
3. Writes the table to --out and prints it. Targets: availability p95 ≤ 50 ms; day calendar
   p95 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.djangosetup import setup_django  # noqa: E402

START = date(2027, 3, 1)
DAYS = 14
STYLISTS = 40


def build(*, stylists: int = STYLISTS, days: int = DAYS, start_day: date = START, code: str = "bench40"):
    """The location `code` as the module docstring says, for `stylists` stylists over `days` days
    from `start_day` (the suite builds an 80-stylist, 28-day one)."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from accounts.models import Location, OpeningHours, StaffMember
    from appointments.models import (
        Appointment,
        AppointmentItem,
        Resource,
        ResourceType,
        Service,
        ServiceCategory,
        WorkingHours,
    )
    from appointments.services import rules
    from customers.models import Customer

    rng = random.Random(7)
    User = get_user_model()
    with transaction.atomic():
        prefix = "b40_" if code == "bench40" else f"{code}_"
        old = Location.objects.filter(code=code).first()
        if old:
            AppointmentItem.objects.filter(appointment__location=old).delete()
            Appointment.objects.filter(location=old).delete()
            Resource.objects.filter(location=old).delete()
            WorkingHours.objects.filter(location=old).delete()
            StaffMember.objects.filter(user__username__startswith=prefix).delete()
            User.objects.filter(username__startswith=prefix).delete()
            old.delete()
        location = Location.objects.create(code=code, name=f"Bench {code}", time_zone="Asia/Shanghai")
        OpeningHours.objects.bulk_create(
            [OpeningHours(location=location, weekday=d, opens=dtime(10), closes=dtime(21)) for d in range(7)]
        )
        users = User.objects.bulk_create([User(username=f"{prefix}{n:02d}") for n in range(stylists + 1)])
        staff = StaffMember.objects.bulk_create(
            [
                StaffMember(user=u, display_name=u.username, role="stylist", is_bookable=True)
                for u in users[:stylists]
            ]
        )
        desk = StaffMember.objects.create(user=users[-1], display_name="desk", role="receptionist")
        for s in [*staff, desk]:
            s.locations.add(location)
        from accounts.services import staff_set_role

        staff_set_role(staff=desk, role="receptionist")
        WorkingHours.objects.bulk_create(
            [
                WorkingHours(staff=s, location=location, weekday=d, start=dtime(10), end=dtime(21))
                for i, s in enumerate(staff)
                for d in range(7)
                if d != i % 6 + 1  # a day off, never Monday (the 300-appointment day)
            ]
        )
        category, _ = ServiceCategory.objects.get_or_create(name="Bench40")
        services = {}
        for name, minutes, buffer, resource in [
            ("B40 Cut", 60, 0, ""),
            ("B40 Colour", 120, 15, ""),
            ("B40 Facial", 75, 15, ResourceType.ROOM),
        ]:
            service, _ = Service.objects.update_or_create(
                name=name,
                defaults={
                    "category": category,
                    "duration_minutes": minutes,
                    "buffer_after_minutes": buffer,
                    "price": Decimal("100"),
                    "resource_type": resource,
                },
            )
            service.locations.add(location)
            services[name] = service
        rooms = Resource.objects.bulk_create(
            [Resource(location=location, name=f"Room {n}", type=ResourceType.ROOM) for n in range(4)]
        )
        customers = list(Customer.objects.order_by("pk")[:500]) or Customer.objects.bulk_create(
            [Customer(name=f"Bench client {n}") for n in range(500)]
        )
        appointments, items = [], []
        for day_index in range(days):
            day = start_day + timedelta(days=day_index)
            for i, s in enumerate(staff):
                if day.weekday() == i % 6 + 1:
                    continue
                # First day: exactly 300 appointments (40 × 7.5); then about 60 % of the day.
                count = (8 if i % 2 == 0 else 7) if day_index == 0 else rng.choice((4, 5, 5, 6))
                at = rules.local_dt(location, day, dtime(10))
                close = rules.local_dt(location, day, dtime(21))
                for _n in range(count):
                    service = (
                        services["B40 Cut"] if day_index == 0 else rng.choice(list(services.values())[:2])
                    )
                    gap = timedelta(minutes=15 * (0 if day_index == 0 else rng.randrange(0, 4)))
                    start = at + gap
                    end = start + timedelta(minutes=service.duration_minutes)
                    busy = end + timedelta(minutes=service.buffer_after_minutes)
                    if end > close:
                        break
                    appointments.append(
                        Appointment(customer=rng.choice(customers), location=location, start=start, end=end)
                    )
                    items.append(
                        AppointmentItem(
                            service=service,
                            staff=s,
                            start=start,
                            end=end,
                            busy_until=busy,
                            price=service.price,
                        )
                    )
                    at = busy + timedelta(minutes=15 if day_index == 0 else 0)
        # a few room bookings so the facial search has busy rooms
        for n in range(40):
            day = start_day + timedelta(days=n % days)
            s = staff[n % stylists]
            start = rules.local_dt(location, day, dtime(20)) - timedelta(minutes=15 * (n % 3))
            if any(
                i.staff_id == s.pk and i.start < start + timedelta(minutes=90) and start < i.busy_until
                for i in items
            ):
                continue
            svc = services["B40 Facial"]
            appointments.append(
                Appointment(
                    customer=customers[0], location=location, start=start, end=start + timedelta(minutes=75)
                )
            )
            items.append(
                AppointmentItem(
                    service=svc,
                    staff=s,
                    resource=rooms[(n // days) % 4],  # same day, different room
                    start=start,
                    end=start + timedelta(minutes=75),
                    busy_until=start + timedelta(minutes=90),
                    price=svc.price,
                )
            )
        Appointment.objects.bulk_create(appointments, batch_size=2000)
        for a, i in zip(appointments, items, strict=True):
            i.appointment = a
        AppointmentItem.objects.bulk_create(items, batch_size=2000)
    with connection.cursor() as cursor:
        # VACUUM too: every run deletes and re-creates the location's rows, and without it
        # the dead rows of earlier runs pile up (62,000 for 2,390 live items were seen) and
        # slow every scan - what autovacuum prevents in production.
        cursor.execute("VACUUM ANALYZE")
    first_day = sum(1 for a in appointments if rules.local_date(location, a.start) == start_day)
    return location, staff, services, desk, len(items), first_day


def measure(fn, runs: int, repeat: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()  # warm
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    queries = len(ctx.captured_queries)

    def p95(values):
        return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]

    passes = []
    for _pass in range(repeat):
        times, cpu = [], []
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        passes.append((times, cpu))
    # All passes together, and the pass with the lowest wall p95 (this machine's cores are
    # shared: the best pass filters out time spent waiting for a CPU).
    every = [t for times, _c in passes for t in times]
    every_cpu = [c for _t, cpu in passes for c in cpu]
    best = min(passes, key=lambda pc: p95(pc[0]))
    return {
        "p50": statistics.median(every),
        "p95": p95(every),
        "max": max(every),
        "best_p50": statistics.median(best[0]),
        "best_p95": p95(best[0]),
        "cpu_p50": statistics.median(every_cpu),
        "cpu_p95": p95(every_cpu),
        "queries": queries,
        "result": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="salon_bench_appt")
    parser.add_argument("--runs", type=int, default=60, help="timed calls per pass")
    parser.add_argument("--repeat", type=int, default=3, help="passes per case")
    parser.add_argument("--out", default=str(ROOT / "bench/results/availability.md"))
    args = parser.parse_args()
    setup_django(args.db)
    from django.test import Client

    from appointments.selectors import day_calendar
    from appointments.services import availability_find

    location, staff, services, desk, n_items, first_day = build()
    end = START + timedelta(days=DAYS - 1)
    cut, colour, facial = services["B40 Cut"], services["B40 Colour"], services["B40 Facial"]
    client = Client(HTTP_HOST="localhost")
    client.force_login(desk.user)

    def api(days: int, service):
        response = client.get(
            "/api/v1/availability/",
            {"location": location.pk, "service": service.pk, "date": START.isoformat(), "days": days},
        )
        assert response.status_code == 200, response.content[:300]
        return response.json()

    cases = [
        ("availability_find, 14 days, any of 40 stylists, cut", lambda: availability_find(location=location, services=[cut], start_date=START, end_date=end)),
        ("availability_find, 14 days, colour + cut in a row", lambda: availability_find(location=location, services=[colour, cut], start_date=START, end_date=end)),
        ("availability_find, 14 days, facial (needs a room)", lambda: availability_find(location=location, services=[facial], start_date=START, end_date=end)),
        ("availability_find, 14 days, one stylist, cut", lambda: availability_find(location=location, services=[cut], start_date=START, end_date=end, staff=staff[3])),
        ("GET /api/v1/availability/ days=14, cut", lambda: api(14, cut)),
        ("GET /api/v1/availability/ days=1, cut", lambda: api(1, cut)),
        (f"day_calendar, {first_day} appointments, 40 columns", lambda: day_calendar(location=location, date=START)),
    ]  # fmt: skip
    rows = []
    for label, fn in cases:
        m = measure(fn, args.runs, args.repeat)
        result = m["result"]
        size = len(result.items) if hasattr(result, "items") and not isinstance(result, list) else len(result)
        rows.append(
            f"| {label} | {size} | {m['queries']} | {m['p50']:.1f} | {m['p95']:.1f} | {m['max']:.1f} "
            f"| {m['best_p50']:.1f} | {m['best_p95']:.1f} | {m['cpu_p50']:.1f} | {m['cpu_p95']:.1f} |"
        )
        print(rows[-1], flush=True)
    report = "\n".join(
        [
            "# Availability and day calendar (PostgreSQL)",
            "",
            f"Location with {STYLISTS} bookable stylists, 14 days from {START}, {n_items} existing items; "
            f"{args.repeat} passes of {args.runs} warm calls each (times in ms), in-process on this machine ({datetime.now():%Y-%m-%d}).",
            "Targets: availability p95 ≤ 50 ms, day calendar p95 ≤ 100 ms.",
            "",
            "Wall = elapsed time (includes PostgreSQL and waiting for the CPU on a shared machine);",
            "CPU = this Python process only. Load average while measuring: "
            + ", ".join(f"{x:.1f}" for x in os.getloadavg())
            + " on "
            + str(os.cpu_count())
            + " cores.",
            "",
            "| case | results | queries | wall p50 | wall p95 | wall max | best pass p50 | best pass p95 "
            "| CPU p50 | CPU p95 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
        ]
    )
    Path(args.out).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
