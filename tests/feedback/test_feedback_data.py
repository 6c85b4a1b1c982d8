"""Who sees which case, call and survey (a stylist their own, a manager their location's); the
client's feedback rows through a merge, an export and an erasure; the survey figures of
METRICS.md (csat, nps, response rate) by stylist and by service, each in one query."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from appointments.line_kinds import CheckoutLine
from appointments.services import visit_void
from customers.models import Customer
from customers.services import customer_erase, customer_export_data, customer_merge
from feedback import registry, selectors, services
from feedback.models import Complaint, ComplaintAction, FollowUp, Survey
from messaging.models import OutboundMessage
from salon_crm.errors import Conflict
from tests.accounts.factories import StaffMemberFactory
from tests.appointments.factories import CustomerFactory, ProductFactory, ServiceFactory
from tests.appointments.fixtures_core import DAY


def pks(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


# ---- scoping -----------------------------------------------------------------------------------


@pytest.fixture
def far(other_location):
    """A stylist of the other location, and a service sold there."""
    stylist = StaffMemberFactory(user__username="far", role="stylist", locations=[other_location])
    service = ServiceFactory(name="Far cut", price=Decimal("150.00"), locations=[other_location])
    return stylist, service


@pytest.mark.django_db
def test_who_sees_which_complaint(
    make, salon, stylist, other_stylist, manager, reception, owner, other_location
):
    involved = make.complaint(staff_involved=[stylist])
    theirs = make.complaint(staff_involved=[other_stylist])
    owned = make.complaint()
    Complaint.objects.filter(pk=owned.pk).update(owner=stylist.user)  # e.g. reassigned in the admin
    nobody = make.complaint()
    elsewhere = make.complaint(location=other_location, by=owner.user, staff_involved=[stylist])

    assert pks(selectors.complaints_for(stylist.user)) == {involved.pk, owned.pk}
    assert pks(selectors.complaints_for(other_stylist.user)) == {theirs.pk}
    here = {involved.pk, theirs.pk, owned.pk, nobody.pk}
    assert pks(selectors.complaints_for(manager.user)) == here
    assert pks(selectors.complaints_for(reception.user)) == here
    assert pks(selectors.complaints_for(owner.user)) == here | {elsewhere.pk}
    assert pks(selectors.open_cases(stylist.user)) == {involved.pk, owned.pk}
    assert pks(selectors.open_cases(owner.user, location=other_location)) == {elsewhere.pk}


@pytest.mark.django_db
def test_a_stylist_sees_only_their_own_calls(
    make, salon, stylist, other_stylist, manager, reception, other_location, clock
):
    mine = make.follow_up(assignee=stylist)
    mine_later = make.follow_up(assignee=stylist, due_on=DAY + timedelta(days=2))
    theirs = make.follow_up(assignee=other_stylist)
    unassigned = make.follow_up()
    elsewhere = FollowUp.objects.create(
        customer=salon.customer,
        location=other_location,
        assignee=stylist,
        reason=FollowUp.Reason.MANUAL,
        due_on=DAY,
        created_at=clock.now,
    )

    assert pks(selectors.follow_ups_for(stylist.user)) == {mine.pk, mine_later.pk}
    assert pks(selectors.follow_ups_for(other_stylist.user)) == {theirs.pk}
    here = {mine.pk, mine_later.pk, theirs.pk, unassigned.pk}
    assert pks(selectors.follow_ups_for(manager.user)) == here
    assert elsewhere.pk not in pks(selectors.follow_ups_for(manager.user))
    # "my follow-ups today"
    assert pks(selectors.follow_ups_due(stylist.user, location=salon.location, day=DAY)) == {mine.pk}
    assert pks(selectors.follow_ups_due(reception.user, location=salon.location, day=DAY)) == set()
    assert pks(selectors.follow_ups_due(reception.user, location=salon.location, day=DAY, mine=False)) == {
        mine.pk,
        theirs.pk,
        unassigned.pk,
    }


@pytest.mark.django_db
def test_a_stylist_sees_only_their_own_surveys(
    sell, salon, stylist, other_stylist, manager, owner, other_location, far
):
    far_stylist, far_service = far
    mine = Survey.objects.get(visit=sell())
    theirs = Survey.objects.get(visit=sell(staff=other_stylist))
    elsewhere = Survey.objects.get(
        visit=sell(
            location=other_location,
            by=owner,
            lines=[CheckoutLine(kind="service", service=far_service, staff=far_stylist)],
        )
    )

    assert pks(selectors.surveys_for(stylist.user)) == {mine.pk}
    assert pks(selectors.surveys_for(other_stylist.user)) == {theirs.pk}
    assert pks(selectors.surveys_for(manager.user)) == {mine.pk, theirs.pk}
    assert pks(selectors.surveys_for(owner.user)) == {mine.pk, theirs.pk, elsewhere.pk}
    assert pks(selectors.surveys_for(far_stylist.user)) == {elsewhere.pk}


# ---- merge, export, erasure ---------------------------------------------------------------------


@pytest.fixture
def twin(sell, perm, clock):
    """A second file of the same client, with a survey (answered low: a case) and a call."""
    twin = CustomerFactory(name="张三 (dup)")
    survey = Survey.objects.get(visit=sell(customer=twin, service=perm))
    services.survey_answer(survey=survey, csat=1, comment="Hair fell out.")
    return twin


@pytest.mark.django_db
def test_a_merge_moves_surveys_cases_and_calls(sell, salon, twin, manager, make):
    kept = salon.customer
    own_survey = Survey.objects.get(visit=sell())
    make.follow_up(customer=kept)
    preview = registry.MERGE_HANDLER.preview(keep=kept, merge=twin)
    assert preview == {
        "feedback.Survey.customer": 1,
        "feedback.Complaint.customer": 1,
        "feedback.FollowUp.customer": 1,
    }

    record = customer_merge(keep=kept, merge=twin, by=manager.user)

    assert not Customer.objects.filter(pk=twin.pk).exists()
    assert record.moved["feedback.Survey.customer"] == 1
    assert record.moved["feedback.Complaint.customer"] == 1
    assert record.moved["feedback.FollowUp.customer"] == 1
    assert Survey.objects.filter(customer=kept).count() == 2
    assert Survey.objects.get(pk=own_survey.pk).customer == kept
    assert Complaint.objects.get().customer == kept
    assert FollowUp.objects.filter(customer=kept).count() == 2


@pytest.mark.django_db
def test_the_export_has_a_feedback_section(sell, salon, stylist, manager, make, clock):
    survey = Survey.objects.get(visit=sell())
    services.survey_answer(survey=survey, csat=2, nps=3, comment="Rushed.", tags=["waiting"])
    complaint = Complaint.objects.get()
    services.complaint_note(complaint=complaint, by=manager.user, note="Offered a free blow-dry.")
    call = make.follow_up(assignee=stylist)
    services.follow_up_record(follow_up=call, outcome="no_answer", by=stylist.user, note="Rang twice.")
    Survey.objects.get(visit=sell())  # unanswered: nothing of the client's in it

    data = customer_export_data(customer=salon.customer)

    feedback = data["feedback"]
    assert [(s["csat"], s["nps"], s["comment"], s["tags"]) for s in feedback["surveys"]] == [
        (2, 3, "Rushed.", ["waiting"])
    ]
    assert [c["case"] for c in feedback["complaints"]] == [f"C-{complaint.pk}"]
    assert "Rushed." in feedback["complaints"][0]["description"]
    assert "Offered a free blow-dry." in [a["note"] for a in feedback["complaints"][0]["actions"]]
    assert len(feedback["follow_ups"]) == 1
    assert feedback["follow_ups"][0]["purpose"] == "How is the colour?"
    assert "Rang twice." in feedback["follow_ups"][0]["note"]
    json.dumps(data, cls=DjangoJSONEncoder)  # the export is one JSON file


@pytest.mark.django_db
def test_erasure_blanks_the_words_and_keeps_the_scores(
    sell, salon, stylist, manager, make, clock, django_capture_on_commit_callbacks
):
    survey = Survey.objects.get(visit=sell())
    services.survey_answer(survey=survey, csat=1, nps=2, comment="My allergy was ignored.")
    complaint = Complaint.objects.get()
    services.complaint_note(complaint=complaint, by=manager.user, note="She has a PPD allergy.")
    services.complaint_set_status(
        complaint=complaint, status="resolved", by=manager.user, resolution="Paid the doctor."
    )
    call = make.follow_up(assignee=stylist, purpose="Ask about the rash")
    services.follow_up_record(follow_up=call, outcome="no_answer", by=stylist.user, note="Husband answered.")
    waiting = Survey.objects.get(visit=sell())  # not answered yet

    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(customer=salon.customer, user=manager.user)

    survey.refresh_from_db()
    complaint.refresh_from_db()
    call.refresh_from_db()
    assert survey.comment == ""
    assert (survey.csat, survey.nps) == (1, 2)
    assert (complaint.description, complaint.resolution) == ("", "")
    assert complaint.status == "resolved" and complaint.category
    assert set(ComplaintAction.objects.filter(complaint=complaint).values_list("note", flat=True)) == {""}
    assert (call.note, call.purpose, call.status) == ("", "", FollowUp.Status.CANCELLED)
    # an unanswered survey's link is closed: an erased client's words do not come back through it
    waiting.refresh_from_db()
    assert services.survey_state(waiting) == "withdrawn"
    assert OutboundMessage.objects.get(pk=waiting.message_id).status == OutboundMessage.Status.SUPPRESSED
    with pytest.raises(Conflict):
        services.survey_answer(survey=waiting, csat=5, comment="new words")
    waiting.refresh_from_db()
    assert waiting.comment == "" and waiting.csat is None
    data = customer_export_data(customer=salon.customer)["feedback"]
    assert data["surveys"][0]["comment"] == ""
    assert all(not c["description"] for c in data["complaints"])


# ---- the figures (METRICS.md) -------------------------------------------------------------------


def _sale(sell, answer=None, status="sent", lines=None, **kwargs) -> Survey:
    survey = Survey.objects.get(visit=sell(lines=lines, **kwargs))
    OutboundMessage.objects.filter(pk=survey.message_id).update(status=status)
    if answer is not None:
        services.survey_answer(survey=survey, **answer)
    return survey


@pytest.fixture
def figures(sell, salon, stylist, other_stylist):
    """Seven surveys, worked out by hand:

    | survey | stylist | services     | message   | csat | nps | rating |
    | s1     | Stylist | cut (+retail)| sent      | 5    | 10  | 5      |
    | s2     | Stylist | colour       | delivered | 4    | 9   | 4      |
    | s3     | Stylist | cut          | sent      | 2    | 3   | 2      |
    | s4     | Stylist2| cut          | sent      | -    | -   | -      |
    | s5     | Stylist2| colour       | queued    | -    | -   | -      |
    | s6     | Stylist2| cut          | failed    | 3    | 6   | 3      |
    | s7     | Stylist2| cut, cut     | sent      | 1    | 0   | 1      |
    """
    shampoo = ProductFactory(name="Shampoo", price=Decimal("88.00"))

    def line(service, who=stylist):
        return CheckoutLine(kind="service", service=service, staff=who)

    cut, colour = salon.cut, salon.colour
    return [
        _sale(
            sell,
            {"csat": 5, "nps": 10, "stylist_rating": 5},
            lines=[line(cut), CheckoutLine(kind="product", product=shampoo)],
        ),
        _sale(sell, {"csat": 4, "nps": 9, "stylist_rating": 4}, "delivered", lines=[line(colour)]),
        _sale(sell, {"csat": 2, "nps": 3, "stylist_rating": 2}, lines=[line(cut)]),
        _sale(sell, None, lines=[line(cut, other_stylist)]),
        _sale(sell, None, "queued", lines=[line(colour, other_stylist)]),
        _sale(sell, {"csat": 3, "nps": 6, "stylist_rating": 3}, "failed", lines=[line(cut, other_stylist)]),
        _sale(
            sell,
            {"csat": 1, "nps": 0, "stylist_rating": 1},
            lines=[line(cut, other_stylist), line(cut, other_stylist)],
        ),
    ]


FIGURES = ("sent", "answered", "csat_n", "csat", "nps_n", "nps", "response_rate", "stylist_avg")


def _pick(row: dict) -> tuple:
    return tuple(row[k] for k in FIGURES)


@pytest.mark.django_db
def test_the_summary_in_one_query(figures, manager, django_assert_num_queries):
    qs = selectors.surveys_for(manager.user)

    with django_assert_num_queries(1):
        summary = selectors.score_summary(qs)

    # sent: s1 s2 s3 s4 s6 (answered) s7 = 6; answered 5; csat 4–5: s1 s2 = 2/5;
    # nps: promoters s1 s2, detractors s3 s6 s7: (2 - 3) / 5 = -20.0; ratings 15 / 5 = 3.0
    assert _pick(summary) == (6, 5, 5, 0.4, 5, -20.0, 0.8333, 3.0)
    assert (summary["promoters"], summary["detractors"], summary["csat_good"]) == (2, 3, 2)


@pytest.mark.django_db
def test_results_by_stylist_in_one_query(figures, salon, manager, django_assert_num_queries):
    qs = selectors.surveys_for(manager.user)

    with django_assert_num_queries(1):
        rows = selectors.results_by_stylist(qs)

    assert [r["staff_id"] for r in rows] == [salon.stylist.pk, salon.other_stylist.pk]
    # Stylist: s1 s2 s3 all sent and answered; csat 2/3; nps (2 - 1) / 3; ratings 11 / 3
    assert _pick(rows[0]) == (3, 3, 3, 0.6667, 3, 33.3, 1.0, 3.67)
    # Stylist2: sent s4 s6 s7, answered s6 s7; csat 0/2; nps (0 - 2) / 2; ratings 4 / 2
    assert _pick(rows[1]) == (3, 2, 2, 0.0, 2, -100.0, 0.6667, 2.0)


@pytest.mark.django_db
def test_results_by_service_in_one_query(figures, salon, manager, django_assert_num_queries):
    qs = selectors.surveys_for(manager.user)

    with django_assert_num_queries(1):
        rows = selectors.results_by_service(qs)

    by_name = {r["service__name"]: r for r in rows}
    assert list(by_name) == ["Colour", "Cut"]  # retail lines are no service
    # Colour: s2 (sent, answered 4 / 9 / 4) and s5 (queued, unanswered)
    assert _pick(by_name["Colour"]) == (1, 1, 1, 1.0, 1, 100.0, 1.0, 4.0)
    # Cut: s1 s3 s4 s6 s7 (s7's two cut lines count once): sent 5, answered s1 s3 s6 s7;
    # csat 1/4; nps (1 - 3) / 4 = -50.0; ratings (5 + 2 + 3 + 1) / 4 = 2.75
    assert _pick(by_name["Cut"]) == (5, 4, 4, 0.25, 4, -50.0, 0.8, 2.75)


@pytest.mark.django_db
def test_the_figures_follow_the_selection(figures, salon, stylist, django_assert_num_queries):
    mine = selectors.surveys_for(stylist.user)
    with django_assert_num_queries(1):
        summary = selectors.score_summary(mine)
    assert _pick(summary) == (3, 3, 3, 0.6667, 3, 33.3, 1.0, 3.67)
    assert [r["staff_id"] for r in selectors.results_by_stylist(mine)] == [stylist.pk]


@pytest.mark.django_db
def test_no_answers_no_figures(manager, salon):
    summary = selectors.score_summary(selectors.surveys_for(manager.user))
    assert (summary["csat"], summary["nps"], summary["response_rate"], summary["stylist_avg"]) == (None,) * 4
    assert selectors.results_by_stylist(Survey.objects.all()) == []
    assert selectors.results_by_service(Survey.objects.all()) == []


@pytest.mark.django_db
def test_a_voided_visits_survey_counts_for_nothing(
    sell, salon, manager, clock, django_capture_on_commit_callbacks
):
    kept = _sale(sell, {"csat": 4, "nps": 8})
    voided = _sale(sell, {"csat": 1, "nps": 0})
    with django_capture_on_commit_callbacks(execute=True):
        visit_void(visit=voided.visit, by=manager.user, reason="rung up on the wrong client")

    qs = selectors.surveys_for(manager.user)
    summary = selectors.score_summary(qs)
    assert _pick(summary)[:6] == (1, 1, 1, 1.0, 1, 0.0)
    assert [r["answered"] for r in selectors.results_by_stylist(qs)] == [1]
    assert [r["answered"] for r in selectors.results_by_service(qs)] == [1]
    assert kept.pk in pks(qs) and voided.pk in pks(qs)  # the inbox still lists both
