"""Online booking /book/<code>/: steps, match by phone, signed manage link, cut-off, rate limit."""

from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, WaitlistEntry
from appointments.services import BookingItem, appointment_book
from appointments.views.online import manage_token
from customers.models import ConsentRecord, Customer
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


@pytest.fixture
def day(salon):
    """Three local days ahead: inside the online window and past the 24-hour cut-off."""
    return (timezone.now().astimezone(salon.location.tz) + timedelta(days=3)).date()


def at(salon, day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=salon.location.tz)


def submit(client, salon, start, *, name="赵六", phone="137 0000 1234", consent=True, staff=None):
    data = {
        "service": salon.cut.pk,
        "staff": (staff or salon.stylist).pk,
        "start": start.isoformat(),
        "name": name,
        "phone": phone,
    }
    if consent:
        data["marketing_consent"] = "on"
    return client.post(reverse("appointments:online_submit", args=[salon.location.code]), data)


def test_steps_list_services_stylists_and_slots_in_local_time(client, salon, day):
    url = reverse("appointments:online_book", args=[salon.location.code])
    assert "Colour" in client.get(url).content.decode()
    stylists = client.get(url, {"service": salon.cut.pk}).content.decode()
    assert 'id="any-stylist"' in stylists and salon.other_stylist.display_name in stylists
    slots = client.get(
        url, {"service": salon.cut.pk, "staff": "any", "date": day.isoformat()}
    ).content.decode()
    assert "Asia/Shanghai" in slots
    assert ">09:00<" in slots and ">20:00<" in slots and ">20:15<" not in slots  # closes 21:00, cut is 1 h


def test_booking_creates_client_consent_and_redirects_to_signed_manage_page(client, salon, day):
    response = submit(client, salon, at(salon, day, 10))
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert (
        response["Location"]
        == reverse("appointments:online_manage", args=[manage_token(appointment)]) + "?new=1"
    )
    customer = appointment.customer
    assert (customer.name, str(customer.phone), customer.source, customer.consent_sms) == (
        "赵六",
        "+8613700001234",
        "online",
        True,
    )
    assert ConsentRecord.objects.get(customer=customer).method == "online booking"
    assert (appointment.source, appointment.created_by) == ("online", None)
    page = client.get(response["Location"]).content.decode()
    assert "10:00" in page and "Asia/Shanghai" in page and 'id="manage-cancel"' in page


def test_existing_phone_books_for_that_client_not_a_duplicate(client, salon, day):
    existing = CustomerFactory(name="Zhao Liu", phone="+8613700001234")
    submit(client, salon, at(salon, day, 10), name="赵六 (typo)", phone="+86 137-0000-1234", consent=False)
    assert Customer.objects.filter(phone="+8613700001234").count() == 1
    assert Appointment.objects.get().customer == existing


def test_taken_slot_is_a_clear_409_not_500(client, salon, day):
    submit(client, salon, at(salon, day, 10))
    response = submit(client, salon, at(salon, day, 10), name="Other", phone="13700009999")
    assert response.status_code == 409
    assert "just taken" in response.content.decode()
    assert Appointment.objects.count() == 1


def test_bad_phone_is_a_form_error(client, salon, day):
    response = submit(client, salon, at(salon, day, 10), phone="12")
    assert response.status_code == 400
    assert Appointment.objects.count() == 0


def test_rate_limit_per_phone_answers_429(client, salon, day, settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "online_book_phone": "2/h"}
    for hour in (10, 11):
        assert submit(client, salon, at(salon, day, hour)).status_code == 302
    response = submit(client, salon, at(salon, day, 12))
    assert response.status_code == 429
    assert 'id="too-many"' in response.content.decode()
    assert Appointment.objects.count() == 2


def test_rate_limit_per_ip_answers_429(client, salon, day, settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "online_book": "1/h"}
    assert submit(client, salon, at(salon, day, 10), phone="13700000001").status_code == 302
    assert submit(client, salon, at(salon, day, 11), phone="13700000002").status_code == 429
    assert Appointment.objects.count() == 1


def test_manage_link_cancels_before_the_cutoff(client, salon, day):
    submit(client, salon, at(salon, day, 10))
    appointment = Appointment.objects.get()
    token = manage_token(appointment)
    response = client.post(reverse("appointments:online_cancel", args=[token]))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_by) == ("cancelled", None)


