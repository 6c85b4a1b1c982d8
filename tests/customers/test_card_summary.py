"""The client card as the desk's starting point (issue 9, item 4): Book and Walk-in, the last 12
months' visits and spend (through appointments.selectors.visits_counted), no-shows and late
cancellations, the last visit, the preferred stylist and the upcoming appointments. customers
does not import appointments: appointments fills the card through customers.card's registry."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Visit
from appointments.services import (
    BookingItem,
    CheckoutLine,
    PaymentIn,
    appointment_book,
    appointment_cancel,
    appointment_no_show,
    visit_checkout,
    visit_void,
)
from customers import card
from customers.models import ConsentRecord
from feedback.models import Complaint
from feedback.services import complaint_open, follow_up_create, survey_answer, survey_plan
from loyalty.models import Coupon, CustomerPackage, LoyaltyAccount, PackagePlan
from loyalty.services import points_adjust
from messaging.models import OutboundMessage
from tests.accounts.factories import StaffMemberFactory
from tests.appointments import fixtures_core
from tests.appointments.factories import ServiceFactory, open_all_week, work_all_week
from tests.appointments.fixtures_core import DAY
from tests.customers.factories import FormulaFactory, PatchTestFactory, TagFactory

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


class Clock:
    """timezone.now() as the test sets it (the card's figures depend on the day)."""

    def __init__(self, monkeypatch, at: datetime):
        self.at = at
        monkeypatch.setattr(timezone, "now", lambda: self.at)


@pytest.fixture
def clock(monkeypatch, salon):
    return Clock(monkeypatch, salon.at(12).astimezone(UTC))  # noon on DAY at the salon


def _at(salon, days: int, hour: int = 12) -> datetime:
    return datetime.combine(DAY + timedelta(days=days), time(hour), tzinfo=salon.location.tz)


def _sale(clock, salon, by, *, days: int, service, staff):
    clock.at = _at(salon, days).astimezone(UTC)
    return visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=by,
        lines=[CheckoutLine(kind="service", service=service, staff=staff)],
        payments=[PaymentIn("cash", service.price)],
    )


def _book(salon, start, staff=None, service=None):
    return appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=service or salon.cut, staff=staff or salon.stylist, start=start)],
        source="front_desk",
        booked_by=None,
    )


@pytest.fixture
def history(clock, salon, reception, manager):
    """张三's year: three visits in the last 12 months (two with Stylist2), one older, one
    voided; a no-show, a late and an early cancellation; Colour booked a week ahead."""
    s = salon
    s.customer.preferred_staff = s.stylist
    s.customer.save(update_fields=["preferred_staff"])
    _sale(clock, s, reception.user, days=-30, service=s.cut, staff=s.stylist)
    _sale(clock, s, reception.user, days=-100, service=s.colour, staff=s.other_stylist)
    _sale(clock, s, reception.user, days=-200, service=s.cut, staff=s.other_stylist)
    _sale(clock, s, reception.user, days=-400, service=s.cut, staff=s.stylist)  # 13 months ago
    voided = _sale(clock, s, reception.user, days=-10, service=s.colour, staff=s.stylist)
    visit_void(visit=voided, by=manager.user, reason="rung up twice")
    no_show = _book(s, _at(s, -5, 10))
    clock.at = _at(s, -5, 11).astimezone(UTC)
    appointment_no_show(appointment=no_show, by=reception.user)
    late = _book(s, _at(s, -3, 15))
    clock.at = _at(s, -3, 10).astimezone(UTC)  # five hours before: late
    appointment_cancel(appointment=late, by=reception.user)
    early = _book(s, _at(s, 20, 15))
    clock.at = _at(s, 0).astimezone(UTC)  # back to noon on DAY
    appointment_cancel(appointment=early, by=reception.user)
    upcoming = _book(s, _at(s, 7, 10), service=s.colour)
    return upcoming


def _facts(response) -> dict[str, tuple[str, str]]:
    return {f.key: (f.value, f.detail) for f in response.context["card"].facts}


def test_card_summary_counts_the_last_twelve_months(client_as, salon, reception, history):
    # when the desk opens 张三's card
    response = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk]))
    # then the visits that count (not the voided one, not the one 13 months ago), their spend,
    # the no-show and the late cancellation (not the early one), the last visit that counts and
    # the preferred stylist on file, with who did most of the visits
    assert response.status_code == 200
    assert _facts(response) == {
        "visits": ("3", ""),
        "spend": ("¥1,080", ""),
        "no_shows": ("1", ""),
        "late_cancels": ("1", ""),
        "last_visit": ((DAY - timedelta(days=30)).isoformat(), f"30 days ago · {salon.location.name}"),
        "preferred_stylist": (
            salon.stylist.display_name,
            f"on file · most visits: {salon.other_stylist.display_name} (2)",
        ),
        # loyalty's: no tiers set up; the points the sales earned (the voided one's taken back),
        # nothing topped up
        "tier": ("—", ""),
        "points": ("1,280", "worth ¥12.80"),
        "stored_value": ("¥0.00", ""),
        # analytics': no roll-up has run yet
        "client_class": ("Potential", "no visit yet"),
    }
    html = response.content.decode()
    assert 'data-fact="no_shows"' in html and "card-fact-warning" in html


