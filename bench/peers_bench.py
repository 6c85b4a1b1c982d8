"""Peers side by side in one run, timed alternately (issue 15, item 4).

    .venv/bin/python bench/peers_bench.py                         # everything (~5 min at 1M clients)
    .venv/bin/python bench/peers_bench.py --no-churn --rounds-small 5 --rounds-big 2   # a quick look
    .venv/bin/python bench/peers_bench.py --no-availability --churn-db salon_bench_peer_churn_small --small

1. Availability. The same question - the free starts of a 60-minute cut for 1 stylist on 1 day,
   40 stylists on 1 day and 40 stylists over 14 days - answered by ours (`availability_find`,
   and `GET /api/v1/availability/` through the test client) and by `django-appointment` 3.12.0
   (the PyPI package in a scratch project, bench/peers/: the calls its `available_slots/` view makes
   for one staff member and one date - `check_day_off_for_staff`, `is_working_day`,
   `get_available_slots_for_staff` - and that view itself through the test client, as its booking
   page asks, once per stylist and day). Each side runs in a long-lived child process with its own
   settings, virtualenv and database, driven by this process over pipes (one JSON object per
   line): ours in `.venv` on `salon_bench_peer_ours` (bench/djangosetup.py; the data of
   bench/availability_bench.py's `build()`: 40 stylists working 10:00-21:00 six days a week, about
   60 % of each day booked over 14 days from 2027-03-01), theirs in `.venv-peers` on
   `salon_bench_peer_appt`, seeded from the rows `build()` wrote (read back from ours' database).
   django-appointment cannot be installed beside the product (it requires
   django-phonenumber-field < 9; the product pins 9.0.0), hence its own virtualenv, created from
   bench/peers/requirements.txt when missing.
   After one untimed call per side, the parent alternates ours, theirs, ours, theirs ... for
   --rounds-small (1 x 1, 40 x 1) or --rounds-big (40 x 14) rounds. Each call reports its wall and
   CPU time, the SQL statements it sent (a connection.execute_wrapper counter), the CPU time of its
   PostgreSQL backend (/proc, 10 ms ticks) and a digest of its slot set; the untimed call returns
   the slot set itself, (stylist, local start), which the parent compares between the sides and
   with a brute-force enumeration of the seeded data. Then, untimed, the colour (120 min + 15 min
   buffer after) over 40 x 14, where the two rules differ (--no-semantics-check skips it).
2. BG/NBD. Ours (`clv.compress` + `clv.fit_bgnbd`, cold start) and `lifetimes` 0.11.3
   (`BetaGeoFitter(penalizer_coef=0).fit` on every client, and on ours' distinct rows with
   weights) on the same summary (`churn._visit_days` + `churn.summary_as_of`, as
   bench/churn_bench.py, whose helpers are imported) of --churn-db, in a third child, alternately
   for --fit-rounds rounds; parameters and the log-likelihood over every client compared. Once per
   --blas-threads setting (default "default,1": the environment's BLAS threads, then
   OPENBLAS_NUM_THREADS=1), each in its own child. --churn-db must hold at least --clients-check
   clients (1,000,000) unless --small.
3. Writes --out (bench/results/peers.md) and the same figures as JSON (--json,
   bench/results/peers.json), with the date, the cores and the load average before and after
   (--render-only rewrites --out from --json).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PEER_VENV = ROOT / ".venv-peers"
PEER_REQUIREMENTS = ROOT / "bench" / "peers" / "requirements.txt"
SEARCHED = "B40 Cut"  # the service whose free starts are compared (no buffer: see MAPPING)
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")

MAPPING = [
    ("Location (time zone, opening hours)", "none: one site; `TIME_ZONE` = the location's zone (Asia/Shanghai); "
     "opening hours ∩ working hours written as its WorkingHours"),
    ("bookable StaffMember (40, ordered by name)", "a User (username = our display name) + StaffMember offering every service"),
    ("WorkingHours (staff, weekday 0 = Monday, start, end)", "WorkingHours (staff, day_of_week (weekday + 1) mod 7: 0 = Sunday)"),
    ("a weekday without working hours (the day off)", "the same: no WorkingHours row (its DayOff holds date ranges; none here)"),
    ("Service: duration + buffer after", "Service.duration = duration + buffer (it has no buffer; cut 60, colour 135, facial 90)"),
    ("AppointmentItem (staff, start, busy_until)", "AppointmentRequest (date, start_time, end_time = busy_until, local wall clock) + Appointment"),
    ("booking grid: settings.BOOKING_SLOT_MINUTES (15), from local midnight", "Config.slot_duration = 15: steps of 15 min from the start of the working hours"),
    ("a start is free when [start, start + 60) misses every busy interval and ends by closing",
     "exclude_unavailable_slots: [slot, slot + max(slot_duration, service duration)) misses every appointment; "
     "slots up to end − service duration (Config.default_to_service_duration, slot_gap_time 0, appointment_buffer_time 0)"),
    ("any of 40 stylists over N days: one availability_find call",
     "its booking page asks per staff member and date: 40 × N calls of the `available_slots/` view"),
    ("Resource (rooms of the facial)", "none (rooms only matter when searching the facial, not compared)"),
]  # fmt: skip

CASES = [  # (label, stylists: "all", or "one": the stylist with the most free starts that day, first day, days)
    ("1 × 1", "one", date(2027, 3, 2), 1),
    ("40 × 1", "all", date(2027, 3, 2), 1),
    ("40 × 14", "all", date(2027, 3, 1), 14),
]
LEVELS = {
    "service": "service call: ours `availability_find`; theirs the calls of its `available_slots/` view",
    "http": "HTTP through Django's test client: ours `GET /api/v1/availability/` (receptionist, session); "
    "theirs `GET /appointment/ajax/available_slots/` (anonymous, X-Requested-With), one request per stylist and day",
}


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    """Nearest rank (as bench/availability_bench.py): with 5 values, the largest."""
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def digest(pairs) -> str:
    return hashlib.sha1(json.dumps(sorted(map(list, pairs))).encode()).hexdigest()[:16]


# ---- measuring inside a child ----------------------------------------------------------------------


TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a PostgreSQL backend (same machine), or None."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def measured(fn) -> tuple[object, dict]:
    """Runs fn() once: wall and CPU ms, SQL statements sent, the backend's CPU ms."""
    from django.db import connection

    count = [0]

    def counter(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    connection.ensure_connection()
    pid = connection.connection.get_backend_pid()
    db0 = backend_cpu(pid)
    with connection.execute_wrapper(counter):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    db1 = backend_cpu(connection.connection.get_backend_pid() if connection.connection else None)
    same = connection.connection is not None and connection.connection.get_backend_pid() == pid
    return result, {
        "wall_ms": wall * 1000,
        "cpu_ms": cpu * 1000,
        "queries": count[0],
        "db_cpu_ms": (db1 - db0) * 1000 if same and db0 is not None and db1 is not None else None,
    }


# ---- ours ------------------------------------------------------------------------------------------


class Ours:
    def __init__(self, db: str):
        from bench.djangosetup import setup_django

        setup_django(db)

    def cmd_seed(self) -> dict:
        from django.test import Client

        from accounts.models import OpeningHours
        from appointments.models import AppointmentItem, TimeOff, WorkingHours
        from appointments.services import rules
        from bench.availability_bench import build

        location, staff, services, desk, n_items, _first = build()
        self.location, self.tz = location, location.tz
        self.staff = {s.display_name: s for s in staff}
        self.by_pk = {s.pk: s.display_name for s in staff}
        self.services = services
        self.client = Client(HTTP_HOST="localhost")
        self.client.force_login(desk.user)
        hours: dict[str, list] = {key: [] for key in self.staff}
        for staff_id, weekday, start, end in WorkingHours.objects.filter(location=location).values_list(
            "staff_id", "weekday", "start", "end"
        ):
            hours[self.by_pk[staff_id]].append([weekday, start.strftime("%H:%M"), end.strftime("%H:%M")])
        items = []
        for staff_id, service, start, busy_until in AppointmentItem.objects.filter(
            appointment__location=location, is_active=True
        ).values_list("staff_id", "service__name", "start", "busy_until"):
            a, b = start.astimezone(self.tz), busy_until.astimezone(self.tz)
            assert a.date() == b.date(), "an item across local midnight"
            items.append(
                [
                    self.by_pk[staff_id],
                    service,
                    a.date().isoformat(),
                    a.strftime("%H:%M"),
                    b.strftime("%H:%M"),
                ]
            )
        assert not TimeOff.objects.filter(staff__in=staff).exists()
        return {
            "time_zone": location.time_zone,
            "grid": rules.grid_minutes(),
            "opening": [
                [weekday, opens.strftime("%H:%M"), closes.strftime("%H:%M")]
                for weekday, opens, closes in OpeningHours.objects.filter(location=location).values_list(
                    "weekday", "opens", "closes"
                )
            ],
            "staff": sorted(self.staff),
            "hours": hours,
            "services": [
                {"name": s.name, "minutes": s.duration_minutes, "buffer": s.buffer_after_minutes}
                for s in services.values()
            ],
            "items": items,
            "searched": SEARCHED,
        }

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).replace(tzinfo=None).isoformat(timespec="minutes")

    def cmd_run(
        self, stylists: str, start: str, days: int, level: str, want_slots: bool, service: str = SEARCHED
    ) -> dict:
        from appointments.services import availability_find

        searched = self.services[service]
        first = date.fromisoformat(start)
        staff = None if stylists == "all" else self.staff[stylists]
        if level == "service":
            slots, m = measured(
                lambda: availability_find(
                    location=self.location,
                    services=[searched],
                    start_date=first,
                    end_date=first + timedelta(days=days - 1),
                    staff=staff,
                )
            )
            pairs = [(s.staff.display_name, self._local(s.start)) for s in slots]
        else:
            params = {"location": self.location.pk, "service": searched.pk, "date": start, "days": days}
            if staff is not None:
                params["staff"] = staff.pk
            response, m = measured(lambda: self.client.get("/api/v1/availability/", params))
            assert response.status_code == 200, response.content[:300]
            pairs = [
                (self.by_pk[s["staff"]], self._local(datetime.fromisoformat(s["start"])))
                for s in response.json()
            ]
        return {
            **m,
            "n": len(pairs),
            "digest": digest(pairs),
            "slots": pairs if want_slots else None,
            "calls": 1,
        }


