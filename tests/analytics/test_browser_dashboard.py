"""The manager dashboard in Chromium, in English and 简体中文: the manager opens it from the
header on a 1024-px tablet (the header stays one row), both charts are drawn on their canvases,
axe finds nothing serious (with the charts' tables open), and the repurchase tile opens the
clients behind it, as many as the tile says. The owner's header fits too."""

import os
import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from analytics import rollups
from tests.analytics.test_dashboard import today, visit
from tests.axe import assert_no_serious_violations
from tests.browser import login_in
from tests.customers.factories import CustomerFactory

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# How many non-transparent pixels a canvas has: more than its axes means bars and lines.
INK = """(id) => {
  const c = document.getElementById(id);
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
  return n;
}"""


@pytest.fixture
def history(location):
    """Three returning clients (two visit days each) and four who came once, in the last 30 days."""
    t = today()
    for i in range(3):
        c = CustomerFactory(name=f"回头客{i}", created_at=datetime(2024, 1, 1, 9).astimezone())
        visit(c, location, t - timedelta(days=40 + i), "100")
        visit(c, location, t - timedelta(days=20 - i), "180")
        visit(c, location, t - timedelta(days=4 + i), "220")
    for i in range(4):
        c = CustomerFactory(name=f"新客{i}", created_at=datetime(2024, 1, 1, 9).astimezone())
        visit(c, location, t - timedelta(days=2 + 5 * i), "90")
    rollups.rebuild()  # what compute_analytics does nightly: the tiles read the roll-ups


