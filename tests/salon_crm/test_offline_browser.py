"""Issue 16, item 6, in Chromium: the desk opens the day calendar, the service worker keeps the
day and today's cards; the connection drops (context.set_offline); the calendar and a card still
read, with the offline banner and every write disabled; a page that is not kept shows the
offline page; the connection comes back and the banner goes; logging out leaves no copy. A
stylist keeps their own day and their own clients' cards. axe runs on the offline page and on a
page read from the copy, in English and 简体中文. Screenshots: test-results/offline-*.png."""

import os

import pytest
from playwright.sync_api import expect

from appointments.services import BookingItem, appointment_book, appointment_check_in
from customers.models import AccessLog
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory
from tests.axe import assert_no_serious_violations
from tests.browser import login, login_in
from tests.customers.factories import PatchTestFactory

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READY_MS = 30_000


def _book(salon, customer, staff, hour):
    return appointment_book(
        customer=customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=staff, start=salon.at(hour))],
        source="front_desk",
        booked_by=None,
        override_reason="asked at the desk",
    )


@pytest.fixture
def day(salon, on_the_day, reception):
    """08:00 on DAY: 张三 (PPD allergy, failed patch test) has arrived for a cut at 10:00 with the
    stylist; 李四 at 11:00 with the other stylist; 王五 is not booked today."""
    zhang = salon.customer
    zhang.allergies = "对 PPD 染发剂过敏 (PPD hair-dye allergy)"
    zhang.save()
    PatchTestFactory(customer=zhang, product="Wella Koleston (PPD)", result="failed")
    arrived = appointment_check_in(
        appointment=_book(salon, zhang, salon.stylist, 10), by=reception.user, override_reason="here"
    )
    li = _book(salon, CustomerFactory(name="李四"), salon.other_stylist, 11).customer
    wang = CustomerFactory(name="王五")
    return {"zhang": zhang, "li": li, "wang": wang, "arrived": arrived}


def _wait_until_kept(page) -> None:
    """The worker answered the page's sync: today's pages and cards are in the cache."""
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "ok", timeout=READY_MS)


def _cached_paths(page) -> list[str]:
    return page.evaluate(
        """async () => {
            const names = (await caches.keys()).filter(n => n.startsWith('salon-offline-'));
            const out = [];
            for (const name of names) {
              for (const r of await (await caches.open(name)).keys()) out.push(new URL(r.url).pathname + new URL(r.url).search);
            }
            return out.sort();
        }"""
    )


def _post_controls_disabled(page) -> dict:
    """Per form that posts (the logout form apart), whether every control is disabled."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('form[method=post]:not([data-offline-logout])'))
                .map(f => [f.getAttribute('action') || f.id, Array.from(f.elements).every(e => e.disabled)])"""
    )


def _assert_offline_page_state(page) -> None:
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("#offline-banner")).to_contain_text("You are offline")
    assert page.evaluate("document.documentElement.hasAttribute('data-offline-copy')")
    forms = _post_controls_disabled(page)
    assert forms and all(disabled for _action, disabled in forms), forms


