"""Time `manage.py import_visits` on a million rows against PostgreSQL.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--db salon_bench_appt] [--out bench/results/import.md]

Creates (and migrates) the database if needed, makes one location, 10 stylists, 8 services and
100,000 clients with external ids, writes /tmp/visits_<rows>.csv (about 2.5 lines per visit,
deterministic), then runs the import twice: the first loads everything, the second must skip
every visit (idempotence) and write nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.djangosetup import setup_django  # noqa: E402

CUSTOMERS = 100_000
SERVICES = ["Cut", "Wash & blow-dry", "Colour", "Perm", "Treatment", "Manicure", "Facial", "Scalp care"]


def seed() -> None:
    from decimal import Decimal

    from accounts.models import Location
    from accounts.services import staff_create
    from appointments.models import Service, ServiceCategory
    from customers.models import Customer

    location, _ = Location.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    for n in range(10):
        username = f"bench_stylist{n}"
        from django.contrib.auth import get_user_model

        if not get_user_model().objects.filter(username=username).exists():
            staff_create(
                username=username,
                password="x-bench-pass-123",
                display_name=username,
                role="stylist",
                locations=[location],
            )
    category, _ = ServiceCategory.objects.get_or_create(name="Bench")
    for name in SERVICES:
        Service.objects.get_or_create(
            name=name, defaults={"category": category, "duration_minutes": 60, "price": Decimal("100")}
        )
    have = Customer.objects.filter(external_id__startswith="bench-").count()
    if have < CUSTOMERS:
        Customer.objects.bulk_create(
            [Customer(name=f"Client {n}", external_id=f"bench-{n:06d}") for n in range(have, CUSTOMERS)],
            batch_size=5000,
        )


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    start = date(2023, 1, 1)
    with path.open("w") as f:
        f.write("visit_external_id,customer_external_id,location,staff,service,date,start_time,amount\n")
        written, visit = 0, 0
        while written < rows:
            visit += 1
            lines = min(rng.choice((1, 2, 2, 3, 4)), rows - written)
            customer = f"bench-{rng.randrange(CUSTOMERS):06d}"
            day = start + timedelta(days=rng.randrange(1000))
            hour = rng.randrange(10, 20)
            for i in range(lines):
                staff = f"bench_stylist{rng.randrange(10)}" if rng.random() > 0.1 else ""
                service = rng.choice(SERVICES) if rng.random() > 0.05 else ""
                start_time = f"{hour:02d}:{15 * i:02d}" if rng.random() > 0.05 else ""
                f.write(
                    f"IMP{visit:08d},{customer},bench,{staff},{service},{day.isoformat()},{start_time},{rng.randrange(50, 900)}.{rng.randrange(100):02d}\n"
                )
            written += lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", default="salon_bench_appt")
    parser.add_argument("--out", default=str(ROOT / "bench/results/import.md"))
    args = parser.parse_args()
    setup_django(args.db)
    from django.core.management import call_command

    from appointments.models import Visit, VisitLine

    seed()
    Visit.objects.filter(external_id__startswith="IMP").delete()
    path = Path(f"/tmp/visits_{args.rows}.csv")
    if not path.exists():
        write_csv(path, args.rows)
    t0 = time.monotonic()
    call_command("import_visits", str(path))
    first = time.monotonic() - t0
    visits, lines = (
        Visit.objects.filter(external_id__startswith="IMP").count(),
        VisitLine.objects.filter(visit__external_id__startswith="IMP").count(),
    )
    t0 = time.monotonic()
    call_command("import_visits", str(path))
    second = time.monotonic() - t0
    assert Visit.objects.filter(external_id__startswith="IMP").count() == visits
    report = (
        f"# import_visits on PostgreSQL\n\n{args.rows:,} rows → {visits:,} visits, {lines:,} lines.\n\n"
        f"| run | seconds |\n| --- | ---: |\n| first import | {first:.1f} |\n| re-import (all skipped) | {second:.1f} |\n"
    )
    Path(args.out).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
