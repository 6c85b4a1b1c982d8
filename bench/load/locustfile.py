"""The load test's simulated staff (issue 15 item 3): run by bench/load_test.py, which writes the plan.

    LOAD_PLAN=plan.json LOAD_RECORD=requests.jsonl LOAD_MARKS=marks.jsonl \\
      locust -f bench/load/locustfile.py --headless --host http://127.0.0.1:8125

- `FrontDesk` (weight 50): logs in through the login page (CSRF token, password; receptionists
  have no code step), takes an API token as an API client does (POST /api/v1/auth/token/), moves
  to the `benchcal` location with the header's switcher, then loops with think times: the header
  search as you type (htmx fragments, session), a client card, the day calendar of `benchcal`
  (40 stylists, 600 appointments), a booking (API search for the client, availability of a day at
  `benchfd`, POST /api/v1/appointments/ into a free slot: a 409 "slot taken" is a right answer
  under contention and counts as a success named "book (409 slot taken)"), a checkout (POST
  /api/v1/visits/ of an arrived appointment at `benchlt` taken from the plan's queue: part stored
  value, the rest by card).
- `Manager` (weight 5): logs in the same way, then the dashboard page and GET
  /api/v1/metrics/summary/ for various periods and locations.

Every request carries `X-Forwarded-Proto: https` (TLS ends at the load balancer, so the server
runs with its production SSL redirect, secure cookies and HSTS) and `X-Forwarded-For` with an
address of its own per simulated user (a desk of its own, behind the balancer: the server runs
with AXES_PROXY_COUNT=1, so the login and token rate limits count per desk as in production).

Each request is appended to LOAD_RECORD (one JSON line: start time, name, ms, ok, status, error)
for the runner's per-step figures. `StepShape` drives the users: LOAD_STEPS "users:seconds,..."
(each step measured for `seconds` once every user of the step has logged in, plus LOAD_SETTLE
seconds); after a step whose p95 (logins excluded) passes LOAD_P95_LIMIT ms, or that had a
failure, it stops (except after the steps listed in LOAD_NO_STOP_STEPS: phase 1); a step past the
limit is measured once more first, since the machine may be shared. Steps are written to LOAD_MARKS.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections import deque
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

from locust import FastHttpUser, LoadTestShape, between, events, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text()) if os.environ.get("LOAD_PLAN") else {}
RECORD_PATH = os.environ.get("LOAD_RECORD", "")
MARKS_PATH = os.environ.get("LOAD_MARKS", "")
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
LOGIN_NAMES = ("login page", "login post", "api token", "switch location")

# shared by every simulated user of this (single) locust process
CHECKOUTS: deque = deque(PLAN.get("checkout", {}).get("queue", []))
STATE = {"logged_in": 0, "login_failed": 0, "checkout_pool_empty": 0, "desk_addresses": 0}
RECENT: deque = deque(maxlen=2_000_000)  # (start, ms, ok, name): StepShape's own p95 per step
_record_lock = threading.Lock()
_record = open(RECORD_PATH, "a", buffering=1) if RECORD_PATH else None  # noqa: SIM115 (for the whole run)


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length, exception=None, **kwargs):
    start = kwargs.get("start_time") or time.time()
    response = kwargs.get("response")
    status = getattr(response, "status_code", 0) or 0
    ok = exception is None
    RECENT.append((start, response_time, ok, name))
    if _record is not None:
        row = {"t": round(start, 4), "name": name, "ms": round(response_time, 2), "ok": ok, "status": status}
        if not ok:
            row["error"] = str(exception)[:600]
        with _record_lock:
            _record.write(json.dumps(row, ensure_ascii=False) + "\n")


def _mark(**fields) -> None:
    if MARKS_PATH:
        with open(MARKS_PATH, "a") as f:
            f.write(json.dumps({"t": round(time.time(), 3), **fields}) + "\n")


class BehindTls(DefaultCookiePolicy):
    """The browser talks HTTPS to the load balancer: its `Secure` cookies go back with every
    request, though the load balancer's side (here, the loopback) is plain HTTP."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True


