"""Browser (Chromium, 1366×768, the front desk): the client card as the desk's starting point and
the quick booking and walk-in dialogs (issue 9, items 4 and 5). Each flow counts its clicks and
keystrokes; the counts go to test-results/desk-interaction-counts.json (the issue's figures).

The salon's clock is the real one here (a live server): the location's time zone is chosen so
that it is about noon there now, whatever the hour the test runs, inside opening hours."""

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentStatus
from appointments.services import CheckoutLine, PaymentIn, visit_checkout
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory
from tests.browser import login as _login

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
COUNTS = os.path.join(SHOTS, "desk-interaction-counts.json")
salon = fixtures_core.salon
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Desk:
    """The receptionist's hands: every click and every key press counted (typing a word is one
    press per character; choosing in a select is two: open it, pick)."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def click(self, selector: str) -> None:
        self.page.locator(selector).first.click()
        self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text, delay=40)
        self.count += len(text)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def choose(self, selector: str, value) -> None:
        self.page.locator(selector).select_option(str(value))
        self.count += 2

    def take(self) -> int:
        n, self.count = self.count, 0
        return n


def _noon_zone() -> str:
    """An Etc/GMT zone where it is now between 12:00 and 12:59 (Etc/GMT-8 is UTC+8)."""
    offset = 12 - datetime.now(UTC).hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _record(counts: dict) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    old = {}
    if os.path.exists(COUNTS):
        with open(COUNTS, encoding="utf-8") as f:
            old = json.load(f)
    with open(COUNTS, "w", encoding="utf-8") as f:
        json.dump({**old, **counts}, f, ensure_ascii=False, indent=1)


@pytest.fixture
def desk_salon(salon, monkeypatch):
    """The salon at noon (its zone), 张三 with a visit six weeks ago and Stylist as preferred."""
    salon.location.time_zone = _noon_zone()
    salon.location.save(update_fields=["time_zone"])
    salon.customer.phone = "+8613800138000"
    salon.customer.preferred_staff = salon.stylist
    salon.customer.save()
    CustomerFactory(name="李四", phone="+8613700137000")
    return salon


def _past_visit(salon, reception, monkeypatch):
    then = timezone.now() - timedelta(days=42)
    with monkeypatch.context() as m:
        m.setattr(timezone, "now", lambda: then)
        visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            lines=[CheckoutLine(kind="service", service=salon.colour, staff=salon.stylist)],
            payments=[PaymentIn("cash", Decimal("680.00"))],
        )


def test_desk_finds_a_client_books_from_the_card_and_checks_in(
    live_server, page, desk_salon, reception, monkeypatch
):
    s = desk_salon
    _past_visit(s, reception, monkeypatch)
    page.set_viewport_size({"width": 1366, "height": 768})
    _login(page, live_server, "reception")
    desk = Desk(page)

    # find a client: `/` from anywhere, two letters, Enter on the single match opens the card
    desk.press("/")
    expect(page.locator("#header-search")).to_be_focused()
    desk.type("zs")
    expect(page.locator("#header-search-results a.search-result[data-customer]")).to_have_count(1)
    desk.press("Enter")
    expect(page.locator("#client-name")).to_have_text("张三")
    find = desk.take()
    summary = page.locator("#card-summary")
    expect(summary.locator("[data-fact=visits] .card-fact-value")).to_have_text("1")
    expect(summary.locator("[data-fact=spend] .card-fact-value")).to_have_text("¥680")
    expect(summary.locator("[data-fact=last_visit] .card-fact-detail")).to_contain_text("42 days ago")
    expect(summary.locator("[data-fact=preferred_stylist] .card-fact-value")).to_have_text(
        s.stylist.display_name
    )
    page.screenshot(path=f"{SHOTS}/desk-card-summary.png")

    # book from the card: Book, a free slot, the service; 张三 is filled in, focus on the service
    desk.click("[data-action=book]")
    expect(page.locator("#booking-for")).to_contain_text("Booking for 张三")
    desk.click(f'.cal-col[data-staff="{s.stylist.pk}"] .cal-slot[data-time="16:00"]')
    dialog = page.locator("#dialog")
    expect(dialog.locator("#book-form")).to_be_visible()
    expect(dialog.locator("#picked-client")).to_have_text("张三")
    expect(dialog.locator("#id_items-0-service")).to_be_focused()
    expect(dialog.locator("#id_items-0-service option", has_text="Colour · 120 min · ¥680")).to_have_count(1)
    expect(dialog.locator("#id_items-1-service")).to_be_hidden()
    expect(dialog.locator("#id_override_reason")).to_be_hidden()  # no warnings, no reason asked
    desk.choose("#id_items-0-service", s.colour.pk)
    book_one = desk.count
    page.screenshot(path=f"{SHOTS}/desk-book-dialog.png")
    # a second service: "Add a service" shows one more row, with the stylist of the row above
    desk.click("#add-service")
    expect(dialog.locator("#id_items-1-service")).to_be_focused()
    expect(dialog.locator("#id_items-1-staff")).to_have_value(str(s.stylist.pk))
    desk.choose("#id_items-1-service", s.cut.pk)
    desk.choose("#id_items-1-staff", s.other_stylist.pk)
    expect(dialog.locator("#id_items-2-service")).to_be_hidden()
    page.screenshot(path=f"{SHOTS}/desk-book-dialog-two-services.png")
    desk.click("#book-submit")
    book_two = desk.take()
    # a clear confirmation, in a live region, and the new blocks on the grid, marked
    toast = page.locator("#flash")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Booked 张三:")
    expect(toast).to_have_attribute("role", "status")
    expect(toast).to_have_attribute("aria-live", "polite")
    expect(page.locator(".appt", has_text="张三")).to_have_count(2)
    expect(page.locator(".appt.appt-new")).to_have_count(1)
    box = toast.bounding_box()
    assert box["x"] + box["width"] <= 1366 and box["y"] + box["height"] <= 768, box
    page.screenshot(path=f"{SHOTS}/desk-booked-toast-and-block.png")

    # a clash names the booking in the way; Esc closes the dialog. (Out of "booking for 张三",
    # where every slot books her: a slot for anyone starts in the client search.)
    page.click("#booking-for .btn-close")
    expect(page.locator("#booking-for")).to_have_count(0)
    desk.take()
    desk.click(f'.cal-col[data-staff="{s.stylist.pk}"] .cal-slot[data-time="15:00"]')
    expect(dialog.locator("#client-lookup")).to_be_focused()  # this slot is for anyone: search first
    desk.type("ls")
    expect(dialog.locator("#lookup-results [data-pick-customer]")).to_have_count(1)
    desk.press("Enter")
    expect(dialog.locator("#picked-client")).to_contain_text("李四")
    expect(dialog.locator("#id_items-0-service")).to_be_focused()
    desk.choose("#id_items-0-service", s.colour.pk)
    desk.click("#book-submit")
    book_from_slot = desk.take()
    expect(dialog.locator("#form-errors")).to_contain_text(
        f"{s.stylist.display_name} is booked 16:00–18:00 (张三)."
    )
    page.screenshot(path=f"{SHOTS}/desk-book-clash.png")
    page.keyboard.press("Escape")
    expect(page.locator("#dialog.show")).to_have_count(0)
    expect(page.locator(".modal-backdrop")).to_have_count(0)

    # check in from the card: the upcoming appointment of today opens its dialog
    desk.press("/")
    desk.type("zs")
    expect(page.locator("#header-search-results a.search-result[data-customer]")).to_have_count(1)
    desk.press("Enter")
    expect(page.locator("#client-name")).to_have_text("张三")
    desk.take()
    row = page.locator("[data-upcoming]").first
    expect(row).to_contain_text("16:00–19:15")
    expect(row).to_contain_text("today")
    desk.click("[data-upcoming-open]")
    expect(page.locator("#appointment-detail")).to_be_visible()
    desk.click("#act-check-in")
    check_in = desk.take()
    expect(page.locator("#flash")).to_contain_text("张三 checked in.")
    expect(page.locator("[data-upcoming] .badge.st-arrived")).to_have_count(1)  # the card refreshed
    page.screenshot(path=f"{SHOTS}/desk-card-checked-in.png")
    assert Appointment.objects.get(customer=s.customer, status=AppointmentStatus.ARRIVED)

    _record(
        {
            "find a client (/ zs Enter)": find,
            "book from the card (Book, slot, service, Book)": book_one + 1,
            "book two services from the card": book_two,
            "book from a slot, client searched (slot, ls, Enter, service, Book)": book_from_slot,
            "check in from the card (after finding the client)": check_in,
        }
    )
    assert (find, book_one + 1, book_two, book_from_slot, check_in) == (4, 5, 10, 7, 2)


def test_one_walk_in_flow_from_the_header(live_server, page, desk_salon, reception):
    s = desk_salon
    CustomerFactory(name="赵六", phone="+8613600136000", allergies="latex")
    page.set_viewport_size({"width": 1366, "height": 768})
    _login(page, live_server, "reception")
    desk = Desk(page)

    # the header's walk-in opens the dialog over the page: a backdrop, Esc closes it
    desk.click("#quick-add-button")
    dialog = page.locator("#dialog")
    expect(dialog.locator("#walk-in-form")).to_be_visible()
    expect(page.locator(".modal-backdrop.show")).to_have_count(1)
    expect(dialog.locator("#client-lookup")).to_be_focused()
    page.screenshot(path=f"{SHOTS}/desk-walk-in-dialog.png")
    page.keyboard.press("Escape")
    expect(page.locator("#dialog.show")).to_have_count(0)
    expect(page.locator(".modal-backdrop")).to_have_count(0)
    expect(page.locator("#quick-add-button")).to_be_focused()  # back where the desk was
    desk.take()

    # a new client: the name typed in the search (nobody found), Enter, the phone, service,
    # stylist, start: checked in and in service
    desk.click("#quick-add-button")
    expect(dialog.locator("#client-lookup")).to_be_focused()
    desk.type("王五")
    expect(dialog.locator("#lookup-results")).to_contain_text("No client found")
    desk.press("Enter")
    expect(dialog.locator("#id_new_name")).to_have_value("王五")
    expect(dialog.locator("#id_new_phone")).to_be_focused()
    desk.type("13912345678")
    desk.choose("#id_service", s.cut.pk)
    desk.choose("#id_staff", s.other_stylist.pk)
    page.screenshot(path=f"{SHOTS}/desk-walk-in-new-client.png")
    desk.click("#walk-in-submit")
    walk_in_new = desk.take()
    expect(page.locator("#flash")).to_contain_text(f"王五 is in service with {s.other_stylist.display_name}.")
    page.screenshot(path=f"{SHOTS}/desk-walk-in-started.png")
    walked = Appointment.objects.get(customer__name="王五")
    assert (walked.status, walked.source) == (AppointmentStatus.IN_SERVICE, "walk_in")

    # an existing client with an allergy: found, the warning shows and the reason is asked
    desk.click("#quick-add-button")
    expect(dialog.locator("#client-lookup")).to_be_focused()
    desk.type("zl")
    expect(dialog.locator("#lookup-results [data-pick-customer]")).to_have_count(1)
    desk.press("Enter")
    expect(dialog.locator("#picked-client")).to_contain_text("赵六")
    # (an allergy is shown as soon as the client is picked, whatever the service: the reason
    # field follows the warnings, so it may already be open here)
    desk.choose("#id_service", s.cut.pk)
    expect(dialog.locator("#safety-box")).to_contain_text("Allergy on file: latex")
    expect(dialog.locator("#id_override_reason")).to_be_visible()
    # the busy stylist is marked in the list
    expect(dialog.locator(f'#id_staff option[value="{s.other_stylist.pk}"]')).to_contain_text("busy until")
    desk.choose("#id_staff", s.stylist.pk)
    desk.click("#id_override_reason")
    desk.type("gloves")
    page.screenshot(path=f"{SHOTS}/desk-walk-in-safety.png")
    desk.click("#walk-in-submit")
    walk_in_warned = desk.take()
    expect(page.locator("#flash")).to_contain_text("赵六 is in service")
    assert Appointment.objects.get(customer__name="赵六").status == AppointmentStatus.IN_SERVICE

    # the header search that finds nobody offers the same walk-in, with what was typed
    page.locator("#header-search").click()
    page.keyboard.type("陈七", delay=40)
    expect(page.locator("#search-no-match")).to_be_visible()
    page.click("#search-quick-add")
    expect(dialog.locator("#walk-in-form")).to_be_visible()
    expect(dialog.locator("#id_new_name")).to_have_value("陈七")
    expect(dialog.locator("#id_new_phone")).to_be_focused()
    page.screenshot(path=f"{SHOTS}/desk-search-no-match-walk-in.png")

    _record(
        {
            "walk-in, new client (header)": walk_in_new,
            "walk-in, client with an allergy (header, reason typed)": walk_in_warned,
        }
    )
    assert walk_in_new == 1 + 2 + 1 + 11 + 2 + 2 + 1
