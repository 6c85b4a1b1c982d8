"""Bad input that used to answer 500 (issue 8, item 5): impossible date-times, dates at the
ends of Python's calendar, NUL characters, deeply nested JSON, and starts off the booking grid.
Each is a 400 naming the field (or a page that still renders), and nothing was saved."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from appointments.models import Appointment, AppointmentItem, WaitlistEntry
from appointments.services import BookingItem, appointment_book, appointment_move
from tests.appointments import fixtures_core
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db

EDGES = ["0001-01-01", "9999-12-31"]
CALENDAR_MESSAGE = "Give a date between 1900-01-01 and 2999-12-31."
GRID_MESSAGE = "Choose a start on the booking grid, every 15 minutes (e.g. 10:00, 10:15)."


def book_payload(salon, start: str) -> dict:
    return {
        "customer": salon.customer.pk,
        "location": salon.location.pk,
        "items": [{"service": salon.cut.pk, "staff": salon.stylist.pk, "start": start}],
    }


def booked(salon, reception) -> Appointment:
    return appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(10))],
        source="front_desk",
        booked_by=reception.user,
    )


# ---- impossible date-times ----------------------------------------------------------------------

IMPOSSIBLE = ["2026-13-01T10:00:00+08:00", "2027-01-06T10:00:00+25:00", "2027-02-30T10:00:00+08:00"]
IMPOSSIBLE_MESSAGE = "Not a real date and time; use ISO-8601, e.g. 2026-03-29T10:00:00+01:00."


@pytest.mark.parametrize("start", IMPOSSIBLE)
def test_booking_with_an_impossible_date_time_is_400_on_start(salon, reception, api_as, start):
    response = api_as(reception).post("/api/v1/appointments/", book_payload(salon, start), format="json")
    assert response.status_code == 400
    assert response.json() == {"items": {"0": {"start": [IMPOSSIBLE_MESSAGE]}}}
    assert Appointment.objects.count() == 0


@pytest.mark.parametrize("start", IMPOSSIBLE)
def test_move_to_an_impossible_date_time_is_400_on_start(salon, reception, api_as, start):
    appointment = booked(salon, reception)
    response = api_as(reception).post(
        f"/api/v1/appointments/{appointment.pk}/move/", {"start": start}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"start": [IMPOSSIBLE_MESSAGE]}
    appointment.refresh_from_db()
    assert (appointment.start, appointment.version) == (salon.at(10), 1)


# ---- the ends of the calendar -------------------------------------------------------------------

EDGE_TIMES = [
    "0001-01-01T00:00:00+08:00",  # before year 1 in UTC
    "0001-01-01T10:00:00+00:00",
    "9999-12-31T23:59:00-08:00",  # after year 9999 in UTC
    "9999-12-31T10:00:00+08:00",
]


@pytest.mark.parametrize("start", EDGE_TIMES)
def test_booking_at_the_ends_of_the_calendar_is_400_on_start(salon, reception, api_as, start):
    response = api_as(reception).post("/api/v1/appointments/", book_payload(salon, start), format="json")
    assert response.status_code == 400
    assert response.json() == {"items": {"0": {"start": [CALENDAR_MESSAGE]}}}
    assert Appointment.objects.count() == 0


@pytest.mark.parametrize("start", EDGE_TIMES)
def test_move_to_the_ends_of_the_calendar_is_400_on_start(salon, reception, api_as, start):
    appointment = booked(salon, reception)
    response = api_as(reception).post(
        f"/api/v1/appointments/{appointment.pk}/move/", {"start": start}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"start": [CALENDAR_MESSAGE]}
    appointment.refresh_from_db()
    assert (appointment.start, appointment.version) == (salon.at(10), 1)


@pytest.mark.parametrize("day", EDGES)
@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/v1/appointments/", {}),
        ("/api/v1/availability/", {"service": "SERVICE"}),
        ("/api/v1/availability/", {"service": "SERVICE", "days": "31"}),
        ("/api/v1/availability/times/", {"service": "SERVICE", "days": "31"}),
        ("/api/v1/waitlist/", {}),
        ("/api/v1/waitlist/matches/", {}),
    ],
)
def test_date_parameters_at_the_ends_of_the_calendar_are_400(salon, reception, api_as, day, path, extra):
    params = {"location": salon.location.pk, "date": day, **extra}
    if "service" in params:
        params["service"] = salon.cut.pk
    response = api_as(reception).get(path, params)
    assert response.status_code == 400
    assert response.json() == {"date": [CALENDAR_MESSAGE]}


@pytest.mark.parametrize("day", EDGES)
def test_waitlist_entry_at_the_ends_of_the_calendar_is_400(salon, reception, api_as, day):
    response = api_as(reception).post(
        "/api/v1/waitlist/",
        {"customer": salon.customer.pk, "location": salon.location.pk, "service": salon.cut.pk, "date": day},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"date": [CALENDAR_MESSAGE]}
    assert WaitlistEntry.objects.count() == 0


def test_the_calendar_years_still_take_their_own_first_and_last_day(salon, reception, api_as):
    api = api_as(reception)
    for day in ["1900-01-01", "2999-12-31"]:
        response = api.get("/api/v1/appointments/", {"location": salon.location.pk, "date": day})
        assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("day", EDGES)
@pytest.mark.parametrize(
    "name",
    [
        "appointments:day",
        "appointments:week",
        "appointments:book",
        "appointments:waitlist_panel",
        "appointments:waitlist_add",
        "appointments:walk_in",
        "appointments:my_day",
    ],
)
def test_pages_with_a_date_at_the_ends_of_the_calendar_show_today(salon, reception, client_as, day, name):
    response = client_as(reception).get(reverse(name), {"date": day})
    assert response.status_code == 200


def test_stylist_day_at_the_end_of_the_calendar_shows_today(salon, stylist, client_as):
    response = client_as(stylist).get(reverse("appointments:my_day"), {"date": "9999-12-31"})
    assert response.status_code == 200


def test_api_ids_take_only_ascii_digits(salon, reception, api_as):
    # "²".isdigit() is True, but int("²") raises.
    response = api_as(reception).get(
        "/api/v1/availability/", {"location": salon.location.pk, "date": "2027-01-06", "service": "²"}
    )
    assert (response.status_code, response.json()) == (400, {"service": ["Give one or more service ids."]})
    response = api_as(reception).get("/api/v1/appointments/", {"location": "²", "date": "2027-01-06"})
    assert (response.status_code, response.json()) == (400, {"location": ["Give a number."]})


# ---- NUL characters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/customers/", "q=a%00b", "q"),
        ("/api/v1/formulas/", "brand=a%00", "brand"),
        ("/api/v1/appointments/", "location=1&date=2027-01-06%00", "date"),
        ("/api/v1/staff/", "location%00=1", "location"),
    ],
)
def test_nul_in_an_api_query_parameter_is_400_naming_it(salon, manager, api_as, path, query, field):
    response = api_as(manager).get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json() == {field: ["Null characters are not allowed."]}


@pytest.mark.parametrize(
    "url",
    [
        "/customers/?q=a%00b",
        "/calendar/?date=2027-01-06%00",
        "/calendar/client-lookup/?q=%00",
        "/login/?next=%00",
    ],
)
def test_nul_in_a_page_query_parameter_is_400(salon, reception, client_as, url):
    response = client_as(reception).get(url)
    assert response.status_code == 400
    assert response.content.decode().endswith("Null characters are not allowed.")


def test_nul_in_a_posted_form_field_is_400_and_saves_nothing(salon, reception, client_as):
    response = client_as(reception).post(
        reverse("appointments:book"),
        {"date": DAY.isoformat(), "new_name": "Ann\x00", "items-0-service": salon.cut.pk},
    )
    assert response.status_code == 400
    assert response.content.decode() == "new_name: Null characters are not allowed."
    assert Appointment.objects.count() == 0


def test_nul_free_requests_pass_through(salon, manager, api_as):
    assert api_as(manager).get("/api/v1/customers/?q=ab").status_code == 200


# ---- deeply nested JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 500, 33])
def test_deeply_nested_json_is_400(salon, reception, api_as, depth):
    body = "[" * depth + "]" * depth
    response = api_as(reception).generic(
        "POST", "/api/v1/appointments/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested more than 32 levels deep."}
    assert Appointment.objects.count() == 0


def test_nested_json_within_the_limit_is_parsed(salon, reception, api_as):
    body = "[" * 32 + "]" * 32
    response = api_as(reception).generic(
        "POST", "/api/v1/appointments/", body, content_type="application/json"
    )
    # parsed, then refused by the serializer for what it is: not an object
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


# ---- the booking grid ---------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["2027-01-06T10:07:00+08:00", "2027-01-06T10:00:30+08:00"])
def test_api_booking_off_the_grid_is_400_on_start(salon, reception, api_as, start):
    response = api_as(reception).post("/api/v1/appointments/", book_payload(salon, start), format="json")
    assert response.status_code == 400
    assert response.json() == {"start": [GRID_MESSAGE]}
    assert Appointment.objects.count() == 0


def test_grid_is_the_locations_wall_clock_not_utc(salon, reception, api_as):
    # 10:15 in Shanghai is 02:15 UTC; a +05:45 offset (Kathmandu) puts the same instant at
    # 08:00 local elsewhere, and on the grid of Shanghai either way.
    response = api_as(reception).post(
        "/api/v1/appointments/", book_payload(salon, "2027-01-06T08:00:00+05:45"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["start"] == "2027-01-06T10:15:00+08:00"


def test_api_move_off_the_grid_is_400_on_start(salon, reception, api_as):
    appointment = booked(salon, reception)
    response = api_as(reception).post(
        f"/api/v1/appointments/{appointment.pk}/move/", {"start": "2027-01-06T15:10:00+08:00"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"start": [GRID_MESSAGE]}
    appointment.refresh_from_db()
    assert (appointment.start, appointment.version) == (salon.at(10), 1)


def test_desk_booking_off_the_grid_is_a_form_error(salon, reception, client_as):
    response = client_as(reception).post(
        reverse("appointments:book"),
        {
            "date": DAY.isoformat(),
            "customer": salon.customer.pk,
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "0",
            "items-0-service": salon.cut.pk,
            "items-0-staff": salon.stylist.pk,
            "items-0-start": "10:10",
        },
    )
    assert response.status_code == 200
    assert GRID_MESSAGE in response.content.decode()
    assert Appointment.objects.count() == 0


def test_desk_move_off_the_grid_is_a_form_error(salon, reception, client_as):
    appointment = booked(salon, reception)
    response = client_as(reception).post(
        reverse("appointments:move", args=[appointment.pk]),
        {"date": DAY.isoformat(), "start": "15:05", "staff": salon.stylist.pk},
    )
    assert response.status_code == 200
    assert GRID_MESSAGE in response.content.decode()
    assert appointment.items.get().start == salon.at(10)


@override_settings(BOOKING_SLOT_MINUTES=30)
def test_service_follows_the_configured_grid(salon, reception):
    with pytest.raises(ValidationError) as refused:
        appointment_book(
            customer=salon.customer,
            location=salon.location,
            items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(10, 15))],
            source="front_desk",
            booked_by=reception.user,
        )
    assert refused.value.message_dict == {
        "start": ["Choose a start on the booking grid, every 30 minutes (e.g. 10:00, 10:30)."]
    }
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(10, 30))],
        source="front_desk",
        booked_by=reception.user,
    )
    with pytest.raises(ValidationError):
        appointment_move(appointment=appointment, new_start=salon.at(12, 15), by=reception.user)
    assert AppointmentItem.objects.get().start == salon.at(10, 30)


def test_a_chained_start_off_the_grid_is_the_rules_and_allowed(salon, reception):
    # Colour is 120 min + 15 min buffer: the cut after it starts at 12:15, which is on the
    # grid; a 50-minute service would chain off it and is still booked (the rule, not a choice).
    salon.colour.duration_minutes = 50
    salon.colour.save()
    appointment = appointment_book(
        customer=salon.customer,
        location=salon.location,
        items=[
            BookingItem(service=salon.colour, staff=salon.stylist, start=salon.at(10)),
            BookingItem(service=salon.cut, staff=salon.stylist),
        ],
        source="front_desk",
        booked_by=reception.user,
    )
    assert [i.start for i in appointment.items.order_by("start")] == [salon.at(10), salon.at(11, 5)]