class Staff(FastHttpUser):
    """One member of staff at a desk of their own: login through the page, then tasks."""

    abstract = True
    username = ""
    network_timeout = 60.0
    connection_timeout = 60.0

    def on_start(self) -> None:
        STATE["desk_addresses"] += 1
        n = STATE["desk_addresses"]
        self.address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"
        self.origin = self.host.replace("http://", "https://", 1).rstrip("/")
        self.token = ""
        self.rng = random.Random()
        self.client.cookiejar.set_policy(BehindTls())
        try:
            ok = self.log_in()
        except Exception as error:  # counted: a login that crashed must not stall the shape
            ok = False
            _mark(event="login_crash", error=repr(error)[:300])
        if ok:
            STATE["logged_in"] += 1
        else:
            STATE["login_failed"] += 1
            self.stop()

    # ---- HTTP as the desk's browser sends it -----------------------------------------------

    def headers(self, extra: dict | None = None) -> dict:
        return {"X-Forwarded-Proto": "https", "X-Forwarded-For": self.address, **(extra or {})}

    def csrf_cookie(self) -> str:
        return next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")

    def form_headers(self, referer: str) -> dict:
        """What a browser adds to a form post over HTTPS: Origin and Referer (checked by Django's
        CSRF middleware on secure requests)."""
        return self.headers({"Origin": self.origin, "Referer": self.origin + referer})

    def api_headers(self) -> dict:
        return self.headers({"Authorization": f"Token {self.token}", "Accept": "application/json"})

    def log_in(self) -> bool:
        with self.client.get(
            "/login/", name="login page", headers=self.headers(), catch_response=True
        ) as page:
            found = CSRF_INPUT.search(page.content or b"")
            if page.status_code != 200 or not found:
                page.failure(f"{page.status_code}: no login form")
                return False
        with self.client.post(
            "/login/",
            name="login post",
            data={
                "csrfmiddlewaretoken": found.group(1).decode(),
                "username": self.username,
                "password": PLAN["password"],
            },
            headers=self.form_headers("/login/"),
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            location = answer.headers.get("Location", "") if answer.headers else ""
            if answer.status_code != 302 or "/login/" in location:
                answer.failure(f"{answer.status_code} {location}: {(answer.text or '')[:200]}")
                return False
        with self.client.post(
            "/api/v1/auth/token/",
            name="api token",
            json={"username": self.username, "password": PLAN["password"]},
            headers=self.headers(),
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:200]}")
                return False
            self.token = answer.json()["token"]
        return self.after_login()

    def after_login(self) -> bool:
        return True

    def expect(self, response, *codes: int, contains: bytes = b"") -> bool:
        codes = codes or (200,)
        if response.status_code not in codes:
            response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
            return False
        if contains and contains not in (response.content or b""):
            response.failure(f"{response.status_code} without {contains!r}")
            return False
        response.success()
        return True


