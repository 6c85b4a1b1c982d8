"""The day calendar page, its booking dialog and the appointment dialog's actions."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, WaitlistEntry
from appointments.services import BookingItem, appointment_book
from customers.models import Customer, SafetyOverride
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ServiceFactory
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day  # check-in and start happen on the appointment's day
pytestmark = pytest.mark.django_db


def book(salon, hour, staff=None, service=None, customer=None, minute=0, day=DAY):
    return appointment_book(
        customer=customer or CustomerFactory(),
        location=salon.location,
        items=[
            BookingItem(
                service=service or salon.cut, staff=staff or salon.stylist, start=salon.at(hour, minute, day)
            )
        ],
        source="front_desk",
        booked_by=None,
    )


def post_booking(client, salon, **overrides):
    data = {
        "customer": salon.customer.pk,
        "date": DAY.isoformat(),
        "notes": "",
        "override_reason": "",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-0-service": salon.colour.pk,
        "items-0-staff": salon.stylist.pk,
        "items-0-start": "10:00",
        "items-1-service": salon.cut.pk,
        "items-1-staff": salon.other_stylist.pk,
        "items-1-start": "",
    }
    data.update(overrides)
    return client.post(reverse("appointments:book"), data, HTTP_HX_REQUEST="true")


def test_day_page_shows_columns_and_appointments_with_masked_phone_for_stylist(client_as, salon, reception):
    # given a booking with a known phone
    customer = CustomerFactory(name="李四", phone="+8613812345678")
    book(salon, 10, customer=customer)
    # when the receptionist opens the day
    response = client_as(reception).get(reverse("appointments:day"), {"date": DAY.isoformat()})
    # then both stylists have a column and the appointment shows with the full phone
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-staff="{salon.stylist.pk}"' in html and f'data-staff="{salon.other_stylist.pk}"' in html
    assert "李四" in html and "138 1234 5678" in html
    assert "10:00–11:00" in html


def test_stylist_sees_masked_phone(client_as, salon):
    book(salon, 10, customer=CustomerFactory(name="李四", phone="+8613812345678"))
    html = (
        client_as(salon.stylist).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    )
    assert "138****5678" in html
    assert "138 1234 5678" not in html


def _block(html: str, appointment) -> str:
    start = html.index(f'data-appointment="{appointment.pk}"')
    return html[start : html.index("</a>", start)]


@pytest.mark.parametrize("who", ["reception", "stylist"])
def test_calendar_shows_each_phone_as_everywhere_else(client_as, salon, reception, who):
    # given clients with a Chinese mobile, a British mobile and no phone
    from customers.privacy import display_phone

    clients = [
        CustomerFactory(name="李四", phone="+8613812345678"),
        CustomerFactory(name="Emily Clark", phone="+447911123456"),
        CustomerFactory(name="王五", phone=None),
    ]
    booked = [book(salon, 10 + n, customer=c) for n, c in enumerate(clients)]
    user = reception if who == "reception" else salon.stylist
    # when
    html = client_as(user).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    # then each block shows the phone as display_phone does (the client list, the week view):
    # in full for the desk (a foreign number in international form), masked for a stylist
    shown = [display_phone(user.user, c.phone) for c in clients]
    if who == "reception":
        assert shown == ["138 1234 5678", "+44 7911 123456", ""]
    else:
        assert shown == ["138****5678", "791***3456", ""]
    for appointment, phone in zip(booked, shown, strict=True):
        assert f'<span class="text-muted">{phone}</span>' in _block(html, appointment)


# 12 queries whatever the number of appointments: session, user, user permissions, group
# permissions, staff member (location access), locations (current location), then the
# selector: opening hours, items (rows: appointment status, client name and phone, service,
# safety flags), columns' staff, working hours, time off; and the header's location list.
QUERIES_DAY = 12


@pytest.mark.parametrize("count", [5, 50])
def test_day_page_query_count_is_constant(client_as, salon, reception, django_assert_num_queries, count):
    # given `count` appointments of 15 minutes spread over both stylists
    fringe = ServiceFactory(name="Fringe", duration_minutes=15, locations=[salon.location])
    for n in range(count):
        staff = salon.stylist if n % 2 == 0 else salon.other_stylist
        minutes = (n // 2) * 15
        book(salon, 9 + minutes // 60, staff=staff, service=fringe, minute=minutes % 60)
    assert Appointment.objects.count() == count
    client = client_as(reception)
    # when / then
    with django_assert_num_queries(QUERIES_DAY):
        response = client.get(reverse("appointments:day"), {"date": DAY.isoformat()})
    assert response.content.decode().count('class="appt st-booked"') == count


# ---- booking dialog -----------------------------------------------------------------------------


def test_booking_dialog_prefills_slot(client_as, salon, reception):
    response = client_as(reception).get(
        reverse("appointments:book"),
        {"date": DAY.isoformat(), "time": "10:15", "staff": salon.stylist.pk},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="10:15"' in html
    assert f'<option value="{salon.stylist.pk}" selected>' in html


def test_book_two_services_second_starts_when_first_ends(client_as, salon, reception):
    # when colour with A at 10:00 then cut with B (start left empty) is posted
    response = post_booking(client_as(reception), salon)
    # then one appointment with two items: colour 10:00-12:00 (A), cut after colour's 15-minute
    # buffer, 12:15-13:15 (B): the one chaining rule (rules.chain), whoever does the next service
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["calendarChanged"] is True
    appointment = Appointment.objects.get()
    items = list(appointment.items.order_by("start"))
    assert [(i.service, i.staff, i.start, i.end) for i in items] == [
        (salon.colour, salon.stylist, salon.at(10), salon.at(12)),
        (salon.cut, salon.other_stylist, salon.at(12, 15), salon.at(13, 15)),
    ]
    assert appointment.source == "front_desk" and appointment.created_by == reception.user


def test_booking_a_taken_slot_is_a_form_error_not_a_500(client_as, salon, reception):
    book(salon, 10, staff=salon.stylist, customer=CustomerFactory(name="李四"))
    response = post_booking(client_as(reception), salon, **{"items-1-service": "", "items-1-staff": ""})
    assert response.status_code == 200
    # the clash names the booking in the way: who, when, for whom
    assert f"{salon.stylist.display_name} is booked 10:00–11:00 (李四)." in response.content.decode()
    assert Appointment.objects.count() == 1


def test_booking_outside_working_hours_is_a_form_error(client_as, salon, reception):
    response = post_booking(
        client_as(reception), salon, **{"items-0-start": "22:00", "items-1-service": "", "items-1-staff": ""}
    )
    assert response.status_code == 200
    assert "closed" in response.content.decode()
    assert Appointment.objects.count() == 0


def test_safety_warnings_need_a_reason_then_the_override_is_recorded(client_as, salon, reception):
    salon.customer.allergies = "PPD hair dye"
    salon.customer.save()
    client = client_as(reception)
    # without a reason: the warning is shown, nothing booked
    response = post_booking(client, salon)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Allergy on file: PPD hair dye" in html and 'id="safety-warnings"' in html
    assert Appointment.objects.count() == 0
    # with a reason: booked, and the override recorded
    response = post_booking(client, salon, override_reason="Patch tested by the manager today")
    assert response.status_code == 204
    assert Appointment.objects.count() == 1
    override = SafetyOverride.objects.get()
    assert (override.context, override.reason) == ("booking", "Patch tested by the manager today")


def test_safety_check_fragment_lists_warnings(client_as, salon, reception):
    salon.customer.contraindications = "pregnant"
    salon.customer.save()
    response = client_as(reception).get(
        reverse("appointments:safety_check"), {"customer": salon.customer.pk, "items-0-service": salon.cut.pk}
    )
    assert "Contraindication: pregnant" in response.content.decode()


def test_booking_a_new_client_by_name_and_phone(client_as, salon, reception):
    response = post_booking(
        client_as(reception),
        salon,
        customer="",
        new_name="王五",
        new_phone="13900001111",
        **{"items-1-service": "", "items-1-staff": ""},
    )
    assert response.status_code == 204
    customer = Customer.objects.get(name="王五")
    assert str(customer.phone) == "+8613900001111"
    assert Appointment.objects.get().customer == customer


def test_booking_without_client_or_service_shows_errors(client_as, salon, reception):
    response = post_booking(
        client_as(reception), salon, customer="", **{"items-0-service": "", "items-1-service": ""}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Pick a client, or type a new client" in html
    assert Appointment.objects.count() == 0


def test_client_lookup_finds_by_name(client_as, salon, reception):
    response = client_as(reception).get(reverse("appointments:client_lookup"), {"lookup": "张三"})
    assert f'data-pick-customer="{salon.customer.pk}"' in response.content.decode()


# ---- appointment dialog and actions -------------------------------------------------------------


def test_detail_dialog_lists_items_and_actions(client_as, salon, reception):
    appointment = book(salon, 10, customer=salon.customer)
    html = client_as(reception).get(reverse("appointments:detail", args=[appointment.pk])).content.decode()
    assert "张三" in html and "Cut" in html and "10:00–11:00" in html
    for action in ("act-confirm", "act-check-in", "act-move", "act-cancel", "act-no-show"):
        assert f'id="{action}"' in html
    assert reverse("customers:detail", args=[salon.customer.pk]) in html


def test_confirm_check_in_start_flow(client_as, salon, reception, on_the_day):
    appointment = book(salon, 10)
    client = client_as(reception)
    for action, status in (("confirm", "confirmed"), ("check_in", "arrived"), ("start", "in_service")):
        response = client.post(reverse("appointments:action", args=[appointment.pk, action]))
        assert response.status_code == 204
        appointment.refresh_from_db()
        assert appointment.status == status


def test_check_in_with_warnings_needs_a_reason(client_as, salon, reception, on_the_day):
    appointment = book(salon, 10, customer=salon.customer)
    salon.customer.allergies = "latex"
    salon.customer.save()
    client = client_as(reception)
    url = reverse("appointments:action", args=[appointment.pk, "check_in"])
    response = client.post(url)
    assert response.status_code == 200
    assert "Allergy on file: latex" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert client.post(url, {"override_reason": "gloves without latex"}).status_code == 204
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED
    assert SafetyOverride.objects.get().context == "check-in"


def test_no_show_before_start_is_refused_in_the_dialog(client_as, salon, reception):
    appointment = book(salon, 10)
    response = client_as(reception).post(reverse("appointments:action", args=[appointment.pk, "no_show"]))
    assert response.status_code == 200
    assert "has not started yet" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_move_to_another_time_and_stylist(client_as, salon, reception):
    appointment = book(salon, 10)
    response = client_as(reception).post(
        reverse("appointments:move", args=[appointment.pk]),
        {"date": DAY.isoformat(), "start": "15:30", "staff": salon.other_stylist.pk},
    )
    assert response.status_code == 204
    item = appointment.items.get()
    assert (item.start, item.staff) == (salon.at(15, 30), salon.other_stylist)


def test_move_onto_a_taken_slot_is_a_form_error(client_as, salon, reception):
    appointment = book(salon, 10)
    book(salon, 15)
    response = client_as(reception).post(
        reverse("appointments:move", args=[appointment.pk]),
        {"date": DAY.isoformat(), "start": "15:00", "staff": salon.stylist.pk},
    )
    assert response.status_code == 200
    assert "That slot was just taken" in response.content.decode()
    assert appointment.items.get().start == salon.at(10)


def test_cancel_with_reason(client_as, salon, reception):
    appointment = book(salon, 10)
    response = client_as(reception).post(
        reverse("appointments:cancel", args=[appointment.pk]), {"reason": "client is ill"}
    )
    assert response.status_code == 204
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "client is ill")


def test_stylist_cannot_cancel_another_stylists_booking(client_as, salon):
    appointment = book(salon, 10, staff=salon.other_stylist)
    response = client_as(salon.stylist).post(
        reverse("appointments:cancel", args=[appointment.pk]), {"reason": "x"}
    )
    assert response.status_code == 200
    assert "own column" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_appointment_of_another_location_is_404(client_as, salon, other_location):
    from tests.accounts.factories import StaffMemberFactory

    outsider = StaffMemberFactory(user__username="desk_xh", role="receptionist", locations=[other_location])
    appointment = book(salon, 10)
    client = client_as(outsider)
    assert client.get(reverse("appointments:detail", args=[appointment.pk])).status_code == 404
    assert (
        client.post(reverse("appointments:cancel", args=[appointment.pk]), {"reason": "x"}).status_code == 404
    )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


# ---- walk-in and waitlist -----------------------------------------------------------------------


def test_walk_in_starts_now_and_is_in_service(client_as, salon, reception, monkeypatch):
    # given it is 10:07 on DAY at the salon
    monkeypatch.setattr(timezone, "now", lambda: salon.at(10, 7))
    # when the desk adds a walk-in
    response = client_as(reception).post(
        reverse("appointments:walk_in"),
        {"customer": salon.customer.pk, "service": salon.cut.pk, "staff": salon.stylist.pk},
    )
    # then it started on the grid line just passed: checked in and in service
    assert response.status_code == 204
    appointment = Appointment.objects.get()
    assert (appointment.status, appointment.source, appointment.start) == (
        "in_service",
        "walk_in",
        salon.at(10),
    )


def test_walk_in_on_a_busy_stylist_is_a_form_error(client_as, salon, reception, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: salon.at(10, 7))
    book(salon, 10, customer=CustomerFactory(name="李四"))
    response = client_as(reception).post(
        reverse("appointments:walk_in"),
        {"customer": salon.customer.pk, "service": salon.cut.pk, "staff": salon.stylist.pk},
    )
    assert response.status_code == 200
    assert f"{salon.stylist.display_name} is booked 10:00–11:00 (李四)." in response.content.decode()
    assert Appointment.objects.count() == 1


def test_waitlist_add_and_panel_offers_a_slot_and_books_it(client_as, salon, reception):
    client = client_as(reception)
    response = client.post(
        reverse("appointments:waitlist_add"),
        {
            "customer": salon.customer.pk,
            "service": salon.cut.pk,
            "date": DAY.isoformat(),
            "earliest": "14:00",
            "latest": "16:00",
        },
    )
    assert response.status_code == 204
    entry = WaitlistEntry.objects.get()
    html = client.get(reverse("appointments:waitlist_panel"), {"date": DAY.isoformat()}).content.decode()
    assert "张三" in html and "14:00" in html
    response = client.post(
        reverse("appointments:waitlist_book", args=[entry.pk]),
        {"staff": salon.stylist.pk, "start": salon.at(14).isoformat()},
    )
    assert response.status_code == 204
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert Appointment.objects.get().items.get().start == salon.at(14)


def test_week_view_lists_the_stylists_week(client_as, salon, reception):
    book(salon, 10, customer=salon.customer)
    book(salon, 11, day=DAY + timedelta(days=1))
    html = (
        client_as(reception)
        .get(reverse("appointments:week"), {"staff": salon.stylist.pk, "date": DAY.isoformat()})
        .content.decode()
    )
    assert html.count("st-booked") == 2
    assert "张三" in html


def test_time_off_and_off_shift_are_shaded(client_as, salon, reception):
    from tests.appointments.factories import time_off

    time_off(salon.stylist, salon.at(14), 2)
    html = client_as(reception).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    # 15-minute rows of 22 px from 09:00: 14:00 is row 20, two hours are 8 rows
    assert '<div class="cal-off" data-top="440" data-height="176">off</div>' in html


def test_stylist_booking_in_another_column_is_a_form_error(client_as, salon):
    response = post_booking(
        client_as(salon.stylist),
        salon,
        **{"items-0-staff": salon.other_stylist.pk, "items-1-service": "", "items-1-staff": ""},
    )
    assert response.status_code == 200
    assert "own column" in response.content.decode()
    assert Appointment.objects.count() == 0


def test_waitlist_one_click_with_a_bad_slot_is_400_and_books_nothing(client_as, salon, reception):
    client = client_as(reception)
    client.post(
        reverse("appointments:waitlist_add"),
        {"customer": salon.customer.pk, "service": salon.cut.pk, "date": DAY.isoformat()},
    )
    entry = WaitlistEntry.objects.get()
    response = client.post(
        reverse("appointments:waitlist_book", args=[entry.pk]), {"staff": salon.stylist.pk, "start": "soon"}
    )
    assert response.status_code == 400
    entry.refresh_from_db()
    assert (entry.status, Appointment.objects.count()) == ("waiting", 0)


def test_every_dialog_opens_with_its_title(client_as, salon, reception):
    appointment = book(salon, 10, customer=salon.customer)
    client = client_as(reception)
    for url, title in (
        (reverse("appointments:book"), "New booking"),
        (reverse("appointments:walk_in"), "Walk-in"),
        (reverse("appointments:waitlist_add"), "Add to waitlist"),
        (reverse("appointments:move", args=[appointment.pk]), "Move 张三"),
        (reverse("appointments:cancel", args=[appointment.pk]), "Cancel the booking of 张三"),
    ):
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert f'<h2 class="modal-title h5" id="dialog-title">{title}</h2>' in response.content.decode()


def test_names_are_escaped_in_the_grid(client_as, salon, reception):
    book(salon, 10, customer=CustomerFactory(name='<script>alert("x")</script>'))
    html = client_as(reception).get(reverse("appointments:day"), {"date": DAY.isoformat()}).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
