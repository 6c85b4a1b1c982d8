"""Feedback over the API (/api/v1/, issue 12 item 5): complaint cases opened, listed, worked
(status, owner, notes) and compensated through loyalty's ledgers; follow-up calls planned and
recorded; surveys and their results. Scoped as the pages are: a stylist sees only the cases they
are involved in or own, their own calls and their own surveys. Bad input is a 400 naming the
field, never a 500.

The clock is fixed (fixtures_core.on_the_day: 08:00 on DAY at the salon, Asia/Shanghai)."""

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from appointments.line_kinds import CheckoutLine
from appointments.services import PaymentIn, visit_checkout
from feedback import services
from feedback.models import Complaint, ComplaintAction, FollowUp, Survey
from feedback.serializers import ComplaintOutput, FollowUpOutput, SurveyOutput
from loyalty.models import Coupon, LoyaltyAccount, PointsEntry
from messaging.models import OutboundMessage
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory
from tests.appointments.fixtures_core import DAY

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
pytestmark = pytest.mark.django_db

COMPLAINTS = "/api/v1/complaints/"
FOLLOW_UPS = "/api/v1/follow-ups/"
SURVEYS = "/api/v1/surveys/"
RESULTS = "/api/v1/surveys/results/"


# api_as(staff) re-authenticates one shared APIClient: a client taken earlier acts as whoever
# was named last, so each request below names its persona.


def when(body_value: str) -> datetime:
    return datetime.fromisoformat(body_value)


@pytest.fixture
def world(salon, on_the_day, manager, reception):
    """The salon at 08:00 on DAY, its manager (every case's default owner) and its desk."""
    return salon


def open_case(salon, by, *, staff=(), customer=None, **extra) -> Complaint:
    return services.complaint_open(
        customer=customer or salon.customer,
        location=salon.location,
        category=extra.pop("category", "attitude"),
        description=extra.pop("description", "Kept waiting 40 minutes"),
        by=by.user,
        staff_involved=list(staff),
        **extra,
    )


def complaint_body(salon, **extra) -> dict:
    return {
        "customer": salon.customer.pk,
        "location": salon.location.pk,
        "category": "waiting",
        "description": "Waited 40 minutes past the booking.",
        **extra,
    }


# ---- complaints: create, list, detail -------------------------------------------------------------


