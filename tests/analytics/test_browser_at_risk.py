"""Issue 14 in Chromium, in English and 简体中文: the dashboard's model section shows the
calibration of the model fitted a quarter ago; the manager opens the clients at risk from it,
reads the reasons of a drifting client, and plans a call with one click (it lands on the
follow-up list); axe finds nothing serious on either page."""

import os
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from analytics import rollups
from feedback.models import FollowUp
from tests.analytics.test_churn_scores import _population, today, visit
from tests.axe import assert_no_serious_violations
from tests.browser import login_in
from tests.customers.factories import CustomerFactory

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_manager_reads_the_calibration_and_calls_a_drifting_client(
    live_server, page, manager, location, other_location, settings, lang
):
    settings.OTP_REQUIRED_ROLES = []
    _population(location, other_location, n=60)
    drifting = CustomerFactory(name="渐行渐远", created_at=datetime(2023, 1, 1, 9).astimezone())
    t = today()
    for days_ago in (400, 380, 360, 340, 250, 130):
        visit(drifting, location, t - timedelta(days=days_ago), "300")
    rollups.rebuild()  # compute_analytics: fit, score, calibrate
    page.set_viewport_size({"width": 1024, "height": 768})  # a tablet
    login_in(page, live_server, "manager", lang)
    page.click("[data-nav=dashboard]")
    expect(page.locator("#churn-deciles tbody tr")).to_have_count(10)
    expect(page.locator("#churn-returning tbody tr").first).to_be_visible()
    page.locator("#dashboard-churn").scroll_into_view_if_needed()
    assert_no_serious_violations(page, f"dashboard-churn-{lang}")
    page.locator("#dashboard-churn").screenshot(path=SHOTS + f"/dashboard-churn-{lang}.png")

    page.click("#at-risk-link")
    row = page.locator(f'#at-risk-table tr[data-customer="{drifting.pk}"]')
    expect(row).to_be_visible()
    expect(row.locator('[data-reason="visits_spreading_out"]')).to_be_visible()
    expect(row.locator('[data-reason="overdue"]')).to_be_visible()
    assert_no_serious_violations(page, f"at-risk-{lang}")
    page.screenshot(path=SHOTS + f"/at-risk-{lang}.png", full_page=False)
    row.locator('[data-action="call"]').click()
    expect(page.locator(".alert-success[role=alert]")).to_contain_text("渐行渐远")
    assert FollowUp.objects.filter(customer=drifting, status=FollowUp.Status.OPEN).count() == 1
