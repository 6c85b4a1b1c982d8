import pytest

from appointments.models import Appointment, AppointmentItem
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day  # check-in and start happen on the appointment's day
pytestmark = pytest.mark.django_db


def payload(salon, start="2027-01-06T10:00:00+08:00", **extra):
    return {
        "customer": salon.customer.pk,
        "location": salon.location.pk,
        "items": [{"service": salon.cut.pk, "staff": salon.stylist.pk, "start": start}],
        **extra,
    }


def test_book_then_conflict(salon, reception, api_as):
    api = api_as(reception)
    response = api.post("/api/v1/appointments/", payload(salon), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "booked"
    assert body["time_zone"] == "Asia/Shanghai"
    assert [(i["service"], i["staff"], i["start"], i["end"]) for i in body["items"]] == [
        (salon.cut.pk, salon.stylist.pk, "2027-01-06T10:00:00+08:00", "2027-01-06T11:00:00+08:00")
    ]
    # the same slot again, given in UTC: the same instant
    again = api.post(
        "/api/v1/appointments/", payload(salon, start="2027-01-06T02:30:00+00:00"), format="json"
    )
    assert again.status_code == 409
    assert again.json()["code"] == "slot_taken"
    assert again.json()["staff"] == salon.stylist.pk
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer": 999999}, "customer"),
        ({"location": 999999}, "location"),
        ({"items": [{"service": 999999, "staff": 1, "start": "2027-01-06T10:00:00+08:00"}]}, "items"),
        ({"items": []}, "items"),
    ],
)
def test_unknown_ids_are_400(salon, reception, api_as, change, field):
    response = api_as(reception).post("/api/v1/appointments/", {**payload(salon), **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Appointment.objects.count() == 0


def test_naive_time_and_closed_hours_are_400(salon, reception, api_as):
    api = api_as(reception)
    naive = api.post("/api/v1/appointments/", payload(salon, start="2027-01-06T10:00:00"), format="json")
    assert naive.status_code == 400
    assert naive.json() == {"items": {"0": {"start": ["Give the time with its UTC offset, e.g. +08:00."]}}}
    closed = api.post(
        "/api/v1/appointments/", payload(salon, start="2027-01-06T22:00:00+08:00"), format="json"
    )
    assert closed.status_code == 400
    assert closed.json() == {"start": ["The salon is closed at that time."]}
    assert Appointment.objects.count() == 0


def test_safety_warnings_400_then_override(salon, reception, api_as):
    salon.customer.allergies = "PPD"
    salon.customer.save()
    api = api_as(reception)
    response = api.post("/api/v1/appointments/", payload(salon), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "safety_warnings"
    assert [w["code"] for w in response.json()["warnings"]] == ["allergy"]
    ok = api.post(
        "/api/v1/appointments/", payload(salon, override_reason="checked with client"), format="json"
    )
    assert ok.status_code == 201


def test_other_location_is_403_and_detail_404(salon, reception, api_as, other_location):
    from tests.accounts.factories import StaffMemberFactory

    outsider = StaffMemberFactory(user__username="rec_xh", role="receptionist", locations=[other_location])
    created = api_as(reception).post("/api/v1/appointments/", payload(salon), format="json").json()
    api = api_as(outsider)
    assert (
        api.post(
            "/api/v1/appointments/", payload(salon, start="2027-01-06T12:00:00+08:00"), format="json"
        ).status_code
        == 403
    )
    assert api.get(f"/api/v1/appointments/{created['id']}/").status_code == 404
    assert api.post(f"/api/v1/appointments/{created['id']}/cancel/", {}, format="json").status_code == 404
    assert (
        api.get("/api/v1/appointments/", {"location": salon.location.pk, "date": "2027-01-06"}).status_code
        == 403
    )
    assert Appointment.objects.get().status == "booked"


def test_transitions_and_list(salon, reception, api_as, on_the_day):
    api = api_as(reception)
    pk = api.post("/api/v1/appointments/", payload(salon), format="json").json()["id"]
    assert api.post(f"/api/v1/appointments/{pk}/confirm/").json()["status"] == "confirmed"
    moved = api.post(
        f"/api/v1/appointments/{pk}/move/", {"start": "2027-01-06T15:00:00+08:00"}, format="json"
    )
    assert moved.status_code == 200
    assert (moved.json()["start"], moved.json()["version"]) == ("2027-01-06T15:00:00+08:00", 2)
    assert api.post(f"/api/v1/appointments/{pk}/check-in/", {}, format="json").json()["status"] == "arrived"
    assert api.post(f"/api/v1/appointments/{pk}/start/").json()["status"] == "in_service"
    # cannot cancel once in service
    refused = api.post(f"/api/v1/appointments/{pk}/cancel/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_status")
    listing = api.get("/api/v1/appointments/", {"location": salon.location.pk, "date": "2027-01-06"}).json()
    assert [(a["id"], a["status"]) for a in listing] == [(pk, "in_service")]


def test_cancel_via_api_frees_slot(salon, reception, api_as):
    api = api_as(reception)
    pk = api.post("/api/v1/appointments/", payload(salon), format="json").json()["id"]
    cancelled = api.post(f"/api/v1/appointments/{pk}/cancel/", {"reason": "ill"}, format="json").json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "ill")
    assert AppointmentItem.objects.get().is_active is False
    other = CustomerFactory()
    assert (
        api.post("/api/v1/appointments/", {**payload(salon), "customer": other.pk}, format="json").status_code
        == 201
    )


def test_services_and_availability_api(salon, reception, api_as):
    api = api_as(reception)
    services = api.get("/api/v1/services/", {"location": salon.location.pk}).json()
    assert sorted(s["name"] for s in services) == ["Colour", "Cut", "Facial"]
    api.post("/api/v1/appointments/", payload(salon), format="json")
    slots = api.get(
        "/api/v1/availability/",
        {
            "location": salon.location.pk,
            "service": salon.cut.pk,
            "date": "2027-01-06",
            "staff": salon.stylist.pk,
        },
    ).json()
    starts = [s["start"] for s in slots]
    assert starts[:5] == [
        "2027-01-06T09:00:00+08:00",
        "2027-01-06T11:00:00+08:00",
        "2027-01-06T11:15:00+08:00",
        "2027-01-06T11:30:00+08:00",
        "2027-01-06T11:45:00+08:00",
    ]
    assert starts[-1] == "2027-01-06T20:00:00+08:00"
    assert {s["staff"] for s in slots} == {salon.stylist.pk}
    assert slots[0]["end"] == "2027-01-06T10:00:00+08:00"
    bad = api.get(
        "/api/v1/availability/", {"location": salon.location.pk, "service": "x", "date": "2027-01-06"}
    )
    assert bad.status_code == 400 and "service" in bad.json()
    bad_date = api.get(
        "/api/v1/availability/", {"location": salon.location.pk, "service": salon.cut.pk, "date": "x"}
    )
    assert bad_date.status_code == 400 and "date" in bad_date.json()


def test_availability_times_is_the_same_search_grouped_by_start(salon, reception, api_as):
    """/availability/times/ answers each free start once with every stylist free at it: exactly
    /availability/'s (stylist, start) pairs, in the same order, for any stylist and over days."""
    api = api_as(reception)
    api.post("/api/v1/appointments/", payload(salon), format="json")
    query = {"location": salon.location.pk, "service": salon.cut.pk, "date": "2027-01-06", "days": 3}
    flat = api.get("/api/v1/availability/", query).json()
    times = api.get("/api/v1/availability/times/", query).json()
    assert flat and times
    assert [(t["start"], t["end"], staff) for t in times for staff in t["staff"]] == [
        (s["start"], s["end"], s["staff"]) for s in flat
    ]
    assert len({t["start"] for t in times}) == len(times) < len(flat)
    # the booked stylist is missing at the booked hour, the other one is there
    booked = next(t for t in times if t["start"] == "2027-01-06T10:00:00+08:00")
    assert salon.stylist.pk not in booked["staff"] and salon.other_stylist.pk in booked["staff"]
    one = api.get("/api/v1/availability/times/", {**query, "staff": salon.stylist.pk}).json()
    assert {s for t in one for s in t["staff"]} == {salon.stylist.pk}
    bad = api.get("/api/v1/availability/times/", {**query, "days": 99})
    assert bad.status_code == 400 and "days" in bad.json()


def test_stylist_cannot_book_other_column_via_api(salon, stylist, api_as):
    body = payload(salon)
    body["items"][0]["staff"] = salon.other_stylist.pk
    response = api_as(stylist).post("/api/v1/appointments/", body, format="json")
    assert response.status_code == 403
    assert Appointment.objects.count() == 0


def test_schema_lists_appointment_endpoints(reception, api_as):
    schema = api_as(reception).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/appointments/",
        "/api/v1/availability/",
        "/api/v1/availability/times/",
        "/api/v1/visits/",
    ):
        assert path in schema["paths"]


def test_waitlist_api(salon, reception, api_as):
    api = api_as(reception)
    created = api.post(
        "/api/v1/waitlist/",
        {
            "customer": salon.customer.pk,
            "location": salon.location.pk,
            "service": salon.cut.pk,
            "date": "2027-01-06",
            "staff": salon.stylist.pk,
            "earliest": "09:00",
            "latest": "09:30",
        },
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    matches = api.get(
        "/api/v1/waitlist/matches/", {"location": salon.location.pk, "date": "2027-01-06"}
    ).json()
    assert [(m["entry"]["id"], [s["start"] for s in m["slots"]]) for m in matches] == [
        (pk, ["2027-01-06T09:00:00+08:00", "2027-01-06T09:15:00+08:00", "2027-01-06T09:30:00+08:00"])
    ]
    listing = api.get("/api/v1/waitlist/", {"location": salon.location.pk, "date": "2027-01-06"}).json()
    assert [e["status"] for e in listing] == ["waiting"]
    done = api.post(f"/api/v1/waitlist/{pk}/status/", {"status": "booked"}, format="json")
    assert done.json()["status"] == "booked"
    again = api.post(f"/api/v1/waitlist/{pk}/status/", {"status": "cancelled"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_status")


@pytest.mark.parametrize(
    "params",
    [
        {"service": "1", "date": "2027-01-06", "days": "abc"},
        {"service": "1", "date": "2027-01-06", "days": "99"},
        {"service": "1"},
        {"date": "2027-01-06"},
    ],
)
def test_availability_bad_params_are_400(salon, reception, api_as, params):
    response = api_as(reception).get("/api/v1/availability/", {"location": salon.location.pk, **params})
    assert response.status_code == 400


def test_availability_other_location_is_403(salon, api_as, other_location):
    from tests.accounts.factories import StaffMemberFactory

    outsider = StaffMemberFactory(user__username="rec_xh2", role="receptionist", locations=[other_location])
    response = api_as(outsider).get(
        "/api/v1/availability/",
        {"location": salon.location.pk, "service": salon.cut.pk, "date": "2027-01-06"},
    )
    assert response.status_code == 403


def test_waitlist_window_is_a_wall_clock_minute(salon, reception, api_as):
    """CI's API fuzz sent "14:52:36.32Z" and got back "14:52:36.320000", which is not the time
    the schema documented (OpenAPI's `format: time` even requires an offset). A waiting-list
    window is a wall-clock minute: HH:MM in, HH:MM out, as the schema's pattern says."""
    api = api_as(reception)
    body = {
        "customer": salon.customer.pk,
        "location": salon.location.pk,
        "service": salon.cut.pk,
        "date": "2027-01-06",
    }
    refused = api.post("/api/v1/waitlist/", {**body, "latest": "14:52:36.32Z"}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["latest"]
    created = api.post(
        "/api/v1/waitlist/", {**body, "earliest": "09:05:30", "latest": "14:52"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert (created.json()["earliest"], created.json()["latest"]) == ("09:05", "14:52")
    schema = api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for name in ("WaitlistEntryInputRequest", "WaitlistEntryOutput"):
        latest = schema[name]["properties"]["latest"]
        assert "format" not in str(latest) and "pattern" in str(latest), latest


def test_a_deadlock_between_two_overlapping_inserts_is_a_409_not_a_500(salon, reception, api_as, monkeypatch):
    """Two bookings inserting overlapping items at once can each wait in the other's exclusion
    check; PostgreSQL aborts one with deadlock_detected (bench/suite.py's booking race saw it).
    The aborted one lost the slot: 409 slot_taken, nothing of it kept."""
    import psycopg2.errors
    from django.db import OperationalError

    from appointments.models import AppointmentItem

    def deadlock(self, *args, **kwargs):
        try:
            raise psycopg2.errors.DeadlockDetected("deadlock detected")
        except psycopg2.errors.DeadlockDetected as cause:
            raise OperationalError("deadlock detected") from cause

    monkeypatch.setattr(AppointmentItem, "save", deadlock)
    response = api_as(reception).post("/api/v1/appointments/", payload(salon), format="json")
    assert (response.status_code, response.json()["code"]) == (409, "slot_taken")
    assert Appointment.objects.count() == 0
