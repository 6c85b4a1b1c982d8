"""Production smoke: a running server built as the Docker image is (DEBUG off, the manifest
static files, secure cookies, SSL redirect, two-factor login for the roles that need it) is
used through its pages as each role would use them, and every main page must answer 200.

    python scripts/prod_smoke.py --base-url http://127.0.0.1:8123 --host crm.example.com

HTTPS is terminated in front of the app, so every request carries `X-Forwarded-Proto: https`
and the `Host` the deployment allows; cookies are kept by hand because they are `Secure` and
the probe talks plain HTTP to the loopback. Logins go through the login page (CSRF token, then
the code page for owners and managers). The ids of the pages to open (a client, a visit, an
appointment, a stylist's service) are read from the same database the server uses (the demo
salon, `manage.py seed_demo`), so the script runs with the server's environment. For roles that
must confirm a code, a TOTP phone with a key known to this script is enrolled in that database
the first time (the real enrolment page is a browser's job); codes are then computed as an
authenticator app would.

Exits 1 when any page answers anything but what is expected (a 500 above all), listing them.
"""

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "salon-demo-2026"
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')
LINK = re.compile(r'href="(/[^"#]*)"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Failures:
    items: list[str] = field(default_factory=list)
    checked: int = 0

    def expect(self, what: str, ok: bool, detail: str = "") -> bool:
        self.checked += 1
        if not ok:
            self.items.append(f"{what}: {detail}")
            print(f"  FAIL {what}: {detail}")
        return ok


class Browser:
    """One visitor: a cookie jar that keeps Secure cookies over the loopback's plain HTTP."""

    def __init__(self, base_url: str, host: str, name: str):
        self.base_url, self.host, self.name = base_url.rstrip("/"), host, name
        self.cookies: dict[str, str] = {}
        self.cookie_flags: dict[str, set[str]] = {}

    @property
    def origin(self) -> str:
        return f"https://{self.host}"

    def request(self, method: str, path: str, *, https: bool = True, **kwargs) -> requests.Response:
        headers = {"Host": self.host, **kwargs.pop("headers", {})}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(
            method, self.base_url + path, headers=headers, allow_redirects=False, timeout=60, **kwargs
        )
        for raw in response.raw.headers.getlist("Set-Cookie"):
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                    continue
                self.cookies[name] = morsel.value
                lowered = raw.lower()
                self.cookie_flags[name] = {f for f in ("secure", "httponly") if f in lowered}
        return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, data: dict, *, referer: str) -> requests.Response:
        """A form post as a browser sends it over HTTPS: the CSRF cookie, the token field, and
        the Origin and Referer that Django checks on secure requests."""
        return self.request(
            "POST",
            path,
            data={"csrfmiddlewaretoken": self.csrf_token, **data},
            headers={"Origin": self.origin, "Referer": self.origin + referer},
        )

    csrf_token = ""

    def read_csrf(self, html: str) -> None:
        found = CSRF_INPUT.search(html)
        self.csrf_token = found.group(1) if found else ""


# ---- what to open: ids from the server's database ------------------------------------------------


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salon_crm.settings")
    import django

    django.setup()


@dataclass
class Targets:
    location_code: str
    customer: int
    visit: int
    checkout_appointment: int
    stylist_item: int
    stylist_customer: int
    online_service: int
    manage_token: str
    survey_token: str
    complaint: int
    admin_url: str
    otp_roles: list[str]


def find_targets() -> Targets:
    from django.conf import settings
    from django.utils import timezone

    from accounts.models import Location
    from appointments.models import Appointment, AppointmentItem, AppointmentStatus, Visit
    from appointments.selectors import services_offered
    from appointments.views.online import manage_token

    location = Location.objects.get(code="jingan")
    now = timezone.now()
    visit = Visit.objects.filter(location=location, status=Visit.Status.COMPLETED).order_by("-pk").first()
    waiting = (
        Appointment.objects.filter(
            location=location,
            status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED],
            start__gt=now,
            visit__isnull=True,
        )
        .order_by("start", "pk")
        .first()
    )
    item = (
        AppointmentItem.objects.filter(staff__user__username="stylist", appointment__location=location)
        .select_related("appointment")
        .order_by("-start", "-pk")
        .first()
    )
    from feedback.models import Complaint, Survey
    from feedback.services import survey_token

    survey = Survey.objects.filter(location=location, answered_at__isnull=True).order_by("-pk").first()
    complaint = Complaint.objects.filter(location=location).order_by("pk").first()
    missing = [
        name
        for name, value in [
            ("an open survey", survey),
            ("a complaint", complaint),
            ("a completed visit", visit),
            ("a future appointment", waiting),
            ("a stylist's item", item),
        ]
        if value is None
    ]
    if missing:
        sys.exit(f"production smoke: the demo salon has no {', '.join(missing)}; run manage.py seed_demo")
    return Targets(
        location_code=location.code,
        customer=visit.customer_id,
        visit=visit.pk,
        checkout_appointment=waiting.pk,
        stylist_item=item.pk,
        stylist_customer=item.appointment.customer_id,
        online_service=services_offered(location=location).order_by("pk").first().pk,
        manage_token=manage_token(waiting),
        survey_token=survey_token(survey),
        complaint=complaint.pk,
        admin_url="/" + settings.ADMIN_URL,
        otp_roles=list(getattr(settings, "OTP_REQUIRED_ROLES", [])),
    )


