"""The quick booking dialog and the one walk-in flow (issue 9, item 5), server side: what the
dialogs render (focus, one service row, prices and durations, the reason only with warnings),
what they answer (the toast, the new block), the clash that names the booking in the way, and
the header's walk-in button. The browser side: test_browser_card_and_dialog.py."""

import json
import re
from datetime import UTC

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from appointments import events
from appointments.models import Appointment, AppointmentStatus
from appointments.services import BookingItem, appointment_book
from customers.models import Customer, SafetyOverride
from tests.accounts.factories import StaffMemberFactory
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


@pytest.fixture
def at_ten(monkeypatch, salon):
    """It is 10:07 on DAY at the salon: open, and DAY's afternoon is still ahead."""
    now = salon.at(10, 7).astimezone(UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def _book(salon, hour, *, customer=None, staff=None, service=None, minute=0):
    return appointment_book(
        customer=customer or CustomerFactory(),
        location=salon.location,
        items=[
            BookingItem(
                service=service or salon.cut, staff=staff or salon.stylist, start=salon.at(hour, minute)
            )
        ],
        source="front_desk",
        booked_by=None,
    )


def _dialog(client, **params):
    response = client.get(
        reverse("appointments:book"), {"date": DAY.isoformat(), **params}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    return response.content.decode()


def _post(client, salon, **overrides):
    data = {
        "customer": salon.customer.pk,
        "date": DAY.isoformat(),
        "notes": "",
        "override_reason": "",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-0-service": salon.colour.pk,
        "items-0-staff": salon.stylist.pk,
        "items-0-start": "15:00",
    }
    data.update(overrides)
    return client.post(reverse("appointments:book"), data, HTTP_HX_REQUEST="true")


def _rows(html: str) -> list[bool]:
    """For each service row of the dialog: is it shown?"""
    return ["hidden" not in tag for tag in re.findall(r"<tr data-item-row[^>]*>", html)]


# ---- the booking dialog -------------------------------------------------------------------------


def test_dialog_from_a_slot_starts_in_the_client_search_with_one_service_row(client_as, salon, reception):
    html = _dialog(client_as(reception), time="15:00", staff=salon.stylist.pk)
    # focus starts in the client search; one service row shown, two more behind "Add a service"
    assert 'id="book-form"' in html and 'data-focus="#client-lookup"' in html
    assert _rows(html) == [True, False, False]
    assert 'data-add-row="#book-items" id="add-service"' in html
    # the service list says how long and how much
    assert f'<option value="{salon.colour.pk}">Colour · 120 min · ¥680</option>' in html
    assert f'<option value="{salon.cut.pk}">Cut · 60 min · ¥200</option>' in html
    # the reason to go ahead is not asked for: no warnings
    assert re.search(r"<div class=\"mb-2\" data-override-box hidden>", html)
    # every select of the rows has a name for screen readers
    assert '<label class="visually-hidden" for="id_items-1-service">Service 2</label>' in html


def test_dialog_for_the_cards_client_has_them_filled_in_with_their_stylist(client_as, salon, reception):
    salon.customer.preferred_staff = salon.other_stylist
    salon.customer.save(update_fields=["preferred_staff"])
    html = _dialog(client_as(reception), customer=salon.customer.pk)
    assert f'name="customer" value="{salon.customer.pk}"' in html and ">张三</span>" in html
    assert 'data-focus="#id_items-0-service"' in html  # the client is known: the service is next
    assert f'<option value="{salon.other_stylist.pk}" selected>' in html


def test_a_client_with_an_allergy_is_warned_before_a_service_is_chosen(client_as, salon, reception):
    salon.customer.allergies = "PPD"
    salon.customer.save()
    html = _dialog(client_as(reception), customer=salon.customer.pk)
    assert "Allergy on file: PPD" in html
    assert '<div class="mb-2" data-override-box>' in html  # the reason is asked for


def test_safety_refusal_keeps_the_reason_field_open_with_its_error(client_as, salon, reception):
    salon.customer.allergies = "PPD"
    salon.customer.save()
    response = _post(client_as(reception), salon)
    html = response.content.decode()
    assert response.status_code == 200 and Appointment.objects.count() == 0
    assert '<div class="mb-2" data-override-box>' in html
    assert "Give a reason to go ahead despite the warnings." in html
    assert 'data-focus="#id_override_reason"' in html


def test_booking_answers_with_a_toast_and_names_the_new_block(client_as, salon, reception):
    response = _post(client_as(reception), salon)
    assert response.status_code == 204
    appointment = Appointment.objects.get()
    triggers = json.loads(response["HX-Trigger"])
    assert triggers == {
        "calendarChanged": True,
        "closeDialog": True,
        "showMessage": f"Booked 张三: {DAY.isoformat()} 15:00 with {salon.stylist.display_name}.",
        "appointmentBooked": appointment.pk,
    }


def test_a_clash_names_the_booking_in_the_way(client_as, salon, reception):
    _book(salon, 16, customer=CustomerFactory(name="李四"))
    response = _post(client_as(reception), salon)  # Colour 15:00–17:00 runs into 李四's 16:00 cut
    html = response.content.decode()
    assert response.status_code == 200 and Appointment.objects.count() == 1
    assert (
        f"{salon.stylist.display_name} is booked 16:00–17:00 (李四). Choose another time or stylist." in html
    )


def test_a_clash_in_a_buffer_says_so(client_as, salon, reception):
    # 李四's colour 13:00–15:00 is followed by 15 minutes' clean-up
    _book(salon, 13, customer=CustomerFactory(name="李四"), service=salon.colour)
    html = _post(client_as(reception), salon, **{"items-0-service": salon.cut.pk}).content.decode()
    assert "is booked 13:00–15:00 (李四). Then 15 minutes&#x27; buffer." in html
    # and this colour's own clean-up (15:15–17:15, then 15 minutes) running into the next booking
    _book(salon, 17, minute=15, customer=CustomerFactory(name="王五"))
    html = _post(client_as(reception), salon, **{"items-0-start": "15:15"}).content.decode()
    assert "is booked 17:15–18:15 (王五). Colour needs 15 minutes&#x27; buffer after it." in html


def test_the_api_conflict_names_the_booking_too(api_as, salon, reception):
    _book(salon, 15, customer=CustomerFactory(name="李四"))
    response = api_as(reception).post(
        "/api/v1/appointments/",
        {
            "customer": salon.customer.pk,
            "location": salon.location.pk,
            "items": [
                {"service": salon.cut.pk, "staff": salon.stylist.pk, "start": salon.at(15).isoformat()}
            ],
        },
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["detail"] == f"{salon.stylist.display_name} is booked 15:00–16:00 (李四)."


# ---- the calendar in "booking for" mode (the card's Book button) ---------------------------------


def test_calendar_books_the_cards_client_on_any_day(client_as, salon, reception):
    html = (
        client_as(reception)
        .get(reverse("appointments:day"), {"date": DAY.isoformat(), "customer": salon.customer.pk})
        .content.decode()
    )
    assert "Booking for 张三: click a free slot." in html
    assert f'data-customer="{salon.customer.pk}"' in html  # every slot books this client
    # the day links keep the client; the form can be opened without a slot
    assert f'customer={salon.customer.pk}" aria-label="Next day"' in html
    assert f'<input type="hidden" name="customer" value="{salon.customer.pk}">' in html
    assert (
        f'data-dialog-url="{reverse("appointments:book")}?date={DAY.isoformat()}&amp;customer={salon.customer.pk}"'
        in html
    )


def test_calendar_ignores_an_unknown_client(client_as, salon, reception):
    html = client_as(reception).get(reverse("appointments:day"), {"customer": "99999"}).content.decode()
    assert 'id="booking-for"' not in html and 'data-customer=""' in html


# ---- one walk-in flow ----------------------------------------------------------------------------


def test_walk_in_dialog_starts_in_the_client_search_and_marks_busy_stylists(
    client_as, salon, reception, at_ten
):
    _book(salon, 10, customer=CustomerFactory(name="李四"))  # the stylist is busy until 11:00
    response = client_as(reception).get(reverse("appointments:walk_in"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'data-focus="#client-lookup"' in html
    assert (
        f'<option value="{salon.stylist.pk}">{salon.stylist.display_name} (busy until 11:00)</option>' in html
    )
    assert f'<option value="{salon.other_stylist.pk}">{salon.other_stylist.display_name}</option>' in html
    assert "Cut · 60 min · ¥200" in html
    assert re.search(r'<div class="mt-2" data-override-box hidden>', html)


def test_walk_in_from_the_card_has_the_client_filled_in(client_as, salon, reception, at_ten):
    html = (
        client_as(reception)
        .get(reverse("appointments:walk_in"), {"customer": salon.customer.pk}, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert f'name="customer" value="{salon.customer.pk}"' in html and 'data-focus="#id_service"' in html


@pytest.mark.parametrize(
    ("typed", "field", "focus"),
    [("王五", "new_name", "#id_new_phone"), ("139 1234 5678", "new_phone", "#id_new_name")],
)
def test_walk_in_from_a_search_that_found_nobody_has_what_was_typed(
    client_as, salon, reception, at_ten, typed, field, focus
):
    html = (
        client_as(reception)
        .get(reverse("appointments:walk_in"), {"name": typed}, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert f'name="{field}" value="{typed}"' in html and f'data-focus="{focus}"' in html


def test_a_walk_in_is_in_service_at_once(
    client_as, salon, reception, at_ten, django_capture_on_commit_callbacks
):
    seen = []
    with events.listening("test", seen.append), django_capture_on_commit_callbacks(execute=True):
        response = client_as(reception).post(
            reverse("appointments:walk_in"),
            {
                "new_name": "王五",
                "new_phone": "13912345678",
                "service": salon.cut.pk,
                "staff": salon.other_stylist.pk,
            },
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 204
    appointment = Appointment.objects.get()
    assert (appointment.status, appointment.source, appointment.customer.name, appointment.start) == (
        AppointmentStatus.IN_SERVICE,
        "walk_in",
        "王五",
        salon.at(10),
    )
    assert [e.kind for e in seen] == ["booked", "checked_in", "started"]
    triggers = json.loads(response["HX-Trigger"])
    assert triggers["showMessage"] == f"王五 is in service with {salon.other_stylist.display_name}."
    assert triggers["appointmentBooked"] == appointment.pk and triggers["closeDialog"] is True


def test_a_walk_in_asks_about_safety_warnings_as_booking_does(client_as, salon, reception, at_ten):
    salon.customer.allergies = "latex"
    salon.customer.save()
    client = client_as(reception)
    data = {"customer": salon.customer.pk, "service": salon.cut.pk, "staff": salon.other_stylist.pk}
    refused = client.post(reverse("appointments:walk_in"), data, HTTP_HX_REQUEST="true")
    html = refused.content.decode()
    assert refused.status_code == 200 and Appointment.objects.count() == 0
    assert "Allergy on file: latex" in html and '<div class="mt-2" data-override-box>' in html
    assert 'data-focus="#id_override_reason"' in html
    done = client.post(
        reverse("appointments:walk_in"), {**data, "override_reason": "gloves changed"}, HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 204
    assert Appointment.objects.get().status == AppointmentStatus.IN_SERVICE
    override = SafetyOverride.objects.get()
    assert (override.context, override.reason, override.user) == ("booking", "gloves changed", reception.user)


def test_walk_in_with_a_busy_stylist_saves_no_new_client(client_as, salon, reception, at_ten):
    _book(salon, 10, customer=CustomerFactory(name="李四"))
    response = client_as(reception).post(
        reverse("appointments:walk_in"),
        {"new_name": "王五", "new_phone": "13912345678", "service": salon.cut.pk, "staff": salon.stylist.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "is booked 10:00–11:00 (李四)" in response.content.decode()
    assert not Customer.objects.filter(name="王五").exists()


# ---- the header ------------------------------------------------------------------------------------


def test_the_headers_walk_in_opens_the_one_walk_in_dialog(client_as, reception):
    html = client_as(reception).get(reverse("accounts:home")).content.decode()
    assert f'id="quick-add-button" data-dialog-url="{reverse("appointments:walk_in")}"' in html
    assert 'aria-keyshortcuts="/"' in html  # `/` finds a client (static/js/header_search.js)
    assert "js/dialogs.js" in html


def test_without_a_location_the_header_falls_back_to_a_quick_client_card(client_as, location):
    nowhere = StaffMemberFactory(user__username="desk2", role=Role.RECEPTIONIST, locations=[])
    html = client_as(nowhere).get(reverse("customers:list")).content.decode()
    assert f'id="quick-add-button" hx-get="{reverse("customers:quick_add")}"' in html


def test_the_quick_client_card_is_a_modal_dialog_with_what_was_typed(client_as, reception):
    response = client_as(reception).get(
        reverse("customers:quick_add"), {"name": "王五"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "<dialog data-modal" in html and "<dialog open" not in html  # showModal: backdrop and Esc
    assert 'value="王五"' in html