def test_the_figures_follow_the_clock_for_the_same_reader(client_as, salon, reception, history, clock):
    """The card's statement is compiled once per kind of reader (salon_crm.rows.read_row): the
    client and the time are its parameters, never frozen into it."""
    client = client_as(reception)
    url = reverse("customers:detail", args=[salon.customer.pk])
    assert _facts(client.get(url))["visits"] == ("3", "")
    # 270 days on, the visits of 100 and 200 days ago have left the 12 months
    clock.at = _at(salon, 270).astimezone(UTC)
    facts = _facts(client_as(reception).get(url))  # logged in again: the session has expired
    assert facts["visits"] == ("1", "")  # the cut of 30 days ago, now 300
    assert facts["last_visit"][1].startswith("300 days ago")
    assert facts["no_shows"] == ("1", "") and facts["late_cancels"] == ("1", "")


def test_card_lists_upcoming_appointments_and_offers_book_and_walk_in(client_as, salon, reception, history):
    response = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk]))
    html = response.content.decode()
    # the upcoming Colour a week ahead, at the location's wall clock, opening its dialog here
    (row,) = response.context["card"].panels[0].data
    assert (row.appointment, row.start, row.services, row.staff, row.today) == (
        history,
        datetime.combine(DAY + timedelta(days=7), time(10)),
        "Colour",
        salon.stylist.display_name,
        False,
    )
    assert f'data-dialog-url="{reverse("appointments:detail", args=[history.pk])}"' in html
    assert f"{(DAY + timedelta(days=7)).isoformat()}" in html and "10:00–12:00" in html
    # Book goes to the calendar with the client attached; Walk-in opens its dialog over the card
    book_url = f"{reverse('appointments:day')}?customer={salon.customer.pk}"
    assert f'href="{book_url}" data-action="book"' in html
    walk_in = f"{reverse('appointments:walk_in')}?customer={salon.customer.pk}"
    assert f'data-dialog-url="{walk_in}" data-action="walk_in"' in html
    # the sections refresh themselves when a dialog opened from the card changes an appointment
    assert 'hx-trigger="calendarChanged from:body" hx-select="#card-panels"' in html


def test_preferred_stylist_without_one_on_file_is_who_did_most_visits(client_as, salon, reception, history):
    salon.customer.preferred_staff = None
    salon.customer.save(update_fields=["preferred_staff"])
    response = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk]))
    assert _facts(response)["preferred_stylist"] == (
        salon.other_stylist.display_name,
        "2 visits in 12 months",
    )


def test_a_new_client_has_empty_figures_and_no_upcoming(client_as, salon, reception, clock):
    response = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk]))
    assert _facts(response) == {
        "visits": ("0", ""),
        "spend": ("¥0", ""),
        "no_shows": ("0", ""),
        "late_cancels": ("0", ""),
        "last_visit": ("—", ""),
        "preferred_stylist": ("—", ""),
        "tier": ("—", ""),
        "points": ("0", ""),
        "stored_value": ("¥0.00", ""),
        "client_class": ("Potential", "no visit yet"),
    }
    assert "No upcoming appointments." in response.content.decode()


def test_an_erased_client_cannot_be_booked_from_the_card(client_as, salon, reception, clock):
    salon.customer.erased_at = timezone.now()
    salon.customer.save(update_fields=["erased_at"])
    html = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk])).content.decode()
    assert 'data-action="book"' not in html and 'data-action="walk_in"' not in html


def test_an_appointment_at_a_branch_the_user_does_not_work_at_is_listed_without_a_link(
    client_as, salon, reception, other_location, clock
):
    # given 张三 also booked at 徐汇店, where reception does not work
    open_all_week(other_location)
    there = StaffMemberFactory(role="stylist", locations=[other_location], is_bookable=True)
    work_all_week(there, other_location)
    service = ServiceFactory(name="Blow-dry", locations=[other_location])
    appointment_book(
        customer=salon.customer,
        location=other_location,
        items=[BookingItem(service=service, staff=there, start=_at(salon, 2, 15))],
        source="front_desk",
        booked_by=None,
    )
    response = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk]))
    (row,) = response.context["card"].panels[0].data
    # then the card says where, and offers no dialog that would be a dead end (404)
    assert (row.location, row.url) == (other_location.name, "")
    assert "data-upcoming-open" not in response.content.decode()


