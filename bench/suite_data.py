"""The data of the `make bench` suite (bench/suite.py): one database per scale, generated once.

Scales (clients / visits): salon 5,000 / 50,000; chain 200,000 / 1,000,000; bigchain 1,000,000 /
5,000,000. The database is `salon_bench_<scale>` (BENCH_PG names the server).

1. Clients, appointments, visits and surveys: `analytics_bench.generate` (COPY, three locations in
   three time zones, three years of visits; see bench/README.md), here with the search columns and
   a unique mobile per client, derived with the services' own functions.
2. In proportion, set-based (INSERT … SELECT with the secondary indexes dropped and rebuilt, FK
   triggers off as during the COPY): a service line and a payment per visit (10 stylists per
   location, 8 services); a loyalty account for two clients in five who came, a points lot per
   visit of the last year, a top-up for a quarter of the accounts and a spend for an eighth,
   each account's balances the sum of its ledger; an outbox row per appointment (a reminder:
   sent, or queued when it is still ahead) and per survey (the invitation, sent).
3. The front desk on top (ORM, rebuilt on every run: a few thousand rows): `benchfd`, 80 stylists
   booked at about 60 % over 28 days from the next-but-one Monday (availability, booking);
   `benchcal`, 40 stylists and 600 appointments on one day (the day calendar); today's checked-in
   appointments for the checkout scenario; the users (a receptionist, a manager and an owner, with
   DRF tokens and the password `bench-password-1` for the load test).

The encryption key is fixed (`BENCH_FIELD_KEY`) so that every process of a run - the suite, the
compute child, gunicorn workers in the load test - reads the same encrypted fields.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.search_bench import log  # noqa: E402


@dataclass(frozen=True)
class Scale:
    clients: int
    visits: int


SCALES = {
    "salon": Scale(5_000, 50_000),
    "chain": Scale(200_000, 1_000_000),
    "bigchain": Scale(1_000_000, 5_000_000),
}
# Bench only: a fixed key so that separate processes decrypt each other's rows. Never a real key.
BENCH_FIELD_KEY = "YmVuY2gtb25seS1maWVsZC1rZXktMDAwMDAwMDAwMDA="
PASSWORD = "bench-password-1"
EXTRA_TABLES = [
    "appointments_visitline",
    "appointments_payment",
    "loyalty_loyaltyaccount",
    "loyalty_pointsentry",
    "loyalty_storedvalueentry",
    "messaging_outboundmessage",
]


def server() -> str:
    return os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def db_name(scale: str) -> str:
    """BENCH_DB overrides it (a second copy while someone else runs the suite)."""
    return os.environ.get("BENCH_DB") or f"salon_bench_{scale}"


BROKER = "redis://127.0.0.1:6379/8"  # tasks are published, as in production; no worker takes them


def setup(scale: str) -> str:
    """Environment and Django for the scale's database (created and migrated); returns its URL.
    Tasks (the messages a checkout asks for, the roll-ups' dirty refresh) go to a Redis broker
    that no worker reads (BENCH_BROKER; emptied first), as production hands them to a worker on
    another machine: eager tasks would run inside the timed request."""
    os.environ["FIELD_ENCRYPTION_KEYS"] = BENCH_FIELD_KEY
    # The test client's host and plain HTTP, whatever the calling shell exports (CI's hosts).
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_SESSION_COOKIE_SECURE"] = "0"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER", BROKER)
    import redis

    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()
    if not os.environ.get("CACHE_URL"):
        os.environ.pop("CACHE_URL", None)
    from bench.djangosetup import setup_django

    setup_django(db_name(scale))
    return f"{server()}/{db_name(scale)}"


def counts(conn) -> dict:
    from bench.analytics_bench import data_counts

    out = data_counts(conn)
    with conn.cursor() as cur:
        for table in EXTRA_TABLES:
            cur.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")
            out[table] = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM customers_customer WHERE phone IS NOT NULL")
        out["phones"] = cur.fetchone()[0]
    return out


def ensure(scale: str, *, regenerate: bool = False, keep_front_desk: bool = False) -> dict:
    """Generate the scale's data unless it is there; (re)build the front desk. Returns the
    row counts and the front-desk fixture."""
    import psycopg2

    from analytics import metrics
    from bench import analytics_bench

    url = f"{server()}/{db_name(scale)}"
    size = SCALES[scale]
    locs = analytics_bench.locations()
    conn = psycopg2.connect(url)
    data = counts(conn)
    # The scenarios add rows (bookings, checkouts' visits, dispatch's clients), never remove any.
    if (
        regenerate
        or data["c"] < size.clients
        or data["v"] < size.visits
        or data["phones"] < size.clients
        or not data["messaging_outboundmessage"]
    ):
        started = time.perf_counter()
        args = argparse.Namespace(clients=size.clients, visits=size.visits, surveys=0.1, search=True)
        analytics_bench.generate(conn, args, locs, metrics.today())
        extras(conn, locs)
        data = counts(conn)
        data["generated_s"] = time.perf_counter() - started
        keep_front_desk = False  # the TRUNCATE … CASCADE took the front desk's bookings too
    conn.close()
    data["front_desk"] = front_desk(locs, rebuild=not keep_front_desk)
    return data


# ---- set-based extras ---------------------------------------------------------------------------


def _staff_and_services(locs) -> tuple[dict[int, list[int]], list[int]]:
    """10 stylists per bench location and 8 services, created once (ORM)."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from accounts.models import StaffMember
    from appointments.models import Service, ServiceCategory

    User = get_user_model()
    staff: dict[int, list[int]] = {}
    for loc in locs:
        ids = []
        for n in range(10):
            user, _ = User.objects.get_or_create(username=f"{loc.code}-stylist-{n}")
            member, _ = StaffMember.objects.get_or_create(
                user=user, defaults={"display_name": f"{loc.code} stylist {n}", "role": "stylist"}
            )
            member.locations.add(loc)
            ids.append(member.pk)
        staff[loc.pk] = ids
    category, _ = ServiceCategory.objects.get_or_create(name="Bench")
    services = []
    for name, price in [("Cut", 128), ("Colour", 388), ("Perm", 468), ("Care", 198), ("Facial", 298)] + [
        ("Blow-dry", 88),
        ("Scalp", 168),
        ("Nails", 98),
    ]:
        service, _ = Service.objects.get_or_create(
            name=f"Bench {name}",
            defaults={"category": category, "duration_minutes": 60, "price": Decimal(price)},
        )
        service.locations.add(*locs)
        services.append(service.pk)
    return staff, services


def extras(conn, locs) -> None:
    from bench.analytics_bench import _secondary_indexes

    staff, services = _staff_and_services(locs)
    started = time.perf_counter()
    with conn.cursor() as cur:
        # analytics_bench.generate emptied them (TRUNCATE … CASCADE of the clients and visits)
        dropped = {}
        for table in EXTRA_TABLES:
            dropped[table] = _secondary_indexes(cur, table)
            for name, _definition in dropped[table]:
                cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET work_mem = '256MB'")
        cur.execute("CREATE TEMP TABLE bench_staff (location_id bigint, n int, staff_id bigint)")
        cur.executemany(
            "INSERT INTO bench_staff VALUES (%s, %s, %s)",
            [(loc, n, sid) for loc, ids in staff.items() for n, sid in enumerate(ids)],
        )
        steps = [
            (
                "visit lines",
                "INSERT INTO appointments_visitline (kind, description, quantity, unit_price, discount, amount,"
                " ref, service_id, staff_id, visit_id, list_price)"
                " SELECT 'service', 'Bench service', 1, v.total, 0, v.total, '',"
                " (%(services)s::bigint[])[1 + v.id %% 8], s.staff_id, v.id, v.total"
                " FROM appointments_visit v JOIN bench_staff s ON s.location_id = v.location_id AND s.n = v.id %% 10",
            ),
            (
                "payments",
                "INSERT INTO appointments_payment (method, amount, reference, created_at, visit_id)"
                " SELECT CASE WHEN v.id %% 3 = 0 THEN 'cash' ELSE 'card' END, v.total, '', v.completed_at, v.id"
                " FROM appointments_visit v",
            ),
            (
                "loyalty accounts",
                "INSERT INTO loyalty_loyaltyaccount (points, principal, bonus, created_at, updated_at, customer_id)"
                " SELECT 0, 0, 0, c.created_at, now(), c.id FROM customers_customer c"
                " WHERE c.id %% 5 < 2 AND EXISTS (SELECT 1 FROM appointments_visit v WHERE v.customer_id = c.id)",
            ),
            (
                "points lots",
                "INSERT INTO loyalty_pointsentry (kind, points, remaining, expires_on, reason, key, created_at,"
                " account_id, location_id, visit_id)"
                " SELECT 'earn', floor(v.total)::int, floor(v.total)::int,"
                " (v.completed_at + interval '24 months')::date, '', 'bench-earn:' || v.id, v.completed_at,"
                " a.id, v.location_id, v.id"
                " FROM appointments_visit v JOIN loyalty_loyaltyaccount a ON a.customer_id = v.customer_id"
                " WHERE v.status = 'completed' AND v.completed_at >= now() - interval '365 days'"
                " AND v.total >= 1",
            ),
            (
                "top-ups",
                "INSERT INTO loyalty_storedvalueentry (kind, principal, bonus, reason, refund_method, key,"
                " created_at, account_id)"
                " SELECT 'topup', 1000, 100, '', '', 'bench-topup:' || a.id, a.created_at, a.id"
                " FROM loyalty_loyaltyaccount a WHERE a.id %% 4 = 0",
            ),
            (
                "stored-value spends",
                "INSERT INTO loyalty_storedvalueentry (kind, principal, bonus, reason, refund_method, key,"
                " created_at, account_id)"
                " SELECT 'spend', -500, -50, '', '', 'bench-spend:' || a.id, a.created_at + interval '30 days', a.id"
                " FROM loyalty_loyaltyaccount a WHERE a.id %% 8 = 0",
            ),
            (
                "balances",
                "UPDATE loyalty_loyaltyaccount a SET points = coalesce(p.points, 0),"
                " principal = coalesce(sv.principal, 0), bonus = coalesce(sv.bonus, 0)"
                " FROM loyalty_loyaltyaccount a2"
                " LEFT JOIN (SELECT account_id, sum(points) AS points FROM loyalty_pointsentry GROUP BY 1) p"
                " ON p.account_id = a2.id"
                " LEFT JOIN (SELECT account_id, sum(principal) AS principal, sum(bonus) AS bonus"
                " FROM loyalty_storedvalueentry GROUP BY 1) sv ON sv.account_id = a2.id"
                " WHERE a.id = a2.id",
            ),
            (
                "reminders",
                "INSERT INTO messaging_outboundmessage (appointment_id, appointment_version, kind, channel,"
                ' idempotency_key, language, "to", subject, body, link, context, marketing, scheduled_for,'
                " status, reason, attempts, provider, provider_message_id, last_error, created_at, sent_at,"
                " customer_id, location_id)"
                " SELECT a.id, 1, 'reminder', 'sms', 'bench-reminder:' || a.id, 'zh-hans', '', '', '', '',"
                " '{}', false, a.start - interval '24 hours',"
                " CASE WHEN a.start - interval '24 hours' > now() THEN 'queued' ELSE 'sent' END, '',"
                " CASE WHEN a.start - interval '24 hours' > now() THEN 0 ELSE 1 END, 'fake', '', '', a.created_at,"
                " CASE WHEN a.start - interval '24 hours' > now() THEN NULL ELSE a.start - interval '24 hours' END,"
                " a.customer_id, a.location_id"
                " FROM appointments_appointment a WHERE a.created_at < a.start - interval '24 hours'",
            ),
            (
                "survey invitations",
                'INSERT INTO messaging_outboundmessage (kind, channel, idempotency_key, language, "to",'
                " subject, body, link, context, marketing, scheduled_for, status, reason, attempts, provider,"
                " provider_message_id, last_error, created_at, sent_at, customer_id, location_id)"
                " SELECT 'survey', 'sms', 'bench-survey:' || s.visit_id, 'zh-hans', '', '', '', '', '{}', false,"
                " s.send_at, 'sent', '', 1, 'fake', '', '', s.created_at, s.send_at, s.customer_id, s.location_id"
                " FROM feedback_survey s",
            ),
        ]
        for label, sql in steps:
            t = time.perf_counter()
            cur.execute(sql, {"services": services})
            log(f"{label}: {cur.rowcount:,} rows in {time.perf_counter() - t:.1f} s")
        cur.execute("SET session_replication_role = origin")
        cur.execute("SET maintenance_work_mem = '512MB'")
        for indexes in dropped.values():
            for _name, definition in indexes:
                cur.execute(definition)
    conn.commit()
    conn.autocommit = True
    with conn.cursor() as cur:
        for table in EXTRA_TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")
    conn.autocommit = False
    log(f"extras in {time.perf_counter() - started:.0f} s")


# ---- the front desk ----------------------------------------------------------------------------


@dataclass
class FrontDesk:
    availability: object  # Location benchfd
    availability_start: date
    calendar: object  # Location benchcal
    calendar_day: date
    services: dict
    stylists: list
    users: dict  # role -> User
    tokens: dict  # role -> DRF token key
    checkout_location: object  # Location benchco
    checkout: list  # appointment ids checked in today, members with stored value
    clients: list  # client ids with the most visits (the card scenario)


def _users(all_locations) -> tuple[dict, dict]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, StaffMember
    from accounts.services import staff_create

    User = get_user_model()
    users, tokens = {}, {}
    for username, role in (
        ("bench_desk", Role.RECEPTIONIST),
        ("bench_manager", Role.MANAGER),
        ("bench_owner", Role.OWNER),
    ):
        staff = StaffMember.objects.filter(user__username=username).first()
        if staff is None:
            staff = staff_create(
                username=username,
                password=PASSWORD,
                display_name=username,
                role=role,
                locations=all_locations,
            )
        staff.locations.add(*all_locations)
        user = User.objects.get(pk=staff.user_id)
        if not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        users[role] = user
        tokens[role] = Token.objects.get_or_create(user=user)[0].key
    return users, tokens


def checkout_appointments(
    count: int, *, code: str = "benchco", stylists: int = 20
) -> tuple[object, list[int]]:
    """`count` appointments arrived today at location `code`, for members holding stored value:
    one minute each, after the last item of today there (earlier runs' visits stay). When what
    is left of today cannot hold them on `stylists` stylists, more stylists are added (the
    appointments must fall on today's local date: checkout happens on the appointment's own
    day). Earlier runs' appointments that were not checked out are cancelled. Used by the suite
    (`benchco`) and the load test (`benchlt`, thousands)."""
    from datetime import time as dtime

    from django.contrib.auth import get_user_model
    from django.db.models import Max
    from django.utils import timezone

    from accounts.models import Location, StaffMember
    from appointments.models import Appointment, AppointmentItem, Service
    from appointments.services import rules
    from loyalty.models import LoyaltyAccount

    location, _ = Location.objects.get_or_create(
        code=code, defaults={"name": f"Bench checkout {code}", "time_zone": "Asia/Shanghai"}
    )
    service = Service.objects.get(name="B40 Cut")
    service.locations.add(location)
    today = rules.local_date(location, timezone.now())
    day_start, day_end = rules.day_bounds(location, today)
    Appointment.objects.filter(location=location, status="arrived").update(status="cancelled")
    last = AppointmentItem.objects.filter(
        appointment__location=location, start__gte=day_start, start__lt=day_end
    ).aggregate(m=Max("end"))["m"]
    first = last or rules.local_dt(location, today, dtime(0))
    minutes_left = int((day_end - first).total_seconds() // 60)
    if minutes_left < 1:
        raise SystemExit(f"today is full at {code}: run again after local midnight")
    stylists = max(stylists, -(-count // minutes_left))
    team = []
    for n in range(stylists):
        user, _ = get_user_model().objects.get_or_create(username=f"{code}_{n:03d}")
        member, _ = StaffMember.objects.get_or_create(
            user=user,
            defaults={"display_name": f"Checkout stylist {n}", "role": "stylist", "is_bookable": True},
        )
        member.locations.add(location)
        team.append(member)
    members = list(
        LoyaltyAccount.objects.filter(principal__gte=400)
        .order_by("pk")
        .values_list("customer_id", flat=True)[:count]
    )
    appointments, items = [], []
    for n, customer_id in enumerate(members):
        start = first + timedelta(minutes=n // len(team))
        end = start + timedelta(minutes=1)
        appointments.append(
            Appointment(customer_id=customer_id, location=location, start=start, end=end, status="arrived")
        )
        items.append(
            AppointmentItem(
                service=service,
                staff=team[n % len(team)],
                start=start,
                end=end,
                busy_until=end,
                price=service.price,
            )
        )
    Appointment.objects.bulk_create(appointments)
    for a, i in zip(appointments, items, strict=True):
        i.appointment = a
    AppointmentItem.objects.bulk_create(items)
    return location, [a.pk for a in appointments]


def next_monday(today: date, weeks: int = 2) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7 * (weeks - 1) or 7)


def front_desk(locs, *, checkouts: int = 200, rebuild: bool = True) -> FrontDesk:
    """Build the front desk; with rebuild=False, reuse the one an earlier run built today (only
    the checkout appointments are made afresh)."""
    from django.db import connection

    from accounts.models import Location, StaffMember
    from analytics import metrics
    from appointments.models import Service
    from bench import availability_bench, calendar_page_bench
    from customers.models import Customer

    start = next_monday(metrics.today())
    built = Location.objects.filter(code__in=["benchfd", "benchcal"]).in_bulk(field_name="code")
    if rebuild or len(built) < 2:
        availability, staff, services, _desk, _n, _first = availability_bench.build(
            stylists=80, days=28, start_day=start, code="benchfd"
        )
        calendar_location = calendar_page_bench.build(stylists=40, per_stylist=15).location
    else:
        availability, calendar_location = built["benchfd"], built["benchcal"]
        staff = list(
            StaffMember.objects.filter(user__username__startswith="benchfd_", is_bookable=True).order_by("pk")
        )
        services = {s.name: s for s in Service.objects.filter(name__startswith="B40 ")}
    calendar_day = calendar_page_bench.DAY
    from loyalty.models import LoyaltySettings

    LoyaltySettings.current()  # the row a first checkout would create (and a dry run roll back)
    checkout_location, checkout = checkout_appointments(checkouts)
    users, tokens = _users([*locs, availability, calendar_location, checkout_location])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id FROM appointments_visit WHERE location_id = %s"
            " GROUP BY customer_id ORDER BY count(*) DESC LIMIT 200",
            [locs[0].pk],
        )
        clients = [r[0] for r in cursor.fetchall()]
    if not clients:
        clients = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:200])
    return FrontDesk(
        availability=availability,
        availability_start=start,
        calendar=calendar_location,
        calendar_day=calendar_day,
        services=services,
        stylists=staff,
        users=users,
        tokens=tokens,
        checkout_location=checkout_location,
        checkout=checkout,
        clients=clients,
    )
