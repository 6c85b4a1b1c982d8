"""Browser (Chromium at 390×844, a client's phone; the desk at 1366×768): online booking without
dead ends (issue 9, item 3). The day picker opens on the first day with free time and skips the
stylist's days off, an empty day offers the next free one, the change/cancel cut-off is told
before booking, a booking inside it says "call the salon"; a stranger's name with a client's
phone does not land on that client's record, and the desk attaches or separates it from Today.

The live server runs on the real clock: the data is chosen relative to today at the salon (the
stylist is off today and tomorrow, the cut-off is 48 hours so that any time tomorrow is inside
it and any time from the day after next on is outside), so the tests pass at any hour."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, OnlineClientCheck, WorkingHours
from customers.models import Customer
from salon_crm import dates
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory
from tests.browser import login as _login

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
PHONE = "+8613700001234"
salon = fixtures_core.salon
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(salon, settings):
    settings.BOOKING_ONLINE_CUTOFF_HOURS = 48
    salon.location.phone = "021-6288 0000"
    salon.location.save(update_fields=["phone"])
    return salon


def _today(salon):
    return timezone.now().astimezone(salon.location.tz).date()


def _phone(page):
    page.set_viewport_size({"width": 390, "height": 844})


def _cell(page, day):
    return page.locator(f'#online-days [data-date="{day.isoformat()}"]')


def test_day_picker_next_available_and_the_cutoff_on_a_phone(live_server, page, shop):
    today = _today(shop)
    # the stylist does not work today nor tomorrow (their weekdays)
    off = [today, today + timedelta(days=1)]
    WorkingHours.objects.filter(staff=shop.stylist, weekday__in=[d.weekday() for d in off]).delete()
    _phone(page)
    page.goto(f"{live_server.url}/book/{shop.location.code}/")
    page.click(f"#online-services a[href='?service={shop.cut.pk}']")
    page.click(f"#online-stylists a[href='?service={shop.cut.pk}&staff={shop.stylist.pk}']")

    # the picker opens on the first day with free time: the day after tomorrow
    first_free = today + timedelta(days=2)
    expect(page.locator("#online-day")).to_contain_text(first_free.isoformat())
    expect(_cell(page, first_free)).to_have_attribute("aria-current", "date")
    for day in (*off, today + timedelta(days=7), today + timedelta(days=8)):  # their days off
        expect(_cell(page, day)).to_have_class("day-cell is-full")
        expect(page.locator(f'#online-days a[data-date="{day.isoformat()}"]')).to_have_count(0)
    expect(page.locator("#online-slots a", has_text="09:00")).to_be_visible()
    page.screenshot(path=SHOTS + "/online-picker-first-free-day.png", full_page=True)

    # an empty day (an old link to tomorrow) offers the next available day
    page.goto(page.url.split("&date=")[0] + f"&date={off[1].isoformat()}")
    expect(page.locator("#no-time")).to_contain_text("No free time on this day.")
    page.screenshot(path=SHOTS + "/online-empty-day-next-available.png", full_page=True)
    page.click("#next-available")
    expect(page.locator("#online-day")).to_contain_text(first_free.isoformat())
    expect(page.locator("#online-slots a").first).to_be_visible()

    # a day outside the 48-hour cut-off: the details step tells the cut-off before booking
    later = today + timedelta(days=3)
    _cell(page, later).click()
    expect(page.locator("#online-day")).to_contain_text(later.isoformat())
    page.locator("#online-slots a", has_text="10:00").click()
    expect(page.locator("#cutoff-note")).to_contain_text(
        "You can change or cancel online until 48 hours before the start"
    )
    page.screenshot(path=SHOTS + "/online-details-cutoff.png", full_page=True)

    # tomorrow with the other stylist is inside the cut-off: told before, "call" after booking
    page.goto(
        f"{live_server.url}/book/{shop.location.code}/?service={shop.cut.pk}&staff={shop.other_stylist.pk}"
    )
    _cell(page, off[1]).click()
    page.locator("#online-slots a", has_text="10:00").click()
    note = page.locator("#cutoff-note")
    expect(note).to_contain_text("less than 48 hours away")
    expect(note.locator("a[href='tel:021-6288 0000']")).to_be_visible()
    page.fill("#id_name", "赵六")
    page.fill("#id_phone", "13700009999")
    page.screenshot(path=SHOTS + "/online-details-inside-cutoff.png", full_page=True)
    page.click("#online-book")
    expect(page.locator("#booked-ok")).to_be_visible()
    call = page.locator("#manage-call")
    expect(call).to_contain_text("cannot be changed or cancelled online")
    expect(call.locator("a[href='tel:021-6288 0000']")).to_be_visible()
    expect(page.locator("#manage-cancel")).to_have_count(0)
    expect(page.locator("#booked-ok")).not_to_contain_text("Keep this page")
    page.screenshot(path=SHOTS + "/online-confirmation-inside-cutoff.png", full_page=True)
    assert Appointment.objects.get().customer.name == "赵六"

    # the same picker in Chinese: weekday columns, the day as 12月4日 周五 (salon_crm.dates)
    page.goto(f"{live_server.url}/book/{shop.location.code}/?service={shop.cut.pk}&staff={shop.stylist.pk}")
    page.click("#language-switch [data-lang='zh-hans']")
    label = dates.day_label(first_free, "zh-hans", shop.location.tz)
    expect(page.locator("#online-day")).to_have_text(label)
    expect(page.locator(".day-head")).to_contain_text("周一")
    page.screenshot(path=SHOTS + "/online-picker-zh.png", full_page=True)


def _book_as(page, live_server, shop, day, hour, name):
    page.goto(
        f"{live_server.url}/book/{shop.location.code}/"
        f"?service={shop.cut.pk}&staff={shop.other_stylist.pk}&date={day.isoformat()}"
    )
    page.locator("#online-slots a", has_text=hour).click()
    page.fill("#id_name", name)
    page.fill("#id_phone", "137 0000 1234")  # Li Mei's phone
    page.click("#online-book")
    expect(page.locator("#booked-ok")).to_be_visible()


def test_a_strangers_name_with_a_clients_phone_is_held_for_the_desk(live_server, page, shop, reception):
    li_mei = CustomerFactory(name="Li Mei", phone=PHONE)
    day = _today(shop) + timedelta(days=4)
    # on a phone: two strangers give Li Mei's phone
    _phone(page)
    _book_as(page, live_server, shop, day, "10:00", "Wang Fang")
    expect(page.locator("#manage-summary")).not_to_contain_text("Li Mei")
    page.screenshot(path=SHOTS + "/online-held-confirmation.png", full_page=True)
    _book_as(page, live_server, shop, day, "14:00", "Zhang Wei")
    # neither landed on Li Mei's record
    assert li_mei.appointments.count() == 0
    assert set(Appointment.objects.values_list("customer__name", "customer__phone")) == {
        ("Wang Fang", None),
        ("Zhang Wei", None),
    }

    # at the desk: the Today page lists both, Li Mei's card shows neither
    page.set_viewport_size({"width": 1366, "height": 768})
    _login(page, live_server, "reception")
    page.goto(f"{live_server.url}/customers/{li_mei.pk}/")
    expect(page.locator("body")).not_to_contain_text("Wang Fang")
    page.goto(f"{live_server.url}/")
    held = page.locator("#held-list")
    expect(held.locator("tbody tr")).to_have_count(2)
    expect(held).to_contain_text("137 0000 1234")
    page.screenshot(path=SHOTS + "/desk-today-held-bookings.png", full_page=True)

    # Wang Fang is Li Mei after all (a new name): attach
    row = held.locator("tr", has_text="Wang Fang")
    row.get_by_role("button", name="Same client: attach to Li Mei").click()
    expect(page.locator("main > .alert-success")).to_contain_text(
        "Wang Fang's online booking is now on Li Mei's card."
    )
    expect(page.locator("#held-list tbody tr")).to_have_count(1)
    # Zhang Wei is someone else, who gives their own phone
    row = page.locator("#held-list tr", has_text="Zhang Wei")
    row.locator("summary").click()
    row.get_by_label("Their own phone (optional)").fill("136 0000 2222")
    page.screenshot(path=SHOTS + "/desk-today-held-separate.png", full_page=True)
    row.get_by_role("button", name="Keep Zhang Wei as a new client").click()
    expect(page.locator("main > .alert-success")).to_contain_text(
        "Zhang Wei's online booking stays on a client of its own."
    )
    expect(page.locator("#held-panel")).to_have_count(0)

    assert [a.start.astimezone(shop.location.tz).hour for a in li_mei.appointments.all()] == [10]
    zhang = Customer.objects.get(name="Zhang Wei")
    assert (str(zhang.phone), zhang.appointments.count()) == ("+8613600002222", 1)
    assert set(OnlineClientCheck.objects.values_list("status", flat=True)) == {"attached", "separate"}


def test_a_code_by_sms_proves_the_phone_and_books_onto_its_client(live_server, page, shop, settings):
    """ONLINE_BOOKING_PHONE_CODE on: "Send me a code", the code from the SMS, and the booking
    goes on Li Mei's file although another name was typed."""
    import re

    from messaging import dispatch
    from messaging.channels import local

    settings.ONLINE_BOOKING_PHONE_CODE = True
    local.outbox.clear()
    li_mei = CustomerFactory(name="Li Mei", phone=PHONE)
    day = _today(shop) + timedelta(days=4)
    _phone(page)
    page.goto(
        f"{live_server.url}/book/{shop.location.code}/"
        f"?service={shop.cut.pk}&staff={shop.other_stylist.pk}&date={day.isoformat()}"
    )
    page.locator("#online-slots a", has_text="11:00").click()
    page.fill("#id_name", "Mei")  # how she signs her messages, not the name on file
    page.fill("#id_phone", "137 0000 1234")
    page.click("#send-code")
    expect(page.locator("#code-status")).to_have_text("We sent a 6-digit code to your phone. Type it below.")
    dispatch.dispatch_pass()
    [sms] = [m for m in local.outbox if m.kind == "phone_code"]
    page.fill("#id_code", re.search(r"\b(\d{6})\b", sms.body).group(1))
    page.screenshot(path=SHOTS + "/online-phone-code.png", full_page=True)
    from tests.axe import assert_no_serious_violations

    assert_no_serious_violations(page, "online-phone-code")
    page.click("#online-book")
    expect(page.locator("#booked-ok")).to_be_visible()
    assert list(Appointment.objects.values_list("customer", flat=True)) == [li_mei.pk]
    assert not OnlineClientCheck.objects.exists()
