"""Loyalty in Chromium: reception checks out a visit paid partly by stored value, partly by
points and the rest in cash, and the receipt shows the balances after it; a manager adjusts
points from the client card; the owner's loyalty settings. axe-core on each page, in English
and 简体中文."""

import os
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from appointments.models import Visit
from loyalty import services
from loyalty.models import CustomerPackage
from tests.axe import assert_no_serious_violations
from tests.browser import login
from tests.loyalty.conftest import account, package_line, topup

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login_in(page, live_server, username: str, lang: str) -> None:
    """Choose the language on the login page (a cookie), then log in through the form."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    if lang != "en":
        page.click(f"#language-switch [data-lang={lang}]")
        expect(page.locator("html")).to_have_attribute("lang", lang)
    login(page, live_server, username)


def test_reception_pays_with_a_package_session_stored_value_and_points_and_the_receipt_shows_the_balances(
    live_server, page, salon, sell, rules, plan, reception, manager
):
    sell(lines=[topup("500.00")], pay=[("cash", "500.00")])  # ¥500 paid + ¥30 bonus
    sell(lines=[package_line(plan)], pay=[("card", "2000.00")])  # Colour ×5 (earns 2,000 points)
    services.points_adjust(customer=salon.customer, points=6000, reason="welcome", by=manager.user)
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, "reception")
    page.goto(f"{live_server.url}/checkout/?customer={salon.customer.pk}")
    # what the client can pay with is on the page
    balances = page.locator("#checkout-balances")
    expect(balances).to_contain_text("8,000 points = ¥80.00")
    expect(balances).to_contain_text("¥530.00 (500.00 paid + 30.00 bonus)")
    expect(balances).to_contain_text("Colour ×5: 5 of 5 sessions left, until 2027-07-05")
    # a colour and a cut
    page.get_by_label("Service, line 1").select_option(str(salon.colour.pk))
    page.get_by_label("Stylist, line 1").select_option(str(salon.stylist.pk))
    page.get_by_label("Service, line 2").select_option(str(salon.cut.pk))
    page.get_by_label("Stylist, line 2").select_option(str(salon.other_stylist.pk))
    expect(page.locator("#id_pay-0-amount")).to_have_value("880.00")
    # the colour from the package, ¥120 from the card, the rest (¥80) in points
    page.get_by_label("Method, payment 1").select_option("package")
    page.get_by_label("Amount (CNY), payment 1").fill("680")
    page.keyboard.press("Tab")
    expect(page.locator("#id_pay-1-amount")).to_have_value("200.00")
    page.get_by_label("Method, payment 2").select_option("stored_value")
    page.get_by_label("Amount (CNY), payment 2").fill("120")
    page.keyboard.press("Tab")
    expect(page.locator("#id_pay-2-amount")).to_have_value("80.00")
    page.get_by_label("Method, payment 3").select_option("points")
    expect(page.locator("#total-left")).to_have_text("0.00")
    page.screenshot(path=SHOTS + "/loyalty-checkout-mixed-payment.png", full_page=True)
    assert_no_serious_violations(page, "loyalty-checkout")
    page.click("#checkout-submit")
    # the receipt: a session used (4 left), 8,000 points used and 120 earned on the ¥120 paid
    # from the card (package sessions and points earn nothing), the card's ¥120 drawn in
    # proportion (¥6.79 of it bonus)
    expect(page.locator("#receipt-total")).to_have_text("880.00")
    receipt = page.locator("#receipt-balances")
    expect(receipt.locator("tr", has_text="Package Colour ×5")).to_contain_text("4 of 5 sessions left")
    expect(receipt.locator("tr", has_text="Points used")).to_contain_text("8,000")
    expect(receipt.locator("tr", has_text="Points earned")).to_contain_text("120")
    expect(receipt.locator("tr", has_text="Points balance")).to_contain_text("120")
    expect(receipt).to_contain_text("¥410.00 (386.79 paid + 23.21 bonus)")
    page.screenshot(path=SHOTS + "/loyalty-receipt.png", full_page=True)
    assert_no_serious_violations(page, "loyalty-receipt")
    visit = Visit.objects.get(lines__kind="service", lines__service=salon.cut)
    assert sorted((p.method, p.amount) for p in visit.payments.all()) == [
        ("package", Decimal("680.00")),
        ("points", Decimal("80.00")),
        ("stored_value", Decimal("120.00")),
    ]
    acc = account(salon.customer)
    assert (acc.points, acc.principal, acc.bonus) == (120, Decimal("386.79"), Decimal("23.21"))
    assert CustomerPackage.objects.get().sessions_left == 4


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_manager_adjusts_points_on_the_card_and_the_owner_sets_the_rules(
    live_server, page, salon, sell, manager, owner, lang, settings
):
    settings.OTP_REQUIRED_ROLES = []
    sell(pay=[("cash", "200.00")])
    page.set_viewport_size({"width": 1366, "height": 900})
    _login_in(page, live_server, "manager", lang)
    page.goto(f"{live_server.url}/customers/{salon.customer.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#loyalty")).to_be_visible()
    expect(page.locator('[data-fact="points"]')).to_contain_text("200")
    assert_no_serious_violations(page, f"loyalty-card-{lang}")
    page.click('[data-action="points_adjust"]')
    dialog = page.locator("#dialog")
    expect(dialog.locator("#points-adjust-form")).to_be_visible()
    expect(dialog.locator("#id_points")).to_be_focused()
    dialog.locator("#id_points").fill("-300")
    dialog.locator("#id_reason").fill("typo")
    dialog.locator("#points-adjust-submit").click()
    expect(dialog.locator("#points-adjust-form .text-danger")).to_be_visible()  # only 200 left
    assert_no_serious_violations(page, f"loyalty-adjust-dialog-{lang}")
    dialog.locator("#id_points").fill("50")
    dialog.locator("#points-adjust-submit").click()
    expect(page.locator("#points-adjust-form")).to_have_count(0)
    # the card refreshes its figures and the ledger without a reload
    expect(page.locator('[data-fact="points"]')).to_contain_text("250")
    expect(page.locator('#loyalty-history tr[data-kind="adjust"]')).to_contain_text("typo")
    page.screenshot(path=SHOTS + f"/loyalty-card-{lang}.png", full_page=True)
    # the owner's settings page
    _login_in(page, live_server, "owner", lang)
    page.goto(f"{live_server.url}/loyalty/settings/")
    expect(page.locator("#loyalty-settings-form")).to_be_visible()
    assert_no_serious_violations(page, f"loyalty-settings-{lang}")
    page.locator("#id_rules-0-pay_at_least").fill("1000")
    page.locator("#id_rules-0-bonus").fill("100")
    page.click("#loyalty-settings-save")
    expect(page.locator("#id_rules-0-pay_at_least")).to_have_value("1000.00")
    expect(page.locator("#id_rules-0-bonus")).to_have_value("100.00")
    page.screenshot(path=SHOTS + f"/loyalty-settings-{lang}.png", full_page=True)
    assert account(salon.customer).points == 250


def test_the_desk_takes_a_deposit_from_the_appointment_dialog(
    live_server, page, salon, reception, on_the_day
):
    from appointments.services import BookingItem, appointment_book
    from loyalty.models import Deposit, DepositPolicy
    from tests.appointments.fixtures_core import DAY

    DepositPolicy.objects.create(name="Colour", service=salon.colour, kind="fixed", amount=Decimal("100"))
    booked = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=reception.user,
    )
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, "reception")
    page.goto(f"{live_server.url}/calendar/?date={DAY.isoformat()}")
    page.click(f'.appt[data-appointment="{booked.pk}"]')
    panel = page.locator("#deposit-panel")
    expect(panel).to_contain_text("asks for a deposit of 100")
    expect(panel.locator("#id_deposit_amount")).to_have_value("100.00")
    assert_no_serious_violations(page, "loyalty-deposit-dialog")
    panel.locator("#id_deposit_method").select_option("wechat_pay")
    panel.locator("#deposit-take").click()
    expect(page.locator("#deposit-panel")).to_have_count(0)  # the dialog closed
    expect(page.locator("#flash")).to_contain_text("Deposit of 100.00 taken")
    deposit = Deposit.objects.get()
    assert (deposit.amount, deposit.method, deposit.status) == (Decimal("100.00"), "wechat_pay", "held")
    page.click(f'.appt[data-appointment="{booked.pk}"]')
    expect(page.locator('[data-deposit-status="held"]')).to_be_visible()
    page.screenshot(path=SHOTS + "/loyalty-deposit-dialog.png")


def test_a_double_click_on_adjust_adjusts_once_and_the_card_works_at_tablet_width_in_chinese(
    live_server, page, salon, sell, manager, settings
):
    from loyalty.models import PointsEntry

    settings.OTP_REQUIRED_ROLES = []
    sell(pay=[("cash", "200.00")])
    page.set_viewport_size({"width": 1024, "height": 768})
    _login_in(page, live_server, "manager", "zh-hans")
    page.goto(f"{live_server.url}/customers/{salon.customer.pk}/")
    page.click('[data-action="points_adjust"]')
    dialog = page.locator("#dialog")
    expect(dialog.locator("#id_points")).to_be_focused()
    dialog.locator("#id_points").fill("10")
    dialog.locator("#id_reason").fill("生日")
    dialog.locator("#points-adjust-submit").dblclick()
    expect(page.locator('[data-fact="points"]')).to_contain_text("210")
    assert PointsEntry.objects.filter(kind="adjust").count() == 1
    page.screenshot(path=SHOTS + "/loyalty-card-tablet-zh-hans.png", full_page=True)
    assert_no_serious_violations(page, "loyalty-card-tablet-zh-hans")
