"""The desk's daily summary and a stylist's "my stats" in Chromium, in English and 简体中文: the
receptionist opens the summary from the Today page (axe-clean, one-row header at 1024 px, the
header gone when printed); the stylist opens their own figures the same way."""

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from appointments.line_kinds import CheckoutLine
from appointments.services import BookingItem, PaymentIn, appointment_book, visit_checkout
from tests.appointments import fixtures_core
from tests.axe import assert_no_serious_violations
from tests.browser import login_in

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def day_of_work(salon, reception, on_the_day):
    """DAY: a cut and a tip for the stylist (cash 100 + WeChat Pay 150); the client books again
    for the next day at 10:00, a colour with the other stylist."""
    visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        lines=[
            CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist),
            CheckoutLine(kind="tip", unit_price=Decimal("50"), staff=salon.stylist),
        ],
        discount=Decimal("0"),
        payments=[PaymentIn("cash", Decimal("100.00")), PaymentIn("wechat_pay", Decimal("150.00"))],
    )
    tomorrow = fixtures_core.DAY + timedelta(days=1)
    return appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(service=salon.colour, staff=salon.other_stylist, start=salon.at(10, day=tomorrow))
        ],
        source="front_desk",
        booked_by=reception.user,
    )


def _fits_1024(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024, name
    assert page.locator("nav.navbar").bounding_box()["height"] < 70, name


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_desk_prints_its_day_and_the_stylist_reads_their_own_figures(
    live_server, page, salon, day_of_work, settings, lang
):
    settings.OTP_REQUIRED_ROLES = []
    page.set_viewport_size({"width": 1024, "height": 768})
    login_in(page, live_server, "reception", lang)
    _fits_1024(page, "today-desk")
    page.click("#link-daily-summary")
    expect(page.locator("#summary-day")).to_contain_text(fixtures_core.DAY.isoformat())
    expect(page.locator("[data-figure=visits] p.fs-4")).to_have_text("1")
    expect(page.locator("[data-figure=revenue] p.fs-4")).to_contain_text("250.00")
    expect(page.locator("#takings [data-method=wechat_pay]")).to_contain_text("150.00")
    expect(page.locator("#takings [data-method=cash]")).to_contain_text("100.00")
    expect(page.locator("#takings [data-method=total]")).to_contain_text("250.00")
    expect(page.locator("#summary-tips")).to_contain_text("50.00")
    expect(page.locator("#tomorrow-count")).to_have_text("1")
    row = page.locator(f'#tomorrow [data-appointment="{day_of_work.pk}"]')
    expect(row).to_contain_text("10:00")
    expect(row).to_contain_text("张三")
    expect(row).to_contain_text("Colour")
    expect(row).to_contain_text(salon.other_stylist.display_name)
    if lang == "zh-hans":
        expect(page.locator("h1")).to_contain_text("每日汇总")
        expect(page.locator("#takings [data-method=wechat_pay]")).to_contain_text("微信支付")
    _fits_1024(page, "daily-summary")
    assert_no_serious_violations(page, f"desk-daily-summary-{lang}")
    page.screenshot(path=f"{SHOTS}/desk-daily-summary-{lang}.png", full_page=True)
    expect(page.locator("#summary-print")).to_have_attribute("data-print", "")
    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.locator("#summary-print")).to_be_hidden()
    page.screenshot(path=f"{SHOTS}/desk-daily-summary-print-{lang}.png", full_page=True)
    page.emulate_media(media="screen")
    # the previous day: nothing taken
    page.click("#summary-prev")
    expect(page.locator("[data-figure=visits] p.fs-4")).to_have_text("0")

    login_in(page, live_server, "stylist", lang)
    _fits_1024(page, "today-stylist")
    expect(page.locator("#link-daily-summary")).to_have_count(0)
    page.click("#link-my-stats")
    expect(page.locator("[data-figure=revenue] p.fs-4")).to_contain_text("250.00")
    expect(page.locator("[data-figure=tips]")).to_contain_text("50.00")
    expect(page.locator("[data-figure=visits] p.fs-4")).to_have_text("1")
    expect(page.locator("[data-figure=clients] p.fs-4")).to_have_text("1")
    # booked again that day, for the next: one of one
    expect(page.locator("[data-figure=rebooking_rate] p.fs-4")).to_contain_text("100")
    expect(page.locator("[data-figure=csat] p.fs-4")).to_have_text("—")
    page.fill("#id_start", "garbage")
    page.click("#stats-period-show")
    expect(page.locator("#stats-period [role=alert]")).to_be_visible()
    _fits_1024(page, "my-stats")
    page.locator("#stats-definitions summary").click()
    assert_no_serious_violations(page, f"desk-my-stats-{lang}")
    page.screenshot(path=f"{SHOTS}/desk-my-stats-{lang}.png", full_page=True)