@pytest.mark.parametrize("persona", ["reception", "manager"])
def test_desk_and_manager_open_a_case_owned_by_the_manager_due_in_48_hours(
    world, api_as, request, persona, manager, stylist, on_the_day
):
    staff = request.getfixturevalue(persona)
    response = api_as(staff).post(
        COMPLAINTS,
        complaint_body(world, severity="high", source="phone", staff_involved=[stylist.pk]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == set(ComplaintOutput().fields)
    case = Complaint.objects.get()
    assert body["id"] == case.pk
    assert (body["location"], body["customer"], body["visit"], body["survey"]) == (
        world.location.pk,
        world.customer.pk,
        None,
        None,
    )
    assert (body["source"], body["category"], body["severity"], body["status"]) == (
        "phone",
        "waiting",
        "high",
        "open",
    )
    assert body["description"] == "Waited 40 minutes past the booking."
    assert body["staff_involved"] == [stylist.pk]
    assert body["owner"] == manager.user.pk  # the location's manager, whoever opened it
    assert when(body["opened_at"]) == on_the_day
    assert when(body["due_at"]) == on_the_day + timedelta(hours=48)
    assert body["sla"] == "ok"
    assert (body["escalated_at"], body["resolved_at"], body["closed_at"]) == (None, None, None)
    assert (body["resolution"], body["compensation"], body["compensation_ref"]) == ("", "", "")
    assert body["compensation_value"] is None
    assert body["actions"] == [
        {"kind": "opened", "at": body["opened_at"], "by": staff.user.pk, "status": "open", "note": ""}
    ]
    assert case.created_by == staff.user


def test_source_defaults_to_the_api_and_survey_is_not_a_source_one_can_give(world, api_as, reception):
    api = api_as(reception)
    response = api.post(COMPLAINTS, complaint_body(world), format="json")
    assert response.status_code == 201 and response.json()["source"] == "api"
    assert response.json()["severity"] == "medium"
    response = api.post(COMPLAINTS, complaint_body(world, source="survey"), format="json")
    assert response.status_code == 400 and list(response.json()) == ["source"]


def test_an_explicit_deadline_is_kept_and_one_in_the_past_is_refused(world, api_as, reception, on_the_day):
    api = api_as(reception)
    due = (on_the_day + timedelta(hours=5)).isoformat()
    response = api.post(COMPLAINTS, complaint_body(world, due_at=due), format="json")
    assert response.status_code == 201
    assert when(response.json()["due_at"]) == on_the_day + timedelta(hours=5)
    assert response.json()["sla"] == "due_soon"
    past = (on_the_day - timedelta(minutes=1)).isoformat()
    response = api.post(COMPLAINTS, complaint_body(world, due_at=past), format="json")
    assert response.status_code == 400 and list(response.json()) == ["due_at"]


def test_list_and_detail_for_the_desk_with_filters(world, api_as, reception, manager, on_the_day):
    first = open_case(world, reception)
    second = open_case(world, reception, category="hygiene", due_at=on_the_day + timedelta(hours=2))
    other_client = CustomerFactory(name="李四")
    third = open_case(world, reception, customer=other_client)
    services.complaint_set_status(complaint=third, status="resolved", by=manager.user, resolution="Refunded")
    api = api_as(reception)
    body = api.get(COMPLAINTS).json()
    assert body["count"] == 3
    assert [row["id"] for row in body["results"]] == [second.pk, first.pk, third.pk]  # by deadline
    assert set(body["results"][0]) == set(ComplaintOutput().fields)
    assert [r["id"] for r in api.get(COMPLAINTS, {"status": "resolved"}).json()["results"]] == [third.pk]
    assert [r["id"] for r in api.get(COMPLAINTS, {"customer": other_client.pk}).json()["results"]] == [
        third.pk
    ]
    assert api.get(COMPLAINTS, {"location": world.location.pk}).json()["count"] == 3
    assert api.get(COMPLAINTS, {"limit": 1, "offset": 1}).json()["results"][0]["id"] == first.pk
    # the manager owns them all; the desk owns none
    assert api_as(manager).get(COMPLAINTS, {"mine": "true"}).json()["count"] == 3
    assert api_as(reception).get(COMPLAINTS, {"mine": "true"}).json()["count"] == 0
    detail = api.get(f"{COMPLAINTS}{first.pk}/")
    assert detail.status_code == 200 and detail.json()["id"] == first.pk


def test_overdue_filter_follows_the_clock(world, api_as, reception, monkeypatch, on_the_day):
    from django.utils import timezone

    soon = open_case(world, reception, due_at=on_the_day + timedelta(hours=1))
    open_case(world, reception)
    api = api_as(reception)
    assert api.get(COMPLAINTS, {"overdue": "true"}).json()["count"] == 0
    monkeypatch.setattr(timezone, "now", lambda: on_the_day + timedelta(hours=2))
    body = api.get(COMPLAINTS, {"overdue": "true"}).json()
    assert [r["id"] for r in body["results"]] == [soon.pk]
    assert body["results"][0]["sla"] == "overdue"


def test_another_locations_cases_look_missing(world, api_as, reception, other_location):
    far_manager = __import__("tests.accounts.factories", fromlist=["x"]).StaffMemberFactory(
        user__username="far", role="manager", locations=[other_location]
    )
    case = open_case(world, reception)
    api = api_as(far_manager)
    assert api.get(COMPLAINTS).json()["count"] == 0
    assert api.get(f"{COMPLAINTS}{case.pk}/").status_code == 404
    response = api.post(f"{COMPLAINTS}{case.pk}/status/", {"status": "in_progress"}, format="json")
    assert response.status_code == 404
    response = api.post(COMPLAINTS, complaint_body(world), format="json")
    assert response.status_code == 403  # not a location they work at
    assert Complaint.objects.count() == 1


# ---- a stylist sees their own -----------------------------------------------------------------


def test_a_stylist_sees_only_the_cases_they_are_in_or_own(
    world, api_as, reception, manager, stylist, other_stylist
):
    mine = open_case(world, reception, staff=[stylist])
    theirs = open_case(world, reception, staff=[other_stylist])
    nobodys = open_case(world, reception)
    api = api_as(stylist)
    body = api.get(COMPLAINTS).json()
    assert (body["count"], [r["id"] for r in body["results"]]) == (1, [mine.pk])
    assert api.get(f"{COMPLAINTS}{mine.pk}/").status_code == 200
    for case in (theirs, nobodys):
        assert api.get(f"{COMPLAINTS}{case.pk}/").status_code == 404
        response = api.post(f"{COMPLAINTS}{case.pk}/notes/", {"note": "x"}, format="json")
        assert response.status_code == 404
    # a note on their own case is fine; working it is the manager's
    response = api.post(f"{COMPLAINTS}{mine.pk}/notes/", {"note": "She was happy after."}, format="json")
    assert response.status_code == 200
    assert response.json()["actions"][-1]["kind"] == "note"
    assert response.json()["actions"][-1]["note"] == "She was happy after."
    response = api.post(f"{COMPLAINTS}{mine.pk}/status/", {"status": "in_progress"}, format="json")
    assert response.status_code == 403
    assert api.post(COMPLAINTS, complaint_body(world), format="json").status_code == 403
    # a case handed to them (an owner must be a manager, so written directly) shows too
    Complaint.objects.filter(pk=nobodys.pk).update(owner=stylist.user)
    assert {r["id"] for r in api.get(COMPLAINTS).json()["results"]} == {mine.pk, nobodys.pk}


def test_a_stylist_sees_only_their_own_follow_ups(world, api_as, reception, stylist, other_stylist):
    mine = services.follow_up_create(
        customer=world.customer, location=world.location, due_on=DAY, by=reception.user,
        assignee=stylist, purpose="How is the colour?",
    )  # fmt: skip
    services.follow_up_create(
        customer=world.customer, location=world.location, due_on=DAY, by=reception.user,
        assignee=other_stylist, purpose="How is the cut?",
    )  # fmt: skip
    services.follow_up_create(
        customer=world.customer, location=world.location, due_on=DAY, by=reception.user, purpose="Anyone"
    )
    body = api_as(stylist).get(FOLLOW_UPS).json()
    assert (body["count"], [r["id"] for r in body["results"]]) == (1, [mine.pk])
    assert set(body["results"][0]) == set(FollowUpOutput().fields)
    assert api_as(reception).get(FOLLOW_UPS).json()["count"] == 3
    assert api_as(reception).get(FOLLOW_UPS, {"mine": "true"}).json()["count"] == 0
    others = FollowUp.objects.exclude(pk=mine.pk)
    for follow_up in others:
        response = api_as(stylist).post(
            f"{FOLLOW_UPS}{follow_up.pk}/outcome/", {"outcome": "reached"}, format="json"
        )
        assert response.status_code == 404
    assert set(others.values_list("status", flat=True)) == {"open"}


def test_a_stylist_plans_calls_only_for_themselves(world, api_as, stylist, other_stylist):
    api = api_as(stylist)
    body = {
        "customer": world.customer.pk,
        "location": world.location.pk,
        "due_on": "2027-01-09",
        "purpose": "Call",
    }
    response = api.post(FOLLOW_UPS, {**body, "assignee": other_stylist.pk}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["assignee"]
    response = api.post(FOLLOW_UPS, body, format="json")
    assert response.status_code == 400 and list(response.json()) == ["assignee"]
    response = api.post(FOLLOW_UPS, {**body, "assignee": stylist.pk}, format="json")
    assert response.status_code == 201 and response.json()["assignee"] == stylist.pk
    assert FollowUp.objects.count() == 1


# ---- status ---------------------------------------------------------------------------------


def test_status_moves_through_the_case_and_refuses_the_impossible(
    world, api_as, reception, manager, on_the_day
):
    case = open_case(world, reception)
    url = f"{COMPLAINTS}{case.pk}/status/"
    api = api_as(manager)
    response = api.post(url, {"status": "closed"}, format="json")
    assert response.status_code == 409
    assert set(response.json()) == {"code", "detail"}
    assert response.json()["code"] == "complaint_transition"
    response = api.post(url, {"status": "resolved"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["resolution"]
    response = api.post(url, {"status": "resolved", "resolution": "   "}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["resolution"]
    case.refresh_from_db()
    assert (case.status, case.resolved_at) == ("open", None)

    response = api.post(url, {"status": "in_progress", "note": "Called her back"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    response = api.post(url, {"status": "resolved", "resolution": "Redid the colour free."}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["resolution"], body["sla"]) == ("resolved", "Redid the colour free.", "done")
    assert when(body["resolved_at"]) == on_the_day
    assert body["actions"][-1]["note"] == "Redid the colour free."
    response = api.post(url, {"status": "closed"}, format="json")
    assert response.status_code == 200 and response.json()["closed_at"] is not None
    # a closed case may be reopened, which clears its resolution times
    response = api.post(url, {"status": "in_progress"}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["resolved_at"], body["closed_at"]) == ("in_progress", None, None)
    kinds = [(a["kind"], a["status"]) for a in body["actions"]]
    assert kinds == [
        ("opened", "open"),
        ("status", "in_progress"),
        ("status", "resolved"),
        ("status", "closed"),
        ("status", "in_progress"),
    ]
    response = api.post(url, {"status": "lost"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["status"]
    # the desk may not work a case
    response = api_as(reception).post(url, {"status": "resolved", "resolution": "x"}, format="json")
    assert response.status_code == 403


def test_owner_and_deadline_change_through_owner(world, api_as, reception, manager, stylist, on_the_day):
    from tests.accounts.factories import StaffMemberFactory

    deputy = StaffMemberFactory(user__username="deputy", role="manager", locations=[world.location])
    case = open_case(world, reception)
    url = f"{COMPLAINTS}{case.pk}/owner/"
    api = api_as(manager)
    due = on_the_day + timedelta(hours=72)
    response = api.post(url, {"owner": deputy.user.pk, "due_at": due.isoformat()}, format="json")
    assert response.status_code == 200
    assert response.json()["owner"] == deputy.user.pk and when(response.json()["due_at"]) == due
    response = api.post(url, {"owner": stylist.user.pk}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["owner"]
    response = api.post(url, {"owner": 987654321}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["owner"]
    assert api_as(reception).post(url, {"owner": manager.user.pk}, format="json").status_code == 403


# ---- compensation ------------------------------------------------------------------------------


def test_a_coupon_lands_on_the_ledger_once(world, api_as, reception, manager):
    case = open_case(world, reception)
    url = f"{COMPLAINTS}{case.pk}/compensation/"
    api = api_as(manager)
    response = api.post(url, {"kind": "coupon", "value": "50.00", "valid_days": 30}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    coupon = Coupon.objects.get()
    assert (coupon.customer, coupon.kind, coupon.value, coupon.key) == (
        world.customer,
        "complaint",
        Decimal("50.00"),
        f"complaint:{case.pk}",
    )
    assert coupon.valid_until == DAY + timedelta(days=30)
    assert (body["compensation"], body["compensation_ref"], body["compensation_value"]) == (
        "coupon",
        coupon.code,
        "50.00",
    )
    assert body["actions"][-1]["kind"] == "compensated"
    again = api.post(url, {"kind": "coupon", "value": "50.00"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "complaint_compensated" and set(again.json()) == {"code", "detail"}
    points = api.post(url, {"kind": "points", "value": 100}, format="json")
    assert points.status_code == 409
    assert Coupon.objects.count() == 1 and PointsEntry.objects.count() == 0
    assert ComplaintAction.objects.filter(complaint=case, kind="compensated").count() == 1


def test_points_land_on_the_ledger_once(world, api_as, reception, manager):
    client = CustomerFactory(name="王五")
    case = open_case(world, reception, customer=client)
    url = f"{COMPLAINTS}{case.pk}/compensation/"
    api = api_as(manager)
    response = api.post(url, {"kind": "points", "value": "1.5"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["value"]
    response = api.post(url, {"kind": "points", "value": 300}, format="json")
    assert response.status_code == 200, response.json()
    entry = PointsEntry.objects.get()
    assert (entry.points, entry.key) == (300, f"complaint:{case.pk}")
    assert LoyaltyAccount.objects.get(customer=client).points == 300
    body = response.json()
    assert (body["compensation"], body["compensation_ref"], body["compensation_value"]) == (
        "points",
        str(entry.pk),
        "300.00",
    )
    assert api.post(url, {"kind": "points", "value": 300}, format="json").status_code == 409
    assert LoyaltyAccount.objects.get(customer=client).points == 300
    assert PointsEntry.objects.count() == 1


def test_the_desk_and_stylists_give_no_compensation(world, api_as, reception, stylist):
    case = open_case(world, reception, staff=[stylist])
    url = f"{COMPLAINTS}{case.pk}/compensation/"
    for persona in (reception, stylist):
        response = api_as(persona).post(url, {"kind": "coupon", "value": "20"}, format="json")
        assert response.status_code == 403
    assert Coupon.objects.count() == 0
    case.refresh_from_db()
    assert case.compensation == ""


def test_a_closed_case_gets_no_compensation(world, api_as, reception, manager):
    case = open_case(world, reception)
    services.complaint_set_status(complaint=case, status="resolved", by=manager.user, resolution="ok")
    services.complaint_set_status(complaint=case, status="closed", by=manager.user)
    response = api_as(manager).post(
        f"{COMPLAINTS}{case.pk}/compensation/", {"kind": "coupon", "value": "20"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "complaint_closed")
    assert Coupon.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "coupon", "value": "0"}, "value"),
        ({"kind": "coupon", "value": "-5"}, "value"),
        ({"kind": "coupon", "value": "1e30"}, "value"),
        ({"kind": "coupon", "value": "500000"}, "value"),  # above what a coupon may be worth
        ({"kind": "coupon", "value": "NaN"}, "value"),
        ({"kind": "coupon", "value": "Infinity"}, "value"),
        ({"kind": "coupon", "value": "20", "valid_days": 10**20}, "valid_days"),
        ({"kind": "coupon", "value": "20", "valid_days": 0}, "valid_days"),
        ({"kind": "points", "value": 10**20}, "value"),
        ({"kind": "cash", "value": "20"}, "kind"),
        ({"kind": ["coupon"], "value": "20"}, "kind"),
        ({"value": "20"}, "kind"),
    ],
)
def test_bad_compensation_is_a_field_error(world, api_as, reception, manager, data, field):
    case = open_case(world, reception)
    response = api_as(manager).post(f"{COMPLAINTS}{case.pk}/compensation/", data, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert Coupon.objects.count() == 0 and PointsEntry.objects.count() == 0


# ---- follow-ups ----------------------------------------------------------------------------------


def test_follow_up_planned_by_the_desk_and_a_problem_opens_a_case(world, api_as, reception, stylist, manager):
    response = api_as(reception).post(
        FOLLOW_UPS,
        {
            "customer": world.customer.pk,
            "location": world.location.pk,
            "due_on": (DAY + timedelta(days=3)).isoformat(),
            "assignee": stylist.pk,
            "purpose": "How is the colour holding?",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == set(FollowUpOutput().fields)
    assert (body["reason"], body["status"], body["outcome"], body["attempts"]) == ("manual", "open", "", 0)
    assert (body["due_on"], body["assignee"], body["opened_complaint"]) == ("2027-01-09", stylist.pk, None)
    url = f"{FOLLOW_UPS}{body['id']}/outcome/"
    api = api_as(stylist)
    response = api.post(url, {"outcome": "problem"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["note"]  # say what the problem is
    response = api.post(url, {"outcome": "problem", "note": "The colour faded in a week.", "category": "skill"},
                        format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["outcome"], body["attempts"]) == ("done", "problem", 1)
    case = Complaint.objects.get()
    assert body["opened_complaint"] == case.pk
    assert (case.source, case.category, case.description, case.owner) == (
        "follow_up",
        "skill",
        "The colour faded in a week.",
        manager.user,
    )
    assert list(case.staff_involved.all()) == [stylist]
    # the stylist involved sees the case it opened
    assert api.get(f"{COMPLAINTS}{case.pk}/").status_code == 200
    again = api.post(url, {"outcome": "happy"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "follow_up_done")
    assert Complaint.objects.count() == 1


def test_no_answer_tries_again_the_next_day(world, api_as, reception):
    follow_up = services.follow_up_create(
        customer=world.customer, location=world.location, due_on=DAY, by=reception.user, purpose="Check in"
    )
    response = api_as(reception).post(
        f"{FOLLOW_UPS}{follow_up.pk}/outcome/", {"outcome": "no_answer"}, format="json"
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["attempts"], body["due_on"], body["opened_complaint"]) == (
        "open",
        1,
        "2027-01-07",
        None,
    )
    listed = api_as(reception).get(FOLLOW_UPS, {"status": "open", "due_before": "2027-01-06"}).json()
    assert listed["count"] == 0
    listed = api_as(reception).get(FOLLOW_UPS, {"status": "open", "due_before": "2027-01-07"}).json()
    assert [r["id"] for r in listed["results"]] == [follow_up.pk]


# ---- surveys ----------------------------------------------------------------------------------


def _visit(salon, reception, *lines):
    return visit_checkout(
        location=salon.location,
        customer=salon.customer,
        by=reception.user,
        lines=[CheckoutLine(kind="service", service=service, staff=staff) for service, staff in lines],
        payments=[PaymentIn("cash", sum((service.price for service, _s in lines), Decimal("0")))],
    )


@pytest.fixture
def surveyed(world, reception, stylist, other_stylist):
    """Four visits of the day, each with its survey:
    a  cut by the stylist: answered 5 / 10, stylist rated 5
    b  colour by the other stylist: answered 2 / 3 with a comment (low: opens a case)
    c  cut by the stylist: sent, not answered
    d  colour by the stylist: still queued (not sent, not answered)"""
    made = {}
    for name, service, staff in (
        ("a", world.cut, stylist),
        ("b", world.colour, other_stylist),
        ("c", world.cut, stylist),
        ("d", world.colour, stylist),
    ):
        survey = services.survey_plan(visit=_visit(world, reception, (service, staff)))
        assert survey is not None and survey.staff == staff
        made[name] = survey
    OutboundMessage.objects.filter(pk=made["c"].message_id).update(status="sent")
    OutboundMessage.objects.exclude(pk=made["c"].message_id).update(status="queued")
    services.survey_answer(survey=made["a"], csat=5, nps=10, stylist_rating=5, tags=["skill"])
    services.survey_answer(survey=made["b"], csat=2, nps=3, comment="Too hot, it burned.", tags=["attitude"])
    return {k: Survey.objects.get(pk=v.pk) for k, v in made.items()}


def test_surveys_list_and_detail_for_the_manager(surveyed, api_as, manager):
    api = api_as(manager)
    body = api.get(SURVEYS).json()
    assert body["count"] == 4
    assert set(body["results"][0]) == set(SurveyOutput().fields)
    a = api.get(f"{SURVEYS}{surveyed['a'].pk}/").json()
    assert (a["csat"], a["nps"], a["stylist_rating"], a["tags"], a["state"], a["complaint"]) == (
        5,
        10,
        5,
        ["skill"],
        "answered",
        None,
    )
    b = api.get(f"{SURVEYS}{surveyed['b'].pk}/").json()
    case = Complaint.objects.get()
    assert (b["complaint"], b["comment"], case.source, case.survey_id) == (
        case.pk,
        "Too hot, it burned.",
        "survey",
        surveyed["b"].pk,
    )
    c = api.get(f"{SURVEYS}{surveyed['c'].pk}/").json()
    assert (c["state"], c["csat"], c["answered_at"], c["comment"], c["tags"]) == ("open", None, None, "", [])
    assert {r["id"] for r in api.get(SURVEYS, {"answered": "true"}).json()["results"]} == {
        surveyed["a"].pk,
        surveyed["b"].pk,
    }
    assert api.get(SURVEYS, {"answered": "false"}).json()["count"] == 2
    assert [r["id"] for r in api.get(SURVEYS, {"low": "true"}).json()["results"]] == [surveyed["b"].pk]
    assert api.get(f"{SURVEYS}987654321/").status_code == 404


def test_a_stylist_sees_their_own_surveys_and_no_results(surveyed, api_as, stylist, other_stylist, reception):
    body = api_as(stylist).get(SURVEYS).json()
    assert {r["id"] for r in body["results"]} == {surveyed[k].pk for k in "acd"}
    assert api_as(stylist).get(f"{SURVEYS}{surveyed['b'].pk}/").status_code == 404
    assert api_as(other_stylist).get(f"{SURVEYS}{surveyed['b'].pk}/").status_code == 200
    location = surveyed["a"].location_id
    assert api_as(stylist).get(RESULTS, {"location": location}).status_code == 403
    # the desk takes complaints but reads neither surveys nor results
    assert api_as(reception).get(SURVEYS).status_code == 403
    assert api_as(reception).get(RESULTS, {"location": location}).status_code == 403


def test_results_figures_on_a_small_data_set(surveyed, api_as, manager, stylist, other_stylist, world):
    response = api_as(manager).get(RESULTS, {"location": world.location.pk})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["start"], body["end"]) == ("2026-12-08", "2027-01-06")  # the last 30 days
    # sent: a, b (answered) and c (its message went out); d is still queued
    assert body["summary"] == {
        "sent": 3,
        "answered": 2,
        "response_rate": 0.6667,
        "csat": 0.5,  # one of two scored 4 or 5
        "csat_responses": 2,
        "nps": 0.0,  # one promoter (10), one detractor (3)
        "nps_responses": 2,
        "stylist_avg": 5.0,
    }
    by_stylist = {row["staff"]: row for row in body["by_stylist"]}
    assert set(by_stylist) == {stylist.pk, other_stylist.pk}
    assert by_stylist[stylist.pk] == {
        "staff": stylist.pk,
        "name": stylist.display_name,
        "sent": 2,
        "answered": 1,
        "response_rate": 0.5,
        "csat": 1.0,
        "csat_responses": 1,
        "nps": 100.0,
        "nps_responses": 1,
        "stylist_avg": 5.0,
    }
    assert by_stylist[other_stylist.pk] == {
        "staff": other_stylist.pk,
        "name": other_stylist.display_name,
        "sent": 1,
        "answered": 1,
        "response_rate": 1.0,
        "csat": 0.0,
        "csat_responses": 1,
        "nps": -100.0,
        "nps_responses": 1,
        "stylist_avg": None,
    }
    by_service = {row["name"]: row for row in body["by_service"]}
    assert set(by_service) == {"Cut", "Colour"}
    assert by_service["Cut"] == {
        "service": world.cut.pk,
        "name": "Cut",
        "sent": 2,
        "answered": 1,
        "response_rate": 0.5,
        "csat": 1.0,
        "csat_responses": 1,
        "nps": 100.0,
        "nps_responses": 1,
        "stylist_avg": 5.0,
    }
    assert (by_service["Colour"]["sent"], by_service["Colour"]["answered"], by_service["Colour"]["csat"]) == (
        1,
        1,
        0.0,
    )
    # a period without visits has no figures, not zeros
    empty = api_as(manager).get(
        RESULTS, {"location": world.location.pk, "start": "2026-01-01", "end": "2026-01-31"}
    )
    assert empty.json()["summary"] == {
        "sent": 0,
        "answered": 0,
        "response_rate": None,
        "csat": None,
        "csat_responses": 0,
        "nps": None,
        "nps_responses": 0,
        "stylist_avg": None,
    }
    assert (empty.json()["by_stylist"], empty.json()["by_service"]) == ([], [])


def test_results_need_a_location_and_a_sane_period(world, api_as, manager, other_location):
    api = api_as(manager)
    response = api.get(RESULTS)
    assert response.status_code == 400 and list(response.json()) == ["location"]
    response = api.get(RESULTS, {"location": other_location.pk})
    assert response.status_code == 400 and list(response.json()) == ["location"]
    response = api.get(RESULTS, {"location": world.location.pk, "start": "2027-01-06", "end": "2027-01-01"})
    assert response.status_code == 400 and list(response.json()) == ["end"]
    response = api.get(RESULTS, {"location": world.location.pk, "start": "yesterday"})
    assert response.status_code == 400 and list(response.json()) == ["start"]


# ---- bad input: a 400 naming the field, never a 500 ------------------------------------------------

CALENDAR_MESSAGE = "Give a date between 1900-01-01 and 2999-12-31."


@pytest.fixture
def targets(world, reception, stylist):
    """A case and a call of the home location, for the bad requests to aim at."""
    case = open_case(world, reception, staff=[stylist])
    call = services.follow_up_create(
        customer=world.customer, location=world.location, due_on=DAY, by=reception.user, purpose="Check in"
    )
    return case, call


def _snapshot():
    return (
        list(Complaint.objects.values_list("pk", "status", "owner", "due_at", "resolution", "compensation")),
        ComplaintAction.objects.count(),
        list(FollowUp.objects.values_list("pk", "status", "attempts", "due_on", "note")),
        Coupon.objects.count(),
        PointsEntry.objects.count(),
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        # the ends of the calendar, impossible and naive date-times
        ({"due_at": "0001-01-01T00:00:00+08:00"}, "due_at"),
        ({"due_at": "0001-01-01T10:00:00+00:00"}, "due_at"),
        ({"due_at": "9999-12-31T23:59:00-08:00"}, "due_at"),
        ({"due_at": "9999-12-31T10:00:00+08:00"}, "due_at"),
        ({"due_at": "2027-02-30T10:00:00+08:00"}, "due_at"),
        ({"due_at": "2027-01-08T10:00:00"}, "due_at"),  # no offset: it would be guessed
        ({"due_at": 1767225600}, "due_at"),
        # NUL, control characters, lone surrogates, too long
        ({"description": "a\x00b"}, "description"),
        ({"description": "rude\x07 staff"}, "description"),
        ({"description": "a\x1b[31mred"}, "description"),
        ({"description": "a\x85b"}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"description": "   "}, "description"),
        # wrong types
        ({"customer": "abc"}, "customer"),
        ({"customer": True}, "customer"),
        ({"location": [1]}, "location"),
        ({"description": {"x": 1}}, "description"),
        ({"category": "rudeness"}, "category"),
        ({"category": None}, "category"),
        ({"severity": 3}, "severity"),
        ({"staff_involved": "x"}, "staff_involved"),
        ({"staff_involved": [{"id": 1}]}, "staff_involved"),
        # huge numbers and unknown ids
        ({"customer": 10**30}, "customer"),
        ({"customer": 2**63}, "customer"),
        ({"customer": 987654321}, "customer"),
        ({"location": 987654321}, "location"),
        ({"visit": 10**30}, "visit"),
        ({"staff_involved": [10**30]}, "staff_involved"),
    ],
)
def test_bad_complaint_input_is_a_field_error(targets, world, api_as, reception, extra, field):
    before = _snapshot()
    response = api_as(reception).post(COMPLAINTS, complaint_body(world, **extra), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert _snapshot() == before


def test_a_date_at_the_end_of_the_calendar_says_so(world, api_as, reception):
    for due in ("0001-01-01T00:00:00+08:00", "9999-12-31T10:00:00+08:00"):
        response = api_as(reception).post(COMPLAINTS, complaint_body(world, due_at=due), format="json")
        assert (response.status_code, response.json()) == (400, {"due_at": [CALENDAR_MESSAGE]})


def test_a_visit_of_another_client_is_refused(world, api_as, reception, stylist):
    visit = _visit(world, reception, (world.cut, stylist))
    other = CustomerFactory(name="赵六")
    response = api_as(reception).post(
        COMPLAINTS, complaint_body(world, customer=other.pk, visit=visit.pk), format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["visit"]
    response = api_as(reception).post(COMPLAINTS, complaint_body(world, visit=visit.pk), format="json")
    assert response.status_code == 201 and response.json()["visit"] == visit.pk


@pytest.mark.parametrize("body", [[], "complaint", 5, None, [{"customer": 1}]])
def test_a_body_that_is_not_an_object_is_a_400(targets, api_as, manager, body):
    case, call = targets
    before = _snapshot()
    api = api_as(manager)
    for url in (
        COMPLAINTS,
        f"{COMPLAINTS}{case.pk}/notes/",
        f"{COMPLAINTS}{case.pk}/status/",
        f"{COMPLAINTS}{case.pk}/owner/",
        f"{COMPLAINTS}{case.pk}/compensation/",
        FOLLOW_UPS,
        f"{FOLLOW_UPS}{call.pk}/outcome/",
    ):
        response = api.generic("POST", url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (url, response.content)
        assert "non_field_errors" in response.json() or body is None, (url, response.json())
    assert _snapshot() == before


@pytest.mark.parametrize("depth", [100_000, 33])
def test_deeply_nested_json_is_a_400_everywhere(targets, api_as, manager, depth):
    case, call = targets
    body = "[" * depth + "]" * depth
    for url in (COMPLAINTS, f"{COMPLAINTS}{case.pk}/status/", f"{COMPLAINTS}{case.pk}/compensation/",
                FOLLOW_UPS, f"{FOLLOW_UPS}{call.pk}/outcome/"):  # fmt: skip
        response = api_as(manager).generic("POST", url, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {"detail": "JSON parse error - nested more than 32 levels deep."}


@pytest.mark.parametrize(
    "raw",
    [
        '{"note": "\\ud800"}',  # a lone surrogate, escaped in the JSON
        '{"note": NaN}',
        '{"note": "a", "note": {"x": [1, 2]}}',
    ],
)
def test_odd_json_is_a_400(targets, api_as, manager, raw):
    case, _call = targets
    response = api_as(manager).generic(
        "POST", f"{COMPLAINTS}{case.pk}/notes/", raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert ComplaintAction.objects.filter(kind="note").count() == 0


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("notes/", {"note": "a\x00b"}, "note"),
        ("notes/", {"note": "a\x01b"}, "note"),
        ("notes/", {"note": ""}, "note"),
        ("notes/", {"note": ["a"]}, "note"),
        ("notes/", {}, "note"),
        ("status/", {"status": "resolved", "resolution": "fixed\x00"}, "resolution"),
        ("status/", {"status": "resolved", "resolution": "fi\x1bxed"}, "resolution"),
        ("status/", {"status": "in_progress", "note": "x" * 4001}, "note"),
        ("status/", {"status": ["open"]}, "status"),
        ("status/", {"status": None}, "status"),
        ("owner/", {"owner": 10**30}, "owner"),
        ("owner/", {"owner": "manager"}, "owner"),
        ("owner/", {"owner": "MANAGER", "due_at": "9999-12-31T10:00:00+08:00"}, "due_at"),
        ("owner/", {"owner": "MANAGER", "due_at": "0001-01-01T00:00:00+08:00"}, "due_at"),
        ("owner/", {"owner": "MANAGER", "due_at": "2027-01-05T10:00:00+08:00"}, "due_at"),
    ],
)
def test_bad_case_steps_are_field_errors(targets, api_as, manager, path, data, field):
    case, _call = targets
    data = {k: manager.user.pk if v == "MANAGER" else v for k, v in data.items()}
    before = _snapshot()
    response = api_as(manager).post(f"{COMPLAINTS}{case.pk}/{path}", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"due_on": "0001-01-01"}, "due_on"),
        ({"due_on": "9999-12-31"}, "due_on"),
        ({"due_on": "2027-01-05"}, "due_on"),  # yesterday
        ({"due_on": "2027-02-30"}, "due_on"),
        ({"due_on": 20270109}, "due_on"),
        ({"purpose": "a\tb"}, "purpose"),  # one line
        ({"purpose": "a\nb"}, "purpose"),
        ({"purpose": "a\x00b"}, "purpose"),
        ({"purpose": "x" * 201}, "purpose"),
        ({"purpose": ""}, "purpose"),
        ({"assignee": 10**30}, "assignee"),
        ({"assignee": "me"}, "assignee"),
        ({"customer": 10**30}, "customer"),
        ({"customer": 987654321}, "customer"),
        ({"visit": 987654321}, "visit"),
    ],
)
def test_bad_follow_up_input_is_a_field_error(world, api_as, reception, extra, field):
    body = {
        "customer": world.customer.pk,
        "location": world.location.pk,
        "due_on": "2027-01-09",
        "purpose": "How is it?",
        **extra,
    }
    response = api_as(reception).post(FOLLOW_UPS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert FollowUp.objects.count() == 0


def test_an_assignee_from_another_location_is_refused(world, api_as, reception, other_location):
    from tests.accounts.factories import StaffMemberFactory

    far = StaffMemberFactory(user__username="far.stylist", role="stylist", locations=[other_location])
    body = {"customer": world.customer.pk, "location": world.location.pk, "due_on": "2027-01-09",
            "purpose": "How is it?", "assignee": far.pk}  # fmt: skip
    response = api_as(reception).post(FOLLOW_UPS, body, format="json")
    assert response.status_code == 400 and list(response.json()) == ["assignee"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": "problem", "note": "a\x00"}, "note"),
        ({"outcome": "problem", "note": "burnt\x07"}, "note"),
        ({"outcome": "problem", "note": "bad", "category": "nope"}, "category"),
        ({"outcome": 1}, "outcome"),
        ({"outcome": "maybe"}, "outcome"),
        ({}, "outcome"),
    ],
)
def test_bad_outcomes_are_field_errors(targets, api_as, reception, data, field):
    _case, call = targets
    before = _snapshot()
    response = api_as(reception).post(f"{FOLLOW_UPS}{call.pk}/outcome/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        (COMPLAINTS, {"status": "lost"}, "status"),
        (COMPLAINTS, {"mine": "maybe"}, "mine"),
        (COMPLAINTS, {"overdue": "2"}, "overdue"),
        (COMPLAINTS, {"customer": "abc"}, "customer"),
        (COMPLAINTS, {"customer": str(10**20)}, "customer"),
        (COMPLAINTS, {"customer": "-1"}, "customer"),
        (COMPLAINTS, {"location": "²"}, "location"),
        (COMPLAINTS, {"location": "987654321"}, "location"),
        (FOLLOW_UPS, {"status": "later"}, "status"),
        (FOLLOW_UPS, {"due_before": "2027-02-30"}, "due_before"),
        (FOLLOW_UPS, {"due_before": "tomorrow"}, "due_before"),
        (SURVEYS, {"answered": "maybe"}, "answered"),
        (SURVEYS, {"low": "[]"}, "low"),
        (RESULTS, {"location": "LOCATION", "end": "2027-13-01"}, "end"),
        (RESULTS, {"location": "LOCATION", "start": "0000-01-01"}, "start"),
    ],
)
def test_bad_query_parameters_are_field_errors(world, api_as, manager, path, query, field):
    query = {k: world.location.pk if v == "LOCATION" else v for k, v in query.items()}
    response = api_as(manager).get(path, query)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


@pytest.mark.parametrize("path", [COMPLAINTS, FOLLOW_UPS, SURVEYS, RESULTS])
def test_a_location_not_yours_is_a_field_error(world, api_as, manager, other_location, path):
    response = api_as(manager).get(path, {"location": other_location.pk})
    assert (response.status_code, response.json()) == (400, {"location": ["Not one of your locations."]})


def test_writing_at_a_location_not_yours_is_refused(world, api_as, reception, other_location):
    response = api_as(reception).post(
        COMPLAINTS, complaint_body(world, location=other_location.pk), format="json"
    )
    assert response.status_code == 403
    body = {
        "customer": world.customer.pk,
        "location": other_location.pk,
        "due_on": "2027-01-09",
        "purpose": "x",
    }
    assert api_as(reception).post(FOLLOW_UPS, body, format="json").status_code == 403
    assert (Complaint.objects.count(), FollowUp.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    "url",
    [
        f"{COMPLAINTS}?q=a%00b",
        f"{COMPLAINTS}?status=open%00",
        f"{FOLLOW_UPS}?due_before=2027-01-06%00",
        f"{SURVEYS}?location%00=1",
        f"{RESULTS}?location=1%00",
    ],
)
def test_nul_in_a_query_parameter_is_a_400(world, api_as, manager, url):
    response = api_as(manager).get(url)
    assert response.status_code == 400
    assert list(response.json().values()) == [["Null characters are not allowed."]]


def test_dates_at_the_ends_of_the_calendar_in_queries_are_answered(targets, surveyed, api_as, manager, world):
    api = api_as(manager)
    for start, end in (
        ("0001-01-01", "9999-12-31"),
        ("0001-01-01", "0001-01-01"),
        ("9999-12-31", "9999-12-31"),
    ):
        response = api.get(RESULTS, {"location": world.location.pk, "start": start, "end": end})
        assert response.status_code == 200, response.content
        assert (response.json()["start"], response.json()["end"]) == (start, end)
        sent = response.json()["summary"]["sent"]
        assert sent == (3 if (start, end) == ("0001-01-01", "9999-12-31") else 0)
    for day, count in (("0001-01-01", 0), ("9999-12-31", 1)):
        response = api.get(FOLLOW_UPS, {"due_before": day})
        assert (response.status_code, response.json()["count"]) == (200, count)


def test_huge_pages_and_ids(targets, api_as, manager):
    case, call = targets
    api = api_as(manager)
    for path in (COMPLAINTS, FOLLOW_UPS, SURVEYS):
        response = api.get(path, {"limit": str(10**20)})
        assert response.status_code == 200, (path, response.content)
        response = api.get(path, {"offset": str(10**20)})
        assert (response.status_code, response.json()["results"]) == (200, [])
    assert len(api.get(COMPLAINTS, {"limit": "0"}).json()["results"]) == 1  # a bad limit: the default
    assert api.get(COMPLAINTS, {"customer": "999999999999"}).json()["count"] == 0
    for url in (f"{COMPLAINTS}{10**20}/", f"{COMPLAINTS}{2**63}/", f"{SURVEYS}{10**20}/"):
        assert api.get(url).status_code == 404
    for url, data in (
        (f"{COMPLAINTS}{10**20}/notes/", {"note": "x"}),
        (f"{COMPLAINTS}{10**20}/status/", {"status": "in_progress"}),
        (f"{COMPLAINTS}{10**20}/owner/", {"owner": manager.user.pk}),
        (f"{COMPLAINTS}{10**20}/compensation/", {"kind": "coupon", "value": "5"}),
        (f"{FOLLOW_UPS}{10**20}/outcome/", {"outcome": "reached"}),
        (f"{FOLLOW_UPS}987654321/outcome/", {"outcome": "reached"}),
    ):
        assert api.post(url, data, format="json").status_code == 404


# ---- the answers are as the OpenAPI schema says ----------------------------------------------------


def _json_schema(node):
    """OpenAPI 3.0 → JSON Schema: `nullable` becomes a null alternative; $refs stay."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _json_schema(v)
        for k, v in node.items()
        if k not in ("nullable", "readOnly", "writeOnly", "example")
    }
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def openapi():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _check(openapi, method: str, path: str, response) -> None:
    import jsonschema

    operation = openapi["paths"][path][method]
    documented = operation["responses"]
    assert str(response.status_code) in documented, (method, path, response.status_code, sorted(documented))
    content = documented[str(response.status_code)].get("content")
    assert content and "application/json" in content, (method, path, response.status_code)
    schema = {
        **_json_schema(content["application/json"]["schema"]),
        "components": _json_schema(openapi["components"]),
    }
    jsonschema.validate(response.json(), schema)


def test_every_feedback_operation_is_in_the_schema(openapi):
    operations = {(m, p) for p, item in openapi["paths"].items() for m in item if "/api/v1/" in p}
    assert {
        ("get", "/api/v1/surveys/"),
        ("get", "/api/v1/surveys/results/"),
        ("get", "/api/v1/surveys/{id}/"),
        ("get", "/api/v1/complaints/"),
        ("post", "/api/v1/complaints/"),
        ("get", "/api/v1/complaints/{id}/"),
        ("post", "/api/v1/complaints/{id}/notes/"),
        ("post", "/api/v1/complaints/{id}/status/"),
        ("post", "/api/v1/complaints/{id}/owner/"),
        ("post", "/api/v1/complaints/{id}/compensation/"),
        ("get", "/api/v1/follow-ups/"),
        ("post", "/api/v1/follow-ups/"),
        ("post", "/api/v1/follow-ups/{id}/outcome/"),
    } <= operations
    names = set(openapi["components"]["schemas"])
    assert {"ComplaintStatusEnum", "CompensationEnum"} <= names  # named, not a hash
    assert not [n for n in names if re.search(r"[0-9a-f]{3}Enum$", n)]


def test_the_answers_match_the_schema(surveyed, openapi, api_as, manager, reception, stylist, world):
    """Every kind of answer of the feedback API, successes and errors, held to its schema (as
    CI's schemathesis run does against the running server)."""
    case = Complaint.objects.get()  # opened by survey b's low score
    call = services.follow_up_create(
        customer=world.customer, location=world.location, due_on=DAY, by=reception.user,
        assignee=stylist, purpose="Check in",
    )  # fmt: skip
    checks = [
        ("get", "/api/v1/surveys/", lambda: api_as(manager).get(SURVEYS)),
        ("get", "/api/v1/surveys/{id}/", lambda: api_as(manager).get(f"{SURVEYS}{surveyed['b'].pk}/")),
        ("get", "/api/v1/surveys/{id}/", lambda: api_as(manager).get(f"{SURVEYS}{surveyed['c'].pk}/")),
        ("get", "/api/v1/surveys/{id}/", lambda: api_as(manager).get(f"{SURVEYS}987654321/")),
        ("get", "/api/v1/surveys/results/", lambda: api_as(manager).get(RESULTS, {"location": world.location.pk})),
        ("get", "/api/v1/surveys/results/", lambda: api_as(manager).get(RESULTS, {"location": world.location.pk, "start": "2020-01-01", "end": "2020-01-02"})),
        ("get", "/api/v1/surveys/results/", lambda: api_as(manager).get(RESULTS)),
        ("get", "/api/v1/complaints/", lambda: api_as(manager).get(COMPLAINTS)),
        ("get", "/api/v1/complaints/", lambda: api_as(manager).get(COMPLAINTS, {"status": "nope"})),
        ("post", "/api/v1/complaints/", lambda: api_as(manager).post(COMPLAINTS, complaint_body(world), format="json")),
        ("post", "/api/v1/complaints/", lambda: api_as(manager).post(COMPLAINTS, complaint_body(world, location=[1]), format="json")),
        ("get", "/api/v1/complaints/{id}/", lambda: api_as(manager).get(f"{COMPLAINTS}{case.pk}/")),
        ("post", "/api/v1/complaints/{id}/notes/", lambda: api_as(manager).post(f"{COMPLAINTS}{case.pk}/notes/", {"note": "Called"}, format="json")),
        ("post", "/api/v1/complaints/{id}/status/", lambda: api_as(manager).post(f"{COMPLAINTS}{case.pk}/status/", {"status": "closed"}, format="json")),
        ("post", "/api/v1/complaints/{id}/status/", lambda: api_as(manager).post(f"{COMPLAINTS}{case.pk}/status/", {"status": "resolved"}, format="json")),
        ("post", "/api/v1/complaints/{id}/status/", lambda: api_as(manager).post(f"{COMPLAINTS}{case.pk}/status/", {"status": "in_progress"}, format="json")),
        ("post", "/api/v1/complaints/{id}/owner/", lambda: api_as(manager).post(f"{COMPLAINTS}{case.pk}/owner/", {"owner": manager.user.pk}, format="json")),
        ("post", "/api/v1/complaints/{id}/compensation/", lambda: api_as(manager).post(f"{COMPLAINTS}{case.pk}/compensation/", {"kind": "coupon", "value": "30"}, format="json")),
        ("post", "/api/v1/complaints/{id}/compensation/", lambda: api_as(manager).post(f"{COMPLAINTS}{case.pk}/compensation/", {"kind": "coupon", "value": "30"}, format="json")),
        ("post", "/api/v1/complaints/{id}/compensation/", lambda: api_as(reception).post(f"{COMPLAINTS}{case.pk}/compensation/", {"kind": "coupon", "value": "30"}, format="json")),
        ("get", "/api/v1/complaints/{id}/", lambda: api_as(reception).get(f"{COMPLAINTS}987654321/")),
        ("get", "/api/v1/follow-ups/", lambda: api_as(stylist).get(FOLLOW_UPS)),
        ("post", "/api/v1/follow-ups/", lambda: api_as(reception).post(FOLLOW_UPS, {"customer": world.customer.pk, "location": world.location.pk, "due_on": "2027-01-08", "purpose": "Hi"}, format="json")),
        ("post", "/api/v1/follow-ups/{id}/outcome/", lambda: api_as(stylist).post(f"{FOLLOW_UPS}{call.pk}/outcome/", {"outcome": "problem", "note": "Itchy scalp"}, format="json")),
        ("post", "/api/v1/follow-ups/{id}/outcome/", lambda: api_as(stylist).post(f"{FOLLOW_UPS}{call.pk}/outcome/", {"outcome": "happy"}, format="json")),
        ("get", "/api/v1/surveys/", lambda: api_as(reception).get(SURVEYS)),
    ]  # fmt: skip
    seen = set()
    for method, path, send in checks:
        response = send()
        seen.add(response.status_code)
        _check(openapi, method, path, response)
    assert seen == {200, 201, 400, 403, 404, 409}
