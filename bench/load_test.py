"""The load test (issue 15 item 3): gunicorn on PostgreSQL at chain scale under locust, loopback only.

    .venv/bin/pip install -c constraints.txt -e ".[dev,load]"      # locust (not installed by CI)
    .venv/bin/python bench/load_test.py                          # phase 1 (5 min), then the step-up
    BENCH_DB=salon_load_chain .venv/bin/python bench/load_test.py   # a database of its own
    .venv/bin/python bench/load_test.py --phase 1 --duration 60     # a quick look
    .venv/bin/python bench/load_test.py --phase 2 --users 250 --steps 300,400 --step-seconds 60
    .venv/bin/python bench/load_test.py --report-only /tmp/load_test_<pid>   # rewrite the results

1. Data: `bench.suite_data.ensure("chain")` (200,000 clients, 1,000,000 visits, generated once into
   `salon_bench_chain`, or BENCH_DB / --db; the front desk on top is rebuilt unless
   --keep-front-desk), `compute_analytics` once if there are no roll-ups (the dashboard reads
   them), and --checkouts arrived appointments at `benchlt` for members holding stored value
   (as `suite_data.checkout_appointments` makes them, with 100 stylists so that thousands fit in
   the day), handed to the simulated desks through the plan file.
2. The server: the Dockerfile's gunicorn command (`scripts/compose_check.py gunicorn-args`:
   sync workers, access log on) with --workers 4 and bound to 127.0.0.1 only; production
   settings (DEBUG off, the manifest's static files, SSL redirect, secure cookies and HSTS - the
   simulated browsers send `X-Forwarded-Proto: https` as the load balancer does), the suite's fixed
   FIELD_ENCRYPTION_KEYS, the cache in Redis db --cache-db and the Celery broker in Redis db
   --broker-db as in production but **no worker** (tasks are published and left queued, as
   they would be for a worker on another machine; both dbs are emptied before and after),
   AXES_PROXY_COUNT=1 (each simulated desk sends its own X-Forwarded-For, so the login and token
   rate limits count per desk as behind a balancer), and OTP_REQUIRED_ROLES empty: the managers
   would otherwise be asked for a code from a phone at login.
3. Waits until the load average (1 min) is at most --wait-load (polling every minute, at most
   --wait-minutes), then runs locust headless as a subprocess (bench/load/locustfile.py, its
   StepShape): phase 1 is 50 front desk + 5 managers measured for --duration seconds once all
   of them have logged in; phase 2 steps the users up (--steps, --step-seconds each, at most
   --max-users) and stops after the first step whose p95 passes --p95-limit ms or that had a
   failure; a step past the limit is measured once more first (the machine may be shared: a
   burst of other work must not end the step-up). With --phase both the step-up continues from
   phase 1's users without a restart, whatever phase 1's p95.
4. Samples once a second: CPU of gunicorn (master + workers), of PostgreSQL (this database's
   backends / the background processes / other databases' backends), of locust, and of every
   other process (other work on the machine, the heaviest named in the report), from /proc; the
   load average; pg_stat_activity of this database by state, the backends waiting on
   a lock and pg_locks not granted; gunicorn's listen queue and the connections it is serving
   (/proc/net/tcp).
5. Writes bench/results/load.json and load.md (per phase and step: users, requests/s, p50 / p95 /
   p99 / max per request name and overall, failures with examples, CPU shares, connections, lock
   waits, load average), the latter with a "## Load test" section ready for docs/performance.md.
   The raw files (plan, every request, the steps, the samples, the server's and locust's logs)
   stay in /tmp/load_test_<pid>; --report-only rewrites the results from them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import suite_data  # noqa: E402
from bench.search_bench import log, pct  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
VENV_BIN = Path(sys.executable).parent
LOGIN_NAMES = {"login page", "login post", "api token", "switch location"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
FRONT_DESK_WEIGHT, MANAGER_WEIGHT = 50, 5


# ---- data and plan --------------------------------------------------------------------------------


CHECKOUT_LOCATION, CHECKOUT_STYLISTS = "benchlt", 100


def checkout_appointments(count: int) -> tuple[object, list[int]]:
    """The load test's arrived appointments: suite_data's, at its own location `benchlt` with
    100 stylists (a run needs thousands, all on today's local date)."""
    return suite_data.checkout_appointments(count, code=CHECKOUT_LOCATION, stylists=CHECKOUT_STYLISTS)


def data_present(url: str, scale: str) -> bool:
    """At least the scale's clients (each with a phone) and visits, and the outbox filled."""
    import psycopg2

    size = suite_data.SCALES[scale]
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM customers_customer WHERE phone IS NOT NULL),"
            " (SELECT count(*) FROM appointments_visit),"
            " EXISTS (SELECT 1 FROM messaging_outboundmessage)"
        )
        phones, visits, outbox = cur.fetchone()
    return phones >= size.clients and visits >= size.visits and outbox


