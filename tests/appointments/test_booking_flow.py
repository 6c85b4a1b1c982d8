"""Status flow, walk-ins, waitlist, service records, events, timeline and the stylist-client rule."""

from datetime import UTC, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from appointments import events
from appointments.models import Appointment, AppointmentStatus, WaitlistEntry
from appointments.services import (
    BookingItem,
    CheckoutLine,
    PaymentIn,
    SafetyWarningsError,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_no_show,
    appointment_start,
    service_record_write,
    visit_checkout,
    waitlist_add,
    waitlist_matches,
    walk_in_create,
)
from customers.privacy import is_stylists_client
from customers.timeline import timeline_for
from salon_crm.errors import Conflict
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ProductFactory

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day  # check-in, start and checkout happen on the appointment's day
pytestmark = pytest.mark.django_db
DAY = fixtures_core.DAY


def book(salon, start, by, staff=None, customer=None, service=None):
    return appointment_book(
        customer=customer or salon.customer,
        location=salon.location,
        items=[BookingItem(service=service or salon.cut, staff=staff or salon.stylist, start=start)],
        source="front_desk",
        booked_by=by.user,
    )


def test_booking_events_fire_after_commit(salon, reception, django_capture_on_commit_callbacks):
    seen = []
    with events.listening("test", lambda e: seen.append((e.kind, e.appointment_id))):
        with django_capture_on_commit_callbacks(execute=True):
            appt = book(salon, salon.at(10), reception)
        assert seen == [("booked", appt.pk)]
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(appointment=appt, by=reception.user)
        assert seen == [("booked", appt.pk), ("cancelled", appt.pk)]
        # a refused booking sends nothing
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
            book(salon, salon.at(23), reception)
        assert len(seen) == 2


def test_check_in_rechecks_safety_then_start(salon, reception, on_the_day):
    appt = book(salon, salon.at(10), reception)
    salon.customer.contraindications = "pregnant"
    salon.customer.save()
    with pytest.raises(SafetyWarningsError):
        appointment_check_in(appointment=appt, by=reception.user)
    assert Appointment.objects.get().status == "booked"
    appointment_check_in(appointment=appt, by=reception.user, override_reason="doctor's note")
    # and again at the chair (appointment_start asks whatever happened at check-in)
    with pytest.raises(SafetyWarningsError):
        appointment_start(appointment=appt, by=reception.user)
    started = appointment_start(appointment=appt, by=reception.user, override_reason="doctor's note seen")
    assert started.status == AppointmentStatus.IN_SERVICE


def test_no_show_only_after_start_and_frees_time(salon, reception):
    future = book(salon, salon.at(10), reception)
    with pytest.raises(ValidationError):
        appointment_no_show(appointment=future, by=reception.user)
    now = timezone.now()
    past_start = now - timedelta(hours=2)
    past = Appointment.objects.create(
        customer=salon.customer,
        location=salon.location,
        start=past_start,
        end=past_start + timedelta(hours=1),
    )
    assert appointment_no_show(appointment=past, by=reception.user).status == "no_show"
    with pytest.raises(Conflict):
        appointment_cancel(appointment=past, by=reception.user)


def test_walk_in_starts_now_and_is_in_service(salon, reception, monkeypatch):
    # it is 10:07 at the salon (a fixed clock: the test must not depend on the hour it runs)
    now = salon.at(10, 7).astimezone(UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    appt = walk_in_create(
        customer=salon.customer,
        location=salon.location,
        service=salon.cut,
        staff=salon.stylist,
        by=reception.user,
    )
    assert (appt.status, appt.source, appt.arrived_at) == ("in_service", "walk_in", now)
    assert appt.start == salon.at(10)  # the grid line just passed


def test_waitlist_matches_when_a_slot_frees(salon, reception):
    # the stylist is booked all afternoon; the client waits for 14:00–16:00 with them
    blockers = [book(salon, salon.at(h), reception, customer=CustomerFactory()) for h in range(13, 18)]
    entry = waitlist_add(
        customer=salon.customer,
        location=salon.location,
        service=salon.cut,
        date=DAY,
        staff=salon.stylist,
        earliest=time(14),
        latest=time(16),
        by=reception.user,
    )
    assert waitlist_matches(location=salon.location, date=DAY) == []
    appointment_cancel(appointment=blockers[2], by=reception.user)  # 15:00 frees up
    [(matched, slots)] = waitlist_matches(location=salon.location, date=DAY)
    assert matched == entry
    assert [s.start for s in slots] == [salon.at(15)]
    assert WaitlistEntry.objects.get().status == "waiting"


def test_service_record_own_items_only(salon, reception, stylist, other_stylist):
    appt = book(salon, salon.at(10), reception)
    item = appt.items.get()
    product = ProductFactory(name="Developer 6%", kind="back_bar")
    with pytest.raises(PermissionDenied):
        service_record_write(item=item, by=other_stylist.user, notes="x", result="y")
    record = service_record_write(
        item=item, by=stylist.user, notes="Cut 3 cm", result="Happy", products=[product]
    )
    assert (record.notes, record.result, list(record.products_used.all())) == ("Cut 3 cm", "Happy", [product])


def test_booking_makes_the_client_a_stylists_client(salon, reception, stylist, other_stylist):
    assert is_stylists_client(stylist, salon.customer) is False
    book(salon, salon.at(10), reception)
    assert is_stylists_client(stylist, salon.customer) is True
    assert is_stylists_client(other_stylist, salon.customer) is False


@pytest.mark.parametrize("visits", [1, 6])
def test_timeline_shows_visits_and_appointments_in_constant_queries(
    salon, reception, visits, django_assert_num_queries, on_the_day
):
    for n in range(visits):
        appt = book(salon, salon.at(9 + n), reception)
        visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            appointment=appt,
            lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
            payments=[PaymentIn("cash", Decimal("200.00"))],
        )
    upcoming = book(salon, salon.at(18), reception)
    reception.user.refresh_from_db()
    user = reception.user
    user.has_perm("customers.view_health")  # warm the permission cache (not the timeline's cost)
    # 2 queries: the user's staff row (the locations and the stylist check of feedback's
    # sources), then one statement for every source's rows (visits with their lines and staff,
    # appointments with their services, customers' formulas, patch tests and consent,
    # messaging's messages, feedback's complaints and calls) — the same for 1 visit or 6
    with django_assert_num_queries(2):
        events = timeline_for(customer=salon.customer, user=user, limit=30)
    kinds = [e.kind for e in events]
    assert kinds.count("visit") == visits
    assert kinds.count("appointment") == 1
    visit_event = next(e for e in events if e.kind == "visit")
    assert "Cut (" in visit_event.detail and "¥200.00" in visit_event.title
    assert upcoming.pk
