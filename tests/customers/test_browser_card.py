"""Browser: a stylist opens 张三's card on a 1024×768 tablet and sees a masked phone and the
red allergy warning; without bookings, the header's walk-in adds a client card in a modal dialog."""

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import StaffMemberFactory
from tests.browser import login as _login
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory, TagFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_stylist_sees_masked_phone_and_red_allergy_warning(live_server, page, stylist):
    zhang = CustomerFactory(
        name="张三",
        phone="+8613800138000",
        allergies="对 PPD 染发剂过敏 (PPD hair-dye allergy)",
        preferred_staff=stylist,
        skin_type="sensitive",
        hair_type="fine",
        preferences="喜欢安静 · likes it quiet",
        tags=[TagFactory(name="VIP", colour="#d4a017"), TagFactory(name="敏感肌", colour="#dc3545")],
    )
    FormulaFactory(customer=zhang, stylist=stylist, shades=[("7/1", 30), ("8/0", 15)])
    PatchTestFactory(customer=zhang, product="Wella Koleston (PPD)", result="failed")
    page.set_viewport_size({"width": 1024, "height": 768})
    _login(page, live_server, "stylist")
    page.goto(f"{live_server.url}/customers/{zhang.pk}/")
    expect(page.locator("#client-name")).to_have_text("张三")
    expect(page.locator("#client-phone")).to_contain_text("138****8000")
    expect(page.locator("#client-phone")).not_to_contain_text("0013")
    warning = page.locator("#safety-warnings")
    expect(warning).to_contain_text("对 PPD 染发剂过敏")
    # Red: Bootstrap's danger alert, and the warning sits above the contact section.
    r, g, b = (int(v) for v in warning.evaluate("el => getComputedStyle(el).color")[4:-1].split(",")[:3])
    assert r > 2 * g and r > 2 * b, (r, g, b)  # red text (Bootstrap's danger alert)
    assert warning.bounding_box()["y"] < page.locator("#contact").bounding_box()["y"]
    page.screenshot(path="test-results/customers-card-stylist-tablet.png", full_page=False)


def test_without_bookings_the_header_adds_a_client_card_in_a_modal_dialog(live_server, page, location):
    """Where the desk cannot book (no location here; or the appointments pages are not installed)
    the header's walk-in adds a client card: a modal dialog with a backdrop, which Esc closes.
    (With bookings it is the one walk-in flow: tests/appointments/test_browser_card_and_dialog.py.)"""
    StaffMemberFactory(user__username="desk", role="receptionist", locations=[])
    _login(page, live_server, "desk")
    page.click("#quick-add-button")
    dialog = page.locator("#quick-add-dialog")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("d => d.matches(':modal')")  # showModal(): the page behind is inert
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.click("#quick-add-button")
    dialog.locator("#id_name").fill("Emily Clark")
    dialog.locator("#id_phone").fill("139 1234 5678")
    page.screenshot(path="test-results/customers-quick-add.png")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#client-name")).to_have_text("Emily Clark")
    expect(page.locator("#client-phone")).to_contain_text("139 1234 5678")