def prepare(args) -> dict:
    """The chain's data, roll-ups, checkout appointments; returns the plan for the locustfile."""
    import psycopg2

    url = suite_data.setup(args.scale)
    log(f"database {suite_data.db_name(args.scale)}")
    t = time.perf_counter()
    if data_present(url, args.scale):
        # suite_data.ensure compares exact row counts, which the front desk's own clients (benchcal)
        # and every checkout change, so it would generate the data again on every run: the front
        # desk is rebuilt here on data already there.
        from bench import analytics_bench

        fd = suite_data.front_desk(analytics_bench.locations(), rebuild=not args.keep_front_desk)
        conn = psycopg2.connect(url)
        data = suite_data.counts(conn)
        conn.close()
    else:
        data = suite_data.ensure(args.scale, keep_front_desk=args.keep_front_desk)
        fd = data.pop("front_desk")
    log(f"data ready in {time.perf_counter() - t:.0f} s: {data['c']:,} clients, {data['v']:,} visits")
    from django.core.management import call_command

    from analytics.models import DailyStats

    if not DailyStats.objects.exists():
        log("no roll-ups: compute_analytics")
        t = time.perf_counter()
        call_command("compute_analytics", verbosity=0)
        log(f"compute_analytics in {time.perf_counter() - t:.0f} s")

    from appointments.models import Appointment

    t = time.perf_counter()
    location, ids = checkout_appointments(args.checkouts)
    for user in fd.users.values():  # the suite's users work at its locations; add this one
        user.staff.locations.add(location)
    appointments = Appointment.objects.filter(pk__in=ids).prefetch_related("items")
    queue = [
        {"appointment": a.pk, "customer": a.customer_id, "price": str(sum(i.price for i in a.items.all()))}
        for a in appointments
    ]
    queue.sort(key=lambda row: row["appointment"])
    log(
        f"{len(queue)} arrived appointments to check out at {location.code} in {time.perf_counter() - t:.0f} s"
    )

    from bench import search_bench

    conn = psycopg2.connect(url)
    inputs = [q for qs in search_bench.inputs(conn, 100).values() for q in qs]
    with conn.cursor() as cur:
        # cards: the clients with the most visits (heavy cards) and any client who came
        cur.execute(
            "SELECT id FROM customers_customer c TABLESAMPLE SYSTEM (2)"
            " WHERE EXISTS (SELECT 1 FROM appointments_visit v WHERE v.customer_id = c.id) LIMIT 1000"
        )
        cards = list(fd.clients) + [r[0] for r in cur.fetchall()]
        # bookings: clients found by the last 4 digits of their phone, as the desk types them
        cur.execute(
            "SELECT id, reverse(left(phone_rev, 4)) FROM customers_customer TABLESAMPLE SYSTEM (3)"
            " WHERE phone_rev <> '' LIMIT 2000"
        )
        customers = [{"id": r[0], "q": r[1]} for r in cur.fetchall()]
        # the chain's three locations (three time zones, three years of visits)
        cur.execute(
            "SELECT id FROM accounts_location WHERE code = ANY(%s) ORDER BY id",
            [[code for code, *_rest in search_bench_locations()]],
        )
        chain_locations = [str(r[0]) for r in cur.fetchall()]
    conn.close()

    from analytics import metrics

    today = metrics.today()
    periods = [{"start": str(today - timedelta(days=n - 1)), "end": str(today)} for n in (7, 30, 90, 365)] + [
        {"start": str(today.replace(day=1)), "end": str(today)},
        {
            "start": str((today.replace(day=1) - timedelta(days=1)).replace(day=1)),
            "end": str(today.replace(day=1) - timedelta(days=1)),
        },
        {"start": str(today - timedelta(days=400)), "end": str(today - timedelta(days=371))},
    ]
    from accounts.models import Role

    return {
        "password": suite_data.PASSWORD,
        "users": {
            "desk": fd.users[Role.RECEPTIONIST].username,
            "manager": fd.users[Role.MANAGER].username,
        },
        "search_inputs": inputs,
        "cards": cards,
        "calendar": {"location": fd.calendar.pk, "day": fd.calendar_day.isoformat()},
        "booking": {
            "location": fd.availability.pk,
            "service": fd.services["B40 Cut"].pk,
            "dates": [str(fd.availability_start + timedelta(days=d)) for d in range(28)],
            "staff": [s.pk for s in fd.stylists],
            "customers": customers,
        },
        "checkout": {"location": location.pk, "queue": queue},
        "dashboard": {"periods": periods, "locations": ["all", *chain_locations]},
        "data": {k: v for k, v in data.items() if isinstance(v, int)},
        "database": suite_data.db_name(args.scale),
    }


def search_bench_locations() -> list:
    from bench.analytics_bench import LOCATIONS

    return LOCATIONS


# ---- the server -----------------------------------------------------------------------------------


def server_env(args) -> dict:
    """Production settings, as docker-compose.yml's `web` gets them, for the loopback."""
    dropped = ("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "OTP_", "FIELD_", "AXES_", "RATE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(
        DJANGO_SETTINGS_MODULE="salon_crm.settings",
        DATABASE_URL=f"{suite_data.server()}/{suite_data.db_name(args.scale)}",
        DJANGO_SECRET_KEY="load-test-" + secrets.token_urlsafe(40),
        FIELD_ENCRYPTION_KEYS=suite_data.BENCH_FIELD_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        CACHE_URL=f"redis://127.0.0.1:6379/{args.cache_db}",
        CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{args.broker_db}",
        AXES_PROXY_COUNT="1",
        OTP_REQUIRED_ROLES="",
    )
    return env


def image_command(args) -> list[str]:
    """The Dockerfile's CMD arguments with only the bind address changed (as CI starts it)."""
    out = subprocess.run(
        [sys.executable, "scripts/compose_check.py", "gunicorn-args", "--bind", f"127.0.0.1:{args.port}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    return [a for a in out if a]


def image_workers(args) -> str | None:
    cmd = image_command(args)
    return cmd[cmd.index("--workers") + 1] if "--workers" in cmd[:-1] else None


def gunicorn_command(args) -> list[str]:
    cmd = image_command(args)
    if "--workers" in cmd:
        cmd[cmd.index("--workers") + 1] = str(args.workers)
    else:
        cmd += ["--workers", str(args.workers)]
    return [str(VENV_BIN / "gunicorn"), *cmd]


def redis_flush(db: int) -> None:
    subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-n", str(db), "flushdb"], capture_output=True, check=True
    )


def static_files(env: dict) -> None:
    """The manifest the production settings read (scripts/build_static.sh, as the image builds it)."""
    if not (ROOT / "var" / "static" / "staticfiles.json").exists():
        log("collecting static files (scripts/build_static.sh)")
        subprocess.run(["sh", "scripts/build_static.sh", sys.executable], cwd=ROOT, env=env, check=True)


def wait_healthy(port: int, proc: subprocess.Popen, seconds: int = 90) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": "127.0.0.1"})
    for _ in range(seconds * 2):
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}) before /healthz answered")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"/healthz did not answer within {seconds} s")


def wait_for_load(limit: float, minutes: int) -> list[tuple[str, float]]:
    """Poll the load average every minute until it is at most `limit` (at most `minutes`)."""
    polls = [(datetime.now(UTC).strftime("%H:%M:%S"), os.getloadavg()[0])]
    for _ in range(minutes):
        if polls[-1][1] <= limit:
            break
        log(f"load average {polls[-1][1]:.2f} > {limit}: waiting a minute")
        time.sleep(60)
        polls.append((datetime.now(UTC).strftime("%H:%M:%S"), os.getloadavg()[0]))
    return polls


