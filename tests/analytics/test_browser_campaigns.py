"""A win-back campaign in Chromium, in English and 简体中文 (issue 14, item 5): the manager opens
Campaigns, builds a campaign for dormant high-value clients (stage dormant,
spending score at least 4), previews it (10 reachable, 2 held out), launches it, and the
delivery log shows a message to every client who got the offer and none to the holdout. axe
finds nothing serious on the list, the form, the preview and the results."""

import os

import pytest
from playwright.sync_api import expect

from analytics.models import Campaign, CampaignMember
from messaging.models import OutboundMessage
from tests.analytics.test_campaigns import client, metrics
from tests.axe import assert_no_serious_violations
from tests.browser import login_in

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clients(location):
    """Ten dormant high-value clients (one said no to marketing), three dormant low-value ones
    and two active high-value ones, all at the home location."""
    high = []
    for i in range(11):
        p = client(location, name=f"高价值{i:02d}", consent_sms=i != 10)
        metrics(p, location, last=120, monetary=5 if i % 2 else 4)
        high.append(p)
    for i in range(3):
        metrics(client(location, name=f"低价值{i}"), location, last=120, monetary=1)
    for i in range(2):
        metrics(client(location, name=f"活跃{i}"), location, last=10, monetary=5)
    return high


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_manager_launches_a_winback_campaign_and_the_holdout_gets_nothing(
    live_server, page, manager, clients, settings, lang
):
    settings.OTP_REQUIRED_ROLES = []
    settings.MESSAGING_QUIET_HOURS = ("00:00", "00:00")  # whatever the hour the test runs at
    page.set_viewport_size({"width": 1024, "height": 768})
    login_in(page, live_server, "manager", lang)
    page.goto(f"{live_server.url}/dashboard/campaigns/")
    expect(page.locator("#campaigns-table")).to_be_visible()
    assert_no_serious_violations(page, f"campaigns-{lang}")

    # build: dormant, spending score at least 4, a 50 coupon, a 20% holdout
    page.click("#campaign-new")
    expect(page.locator("#campaign-form")).to_be_visible()
    assert_no_serious_violations(page, f"campaign-form-{lang}")
    page.fill("#id_name", "Dormant high-value 沉睡高价值")
    page.check(f"#field-locations input[value='{manager.locations.get().pk}']")
    page.check("#field-stages input[value=dormant]")
    page.fill("#id_min_monetary_score", "4")
    page.fill("#id_coupon_value", "50")
    page.fill("#id_holdout_share", "0.2")
    page.screenshot(path=SHOTS + f"/campaign-form-{lang}-1024.png", full_page=True)
    page.click("#campaign-save")

    # preview: 11 in the audience, 1 without consent, 10 reachable: 8 get it, 2 held out
    expect(page.locator("#campaign-preview")).to_be_visible()
    for row, n in (("audience", 11), ("no_consent", 1), ("eligible", 10), ("sent", 8), ("holdout", 2)):
        expect(page.locator(f"[data-row={row}] td")).to_have_attribute("data-count", str(n))
    assert_no_serious_violations(page, f"campaign-preview-{lang}")
    page.screenshot(path=SHOTS + f"/campaign-preview-{lang}-1024.png", full_page=True)

    page.click("#campaign-launch")
    expect(page.locator("#campaign-status")).to_have_attribute("data-status", "launched")
    expect(page.locator("#results-table [data-group=sent] [data-members]")).to_have_attribute(
        "data-members", "8"
    )
    expect(page.locator("#results-table [data-group=holdout] [data-members]")).to_have_attribute(
        "data-members", "2"
    )
    assert_no_serious_violations(page, f"campaign-results-{lang}")
    page.screenshot(path=SHOTS + f"/campaign-results-{lang}-1024.png", full_page=True)

    campaign = Campaign.objects.get()
    sent = set(
        CampaignMember.objects.filter(campaign=campaign, group="sent").values_list(
            "customer__name", flat=True
        )
    )
    holdout = set(
        CampaignMember.objects.filter(campaign=campaign, group="holdout").values_list(
            "customer__name", flat=True
        )
    )
    assert len(sent) == 8 and len(holdout) == 2 and "高价值10" not in sent | holdout

    # the delivery log: a message to everyone who got the offer, none to the holdout
    page.click("#campaign-log")
    expect(page.locator("#message-log")).to_be_visible()
    names = page.locator("#message-log tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(n.strip() for n in names) == sorted(sent)
    assert not holdout & {n.strip() for n in names}
    assert not OutboundMessage.objects.filter(customer__name__in=holdout).exists()
    page.screenshot(path=SHOTS + f"/campaign-log-{lang}-1024.png", full_page=True)
