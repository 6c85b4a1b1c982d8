"""Issue 9, items 6 and 9 in Chromium: the checkout's split payment (the next row gets what is
left to pay) and axe-core on the checkout page at 1366×768; the manager's weekly editors of
opening hours and of a stylist's working hours at 1366 and 1024 wide. Screenshots go to
test-results/ for a human look."""

import os
from datetime import UTC, time
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import OpeningHours
from appointments.models import Visit, WorkingHours
from appointments.services import BookingItem, appointment_book, appointment_check_in
from tests.appointments import fixtures_core
from tests.axe import assert_no_serious_violations
from tests.browser import login as _login

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
salon = fixtures_core.salon
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def nine_oclock(monkeypatch, salon):
    """09:00 on DAY at the salon, for the server (the live server runs in this process): the
    appointment is today's, so it may be checked in and out whatever the real clock says."""
    monkeypatch.setattr(timezone, "now", lambda: salon.at(9).astimezone(UTC))


@pytest.fixture
def arrived(salon, reception, nine_oclock):
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10)),
            BookingItem(service=salon.cut, staff=salon.other_stylist, start=salon.at(12, 15)),
        ],
        source="front_desk",
        booked_by=None,
    )
    return appointment_check_in(appointment=appointment, by=reception.user)


def test_split_payment_fills_the_next_row_with_the_rest(live_server, page, salon, reception, arrived):
    page.set_viewport_size({"width": 1366, "height": 768})
    _login(page, live_server, "reception")
    page.goto(f"{live_server.url}/appointments/{arrived.pk}/checkout/")
    expect(page.locator("#total-net")).to_have_text("880.00")
    expect(page.locator("#id_pay-0-amount")).to_have_value("880.00")
    assert_no_serious_violations(page, "checkout")
    # the desk takes 500 in cash: the second row gets the remaining 380
    page.get_by_label("Amount (CNY), payment 1").fill("500")
    page.keyboard.press("Tab")
    expect(page.locator("#id_pay-1-amount")).to_have_value("380.00")
    expect(page.locator("#total-paid")).to_have_text("880.00")  # recomputed with the filled row
    expect(page.locator("#total-left")).to_have_text("0.00")
    page.get_by_label("Method, payment 2").select_option("card")
    # changing the first amount again moves the rest with it (the row was filled by the page)
    page.get_by_label("Amount (CNY), payment 1").fill("600")
    page.keyboard.press("Tab")
    expect(page.locator("#id_pay-1-amount")).to_have_value("280.00")
    expect(page.locator("#total-left")).to_have_text("0.00")
    page.screenshot(path=SHOTS + "/checkout-split-payment-1366.png")
    assert_no_serious_violations(page, "checkout-split")
    page.click("#checkout-submit")
    expect(page.locator("#receipt-total")).to_have_text("880.00")
    visit = Visit.objects.get()
    assert sorted((p.method, p.amount) for p in visit.payments.all()) == [
        ("card", Decimal("280.00")),
        ("cash", Decimal("600.00")),
    ]


def test_walk_in_sale_fills_the_cash_row_as_lines_are_added(live_server, page, salon, reception, nine_oclock):
    page.set_viewport_size({"width": 1366, "height": 768})
    _login(page, live_server, "reception")
    page.goto(f"{live_server.url}/checkout/?customer={salon.customer.pk}")
    page.get_by_label("Service, line 1").select_option(str(salon.cut.pk))
    page.get_by_label("Stylist, line 1").select_option(str(salon.stylist.pk))
    expect(page.locator("#id_pay-0-amount")).to_have_value("200.00")
    page.get_by_label("Service, line 2").select_option(str(salon.colour.pk))
    page.get_by_label("Stylist, line 2").select_option(str(salon.other_stylist.pk))
    expect(page.locator("#id_pay-0-amount")).to_have_value("880.00")
    expect(page.locator("#id_pay-1-amount")).to_have_value("")
    expect(page.locator("#total-left")).to_have_text("0.00")
    page.screenshot(path=SHOTS + "/checkout-walk-in-sale-1366.png", full_page=True)