# ---- sampling -------------------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[str, int, int, int]]:
    """pid -> (comm, ppid, utime + stime ticks, start ticks)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        table[int(entry.name)] = (comm, int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[19]))
    return table


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:100]


def _machine_ticks() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts[:8]) - idle, idle


def _descendants(table: dict, root: int) -> set[int]:
    out, frontier = {root}, [root]
    children = defaultdict(list)
    for pid, (_c, ppid, _t, _s) in table.items():
        children[ppid].append(pid)
    while frontier:
        for child in children[frontier.pop()]:
            if child not in out:
                out.add(child)
                frontier.append(child)
    return out & set(table)


def _listen_queue(port: int) -> tuple[int, int]:
    """gunicorn's socket: connections waiting to be accepted (the listen queue), and the
    connections accepted or waiting (server side, ESTABLISHED) on the port."""
    queued, established = 0, 0
    want = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if cols[1] != want:
            continue
        if cols[3] == "0A":
            queued = int(cols[4].split(":")[1], 16)
        elif cols[3] == "01":
            established += 1
    return queued, established


class Sampler(threading.Thread):
    """Once a second: CPU (cores) per process group, load average, PostgreSQL connections and
    lock waits of the load's database, gunicorn's queue."""

    def __init__(self, db: str, port: int, gunicorn_pid: int):
        super().__init__(daemon=True)
        import psycopg2

        self.db, self.port, self.gunicorn_pid = db, port, gunicorn_pid
        self.locust_pid: int | None = None
        self.conn = psycopg2.connect(f"{suite_data.server()}/postgres", application_name="load_test_sampler")
        self.conn.autocommit = True
        self.stop = threading.Event()
        self.samples: list[dict] = []
        self.other_ticks: Counter = Counter()  # CPU ticks of every other process (other work)
        self.other_cmd: dict[int, str] = {}
        self.boot_ticks = self._uptime_ticks()

    @staticmethod
    def _uptime_ticks() -> int:
        return int(float(Path("/proc/uptime").read_text().split()[0]) * CLK_TCK)

    def top_others(self, n: int = 6) -> list[tuple[str, float]]:
        """The other processes that used the most CPU while sampling: (command, CPU seconds)."""
        by_cmd: Counter = Counter()
        for pid, ticks in self.other_ticks.items():
            by_cmd[self.other_cmd.get(pid, "?")] += ticks / CLK_TCK
        return [(cmd, round(s, 1)) for cmd, s in by_cmd.most_common(n)]

    def _pg(self) -> dict:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT pid, datname, backend_type, state, wait_event_type,"
                " CASE WHEN wait_event_type = 'Lock' THEN wait_event || ': ' || left(query, 120) END"
                " FROM pg_stat_activity"
            )
            rows = cur.fetchall()
            cur.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE NOT l.granted AND a.datname = %s",
                [self.db],
            )
            not_granted = cur.fetchone()[0]
        clients = [r for r in rows if r[1] == self.db and r[2] == "client backend"]
        states = Counter(r[3] or "none" for r in clients)
        return {
            # every backend on the load's database (its autovacuum workers too) / on the others
            "pids": {r[0] for r in rows if r[1] == self.db},
            "other_db_pids": {r[0] for r in rows if r[1] is not None and r[1] != self.db},
            "connections": len(clients),
            "active": states.get("active", 0),
            "idle": states.get("idle", 0),
            "idle_in_tx": states.get("idle in transaction", 0),
            "lock_waits": sum(1 for r in clients if r[4] == "Lock"),
            "lock_waiting": [r[5] for r in clients if r[4] == "Lock"],
            "locks_not_granted": not_granted,
        }

    def run(self) -> None:
        prev: dict[int, int] = {}
        started = self._uptime_ticks()
        prev_busy, prev_idle = _machine_ticks()
        prev_t = time.time()
        while not self.stop.wait(1.0):
            try:
                now = time.time()
                table = _proc_table()
                busy, idle = _machine_ticks()
                pg = self._pg()
                groups = {
                    "gunicorn": _descendants(table, self.gunicorn_pid),
                    "locust": _descendants(table, self.locust_pid) if self.locust_pid else set(),
                    "pg_load_db": {p for p in pg.pop("pids") if p in table},
                }
                other_dbs = pg.pop("other_db_pids")
                groups["pg_other"] = {p for p in other_dbs if p in table}
                # the postmaster, checkpointer, WAL writer, background writer...: the writes of
                # every database, the load's among them
                groups["pg_background"] = {
                    p
                    for p, row in table.items()
                    if row[0].startswith("postgres") and p not in groups["pg_load_db"] and p not in other_dbs
                }
                elapsed_ticks = max(1e-9, (now - prev_t) * CLK_TCK)
                cpu = {}
                for name, pids in groups.items():
                    used = 0
                    for pid in pids:
                        ticks, start = table[pid][2], table[pid][3]
                        base = prev.get(pid, 0 if start >= started else ticks)
                        used += max(0, ticks - base)
                    cpu[name] = used / elapsed_ticks
                ours = set().union(*groups.values())
                for pid, row in table.items():
                    if pid in ours or pid == os.getpid():
                        continue
                    used = row[2] - prev.get(pid, 0 if row[3] >= started else row[2])
                    if used > 0:
                        if pid not in self.other_cmd:
                            self.other_cmd[pid] = _cmdline(pid) or row[0]
                        self.other_ticks[pid] += used
                prev = {pid: row[2] for pid, row in table.items()}
                machine = (
                    (busy - prev_busy)
                    / max(1, (busy - prev_busy) + (idle - prev_idle))
                    * (os.cpu_count() or 1)
                )
                cpu["machine"] = machine
                cpu["rest"] = max(0.0, machine - sum(cpu[g] for g in groups))
                prev_busy, prev_idle, prev_t = busy, idle, now
                queued, established = _listen_queue(self.port)
                self.samples.append(
                    {
                        "t": round(now, 3),
                        "cpu": {k: round(v, 3) for k, v in cpu.items()},
                        "load1": os.getloadavg()[0],
                        "pg": pg,
                        "listen_queue": queued,
                        "in_service": max(0, established - queued),
                        "gunicorn_workers": max(0, len(groups["gunicorn"]) - 1),
                    }
                )
            except Exception as error:  # a failed sample is a gap, never the end of the run
                self.samples.append({"t": time.time(), "error": repr(error)})
        self.conn.close()


# ---- analysis -------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut when locust was stopped
    return out


def server_tracebacks(text: str, limit: int = 5) -> list[str]:
    """The first tracebacks of different errors in the server's log (a 500 is logged with one)."""
    out, seen, block = [], set(), None
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            block = [line]
        elif block is not None:
            block.append(line)
            if not line.startswith(" "):
                if line not in seen:
                    seen.add(line)
                    out.append("\n".join(block))
                block = None
    return out[:limit]


def latency(times: list[float]) -> dict:
    if not times:
        return {"n": 0}
    return {
        "n": len(times),
        "p50": round(statistics.median(times), 1),
        "p95": round(pct(times, 95), 1),
        "p99": round(pct(times, 99), 1),
        "max": round(max(times), 1),
    }


def split_users(users: int) -> tuple[int, int]:
    """How locust shares `users` between the classes by weight (50 : 5)."""
    managers = round(users * MANAGER_WEIGHT / (FRONT_DESK_WEIGHT + MANAGER_WEIGHT))
    return users - managers, managers


QUIET = 0.5  # cores of other work below which the machine counts as quiet