# ---- theirs (django-appointment, in .venv-peers) ----------------------------------------------------


class Theirs:
    def __init__(self, db: str):
        os.environ["PEER_APPT_DB"] = db
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.peers.appt_settings"
        subprocess.run(["createdb", *_pg_args(), db], capture_output=True)
        import django

        django.setup()
        from django.core.management import call_command

        # the package ships no migrations: Django's own apps first, then its tables (syncdb)
        call_command("migrate", verbosity=0)
        call_command("migrate", run_syncdb=True, verbosity=0)

    def cmd_seed(self, data: dict) -> dict:
        from datetime import time as dtime
        from decimal import Decimal

        from appointment.models import (
            Appointment,
            AppointmentRequest,
            Config,
            Service,
            StaffMember,
            WorkingHours,
        )
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.cache import cache
        from django.db import connection, transaction
        from django.test import Client

        assert data["time_zone"] == settings.TIME_ZONE, (settings.TIME_ZONE, data["time_zone"])
        User = get_user_model()

        def hm(text: str) -> dtime:
            return dtime.fromisoformat(text)

        opening = {wd: (hm(a), hm(b)) for wd, a, b in data["opening"]}
        with transaction.atomic():
            for model in (Appointment, AppointmentRequest, WorkingHours, StaffMember, Service):
                model.objects.all().delete()
            User.objects.filter(username__startswith="b40_").delete()
            Config.objects.all().delete()  # Config.delete() does nothing: the queryset delete does
            config = Config(
                slot_duration=data["grid"],
                lead_time=min(a for a, _b in opening.values()),
                finish_time=max(b for _a, b in opening.values()),
                appointment_buffer_time=0,
                default_to_service_duration=True,
                slot_gap_time=None,
            )
            config.save()
            services = {
                s["name"]: Service.objects.create(
                    name=s["name"],
                    duration=timedelta(minutes=s["minutes"] + s["buffer"]),
                    price=Decimal("100"),
                )
                for s in data["services"]
            }
            staff = {}
            for key in data["staff"]:
                user = User.objects.create(username=key, first_name=key, email=f"{key}@bench.invalid")
                staff[key] = StaffMember.objects.create(user=user)
                staff[key].services_offered.set(services.values())
            for key, rows in data["hours"].items():
                for weekday, start, end in rows:
                    if weekday not in opening:
                        continue
                    a, b = max(hm(start), opening[weekday][0]), min(hm(end), opening[weekday][1])
                    if a < b:  # one shift per day in this data (their unique_together)
                        WorkingHours(
                            staff_member=staff[key], day_of_week=(weekday + 1) % 7, start_time=a, end_time=b
                        ).save()
            for key, service, day, start, busy_until in data["items"]:
                request = AppointmentRequest(
                    date=date.fromisoformat(day),
                    start_time=hm(start),
                    end_time=hm(busy_until),
                    service=services[service],
                    staff_member=staff[key],
                )
                request.save()  # its checks: not in the past, not longer than the service
                Appointment(appointment_request=request, client=None).save()
        cache.clear()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        self.staff = [staff[k] for k in data["staff"]]
        self.by_key = staff
        self.services = services
        self.client = Client()
        return {
            "appointments": Appointment.objects.count(),
            "working_hours": WorkingHours.objects.count(),
            "config": str(Config.objects.first()),
        }

    def cmd_run(
        self, stylists: str, start: str, days: int, level: str, want_slots: bool, service: str = SEARCHED
    ) -> dict:
        from appointment import views
        from django.utils import timezone

        first = date.fromisoformat(start)
        dates = [first + timedelta(days=n) for n in range(days)]
        people = self.staff if stylists == "all" else [self.by_key[stylists]]
        service = self.services[service]

        def ask(sm, day):
            """The body of appointment.views.get_available_slots_ajax after its form, with the
            functions as that module imported them."""
            if views.check_day_off_for_staff(staff_member=sm, date=day):
                return []
            weekday_num = views.get_weekday_num_from_date(day)
            if not views.is_working_day(staff_member=sm, day=weekday_num):
                return []
            slots = views.get_available_slots_for_staff(day, sm, weekday_num, service=service)
            if day == timezone.localdate():
                now = timezone.localtime().time()
                slots = [s for s in slots if s.time() > now]
            return slots

        if level == "service":

            def run():
                return [(sm, day, ask(sm, day)) for sm in people for day in dates]

            found, m = measured(run)
            pairs = [
                (sm.user.username, s.isoformat(timespec="minutes"))
                for sm, _day, slots in found
                for s in slots
            ]
        else:

            def run():
                return [
                    (
                        sm,
                        self.client.get(
                            "/appointment/ajax/available_slots/",
                            {
                                "selected_date": day.isoformat(),
                                "staff_member": sm.pk,
                                "service_id": service.pk,
                            },
                            HTTP_X_REQUESTED_WITH="XMLHttpRequest",
                        ),
                    )
                    for sm in people
                    for day in dates
                ]

            found, m = measured(run)
            pairs = []
            for sm, response in found:
                assert response.status_code == 200, response.content[:300]
                for iso, _label in response.json().get("available_slots", []):
                    pairs.append(
                        (sm.user.username, datetime.fromisoformat(iso).isoformat(timespec="minutes"))
                    )
        return {
            **m,
            "n": len(pairs),
            "digest": digest(pairs),
            "slots": pairs if want_slots else None,
            "calls": len(people) * len(dates),
        }


