"""The client card as the desk's starting point (issue 9, item 4): Book and Walk-in, the last 12
months' visits and spend (through appointments.selectors.visits_counted), no-shows and late
cancellations, the last visit, the preferred stylist and the upcoming appointments. customers
does not import appointments: appointments fills the card through customers.card's registry."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

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
from customers import card, timeline
from tests.accounts.factories import StaffMemberFactory
from tests.appointments import fixtures_core
from tests.appointments.factories import ServiceFactory, open_all_week, work_all_week
from tests.appointments.fixtures_core import DAY

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


@pytest.fixture
def appointments_panel_only():
    """customers' own timeline sources and appointments' card panel only: the other apps' parts
    of the card count their own queries (tests/customers/test_card.py counts customers')."""
    sources = {k: v for k, v in timeline.sources().items() if not k.startswith("customers.")}
    panels = {k: v for k, v in card.providers().items() if k != "appointments"}
    for key in sources:
        timeline.unregister(key)
    for key in panels:
        card.unregister(key)
    yield
    for key, source in sources.items():
        timeline.register(key, source)
    for key, provider in panels.items():
        card.register(key, provider)


def test_card_query_count_with_the_appointments_panel_is_exact_and_constant(
    client_as, salon, reception, history, clock, appointments_panel_only, django_assert_num_queries
):
    client = client_as(reception)
    url = reverse("customers:detail", args=[salon.customer.pk])
    # 23 queries: session, user, user perms, group perms, customer (+staff, location, referrer),
    # tags, patch tests (+performer), formulas (+stylist, newer version), consent (+recorder);
    # timeline: formulas, patch tests, consent; the appointments panel (customer_summary):
    # visits (count, spend), appointments (no-shows, late cancellations), last visit
    # (+location), stylist of most visits, upcoming appointments (+location), their items
    # (+service, staff), then the user's staff record and locations (which upcoming
    # appointments open a dialog); access-log insert; the base template's two location queries.
    with django_assert_num_queries(23) as captured:
        assert client.get(url).status_code == 200
    # a longer history costs no extra query
    for n in range(4):
        _sale(clock, salon, reception.user, days=-40 - n, service=salon.cut, staff=salon.stylist)
        _book(salon, _at(salon, 8 + n, 15))
    clock.at = _at(salon, 0).astimezone(UTC)
    with django_assert_num_queries(len(captured.captured_queries)):
        assert client.get(url).status_code == 200


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
