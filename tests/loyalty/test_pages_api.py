"""Loyalty through the pages and the API: the card's panel, the manager's dialogs, the owner's
settings, the checkout page's top-up field and balances, and /api/v1/customers/{id}/loyalty/."""

from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty import services
from loyalty.models import LoyaltySettings, StoredValueEntry, TopUpRule
from tests.loyalty.conftest import account, topup

pytestmark = pytest.mark.django_db


def test_the_card_shows_points_stored_value_and_the_ledger(client_as, salon, sell, rules, reception, manager):
    sell(lines=[topup("1000.00")], pay=[("cash", "1000.00")])
    sell(pay=[("stored_value", "200.00")])
    html = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk])).content.decode()
    assert 'data-fact="points"' in html and "worth ¥2.00" in html  # 200 points earned on the spend
    assert "¥900.00" in html and "818.18 paid + 81.82 bonus" in html
    assert 'data-ledger="stored_value" data-kind="spend"' in html
    assert 'data-action="points_adjust"' not in html  # the desk does not adjust
    html = client_as(manager).get(reverse("customers:detail", args=[salon.customer.pk])).content.decode()
    assert 'data-action="points_adjust"' in html and 'data-action="stored_value_refund"' in html


def test_a_stylist_sees_no_balances(client_as, salon, stylist, sell):
    sell(pay=[("cash", "200.00")])
    response = client_as(stylist).get(reverse("customers:detail", args=[salon.customer.pk]))
    assert "points" not in {f.key for f in response.context["card"].facts}


def test_manager_adjusts_points_in_the_dialog(client_as, salon, manager):
    url = reverse("loyalty:points_adjust", args=[salon.customer.pk])
    client = client_as(manager)
    assert client.get(url).status_code == 200
    response = client.post(url, {"points": "0", "reason": "x"})
    assert response.status_code == 200 and "not zero" in response.content.decode()
    response = client.post(url, {"points": "-5", "reason": "typo"})
    assert "Only 0 points left" in response.content.decode()
    response = client.post(url, {"points": "150", "reason": "apology"})
    assert response.status_code == 204 and "Points adjusted" in response["HX-Trigger"]
    assert account(salon.customer).points == 150


def test_manager_refunds_stored_value_in_the_dialog(client_as, salon, sell, rules, manager):
    sell(lines=[topup("500.00")], pay=[("cash", "500.00")])
    url = reverse("loyalty:stored_value_refund", args=[salon.customer.pk])
    client = client_as(manager)
    response = client.post(url, {"amount": "600", "method": "cash", "reason": "moving"})
    assert "Only ¥" not in response.content.decode() and "500.00 of principal" in response.content.decode()
    response = client.post(url, {"amount": "500", "method": "alipay", "reason": "moving away"})
    assert response.status_code == 204
    acc = account(salon.customer)
    assert (acc.principal, acc.bonus) == (Decimal("0.00"), Decimal("0.00"))
    assert StoredValueEntry.objects.get(kind="refund").refund_method == "alipay"


def test_owner_edits_the_rules_and_bad_values_are_field_errors(client_as, owner):
    url = reverse("loyalty:settings")
    client = client_as(owner)
    assert client.get(url).status_code == 200
    base = {
        "s-points_per_unit": "2",
        "s-points_per_currency_unit": "50",
        "s-points_expiry_months": "24",
        "s-birthday_coupon_value": "88",
        "s-birthday_lead_days": "10",
        "s-no_show_fee": "50",
        "s-late_cancel_fee": "30",
        "rules-TOTAL_FORMS": "1",
        "rules-INITIAL_FORMS": "0",
        "rules-0-pay_at_least": "2000",
        "rules-0-bonus": "300",
        "rules-0-active": "on",
        "tiers-TOTAL_FORMS": "1",
        "tiers-INITIAL_FORMS": "0",
        "tiers-0-name": "金卡",
        "tiers-0-rank": "2",
        "tiers-0-min_spend": "3000",
        "tiers-0-min_visits": "0",
        "tiers-0-discount_percent": "5",
        "tiers-0-points_multiplier": "1.5",
        "tiers-0-benefits": "free wash",
        "tiers-0-active": "on",
    }
    response = client.post(url, {**base, "s-points_per_currency_unit": "0", "rules-0-bonus": "-1"})
    assert response.status_code == 200
    assert response.context["form"].errors["points_per_currency_unit"]
    assert response.context["rules"].forms[0].errors["bonus"]
    assert client.post(url, base).status_code == 302
    settings = LoyaltySettings.current()
    assert (settings.points_per_unit, settings.points_per_currency_unit, settings.updated_by) == (
        Decimal("2.00"),
        50,
        owner.user,
    )
    assert TopUpRule.objects.get().bonus == Decimal("300.00")
    from loyalty.models import MembershipTier

    tier = MembershipTier.objects.get()
    assert (tier.name, tier.discount_percent, tier.points_multiplier) == (
        "金卡",
        Decimal("5.00"),
        Decimal("1.50"),
    )
    # a discount above 50% is a field error, not a 500
    response = client.post(
        url,
        {
            **base,
            "tiers-TOTAL_FORMS": "1",
            "tiers-INITIAL_FORMS": "1",
            "tiers-0-id": tier.pk,
            "tiers-0-discount_percent": "80",
        },
    )
    assert response.status_code == 200 and response.context["tiers"].forms[0].errors["discount_percent"]


