"""One benchmark suite: `make bench [SCALE=salon|chain|bigchain]` (issue 15).

    .venv/bin/python bench/suite.py --scale salon                 # the CI smoke (small, no targets)
    .venv/bin/python bench/suite.py --scale bigchain --runs 60    # the figures of docs/performance.md
    .venv/bin/python bench/suite.py --scale chain --only search,card --runs 30
    .venv/bin/python bench/suite.py --scale bigchain --regenerate # rebuild the data

Data: bench/suite_data.py (one database per scale, generated once with COPY; the front desk on top
is rebuilt on every run). Each scenario runs in this process through Django's test client with
DEBUG off (middleware, sessions or tokens, permissions, views, templates, JSON; no network hop)
and reports, over --runs timed requests after two untimed ones: wall p50 / p95 / max, CPU time of
this process per request (p50), queries per request, the load average, and **the floor**: the
same reads done as raw SQL through psycopg2 on the same data - the statements the request sent,
captured and replayed in one transaction that is rolled back (for writes, captured from a dry run
rolled back, so the replay finds the same rows) - with the ratio p95 / floor p95. Search's floor is
its one statement (bench/search_bench.py); compute_analytics' floor is the time its statements
spent in PostgreSQL; dispatch's is what the provider's latency allows.

Scenarios: search, card, calendar, availability, booking (under contention), checkout (split
payment and loyalty), compute (compute_analytics), dashboard (the summary for a year), dispatch.
Writes bench/results/suite-<scale>.json and suite-<scale>.md. Targets apply at bigchain;
at salon they are shown for reference only (the CI smoke checks that every scenario runs and is
correct: no double booking, the ledgers balance, no message twice).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import suite_data  # noqa: E402
from bench.search_bench import log, pct  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SCENARIOS = [
    "search",
    "card",
    "calendar",
    "availability",
    "availability-flat",
    "booking",
    "checkout",
    "compute",
    "dashboard",
    "dispatch",
]


@dataclass
class Result:
    name: str
    what: str
    target: str
    runs: int = 0
    p50: float = float("nan")
    p95: float = float("nan")
    max: float = float("nan")
    cpu_p50: float = float("nan")
    queries: float = float("nan")
    floor_p50: float = float("nan")
    floor_p95: float = float("nan")
    floor_what: str = ""
    met: bool | None = None
    load: tuple = ()
    unit: str = "ms"
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        if self.unit != "ms" or not self.floor_p95 or self.floor_p95 != self.floor_p95:
            return float("nan")
        return self.p95 / self.floor_p95


# ---- measuring ----------------------------------------------------------------------------------


class Capture:
    """Counts (and keeps) the statements Django sends while active."""

    def __init__(self, keep: bool = False):
        self.keep = keep
        self.count = 0
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.keep and not many:
            self.statements.append((sql, params))
        return execute(sql, params, many, context)


def timed(call, runs: int, warm: int = 2) -> dict:
    """`call(i)` `warm` times untimed, then `runs` times: wall and CPU ms, queries per call."""
    from django.db import connection

    for i in range(warm):
        call(-1 - i)
    wall, cpu, queries = [], [], []
    for i in range(runs):
        capture = Capture()
        with connection.execute_wrapper(capture):
            c, t = time.process_time(), time.perf_counter()
            call(i)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        queries.append(capture.count)
    return {"wall": wall, "cpu": cpu, "queries": queries}


def captured(call) -> list[tuple[str, object]]:
    from django.db import connection

    capture = Capture(keep=True)
    with connection.execute_wrapper(capture):
        call()
    return capture.statements


def dry_run(call) -> list[tuple[str, object]]:
    """The statements of `call()` run inside a transaction that is rolled back."""
    from django.db import transaction

    class Rollback(Exception):
        pass

    statements: list = []
    try:
        with transaction.atomic():
            statements = captured(call)
            raise Rollback
    except Rollback:
        pass
    return statements


def replay(url: str, batches: list[list[tuple[str, object]]], passes: int = 3) -> list[float]:
    """Each batch's statements over a raw psycopg2 connection in one transaction, rolled back,
    fetching every result; ms per batch (best of `passes` per batch)."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = False
    out = []
    with conn.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_custom_plan")  # as settings.py's connection options
        conn.commit()
        for batch in batches:
            best = float("inf")
            for _ in range(passes):
                t = time.perf_counter()
                for sql, params in batch:
                    cur.execute(sql, params)
                    if cur.description is not None:
                        cur.fetchall()
                conn.rollback()
                best = min(best, (time.perf_counter() - t) * 1000)
            out.append(best)
    conn.close()
    return out


