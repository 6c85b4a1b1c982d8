"""Issue 9, item 2: time is checked. A start that has passed is refused (desk pages and API)
unless a manager records a past visit; check-in, start and checkout happen on the appointment's
own day (the location's local date); a receipt carries the visit's own date; the stylist's day
keeps its date across Start and Save and has previous / today / next."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, Visit
from appointments.selectors import receipt_data, visit_get
from appointments.services import (
    BookingItem,
    CheckoutLine,
    PaymentIn,
    appointment_book,
    appointment_check_in,
    appointment_start,
    visit_checkout,
    walk_in_create,
)
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


@pytest.fixture
def at_ten(monkeypatch, salon):
    """It is 10:07 on DAY at the salon (Asia/Shanghai)."""
    moment = salon.at(10, 7).astimezone(UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def _book(salon, hour, *, by, minute=0, day=DAY, record_past=False, staff=None):
    return appointment_book(
        customer=CustomerFactory(),
        location=salon.location,
        items=[
            BookingItem(service=salon.cut, staff=staff or salon.stylist, start=salon.at(hour, minute, day))
        ],
        source="front_desk",
        booked_by=by,
        record_past=record_past,
    )


# ---- a start that has passed -------------------------------------------------------------------


def test_a_start_that_has_passed_is_refused_with_a_clear_message(salon, reception, at_ten):
    with pytest.raises(ValidationError) as refused:
        _book(salon, 9, by=reception.user, minute=45)
    assert refused.value.message_dict == {
        "start": [
            "2027-01-06 09:45 has already passed (it is now 2027-01-06 10:07 at 静安店). Choose a later time."
        ]
    }
    assert not Appointment.objects.exists()


def test_the_current_slot_and_later_are_fine(salon, reception, at_ten):
    # 10:00 is the slot the clock is in (a client already in the chair)
    assert _book(salon, 10, by=reception.user).start == salon.at(10)
    assert _book(salon, 11, by=reception.user, staff=salon.other_stylist).start == salon.at(11)


def test_a_manager_records_a_past_visit_with_the_explicit_choice(salon, manager, at_ten):
    with pytest.raises(ValidationError) as refused:
        _book(salon, 9, by=manager.user)
    # the manager is told how
    assert "Record a past visit" in refused.value.message_dict["start"][0]
    appointment = _book(salon, 9, by=manager.user, record_past=True)
    assert appointment.start == salon.at(9)
    assert manager.user.has_perm("appointments.record_past_visit")


def test_the_desk_may_not_record_a_past_visit(salon, reception, at_ten):
    with pytest.raises(ValidationError) as refused:
        _book(salon, 9, by=reception.user, record_past=True)
    assert refused.value.message_dict == {"record_past": ["Only a manager can record a past visit."]}
    assert not reception.user.has_perm("appointments.record_past_visit")
    assert not Appointment.objects.exists()


def test_the_system_books_in_the_past_as_before(salon, at_ten):
    # booked_by=None: imports, commands, the waitlist's own code, tests
    assert _book(salon, 9, by=None).start == salon.at(9)


def test_a_walk_in_starts_on_the_line_just_passed(salon, reception, at_ten):
    appointment = walk_in_create(
        customer=CustomerFactory(),
        location=salon.location,
        service=salon.cut,
        staff=salon.stylist,
        by=reception.user,
    )
    assert appointment.start == salon.at(10)  # 10:00 < 10:07, and not refused as past


def test_the_booking_dialog_refuses_a_past_start_and_offers_managers_the_choice(
    client_as, salon, reception, manager, at_ten
):
    data = {
        "customer": salon.customer.pk,
        "date": DAY.isoformat(),
        "notes": "",
        "override_reason": "",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-0-service": salon.cut.pk,
        "items-0-staff": salon.stylist.pk,
        "items-0-start": "09:00",
    }
    url = reverse("appointments:book")
    # the desk: no checkbox, and a clear refusal
    client = client_as(reception)
    assert 'name="record_past"' not in client.get(url, {"date": DAY.isoformat()}).content.decode()
    html = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "2027-01-06 09:00 has already passed (it is now 2027-01-06 10:07 at 静安店)." in html
    assert not Appointment.objects.exists()
    # a manager: the checkbox, and with it the past visit is booked
    client = client_as(manager)
    assert 'name="record_past"' in client.get(url, {"date": DAY.isoformat()}).content.decode()
    assert client.post(url, data, HTTP_HX_REQUEST="true").status_code == 200  # refused without it
    assert client.post(url, {**data, "record_past": "on"}, HTTP_HX_REQUEST="true").status_code == 204
    assert Appointment.objects.get().start == salon.at(9)


def test_the_api_refuses_a_past_start_unless_a_manager_sends_record_past(
    api_as, salon, reception, manager, at_ten
):
    payload = {
        "customer": salon.customer.pk,
        "location": salon.location.pk,
        "items": [{"service": salon.cut.pk, "staff": salon.stylist.pk, "start": "2027-01-06T09:00:00+08:00"}],
    }
    refused = api_as(reception).post("/api/v1/appointments/", payload, format="json")
    assert refused.status_code == 400 and "has already passed" in refused.json()["start"][0]
    denied = api_as(reception).post("/api/v1/appointments/", {**payload, "record_past": True}, format="json")
    assert denied.status_code == 400 and list(denied.json()) == ["record_past"]
    booked = api_as(manager).post("/api/v1/appointments/", {**payload, "record_past": True}, format="json")
    assert booked.status_code == 201 and booked.json()["start"] == "2027-01-06T09:00:00+08:00"


# ---- check-in, start and checkout on the appointment's own day ----------------------------------


def test_check_in_of_another_days_appointment_is_refused(salon, reception, at_ten):
    tomorrow = _book(salon, 11, by=reception.user, day=DAY + timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        appointment_check_in(appointment=tomorrow, by=reception.user)
    assert refused.value.message_dict == {
        "appointment": ["This appointment is on 2027-01-07; check it in on that day."]
    }
    tomorrow.refresh_from_db()
    assert tomorrow.status == AppointmentStatus.BOOKED


def test_check_in_from_the_dialog_on_another_day_says_why(client_as, salon, reception, at_ten):
    yesterday = _book(salon, 11, by=None, day=DAY - timedelta(days=1))
    html = (
        client_as(reception)
        .post(reverse("appointments:action", args=[yesterday.pk, "check_in"]))
        .content.decode()
    )
    assert "This appointment is on 2027-01-05; check it in on that day." in html
    yesterday.refresh_from_db()
    assert yesterday.status == AppointmentStatus.BOOKED


def test_start_of_another_days_appointment_is_refused(salon, reception, monkeypatch, at_ten):
    appointment = _book(salon, 11, by=reception.user)
    appointment_check_in(appointment=appointment, by=reception.user)
    # the next morning nobody started it
    monkeypatch.setattr(timezone, "now", lambda: salon.at(9, day=DAY + timedelta(days=1)).astimezone(UTC))
    with pytest.raises(ValidationError) as refused:
        appointment_start(appointment=appointment, by=reception.user)
    assert refused.value.message_dict == {
        "appointment": ["This appointment is on 2027-01-06; start it on that day."]
    }


def _pay(salon, appointment, by):
    return visit_checkout(
        location=salon.location,
        customer=appointment.customer,
        by=by,
        appointment=appointment,
        payments=[PaymentIn("cash", Decimal("200.00"))],
    )


def test_checkout_of_yesterdays_appointment_is_for_a_manager_only(
    salon, reception, manager, monkeypatch, at_ten
):
    appointment = _book(salon, 11, by=reception.user)
    appointment_check_in(appointment=appointment, by=reception.user)
    # forgotten; the next morning at 09:30
    next_morning = salon.at(9, 30, day=DAY + timedelta(days=1)).astimezone(UTC)
    monkeypatch.setattr(timezone, "now", lambda: next_morning)
    with pytest.raises(ValidationError) as refused:
        _pay(salon, appointment, reception.user)
    assert refused.value.message_dict == {
        "appointment": [
            "This appointment is on 2027-01-06; check it out on that day. "
            "A manager can still check out an earlier day's appointment."
        ]
    }
    assert not Visit.objects.exists()
    visit = _pay(salon, appointment, manager.user)
    # the receipt carries the day of the visit, and when it was paid
    receipt = receipt_data(visit_get(pk=visit.pk))
    assert receipt["at"] == salon.at(11)
    assert receipt["paid_at"] == next_morning
    assert receipt["paid_other_day"] is True


def test_checkout_of_a_later_days_appointment_is_refused_even_for_a_manager(salon, manager, at_ten):
    tomorrow = _book(salon, 11, by=manager.user, day=DAY + timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        _pay(salon, tomorrow, manager.user)
    assert refused.value.message_dict == {
        "appointment": ["This appointment is on 2027-01-07; check it out on that day."]
    }


def test_a_late_appointment_past_midnight_is_checked_out_after_midnight(
    salon, reception, monkeypatch, at_ten
):
    # (booking cannot cross midnight, opening hours end by 23:59; an imported or admin-made
    # appointment can)
    start = salon.at(23, 30)
    appointment = Appointment.objects.create(
        customer=salon.customer, location=salon.location, start=start, end=start + timedelta(hours=1)
    )
    monkeypatch.setattr(timezone, "now", lambda: salon.at(0, 20, day=DAY + timedelta(days=1)).astimezone(UTC))
    visit = visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        appointment=appointment,
        lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
        payments=[PaymentIn("cash", Decimal("200.00"))],
    )
    assert visit.status == Visit.Status.COMPLETED


# ---- the receipt -------------------------------------------------------------------------------


def test_receipt_page_shows_the_visit_date_and_the_payment_time(
    client_as, salon, reception, manager, monkeypatch, at_ten
):
    appointment = _book(salon, 11, by=reception.user)
    appointment_check_in(appointment=appointment, by=reception.user)
    monkeypatch.setattr(timezone, "now", lambda: salon.at(9, 30, day=DAY + timedelta(days=1)).astimezone(UTC))
    visit = _pay(salon, appointment, manager.user)
    html = client_as(manager).get(reverse("appointments:receipt", args=[visit.pk])).content.decode()
    assert '<span id="receipt-time">Wed 2027-01-06 11:00 (Asia/Shanghai)</span>' in html
    assert "2027-01-07 09:30" in html[html.index('id="receipt-paid"') :]


def test_receipt_paid_the_same_day_shows_the_time_only(salon, reception, monkeypatch, at_ten):
    appointment = _book(salon, 11, by=reception.user)
    appointment_check_in(appointment=appointment, by=reception.user)
    monkeypatch.setattr(timezone, "now", lambda: salon.at(12, 10).astimezone(UTC))
    receipt = receipt_data(visit_get(pk=_pay(salon, appointment, reception.user).pk))
    assert (receipt["at"], receipt["paid_at"], receipt["paid_other_day"]) == (
        salon.at(11),
        salon.at(12, 10),
        False,
    )


# ---- the stylist's day keeps its date -------------------------------------------------------------


def test_my_day_has_previous_today_and_next(client_as, salon, at_ten):
    html = (
        client_as(salon.stylist).get(reverse("appointments:my_day"), {"date": "2027-01-09"}).content.decode()
    )
    assert 'id="my-day-date">Sat 2027-01-09<' in html
    assert 'href="?date=2027-01-08" id="my-day-prev"' in html
    assert 'href="?date=2027-01-06" id="my-day-today"' in html  # the salon's today (the clock)
    assert 'href="?date=2027-01-10" id="my-day-next"' in html


def test_start_and_save_return_to_the_same_day(client_as, salon, reception, at_ten):
    appointment = _book(salon, 11, by=reception.user)
    appointment_check_in(appointment=appointment, by=reception.user)
    item = appointment.items.get()
    client = client_as(salon.stylist)
    back = f"{reverse('appointments:my_day')}?date={DAY.isoformat()}"
    response = client.post(reverse("appointments:my_day_start", args=[item.pk]))
    assert response["Location"] == back
    response = client.post(
        reverse("appointments:service_record", args=[item.pk]), {"notes": "ok", "result": ""}
    )
    assert response["Location"] == back
    html = client.get(reverse("appointments:service_record", args=[item.pk])).content.decode()
    assert f'href="{back}"' in html  # Back goes to that day too
