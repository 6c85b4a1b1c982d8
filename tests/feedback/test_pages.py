"""feedback's pages through the test client: the client's survey (a low score opens a case),
the complaint board and a case's page (status, note, owner, compensation), the inbox and
results, the follow-up calls list and its outcome form, the client card's dialogs, the card's
panel and timeline, and the Today page's panel."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.line_kinds import CheckoutLine
from appointments.services import PaymentIn, visit_checkout
from feedback import services
from feedback.models import Complaint, FollowUp, Survey
from loyalty.models import Coupon
from tests.appointments import fixtures_core

salon = fixtures_core.salon
on_the_day = fixtures_core.on_the_day
pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(salon, reception, on_the_day, django_capture_on_commit_callbacks):
    """A colour (follow-up day 3) by the salon's stylist, checked out at the desk: the visit
    events run, so the survey and the follow-up call are planned."""
    salon.colour.follow_up_days = 3
    salon.colour.save()
    with django_capture_on_commit_callbacks(execute=True):
        return visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            lines=[CheckoutLine(kind="service", service=salon.colour, staff=salon.stylist)],
            discount=Decimal("0"),
            payments=[PaymentIn("cash", Decimal("680.00"))],
        )


def survey_url(survey) -> str:
    return reverse("feedback:survey", args=[services.survey_token(survey)])


def test_a_client_answers_the_survey_once_and_a_low_score_opens_one_case(client, visit, manager):
    survey = Survey.objects.get(visit=visit)
    page = client.get(survey_url(survey))
    assert page.status_code == 200
    assert b'name="csat"' in page.content and b'name="nps"' in page.content
    answer = {
        "csat": "1",
        "nps": "2",
        "stylist_rating": "2",
        "tags": ["waiting", "attitude"],
        "comment": "等了四十分钟",
    }
    done = client.post(survey_url(survey), answer)
    assert done.status_code == 200 and b'id="survey-thanks"' in done.content
    case = Complaint.objects.get(survey=survey)
    assert case.source == "survey" and case.owner == manager.user and case.category == "attitude"
    again = client.post(survey_url(survey), {**answer, "csat": "5"})
    assert b"already answered" in again.content
    survey.refresh_from_db()
    assert survey.csat == 1 and Complaint.objects.count() == 1


def test_the_survey_page_refuses_bad_answers_with_a_message(client, visit):
    survey = Survey.objects.get(visit=visit)
    for bad in ({"csat": ""}, {"csat": "9"}, {"csat": "3", "nps": "11"}, {"csat": "3", "comment": "a\x07b"}):
        page = client.post(survey_url(survey), bad)
        assert page.status_code == 400, bad
        assert b'id="survey-errors"' in page.content
    nul = client.post(survey_url(survey), {"csat": "3", "comment": "a\x00b"})
    assert nul.status_code == 400  # the project's NUL guard answers before the page
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_a_forged_link_is_a_404_and_an_expired_one_says_so(client, visit, monkeypatch):
    survey = Survey.objects.get(visit=visit)
    token = services.survey_token(survey)
    assert client.get(reverse("feedback:survey", args=[token[:-2] + "xx"])).status_code == 404
    assert client.get(reverse("feedback:survey", args=["x" * 300])).status_code == 404
    later = survey.expires_at + timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    page = client.get(survey_url(survey))
    assert page.status_code == 410 and b'id="survey-expired"' in page.content
    assert client.post(survey_url(survey), {"csat": "5"}).status_code == 410
    survey.refresh_from_db()
    assert survey.answered_at is None


def _case(salon, manager, **kw):
    return services.complaint_open(
        customer=salon.customer,
        location=salon.location,
        category="skill",
        description="The colour came out orange.",
        by=manager.user,
        staff_involved=[salon.stylist],
        **kw,
    )


def test_the_board_shows_cases_by_status_with_their_deadline_colour(client_as, salon, manager, on_the_day):
    ok = _case(salon, manager)
    soon = _case(salon, manager, due_at=on_the_day + timedelta(hours=2))
    page = client_as(manager).get(reverse("feedback:board"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-complaint="{ok.pk}" data-sla="ok"' in html
    assert f'data-complaint="{soon.pk}" data-sla="due_soon"' in html


def test_the_manager_works_a_case_to_closed_with_a_coupon(client_as, salon, manager, on_the_day):
    case = _case(salon, manager)
    c = client_as(manager)
    url = reverse("feedback:complaint", args=[case.pk])
    assert c.get(url).status_code == 200
    assert c.post(url, {"action": "note", "note-note": "Called her back."}).status_code == 302
    assert c.post(url, {"action": "status", "status-status": "in_progress"}).status_code == 302
    refused = c.post(url, {"action": "status", "status-status": "resolved"})
    assert refused.status_code == 400 and "resolved" in refused.content.decode()
    comp = {"action": "compensate", "comp-kind": "coupon", "comp-value": "100", "comp-valid_days": "60"}
    assert c.post(url, comp).status_code == 302
    assert c.post(url, comp).status_code in (400, 403)  # the form is gone; a replay changes nothing
    assert Coupon.objects.filter(customer=salon.customer, kind="complaint").count() == 1
    done = c.post(
        url, {"action": "status", "status-status": "resolved", "status-resolution": "Redone free, coupon."}
    )
    assert done.status_code == 302
    c.post(url, {"action": "status", "status-status": "closed"})
    case.refresh_from_db()
    assert case.status == "closed" and case.compensation == "coupon"
    kinds = list(case.actions.values_list("kind", flat=True))
    assert kinds == ["opened", "note", "status", "compensated", "status", "status"]


def test_reception_may_note_but_not_move_a_case(client_as, salon, manager, reception, on_the_day):
    case = _case(salon, manager)
    c = client_as(reception)
    url = reverse("feedback:complaint", args=[case.pk])
    page = c.get(url)
    assert page.status_code == 200 and b"complaint-status-form" not in page.content
    assert c.post(url, {"action": "status", "status-status": "in_progress"}).status_code == 403
    assert c.post(url, {"action": "note", "note-note": "She called again."}).status_code == 302


def test_a_stylist_sees_only_their_own_cases(client_as, salon, manager, on_the_day):
    mine = _case(salon, manager)
    theirs = services.complaint_open(
        customer=salon.customer,
        location=salon.location,
        category="price",
        description="Price.",
        by=manager.user,
    )
    c = client_as(salon.stylist)
    assert c.get(reverse("feedback:complaint", args=[mine.pk])).status_code == 200
    assert c.get(reverse("feedback:complaint", args=[theirs.pk])).status_code == 404
    board = c.get(reverse("feedback:board")).content.decode()
    assert f'data-complaint="{mine.pk}"' in board and f'data-complaint="{theirs.pk}"' not in board


def test_the_desk_logs_a_complaint_from_the_client_card(client_as, salon, reception, manager, visit):
    c = client_as(reception)
    url = reverse("feedback:complaint_new_for", args=[salon.customer.pk])
    assert c.get(url).status_code == 200
    refused = c.post(url, {"source": "phone", "category": "skill", "severity": "medium", "description": ""})
    assert refused.status_code == 200 and Complaint.objects.count() == 0
    done = c.post(
        url,
        {
            "source": "phone",
            "category": "skill",
            "severity": "high",
            "visit": str(visit.pk),
            "staff_involved": [str(salon.stylist.pk)],
            "description": "Too short on the left.",
        },
    )
    assert done.status_code == 204 or done.status_code == 200
    case = Complaint.objects.get()
    assert (
        case.visit == visit
        and case.owner == manager.user
        and list(case.staff_involved.all()) == [salon.stylist]
    )


def test_my_follow_ups_today_and_recording_the_outcome(client_as, salon, visit, monkeypatch):
    call = FollowUp.objects.get(visit=visit)
    assert call.assignee == salon.stylist and call.due_on == fixtures_core.DAY + timedelta(days=3)
    on_call_day = salon.at(10, day=call.due_on)
    monkeypatch.setattr(timezone, "now", lambda: on_call_day)
    c = client_as(salon.stylist)
    page = c.get(reverse("feedback:follow_ups"))
    assert f'data-follow-up="{call.pk}"'.encode() in page.content
    record = reverse("feedback:follow_up_record", args=[call.pk])
    c.post(record, {f"f{call.pk}-outcome": "no_answer"})
    call.refresh_from_db()
    assert (
        call.status == "open" and call.attempts == 1 and call.due_on == on_call_day.date() + timedelta(days=1)
    )
    c.post(
        record,
        {f"f{call.pk}-outcome": "problem", f"f{call.pk}-category": "skill", f"f{call.pk}-note": "Fading."},
    )
    call.refresh_from_db()
    assert call.status == "done" and call.opened_complaint.source == "follow_up"


def test_plan_a_follow_up_from_the_card(client_as, salon, reception, on_the_day):
    c = client_as(reception)
    url = reverse("feedback:follow_up_new", args=[salon.customer.pk])
    assert c.get(url).status_code == 200
    c.post(url, {"due_on": "2001-01-01", "purpose": "How is it?"})
    assert FollowUp.objects.count() == 0
    c.post(url, {"due_on": "2027-01-08", "assignee": str(salon.stylist.pk), "purpose": "How is it?"})
    call = FollowUp.objects.get()
    assert call.reason == "manual" and call.assignee == salon.stylist


def test_inbox_and_results_show_the_answers(client_as, client, visit, manager):
    survey = Survey.objects.get(visit=visit)
    client.post(survey_url(survey), {"csat": "5", "nps": "10", "comment": "Lovely"})
    c = client_as(manager)
    inbox = c.get(reverse("feedback:inbox"), {"start": "2027-01-01", "end": "2027-01-31"})
    assert inbox.status_code == 200 and f'data-survey="{survey.pk}"'.encode() in inbox.content
    results = c.get(
        reverse("feedback:results"), {"start": "2027-01-01", "end": "2027-01-31"}
    ).content.decode()
    assert f'data-row="{salon_stylist_pk(visit)}"' in results and "100" in results
    assert c.get(reverse("feedback:inbox"), {"start": "0001-01-01", "end": "9999-12-31"}).status_code == 200
    assert c.get(reverse("feedback:results"), {"start": "x", "end": "12/31/2026"}).status_code == 200


def salon_stylist_pk(visit):
    return visit.lines.first().staff_id


def test_the_card_and_today_show_open_cases_and_calls(client_as, salon, manager, visit, on_the_day):
    case = _case(salon, manager)
    c = client_as(manager)
    card = c.get(reverse("customers:detail", args=[salon.customer.pk])).content.decode()
    assert f'data-complaint="{case.pk}"' in card and 'id="feedback"' in card
    assert 'data-kind="complaint"' in card
    today = c.get(reverse("accounts:today")).content.decode()  # "/" is a manager's dashboard
    assert f'data-complaint="{case.pk}"' in today


def test_surveys_can_be_switched_off(
    settings, salon, reception, on_the_day, django_capture_on_commit_callbacks
):
    settings.FEEDBACK_SURVEYS = False
    with django_capture_on_commit_callbacks(execute=True):
        visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
            discount=Decimal("0"),
            payments=[PaymentIn("cash", Decimal("200.00"))],
        )
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    "path", ["feedback:board", "feedback:inbox", "feedback:results", "feedback:follow_ups"]
)
def test_the_lists_cost_the_same_queries_for_two_rows_or_eight(
    client_as, salon, manager, on_the_day, path, django_assert_max_num_queries
):
    """No N+1: the board, the answers and the calls read their rows in a fixed number of
    queries (the count for two rows is the ceiling for eight)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.appointments.factories import CustomerFactory

    c = client_as(manager)
    period = "?start=2027-01-01&end=2027-01-31"
    query = {"feedback:follow_ups": "?show=all", "feedback:inbox": period, "feedback:results": period}
    url = reverse(path) + query.get(path, "")

    def add(n):
        for _ in range(n):
            customer = CustomerFactory()
            services.complaint_open(
                customer=customer,
                location=salon.location,
                category="skill",
                description="x",
                by=manager.user,
                staff_involved=[salon.stylist],
            )
            services.follow_up_create(
                customer=customer,
                location=salon.location,
                due_on=fixtures_core.DAY,
                assignee=salon.stylist,
                purpose="How is it?",
                by=manager.user,
            )
            sale = visit_checkout(
                location=salon.location,
                customer=customer,
                by=manager.user,
                lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
                discount=Decimal("0"),
                payments=[PaymentIn("cash", Decimal("200.00"))],
            )
            survey = services.survey_plan(visit=sale)
            services.survey_answer(survey=survey, csat=1, nps=3, comment="slow", tags=["waiting"])

    add(2)
    c.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as two:
        assert c.get(url).status_code == 200
    add(6)
    with django_assert_max_num_queries(len(two.captured_queries)):
        page = c.get(url)
    marker = {
        "feedback:board": b"data-complaint=",
        "feedback:inbox": b"data-survey=",
        "feedback:follow_ups": b"data-record=",
    }
    assert page.content.count(marker.get(path, b"data-row=")) >= (8 if path != "feedback:results" else 2)