def quiet_latency(work: list[dict], samples: list[dict]) -> dict:
    """The requests answered while the rest of the machine (other work) used less than QUIET
    cores in the second of their middle: what the server does when it has the cores to itself."""
    rest = {int(s["t"]): s["cpu"]["rest"] + s["cpu"]["pg_other"] for s in samples}
    times = []
    for r in work:
        busy = rest.get(int(r["t"] + r["ms"] / 2000 + 1))  # a sample covers the second before it
        if busy is not None and busy < QUIET:
            times.append(r["ms"])
    return {**latency(times), "share": round(len(times) / max(1, len(work)), 2)}


def timeline(work: list[dict], samples: list[dict], start: float, end: float, every: int = 30) -> list[dict]:
    """Per `every` seconds: p50 / p95, and the CPU of gunicorn, of other work, of the machine."""
    out = []
    t = start
    while t < end - 1:
        rs = [r["ms"] for r in work if t <= r["t"] < t + every]
        ss = [s for s in samples if t <= s["t"] < t + every]
        if rs and ss:
            out.append(
                {
                    "from_s": round(t - start),
                    **{k: v for k, v in latency(rs).items() if k in ("n", "p50", "p95")},
                    "gunicorn": round(statistics.fmean(s["cpu"]["gunicorn"] for s in ss), 2),
                    "rest": round(statistics.fmean(s["cpu"]["rest"] + s["cpu"]["pg_other"] for s in ss), 2),
                    "machine": round(statistics.fmean(s["cpu"]["machine"] for s in ss), 2),
                    "load1": round(statistics.fmean(s["load1"] for s in ss), 1),
                    "listen_queue_max": max(s["listen_queue"] for s in ss),
                }
            )
        t += every
    return out


def window_stats(records: list[dict], samples: list[dict], start: float, end: float) -> dict:
    rows = [r for r in records if start <= r["t"] < end]
    work = [r for r in rows if r["name"] not in LOGIN_NAMES]
    by_name: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_name[r["name"]].append(r)
    seconds = max(1e-9, end - start)
    names = {}
    for name, rs in sorted(by_name.items(), key=lambda kv: -len(kv[1])):
        failures = [r for r in rs if not r["ok"]]
        names[name] = {
            **latency([r["ms"] for r in rs]),
            "rps": round(len(rs) / seconds, 2),
            "failures": len(failures),
        }
    failures = [r for r in rows if not r["ok"]]
    examples, seen = [], set()
    for r in failures:
        key = (r["name"], r.get("status"), (r.get("error") or "")[:80])
        if key not in seen:
            seen.add(key)
            examples.append({k: r.get(k) for k in ("name", "status", "error", "ms")})
    ok_samples = [s for s in samples if start <= s["t"] < end and "cpu" in s]

    def mean(values):
        return round(statistics.fmean(values), 2) if values else None

    def peak(values):
        return max(values) if values else None

    cpu = {
        g: mean([s["cpu"][g] for s in ok_samples])
        for g in ("gunicorn", "pg_load_db", "pg_background", "pg_other", "locust", "rest", "machine")
    }
    cpu_p90 = {
        g: round(pct([s["cpu"][g] for s in ok_samples], 90), 2) if ok_samples else None
        for g in ("gunicorn", "machine")
    }
    pg = [s["pg"] for s in ok_samples]
    return {
        "seconds": round(seconds, 1),
        "requests": len(work),
        "rps": round(len(work) / seconds, 2),
        "overall": latency([r["ms"] for r in work]),
        "failures": len([r for r in work if not r["ok"]]),
        "login_requests": len(rows) - len(work),
        "login_failures": len([r for r in rows if r["name"] in LOGIN_NAMES and not r["ok"]]),
        "by_name": names,
        "failure_examples": examples[:12],
        "cpu_cores": cpu,
        "cpu_cores_p90": cpu_p90,
        "machine_busy_share": round(cpu["machine"] / (os.cpu_count() or 1), 3)
        if cpu["machine"] is not None
        else None,
        "load1": {
            "mean": mean([s["load1"] for s in ok_samples]),
            "max": peak([s["load1"] for s in ok_samples]),
        },
        "pg": {
            "connections_max": peak([p["connections"] for p in pg]),
            "active_mean": mean([p["active"] for p in pg]),
            "active_max": peak([p["active"] for p in pg]),
            "idle_in_tx_max": peak([p["idle_in_tx"] for p in pg]),
            "lock_waits_max": peak([p["lock_waits"] for p in pg]),
            "lock_wait_samples": sum(1 for p in pg if p["lock_waits"]),
            "locks_not_granted_max": peak([p["locks_not_granted"] for p in pg]),
        },
        "gunicorn": {
            "listen_queue_mean": mean([s["listen_queue"] for s in ok_samples]),
            "listen_queue_max": peak([s["listen_queue"] for s in ok_samples]),
            "in_service_mean": mean([s["in_service"] for s in ok_samples]),
            "queued_samples": sum(1 for s in ok_samples if s["listen_queue"] > 0),
            "workers": peak([s["gunicorn_workers"] for s in ok_samples]),
        },
        "samples": len(ok_samples),
        "machine_full_share": round(
            sum(1 for s in ok_samples if s["cpu"]["machine"] >= 0.95 * (os.cpu_count() or 1))
            / max(1, len(ok_samples)),
            2,
        ),
        "server_cpu_ms_per_request": round(
            ((cpu["gunicorn"] or 0) + (cpu["pg_load_db"] or 0)) * seconds * 1000 / max(1, len(rows)), 1
        ),
        "quiet": quiet_latency(work, ok_samples),
        "timeline": timeline(work, ok_samples, start, end),
    }


def analyse(records: list[dict], marks: list[dict], samples: list[dict], phase: str) -> list[dict]:
    steps = []
    starts = {m["step"]: m for m in marks if m["event"] == "step_start"}
    readies = {m["step"]: m for m in marks if m["event"] == "step_ready"}
    measured: Counter = Counter()
    for m in marks:
        if m["event"] != "step_end":
            continue
        i = m["step"]
        again = measured[i] > 0  # measured once more after passing the limit
        measured[i] += 1
        fd, managers = split_users(m["users"])
        label = "phase 1" if i == 0 and phase in ("1", "both") else f"step {i}"
        if again:
            label += " (again)"
        stats = window_stats(records, samples, m["measure_start"], m["measure_end"])
        ramp = (
            window_stats(records, samples, starts[i]["t"], m["measure_start"])
            if i in starts and not again
            else {}
        )
        steps.append(
            {
                "label": label,
                "step": i,
                "again": again,
                "users": m["users"],
                "front_desk": fd,
                "managers": managers,
                "ramp_seconds": round(readies[i]["t"] - starts[i]["t"], 1)
                if i in readies and i in starts and not again
                else None,
                "ramp": {k: ramp.get(k) for k in ("requests", "login_requests", "login_failures", "by_name")}
                if ramp
                else {},
                **stats,
            }
        )
    return steps


# ---- report ---------------------------------------------------------------------------------------


