"""Online booking /book/<code>/: steps, the day picker, match by name and phone, signed manage
link, cut-off, rate limit."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, WaitlistEntry, WorkingHours
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


def test_existing_phone_and_agreeing_name_books_for_that_client_not_a_duplicate(client, salon, day):
    existing = CustomerFactory(name="Zhao Liu", phone="+8613700001234")
    submit(client, salon, at(salon, day, 10), name=" zhao-LIU ", phone="+86 137-0000-1234", consent=False)
    assert Customer.objects.filter(phone="+8613700001234").count() == 1
    assert Appointment.objects.get().customer == existing


def test_existing_phone_with_another_name_is_held_not_booked_onto_that_client(client, salon, day):
    # (the rule and the desk's answers: tests/appointments/test_online_held.py)
    existing = CustomerFactory(name="Zhao Liu", phone="+8613700001234")
    submit(client, salon, at(salon, day, 10), name="赵六 (typo)", phone="+86 137-0000-1234", consent=False)
    appointment = Appointment.objects.get()
    assert appointment.customer != existing
    assert (appointment.customer.name, appointment.customer.phone) == ("赵六 (typo)", None)
    assert existing.appointments.count() == 0


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


# ---- the day picker: opens on a free day, skips the others, "next available" ---------------------

DAY = fixtures_core.DAY  # a Wednesday


def _clock(monkeypatch, salon, day, hour, minute=0):
    monkeypatch.setattr(timezone, "now", lambda: at(salon, day, hour, minute).astimezone(UTC))


def _days_off(staff, *days):
    WorkingHours.objects.filter(staff=staff, weekday__in=[d.weekday() for d in days]).delete()


def _slots_page(client, salon, staff="any", **query):
    url = reverse("appointments:online_book", args=[salon.location.code])
    response = client.get(url, {"service": salon.cut.pk, "staff": staff, **query})
    assert response.status_code == 200
    return response.content.decode()


def _linked_days(page) -> list[str]:
    return re.findall(r'<a class="day-cell[^"]*" href="[^"]*" data-date="([0-9-]+)"', page)


def _shown_day(page) -> str:
    return re.search(r'<h2 class="h5 mb-1" id="online-day">[^<]* ([0-9-]+)</h2>', page).group(1)


def test_day_picker_opens_on_the_first_day_with_free_time(client, salon, monkeypatch):
    # given it is 20:30: today's last start (20:00, the salon closes at 21:00) has gone
    _clock(monkeypatch, salon, DAY, 20, 30)
    page = _slots_page(client, salon)
    # then the picker opens tomorrow, and today is shown but not offered
    tomorrow = DAY + timedelta(days=1)
    assert _shown_day(page) == tomorrow.isoformat()
    assert _linked_days(page) == [(tomorrow + timedelta(days=n)).isoformat() for n in range(14)]
    assert f'data-date="{DAY.isoformat()}">' in page and 'aria-current="date"' in page
    assert ">09:00<" in page


def test_day_picker_skips_the_stylists_days_off_and_full_days(client, salon, monkeypatch):
    # given the stylist does not work on Thursdays and Fridays, and Saturday is fully booked
    _clock(monkeypatch, salon, DAY, 20, 30)
    thursday, friday, saturday = (DAY + timedelta(days=n) for n in (1, 2, 3))
    _days_off(salon.stylist, thursday, friday)
    for hour in range(9, 21):
        appointment_book(
            customer=CustomerFactory(),
            location=salon.location,
            items=[BookingItem(service=salon.cut, staff=salon.stylist, start=at(salon, saturday, hour))],
            source="front_desk",
            booked_by=None,
        )
    page = _slots_page(client, salon, staff=salon.stylist.pk)
    # then it opens on Sunday; no Thursday, Friday or Saturday is a link
    sunday = DAY + timedelta(days=4)
    assert _shown_day(page) == sunday.isoformat()
    linked = _linked_days(page)
    assert linked[0] == sunday.isoformat()
    off = {thursday, friday, saturday, thursday + timedelta(days=7), friday + timedelta(days=7)}
    assert not {d.isoformat() for d in off} & set(linked)
    # while "anyone available" still has those days (the other stylist works)
    assert thursday.isoformat() in _linked_days(_slots_page(client, salon))


def test_an_empty_day_offers_the_next_available_day(client, salon, monkeypatch):
    _clock(monkeypatch, salon, DAY, 10, 5)
    thursday = DAY + timedelta(days=1)
    _days_off(salon.stylist, thursday, thursday + timedelta(days=1))
    page = _slots_page(client, salon, staff=salon.stylist.pk, date=thursday.isoformat())
    assert _shown_day(page) == thursday.isoformat()
    assert 'id="online-slots"' in page and "slot-btn" not in page
    saturday = (thursday + timedelta(days=2)).isoformat()
    assert (
        f'id="next-available" href="?service={salon.cut.pk}&amp;staff={salon.stylist.pk}&amp;date={saturday}"'
        in page
    )
    assert 'id="online-waitlist"' in page  # the waitlist for the day asked stays on offer


def test_the_window_is_searched_with_one_availability_call(client, salon, monkeypatch):
    from appointments.services import online as online_service

    calls = []
    real = online_service.availability_find
    monkeypatch.setattr(online_service, "availability_find", lambda **kw: calls.append(kw) or real(**kw))
    _clock(monkeypatch, salon, DAY, 10, 5)
    _days_off(salon.stylist, DAY + timedelta(days=1))
    _slots_page(client, salon, staff=salon.stylist.pk, date=(DAY + timedelta(days=1)).isoformat())
    assert [(c["start_date"], c["end_date"]) for c in calls] == [(DAY, DAY + timedelta(days=14))]


def test_no_free_time_in_the_window_offers_anyone_and_the_salon_phone(client, salon, monkeypatch):
    _clock(monkeypatch, salon, DAY, 10, 5)
    salon.location.phone = "021-5555 0100"
    salon.location.save(update_fields=["phone"])
    WorkingHours.objects.filter(staff=salon.stylist).delete()
    page = _slots_page(client, salon, staff=salon.stylist.pk)
    assert _linked_days(page) == []
    assert "has no free time in the next 15 days" in page
    assert f'id="try-anyone" href="?service={salon.cut.pk}&amp;staff=any"' in page
    assert 'href="tel:021-5555 0100"' in page


def test_a_bad_or_far_date_is_kept_inside_the_window_not_an_error(client, salon, monkeypatch):
    _clock(monkeypatch, salon, DAY, 10, 5)
    assert _shown_day(_slots_page(client, salon, date="2027-13-45")) == DAY.isoformat()
    far = _slots_page(client, salon, date="2099-01-01")
    assert _shown_day(far) == (DAY + timedelta(days=14)).isoformat()


def test_move_page_opens_on_the_first_day_past_the_cutoff(client, salon, monkeypatch):
    _clock(monkeypatch, salon, DAY, 10, 5)
    submit(client, salon, at(salon, DAY + timedelta(days=3), 10))
    token = manage_token(Appointment.objects.get())
    page = client.get(reverse("appointments:online_move", args=[token])).content.decode()
    # today is inside the 24-hour cut-off; tomorrow from 10:05 on is past it
    tomorrow = DAY + timedelta(days=1)
    assert _shown_day(page) == tomorrow.isoformat()
    assert _linked_days(page)[0] == tomorrow.isoformat()
    assert ">10:00<" not in page.split('id="online-slots"')[1].split("</div>")[0]
    assert ">10:15<" in page
    empty = client.get(reverse("appointments:online_move", args=[token]), {"date": DAY.isoformat()})
    assert f'id="next-available" href="?date={tomorrow.isoformat()}"' in empty.content.decode()


# ---- the cut-off: told before booking; a booking inside it says "call the salon" -----------------


def _details_page(client, salon, start):
    url = reverse("appointments:online_book", args=[salon.location.code])
    query = {
        "service": salon.cut.pk,
        "staff": "any",
        "start": start.isoformat(),
        "slot_staff": salon.stylist.pk,
    }
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def test_details_step_tells_the_cutoff_before_booking(client, salon, monkeypatch):
    _clock(monkeypatch, salon, DAY, 10, 5)
    page = _details_page(client, salon, at(salon, DAY + timedelta(days=3), 10))
    assert 'id="cutoff-note"' in page
    assert "You can change or cancel online until 24 hours before the start" in page


def test_details_step_warns_when_the_time_is_inside_the_cutoff(client, salon, monkeypatch):
    _clock(monkeypatch, salon, DAY, 10, 5)
    salon.location.phone = "021-5555 0100"
    salon.location.save(update_fields=["phone"])
    page = _details_page(client, salon, at(salon, DAY + timedelta(days=1), 9))
    note = page.split('id="cutoff-note"')[1].split("</div>")[0]
    assert "less than 24 hours away" in note and "cannot be changed or cancelled online" in note
    assert 'href="tel:021-5555 0100"' in note


def test_a_booking_inside_the_cutoff_says_call_the_salon_on_its_confirmation(client, salon, monkeypatch):
    _clock(monkeypatch, salon, DAY, 10, 5)
    salon.location.phone = "021-5555 0100"
    salon.location.save(update_fields=["phone"])
    response = submit(client, salon, at(salon, DAY, 15))
    page = client.get(response["Location"]).content.decode()
    assert 'id="booked-ok"' in page and "Keep this page" not in page
    call = page.split('id="manage-call"')[1].split("</div>")[0]
    assert "starts in less than 24 hours, so it cannot be changed or cancelled online" in call
    assert 'href="tel:021-5555 0100"' in call
    assert 'id="manage-move"' not in page and 'id="manage-cancel"' not in page


def test_a_booking_before_the_cutoff_keeps_its_manage_link(client, salon, monkeypatch):
    _clock(monkeypatch, salon, DAY, 10, 5)
    response = submit(client, salon, at(salon, DAY + timedelta(days=2), 15))
    page = client.get(response["Location"]).content.decode()
    assert "Keep this page: its link lets you change or cancel." in page
    assert 'id="manage-move"' in page and 'id="manage-cancel"' in page and 'id="manage-call"' not in page