# ---- settings: opening hours and a stylist's week -------------------------------------------------


def _fill_day(page, day: str, periods: list[tuple[str, str]]) -> None:
    for n, (start, end) in enumerate(periods, start=1):
        page.get_by_label(f"{day}, period {n}, from", exact=True).fill(start)
        page.get_by_label(f"{day}, period {n}, until", exact=True).fill(end)


@pytest.mark.parametrize("width", [1366, 1024])
def test_manager_edits_opening_hours_and_a_stylists_week(live_server, page, salon, manager, width):
    page.set_viewport_size({"width": width, "height": 768})
    _login(page, live_server, "manager")
    page.goto(f"{live_server.url}/settings/")
    page.click(f"#edit-hours-{salon.location.pk}")
    expect(page.locator("#week-grid")).to_be_visible()
    # Monday with a lunch break, Tuesday the same (copied), Sunday closed
    page.get_by_label("Clear Monday: closed").click()
    _fill_day(page, "Monday", [("9:00", "12:00"), ("13:00", "21:00")])
    page.locator('[data-week-day="1"] [data-copy-previous]').click()
    page.get_by_label("Clear Sunday: closed").click()
    page.screenshot(path=SHOTS + f"/settings-opening-hours-{width}.png", full_page=True)
    assert_no_serious_violations(page, f"settings-opening-hours-{width}")
    page.click("#hours-save")
    expect(page.get_by_text(f"Opening hours of {salon.location.name} saved.")).to_be_visible()
    rows = set(OpeningHours.objects.filter(location=salon.location).values_list("weekday", "opens", "closes"))
    assert {
        (0, time(9), time(12)),
        (0, time(13), time(21)),
        (1, time(9), time(12)),
        (1, time(13), time(21)),
    } <= rows
    assert not any(weekday == 6 for weekday, _o, _c in rows)
    page.screenshot(path=SHOTS + f"/settings-page-{width}.png", full_page=True)
    assert_no_serious_violations(page, f"settings-{width}")

    # the stylist's week, from the working hours overview
    page.click(f"#staff-hours-{salon.location.pk}")
    expect(page.locator(f'tr[data-staff="{salon.stylist.pk}"]')).to_contain_text("09:00–21:00")
    page.screenshot(path=SHOTS + f"/settings-hours-overview-{width}.png", full_page=True)
    assert_no_serious_violations(page, f"settings-hours-overview-{width}")
    page.locator(f'tr[data-staff="{salon.stylist.pk}"] a').click()
    expect(page.locator("#working-hours-form")).to_be_visible()
    page.get_by_label("Clear Wednesday: day off").click()
    _fill_day(page, "Wednesday", [("10:00", "14:00"), ("15:00", "19:00")])
    page.get_by_label("Clear Thursday: day off").click()
    page.locator("#id_start_date").fill("2027-01-11")
    page.locator("#id_end_date").fill("2027-01-12")
    page.locator("#id_reason").fill("training")
    page.screenshot(path=SHOTS + f"/settings-staff-week-{width}.png", full_page=True)
    assert_no_serious_violations(page, f"settings-staff-week-{width}")
    page.click("#hours-save")
    expect(page.get_by_text("Working hours saved.")).to_be_visible()
    assert sorted(
        WorkingHours.objects.filter(staff=salon.stylist, weekday__in=[2, 3]).values_list(
            "weekday", "start", "end"
        )
    ) == [(2, time(10), time(14)), (2, time(15), time(19))]
    page.locator("#id_start_date").fill("2027-01-11")
    page.locator("#id_end_date").fill("2027-01-12")
    page.locator("#id_reason").fill("training")
    page.click("#time-off-add")
    expect(page.locator("#time-off-list")).to_contain_text("2027-01-11 – 2027-01-12 whole days")
    expect(page.locator("#time-off-list")).to_contain_text("training")
    page.screenshot(path=SHOTS + f"/settings-staff-week-saved-{width}.png", full_page=True)