def test_the_desk_reads_the_day_and_todays_cards_offline(live_server, page, salon, day):
    url = live_server.url
    zhang, li, wang = day["zhang"], day["li"], day["wang"]
    login(page, live_server, "reception")
    page.goto(f"{url}/calendar/")
    _wait_until_kept(page)
    kept = _cached_paths(page)
    for path in ("/calendar/", "/calendar/?date=2027-01-06", "/today/", "/", "/offline/",
                 f"/customers/{zhang.pk}/", f"/customers/{li.pk}/"):  # fmt: skip
        assert path in kept, (path, kept)
    assert f"/customers/{wang.pk}/" not in kept
    assert any(p.startswith("/static/css/app.css") for p in kept), kept
    # the cards were kept, not opened: one offline_copy row each, no view
    assert sorted(AccessLog.objects.values_list("customer__name", "action")) == [
        ("张三", "offline_copy"),
        ("李四", "offline_copy"),
    ]

    page.context.set_offline(True)
    page.reload()
    expect(page.locator(".appt[data-appointment]")).to_have_count(2)
    _assert_offline_page_state(page)
    for button in ("#quick-add-button", "#walk-in-btn", "#waitlist-btn"):  # dialogs that write
        expect(page.locator(button)).to_be_disabled()
    page.screenshot(path=f"{SHOTS}/offline-desk-calendar.png")
    # a free slot opens no booking dialog
    page.locator(f'.cal-col[data-staff="{salon.stylist.pk}"] .cal-slot[data-time="15:00"]').click()
    expect(page.locator("#dialog #book-form")).to_have_count(0)

    page.goto(f"{url}/customers/{zhang.pk}/")
    expect(page.locator("#client-name")).to_have_text("张三")
    expect(page.locator("#safety-warnings")).to_contain_text("PPD")
    _assert_offline_page_state(page)
    page.screenshot(path=f"{SHOTS}/offline-desk-card.png", full_page=True)
    assert_no_serious_violations(page, "offline-card-en")
    # a write sent anyway is answered by the worker, never queued
    answer = page.evaluate(
        "url => fetch(url, {method: 'POST'}).then(async r => [r.status, await r.json()])",
        f"/customers/{zhang.pk}/edit/",
    )
    assert answer == [503, {"detail": "offline"}]

    # a page that is not kept: the offline page, listing what is
    page.goto(f"{url}/customers/{wang.pk}/")
    expect(page.locator("#offline-page h1")).to_have_text("Available offline")
    expect(page.locator("#offline-pages a")).to_have_text(["Today", "Calendar"])
    expect(page.locator("#offline-cards a")).to_have_text(["张三", "李四"])
    expect(page.locator("#offline-banner")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/offline-page.png", full_page=True)

    # back online: the copy gives way to the live page, the banner goes, writes come back
    page.goto(f"{url}/customers/{zhang.pk}/")
    expect(page.locator("#offline-banner")).to_be_visible()
    page.context.set_offline(False)
    expect(page.locator("#offline-banner")).to_be_hidden()
    page.wait_for_load_state("load")
    assert not page.evaluate("document.documentElement.hasAttribute('data-offline-copy')")
    assert not any(disabled for _action, disabled in _post_controls_disabled(page))
    assert AccessLog.objects.filter(customer=zhang, action="view_file").count() == 1  # opened live

    # logging out leaves nothing behind
    page.locator("form[data-offline-logout] button[type=submit]").click()
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate("caches.keys()") == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0


def test_a_stylist_keeps_their_own_day(live_server, page, salon, day):
    url = live_server.url
    page.set_viewport_size({"width": 1024, "height": 768})
    login(page, live_server, "stylist")
    page.goto(f"{url}/my-day/")
    _wait_until_kept(page)
    kept = _cached_paths(page)
    assert f"/customers/{day['zhang'].pk}/" in kept
    assert f"/customers/{day['li'].pk}/" not in kept  # the other stylist's client
    assert "/my-day/" in kept and "/calendar/" not in kept

    page.context.set_offline(True)
    page.reload()
    item = day["arrived"].items.get()
    expect(page.locator(f"#item-{item.pk}")).to_contain_text("张三")
    _assert_offline_page_state(page)
    expect(page.locator(f"#start-{item.pk}")).to_be_visible()  # the Start confirmation (warnings)
    page.screenshot(path=f"{SHOTS}/offline-stylist-my-day.png")
    page.locator(f"#item-{item.pk} a.my-day-client").click()
    expect(page.locator("#client-name")).to_have_text("张三")
    _assert_offline_page_state(page)
    page.screenshot(path=f"{SHOTS}/offline-stylist-card.png")
    page.goto(f"{url}/customers/{day['li'].pk}/")  # not theirs: not kept
    expect(page.locator("#offline-page")).to_be_visible()
    expect(page.locator("#offline-cards a")).to_have_text(["张三"])
    # logging out offline: this browser's copy goes at once, the logout when the line is back
    page.locator("form[data-offline-logout] button[type=submit]").click()
    expect(page.locator("#offline-logged-out")).to_be_visible()
    expect(page.locator("#offline-banner")).to_be_hidden()
    assert page.evaluate("caches.keys()") == []
    page.context.set_offline(False)  # ... and the logout is sent when the connection is back
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_axe_on_the_offline_page_and_a_kept_page(live_server, page, salon, day, lang):
    login_in(page, live_server, "reception", lang)
    page.goto(f"{live_server.url}/calendar/")
    _wait_until_kept(page)
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator("#offline-cards a")).to_have_count(2)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert_no_serious_violations(page, f"offline-page-{lang}")
    page.goto(f"{live_server.url}/calendar/")
    expect(page.locator("#offline-banner")).to_be_visible()
    assert_no_serious_violations(page, f"offline-calendar-{lang}")
    page.screenshot(path=f"{SHOTS}/offline-calendar-{lang}.png")
    page.context.set_offline(False)
