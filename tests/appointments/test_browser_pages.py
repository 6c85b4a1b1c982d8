"""Browser tests of the front desk and online booking (Chromium through Playwright).
Screenshots go to test-results/ for a human look."""

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, Visit
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory
from tests.appointments.fixtures_core import DAY
from tests.browser import login as _login

# test-results/ by default (pytest-playwright empties it at session start, so a parallel run may
# wipe it: point SCREENSHOTS_DIR elsewhere to keep a run's pictures).
SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reception_books_two_services_checks_in_and_checks_out(
    live_server, page, salon, reception, on_the_day
):
    # (on_the_day: 08:00 on DAY for the server too, which runs in this process: check-in and
    # checkout happen on the appointment's own day)
    page.set_viewport_size({"width": 1366, "height": 900})
    _login(page, live_server, "reception")
    page.goto(f"{live_server.url}/calendar/?date={DAY.isoformat()}")
    # an empty slot of stylist A at 10:00 opens the booking dialog
    page.click(f'.cal-col[data-staff="{salon.stylist.pk}"] .cal-slot[data-time="10:00"]')
    dialog = page.locator("#dialog")
    expect(dialog.locator("#book-form")).to_be_visible()
    expect(dialog.locator("#client-lookup")).to_be_focused()  # the dialog is open and wired
    dialog.locator("#client-lookup").press_sequentially("张三")
    dialog.locator(f'[data-pick-customer="{salon.customer.pk}"]').click()
    expect(dialog.locator("#picked-client")).to_contain_text("张三")
    dialog.locator("#id_items-0-service").select_option(str(salon.colour.pk))
    dialog.locator("#add-service").click()  # one service row to start with
    dialog.locator("#id_items-1-service").select_option(str(salon.cut.pk))
    dialog.locator("#id_items-1-staff").select_option(str(salon.other_stylist.pk))
    page.screenshot(path=SHOTS + "/appointments-book-dialog.png")
    dialog.locator("#book-submit").click()
    # the dialog closes and the grid shows the colour with A and the cut with B, after the
    # colour's 15-minute buffer (the booking service's chaining rule)
    expect(page.locator("#book-form")).to_have_count(0)
    blocks = page.locator(".appt", has_text="张三")
    expect(blocks).to_have_count(2)
    expect(page.locator(f'.cal-col[data-staff="{salon.other_stylist.pk}"] .appt')).to_contain_text(
        "12:15–13:15"
    )
    page.screenshot(path=SHOTS + "/appointments-day-calendar.png")
    # check in from the appointment dialog
    blocks.first.click()
    expect(page.locator("#appointment-detail")).to_be_visible()
    page.screenshot(path=SHOTS + "/appointments-detail-dialog.png")
    page.click("#act-check-in")
    expect(page.locator("#appointment-detail")).to_have_count(0)
    expect(page.locator(".appt.st-arrived")).to_have_count(2)
    # check out: the services and stylists are pre-filled, pay the total in cash
    page.locator(".appt", has_text="张三").first.click()
    page.click("#act-checkout")
    expect(page.locator("#total-net")).to_have_text("880.00")
    page.fill("#id_pay-0-amount", "880.00")
    page.screenshot(path=SHOTS + "/appointments-checkout.png", full_page=True)
    page.click("#checkout-submit")
    # the receipt
    expect(page.locator("#receipt-total")).to_have_text("880.00")
    expect(page.locator("#receipt-time")).to_contain_text("Asia/Shanghai")
    expect(page.locator("#next-visit")).to_be_visible()
    page.screenshot(path=SHOTS + "/appointments-receipt.png", full_page=True)
    visit = Visit.objects.get()
    assert (visit.total, visit.status) == (880, "completed")
    assert Appointment.objects.get().status == "completed"


def test_the_booking_dialog_searches_what_is_typed_the_moment_it_has_the_focus(
    live_server, page, salon, reception
):
    # htmx wires swapped-in content (the lookup's hx-trigger) in its settle step, after the
    # swap: a dialog focused before that took the name typed and never searched (a 30 s wait
    # in a few full-suite runs). A slow settle here makes that window wide every time.
    _login(page, live_server, "reception")
    page.goto(f"{live_server.url}/calendar/?date={DAY.isoformat()}")
    page.evaluate("htmx.config.defaultSettleDelay = 500")
    page.click(f'.cal-col[data-staff="{salon.stylist.pk}"] .cal-slot[data-time="10:00"]')
    dialog = page.locator("#dialog")
    expect(dialog.locator("#client-lookup")).to_be_focused()
    dialog.locator("#client-lookup").press_sequentially("张三")
    expect(dialog.locator(f'[data-pick-customer="{salon.customer.pk}"]')).to_be_visible()