class Authenticator:
    """TOTP codes for one user, as their phone's app computes them: a device with a key known
    here is enrolled the first time; each code is used once (django-otp refuses a time step it
    has seen), so later codes are taken from the steps ahead, inside the device's tolerance."""

    TOLERANCE = 20

    def __init__(self, username: str):
        from django.contrib.auth import get_user_model
        from django_otp.plugins.otp_totp.models import TOTPDevice

        user = get_user_model().objects.get(username=username)
        device = TOTPDevice.objects.filter(user=user, name="smoke", confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="smoke", confirmed=True)
        device.tolerance = self.TOLERANCE
        device.save(update_fields=["tolerance"])
        self.device = device
        self.next_step = 0

    def code(self) -> str:
        from django_otp.oath import TOTP

        device = self.device
        device.refresh_from_db()
        # Absolute time steps (no drift): the step of now, or the first one after the last used.
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
        step = max(totp.t(), device.last_t + 1, self.next_step)
        self.next_step = step + 1
        totp.time = device.t0 + step * device.step
        return f"{totp.token():0{device.digits}d}"


# ---- the probe -------------------------------------------------------------------------------------


def check_page(
    browser: Browser, path: str, failures: Failures, assets: set[str], *, expect: int = 200, **kwargs
) -> requests.Response:
    response = browser.get(path, **kwargs)
    print(f"  {response.status_code} {browser.name:<10} GET {path}")
    failures.expect(
        f"{browser.name} GET {path}",
        response.status_code == expect,
        f"{response.status_code} (expected {expect}) {response.headers.get('Location', '')}",
    )
    if "text/html" in response.headers.get("Content-Type", ""):
        assets.update(ASSET.findall(response.text))
    return response


def log_in(browser: Browser, username: str, failures: Failures, auth: Authenticator | None) -> bool:
    page = browser.get("/login/")
    if not failures.expect(f"{username}: login page", page.status_code == 200, str(page.status_code)):
        return False
    browser.read_csrf(page.text)
    answer = browser.post_form("/login/", {"username": username, "password": PASSWORD}, referer="/login/")
    if not failures.expect(
        f"{username}: password accepted",
        answer.status_code == 302,
        f"{answer.status_code} {answer.text[:200]}",
    ):
        return False
    failures.expect(
        f"{username}: session cookie Secure and HttpOnly",
        {"secure", "httponly"} <= browser.cookie_flags.get("sessionid", set()),
        str(browser.cookie_flags.get("sessionid")),
    )
    target = urlsplit(answer.headers["Location"])
    if auth is not None:
        step = target.path + (f"?{target.query}" if target.query else "")
        if not failures.expect(f"{username}: asked for a code", target.path == "/login/code/", step):
            return False
        page = browser.get(step)
        browser.read_csrf(page.text)
        answer = browser.post_form(step, {"code": auth.code()}, referer=step)
        if not failures.expect(
            f"{username}: code accepted", answer.status_code == 302, str(answer.status_code)
        ):
            return False
    return True


def api_token(browser: Browser, username: str, auth: Authenticator | None) -> requests.Response:
    data = {"username": username, "password": PASSWORD}
    if auth is not None:
        data["otp"] = auth.code()
    return browser.request("POST", "/api/v1/auth/token/", json=data)


def settings_links(html: str) -> set[str]:
    return {link for link in LINK.findall(html) if link.startswith("/settings/")}