def _more_of_everything(salon, clock, reception, manager, n: int) -> None:
    """`n` more of every list the card shows: sales (visits, lines, points, surveys answered),
    bookings ahead, colour formulas, patch tests, consent changes, tags, messages, ledger
    adjustments, packages, coupons, complaint cases and follow-up calls."""
    s = salon
    start = len(Visit.objects.filter(customer=s.customer))
    for i in range(n):
        visit = _sale(clock, s, reception.user, days=-50 - start - i, service=s.cut, staff=s.stylist)
        survey = survey_plan(visit=visit)
        survey_answer(survey=survey, csat=5, nps=9, comment="Lovely", now=survey.send_at)
        _book(s, _at(s, 30 + 2 * (start + i), 10))
        FormulaFactory(customer=s.customer, stylist=s.stylist, shades=[("7/1", 30), ("8/0", 20)])
        PatchTestFactory(customer=s.customer, tested_on=DAY - timedelta(days=start + i))
        ConsentRecord.objects.create(customer=s.customer, channel="sms", granted=bool(i % 2), method="desk")
        TagFactory(name=f"tag {start + i}").customers.add(s.customer)
        OutboundMessage.objects.create(
            customer=s.customer, kind="thank_you", channel="sms", idempotency_key=f"card:{start + i}",
            language="en", status=OutboundMessage.Status.SENT, scheduled_for=clock.at, sent_at=clock.at,
        )  # fmt: skip
        points_adjust(customer=s.customer, points=10, reason="goodwill", by=manager.user)
        clock.at = _at(s, -1).astimezone(UTC)
        visit_checkout(
            location=s.location, customer=s.customer, by=reception.user,
            lines=[CheckoutLine(kind="topup", unit_price=Decimal("100.00"))],
            payments=[PaymentIn("cash", Decimal("100.00"))],
        )  # fmt: skip
        account = LoyaltyAccount.objects.get(customer=s.customer)
        plan = PackagePlan.objects.create(name=f"Cut ×5 {start + i}", sessions=5, price=Decimal("800.00"))
        CustomerPackage.objects.create(
            account=account, plan=plan, name=plan.name, sessions_total=5, sessions_left=5, price=plan.price,
            expires_on=DAY + timedelta(days=365),
        )  # fmt: skip
        Coupon.objects.create(
            code=f"CP-CARD-{start + i:04d}", kind="manual", customer=s.customer, value=Decimal("20"),
            valid_from=DAY, valid_until=DAY + timedelta(days=30),
        )  # fmt: skip
        complaint_open(
            customer=s.customer, location=s.location, category=Complaint.Category.SKILL,
            description="Too short", by=manager.user,
        )  # fmt: skip
        follow_up_create(
            customer=s.customer, location=s.location, due_on=DAY + timedelta(days=1), by=manager.user,
            assignee=s.stylist, purpose="How is the cut?",
        )  # fmt: skip
    clock.at = _at(s, 0).astimezone(UTC)


@pytest.mark.parametrize(
    ("who", "queries"),
    [
        # session, user, user perms, group perms, staff row; the card's one statement (the
        # client, preferred stylist, home location and referrer, and every panel's and timeline
        # source's lists and figures as subqueries); access-log insert; the base template's two
        # location queries (the switcher's list, the current location)
        ("reception", 9),
        ("manager", 9),
        ("owner", 9),
        ("stylist", 9),  # the client's preferred stylist: theirs, no further check
        # not theirs on file: "wrote a formula for them?", "has a booking with them?" (may they
        # write health: customers.privacy.can_write_health)
        ("other_stylist", 11),
    ],
)
def test_card_query_count_is_exact_for_every_role_and_constant_as_history_grows(
    request, client_as, salon, reception, manager, history, clock, who, queries, django_assert_num_queries
):
    # given a client with some of everything the card shows
    _more_of_everything(salon, clock, reception, manager, 2)
    client = client_as(request.getfixturevalue(who))
    url = reverse("customers:detail", args=[salon.customer.pk])
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
    # when every list grows past what the card shows
    _more_of_everything(salon, clock, reception, manager, 30)
    # then no query more
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
    card_data = response.context["card"]
    assert len(card_data.timeline) == 30
    if who != "other_stylist":
        assert len(card_data.formulas) == 20 and len(card_data.patch_tests) == 10


def test_other_apps_add_to_the_card_through_the_registry(client_as, salon, reception, clock):
    def loyalty_panel(*, customer, user):
        return card.CardPanel(
            key="loyalty",
            facts=(card.CardFact("points", "Points", "1,200"),),
            actions=(card.CardAction("top_up", "Top up", "/top-up/", dialog=True),),
            order=5,
        )

    card.register("loyalty-test", loyalty_panel)
    try:
        response = client_as(reception).get(reverse("customers:detail", args=[salon.customer.pk]))
    finally:
        card.unregister("loyalty-test")
    card_data = response.context["card"]
    # ordered by `order`: the test's (5) before appointments (10), the loyalty app's own (60) and
    # feedback's (70: the desk's "Log a complaint…" and "Plan a follow-up call…"), analytics' (80)
    assert [p.key for p in card_data.panels] == [
        "loyalty",
        "appointments",
        "loyalty",
        "feedback",
        "analytics",
    ]
    assert card_data.facts[0].key == "points" and [a.key for a in card_data.actions][:1] == ["top_up"]
    assert 'data-dialog-url="/top-up/" data-action="top_up"' in response.content.decode()
    assert "loyalty-test" not in card.providers()