def test_checkout_page_sells_a_topup_and_shows_what_the_client_can_pay_with(
    client_as, salon, reception, manager, rules, on_the_day
):
    services.points_adjust(customer=salon.customer, points=1250, reason="welcome", by=manager.user)
    client = client_as(reception)
    url = reverse("appointments:checkout_sale") + f"?customer={salon.customer.pk}"
    html = client.get(url).content.decode()
    assert 'id="checkout-balances"' in html and "1,250 points = ¥12.50" in html
    assert 'name="sell_topup"' in html
    data = {
        "customer": salon.customer.pk,
        "discount": "0",
        "sell_topup": "1000.00",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-quantity": "1",
        "pay-TOTAL_FORMS": "1",
        "pay-INITIAL_FORMS": "0",
        "pay-0-method": "wechat_pay",
        "pay-0-amount": "1000.00",
        "finish": "1",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    acc = account(salon.customer)
    assert (acc.principal, acc.bonus, acc.points) == (Decimal("1000.00"), Decimal("100.00"), 1250)
    receipt = client.get(response["Location"]).content.decode()
    assert "Stored-value top-up (+100.00 bonus)" in receipt
    assert "¥1,100.00 (1,000.00 paid + 100.00 bonus)" in receipt


def test_api_answers_balances_and_takes_adjustments_and_refunds(
    api_as, salon, sell, rules, reception, manager, stylist
):
    sell(lines=[topup("1000.00")], pay=[("cash", "1000.00")])
    sell(pay=[("cash", "200.00")])
    url = f"/api/v1/customers/{salon.customer.pk}/loyalty/"
    body = api_as(reception).get(url).json()
    assert body["points"] == 200 and body["points_value"] == "2.00"
    assert body["stored_value"] == {"principal": "1000.00", "bonus": "100.00", "total": "1100.00"}
    assert body["points_expiring"] == [{"points": 200, "expires_on": "2028-01-06"}]
    assert {(row["ledger"], row["kind"]) for row in body["history"]} == {
        ("points", "earn"),
        ("stored_value", "topup"),
    }
    assert api_as(stylist).get(url).status_code == 403
    # adjustments and refunds: managers, field errors as 400
    adjust = url + "points-adjustments/"
    assert api_as(reception).post(adjust, {"points": 5, "reason": "x"}, format="json").status_code == 403
    response = api_as(manager).post(adjust, {"points": -500, "reason": "x"}, format="json")
    assert response.status_code == 400, response.json()
    assert "Only 200 points left" in str(response.json())
    response = api_as(manager).post(adjust, {"points": 50, "reason": "birthday"}, format="json")
    assert response.status_code == 201 and response.json()["points"] == 250
    refund = url + "stored-value-refunds/"
    response = api_as(manager).post(
        refund, {"amount": "2000", "method": "cash", "reason": "x"}, format="json"
    )
    assert response.status_code == 400
    response = api_as(manager).post(
        refund, {"amount": "1000", "method": "cash", "reason": "moving"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["stored_value"] == {"principal": "0.00", "bonus": "0.00", "total": "0.00"}


def test_manager_gives_a_coupon_in_the_dialog_and_the_card_lists_it(client_as, salon, manager, reception):
    url = reverse("loyalty:coupon_issue", args=[salon.customer.pk])
    assert client_as(reception).get(url).status_code == 403
    client = client_as(manager)
    response = client.post(url, {"value": "0", "valid_until": "2027-02-01"})
    assert response.status_code == 200 and response.context["form"].errors["value"]
    response = client.post(url, {"value": "30", "valid_until": "2027-02-01", "note": "sorry for the wait"})
    assert response.status_code == 204
    from loyalty.models import Coupon

    coupon = Coupon.objects.get()
    assert (coupon.customer, coupon.kind, coupon.issued_by, coupon.note) == (
        salon.customer,
        "manual",
        manager.user,
        "sorry for the wait",
    )
    html = client.get(reverse("customers:detail", args=[salon.customer.pk])).content.decode()
    assert f'data-coupon="{coupon.code}"' in html


def test_api_lists_packages_and_coupons_gives_coupons_and_checks_gift_cards(
    api_as, salon, sell, plan, manager, reception
):
    from tests.loyalty.conftest import gift_card_line, package_line

    sell(lines=[package_line(plan), gift_card_line("150.00")], pay=[("cash", "2150.00")])
    api = api_as(manager)
    response = api.post(
        f"/api/v1/customers/{salon.customer.pk}/loyalty/coupons/",
        {"value": "25.00", "valid_until": "2027-03-01", "service": salon.cut.pk},
        format="json",
    )
    assert response.status_code == 201 and response.json()["service"] == salon.cut.pk
    code = response.json()["code"]
    body = api_as(reception).get(f"/api/v1/customers/{salon.customer.pk}/loyalty/").json()
    assert [(p["name"], p["sessions_left"], p["services"]) for p in body["packages"]] == [
        ("Colour ×5", 5, [salon.colour.pk])
    ]
    assert [c["code"] for c in body["coupons"]] == [code]
    bad = api_as(manager).post(  # (api_as re-authenticates the one test client)
        f"/api/v1/customers/{salon.customer.pk}/loyalty/coupons/",
        {"value": "25.00", "valid_until": "2027-03-01", "service": 999999},
        format="json",
    )
    assert bad.status_code == 400
    from loyalty.models import GiftCard

    card = GiftCard.objects.get()
    answer = api_as(reception).get(f"/api/v1/gift-cards/{card.code.lower()}/").json()
    assert (answer["code"], answer["balance"]) == (card.code, "150.00")
    assert api_as(reception).get("/api/v1/gift-cards/GC-NONE-NONE/").status_code == 404