def _pg_args() -> list[str]:
    rest = SERVER.split("://", 1)[1]
    user, host_port = rest.split("@", 1)
    host, _, port = host_port.partition(":")
    return ["-h", host, "-p", port or "5432", "-U", user.split(":")[0]]


# ---- BG/NBD (ours and lifetimes, in .venv) ----------------------------------------------------------


class Churn:
    def __init__(self, db: str):
        from bench.analytics_bench import setup_env

        setup_env(f"{SERVER}/{db}")
        import django

        django.setup()

    def cmd_load(self, as_of: str | None, min_clients: int, small: bool) -> dict:
        import numpy as np
        from django.db import connection

        from analytics import churn, clv, metrics

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM customers_customer")
            clients = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM analytics_visitday")
            visit_days = cursor.fetchone()[0]
        if clients < min_clients and not small:
            return {
                "refused": f"{clients:,} clients, fewer than {min_clients:,} (give --small to use it anyway)"
            }
        if not visit_days:
            return {"refused": "no visit days: run compute_analytics (bench/analytics_bench.py) first"}
        self.as_of = date.fromisoformat(as_of) if as_of else metrics.today()
        t = time.perf_counter()
        rows = churn._visit_days(self.as_of)
        read_s = time.perf_counter() - t
        t = time.perf_counter()
        _ids, self.summary = churn.summary_as_of(self.as_of, rows)
        summary_s = time.perf_counter() - t
        s = self.summary
        self.x, self.t_x, self.T = (np.asarray(v, dtype=float) for v in (s.x, s.t_x, s.T))
        self.compressed = clv.compress(s)
        return {
            "as_of": self.as_of.isoformat(),
            "clients_in_db": clients,
            "visit_day_rows": visit_days,
            "clients_fitted": len(s),
            "repeat_clients": int((self.x > 0).sum()),
            "distinct_rows": len(self.compressed),
            "read_s": read_s,
            "summary_s": summary_s,
        }

    def cmd_fit(self, which: str) -> dict:
        import numpy as np

        from analytics import clv
        from bench.churn_bench import fit_lifetimes_bgnbd, lifetimes_nll, ll_bgnbd

        t0, c0 = time.perf_counter(), time.process_time()
        extra: dict = {}
        if which == "ours":
            fit = clv.fit_bgnbd(clv.compress(self.summary))
            params = [fit.r, fit.alpha, fit.a, fit.b]
            extra = {"converged": fit.converged, "iterations": fit.iterations}
        else:
            if which == "lifetimes":
                model, calls, error = fit_lifetimes_bgnbd(self.x, self.t_x, self.T)
            else:
                c = self.compressed
                model, calls, error = fit_lifetimes_bgnbd(c.x, c.t_x, c.T, c.weights)
            if model is None:
                return {"error": error, "s": time.perf_counter() - t0}
            params = [float(model.params_[k]) for k in ("r", "alpha", "a", "b")]
            extra = {
                "iterations": calls.get("nit"),
                "evaluations": calls.get("nfev"),
                "converged": calls.get("success"),
                "hessian_s": calls.get("hessian_s"),
            }
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        ones = np.ones(len(self.x))
        ll, gradient = ll_bgnbd(np.array(params), self.x, self.t_x, self.T, ones)
        return {
            "s": seconds,
            "cpu_s": cpu,
            "params": params,
            "ll": ll,
            "gradient": gradient,
            "ll_lifetimes_fn": lifetimes_nll(np.array(params), self.x, self.t_x, self.T, ones),
            **extra,
        }