def fill(result: Result, m: dict, floor: list[float] | None = None) -> Result:
    result.runs = len(m["wall"])
    result.p50 = statistics.median(m["wall"])
    result.p95 = pct(m["wall"], 95)
    result.max = max(m["wall"])
    result.cpu_p50 = statistics.median(m["cpu"])
    result.queries = statistics.median(m["queries"])
    if floor:
        result.floor_p50 = statistics.median(floor)
        result.floor_p95 = pct(floor, 95)
    return result


def session_client(user):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def token_client(key: str):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_HOST="localhost")


def ok(response, *codes) -> None:
    codes = codes or (200,)
    if response.status_code not in codes:
        raise AssertionError(f"{response.status_code}: {response.content[:300]!r}")


# ---- scenarios ----------------------------------------------------------------------------------


def s_search(ctx) -> Result:
    import psycopg2

    from accounts.models import Role
    from bench import search_bench
    from customers.search import search_settings_sql, search_sql

    r = Result(
        "search",
        "GET /api/v1/customers/?q= (receptionist token), six kinds of input drawn from the data",
        "SQL p95 ≤ 2× the 1.0 ms floor of SEARCH.md; API p95 ≤ 10 ms",
    )
    conn = psycopg2.connect(ctx.url)
    per_kind = max(2, ctx.runs // 6 + 1)
    inputs = [q for qs in search_bench.inputs(conn, per_kind).values() for q in qs]
    conn.close()
    client = token_client(ctx.fd.tokens[Role.RECEPTIONIST])
    m = timed(lambda i: ok(client.get("/api/v1/customers/", {"q": inputs[i % len(inputs)]})), len(inputs))
    sql = search_bench.measure_sql(psycopg2.connect(ctx.url), {"all": inputs}, 3)["all"]
    floor = [min(t) for t in sql]
    fill(r, m, floor)
    r.floor_what = "the search statement over psycopg2 (best of 3 per input)"
    r.extra["inputs"] = len(inputs)
    del search_settings_sql, search_sql
    if ctx.targets:
        r.met = r.floor_p95 <= 2.0 and r.p95 <= 10
    return r


def s_card(ctx) -> Result:
    from accounts.models import Role

    r = Result(
        "card",
        "GET /customers/<id>/ (receptionist session), the clients with the most visits",
        "p95 ≤ 60 ms, ≤ 12 queries",
    )
    client = session_client(ctx.fd.users[Role.RECEPTIONIST])
    ids = ctx.fd.clients

    def call(i):
        ok(client.get(f"/customers/{ids[i % len(ids)]}/"))

    m = timed(call, ctx.runs)
    batches = [captured(lambda i=i: call(i)) for i in range(min(ctx.runs, 20))]
    fill(r, m, replay(ctx.url, batches))
    r.floor_what = "its statements replayed"
    if ctx.targets:
        r.met = r.p95 <= 60 and r.queries <= 12
    return r


def s_calendar(ctx) -> Result:
    from accounts.models import Role

    r = Result(
        "calendar",
        "GET /calendar/?date= (receptionist), 40 stylists, 600 appointments that day",
        "p95 ≤ 100 ms",
    )
    from accounts.access import SESSION_KEY

    client = session_client(ctx.fd.users[Role.RECEPTIONIST])
    session = client.session
    session[SESSION_KEY] = ctx.fd.calendar.pk  # the header's location switcher
    session.save()
    day = ctx.fd.calendar_day.isoformat()

    def call(i):
        response = client.get("/calendar/", {"date": day})
        ok(response)
        shown = response.content.count(b'class="appt st-')
        if shown != ctx.fd.calendar_shown:
            raise AssertionError(f"{shown} appointments drawn, {ctx.fd.calendar_shown} booked")

    m = timed(call, ctx.runs)
    batches = [captured(lambda: call(0)) for _ in range(5)]
    fill(r, m, replay(ctx.url, batches))
    r.floor_what = "its statements replayed"
    if ctx.targets:
        r.met = r.p95 <= 100
    return r


def _availability(ctx, path: str, r: Result) -> Result:
    from accounts.models import Role

    client = token_client(ctx.fd.tokens[Role.RECEPTIONIST])
    params = {
        "location": ctx.fd.availability.pk,
        "service": ctx.fd.services["B40 Cut"].pk,
        "date": ctx.fd.availability_start.isoformat(),
        "days": 28,
    }
    sizes = []

    def call(i):
        response = client.get(path, params)
        ok(response)
        if i == 0:
            body = response.json()
            pairs = sum(len(t["staff"]) if isinstance(t["staff"], list) else 1 for t in body)
            sizes.append((len(body), pairs, len(response.content)))

    m = timed(call, ctx.runs)
    batches = [captured(lambda: call(-9)) for _ in range(5)]
    fill(r, m, replay(ctx.url, batches))
    r.floor_what = "its statements replayed"
    if sizes:
        rows, pairs, size = sizes[0]
        r.extra.update(rows=rows, stylist_starts=pairs, bytes=size)
        r.notes.append(f"{rows:,} rows, {pairs:,} (stylist, start) pairs, {size / 1e6:.1f} MB of JSON")
    return r


def s_availability(ctx) -> Result:
    r = Result(
        "availability",
        "GET /api/v1/availability/times/?days=28: every free start for a cut with any of 80 stylists, and who",
        "p95 ≤ 50 ms",
    )
    _availability(ctx, "/api/v1/availability/times/", r)
    if ctx.targets:
        r.met = r.p95 <= 50
    return r


def s_availability_flat(ctx) -> Result:
    return _availability(
        ctx,
        "/api/v1/availability/",
        Result(
            "availability-flat",
            "GET /api/v1/availability/?days=28: the same search as one row per stylist and start",
            "(reference: the same search, one row per stylist and start)",
        ),
    )


def s_booking(ctx) -> Result:
    """Threads book the same slots at once: each slot must go to exactly one of them."""
    from django.db import connection

    from accounts.models import Role
    from appointments.models import AppointmentItem

    threads = 8
    r = Result(
        "booking",
        f"POST /api/v1/appointments/ from {threads} threads at once, every thread the same slots in the same order",
        "one winner per slot, the others 409; no overlap in the database",
    )
    key = ctx.fd.tokens[Role.RECEPTIONIST]
    probe = token_client(key)
    day = ctx.fd.availability_start + timedelta(days=1)
    service = ctx.fd.services["B40 Cut"]
    free = probe.get(
        "/api/v1/availability/",
        {"location": ctx.fd.availability.pk, "service": service.pk, "date": day.isoformat(), "days": 7},
    ).json()
    rng = random.Random(3)
    slots, seen = [], set()
    for slot in free:  # one per hour (a cut is an hour): no client can be busy at two of them
        on_the_hour = slot["start"][14:16] == "00"  # an hour apart: no two of them overlap
        if on_the_hour and slot["start"][:13] not in seen and len(slots) < max(8, ctx.runs // 2):
            seen.add(slot["start"][:13])
            slots.append(slot)
    rng.shuffle(slots)
    customers = ctx.fd.clients

    def body(slot, n):
        return {
            "customer": customers[n % len(customers)],
            "location": ctx.fd.availability.pk,
            "items": [{"service": service.pk, "staff": slot["staff"], "start": slot["start"]}],
        }

    # the floor: one uncontended booking's statements (dry run, rolled back), replayed
    batches = [
        dry_run(
            lambda s=s: ok(
                probe.post("/api/v1/appointments/", body(s, 0), content_type="application/json"), 201
            )
        )
        for s in slots[:5]
    ]
    floor = replay(ctx.url, batches)
    results: list[tuple[int, int, float, float]] = []  # (slot index, status, wall ms, cpu ms)
    lock = threading.Lock()
    errors: list = []
    crashes: list = []
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        client = token_client(key)
        barrier.wait()
        for i, slot in enumerate(slots):
            t = time.perf_counter()
            try:
                response = client.post(
                    "/api/v1/appointments/", body(slot, n), content_type="application/json"
                )
                code = response.status_code
            except Exception as error:  # counted and shown: a crash must not hide as a lost request
                import traceback

                code, response = 0, type("R", (), {"content": repr(error).encode()})()
                crashes.append(traceback.format_exc()[-1500:])
            wall = (time.perf_counter() - t) * 1000
            with lock:
                results.append((i, code, wall, 0.0))
                if response.status_code != 201:
                    errors.append((i, response.content[:300]))
        connection.close()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    winners = [sum(1 for i, s, *_ in results if i == k and s == 201) for k in range(len(slots))]
    statuses = sorted({s for _i, s, *_ in results})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM appointments_appointmentitem a JOIN appointments_appointmentitem b"
            " ON a.staff_id = b.staff_id AND a.id < b.id AND a.start < b.busy_until AND b.start < a.busy_until"
            " JOIN appointments_appointment aa ON aa.id = a.appointment_id"
            " JOIN appointments_appointment ab ON ab.id = b.appointment_id"
            " WHERE aa.location_id = %s AND aa.status NOT IN ('cancelled') AND ab.status NOT IN ('cancelled')",
            [ctx.fd.availability.pk],
        )
        overlaps = cursor.fetchone()[0]
    del AppointmentItem
    walls = [w for *_x, w, _c in results]
    m = {"wall": walls, "cpu": [float("nan")], "queries": [float("nan")]}
    fill(r, m, floor)
    r.cpu_p50 = float("nan")
    r.floor_what = "one uncontended booking's statements replayed"
    r.extra.update(
        slots=len(slots),
        requests=len(results),
        seconds=round(elapsed, 2),
        per_second=round(len(results) / elapsed, 1),
        winners_per_slot=sorted(set(winners)),
        statuses=statuses,
        overlaps=overlaps,
    )
    r.notes.append(
        f"{len(results)} requests for {len(slots)} slots in {elapsed:.1f} s; winners per slot {sorted(set(winners))};"
        f" statuses {statuses}; overlapping items in the database: {overlaps}"
    )
    correct = (
        set(winners) == {1}
        and set(statuses) <= {201, 409}
        and overlaps == 0
        and len(results) == threads * len(slots)
    )
    if not correct:
        lost = [k for k, w in enumerate(winners) if w != 1]
        raise AssertionError(
            f"booking under contention went wrong: {r.notes[-1]}; slots {[slots[k] for k in lost]}:"
            f" {[e for e in errors if e[0] in lost][:4]}; crashes: {crashes[:2]}"
        )
    return r


def s_checkout(ctx) -> Result:
    from accounts.models import Role
    from appointments.models import Appointment
    from loyalty.models import LoyaltyAccount
    from loyalty.services import ledger_check

    r = Result(
        "checkout",
        "POST /api/v1/visits/ for a checked-in appointment: part stored value, the rest by card; points earned",
        "p95 ≤ 150 ms",
    )
    client = token_client(ctx.fd.tokens[Role.RECEPTIONIST])
    appts = {a.pk: a for a in Appointment.objects.filter(pk__in=ctx.fd.checkout).prefetch_related("items")}
    ids = [pk for pk in ctx.fd.checkout if pk in appts]
    if len(ids) < ctx.runs + 7:
        raise AssertionError(f"only {len(ids)} appointments to check out for {ctx.runs} runs")

    def body(pk):
        a = appts[pk]
        price = sum((i.price for i in a.items.all()), Decimal(0))
        return {
            "location": ctx.fd.checkout_location.pk,
            "customer": a.customer_id,
            "appointment": pk,
            "payments": [
                {"method": "stored_value", "amount": "50.00"},
                {"method": "card", "amount": str(price - Decimal(50))},
            ],
        }

    def call(i):
        ok(client.post("/api/v1/visits/", body(ids[i + 2]), content_type="application/json"), 201)

    batches = [
        dry_run(
            lambda pk=pk: ok(client.post("/api/v1/visits/", body(pk), content_type="application/json"), 201)
        )
        for pk in ids[-5:]
    ]
    m = timed(call, ctx.runs)
    fill(r, m, replay(ctx.url, batches))
    r.floor_what = "a checkout's statements (dry run) replayed"
    customers = [appts[pk].customer_id for pk in ids[: ctx.runs + 2]]
    bad = [
        c.account_id
        for c in (ledger_check(a) for a in LoyaltyAccount.objects.filter(customer_id__in=customers))
        if not c.ok
    ]
    if bad:
        raise AssertionError(f"ledgers out of balance after checkout: {bad}")
    r.notes.append(f"ledger_check of the {len(customers)} accounts after checkout: all balance")
    if ctx.targets:
        r.met = r.p95 <= 150
    return r


def s_compute(ctx) -> Result:
    from analytics import metrics
    from bench import analytics_bench

    r = Result(
        "compute",
        "manage.py compute_analytics (the nightly rebuild, churn model included) in a child process",
        "≤ 120 s and ≤ 2 GB",
        unit="s",
    )
    out = analytics_bench.run_compute(ctx.url, metrics.today())
    in_db = sum(s["s"] for s in out["statements"])
    r.runs = 1
    r.p50 = r.p95 = r.max = out["wall"]
    r.cpu_p50 = out["cpu"]
    r.queries = len(out["statements"])
    r.floor_p50 = r.floor_p95 = in_db
    r.floor_what = "the time its statements spent in PostgreSQL"
    r.extra.update(
        rss_mb=round(out["rss_mb"]), pg_hwm_mb=round(out["pg_hwm_mb"]), temp_mb=round(out["temp_mb"])
    )
    r.notes.append(
        f"peak RSS {out['rss_mb']:.0f} MB (PostgreSQL backend {out['pg_hwm_mb']:.0f} MB);"
        f" {in_db:.1f} s of {out['wall']:.1f} s in statements"
    )
    if ctx.targets:
        r.met = out["wall"] <= 120 and out["rss_mb"] <= 2048
    return r


def s_dashboard(ctx) -> Result:
    from accounts.models import Role
    from analytics import metrics, rollups

    r = Result(
        "dashboard",
        "GET /api/v1/metrics/summary/ for the last 365 days, the chain (owner token), cold: a new roll-up"
        " generation before each request",
        "p95 ≤ 300 ms",
    )
    client = token_client(ctx.fd.tokens[Role.OWNER])
    today = metrics.today()

    def params(i):
        end = today - timedelta(days=max(i, 0) % 30)
        return {"start": str(end - timedelta(days=364)), "end": str(end)}

    def call(i):
        rollups._changed()
        ok(client.get("/api/v1/metrics/summary/", params(i)))

    m = timed(call, ctx.runs)
    batches = []
    for i in range(5):
        rollups._changed()
        batches.append(captured(lambda i=i: ok(client.get("/api/v1/metrics/summary/", params(i)))))
    fill(r, m, replay(ctx.url, batches))
    warm = timed(lambda i: ok(client.get("/api/v1/metrics/summary/", params(0))), ctx.runs)
    r.extra["warm_p95"] = round(pct(warm["wall"], 95), 2)
    r.notes.append(f"warm (cached until the next refresh): p95 {pct(warm['wall'], 95):.1f} ms")
    r.floor_what = "a cold request's statements replayed"
    if ctx.targets:
        r.met = r.p95 <= 300
    return r


def s_dispatch(ctx) -> Result:
    from django.conf import settings

    from bench import dispatch_bench

    latency = 0.02
    count = {"salon": 500, "chain": 3000, "bigchain": 3000}[ctx.scale]
    r = Result(
        "dispatch",
        f"the dispatcher's loop in one worker process, {count} due reminders, a fake SMS provider answering"
        f" in {latency * 1000:.0f} ms",
        "≥ 2,000 messages/min per worker",
        unit="msg/min",
    )
    from messaging.models import OutboundMessage

    out = dispatch_bench.run(1, count, latency)
    # The other scenarios' messages (confirmations, receipts) are due too and go out with them.
    unsent = (
        OutboundMessage.objects.filter(idempotency_key__startswith="bench:").exclude(status="sent").count()
    )
    if out["duplicates"] or out["received"] < count or unsent:
        raise AssertionError(f"dispatch: {out}, {unsent} planted messages not sent")
    threads = settings.MESSAGING_SEND_THREADS
    r.runs = 1
    r.p50 = r.p95 = r.max = out["per_minute_per_worker"]
    r.floor_p50 = r.floor_p95 = threads * 60 / latency
    r.floor_what = f"the provider's latency with {threads} send threads"
    r.notes.append(
        f"{out['received']} received by the provider, {out['duplicates']} twice, {out['seconds']:.1f} s"
    )
    if ctx.targets:
        r.met = out["per_minute_per_worker"] >= 2000
    return r


RUNNERS = {
    "search": s_search,
    "card": s_card,
    "calendar": s_calendar,
    "availability": s_availability,
    "availability-flat": s_availability_flat,
    "booking": s_booking,
    "checkout": s_checkout,
    "compute": s_compute,
    "dashboard": s_dashboard,
    "dispatch": s_dispatch,
}


# ---- report -------------------------------------------------------------------------------------


@dataclass
class Context:
    scale: str
    url: str
    runs: int
    targets: bool
    fd: object


def _f(value: float, unit: str = "ms") -> str:
    if value != value:
        return "–"
    if unit == "msg/min":
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GB, Python {platform.python_version()}"


def markdown(meta: dict, results: list[Result]) -> str:
    lines = [
        f"# Benchmark suite, scale `{meta['scale']}`",
        "",
        f"Run {meta['started']} → {meta['finished']} UTC by `make bench SCALE={meta['scale']}` on {meta['machine']};"
        f" PostgreSQL {meta['postgres']}. Data: {meta['data']}.",
        "",
        "Wall times over the timed requests (after two untimed ones) through Django's test client in one"
        " process, DEBUG off; CPU = this process's CPU time per request (p50); queries per request (median);"
        " floor = the same reads as raw SQL through psycopg2 on the same data; ratio = p95 / floor p95."
        " Load average (1 min) before and after each scenario: the machine's 2 cores are shared.",
        "",
        "| scenario | runs | p50 | p95 | max | CPU p50 | queries | floor p50 | floor p95 | ratio | load | target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in results:
        unit = "" if r.unit == "ms" else f" {r.unit}"
        met = {True: "**met**", False: "**missed**", None: "–"}[r.met]
        load = " → ".join(f"{x:.1f}" for x in r.load)
        lines.append(
            f"| {r.name} | {r.runs} | {_f(r.p50, r.unit)}{unit} | {_f(r.p95, r.unit)}{unit} | {_f(r.max, r.unit)}{unit}"
            f" | {_f(r.cpu_p50)} | {_f(r.queries)} | {_f(r.floor_p50, r.unit)}{unit} | {_f(r.floor_p95, r.unit)}{unit}"
            f" | {_f(r.ratio)}{'×' if r.ratio == r.ratio else ''} | {load} | {r.target} | {met} |"
        )
    lines += ["", "(milliseconds unless marked; compute in seconds)", ""]
    for r in results:
        lines.append(f"- **{r.name}**: {r.what}. Floor: {r.floor_what}." + "".join(f" {n}." for n in r.notes))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=list(suite_data.SCALES), default="salon")
    parser.add_argument(
        "--runs", type=int, default=None, help="timed requests per scenario (30; 10 at salon)"
    )
    parser.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated scenarios to leave out")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--keep-front-desk", action="store_true", help="reuse the front desk an earlier run built (faster)"
    )
    parser.add_argument("--out", default=None, help="results base name (default bench/results/suite-<scale>)")
    args = parser.parse_args()
    chosen = [
        s for s in (args.only.split(",") if args.only else SCENARIOS) if s and s not in args.skip.split(",")
    ]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    runs = args.runs or (10 if args.scale == "salon" else 30)
    started = datetime.now(UTC)
    url = suite_data.setup(args.scale)
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 409s of the booking race
    logging.getLogger("celery").setLevel(logging.WARNING)  # eager tasks (no broker here)
    data = suite_data.ensure(args.scale, regenerate=args.regenerate, keep_front_desk=args.keep_front_desk)
    fd = data.pop("front_desk")
    from appointments.models import Appointment
    from appointments.services import rules

    bounds = rules.day_bounds(fd.calendar, fd.calendar_day)
    fd.calendar_shown = (
        Appointment.objects.filter(location=fd.calendar, start__gte=bounds[0], start__lt=bounds[1])
        .exclude(status__in=["cancelled"])
        .count()
    )
    ctx = Context(args.scale, url, runs, args.scale == "bigchain", fd)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    if "compute" not in chosen and "dashboard" in chosen:
        from analytics.models import DailyStats

        if not DailyStats.objects.exists():
            chosen.insert(chosen.index("dashboard"), "compute")
    results = []
    for name in chosen:
        log(f"scenario {name}")
        before = os.getloadavg()[0]
        result = RUNNERS[name](ctx)
        result.load = (before, os.getloadavg()[0])
        results.append(result)
        log(
            f"  p50 {_f(result.p50, result.unit)} p95 {_f(result.p95, result.unit)} {result.unit}, floor p95 {_f(result.floor_p95, result.unit)}"
        )
    meta = {
        "scale": args.scale,
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "finished": datetime.now(UTC).strftime("%H:%M"),
        "machine": machine(),
        "postgres": pg,
        "data": (
            f"{data['c']:,} clients, {data['v']:,} visits, {data['a']:,} appointments,"
            f" {data['messaging_outboundmessage']:,} outbox rows, {data['loyalty_pointsentry']:,} points entries"
        ),
        "runs": runs,
    }
    base = Path(args.out) if args.out else RESULTS / f"suite-{args.scale}"
    base.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": meta,
        "data": {k: v for k, v in data.items() if not isinstance(v, (list, tuple, dict))},
    }
    payload["results"] = [{**asdict(r), "ratio": r.ratio} for r in results]
    base.with_suffix(".json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    text = markdown(meta, results)
    base.with_suffix(".md").write_text(text)
    print(text)
    missed = [r.name for r in results if r.met is False]
    if missed:
        log(f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
