"""Shared fixtures: personas (owner, manager, reception, stylist, other_stylist), logged-in
clients, API clients, and the switches that skip PostgreSQL / broker / browser tests with a
stated reason on a bare machine (and fail them in CI, where everything must run)."""

import os
import shutil
import time

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.accounts.factories import LocationFactory, StaffMemberFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Playwright's sync API runs an event loop in the test thread; Django would then refuse ORM
# calls from fixtures. Nothing in this project is async, so allow it for the test process.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    reasons = {}
    if not settings.IS_POSTGRES:
        reasons["postgres"] = "needs PostgreSQL (set DATABASE_URL=postgres://...); running on SQLite"
    if not settings.CELERY_BROKER_URL:
        reasons["broker"] = "needs a Celery broker (set CELERY_BROKER_URL=redis://...); tasks run eagerly"
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        reasons["browser"] = f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    for item in items:
        for marker, reason in reasons.items():
            if marker in item.keywords:
                if IN_CI:
                    # CI has every real part; a missing one is an error, never a quiet skip.
                    item.add_marker(pytest.mark.usefixtures("_fail_missing_" + marker))
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def _fail_missing_postgres():
    pytest.fail("CI must run PostgreSQL tests, but DATABASE_URL is not PostgreSQL")


@pytest.fixture
def _fail_missing_broker():
    pytest.fail("CI must run broker tests, but CELERY_BROKER_URL is not set")


@pytest.fixture
def _fail_missing_browser():
    pytest.fail(f"CI must run browser tests, but Chromium is missing at {CHROMIUM}")


# ---- personas -------------------------------------------------------------------------------


@pytest.fixture
def location(db):
    return LocationFactory(code="jingan", name="静安店")


@pytest.fixture
def other_location(db):
    return LocationFactory(code="xuhui", name="徐汇店")


@pytest.fixture
def owner(db, location, other_location):
    return StaffMemberFactory(user__username="owner", role="owner", locations=[location, other_location])


@pytest.fixture
def manager(db, location):
    return StaffMemberFactory(user__username="manager", role="manager", locations=[location])


@pytest.fixture
def reception(db, location):
    return StaffMemberFactory(user__username="reception", role="receptionist", locations=[location])


@pytest.fixture
def stylist(db, location):
    return StaffMemberFactory(
        user__username="stylist", role="stylist", locations=[location], is_bookable=True
    )


@pytest.fixture
def other_stylist(db, location):
    return StaffMemberFactory(
        user__username="stylist2", role="stylist", locations=[location], is_bookable=True
    )


def _logged_in(client, staff):
    client.force_login(staff.user)
    return client


@pytest.fixture
def client_as(client):
    """client_as(staff) -> Django test client logged in as that staff member."""
    return lambda staff: _logged_in(client, staff)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def api_as(api_client):
    """api_as(staff) -> DRF APIClient authenticated as that staff member."""

    def login(staff):
        api_client.force_authenticate(user=staff.user)
        return api_client

    return login


# ---- browser (pytest-playwright on Debian's Chromium) ---------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}, "locale": "en-US"}


# ---- what a browser test's page did, printed when the test fails ----------------------------
# A browser failure ("waited 30 s for a row") says nothing about why; the page's requests,
# their answers and its console say whether the request left, came back, or was never made.


@pytest.fixture(autouse=True)
def _page_journal(request):
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    journal: list[str] = []
    request.node.page_journal = journal
    started: dict = {}
    t0 = time.monotonic()

    def stamp(text):
        journal.append(f"{time.monotonic() - t0:7.3f}s {text}")

    def on_request(r):
        started[id(r)] = time.monotonic()
        stamp(f"→ {r.method} {r.url}")

    def on_finished(r):
        response = r.response()
        took = time.monotonic() - started.get(id(r), t0)
        stamp(f"← {response.status if response else '?'} {r.method} {r.url} ({took * 1000:.0f} ms)")

    page.on("request", on_request)
    page.on("requestfinished", on_finished)
    page.on("requestfailed", lambda r: stamp(f"✗ {r.method} {r.url}: {r.failure}"))
    page.on("console", lambda m: stamp(f"console.{m.type}: {m.text}"))
    page.on("pageerror", lambda e: stamp(f"page error: {e}"))
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    journal = getattr(item, "page_journal", None)
    if report.when == "call" and report.failed and journal:
        report.sections.append(("page journal (last 200 events)", "\n".join(journal[-200:])))
    return report
