"""Feedback in Chromium: a client answers the survey on a phone with a low score; the manager
finds the new case on the complaint board, gives a coupon and resolves it, and the coupon is on
the client's loyalty panel. The desk logs a complaint and plans a call from the client card; a
stylist records a call. axe-core on every feedback page, in English and 简体中文, and the
header still fits a 1024-px tablet."""

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.line_kinds import CheckoutLine
from appointments.services import PaymentIn, visit_checkout
from feedback import services
from feedback.models import Complaint, FollowUp, Survey
from loyalty.models import Coupon
from tests.appointments import fixtures_core
from tests.axe import assert_no_serious_violations
from tests.browser import login, login_in

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visit(salon, reception, on_the_day):
    """A colour by the salon's stylist (a call on day 3), checked out at the desk: the survey
    and the call are planned by the visit event after the commit."""
    salon.colour.follow_up_days = 3
    salon.colour.save()
    return visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        lines=[CheckoutLine(kind="service", service=salon.colour, staff=salon.stylist)],
        discount=Decimal("0"),
        payments=[PaymentIn("cash", Decimal("680.00"))],
    )


def test_a_low_score_on_a_phone_reaches_the_board_and_is_resolved_with_a_coupon(
    live_server, page, salon, visit, manager, settings
):
    settings.OTP_REQUIRED_ROLES = []
    survey = Survey.objects.get(visit=visit)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/s/{services.survey_token(survey)}/")
    expect(page.locator("h1")).to_have_text("How was your visit?")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_no_serious_violations(page, "feedback-survey-phone")
    page.click("label[for=csat-2]")
    page.click("label[for=nps-3]")
    page.click("label[for=tag-waiting]")
    page.fill("#id_comment", "Waited forty minutes.")
    page.screenshot(path=SHOTS + "/feedback-survey-phone.png", full_page=True)
    page.click("#survey-submit")
    expect(page.locator("#survey-thanks")).to_contain_text("contact you")
    case = Complaint.objects.get(survey=survey)
    assert case.category == "waiting" and case.owner == manager.user

    page.set_viewport_size({"width": 1366, "height": 900})
    login(page, live_server, "manager")
    page.click("[data-nav=feedback]")
    page.click("#feedback-tabs >> text=Complaints")
    card = page.locator(f'[data-complaint="{case.pk}"]')
    expect(card).to_have_attribute("data-sla", "ok")
    expect(card).to_contain_text("张三")
    assert_no_serious_violations(page, "feedback-board")
    page.screenshot(path=SHOTS + "/feedback-board.png", full_page=True)
    card.locator("a").click()
    expect(page.locator("#complaint-description")).to_contain_text("Waited forty minutes.")
    page.select_option("#id_comp-kind", "coupon")
    page.fill("#id_comp-value", "50")
    page.click("#complaint-compensate-submit")
    expect(page.locator("#complaint-compensation")).to_contain_text("50.00")
    page.select_option("#id_status-status", "resolved")
    page.click("#complaint-status-submit")
    expect(page.locator(".text-danger").first).to_be_visible()  # a resolution is needed
    page.select_option("#id_status-status", "resolved")
    page.fill("#id_status-resolution", "Apologised; a coupon for the next visit.")
    page.click("#complaint-status-submit")
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "resolved")
    expect(page.locator("#complaint-timeline [data-action=compensated]")).to_have_count(1)
    assert_no_serious_violations(page, "feedback-complaint")
    page.screenshot(path=SHOTS + "/feedback-complaint.png", full_page=True)
    coupon = Coupon.objects.get(customer=salon.customer, kind="complaint")
    page.click(f"a[href$='/customers/{salon.customer.pk}/']")
    expect(page.locator(f'#loyalty [data-coupon="{coupon.code}"]')).to_be_visible()
    expect(page.locator('#timeline [data-kind="complaint"]')).to_contain_text("Resolved")


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_desk_and_a_stylist_work_the_calls_and_every_page_passes_axe(
    live_server, page, salon, visit, reception, manager, settings, lang, monkeypatch
):
    settings.OTP_REQUIRED_ROLES = []
    answered = Survey.objects.get(visit=visit)
    services.survey_answer(survey=answered, csat=5, nps=10, stylist_rating=5, comment="Lovely")
    # the desk logs a complaint from the card, and plans a call
    page.set_viewport_size({"width": 1366, "height": 900})
    login_in(page, live_server, "reception", lang)
    page.goto(f"{live_server.url}/customers/{salon.customer.pk}/")
    page.click("[data-action=complaint_new]")
    dialog = page.locator("#dialog")
    expect(dialog.locator("#complaint-new-form")).to_be_visible()
    dialog.locator("#id_source").select_option("phone")
    dialog.locator("#id_category").select_option("skill")
    dialog.locator("#complaint-new-submit").click()
    expect(dialog.locator("#id_description:invalid")).to_have_count(1)  # the browser asks what happened
    assert not Complaint.objects.exists()
    assert_no_serious_violations(page, f"feedback-complaint-dialog-{lang}")
    dialog.locator("#id_description").fill("Uneven fringe.")
    dialog.locator("#complaint-new-submit").click()
    expect(page.locator("#feedback [data-complaint]")).to_have_count(1)  # the card refreshed
    page.click("[data-action=follow_up_new]")
    expect(dialog.locator("#follow-up-new-form")).to_be_visible()
    dialog.locator("#id_purpose").fill("Is the fringe better?")
    assert_no_serious_violations(page, f"feedback-follow-up-dialog-{lang}")
    dialog.locator("#follow-up-new-submit").click()
    expect(page.locator("#feedback [data-follow-up]")).to_have_count(2)
    assert_no_serious_violations(page, f"feedback-card-{lang}")
    page.goto(f"{live_server.url}/")
    expect(page.locator("#feedback-panel")).to_be_visible()
    assert_no_serious_violations(page, f"feedback-today-{lang}")
    # the manager's pages, on a 1024-px tablet: the header stays one row
    page.set_viewport_size({"width": 1024, "height": 768})
    login_in(page, live_server, "manager", lang)
    for name, path in (
        ("inbox", "/feedback/inbox/?start=2027-01-01&end=2027-01-31"),
        ("results", "/feedback/results/?start=2027-01-01&end=2027-01-31"),
        ("board", "/feedback/complaints/"),
        ("complaint", f"/feedback/complaints/{Complaint.objects.get().pk}/"),
        ("calls", "/feedback/follow-ups/?show=all"),
    ):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024, name
        assert page.locator("nav.navbar").bounding_box()["height"] < 70, name
        assert_no_serious_violations(page, f"feedback-{name}-{lang}")
        page.screenshot(path=SHOTS + f"/feedback-{name}-{lang}-1024.png", full_page=True)
    # the stylist's call, three days later: no answer, then a happy client
    call = FollowUp.objects.get(visit=visit)
    later = salon.at(10, day=call.due_on)
    monkeypatch.setattr(timezone, "now", lambda: later)
    page.set_viewport_size({"width": 1024, "height": 768})
    login_in(page, live_server, "stylist", lang)
    page.goto(f"{live_server.url}/feedback/")
    form = page.locator(f'[data-record="{call.pk}"]')
    form.locator("select[name$=outcome]").select_option("no_answer")
    form.locator("button[type=submit]").click()
    expect(page.locator(f'[data-follow-up="{call.pk}"]')).to_have_count(1)  # tomorrow's list now
    assert_no_serious_violations(page, f"feedback-calls-stylist-{lang}")
    call.refresh_from_db()
    assert call.attempts == 1 and call.due_on == later.date() + timedelta(days=1)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_an_expired_survey_says_so_in_the_clients_language(live_server, page, visit, lang, monkeypatch):
    survey = Survey.objects.get(visit=visit)
    after = survey.expires_at + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: after)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    if lang != "en":
        page.click(f"#language-switch [data-lang={lang}]")
    page.goto(f"{live_server.url}/s/{services.survey_token(survey)}/")
    expect(page.locator("#survey-expired")).to_be_visible()
    assert_no_serious_violations(page, f"feedback-survey-expired-{lang}")