def run(base_url: str, host: str) -> int:
    setup_django()
    t = find_targets()
    failures = Failures()
    assets: set[str] = set()

    print("== production settings")
    anon = Browser(base_url, host, "anonymous")
    plain = anon.get("/login/", https=False)
    failures.expect(
        "plain HTTP redirects to HTTPS",
        plain.status_code == 301 and plain.headers.get("Location", "").startswith(f"https://{host}/"),
        f"{plain.status_code} {plain.headers.get('Location')}",
    )
    health = anon.get("/healthz", https=False)
    failures.expect(
        "/healthz answers over plain HTTP (the load balancer's probe)",
        health.status_code == 200,
        str(health.status_code),
    )
    login = check_page(anon, "/login/", failures, assets)
    failures.expect(
        "HSTS header", "max-age=" in login.headers.get("Strict-Transport-Security", ""), "missing"
    )
    missing = anon.get("/no-such-page/")
    failures.expect(
        "DEBUG is off (a plain 404 page)",
        missing.status_code == 404 and "URLconf" not in missing.text and "Traceback" not in missing.text,
        str(missing.status_code),
    )

    print("== online booking (no login)")
    code = t.location_code
    check_page(anon, f"/book/{code}/", failures, assets)
    check_page(anon, f"/book/{code}/?service={t.online_service}", failures, assets)
    from django.utils import timezone

    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    check_page(anon, f"/book/{code}/?service={t.online_service}&staff=any&date={tomorrow}", failures, assets)
    check_page(anon, f"/book/{code}/?service={t.online_service}&staff=any&date=9999-12-31", failures, assets)
    check_page(anon, f"/book/manage/{t.manage_token}/", failures, assets)
    check_page(anon, f"/s/{t.survey_token}/", failures, assets)  # the client's survey link

    print("== API schema and docs")
    check_page(anon, "/api/schema/", failures, assets)
    check_page(anon, "/api/docs/", failures, assets)

    pages = {
        "reception": [
            "/",
            "/calendar/",
            "/calendar/?date=9999-12-31",
            "/calendar/week/",
            "/calendar/waitlist/",
            "/customers/",
            "/customers/?q=wang",
            f"/customers/{t.customer}/",
            f"/appointments/{t.checkout_appointment}/",
            f"/appointments/{t.checkout_appointment}/checkout/",
            "/checkout/",
            f"/visits/{t.visit}/receipt/",
            "/feedback/follow-ups/",
            "/feedback/complaints/",
            f"/feedback/complaints/{t.complaint}/",
            "/desk/summary/",
        ],
        "stylist": [
            "/",
            "/my-day/",
            "/my-stats/",
            "/calendar/",
            f"/my-day/items/{t.stylist_item}/record/",
            f"/customers/{t.stylist_customer}/",
            "/feedback/follow-ups/",
        ],
        "manager": [
            ("/", 302),  # their home is the dashboard
            "/dashboard/",
            "/dashboard/?start=0001-01-01&end=9999-12-31",
            "/dashboard/clients/?metric=active",
            "/dashboard/visits/?kind=csat",
            "/today/",
            "/settings/",
            "/customers/",
            f"/customers/{t.customer}/",
            f"/visits/{t.visit}/receipt/",
            "/loyalty/reports/",
            "/feedback/inbox/",
            "/feedback/results/",
            "/feedback/complaints/",
            f"/feedback/complaints/{t.complaint}/",
        ],
        "owner": [
            ("/", 302),
            "/dashboard/?location=all",
            "/today/",
            "/settings/",
            t.admin_url,
            "/customers/import/",
            "/api/docs/",
            "/loyalty/settings/",
        ],
    }
    for username, paths in pages.items():
        print(f"== {username}")
        browser = Browser(base_url, host, username)
        auth = Authenticator(username) if _role(username) in t.otp_roles else None
        if not log_in(browser, username, failures, auth):
            continue
        for entry in paths:
            path, expect = entry if isinstance(entry, tuple) else (entry, 200)
            response = check_page(browser, path, failures, assets, expect=expect)
            if path == "/settings/" and response.status_code == 200:
                # every settings page the role is offered (catalogue, hours, staff...)
                for link in sorted(settings_links(response.text) - {"/settings/"}):
                    check_page(browser, link, failures, assets)
        token = api_token(browser, username, auth)
        if failures.expect(
            f"{username}: API token", token.status_code == 200, f"{token.status_code} {token.text[:200]}"
        ):
            me = browser.get("/api/v1/me/", headers={"Authorization": f"Token {token.json()['token']}"})
            failures.expect(
                f"{username}: GET /api/v1/me/ with the token", me.status_code == 200, str(me.status_code)
            )

    print(f"== static files referenced by the pages ({len(assets)})")
    for asset in sorted(assets):
        response = anon.get(asset)
        failures.expect(f"static {asset}", response.status_code == 200, str(response.status_code))
    hashed = [a for a in assets if re.search(r"\.[0-9a-f]{12}\.(?:js|css)$", a)]
    failures.expect(
        "static names carry the manifest's hashes",
        bool(hashed) and len(hashed) == len([a for a in assets if a.endswith((".js", ".css"))]),
        str(sorted(set(assets) - set(hashed))),
    )

    if failures.items:
        print(f"\nproduction smoke FAILED: {len(failures.items)} of {failures.checked} checks")
        for item in failures.items:
            print(f"  - {item}")
        return 1
    print(f"\nproduction smoke: all {failures.checked} checks answered as expected")
    return 0


def _role(username: str) -> str:
    from django.contrib.auth import get_user_model

    from accounts.access import role_of

    return role_of(get_user_model().objects.get(username=username)) or ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8123")
    parser.add_argument("--host", default="crm.example.com", help="a host in DJANGO_ALLOWED_HOSTS")
    args = parser.parse_args()
    return run(args.base_url, args.host)


if __name__ == "__main__":
    sys.exit(main())
