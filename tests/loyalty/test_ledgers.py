"""Points and stored value through the checkout's handlers: earn once, redeem FIFO, top up with
a bonus, spend in proportion, refund principal only, void takes everything back, merge adds up."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments.services import visit_void
from customers.services import customer_merge
from loyalty import services
from loyalty.models import LoyaltyAccount, LoyaltySettings, PointsEntry, StoredValueEntry
from messaging.models import OutboundMessage
from tests.appointments.factories import CustomerFactory
from tests.loyalty.conftest import account, assert_ledgers_hold, topup

pytestmark = pytest.mark.django_db


def test_a_sale_earns_points_once_on_what_was_paid(salon, sell):
    visit = sell(pay=[("cash", "200.00")])
    acc = account(salon.customer)
    assert acc.points == 200
    earned = PointsEntry.objects.get(kind="earn")
    assert (earned.visit_id, earned.remaining, earned.expires_on) == (visit.pk, 200, date(2028, 1, 6))
    # a second call (a retried hook) earns nothing more
    assert services.points_earn_for_visit(visit) is None
    acc.refresh_from_db()
    assert acc.points == 200
    assert_ledgers_hold(salon.customer)


def test_points_earned_are_whole_points_rounded_down(salon, sell):
    LoyaltySettings.objects.update_or_create(pk=1, defaults={"points_per_unit": Decimal("1.5")})
    sell(lines=None, pay=[("cash", "200.00")])  # 300
    salon.cut.price = Decimal("99.99")
    salon.cut.save()
    sell(pay=[("cash", "99.99")])  # 149.985 → 149
    assert account(salon.customer).points == 449


def test_a_topup_gets_the_best_rule_s_bonus_and_earns_no_points(salon, sell, rules):
    visit = sell(lines=[topup("1000.00")], pay=[("wechat_pay", "1000.00")])
    acc = account(salon.customer)
    assert (acc.principal, acc.bonus, acc.points) == (Decimal("1000.00"), Decimal("100.00"), 0)
    line = visit.lines.get()
    assert line.description == "Stored-value top-up (+100.00 bonus)"
    entry = StoredValueEntry.objects.get()
    assert (entry.kind, entry.visit_line_id) == ("topup", line.pk)


def test_a_topup_is_not_discounted_and_not_paid_with_credit(salon, sell, rules):
    with pytest.raises(ValidationError) as err:
        sell(lines=[topup("600.00")], pay=[("cash", "550.00")], discount="50")
    assert "discount" in err.value.message_dict
    sell(lines=[topup("600.00")], pay=[("cash", "600.00")])
    with pytest.raises(ValidationError) as err:
        sell(lines=[topup("100.00")], pay=[("stored_value", "100.00")])
    assert "cannot pay for a top-up" in str(err.value)
    assert account(salon.customer).principal == Decimal("600.00")


def test_stored_value_pays_from_principal_and_bonus_in_proportion(
    salon, sell, rules, django_capture_on_commit_callbacks
):
    sell(lines=[topup("1000.00")], pay=[("cash", "1000.00")])  # 1000 + 100
    with django_capture_on_commit_callbacks(execute=True):
        sell(pay=[("stored_value", "200.00")])
    spend = StoredValueEntry.objects.get(kind="spend")
    # 200 × 100/1100 = 18.18 bonus, 181.82 principal
    assert (spend.principal, spend.bonus) == (Decimal("-181.82"), Decimal("-18.18"))
    acc = account(salon.customer)
    assert (acc.principal, acc.bonus) == (Decimal("818.18"), Decimal("81.82"))
    # the client hears the balance after this use, once
    notice = OutboundMessage.objects.get(kind="stored_value_notice")
    assert notice.idempotency_key == f"sv-notice:{spend.pk}"
    assert "900.00" in notice.body and "818.18" in notice.body
    # stored value pays for what it is worth, never more
    with pytest.raises(ValidationError):
        sell(pay=[("stored_value", "200.00"), ("cash", "0.01")], lines=None, service=salon.colour)
    assert_ledgers_hold(salon.customer)


def test_the_last_cent_of_stored_value_can_be_spent(salon, sell, rules):
    sell(lines=[topup("500.00")], pay=[("cash", "500.00")])  # 500 + 30
    salon.cut.price = Decimal("530.00")
    salon.cut.save()
    sell(pay=[("stored_value", "530.00")])
    acc = account(salon.customer)
    assert (acc.principal, acc.bonus) == (Decimal("0.00"), Decimal("0.00"))
    assert_ledgers_hold(salon.customer)


def test_refund_pays_back_principal_only_and_forfeits_bonus_in_proportion(
    salon, sell, rules, manager, reception
):
    sell(lines=[topup("1000.00")], pay=[("cash", "1000.00")])
    with pytest.raises(PermissionDenied):
        services.stored_value_refund(
            customer=salon.customer, amount="100", reason="moving", method="cash", by=reception.user
        )
    with pytest.raises(ValidationError) as err:
        services.stored_value_refund(
            customer=salon.customer, amount="1100", reason="moving", method="cash", by=manager.user
        )
    assert "amount" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.stored_value_refund(
            customer=salon.customer, amount="100", reason=" ", method="bitcoin", by=manager.user
        )
    assert set(err.value.message_dict) == {"reason", "method"}
    services.stored_value_refund(
        customer=salon.customer, amount="400", reason="moving", method="cash", by=manager.user
    )
    acc = account(salon.customer)
    assert (acc.principal, acc.bonus) == (Decimal("600.00"), Decimal("60.00"))  # 40 bonus forfeited
    entry = StoredValueEntry.objects.get(kind="refund")
    assert (entry.refund_method, entry.reason, entry.created_by) == ("cash", "moving", manager.user)
    services.stored_value_refund(
        customer=salon.customer, amount="600", reason="closing", method="cash", by=manager.user
    )
    acc.refresh_from_db()
    assert (acc.principal, acc.bonus) == (Decimal("0.00"), Decimal("0.00"))
    assert_ledgers_hold(salon.customer)


def test_points_pay_oldest_expiry_first_and_expire_first_in_first_out(
    salon, sell, manager, monkeypatch, on_the_day
):
    sell(pay=[("cash", "200.00")])  # 200 points, last day 2028-01-06
    services.points_adjust(customer=salon.customer, points=300, reason="apology", by=manager.user)
    acc = account(salon.customer)
    earned, added = PointsEntry.objects.order_by("pk")
    # 2 yuan at 100 points per yuan: 250 points, the 200 earned first (same expiry day: oldest row)
    sell(pay=[("points", "2.50"), ("cash", "197.50")])
    redeem = PointsEntry.objects.get(kind="redeem")
    assert [(d.lot_id, d.points) for d in redeem.draws.order_by("pk")] == [(earned.pk, 200), (added.pk, 50)]
    # points not worth a whole number are refused, never rounded
    LoyaltySettings.objects.filter(pk=1).update(points_per_currency_unit=30)
    with pytest.raises(ValidationError, match="whole points"):
        sell(pay=[("points", "0.05"), ("cash", "199.95")])
    LoyaltySettings.objects.filter(pk=1).update(points_per_currency_unit=100)
    acc.refresh_from_db()
    points_now = acc.points  # 250 left of the adjustment + 197 earned by the last sale
    assert points_now == 250 + 197
    # a year and a day later, the nightly expiry takes the lots whose last day has passed
    assert services.points_expire(today=date(2028, 1, 7)) == 1
    acc.refresh_from_db()
    assert acc.points == 0
    expired = PointsEntry.objects.get(kind="expire")
    assert expired.points == -points_now
    assert services.points_expire(today=date(2028, 1, 7)) == 0  # nothing twice
    assert_ledgers_hold(salon.customer)


def test_points_due_to_expire_cannot_be_spent_before_the_nightly_run(salon, sell, monkeypatch, on_the_day):
    from django.utils import timezone

    sell(pay=[("cash", "200.00")])
    later = on_the_day + timedelta(days=367)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(ValidationError):
        sell(pay=[("points", "1.00"), ("cash", "199.00")])
    assert account(salon.customer).points == 200  # the refused sale rolled its expiry back too


def test_manual_adjustment_needs_a_manager_and_a_reason(salon, reception, manager):
    with pytest.raises(PermissionDenied):
        services.points_adjust(customer=salon.customer, points=10, reason="x", by=reception.user)
    with pytest.raises(ValidationError) as err:
        services.points_adjust(customer=salon.customer, points=10, reason="  ", by=manager.user)
    assert "reason" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.points_adjust(customer=salon.customer, points=-10, reason="typo", by=manager.user)
    assert "points" in err.value.message_dict
    assert not LoyaltyAccount.objects.filter(customer=salon.customer, points__gt=0).exists()


def test_a_void_takes_back_everything_the_visit_did(salon, sell, rules, manager):
    sell(lines=[topup("500.00")], pay=[("cash", "500.00")])  # 500 + 30 stored, no points
    services.points_adjust(customer=salon.customer, points=1000, reason="welcome", by=manager.user)
    before = account(salon.customer)
    visit = sell(
        service=salon.colour,
        pay=[("points", "5.00"), ("stored_value", "100.00"), ("cash", "575.00")],
    )  # colour 680: earns on 675 (points do not earn)
    after = account(salon.customer)
    assert after.points == 1000 - 500 + 675
    rows = PointsEntry.objects.count() + StoredValueEntry.objects.count()
    visit_void(visit=visit, by=manager.user, reason="wrong client")
    voided = account(salon.customer)
    assert (voided.points, voided.principal, voided.bonus) == (before.points, before.principal, before.bonus)
    # the rows stay; the void added its own
    assert PointsEntry.objects.count() + StoredValueEntry.objects.count() == rows + 3
    # the redeemed points went back into the very lot they came from
    welcome = PointsEntry.objects.get(kind="adjust")
    assert welcome.remaining == 1000
    assert_ledgers_hold(salon.customer)


def test_a_void_is_refused_when_its_points_or_its_topup_are_spent(salon, sell, rules, manager):
    visit = sell(pay=[("cash", "200.00")])  # 200 points
    sell(pay=[("points", "2.00"), ("cash", "198.00")])
    with pytest.raises(ValidationError, match="adjust the points first"):
        visit_void(visit=visit, by=manager.user, reason="mistake")
    visit.refresh_from_db()
    assert visit.status == "completed"
    sold = sell(lines=[topup("500.00")], pay=[("cash", "500.00")])
    sell(pay=[("stored_value", "100.00"), ("cash", "100.00")])
    with pytest.raises(ValidationError, match="partly spent"):
        visit_void(visit=sold, by=manager.user, reason="mistake")
    assert_ledgers_hold(salon.customer)


def test_a_merge_adds_the_balances_and_keeps_every_ledger_row(salon, sell, rules, manager, owner):
    twin = CustomerFactory(name="张三 (dup)")
    sell(lines=[topup("1000.00")], pay=[("cash", "1000.00")])
    sell(pay=[("cash", "200.00")], customer=twin)
    sell(lines=[topup("500.00")], pay=[("cash", "500.00")], customer=twin)
    rows = PointsEntry.objects.count() + StoredValueEntry.objects.count()
    customer_merge(keep=salon.customer, merge=twin, by=owner.user)
    acc = account(salon.customer)
    assert (acc.points, acc.principal, acc.bonus) == (200, Decimal("1500.00"), Decimal("130.00"))
    assert not LoyaltyAccount.objects.filter(customer=twin).exists()
    assert (
        PointsEntry.objects.filter(account=acc).count() + StoredValueEntry.objects.filter(account=acc).count()
        == rows
    )
    assert_ledgers_hold(salon.customer)


def test_a_merge_onto_a_client_without_an_account_moves_it(salon, sell, owner):
    twin = CustomerFactory(name="李四")
    sell(pay=[("cash", "200.00")], customer=twin)
    customer_merge(keep=salon.customer, merge=twin, by=owner.user)
    assert account(salon.customer).points == 200


def test_history_earns_set_based_with_the_same_rules_and_once(
    salon, sell, rules, django_assert_max_num_queries
):
    LoyaltySettings.objects.update_or_create(pk=1, defaults={"points_per_unit": Decimal("0")})
    visits = [
        sell(pay=[("cash", "200.00")]),
        sell(service=salon.colour, pay=[("cash", "680.00")]),
        sell(lines=[topup("500.00")], pay=[("cash", "500.00")]),  # money put aside: nothing
    ]
    LoyaltySettings.objects.filter(pk=1).update(points_per_unit=Decimal("1.5"))
    with django_assert_max_num_queries(12):
        assert services.points_earn_for_visits(visits) == 2
    acc = account(salon.customer)
    assert acc.points == 300 + 1020
    assert sorted(PointsEntry.objects.values_list("key", flat=True)) == sorted(
        [f"earn:visit:{visits[0].pk}", f"earn:visit:{visits[1].pk}"]
    )
    assert services.points_earn_for_visits(visits) == 0  # once
    assert services.points_earn_for_visit(visits[0]) is None
    assert_ledgers_hold(salon.customer)
