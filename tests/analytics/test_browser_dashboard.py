"""The manager dashboard in Chromium, in English and 简体中文: the manager opens it from the
header on a 1024-px tablet (the header stays one row), both charts are drawn on their canvases,
axe finds nothing serious (with the charts' tables open), and the repurchase tile opens the
clients behind it, as many as the tile says. The owner's header fits too."""

import os
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
