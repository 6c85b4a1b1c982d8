"""Issue 9, items 1 and 2 in Chromium. A client with a PPD allergy and a failed patch test,
booked for colour today: the badge on the calendar block and on the stylist's day (1024×768 and
768×1024, touch), Start asks for a reason at the chair, the service record shows the red banner
and wants a reason for a colour formula. A start in the past is refused in the booking dialog
(a manager gets "Record a past visit"); the stylist's day has previous / today / next.

The clock is fixed for the server too (the live server runs in this process): the tests never
depend on the hour they run. Screenshots go to test-results/."""

import os
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentStatus
from appointments.services import BookingItem, appointment_book, appointment_check_in
from customers.models import SafetyOverride
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ServiceFactory
from tests.appointments.fixtures_core import DAY
from tests.browser import login as _login
from tests.customers.factories import PatchTestFactory

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
salon = fixtures_core.salon
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _clock(monkeypatch, salon, hour, minute=0):
    moment = salon.at(hour, minute).astimezone(UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture
def coloured(monkeypatch, salon, reception):
    """09:05 on DAY. 王红 (PPD allergy, failed patch test) is booked for a permanent colour at
    10:00 with the stylist and has arrived; 李四 has a cut at 11:00 with the other stylist."""
    _clock(monkeypatch, salon, 9, 5)
    permanent = ServiceFactory(
        name="Permanent colour", duration_minutes=60, requires_patch_test=True, locations=[salon.location]
    )
    wang = CustomerFactory(name="王红", phone="+8613900001111", allergies="PPD (hair dye)")
    PatchTestFactory(customer=wang, product="Koleston 7/1", result="failed")
    appointment = appointment_book(
        customer=wang,
        location=salon.location,
        items=[BookingItem(service=permanent, staff=salon.stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=reception.user,
        override_reason="will ask the stylist",
    )
    appointment_book(
        customer=CustomerFactory(name="李四"),
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.other_stylist, start=salon.at(11))],
        source="front_desk",
        booked_by=None,
    )
    return appointment_check_in(appointment=appointment, by=reception.user, override_reason="client is here")


def _tablet(browser, live_server, username, width, height):
    """A touch tablet logged in as `username` (through the form, at 1024 wide: the header's menu
    collapses below that), then turned to width × height."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True, locale="en-US")
    page = context.new_page()
    _login(page, live_server, username)
    page.set_viewport_size({"width": width, "height": height})
    return context, page


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (768, 1024)])
def test_ppd_client_is_marked_everywhere_and_start_asks_for_a_reason(
    live_server, browser, salon, reception, coloured, width, height
):
    size = f"{width}x{height}"
    item = coloured.items.get()
    # the desk's calendar: the block carries the badge, with words for screen readers
    context, page = _tablet(browser, live_server, "reception", width, height)
    page.goto(f"{live_server.url}/calendar/?date={DAY.isoformat()}")
    block = page.locator(f'.appt[data-appointment="{coloured.pk}"]')
    expect(block.locator(".appt-safety")).to_be_visible()
    expect(block.locator(".appt-safety .visually-hidden")).to_have_text(
        "Safety check needed: Allergy on file; The last patch test had a reaction"
    )
    expect(page.locator(".appt", has_text="李四").locator(".appt-safety")).to_have_count(0)
    page.screenshot(path=f"{SHOTS}/safety-calendar-{size}.png")
    context.close()

    # the stylist's day: badge and the red banner with the words
    context, page = _tablet(browser, live_server, "stylist", width, height)
    page.goto(f"{live_server.url}/my-day/")
    row = page.locator(f'[data-item="{item.pk}"]')
    expect(row.locator(".safety-badge")).to_be_visible()
    banner = row.locator(f'[data-safety-for="{item.pk}"]')
    expect(banner).to_contain_text("Allergy on file: PPD (hair dye)")
    expect(banner).to_contain_text("The last patch test (Koleston 7/1) had a reaction.")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=f"{SHOTS}/safety-my-day-{size}.png", full_page=True)

    # Start asks for a reason first (the field takes the focus); an empty one is not sent
    page.locator(f"#start-{item.pk}").tap()
    reason = page.locator(f"#start-reason-{item.pk}")
    expect(reason).to_be_visible()
    expect(reason).to_be_focused()
    page.screenshot(path=f"{SHOTS}/safety-start-asks-{size}.png", full_page=True)
    page.locator(f"#start-confirm-{item.pk}").tap()
    assert Appointment.objects.get(pk=coloured.pk).status == AppointmentStatus.ARRIVED
    reason.fill("PPD-free colour, client agreed")
    page.locator(f"#start-confirm-{item.pk}").tap()
    expect(page.locator(".alert-success", has_text="Started: 王红.")).to_be_visible()
    assert Appointment.objects.get(pk=coloured.pk).status == AppointmentStatus.IN_SERVICE
    override = SafetyOverride.objects.get(context="start")
    assert (override.user.username, override.reason) == ("stylist", "PPD-free colour, client agreed")

    # the service record: the red banner at the top, and a formula needs its own reason
    page.locator(f'[data-item="{item.pk}"] a', has_text="Finish").tap()
    expect(page.locator("#safety-warnings")).to_contain_text("Allergy on file: PPD (hair dye)")
    warning_top = page.locator("#safety-warnings").bounding_box()["y"]
    assert warning_top < page.locator("#id_notes").bounding_box()["y"]
    page.fill("#id_formula_brand", "Wella")
    page.fill("#id_formula_shades", "7/1 30")
    page.locator("#record-submit").tap()
    expect(page.locator("#formula-safety")).to_contain_text(
        "Give a reason to record colour without a valid patch test."
    )
    page.screenshot(path=f"{SHOTS}/safety-service-record-{size}.png", full_page=True)
    page.fill("#id_override_reason", "PPD-free Koleston Naturals, client agreed")
    page.locator("#record-submit").tap()
    expect(page.locator("#my-day-date")).to_contain_text(DAY.isoformat())
    assert SafetyOverride.objects.filter(context="service record").count() == 1
    context.close()


def test_booking_dialog_refuses_a_past_start_and_a_manager_records_a_past_visit(
    live_server, page, monkeypatch, settings, salon, reception, manager
):
    settings.OTP_REQUIRED_ROLES = []
    _clock(monkeypatch, salon, 10, 7)
    page.set_viewport_size({"width": 1366, "height": 768})

    def open_dialog_at_nine():
        page.goto(f"{live_server.url}/calendar/?date={DAY.isoformat()}")
        page.click(f'.cal-col[data-staff="{salon.stylist.pk}"] .cal-slot[data-time="09:00"]')
        dialog = page.locator("#dialog")
        expect(dialog.locator("#book-form")).to_be_visible()
        expect(dialog.locator("#client-lookup")).to_be_focused()  # the dialog is open and wired
        dialog.locator("#client-lookup").press_sequentially("张三")
        dialog.locator(f'[data-pick-customer="{salon.customer.pk}"]').click()
        dialog.locator("#id_items-0-service").select_option(str(salon.cut.pk))
        return dialog

    _login(page, live_server, "reception")
    dialog = open_dialog_at_nine()
    expect(dialog.locator("#record-past-box")).to_have_count(0)
    dialog.locator("#book-submit").click()
    expect(page.locator("#form-errors")).to_contain_text(
        "2027-01-06 09:00 has already passed (it is now 2027-01-06 10:07 at 静安店). Choose a later time."
    )
    page.screenshot(path=f"{SHOTS}/time-past-start-refused-1366.png")
    assert not Appointment.objects.exists()

    page.context.clear_cookies()
    _login(page, live_server, "manager")
    dialog = open_dialog_at_nine()
    expect(dialog.locator("#record-past-box")).to_be_visible()
    dialog.locator("#id_record_past").check()
    page.screenshot(path=f"{SHOTS}/time-record-past-visit-1366.png")
    dialog.locator("#book-submit").click()
    expect(page.locator("#book-form")).to_have_count(0)
    expect(page.locator(".appt", has_text="张三")).to_have_count(1)
    assert Appointment.objects.get().start == salon.at(9)


def test_my_day_moves_between_days_and_start_keeps_the_day(
    live_server, browser, monkeypatch, salon, reception
):
    _clock(monkeypatch, salon, 9, 5)
    for day, name in ((DAY, "今天的客人"), (DAY + timedelta(days=1), "明天的客人")):
        appointment_book(
            customer=CustomerFactory(name=name),
            location=salon.location,
            items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(10, day=day))],
            source="front_desk",
            booked_by=None,
        )
    today = Appointment.objects.get(customer__name="今天的客人")
    appointment_check_in(appointment=today, by=reception.user)
    context, page = _tablet(browser, live_server, "stylist", 768, 1024)
    page.goto(f"{live_server.url}/my-day/?date={DAY.isoformat()}")
    expect(page.locator("#my-day-date")).to_contain_text(DAY.isoformat())
    nav = page.locator("#my-day-nav a")
    for n in range(3):
        box = nav.nth(n).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box  # touch targets
    page.locator("#my-day-next").tap()
    expect(page.locator("#my-day-date")).to_contain_text((DAY + timedelta(days=1)).isoformat())
    expect(page.locator("#my-day")).to_contain_text("明天的客人")
    page.screenshot(path=f"{SHOTS}/time-my-day-next-768x1024.png", full_page=True)
    page.locator("#my-day-today").tap()
    expect(page.locator("#my-day-date")).to_contain_text(DAY.isoformat())
    page.locator("#my-day-prev").tap()
    expect(page.locator("#my-day-date")).to_contain_text((DAY - timedelta(days=1)).isoformat())
    expect(page.locator("#my-day")).to_contain_text("No appointments on this day.")
    page.locator("#my-day-today").tap()
    # Start (no warnings: one tap) comes back to the same day
    page.locator(f"#start-{today.items.get().pk}").tap()
    expect(page.locator(".alert-success", has_text="Started: 今天的客人.")).to_be_visible()
    assert page.url.endswith(f"/my-day/?date={DAY.isoformat()}")
    page.screenshot(path=f"{SHOTS}/time-my-day-started-768x1024.png", full_page=True)
    context.close()
