"""Messaging's pages in Chromium, in English and 中文, with axe-core (no serious or critical
violation): the manager's delivery log (resolving a message in doubt) and template editor, and
the client's pages on a phone (the confirm / cancel link from a reminder, the unsubscribe link).
Screenshots go to test-results/."""

import os
from datetime import UTC

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import AppointmentStatus
from appointments.services import BookingItem, appointment_book
from messaging import dispatch, kinds
from messaging.appointment_messages import appointment_token
from messaging.models import OutboundMessage
from messaging.services import message_enqueue, unsubscribe_url
from tests.appointments import fixtures_core
from tests.axe import assert_no_serious_violations
from tests.browser import login

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
salon = fixtures_core.salon
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = OutboundMessage.Status


@pytest.fixture
def noon(monkeypatch, salon):
    """12:00 at the salon two days before DAY (outside quiet hours, before the bookings)."""
    moment = salon.at(12).astimezone(UTC) - timezone.timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def _language(page, lang: str) -> None:
    if lang == "zh-hans":
        page.click("#language-switch [data-lang=zh-hans]")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_manager_reads_the_log_resolves_a_message_and_edits_a_template(
    live_server, page, salon, manager, noon, lang
):
    booked = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=None,
    )  # a confirmation (sent below) and two reminders (queued)
    quiet = fixtures_core.CustomerFactory(name="Quiet One", phone="+8613800138001", do_not_contact=True)
    message_enqueue(customer=quiet, kind=kinds.THANK_YOU, key="t1", location=salon.location)
    dispatch.dispatch_pass()
    doubtful = message_enqueue(
        customer=salon.customer, kind=kinds.THANK_YOU, key="t2", location=salon.location
    )
    OutboundMessage.objects.filter(pk=doubtful.pk).update(status=S.UNKNOWN, reason="worker stopped")
    assert OutboundMessage.objects.filter(appointment_id=booked.pk).count() == 3

    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, "manager")
    _language(page, lang)
    page.goto(f"{live_server.url}/messages/")
    expect(page.locator("[data-status=unknown]")).to_contain_text("1")
    expect(page.locator("[data-status=suppressed]")).to_contain_text("1")
    expect(page.locator(f"[data-message='{doubtful.pk}']")).to_contain_text(
        "Thank you after a visit" if lang == "en" else "到店后感谢"
    )
    assert_no_serious_violations(page, f"messages-log-{lang}")
    page.screenshot(path=f"{SHOTS}/messages-log-{lang}.png", full_page=True)

    # the message in doubt: the manager checked with the provider, it was sent
    row = page.locator(f"[data-message='{doubtful.pk}']")
    row.locator("input[name=note]").fill("in the provider's log")
    row.locator("button[value=sent]").click()
    expect(page.locator("[data-status=unknown]")).to_contain_text("0")
    doubtful.refresh_from_db()
    assert (doubtful.status, doubtful.resolved_by_id) == (S.SENT, manager.user.pk)

    page.goto(f"{live_server.url}/messages/templates/")
    assert_no_serious_violations(page, f"messages-templates-{lang}")
    page.locator("#template-table a[href*='/messages/templates/']").first.click()
    expect(page.locator("#template-preview")).to_be_visible()
    page.locator("#id_body").fill("{{ salon }}: {{ client_name }}, see you {{ when }}")
    page.click("#template-save")
    expect(page.locator("#template-preview")).to_contain_text("see you")
    assert_no_serious_violations(page, f"messages-template-edit-{lang}")
    page.screenshot(path=f"{SHOTS}/messages-template-edit-{lang}.png", full_page=True)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_client_confirms_from_a_reminder_and_unsubscribes_on_a_phone(live_server, page, salon, noon, lang):
    salon.customer.language = lang
    salon.customer.consent_email = True
    salon.customer.save()
    booked = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=None,
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/m/a/{appointment_token(booked)}/")
    expect(page.locator("body")).to_contain_text("Asia/Shanghai")
    expect(page.locator("html")).to_have_attribute("lang", lang)  # the message's language
    assert_no_serious_violations(page, f"message-link-{lang}")
    page.screenshot(path=f"{SHOTS}/message-link-{lang}.png", full_page=True)
    page.click("#link-confirm")
    expect(page.locator("#link-confirmed")).to_be_visible()
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CONFIRMED

    page.goto(unsubscribe_url(salon.customer, "email").replace("http://127.0.0.1:8000", live_server.url))
    assert_no_serious_violations(page, f"unsubscribe-{lang}")
    page.click("#unsubscribe-confirm")
    expect(page.locator("#unsubscribed")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/unsubscribe-done-{lang}.png", full_page=True)
    salon.customer.refresh_from_db()
    assert salon.customer.consent_email is False