class FrontDesk(Staff):
    weight = 50
    wait_time = between(
        float(os.environ.get("LOAD_THINK_MIN", 5)), float(os.environ.get("LOAD_THINK_MAX", 15))
    )

    def on_start(self) -> None:
        self.username = PLAN["users"]["desk"]
        super().on_start()

    def after_login(self) -> bool:
        """Work at benchcal (the header's switcher): the calendar opens on that location."""
        with self.client.post(
            "/location/switch/",
            name="switch location",
            data={"location": PLAN["calendar"]["location"], "next": "/calendar/"},
            headers={**self.form_headers("/"), "X-CSRFToken": self.csrf_cookie()},
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            return self.expect(answer, 302)

    # ---- tasks -------------------------------------------------------------------------------

    @task(4)
    def header_search(self) -> None:
        """The header box as the receptionist types: a fragment per pause (htmx, 150 ms delay)."""
        q = self.rng.choice(PLAN["search_inputs"])
        for length in range(max(1, len(q) - 2), len(q) + 1):
            with self.client.get(
                "/customers/search/",
                params={"q": q[:length]},
                name="header search",
                headers=self.headers({"HX-Request": "true", "HX-Target": "header-search-results"}),
                catch_response=True,
            ) as response:
                if not self.expect(response):
                    return
            if length < len(q):
                time.sleep(self.rng.uniform(0.15, 0.4))

    @task(3)
    def open_card(self) -> None:
        pk = self.rng.choice(PLAN["cards"])
        with self.client.get(
            f"/customers/{pk}/", name="client card", headers=self.headers(), catch_response=True
        ) as response:
            self.expect(response)

    @task(2)
    def day_calendar(self) -> None:
        with self.client.get(
            "/calendar/",
            params={"date": PLAN["calendar"]["day"]},
            name="day calendar",
            headers=self.headers(),
            catch_response=True,
        ) as response:
            self.expect(response, contains=b'class="appt st-')

    @task(1)
    def book(self) -> None:
        """Find the client (API search), a day's free slots at benchfd, book one of them."""
        plan = PLAN["booking"]
        customer = self.rng.choice(plan["customers"])
        with self.client.get(
            "/api/v1/customers/",
            params={"q": customer["q"]},
            name="api search",
            headers=self.api_headers(),
            catch_response=True,
        ) as response:
            if not self.expect(response):
                return
        customer_id = customer["id"]  # the desk picks the client out of the matches
        time.sleep(self.rng.uniform(1, 3))  # the client says which day
        params = {
            "location": plan["location"],
            "service": plan["service"],
            "date": self.rng.choice(plan["dates"]),
        }
        wanted = self.rng.random() < 0.5  # half ask for their stylist
        if wanted:
            params["staff"] = self.rng.choice(plan["staff"])
        with self.client.get(
            "/api/v1/availability/",
            params=params,
            name="availability (a stylist)" if wanted else "availability (any stylist)",
            headers=self.api_headers(),
            catch_response=True,
        ) as response:
            if not self.expect(response):
                return
            slots = response.json()
        if not slots:
            return
        slot = self.rng.choice(slots)
        time.sleep(self.rng.uniform(1, 3))  # the client picks a time
        payload = {
            "customer": customer_id,
            "location": plan["location"],
            "items": [{"service": plan["service"], "staff": slot["staff"], "start": slot["start"]}],
        }
        for attempt in range(2):
            name = "book" if attempt == 0 else "book (safety override)"
            with self.client.post(
                "/api/v1/appointments/",
                json=payload,
                name=name,
                headers=self.api_headers(),
                catch_response=True,
            ) as response:
                if response.status_code == 409 and b"slot_taken" in (response.content or b""):
                    response.request_meta["name"] = f"{name} (409 slot taken)"
                    response.success()
                    return
                if (
                    response.status_code == 400
                    and b"safety_warnings" in (response.content or b"")
                    and attempt == 0
                ):
                    response.request_meta["name"] = "book (400 safety warnings)"
                    response.success()  # the desk reads the warnings to the client, then goes ahead
                    payload["override_reason"] = "Client confirmed, load test"
                    continue
                self.expect(response, 201)
                return

    @task(1)
    def checkout(self) -> None:
        try:
            item = CHECKOUTS.popleft()
        except IndexError:
            STATE["checkout_pool_empty"] += 1
            return
        price = float(item["price"])
        paid_stored = min(50.0, price)
        payload = {
            "location": PLAN["checkout"]["location"],
            "customer": item["customer"],
            "appointment": item["appointment"],
            "payments": [
                {"method": "stored_value", "amount": f"{paid_stored:.2f}"},
                {"method": "card", "amount": f"{price - paid_stored:.2f}"},
            ],
        }
        with self.client.post(
            "/api/v1/visits/", json=payload, name="checkout", headers=self.api_headers(), catch_response=True
        ) as response:
            self.expect(response, 201)


class Manager(Staff):
    weight = 5
    wait_time = between(
        float(os.environ.get("LOAD_MANAGER_THINK_MIN", 10)),
        float(os.environ.get("LOAD_MANAGER_THINK_MAX", 30)),
    )

    def on_start(self) -> None:
        self.username = PLAN["users"]["manager"]
        super().on_start()

    def period(self) -> dict:
        return self.rng.choice(PLAN["dashboard"]["periods"])

    def location(self) -> str:
        return self.rng.choice(PLAN["dashboard"]["locations"])

    @task(2)
    def dashboard(self) -> None:
        params = {**self.period(), "location": self.location()}
        if self.rng.random() < 0.3:
            params = {}  # the home page as it opens: the default period at the current location
        with self.client.get(
            "/dashboard/", params=params, name="dashboard", headers=self.headers(), catch_response=True
        ) as response:
            self.expect(response)

    @task(2)
    def metrics_summary(self) -> None:
        params = dict(self.period())
        location = self.location()
        if location != "all":
            params["location"] = location
        with self.client.get(
            "/api/v1/metrics/summary/",
            params=params,
            name="metrics summary",
            headers=self.api_headers(),
            catch_response=True,
        ) as response:
            self.expect(response)


# ---- the steps ------------------------------------------------------------------------------------


def p95_since(start: float, end: float) -> tuple[float, int, int]:
    """p95 (ms) of the requests started in [start, end), logins excluded; requests; failures."""
    times, failures = [], 0
    for t, ms, ok, name in list(RECENT):
        if start <= t < end and name not in LOGIN_NAMES:
            times.append(ms)
            failures += not ok
    if not times:
        return float("nan"), 0, failures
    times.sort()
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], len(times), failures