def test_manage_link_moves_to_another_slot(client, salon, day):
    submit(client, salon, at(salon, day, 10))
    appointment = Appointment.objects.get()
    token = manage_token(appointment)
    page = client.get(reverse("appointments:online_move", args=[token]), {"date": day.isoformat()})
    assert at(salon, day, 15).isoformat() in page.content.decode()
    response = client.post(
        reverse("appointments:online_move", args=[token]), {"start": at(salon, day, 15).isoformat()}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.start, appointment.version) == (at(salon, day, 15), 2)


def test_after_the_cutoff_the_page_says_call_the_salon_and_cancel_is_refused(client, salon, day, monkeypatch):
    submit(client, salon, at(salon, day, 10))
    appointment = Appointment.objects.get()
    token = manage_token(appointment)
    # when it is 3 hours before the start (inside the 24-hour cut-off)
    monkeypatch.setattr(timezone, "now", lambda: at(salon, day, 7))
    page = client.get(reverse("appointments:online_manage", args=[token])).content.decode()
    assert 'id="manage-call"' in page and 'id="manage-cancel"' not in page
    client.post(reverse("appointments:online_cancel", args=[token]))
    assert client.get(reverse("appointments:online_move", args=[token])).status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.start) == ("booked", at(salon, day, 10))


def test_tampered_token_is_404(client, salon, day):
    submit(client, salon, at(salon, day, 10))
    token = manage_token(Appointment.objects.get())
    assert client.get(reverse("appointments:online_manage", args=[token[:-2] + "xx"])).status_code == 404


def test_no_slot_offers_the_waitlist(client, salon, day):
    other_day = day + timedelta(days=1)
    for hour in range(9, 21):
        for staff in (salon.stylist, salon.other_stylist):
            appointment_book(
                customer=CustomerFactory(),
                location=salon.location,
                items=[BookingItem(service=salon.cut, staff=staff, start=at(salon, other_day, hour))],
                source="front_desk",
                booked_by=None,
            )
    url = reverse("appointments:online_book", args=[salon.location.code])
    page = client.get(
        url, {"service": salon.cut.pk, "staff": "any", "date": other_day.isoformat()}
    ).content.decode()
    assert 'id="online-waitlist"' in page
    response = client.post(
        reverse("appointments:online_waitlist", args=[salon.location.code]),
        {
            "service": salon.cut.pk,
            "staff": "",
            "date": other_day.isoformat(),
            "name": "钱七",
            "phone": "13600001111",
        },
    )
    assert response.status_code == 200
    entry = WaitlistEntry.objects.get()
    assert (entry.customer.name, entry.date, entry.staff) == ("钱七", other_day, None)


def test_any_stylist_goes_to_the_least_booked_one(client, salon, day):
    # given the first stylist by name already has two bookings that day
    for hour in (9, 17):
        appointment_book(
            customer=CustomerFactory(),
            location=salon.location,
            items=[BookingItem(service=salon.cut, staff=salon.stylist, start=at(salon, day, hour))],
            source="front_desk",
            booked_by=None,
        )
    url = reverse("appointments:online_book", args=[salon.location.code])
    page = client.get(
        url, {"service": salon.cut.pk, "staff": "any", "date": day.isoformat()}
    ).content.decode()
    # then the free 12:00 slot is offered with the other stylist
    noon = at(salon, day, 12).isoformat()
    assert (
        f"start={noon.replace('+', '%2B').replace(':', '%3A')}&amp;slot_staff={salon.other_stylist.pk}"
        in page
    )


def test_an_allergy_note_does_not_stop_a_client_booking_a_cut_online(client, salon, day):
    CustomerFactory(name="Li Mei", phone="+8613700001234", allergies="Nickel")
    response = submit(client, salon, at(salon, day, 10), name="Li Mei", phone="13700001234")
    assert response.status_code == 302
    assert Appointment.objects.get().customer.allergies == "Nickel"


def test_a_colour_without_a_valid_patch_test_cannot_be_booked_online(client, salon, day):
    salon.colour.requires_patch_test = True
    salon.colour.save(update_fields=["requires_patch_test"])
    CustomerFactory(name="Li Mei", phone="+8613700001234")
    data = {
        "service": salon.colour.pk,
        "staff": salon.stylist.pk,
        "start": at(salon, day, 10).isoformat(),
        "name": "Li Mei",
        "phone": "13700001234",
    }
    response = client.post(reverse("appointments:online_submit", args=[salon.location.code]), data)
    assert response.status_code in (400, 409)
    assert Appointment.objects.count() == 0