def test_client_books_online_on_a_phone_and_cancels_with_the_link(live_server, page, salon):
    page.set_viewport_size({"width": 390, "height": 844})
    # three days ahead: inside the online window, well before the 24-hour cut-off
    day = (timezone.now().astimezone(salon.location.tz) + timedelta(days=3)).date()
    page.goto(f"{live_server.url}/book/{salon.location.code}/")
    page.click(f"#online-services a[href='?service={salon.cut.pk}']")
    page.click("#any-stylist")
    page.click(f"#online-days a[data-date='{day.isoformat()}']")  # the day picker (issue 9)
    expect(page.locator("#tz-note")).to_contain_text("Asia/Shanghai")
    page.screenshot(path=SHOTS + "/online-slots.png", full_page=True)
    page.locator("#online-slots a", has_text="10:00").click()
    page.fill("#id_name", "赵六")
    page.fill("#id_phone", "13700001234")
    page.check("#id_marketing_consent")
    page.screenshot(path=SHOTS + "/online-details.png", full_page=True)
    page.click("#online-book")
    expect(page.locator("#booked-ok")).to_be_visible()
    expect(page.locator("#manage-summary")).to_contain_text("10:00")
    page.screenshot(path=SHOTS + "/online-confirmation.png", full_page=True)
    manage_url = page.url
    assert re.search(r"/book/manage/[^/]+/", manage_url)
    appointment = Appointment.objects.get()
    assert (appointment.source, appointment.customer.name, appointment.customer.consent_sms) == (
        "online",
        "赵六",
        True,
    )
    # the link cancels
    page.once("dialog", lambda d: d.accept())
    page.click("#manage-cancel")
    expect(page.locator("#manage-status")).to_have_text("Cancelled")
    page.screenshot(path=SHOTS + "/online-cancelled.png", full_page=True)
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_tablet_in_chinese_calendar_and_my_day_fit_1024(live_server, page, salon, reception):
    """1024×768 tablet, 简体中文: the day calendar and the stylist's day fit the width."""
    from appointments.services import BookingItem, appointment_book

    today = timezone.now().astimezone(salon.location.tz).date()
    for n, staff in enumerate((salon.stylist, salon.other_stylist)):
        appointment_book(
            customer=salon.customer if n == 0 else CustomerFactory(name="李四"),
            location=salon.location,
            items=[BookingItem(service=salon.cut, staff=staff, start=salon.at(10 + n, day=today))],
            source="front_desk",
            booked_by=None,
        )
    page.set_viewport_size({"width": 1024, "height": 768})
    _login(page, live_server, "reception")
    page.click("#language-switch [data-lang=zh-hans]")
    page.goto(f"{live_server.url}/calendar/")
    expect(page.locator("h1")).to_have_text("日历")
    expect(page.locator(".appt")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.screenshot(path=SHOTS + "/appointments-day-zh-1024.png")
    page.goto(f"{live_server.url}/")
    expect(page.locator("#appointments-panel")).to_contain_text("张三")
    page.screenshot(path=SHOTS + "/appointments-today-panel-zh-1024.png", full_page=True)
    for name, path in (("week", "/calendar/week/"), ("sale", "/checkout/")):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024, name
        page.screenshot(path=SHOTS + f"/appointments-{name}-zh-1024.png", full_page=True)
    # a product sale: find the client in the page's own lookup, then the lines and totals
    page.fill("#client-lookup", "张三")
    page.click(f'#checkout-lookup [data-pick-customer="{salon.customer.pk}"]')
    expect(page.locator("#checkout-client")).to_have_text("张三")
    # the stylist's tablet
    page.context.clear_cookies()
    _login(page, live_server, "stylist")
    page.click("#language-switch [data-lang=zh-hans]")
    page.goto(f"{live_server.url}/my-day/")
    expect(page.locator("#my-day")).to_contain_text("张三")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.screenshot(path=SHOTS + "/appointments-my-day-zh-1024.png", full_page=True)