class StepShape(LoadTestShape):
    """LOAD_STEPS="55:300,100:75,150:75": each step's users, and how long it is measured once all
    of them have logged in (+ LOAD_SETTLE s). Stops after a step past LOAD_P95_LIMIT ms or with a
    failure, after the last step, or when a step's logins take longer than LOAD_RAMP_TIMEOUT s."""

    def __init__(self) -> None:
        super().__init__()
        steps = os.environ.get("LOAD_STEPS", "55:300")
        self.steps = [tuple(int(x) for x in s.split(":")) for s in steps.split(",") if s]
        self.spawn_rate = float(os.environ.get("LOAD_SPAWN_RATE", 2))
        self.settle = float(os.environ.get("LOAD_SETTLE", 5))
        self.limit = float(os.environ.get("LOAD_P95_LIMIT", 250))
        self.ramp_timeout = float(os.environ.get("LOAD_RAMP_TIMEOUT", 300))
        self.stop_on_failure = os.environ.get("LOAD_STOP_ON_FAILURE", "1") == "1"
        self.no_stop = {int(i) for i in os.environ.get("LOAD_NO_STOP_STEPS", "").split(",") if i}
        self.i = -1
        self.done = False

    def _begin(self, i: int) -> None:
        self.i = i
        self.step_start = time.time()
        self.ready_at = None
        self.again = False
        users, seconds = self.steps[i]
        _mark(event="step_start", step=i, users=users, seconds=seconds)

    def tick(self):
        if self.done:
            return None
        now = time.time()
        if self.i < 0:
            self._begin(0)
        users, seconds = self.steps[self.i]
        started = STATE["logged_in"] + STATE["login_failed"]
        if self.ready_at is None:
            if started >= users:
                self.ready_at = now
                _mark(
                    event="step_ready",
                    step=self.i,
                    users=users,
                    logged_in=STATE["logged_in"],
                    login_failed=STATE["login_failed"],
                    measure_start=round(now + self.settle, 3),
                )
            elif now - self.step_start > self.ramp_timeout:
                _mark(
                    event="stop",
                    step=self.i,
                    reason=f"{started} of {users} users logged in after {self.ramp_timeout:.0f} s",
                )
                self.done = True
                return None
        elif now >= self.ready_at + self.settle + seconds:
            measure_start = self.ready_at + self.settle
            p95, count, failures = p95_since(measure_start, now)
            _mark(
                event="step_end",
                step=self.i,
                users=users,
                measure_start=round(measure_start, 3),
                measure_end=round(now, 3),
                p95=p95,
                requests=count,
                failures=failures,
                login_failed=STATE["login_failed"],
                checkout_pool_empty=STATE["checkout_pool_empty"],
                checkouts_left=len(CHECKOUTS),
            )
            reason = ""
            if self.stop_on_failure and (failures or STATE["login_failed"]) and self.i not in self.no_stop:
                reason = f"{failures} failures, {STATE['login_failed']} failed logins"
            elif p95 > self.limit and self.i not in self.no_stop:
                if not self.again:
                    # once more before stopping: on a shared machine a burst of other work
                    # can pass the limit for a minute
                    self.again = True
                    self.ready_at = now - self.settle
                    _mark(event="step_again", step=self.i, users=users, p95=p95)
                    return users, self.spawn_rate
                reason = f"p95 {p95:.0f} ms > {self.limit:.0f} ms"
            elif self.i + 1 >= len(self.steps):
                reason = "last step"
            if reason:
                _mark(event="stop", step=self.i, reason=reason)
                self.done = True
                return None
            self._begin(self.i + 1)
            users = self.steps[self.i][0]
        return users, self.spawn_rate