# ---- the child loop and its driver ------------------------------------------------------------------


def child_main(role: str, db: str) -> None:
    """One JSON object per line in, one per line out, on the real stdout (everything that Django
    or the packages print goes to stderr)."""
    out = sys.stdout
    sys.stdout = sys.stderr
    side = {"ours": Ours, "theirs": Theirs, "churn": Churn}[role](db)
    out.write(json.dumps({"ok": True, "ready": role, "pid": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        message = json.loads(line)
        command = message.pop("cmd")
        if command == "quit":
            break
        try:
            reply = {"ok": True, **getattr(side, f"cmd_{command}")(**message)}
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class Child:
    def __init__(self, role: str, python: str, db: str, env: dict | None = None):
        self.role = role
        self.proc = subprocess.Popen(
            [python, str(Path(__file__).resolve()), "--child", role, "--child-db", db],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.role} child stopped (exit {self.proc.wait()})")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise SystemExit(f"the {self.role} child failed:\n{reply['error']}")
        return reply

    def call(self, cmd: str, **kw) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def peer_python(args) -> str:
    python = Path(args.peer_python) if args.peer_python else PEER_VENV / "bin" / "python"
    if not python.exists():
        if args.peer_python:
            raise SystemExit(f"{python} does not exist")
        log(f"creating {PEER_VENV} (django-appointment's side) from {PEER_REQUIREMENTS.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(PEER_REQUIREMENTS)], check=True, cwd=ROOT
        )
    return str(python)


def peer_versions(python: str) -> dict:
    code = (
        "import json; from importlib.metadata import version as v; "
        "print(json.dumps({k: v(k) for k in ('django-appointment', 'Django', 'django-phonenumber-field', 'psycopg2-binary')}))"
    )
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def brute_force(
    seed: dict, stylists: str, first: date, days: int, service: str = SEARCHED, buffer_inside: bool = False
) -> set[tuple[str, str]]:
    """Every grid start of `service`, from the seeded rows alone: inside the working hours and the
    opening hours of its weekday, the service ending by their end (with `buffer_inside`, its buffer
    too: django-appointment's rule when the buffer is part of the duration), [start, end of the
    buffer) overlapping no busy interval."""
    grid = seed["grid"]
    length = next(s["minutes"] for s in seed["services"] if s["name"] == service)
    own_buffer = next(s["buffer"] for s in seed["services"] if s["name"] == service)
    must_fit = length + (own_buffer if buffer_inside else 0)

    def minutes(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)

    busy: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for key, _service, day, start, until in seed["items"]:
        busy.setdefault((key, day), []).append((minutes(start), minutes(until)))
    opening = {}
    for wd, a, b in seed["opening"]:
        opening.setdefault(wd, []).append((minutes(a), minutes(b)))
    people = seed["staff"] if stylists == "all" else [stylists]
    out = set()
    for n in range(days):
        day = first + timedelta(days=n)
        for key in people:
            for wd, a, b in seed["hours"][key]:
                if wd != day.weekday():
                    continue
                for oa, ob in opening.get(wd, []):
                    lo, hi = max(minutes(a), oa), min(minutes(b), ob)
                    for s in range(-(-lo // grid) * grid, hi - must_fit + 1, grid):
                        if all(
                            e <= s or s + length + own_buffer <= b0
                            for b0, e in busy.get((key, day.isoformat()), [])
                        ):
                            out.add((key, f"{day.isoformat()}T{s // 60:02d}:{s % 60:02d}"))
    return out


def compare_sets(ours: set, theirs: set, brute: set) -> dict:
    only_ours, only_theirs = sorted(ours - theirs), sorted(theirs - ours)
    return {
        "ours": len(ours),
        "theirs": len(theirs),
        "both": len(ours & theirs),
        "only_ours": len(only_ours),
        "only_theirs": len(only_theirs),
        "only_ours_examples": only_ours[:5],
        "only_theirs_examples": only_theirs[:5],
        "identical": ours == theirs,
        "brute_force": len(brute),
        "ours_wrong": len(ours - brute),
        "ours_missing": len(brute - ours),
        "theirs_wrong": len(theirs - brute),
        "theirs_missing": len(brute - theirs),
    }


def summarise(runs: list[dict]) -> dict:
    wall = [r["wall_ms"] for r in runs]
    cpu = [r["cpu_ms"] for r in runs]
    db = [r["db_cpu_ms"] for r in runs if r["db_cpu_ms"] is not None]
    return {
        "wall_ms": wall,
        "p50": statistics.median(wall),
        "p95": p95(wall),
        "max": max(wall),
        "min": min(wall),
        "cpu_p50": statistics.median(cpu),
        "db_cpu_mean": statistics.fmean(db) if db else None,
        "queries": runs[0]["queries"],
        "queries_varied": len({r["queries"] for r in runs}) > 1,
        "calls": runs[0]["calls"],
        "slots": runs[0]["n"],
        "same_slots_every_run": len({r["digest"] for r in runs}) == 1,
    }


def run_availability(args, result: dict) -> None:
    levels = [lv for lv in args.levels.split(",") if lv]
    for level in levels:
        if level not in LEVELS:
            raise SystemExit(f"--levels: {level}? ({', '.join(LEVELS)})")
    python = peer_python(args)
    result["peer_versions"] = peer_versions(python)
    log(f"django-appointment side: {python} {result['peer_versions']}")
    ours = Child("ours", sys.executable, args.ours_db)
    theirs = None
    try:
        log(f"ours: build() in {args.ours_db}")
        t = time.perf_counter()
        seed = ours.call("seed")
        result["seed"] = {
            "stylists": len(seed["staff"]),
            "items": len(seed["items"]),
            "grid": seed["grid"],
            "time_zone": seed["time_zone"],
            "ours_seed_s": time.perf_counter() - t,
        }
        theirs = Child("theirs", python, args.appt_db, {"PEER_APPT_TZ": seed["time_zone"]})
        log(f"theirs: seeding {args.appt_db} with the same {len(seed['items'])} bookings")
        t = time.perf_counter()
        result["seed"]["theirs"] = theirs.call("seed", data=seed)
        result["seed"]["theirs_seed_s"] = time.perf_counter() - t
        rows = []
        for label, stylists, first, days in CASES:
            if stylists == "one":  # a stylist with free starts that day (most of them; the first on a tie)
                free = brute_force(seed, "all", first, days)
                stylists = max(
                    seed["staff"],
                    key=lambda k: (sum(1 for key, _s in free if key == k), -seed["staff"].index(k)),
                )
            label = f"{label} ({stylists + ', ' if stylists != 'all' else ''}{first:%m-%d}" + (
                f" to {first + timedelta(days=days - 1):%m-%d})" if days > 1 else ")"
            )
            rounds = args.rounds_big if days > 1 else args.rounds_small
            load = os.getloadavg()[0]
            brute = brute_force(seed, stylists, first, days)
            per_level: dict[str, dict] = {}
            for level in levels:
                call = {"stylists": stylists, "start": first.isoformat(), "days": days, "level": level}
                o = ours.call("run", **call, want_slots=True)
                h = theirs.call("run", **call, want_slots=True)
                comparison = compare_sets(
                    {tuple(p) for p in o["slots"]}, {tuple(p) for p in h["slots"]}, brute
                )
                per_level[level] = {"ours": [], "theirs": [], "compare": comparison, "warm": (o, h)}
                log(
                    f"{label} {level}: ours {o['n']} slots {o['wall_ms']:.1f} ms {o['queries']} q; theirs {h['n']}"
                    f" slots {h['wall_ms']:.1f} ms {h['queries']} q; equal {comparison['identical']}"
                )
            for _round in range(rounds):
                for level in levels:
                    call = {"stylists": stylists, "start": first.isoformat(), "days": days, "level": level}
                    per_level[level]["ours"].append(ours.call("run", **call, want_slots=False))
                    per_level[level]["theirs"].append(theirs.call("run", **call, want_slots=False))
            for level in levels:
                entry = per_level[level]
                o, h = summarise(entry["ours"]), summarise(entry["theirs"])
                warm_o, warm_h = entry["warm"]
                o["warm_digest_matches"] = all(r["digest"] == warm_o["digest"] for r in entry["ours"])
                h["warm_digest_matches"] = all(r["digest"] == warm_h["digest"] for r in entry["theirs"])
                rows.append(
                    {
                        "case": label,
                        "stylists": len(seed["staff"]) if stylists == "all" else stylists,
                        "first_day": first.isoformat(),
                        "days": days,
                        "level": level,
                        "rounds": rounds,
                        "load_before": load,
                        "ours": o,
                        "theirs": h,
                        "ratio_p50": h["p50"] / o["p50"],
                        "ratio_p95": h["p95"] / o["p95"],
                        "ratio_queries": h["queries"] / o["queries"],
                        "compare": entry["compare"],
                    }
                )
                log(
                    f"{label} {level}: ours p50 {o['p50']:.1f} ms, theirs p50 {h['p50']:.1f} ms"
                    f" (× {rows[-1]['ratio_p50']:.0f})"
                )
        result["availability"] = rows
        if not args.no_semantics_check:
            result["semantics"] = semantics_check(seed, ours, theirs)
    finally:
        ours.close()
        if theirs:
            theirs.close()


BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def semantics_check(seed: dict, ours: Child, theirs: Child) -> dict:
    """Untimed: the colour (120 min + 15 min buffer after), 40 × 14, where the rules differ: ours
    lets the buffer run past the end of the working hours (the stylist is free to go), theirs has
    no buffer, so the buffer is part of its Service.duration and must fit before the end."""
    name, first, days = "B40 Colour", date(2027, 3, 1), 14
    call = {"stylists": "all", "start": first.isoformat(), "days": days, "level": "service", "service": name}
    o = ours.call("run", **call, want_slots=True)
    h = theirs.call("run", **call, want_slots=True)
    mine, their = {tuple(p) for p in o["slots"]}, {tuple(p) for p in h["slots"]}
    ours_rule = brute_force(seed, "all", first, days, name)
    their_rule = brute_force(seed, "all", first, days, name, buffer_inside=True)
    out = compare_sets(mine, their, ours_rule)
    out.update(
        service=name,
        days=days,
        ours_equals_ours_rule=mine == ours_rule,
        theirs_equals_buffer_inside_rule=their == their_rule,
        only_ours_times=sorted({t[-5:] for _k, t in mine - their}),
    )
    log(
        f"semantics check ({name}, 40 × 14): ours {len(mine)}, theirs {len(their)}, only ours {len(mine - their)}"
        f" at {out['only_ours_times']}, only theirs {len(their - mine)}"
    )
    return out


def run_churn(args, result: dict) -> None:
    """One churn child per --blas-threads setting ("default": this process's environment; N: the
    BLAS thread pools limited to N), each loading the summary once, then the fits in turn."""
    result["bgnbd"] = {"db": args.churn_db, "settings": []}
    for setting in [v.strip() for v in args.blas_threads.split(",") if v.strip()]:
        env = {} if setting == "default" else dict.fromkeys(BLAS_VARS, setting)
        label = (
            "BLAS threads: default ("
            + (
                ", ".join(f"{k}={os.environ[k]}" for k in BLAS_VARS if k in os.environ)
                or "not set: one per core"
            )
            + ")"
            if setting == "default"
            else f"BLAS threads: {setting} ({'='.join((BLAS_VARS[0], setting))})"
        )
        churn = Child("churn", sys.executable, args.churn_db, env)
        try:
            loaded = churn.call("load", as_of=args.as_of, min_clients=args.clients_check, small=args.small)
            if "refused" in loaded:
                raise SystemExit(f"--churn-db {args.churn_db}: {loaded['refused']}")
            log(
                f"{label}: BG/NBD on {loaded['clients_fitted']:,} clients ({loaded['distinct_rows']:,} distinct rows)"
            )
            order = ["ours", "lifetimes", "lifetimes weighted"]
            fits: dict[str, list[dict]] = {k: [] for k in order}
            loads = []
            for n in range(args.fit_rounds):
                loads.append(os.getloadavg()[0])
                for which in order:
                    out = churn.call("fit", which=which)
                    fits[which].append(out)
                    log(
                        f"round {n + 1}: {which} {out['s']:.2f} s"
                        + (f" {out['error']}" if "error" in out else "")
                    )
        finally:
            churn.close()
        summary = {}
        for which, runs in fits.items():
            ok = [r for r in runs if "error" not in r]
            if not ok:
                summary[which] = {"error": runs[0]["error"]}
                continue
            summary[which] = {
                "runs_s": [r["s"] for r in ok],
                "cpu_s": [r["cpu_s"] for r in ok],
                "best_s": min(r["s"] for r in ok),
                "median_s": statistics.median(r["s"] for r in ok),
                **{k: v for k, v in ok[-1].items() if k not in ("s", "cpu_s")},
            }
        ref = summary["ours"]
        for which in order[1:]:
            if "params" in summary[which] and "params" in ref:
                s = summary[which]
                s["ratio_median"] = s["median_s"] / ref["median_s"]
                s["ratio_best"] = s["best_s"] / ref["best_s"]
                s["rel_diff_vs_ours"] = [(p - q) / q for p, q in zip(s["params"], ref["params"], strict=True)]
                s["ll_minus_ours"] = s["ll"] - ref["ll"]
        result["bgnbd"]["data"] = loaded
        result["bgnbd"]["settings"].append(
            {"setting": setting, "label": label, "env": env, "fits": summary, "loads": loads}
        )


# ---- the report ------------------------------------------------------------------------------------


def _ratio(v: float) -> str:
    return f"{v:.1f}×" if v < 10 else f"{v:.0f}×"


def _cell(v, fmt="{:.1f}") -> str:
    return "" if v is None else fmt.format(v)


def report(result: dict) -> str:
    r = result["run"]
    args = argparse.Namespace(**r["args"])
    lines = [
        "# Peers side by side, timed alternately (issue 15, item 4)",
        "",
        f"Run {r['date']} by `bench/peers_bench.py` on {r['nproc']} cores shared with other work; load average"
        f" (1, 5, 15 min) before {r['load_before']}, after {r['load_after']}. Python {r['python']}, Django"
        f" {r['django']}.",
        "",
    ]
    if "availability" in result:
        pv, seed = result["peer_versions"], result["seed"]
        lines += [
            "## Availability: ours and django-appointment",
            "",
            f"django-appointment {pv['django-appointment']} (Django {pv['Django']}, django-phonenumber-field"
            f" {pv['django-phonenumber-field']}) in its own virtualenv and scratch project (bench/peers/), database"
            f" `{args.appt_db}`; ours in `{args.ours_db}`. Both seeded with the same {seed['stylists']} stylists,"
            f" working hours and {seed['items']:,} bookings (those of bench/availability_bench.py's `build()`, read"
            f" back from ours and written into theirs), time zone {seed['time_zone']}, a {seed['grid']}-minute grid;"
            f" the question: the free starts of the 60-minute cut ({SEARCHED!r}).",
            "",
            "Each child process answers in turn (ours, theirs, ours, theirs, ...) after one untimed call each;"
            " times in ms per case (the whole question: for theirs, every stylist × day call). Wall includes"
            " PostgreSQL; CPU is the child's Python; DB CPU is its PostgreSQL backend's (mean, 10 ms ticks);"
            " queries = SQL statements per case. p95 is the nearest rank (with 5 rounds: the largest).",
            "",
        ]
        for level, text in LEVELS.items():
            rows = [row for row in result["availability"] if row["level"] == level]
            if not rows:
                continue
            lines += [
                f"### {text}",
                "",
                "| case (stylists × days) | rounds | side | calls | slots | queries | wall p50 | wall p95 | wall max"
                " | CPU p50 | DB CPU | theirs ÷ ours p50 (p95) | queries ÷ |",
                "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for row in rows:
                for name in ("ours", "theirs"):
                    s = row[name]
                    ratio = (
                        f"**{_ratio(row['ratio_p50'])}** ({_ratio(row['ratio_p95'])})"
                        if name == "theirs"
                        else ""
                    )
                    rq = _ratio(row["ratio_queries"]) if name == "theirs" else ""
                    lines.append(
                        f"| {row['case'] if name == 'ours' else ''} | {row['rounds'] if name == 'ours' else ''}"
                        f" | {name} | {s['calls']} | {s['slots']:,} | {s['queries']:,} | {s['p50']:.1f} | {s['p95']:.1f}"
                        f" | {s['max']:.1f} | {s['cpu_p50']:.1f} | {_cell(s['db_cpu_mean'])} | {ratio} | {rq} |"
                    )
            lines.append("")
        lines += [
            "### Slot sets",
            "",
            "(stylist, local start) pairs of the untimed call of each side, compared with each other and with a"
            " brute-force enumeration of the seeded rows (every grid start inside the working hours, ending by"
            " their end, overlapping no booking). Every timed call returned the same set as the untimed one"
            " (digest) unless noted.",
            "",
            "| case | level | ours | theirs | equal | only ours | only theirs | brute force | ours wrong / missing"
            " | theirs wrong / missing |",
            "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        notes = []
        for row in result["availability"]:
            c = row["compare"]
            lines.append(
                f"| {row['case']} | {row['level']} | {c['ours']:,} | {c['theirs']:,} | {'yes' if c['identical'] else '**no**'}"
                f" | {c['only_ours']} | {c['only_theirs']} | {c['brute_force']:,} | {c['ours_wrong']} / {c['ours_missing']}"
                f" | {c['theirs_wrong']} / {c['theirs_missing']} |"
            )
            for side in ("ours", "theirs"):
                if not row[side]["warm_digest_matches"]:
                    notes.append(
                        f"- {row['case']} {row['level']}: a timed call of {side} returned another slot set."
                    )
                if row[side]["queries_varied"]:
                    notes.append(
                        f"- {row['case']} {row['level']}: {side}'s query count varied between calls."
                    )
            if c["only_ours_examples"] or c["only_theirs_examples"]:
                notes.append(
                    f"- {row['case']} {row['level']}: only ours e.g. {c['only_ours_examples']}; only theirs e.g."
                    f" {c['only_theirs_examples']}"
                )
        lines += ["", *notes, "" if notes else ""]
        sem = result.get("semantics")
        if sem:
            lines += [
                "### Where the rules differ (untimed)",
                "",
                f"The colour ({sem['service']}: 120 min + 15 min buffer after), 40 stylists × {sem['days']} days:"
                f" ours {sem['ours']:,} starts, theirs {sem['theirs']:,}; {sem['both']:,} in both,"
                f" {sem['only_ours']} only in ours (local times {', '.join(sem['only_ours_times']) or 'none'}),"
                f" {sem['only_theirs']} only in theirs. django-appointment has no buffer after a service, so the"
                " buffer is part of its Service.duration (135 min) and must end by the end of the working hours;"
                " ours needs the service itself to end by then (the buffer - clean-up - may run past it) and keeps"
                " the buffer clear of the next booking. Ours equals the brute force of its rule:"
                f" {'yes' if sem['ours_equals_ours_rule'] else '**no**'}; theirs equals the brute force with the"
                f" buffer inside the hours: {'yes' if sem['theirs_equals_buffer_inside_rule'] else '**no**'}."
                " Hence the timed comparison uses the cut (no buffer), where the two rules coincide.",
                "",
            ]
        lines += ["### Mapping", "", "| ours | django-appointment |", "| --- | --- |"]
        lines += [f"| {a} | {b} |" for a, b in MAPPING]
        lines += [""]
    if "bgnbd" in result:
        b = result["bgnbd"]
        d = b["data"]
        lines += [
            "## BG/NBD: ours and lifetimes",
            "",
            f"`{b['db']}`: {d['clients_in_db']:,} clients, {d['visit_day_rows']:,} visit days; as of {d['as_of']}"
            f" {d['clients_fitted']:,} clients with a visit day ({d['repeat_clients']:,} with a repeat one),"
            f" {d['distinct_rows']:,} distinct (x, t_x, T) rows. Read (binary COPY) {d['read_s']:.2f} s, summary"
            f" {d['summary_s']:.2f} s, not timed below. {args.fit_rounds} rounds of ours, lifetimes, lifetimes"
            " weighted in turn, in one child process per BLAS setting. Ours = `clv.compress` + `clv.fit_bgnbd`"
            " (L-BFGS-B, analytic gradient, cold start); lifetimes = `BetaGeoFitter(penalizer_coef=0).fit` (BFGS"
            " on autograd's gradient, then autograd's Hessian for the standard errors, part of `fit`), on every"
            " client, and on ours' distinct rows with `weights` (compress not timed there). Log-likelihood of"
            " each fit over every client by the same function (`clv._bgnbd_ll_and_gradient`; lifetimes' own"
            " `_negative_log_likelihood` agrees); parameters in brackets relative to ours.",
            "",
        ]
        for setting in b["settings"]:
            f = setting["fits"]
            lines += [
                f"### {setting['label']}",
                "",
                "Load average before each round: " + ", ".join(f"{x:.2f}" for x in setting["loads"]) + ".",
                "",
                "| fit | runs (s) | median s | ÷ ours | r | alpha (per day) | a | b | log-likelihood | − ours |"
                " iterations |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for which in ("ours", "lifetimes", "lifetimes weighted"):
                s = f[which]
                if "error" in s:
                    lines.append(f"| {which} | failed: `{s['error'][:150]}` | | | | | | | | | |")
                    continue
                rel = s.get("rel_diff_vs_ours")
                params = [
                    f"{p:.6g}" + (f" ({q * 100:+.4f} %)" if rel else "")
                    for p, q in zip(s["params"], rel or [0] * 4, strict=True)
                ]
                ratio = f"**{s['ratio_median']:.2f}×**" if "ratio_median" in s else ""
                lines.append(
                    f"| {which} | {', '.join(f'{x:.2f}' for x in s['runs_s'])} | {s['median_s']:.2f} | {ratio} | "
                    + " | ".join(params)
                    + f" | {s['ll']:.3f} | {_cell(s.get('ll_minus_ours'), '{:+.4f}')} | {s.get('iterations', '')} |"
                )
            hess = [
                f"{w}: {f[w]['hessian_s']:.2f} s"
                for w in ("lifetimes", "lifetimes weighted")
                if f[w].get("hessian_s")
            ]
            if hess:
                lines += ["", "Of lifetimes' time, its Hessian (last run): " + "; ".join(hess) + "."]
            gaps = [abs(x["ll"] - x["ll_lifetimes_fn"]) for x in f.values() if "ll" in x]
            if gaps:
                lines += [
                    "",
                    f"Largest difference between the two log-likelihood functions on these fits: {max(gaps):.2g}.",
                ]
            lines += [""]
        medians = {
            x["setting"]: x["fits"]["ours"]["median_s"]
            for x in b["settings"]
            if "median_s" in x["fits"]["ours"]
        }
        if len(medians) > 1:
            lines += [
                "Ours' median by BLAS setting: "
                + ", ".join(f"{k}: {v:.2f} s" for k, v in medians.items())
                + " (the likelihood's dot products and L-BFGS-B's vector operations go through OpenBLAS, which"
                " may spread them over threads; on these 2 cores shared with other work, one thread was faster).",
                "",
            ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ours-db", default="salon_bench_peer_ours")
    parser.add_argument("--appt-db", default="salon_bench_peer_appt", help="django-appointment's database")
    parser.add_argument("--rounds-small", type=int, default=20, help="rounds of 1 × 1 and 40 × 1")
    parser.add_argument("--rounds-big", type=int, default=5, help="rounds of 40 × 14")
    parser.add_argument("--levels", default="service,http", help="service,http (comma-separated)")
    parser.add_argument("--peer-python", help="the python of django-appointment's side (default .venv-peers)")
    parser.add_argument(
        "--churn-db", default="salon_bench_bigchain", help="the data of bench/analytics_bench.py"
    )
    parser.add_argument(
        "--clients-check", type=int, default=1_000_000, help="refuse a --churn-db with fewer clients"
    )
    parser.add_argument("--small", action="store_true", help="accept a --churn-db under --clients-check")
    parser.add_argument("--as-of", help="YYYY-MM-DD for the BG/NBD summary (default: today)")
    parser.add_argument("--fit-rounds", type=int, default=2)
    parser.add_argument(
        "--blas-threads",
        default="default,1",
        help="BLAS thread settings of the fits, comma-separated: default (the environment's) and/or N",
    )
    parser.add_argument("--no-availability", action="store_true")
    parser.add_argument(
        "--no-semantics-check", action="store_true", help="skip the untimed colour comparison"
    )
    parser.add_argument("--no-churn", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "peers.md"))
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "peers.json"))
    parser.add_argument("--render-only", action="store_true", help="rewrite --out from --json (no run)")
    parser.add_argument("--child", choices=("ours", "theirs", "churn"), help=argparse.SUPPRESS)
    parser.add_argument("--child-db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render_only:
        result = json.loads(Path(args.json).read_text(encoding="utf-8"))
        Path(args.out).write_text(report(result), encoding="utf-8")
        log(f"{args.out} written from {args.json}")
        return
    if args.child:
        child_main(args.child, args.child_db)
        return
    for db in (args.ours_db, args.appt_db, args.churn_db):
        if db.startswith("salon_crm") or db in ("postgres", "template0", "template1"):
            parser.error(f"{db}: use a bench database")
    if not args.no_churn:
        exists = subprocess.run(
            ["psql", *_pg_args(), "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{args.churn_db}'"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not exists:
            parser.error(
                f"--churn-db {args.churn_db} does not exist: generate it with bench/analytics_bench.py --db"
                f" {args.churn_db} --no-raw --no-page --no-api --repeat 1 (or give --no-churn)"
            )
    import django

    result: dict = {
        "run": {
            "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "nproc": os.cpu_count(),
            "load_before": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
            "python": sys.version.split()[0],
            "django": django.get_version(),
            "args": vars(args),
        }
    }
    if not args.no_availability:
        run_availability(args, result)
    if not args.no_churn:
        run_churn(args, result)
    result["run"]["load_after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    for row in result.get("availability", []):
        for side in ("ours", "theirs"):
            row[side]["wall_ms"] = [round(v, 3) for v in row[side]["wall_ms"]]
    text = report(result)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    print(text)
    log(f"written to {args.out} and {args.json}")


if __name__ == "__main__":
    main()
