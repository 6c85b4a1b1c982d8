"""Package cards, gift cards and coupons through the checkout's handlers."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments.line_kinds import CheckoutLine
from appointments.services import visit_void
from loyalty import cards
from loyalty.models import Coupon, CustomerPackage, GiftCard, LoyaltyAccount, PackageEntry
from messaging.models import OutboundMessage
from tests.appointments.factories import CustomerFactory
from tests.loyalty.conftest import account, gift_card_line, package_line

pytestmark = pytest.mark.django_db


def test_a_package_is_sold_then_pays_one_session_of_a_covered_service(salon, sell, plan):
    sold = sell(lines=[package_line(plan)], pay=[("card", "2000.00")])
    package = CustomerPackage.objects.get()
    assert (package.sessions_left, package.price, package.expires_on) == (
        5,
        Decimal("2000.00"),
        date(2027, 7, 5),
    )
    assert sold.lines.get().description == "Package: Colour ×5 (5 sessions)"
    assert account(salon.customer).points == 2000  # buying services earns
    visit = sell(service=salon.colour, pay=[("package", "680.00")])
    package.refresh_from_db()
    assert package.sessions_left == 4
    used = PackageEntry.objects.get(kind="used")
    assert (used.visit_id, used.value) == (visit.pk, Decimal("400.00"))  # 2000 / 5 recognised
    assert account(salon.customer).points == 2000  # a session paid by the package earns nothing
    # a package pays a covered service in full, and only a covered one
    with pytest.raises(ValidationError, match="in full"):
        sell(service=salon.colour, pay=[("package", "600.00"), ("cash", "80.00")])
    with pytest.raises(ValidationError, match="no package"):
        sell(service=salon.cut, pay=[("package", "200.00")])


def test_the_last_session_takes_the_remainder_cent_and_the_package_is_used_up(salon, sell, plan):
    plan.price = Decimal("1000.00")
    plan.sessions = 3
    plan.save()
    sell(lines=[package_line(plan)], pay=[("cash", "1000.00")])
    for _ in range(3):
        sell(service=salon.colour, pay=[("package", "680.00")])
    values = list(PackageEntry.objects.filter(kind="used").values_list("value", flat=True))
    assert values == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert CustomerPackage.objects.get().status == "used_up"
    with pytest.raises(ValidationError):
        sell(service=salon.colour, pay=[("package", "680.00")])


def test_a_void_gives_the_session_back_and_a_used_package_cannot_be_voided(salon, sell, plan, manager):
    sold = sell(lines=[package_line(plan)], pay=[("cash", "2000.00")])
    visit = sell(service=salon.colour, pay=[("package", "680.00")])
    with pytest.raises(ValidationError, match="have been used"):
        visit_void(visit=sold, by=manager.user, reason="mistake")
    visit_void(visit=visit, by=manager.user, reason="wrong client")
    package = CustomerPackage.objects.get()
    assert package.sessions_left == 5
    assert sum(PackageEntry.objects.filter(kind__in=["used", "reverse"]).values_list("value", flat=True)) == 0
    visit_void(visit=sold, by=manager.user, reason="changed mind")
    package.refresh_from_db()
    assert (package.status, package.sessions_left) == ("voided", 0)


def test_packages_past_their_day_expire_and_the_rest_is_recognised(salon, sell, plan):
    sell(lines=[package_line(plan)], pay=[("cash", "2000.00")])
    sell(service=salon.colour, pay=[("package", "680.00")])
    assert cards.packages_expire(today=date(2027, 7, 5)) == 0  # its last day
    assert cards.packages_expire(today=date(2027, 7, 6)) == 1
    package = CustomerPackage.objects.get()
    expired = PackageEntry.objects.get(kind="expire")
    assert (package.status, expired.sessions, expired.value) == ("expired", -4, Decimal("1600.00"))


def test_a_gift_card_is_sold_with_a_code_and_pays_for_anyone_holding_it(salon, sell, manager):
    sell(lines=[gift_card_line("500.00")], pay=[("alipay", "500.00")])
    card = GiftCard.objects.get()
    assert card.code.startswith("GC-") and card.balance == Decimal("500.00")
    assert not LoyaltyAccount.objects.filter(
        customer=salon.customer, points__gt=0
    ).exists()  # put aside: no points
    friend = CustomerFactory(name="李四")
    sell(customer=friend, pay=[("gift_card", "200.00", card.code)])
    card.refresh_from_db()
    assert card.balance == Decimal("300.00")
    assert account(friend).points == 200  # spending it is the holder's money: it earns
    with pytest.raises(ValidationError, match="has 300.00 left"):
        sell(customer=friend, service=salon.colour, pay=[("gift_card", "680.00", card.code)])
    with pytest.raises(ValidationError, match="No gift card"):
        sell(customer=friend, pay=[("gift_card", "200.00", "GC-NOPE-NOPE")])


def test_gift_card_reference_is_normalised_and_a_void_gives_it_back(salon, sell, manager, reception):
    from appointments.line_kinds import CheckoutLine
    from appointments.services import PaymentIn, visit_checkout

    sell(lines=[gift_card_line("300.00")], pay=[("cash", "300.00")])
    card = GiftCard.objects.get()
    visit = visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
        payments=[PaymentIn("gift_card", Decimal("200.00"), card.code.lower().replace("-", " - "))],
    )
    card.refresh_from_db()
    assert card.balance == Decimal("100.00")
    visit_void(visit=visit, by=manager.user, reason="x")
    card.refresh_from_db()
    assert card.balance == Decimal("300.00")


def test_credit_never_pays_for_a_gift_card(salon, sell, manager):
    from loyalty import services

    services.points_adjust(customer=salon.customer, points=50000, reason="x", by=manager.user)
    with pytest.raises(ValidationError, match="cannot pay for a top-up, a gift card or a tip"):
        sell(lines=[gift_card_line("100.00")], pay=[("points", "100.00")])


def test_a_coupon_pays_once_for_its_client_within_its_rules(salon, sell, manager, reception):
    with pytest.raises(PermissionDenied):
        cards.coupon_issue(
            customer=salon.customer, kind="manual", value=50, valid_until=date(2027, 2, 1), by=reception.user
        )
    coupon = cards.coupon_issue(
        customer=salon.customer,
        kind="manual",
        value="100",
        min_spend="300",
        service=salon.colour,
        valid_from=date(2027, 1, 1),
        valid_until=date(2027, 2, 1),
        by=manager.user,
    )
    assert coupon.code.startswith("CP-")
    with pytest.raises(ValidationError, match="at least 300.00"):
        sell(service=salon.cut, pay=[("coupon", "100.00", coupon.code), ("cash", "100.00")])
    other = CustomerFactory(name="王五")
    payments = [("coupon", "100.00", coupon.code), ("cash", "580.00")]
    with pytest.raises(ValidationError, match="another client"):
        sell(customer=other, service=salon.colour, pay=payments)
    visit = sell(service=salon.colour, pay=payments)
    coupon.refresh_from_db()
    assert (coupon.status, coupon.used_visit_id) == ("used", visit.pk)
    with pytest.raises(ValidationError, match="already been used"):
        sell(service=salon.colour, pay=payments)
    visit_void(visit=visit, by=manager.user, reason="x")
    coupon.refresh_from_db()
    assert coupon.status == "issued"


def test_a_coupon_pays_at_most_its_value_and_its_service_s_amount(salon, sell, manager):
    coupon = cards.coupon_issue(
        customer=None,
        kind="manual",
        value="300",
        service=salon.cut,
        valid_until=date(2027, 2, 1),
        by=manager.user,
    )
    salon.cut.price = Decimal("250.00")  # a coupon for the cut, sold with a colour: 250 is the most it pays
    salon.cut.save()
    with pytest.raises(ValidationError, match="at most 250.00"):
        sell(
            lines=[
                CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist),
                CheckoutLine(kind="service", service=salon.colour, staff=salon.stylist),
            ],
            pay=[("coupon", "300.00", coupon.code), ("cash", "630.00")],
        )
    visit = sell(service=salon.cut, pay=[("coupon", "250.00", coupon.code)])
    assert Coupon.objects.get(pk=coupon.pk).used_visit == visit


def test_birthday_coupons_go_to_consenting_clients_once_a_year(
    salon, manager, django_capture_on_commit_callbacks
):
    from loyalty.models import LoyaltySettings

    LoyaltySettings.objects.update_or_create(
        pk=1, defaults={"birthday_coupon_value": Decimal("88"), "birthday_lead_days": 7}
    )
    yes = CustomerFactory(name="生日", birthday=date(1990, 1, 13), consent_sms=True)
    CustomerFactory(name="不要", birthday=date(1991, 1, 13))  # no marketing consent
    CustomerFactory(name="别天", birthday=date(1992, 1, 14), consent_sms=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert cards.birthday_coupons(today=date(2027, 1, 6)) == 1
        assert cards.birthday_coupons(today=date(2027, 1, 6)) == 0  # nothing twice
    coupon = Coupon.objects.get()
    assert (coupon.customer, coupon.kind, coupon.value, coupon.valid_until) == (
        yes,
        "birthday",
        Decimal("88.00"),
        date(2027, 1, 20),
    )
    message = OutboundMessage.objects.get(kind="birthday_greeting")
    assert coupon.code in message.body and message.customer == yes


def test_a_29_february_birthday_is_greeted_on_28_february_in_a_common_year(
    salon, django_capture_on_commit_callbacks
):
    leap = CustomerFactory(name="闰年", birthday=date(2000, 2, 29), consent_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert cards.birthday_coupons(today=date(2027, 2, 21)) == 1
    assert Coupon.objects.get().customer == leap


def test_the_desk_sees_sessions_left_in_the_booking_dialog_s_client_box(
    client_as, salon, sell, plan, reception
):
    from django.urls import reverse

    sell(lines=[package_line(plan)], pay=[("cash", "2000.00")])
    url = (
        reverse("appointments:safety_check")
        + f"?customer={salon.customer.pk}&items-0-service={salon.colour.pk}"
    )
    html = client_as(reception).get(url).content.decode()
    assert 'id="client-balances"' in html and "Colour ×5: 5 of 5 sessions left, until 2027-07-05" in html


def test_a_merge_moves_packages_coupons_and_gift_cards(salon, sell, plan, owner, manager):
    from customers.services import customer_merge

    twin = CustomerFactory(name="张三 (dup)")
    sell(customer=twin, lines=[package_line(plan), gift_card_line("100.00")], pay=[("cash", "2100.00")])
    coupon = cards.coupon_issue(
        customer=twin, kind="manual", value=20, valid_until=date(2027, 3, 1), by=manager.user
    )
    customer_merge(keep=salon.customer, merge=twin, by=owner.user)
    assert CustomerPackage.objects.get().account == account(salon.customer)
    coupon.refresh_from_db()
    assert coupon.customer == salon.customer
    assert GiftCard.objects.get().buyer == salon.customer
    sell(service=salon.colour, pay=[("package", "680.00")])  # the kept client uses the package


def test_a_tip_goes_to_the_stylist_earns_no_points_and_no_credit_pays_it(
    salon, sell, manager, client_as, reception
):
    from django.urls import reverse

    from loyalty import services

    services.points_adjust(customer=salon.customer, points=10000, reason="x", by=manager.user)
    with pytest.raises(ValidationError, match="or a tip"):
        sell(
            lines=[
                CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist),
                CheckoutLine(kind="tip", unit_price=Decimal("50"), staff=salon.stylist),
            ],
            pay=[("points", "210.00"), ("cash", "40.00")],  # the cut is 200: points cannot reach the tip
        )
    # through the checkout page: the tip is credited to the first service line's stylist
    url = reverse("appointments:checkout_sale") + f"?customer={salon.customer.pk}"
    data = {
        "customer": salon.customer.pk, "discount": "0", "sell_tip": "30.00",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-service": salon.cut.pk,
        "lines-0-staff": salon.other_stylist.pk, "lines-0-quantity": "1",
        "pay-TOTAL_FORMS": "1", "pay-INITIAL_FORMS": "0", "pay-0-method": "cash", "pay-0-amount": "230.00",
        "finish": "1",
    }  # fmt: skip
    response = client_as(reception).post(url, data)
    assert response.status_code == 302, response.content.decode()[:1500]
    from appointments.models import VisitLine

    tip = VisitLine.objects.get(kind="tip")
    assert (tip.amount, tip.staff, tip.description) == (
        Decimal("30.00"),
        salon.other_stylist,
        f"Tip for {salon.other_stylist}",
    )
    assert account(salon.customer).points == 10000 + 200  # the cut earns, the tip does not