def _ms(value) -> str:
    return "–" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _c(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def own_cpu(step: dict) -> float:
    c = step["cpu_cores"]
    return (c["gunicorn"] or 0) + (c["pg_load_db"] or 0) + (c["locust"] or 0)


def saturation(step: dict, workers: int, max_connections: int) -> dict[str, str]:
    """What was at its limit during a step: name -> the figures that say so. "CPU" counts when
    the machine was 85 % busy on average or both cores were full most of the step, and the load
    itself used at least half of it;
    "CPU (other work)" when they were busy mostly with other work (a condition, not a finding)."""
    c, g, p = step["cpu_cores"], step["gunicorn"], step["pg"]
    samples = max(1, step["samples"])
    out = {}
    if step["machine_full_share"] >= 0.5 or (step["machine_busy_share"] or 0) >= 0.85:
        busy = c["machine"] or 0
        mine = own_cpu(step)
        kind = "CPU" if mine >= 0.5 * busy else "CPU (other work)"
        out[kind] = (
            f"both cores busy (≥ 95 %) in {step['machine_full_share']:.0%} of the seconds ({busy:.2f} cores on"
            f" average): the load {mine:.2f} (gunicorn {_c(c['gunicorn'])}, PostgreSQL {_c(c['pg_load_db'])},"
            f" locust {_c(c['locust'])}), other work {(c['rest'] or 0) + (c['pg_other'] or 0):.2f}"
        )
    if g["queued_samples"] / samples >= 0.2 or (g["in_service_mean"] or 0) >= 0.75 * workers:
        out["gunicorn workers"] = (
            f"{g['in_service_mean']} of {workers} sync workers busy on average; requests waited in the listen"
            f" queue in {g['queued_samples']} of {step['samples']} seconds (mean {g['listen_queue_mean']},"
            f" up to {g['listen_queue_max']})"
        )
    if (p["connections_max"] or 0) >= 0.9 * max_connections:
        out["PostgreSQL connections"] = f"{p['connections_max']} of max_connections {max_connections}"
    if p["lock_wait_samples"] / samples >= 0.1:
        out["locks"] = (
            f"backends waited on a lock in {p['lock_wait_samples']} of {step['samples']} seconds (at most"
            f" {p['lock_waits_max']} at once, {p['locks_not_granted_max']} locks not granted)"
        )
    return out


def at_the_bend(step: dict, workers: int, max_connections: int, *, bent: bool) -> str:
    c, g, p = step["cpu_cores"], step["gunicorn"], step["pg"]
    where = "the bend" if bent else "the last step"
    return (
        f"At {step['label']} ({step['users']} users, {step['rps']:.0f} requests/s; {where}): the machine"
        f" {step['machine_busy_share']:.0%} busy, both cores full in {step['machine_full_share']:.0%} of the"
        f" seconds; the load itself {own_cpu(step):.2f} cores (gunicorn {_c(c['gunicorn'])}, PostgreSQL"
        f" {_c(c['pg_load_db'])}, locust {_c(c['locust'])}), other work"
        f" {(c['rest'] or 0) + (c['pg_other'] or 0):.2f}. gunicorn's {workers} sync workers busy"
        f" {g['in_service_mean']} on average, requests waiting in the listen queue in {g['queued_samples']} of"
        f" {step['samples']} seconds (mean {g['listen_queue_mean']}, up to {g['listen_queue_max']})."
        f" PostgreSQL: at most {p['connections_max']} connections of {max_connections} ({p['active_mean']}"
        f" active on average), a backend waiting on a lock in {p['lock_wait_samples']} of {step['samples']}"
        f" seconds. Server CPU per request {step['server_cpu_ms_per_request']:.0f} ms, p50"
        f" {_ms(step['overall'].get('p50'))} ms."
        + (
            " The rest of a request's time is spent waiting for a core or a worker."
            if (step["overall"].get("p50") or 0) > 2 * step["server_cpu_ms_per_request"]
            else ""
        )
    )


def verdict(steps: list[dict], limit: float, workers: int, max_connections: int) -> dict:
    """Where it bends (the first step past the limit or with failures) and what saturated first
    (the earliest step at which each resource was at its limit)."""

    def passed(s: dict) -> bool:
        return s["overall"].get("p95", 0) <= limit and not s["failures"]

    # a step passes if one of its measurements did (a step past the limit is measured once more)
    bend, last_ok = None, None
    for s in steps:
        same = [x for x in steps if x["step"] == s["step"]]
        if s is not same[-1]:
            continue
        good = [x for x in same if passed(x)]
        if good:
            last_ok = good[0]
        elif bend is None:
            bend = s
            break
    first: dict[str, tuple[str, int, str]] = {}
    for s in steps:
        for name, why in saturation(s, workers, max_connections).items():
            first.setdefault(name, (s["label"], s["users"], why))
    probe = bend or (steps[-1] if steps else None)
    at_probe = saturation(probe, workers, max_connections) if probe else {}
    conditions = first.pop("CPU (other work)", None)
    order = sorted(first.items(), key=lambda kv: kv[1][1])
    projection = ""
    base = steps[0] if steps else None
    if base and base["requests"]:
        c = base["cpu_cores"]
        own = (c["gunicorn"] or 0) + (c["pg_load_db"] or 0) + (c["locust"] or 0)
        cores = os.cpu_count() or 1
        if own > 0:
            per_user = own / base["users"]
            projection = (
                f"CPU the load itself needs (from {base['label']}): gunicorn + this database's PostgreSQL + locust"
                f" {own:.2f} cores for {base['users']} users, {base['server_cpu_ms_per_request']:.0f} ms of"
                f" server CPU per request; with both {cores} cores to itself the machine would be 80 % busy at"
                f" about {0.8 * cores / per_user:.0f} users and full at about {cores / per_user:.0f}."
            )
    return {
        "projection": projection,
        "bend": bend["label"] if bend else None,
        "bend_users": bend["users"] if bend else None,
        "last_ok_users": last_ok["users"] if last_ok else None,
        "probe": probe["label"] if probe else None,
        "saturated_at_probe": at_probe,
        "at_the_bend": at_the_bend(probe, workers, max_connections, bent=bend is not None) if probe else "",
        "other_work_filled_cpu_from": {"step": conditions[0], "users": conditions[1], "why": conditions[2]}
        if conditions
        else None,
        "first_saturated": [{"what": k, "step": v[0], "users": v[1], "why": v[2]} for k, v in order],
        "not_saturated": [
            k for k in ("CPU", "gunicorn workers", "PostgreSQL connections", "locks") if k not in first
        ],
    }


def step_table(steps: list[dict]) -> list[str]:
    lines = [
        "| step | users (desk + managers) | req/s | p50 | p95 | p99 | max | failures"
        f" | p95 while other work < {QUIET} core (share of requests) | server CPU per request |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in steps:
        o, q = s["overall"], s["quiet"]
        lines.append(
            f"| {s['label']} | {s['users']} ({s['front_desk']} + {s['managers']}) | {s['rps']:.1f}"
            f" | {_ms(o.get('p50'))} | **{_ms(o.get('p95'))}** | {_ms(o.get('p99'))} | {_ms(o.get('max'))}"
            f" | {s['failures']} | {_ms(q.get('p95'))} ({q['share']:.0%}) | {s['server_cpu_ms_per_request']:.0f} ms |"
        )
    return lines


def resource_table(steps: list[dict]) -> list[str]:
    lines = [
        "| step | CPU gunicorn | CPU postgres (this db / background / other dbs) | CPU locust | CPU other work | machine busy"
        " (seconds both cores ≥ 95 %) | load 1 min (mean / max) | pg connections (max) / active (mean)"
        " | lock waits (max, samples) | gunicorn workers busy (mean) | listen queue (mean / max) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | --- |",
    ]
    for s in steps:
        c, g, p = s["cpu_cores"], s["gunicorn"], s["pg"]
        lines.append(
            f"| {s['label']} | {_c(c['gunicorn'])} | {_c(c['pg_load_db'])} / {_c(c['pg_background'])}"
            f" / {_c(c['pg_other'])} | {_c(c['locust'])}"
            f" | {_c(c['rest'])} | {s['machine_busy_share']:.0%} ({s['machine_full_share']:.0%})"
            f" | {s['load1']['mean']:.1f} / {s['load1']['max']:.1f}"
            f" | {p['connections_max']} / {p['active_mean']} | {p['lock_waits_max']}, {p['lock_wait_samples']}"
            f" | {g['in_service_mean']} of {g['workers']} | {g['listen_queue_mean']} / {g['listen_queue_max']} |"
        )
    return lines


def timeline_table(step: dict) -> list[str]:
    lines = [
        "| from (s) | requests | p50 | p95 | CPU gunicorn | CPU other work | machine busy (cores) | load 1 min | listen queue (max) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in step["timeline"]:
        lines.append(
            f"| {w['from_s']} | {w['n']} | {_ms(w['p50'])} | {_ms(w['p95'])} | {_c(w['gunicorn'])} | {_c(w['rest'])}"
            f" | {_c(w['machine'])} | {w['load1']:.1f} | {w['listen_queue_max']} |"
        )
    return lines


def name_table(step: dict) -> list[str]:
    lines = [
        "| request | n | req/s | p50 | p95 | p99 | max | failures |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in step["by_name"].items():
        lines.append(
            f"| {name} | {s['n']} | {s['rps']:.2f} | {_ms(s.get('p50'))} | {_ms(s.get('p95'))} | {_ms(s.get('p99'))}"
            f" | {_ms(s.get('max'))} | {s['failures']} |"
        )
    return lines


def markdown(meta: dict, steps: list[dict], v: dict) -> str:
    limit = meta["p95_limit"]
    phase1 = next((s for s in steps if s["label"] == "phase 1"), None)
    lines = [
        "## Load test",
        "",
        f"Run {meta['started']} → {meta['finished']} UTC on {meta['machine']}; PostgreSQL {meta['postgres']};"
        f" data `{meta['database']}` (chain scale: {meta['data']}).",
        "",
        "```sh",
        '.venv/bin/pip install -c constraints.txt -e ".[dev,load]"   # locust, the optional extra `load`',
        f"{meta['command']}",
        "```",
        "",
        f"The server is the Dockerfile's gunicorn command (`{meta['gunicorn']}`"
        + (
            f", {meta['workers']} workers instead of the image's {meta['image_workers']}"
            if meta.get("image_workers") and str(meta["image_workers"]) != str(meta["workers"])
            else ""
        )
        + "), sync workers, bound to 127.0.0.1, DEBUG off and the production settings: the manifest's static"
        " files, SSL redirect, secure cookies and HSTS (the simulated browsers send `X-Forwarded-Proto: https` as"
        " the load balancer does), the cache in Redis and the Celery broker in Redis with no worker (tasks are"
        " published and stay queued, as for a worker on another machine), `AXES_PROXY_COUNT=1` with an"
        " `X-Forwarded-For` address per simulated desk (the login and token rate limits count per desk), and"
        " `OTP_REQUIRED_ROLES` empty (the managers would be asked for a code from their phone)."
        " [locust](https://locust.io) runs headless on the same machine (bench/load/locustfile.py):",
        "",
        "- **front desk** (weight 50): logs in through the login page (CSRF token, password), takes an API"
        " token, switches to the `benchcal` location, then, with "
        f"{meta['think']['desk'][0]:g}–{meta['think']['desk'][1]:g} s of thought between actions: the header"
        " search as you type (1–3 fragments per search, six kinds of input drawn from the data), a client card,"
        " the day calendar of `benchcal` (40 stylists, 600 appointments), a booking at `benchfd` (80 stylists:"
        " API search by the phone's last digits, a day's availability for one stylist or any, POST into a free"
        ' slot; a 409 "slot taken" is a right answer under contention) and a checkout (POST /api/v1/visits/'
        f" of an arrived appointment at `{meta.get('checkout_location', 'benchco')}`, part stored value, the rest"
        " by card);",
        f"- **managers** (weight 5, {meta['think']['manager'][0]:g}–{meta['think']['manager'][1]:g} s): the"
        " dashboard page and GET /api/v1/metrics/summary/ for periods from 7 days to a year, one location or all.",
        "",
        "Each step is measured once all its users have logged in (logins excluded from the figures); a step past"
        " the limit is measured once more before the step-up stops (the machine is shared: a burst of other"
        " work must not end it). Milliseconds as locust sees them (queueing at gunicorn included). CPU in"
        " cores, from /proc once a second: gunicorn (master + workers), PostgreSQL (this database's backends /"
        " the postmaster, checkpointer, WAL and background writers, which serve every database / other"
        " databases' backends), locust, and other work (every other process on the machine).",
        "",
    ]
    if meta.get("load_polls"):
        polls = ", ".join(f"{t} {v:.2f}" for t, v in meta["load_polls"])
        lines += [f"Load average (1 min) before the run: {polls}.", ""]
    if phase1:
        met = phase1["overall"].get("p95", 1e9) <= limit and phase1["failures"] == 0
        lines += [
            f"### Phase 1: {phase1['front_desk']} front desk + {phase1['managers']} managers for"
            f" {phase1['seconds']:.0f} s — p95 {_ms(phase1['overall'].get('p95'))} ms, {phase1['failures']} errors:"
            f" **{'met' if met else 'missed'}** (target p95 ≤ {limit:.0f} ms, 0 errors)",
            "",
            *name_table(phase1),
            "",
            "Phase 1 every 30 s, beside the CPU of gunicorn and of other work on the machine:",
            "",
            *timeline_table(phase1),
            "",
        ]
    lines += [
        "### Steps",
        "",
        "Latency (ms; the p95 of the requests answered while other work on the machine took less than"
        f" {QUIET} core is what the server does with the cores to itself; server CPU = gunicorn's and"
        " this database's PostgreSQL CPU per request):",
        "",
        *step_table(steps),
        "",
        "Resources (CPU in cores, means over the step; PostgreSQL and gunicorn sampled once a second):",
        "",
        *resource_table(steps),
        "",
    ]
    if v.get("projection"):
        lines += [v["projection"], ""]
    bend_step = next((s for s in steps if s["label"] == v.get("bend")), None)
    if v.get("bend"):
        lines += [
            f"**Where it bends**: p95 passes {limit:.0f} ms (or errors appear) at **{v['bend_users']} users**"
            + (
                f"; {v['last_ok_users']} users were the last step within it."
                if v.get("last_ok_users")
                else "."
            ),
            "",
        ]
    else:
        lines += [f"**Where it bends**: not reached within {steps[-1]['users'] if steps else 0} users.", ""]
    if v.get("first_saturated"):
        lines += ["**What saturates first** (the first step at which each was at its limit, in order):", ""]
        lines += [
            f"- {s['what']}: from {s['step']} ({s['users']} users): {s['why']}" for s in v["first_saturated"]
        ]
        lines.append("")
    if v.get("not_saturated"):
        lines += [f"Not at their limit in any step: {', '.join(v['not_saturated'])}.", ""]
    if v.get("at_the_bend"):
        lines += [v["at_the_bend"], ""]
    if v.get("other_work_filled_cpu_from"):
        o = v["other_work_filled_cpu_from"]
        lines += [
            f"Conditions: other work kept both cores busy from {o['step']} ({o['users']} users) on: {o['why']}.",
            "",
        ]
    if bend_step and bend_step is not phase1:
        lines += [
            f"Requests at the bend ({bend_step['label']}, {bend_step['users']} users):",
            "",
            *name_table(bend_step),
            "",
        ]
    failures = [(s["label"], e) for s in steps for e in s["failure_examples"]]
    if failures:
        lines += ["Failures (first of each kind):", ""]
        lines += [
            f"- {label}: {e['name']} → {e['status']} {(e['error'] or '')[:300]}" for label, e in failures
        ]
        lines.append("")
    if meta.get("notes"):
        lines += [f"- {n}" for n in meta["notes"]] + [""]
    return "\n".join(lines) + "\n"


# ---- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=list(suite_data.SCALES), default="chain")
    parser.add_argument("--db", default=None, help="database name (default: BENCH_DB, else the suite's)")
    parser.add_argument("--phase", choices=["1", "2", "both"], default="both")
    parser.add_argument("--users", type=int, default=55, help="phase 1's users (50 front desk + 5 managers)")
    parser.add_argument("--duration", type=int, default=300, help="phase 1's measured seconds")
    parser.add_argument(
        "--steps", default="100,150,200,250,300,400,500,600,700,800", help="phase 2's users per step"
    )
    parser.add_argument("--step-seconds", type=int, default=75, help="measured seconds per step")
    parser.add_argument("--max-users", type=int, default=800)
    parser.add_argument("--spawn-rate", type=float, default=3.0, help="users started per second")
    parser.add_argument("--p95-limit", type=float, default=250.0)
    parser.add_argument("--think", default="5,15", help="front desk think time, seconds min,max")
    parser.add_argument("--manager-think", default="10,30")
    parser.add_argument("--checkouts", type=int, default=0, help="arrived appointments (default: enough)")
    parser.add_argument(
        "--keep-front-desk", action="store_true", help="reuse the front desk an earlier run built"
    )
    parser.add_argument("--port", type=int, default=8125)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cache-db", type=int, default=4, help="Redis db of the cache (CI uses 10-15)")
    parser.add_argument("--broker-db", type=int, default=5, help="Redis db of the Celery broker (no worker)")
    parser.add_argument(
        "--wait-load", type=float, default=3.0, help="start when the load average is at most this"
    )
    parser.add_argument("--wait-minutes", type=int, default=20)
    parser.add_argument("--out", default=str(RESULTS / "load"), help="results base name (.md, .json)")
    parser.add_argument(
        "--report-only", default=None, help="rewrite the results from a run's raw files (a directory)"
    )
    args = parser.parse_args()
    # stopped by a signal (kill, Ctrl-C in a background job): still stop locust and gunicorn
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.report_only:
        print(report(Path(args.report_only), Path(args.out)))
        return
    if args.db:
        os.environ["BENCH_DB"] = args.db
    if shutil.which("locust", path=str(VENV_BIN)) is None:
        raise SystemExit('locust is not installed: .venv/bin/pip install -c constraints.txt -e ".[dev,load]"')

    steps: list[tuple[int, int]] = []
    if args.phase in ("1", "both"):
        steps.append((args.users, args.duration))
    if args.phase in ("2", "both"):
        first = args.users if args.phase == "2" else None
        ups = [int(u) for u in args.steps.split(",") if u]
        if first:
            ups = [first, *ups]
        steps += [
            (u, args.step_seconds) for u in ups if u <= args.max_users and (not steps or u > steps[-1][0])
        ]
    think = [float(x) for x in args.think.split(",")]
    manager_think = [float(x) for x in args.manager_think.split(",")]
    # checkouts: one task in 11 of a desk's, a task per think time + its requests' time
    if not args.checkouts:
        user_seconds = sum(u * (s + 60) for u, s in steps)
        args.checkouts = int(user_seconds / statistics.fmean(think) / 11 * 1.5) + 200
    started = datetime.now(UTC)
    plan = prepare(args)
    db = plan["database"]
    base = Path(args.out)
    base.parent.mkdir(parents=True, exist_ok=True)
    work = Path(f"/tmp/load_test_{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    (work / "plan.json").write_text(json.dumps(plan))
    records, marks = work / "requests.jsonl", work / "marks.jsonl"

    from django.db import connections

    connections.close_all()  # the server's workers are the only connections to the database
    env = server_env(args)
    static_files(env)
    for n in (args.cache_db, args.broker_db):
        redis_flush(n)
    cmd = gunicorn_command(args)
    server_log = work / "gunicorn.log"
    log(f"starting {' '.join(cmd[1:])}")
    with open(server_log, "w") as out:
        server = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    sampler = None
    locust = None
    try:
        wait_healthy(args.port, server)
        log("gunicorn answers /healthz")
        polls = wait_for_load(args.wait_load, args.wait_minutes)
        sampler = Sampler(db, args.port, server.pid)
        sampler.start()
        locust_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
            "LOAD_PLAN": str(work / "plan.json"),
            "LOAD_RECORD": str(records),
            "LOAD_MARKS": str(marks),
            "LOAD_STEPS": ",".join(f"{u}:{s}" for u, s in steps),
            "LOAD_SPAWN_RATE": str(args.spawn_rate),
            "LOAD_P95_LIMIT": str(args.p95_limit),
            # phase 1 is reported whatever its p95; the step-up starts from it
            "LOAD_NO_STOP_STEPS": "0" if args.phase == "both" else "",
            "LOAD_THINK_MIN": str(think[0]),
            "LOAD_THINK_MAX": str(think[1]),
            "LOAD_MANAGER_THINK_MIN": str(manager_think[0]),
            "LOAD_MANAGER_THINK_MAX": str(manager_think[1]),
        }
        bound = sum(s + 5 + 300 for _u, s in steps) + 60  # measured + settle + the longest ramp allowed
        locust_cmd = [
            str(VENV_BIN / "locust"),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            f"http://127.0.0.1:{args.port}",
            "--run-time",
            f"{bound}s",
            "--csv",
            str(work / "locust"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        log(f"locust: steps {steps} (users, measured seconds), bounded by {bound} s")
        with open(work / "locust.log", "w") as out:
            locust = subprocess.Popen(
                locust_cmd, cwd=ROOT, env=locust_env, stdout=out, stderr=subprocess.STDOUT
            )
            sampler.locust_pid = locust.pid
            seen = 0
            while locust.poll() is None:
                time.sleep(2)
                current = read_jsonl(marks)
                for m in current[seen:]:
                    if m["event"] == "step_end":
                        log(
                            f"  {m['users']} users: p95 {m['p95']:.0f} ms over {m['requests']} requests,"
                            f" {m['failures']} failures"
                        )
                    elif m["event"] in ("step_ready", "stop", "login_crash"):
                        log(f"  {m}")
                seen = len(current)
    finally:
        if locust is not None and locust.poll() is None:
            locust.terminate()
            locust.wait(30)
        if sampler is not None:
            sampler.stop.set()
            sampler.join(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
        server.wait(30)
        for n in (args.cache_db, args.broker_db):
            redis_flush(n)

    import psycopg2

    with psycopg2.connect(f"{suite_data.server()}/{db}") as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
        cur.execute("SHOW max_connections")
        max_connections = int(cur.fetchone()[0])
    from bench.suite import machine

    run = {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "finished": datetime.now(UTC).strftime("%H:%M"),
        "machine": machine(),
        "postgres": pg_version,
        "max_connections": max_connections,
        "database": db,
        "data": ", ".join(
            f"{plan['data'].get(k, 0):,} {label}"
            for k, label in (("c", "clients"), ("v", "visits"), ("a", "appointments"))
        ),
        "checkouts": len(plan["checkout"]["queue"]),
        "checkout_location": CHECKOUT_LOCATION,
        "command": (
            f"BENCH_DB={os.environ['BENCH_DB']} " if os.environ.get("BENCH_DB") and not args.db else ""
        )
        + ".venv/bin/python bench/load_test.py "
        + " ".join(sys.argv[1:]).rstrip(),
        "gunicorn": " ".join(cmd[1:]),
        "image_workers": image_workers(args),
        "workers": args.workers,
        "phase": args.phase,
        "p95_limit": args.p95_limit,
        "think": {"desk": think, "manager": manager_think},
        "steps": steps,
        "load_polls": polls,
        "redis": {"cache_db": args.cache_db, "broker_db": args.broker_db},
        "other_work": sampler.top_others() if sampler else [],
    }
    (work / "run.json").write_text(json.dumps(run, indent=1, ensure_ascii=False))
    (work / "samples.json").write_text(json.dumps(sampler.samples if sampler else []))
    print(report(work, base))
    log(f"raw files (plan, requests, marks, samples, server and locust logs) kept in {work}")


def report(work: Path, base: Path) -> str:
    """load.json and load.md from a run's raw files (also: --report-only WORK_DIR)."""
    run = json.loads((work / "run.json").read_text())
    samples = json.loads((work / "samples.json").read_text())
    all_marks = read_jsonl(work / "marks.jsonl")
    results = analyse(read_jsonl(work / "requests.jsonl"), all_marks, samples, run["phase"])
    v = verdict(results, run["p95_limit"], run["workers"], run["max_connections"])
    server_text = (work / "gunicorn.log").read_text(errors="replace")
    tracebacks = server_tracebacks(server_text)
    statuses: Counter = Counter()
    for line in server_text.splitlines():
        parts = line.split('" ')
        if len(parts) > 1 and parts[1][:3].isdigit():
            statuses[parts[1][:3]] += 1
    empty = next((m["checkout_pool_empty"] for m in reversed(all_marks) if "checkout_pool_empty" in m), 0)
    notes = [
        f"PostgreSQL max_connections {run['max_connections']}; {run['workers']} sync gunicorn workers hold at"
        f" most {run['workers']} connections (CONN_MAX_AGE 60), so a request waits for a worker, never for a"
        " connection.",
        f"gunicorn's access log: {dict(sorted(statuses.items()))} responses (all steps, logins included).",
        f"Checkouts: {run['checkouts']} arrived appointments prepared at {run.get('checkout_location', 'benchco')}; {empty} checkout tasks found"
        " none left.",
    ]
    stop = next((m for m in reversed(all_marks) if m["event"] == "stop"), None)
    if stop:
        notes.append(f"Stopped after step {stop['step']}: {stop['reason']}.")
    if tracebacks:
        notes.append(f"{len(tracebacks)} tracebacks in the server's log (see load.json).")
    waits = Counter(w for s in samples if "pg" in s for w in s["pg"].get("lock_waiting", []))
    if waits:
        notes.append(
            "Statements seen waiting on a lock (samples): "
            + "; ".join(f"`{w}` ({n})" for w, n in waits.most_common(5))
        )
    if run.get("other_work"):
        notes.append(
            "Other work on the machine during the run (CPU seconds): "
            + "; ".join(f"`{c}` {s:.0f}" for c, s in run["other_work"] if s >= 1)
        )
    meta = {**run, "notes": notes}
    payload = {
        "meta": meta,
        "verdict": v,
        "steps": results,
        "marks": all_marks,
        "server_tracebacks": tracebacks,
        # the per-second samples stay in the raw directory (samples.json): the steps hold their means
    }
    base.with_suffix(".json").write_text(
        json.dumps(payload, indent=1, default=str, ensure_ascii=False) + "\n"
    )
    text = markdown(meta, results, v)
    base.with_suffix(".md").write_text(text)
    return text


if __name__ == "__main__":
    main()