def _header_fits(page, name: str, width: int = 1024) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    assert page.locator("nav.navbar").bounding_box()["height"] < 70, name


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_manager_reads_the_dashboard_and_opens_the_repurchase_clients(
    live_server, page, manager, owner, history, settings, lang
):
    settings.OTP_REQUIRED_ROLES = []
    page.set_viewport_size({"width": 1024, "height": 768})
    login_in(page, live_server, "manager", lang)
    page.click("[data-nav=dashboard]")
    expect(page.locator("#kpi-tiles")).to_be_visible()
    _header_fits(page, f"dashboard-manager-{lang}")
    for chart in ("chart-trend", "chart-funnel"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", "true")
        assert page.evaluate(INK, chart) > 2000, chart
    assert page.locator('[data-figure="visits"] .kpi-value').inner_text() == "10"
    tile = page.locator('[data-figure="repurchase_rate"]')
    expect(tile.locator("[data-part]")).to_have_attribute("data-part", "3")
    page.click("#trend-details summary")
    page.click("#funnel-details summary")
    expect(page.locator("#trend-table")).to_be_visible()
    assert_no_serious_violations(page, f"dashboard-{lang}")
    page.screenshot(path=SHOTS + f"/dashboard-{lang}-1024.png", full_page=True)

    tile.locator("a").click()
    expect(page.locator("#clients-count")).to_have_attribute("data-count", "3")
    expect(page.locator("#clients-table tbody tr")).to_have_count(3)
    expect(page.locator("#clients-table tbody")).to_contain_text("回头客0")
    _header_fits(page, f"dashboard-clients-{lang}")
    assert_no_serious_violations(page, f"dashboard-clients-{lang}")
    page.screenshot(path=SHOTS + f"/dashboard-clients-{lang}-1024.png", full_page=True)

    # the owner: more header entries and the location switcher, still one row
    login_in(page, live_server, "owner", lang)
    page.click("[data-nav=dashboard]")
    expect(page.locator("#chart-funnel")).to_have_attribute("data-drawn", "true")
    page.screenshot(path=SHOTS + f"/dashboard-owner-{lang}-1024.png")
    widths = {}
    for width in (1024, 1100, 1180, 1279, 1280, 1366, 1439, 1440):
        page.set_viewport_size({"width": width, "height": 768})
        page.wait_for_timeout(100)  # the charts follow the new width
        clip = {"x": 0, "y": 0, "width": width, "height": 60}
        page.screenshot(path=SHOTS + f"/dashboard-owner-header-{lang}-{width}.png", clip=clip)
        widths[width] = (
            page.evaluate("document.documentElement.scrollWidth"),
            page.locator("nav.navbar").bounding_box()["height"],
        )
    print("owner header", lang, widths)
    for width, (scroll, height) in widths.items():
        assert scroll <= width and height < 70, (width, scroll, height)


@pytest.fixture
def breakdown_history(location, history, stylist, other_stylist):
    """The history's visits as sale lines (cuts and colours by two stylists), the stylists' hours
    and a booking each: the breakdowns and utilisation have bars."""
    from datetime import time

    from appointments.models import Appointment, AppointmentItem, Visit, VisitLine, WorkingHours
    from tests.analytics.test_dashboard import SHANGHAI
    from tests.appointments.factories import ServiceCategoryFactory, ServiceFactory

    cut = ServiceFactory(name="Cut 剪发", category=ServiceCategoryFactory(name="Hair 美发"))
    colour = ServiceFactory(name="Colour 染发", category=ServiceCategoryFactory(name="Colour 染色"))
    for i, sale in enumerate(Visit.objects.order_by("pk")):
        service, who = (cut, stylist) if i % 3 else (colour, other_stylist)
        VisitLine.objects.create(
            visit=sale, kind="service", service=service, staff=who, description=service.name,
            unit_price=sale.total, amount=sale.total,
        )  # fmt: skip
    for who in (stylist, other_stylist):
        for d in range(7):
            WorkingHours.objects.create(staff=who, location=location, weekday=d, start=time(10), end=time(19))
    t = today()
    for k, who in enumerate((stylist, other_stylist)):
        start = datetime.combine(t - timedelta(days=3), time(11 + k), SHANGHAI)
        a = Appointment.objects.create(
            customer=CustomerFactory(),
            location=location,
            status="completed",
            start=start,
            end=start + timedelta(hours=2),
        )
        AppointmentItem.objects.create(
            appointment=a, service=cut, staff=who, start=start, end=start + timedelta(hours=2),
            busy_until=start + timedelta(hours=2), price=100,
        )  # fmt: skip
    rollups.rebuild()
    return {"cut": cut}


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_a_breakdown_row_opens_the_visits_behind_it(
    live_server, page, manager, breakdown_history, settings, lang
):
    settings.OTP_REQUIRED_ROLES = []
    page.set_viewport_size({"width": 1280, "height": 900})
    login_in(page, live_server, "manager", lang)
    page.click("[data-nav=dashboard]")
    for chart in ("chart-by-service", "chart-by-category", "chart-by-stylist", "chart-utilisation"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", "true")
        assert page.evaluate(INK, chart) > 1500, chart
    for details in ("by-service", "by-category", "by-stylist", "utilisation"):
        page.click(f"#{details}-details summary")
    expect(page.locator("#by-service-table")).to_be_visible()
    assert page.locator("#reconcile-total").get_attribute("data-total") == page.locator(
        '[data-figure="revenue"] .kpi-value'
    ).get_attribute("data-value")
    assert_no_serious_violations(page, f"dashboard-breakdowns-{lang}")
    page.locator("#breakdowns-title").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS + f"/dashboard-breakdowns-{lang}-1280.png", full_page=True)

    # the cut's row: its 7 lines (the history's visits but every third) on the visits list
    row = page.locator("#by-service-table tbody tr", has_text="Cut 剪发")
    lines = int(row.locator("td").first.inner_text())
    row.locator("a").click()
    expect(page).to_have_url(re.compile(r"/dashboard/visits/\?service="))
    expect(page.locator("#visits-count")).to_have_attribute("data-count", str(lines))
    expect(page.locator("#visits-table tbody tr")).to_have_count(lines)
    _header_fits(page, f"dashboard-visits-{lang}", 1280)
    assert_no_serious_violations(page, f"dashboard-visits-{lang}")
    page.screenshot(path=SHOTS + f"/dashboard-visits-{lang}-1280.png", full_page=True)

    # a bar of the chart opens the same kind of list
    page.go_back()
    expect(page.locator("#chart-by-stylist")).to_have_attribute("data-drawn", "true")
    box = page.locator("#chart-by-stylist").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    expect(page).to_have_url(re.compile(r"/dashboard/visits/\?staff="))

    # the bookings behind the no-show tile read as well
    page.goto(f"{live_server.url}/dashboard/visits/?kind=no_show")
    expect(page.locator("#visits-table")).to_be_visible()
    assert_no_serious_violations(page, f"dashboard-no-shows-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_manager_lands_on_the_dashboard_and_opens_a_cohorts_clients(
    live_server, page, manager, history, settings, lang
):
    """After login the manager is on the dashboard (their home page); the cohort chart and the
    tier chart are drawn; a cohort's number opens as many clients; the header still fits."""
    settings.OTP_REQUIRED_ROLES = []
    page.set_viewport_size({"width": 1280, "height": 900})
    login_in(page, live_server, "manager", lang)
    expect(page.locator("#dashboard-cohorts")).to_be_visible()
    assert page.url.endswith("/dashboard/")
    _header_fits(page, f"dashboard-home-{lang}", 1280)
    for chart in ("chart-cohorts", "chart-tiers"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", "true")
    assert page.evaluate(INK, "chart-cohorts") > 2000
    page.click("#tiers-details summary")
    assert_no_serious_violations(page, f"dashboard-cohorts-{lang}")
    page.locator("#dashboard-cohorts").screenshot(path=SHOTS + f"/dashboard-cohorts-{lang}-1280.png")
    page.screenshot(path=SHOTS + f"/dashboard-home-{lang}-1280.png", full_page=True)

    link = page.locator("#cohorts-table td[data-size] a").last
    size = link.inner_text()
    link.click()
    expect(page.locator("#clients-count")).to_have_attribute("data-count", size)
    expect(page.locator("#clients-table tbody tr")).to_have_count(int(size))
    assert "metric=cohort&cohort=" in page.url
    assert_no_serious_violations(page, f"dashboard-cohort-clients-{lang}")

    # Today is still one click away
    page.click("[data-nav=today]")
    assert page.url.endswith("/today/")

    # the client list, filtered by class (a select above the list)
    page.goto(f"{live_server.url}/customers/?class=value-vip")
    vips = page.locator("#client-list tbody tr[data-customer]").count()
    page.goto(f"{live_server.url}/customers/?class=value-regular")
    expect(page.locator("#client-filter-class")).to_have_value("value-regular")
    assert page.locator("#client-list tbody tr[data-customer]").count() == 7 - vips > 0
    assert_no_serious_violations(page, f"clients-class-{lang}")
    page.screenshot(path=SHOTS + f"/clients-class-filter-{lang}-1280.png", full_page=True)
