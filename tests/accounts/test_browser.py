import pytest
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reception_logs_in_sees_navigation_and_switches_to_chinese(live_server, page, reception, stylist):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "reception")
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#nav-items [data-nav=today]")).to_have_text("Today")
    expect(page.locator("#team")).to_contain_text(stylist.display_name)
    expect(page.locator("#nav-items [data-nav=settings]")).to_have_count(0)
    page.click("#language-switch [data-lang=zh-hans]")
    expect(page.locator("#nav-items [data-nav=today]")).to_have_text("今天")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.screenshot(path="test-results/reception-home-zh.png", full_page=True)
