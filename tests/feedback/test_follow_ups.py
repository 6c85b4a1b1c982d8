"""Follow-up calls (回访): planned once per service line with follow-up days, on the visit's day in
the location's calendar; their outcomes (no answer again tomorrow, up to three calls; a problem
opens one complaint case); the daily reminder of overdue calls."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments import events
from appointments.line_kinds import CheckoutLine
from appointments.services import visit_void
from feedback import listeners, services
from feedback.models import Complaint, FollowUp
from messaging.models import OutboundMessage
from salon_crm.errors import Conflict
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.appointments.factories import CustomerFactory, ServiceFactory
from tests.appointments.fixtures_core import DAY

Out = FollowUp.Outcome


def record(follow_up, outcome, by, **kwargs):
    return services.follow_up_record(follow_up=follow_up, outcome=outcome, by=by.user, **kwargs)


def completed(visit):
    return events.VisitEvent(
        kind=events.VISIT_COMPLETED,
        at=visit.completed_at,
        actor_id=None,
        visit_id=visit.pk,
        customer_id=visit.customer_id,
        location_id=visit.location_id,
        appointment_id=None,
    )


# ---- planned from a visit ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_service_with_follow_up_days_plans_a_call_for_its_stylist(sell, salon, perm, clock):
    visit = sell(service=perm)

    follow_up = FollowUp.objects.get()
    line = visit.lines.get()
    assert follow_up.key == f"visit:{visit.pk}:line:{line.pk}"
    assert follow_up.reason == FollowUp.Reason.SERVICE
    assert follow_up.assignee == salon.stylist
    assert follow_up.customer == salon.customer
    assert follow_up.location == salon.location
    assert follow_up.visit == visit
    assert follow_up.service == perm
    assert follow_up.due_on == DAY + timedelta(days=3)
    assert follow_up.status == FollowUp.Status.OPEN
    assert follow_up.attempts == 0
    assert "Perm" in follow_up.purpose


@pytest.mark.django_db
def test_one_call_per_line_for_the_stylist_of_the_line(sell, salon, perm, clock):
    visit = sell(
        lines=[
            CheckoutLine(kind="service", service=perm, staff=salon.stylist),
            CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist),
            CheckoutLine(kind="service", service=perm, staff=salon.other_stylist),
        ]
    )

    rows = list(FollowUp.objects.order_by("pk").values_list("assignee", "service", "visit"))
    assert rows == [
        (salon.stylist.pk, perm.pk, visit.pk),
        (salon.other_stylist.pk, perm.pk, visit.pk),
    ]


@pytest.mark.django_db
def test_the_listener_running_twice_plans_each_call_once(sell, perm, clock):
    visit = sell(service=perm)

    listeners.on_visit_event(completed(visit))
    listeners.on_visit_event(completed(visit))
    again = services.follow_ups_plan(visit=visit)

    assert FollowUp.objects.count() == 1
    assert [f.pk for f in again] == list(FollowUp.objects.values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("days", [None, 0])
def test_a_service_without_follow_up_days_plans_nothing(sell, salon, clock, days):
    salon.cut.follow_up_days = days
    salon.cut.save()
    sell(service=salon.cut)
    assert not FollowUp.objects.exists()


@pytest.mark.django_db
def test_voiding_the_visit_cancels_its_planned_calls_only(
    sell, salon, perm, manager, clock, django_capture_on_commit_callbacks
):
    visit = sell(service=perm)
    by_hand = services.follow_up_create(
        customer=salon.customer,
        location=salon.location,
        due_on=DAY,
        by=manager.user,
        purpose="Ask",
        visit=visit,
    )

    with django_capture_on_commit_callbacks(execute=True):
        visit_void(visit=visit, by=manager.user, reason="wrong client")

    planned = FollowUp.objects.get(reason=FollowUp.Reason.SERVICE)
    assert planned.status == FollowUp.Status.CANCELLED
    by_hand.refresh_from_db()
    assert by_hand.status == FollowUp.Status.OPEN


# ---- the day is the location's ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("local", "utc_day"),
    [
        (time(23, 30), DAY),  # 15:30 UTC, same day
        (time(0, 30), DAY - timedelta(days=1)),  # 16:30 UTC the day before
    ],
)
def test_a_call_is_due_days_after_the_visits_shanghai_day(sell, salon, perm, clock, local, utc_day):
    clock.set(datetime.combine(DAY, local, salon.location.tz))
    assert clock.now.date() == utc_day

    visit = sell(service=perm)

    assert visit.completed_at.astimezone(salon.location.tz).date() == DAY
    assert FollowUp.objects.get().due_on == DAY + timedelta(days=3)


@pytest.mark.django_db
def test_a_call_is_due_days_after_the_visits_new_york_day(sell, clock):
    place = LocationFactory(code="nyc", name="NYC", time_zone="America/New_York")
    stylist = StaffMemberFactory(user__username="ny-stylist", role="stylist", locations=[place])
    desk = StaffMemberFactory(user__username="ny-desk", role="receptionist", locations=[place])
    colour = ServiceFactory(name="Colour NY", price=Decimal("150.00"), follow_up_days=2, locations=[place])
    clock.set(datetime.combine(DAY, time(21, 0), place.tz))  # 02:00 UTC the next day (and in Shanghai 10:00)

    sell(location=place, by=desk, lines=[CheckoutLine(kind="service", service=colour, staff=stylist)])

    assert FollowUp.objects.get().due_on == DAY + timedelta(days=2)
    assert services.local_today(place) == DAY


# ---- recording a call -------------------------------------------------------------------------


@pytest.fixture
def call(sell, perm, clock):
    """A planned call, due today (3 days after the perm)."""
    sell(service=perm)
    follow_up = FollowUp.objects.get()
    clock.set(datetime.combine(follow_up.due_on, time(10, 0), follow_up.location.tz))
    return follow_up


@pytest.mark.django_db
def test_no_answer_is_tried_the_next_day_up_to_three_calls(call, stylist, clock, settings):
    assert settings.FEEDBACK_FOLLOW_UP_ATTEMPTS == 3
    day = call.due_on

    first = record(call, Out.NO_ANSWER, stylist)
    assert (first.status, first.attempts, first.outcome) == (FollowUp.Status.OPEN, 1, Out.NO_ANSWER)
    assert first.due_on == day + timedelta(days=1)
    assert first.done_at is None
    assert first.note == f"{day.isoformat()} 10:00 No answer"

    clock.advance(days=1, hours=4)
    second = record(call, Out.NO_ANSWER, stylist, note="Voicemail full.")
    assert (second.status, second.attempts, second.due_on) == (
        FollowUp.Status.OPEN,
        2,
        day + timedelta(days=2),
    )
    assert (
        second.note.splitlines()[-1]
        == f"{(day + timedelta(days=1)).isoformat()} 14:00 No answer: Voicemail full."
    )

    clock.advance(days=1)
    third = record(call, Out.NO_ANSWER, stylist)
    assert (third.status, third.attempts, third.outcome) == (FollowUp.Status.DONE, 3, Out.NO_ANSWER)
    assert third.done_at == clock.now and third.done_by == stylist.user
    assert third.due_on == day + timedelta(days=2)

    with pytest.raises(Conflict) as exc:
        record(call, Out.NO_ANSWER, stylist)
    assert exc.value.code == "follow_up_done"
    call.refresh_from_db()
    assert call.attempts == 3


@pytest.mark.django_db
def test_the_number_of_calls_is_a_setting(call, stylist, settings):
    settings.FEEDBACK_FOLLOW_UP_ATTEMPTS = 1
    assert record(call, Out.NO_ANSWER, stylist).status == FollowUp.Status.DONE


@pytest.mark.django_db
def test_no_answer_counts_from_today_when_the_call_is_late_or_early(call, stylist, clock):
    clock.advance(days=5)
    late = record(call, Out.NO_ANSWER, stylist)
    assert late.due_on == services.local_today(call.location) + timedelta(days=1)

    other = FollowUp.objects.create(
        customer=call.customer,
        location=call.location,
        reason=FollowUp.Reason.MANUAL,
        assignee=stylist,
        due_on=services.local_today(call.location) + timedelta(days=4),
        created_at=clock.now,
    )
    early = record(other, Out.NO_ANSWER, stylist)
    assert early.due_on == services.local_today(call.location) + timedelta(days=5)


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", [Out.REACHED, Out.HAPPY])
def test_reached_is_done(call, stylist, clock, outcome):
    done = record(call, outcome, stylist)
    assert (done.status, done.outcome, done.attempts) == (FollowUp.Status.DONE, outcome, 1)
    assert not Complaint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("note", ["", "   ", None])
def test_a_problem_needs_a_note(call, stylist, note):
    with pytest.raises(ValidationError) as exc:
        record(call, Out.PROBLEM, stylist, note=note)

    assert set(exc.value.message_dict) == {"note"}
    call.refresh_from_db()
    assert (call.status, call.attempts, call.outcome) == (FollowUp.Status.OPEN, 0, "")
    assert not Complaint.objects.exists()


@pytest.mark.django_db
def test_a_problem_opens_exactly_one_case(call, salon, stylist, manager, clock):
    done = record(call, Out.PROBLEM, stylist, note="Scalp still itches.", category=Complaint.Category.SAFETY)

    complaint = Complaint.objects.get()
    assert done.opened_complaint == complaint
    assert done.status == FollowUp.Status.DONE and done.outcome == Out.PROBLEM
    assert complaint.source == Complaint.Source.FOLLOW_UP
    assert complaint.category == Complaint.Category.SAFETY
    assert complaint.description == "Scalp still itches."
    assert complaint.customer == salon.customer
    assert complaint.visit == call.visit
    assert list(complaint.staff_involved.all()) == [salon.stylist]
    assert complaint.owner == manager.user
    assert complaint.created_by == stylist.user
    assert complaint.due_at == clock.now + timedelta(hours=48)
    assert complaint.from_follow_up == done

    with pytest.raises(Conflict) as exc:
        record(call, Out.PROBLEM, stylist, note="Still itching.")
    assert exc.value.code == "follow_up_done"
    assert Complaint.objects.count() == 1


@pytest.mark.django_db
def test_a_problem_with_an_unknown_category_opens_nothing(call, stylist):
    with pytest.raises(ValidationError) as exc:
        record(call, Out.PROBLEM, stylist, note="Bad.", category="gossip")

    assert set(exc.value.message_dict) == {"category"}
    call.refresh_from_db()
    assert (call.status, call.attempts) == (FollowUp.Status.OPEN, 0)
    assert not Complaint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", ["", "angry", None])
def test_an_unknown_outcome_is_refused(call, stylist, outcome):
    with pytest.raises(ValidationError) as exc:
        record(call, outcome, stylist)
    assert set(exc.value.message_dict) == {"outcome"}


@pytest.mark.django_db
def test_a_bad_note_is_refused(call, stylist):
    for note in ("x\x00", "x" * 4001):
        with pytest.raises(ValidationError) as exc:
            record(call, Out.HAPPY, stylist, note=note)
        assert set(exc.value.message_dict) == {"note"}


@pytest.mark.django_db
def test_a_cancelled_call_is_not_recorded(call, stylist):
    FollowUp.objects.filter(pk=call.pk).update(status=FollowUp.Status.CANCELLED)
    with pytest.raises(Conflict):
        record(call, Out.HAPPY, stylist)


@pytest.mark.django_db
def test_staff_of_another_location_may_not_record(call, other_location):
    elsewhere = StaffMemberFactory(user__username="desk2", role="receptionist", locations=[other_location])
    with pytest.raises(PermissionDenied):
        record(call, Out.HAPPY, elsewhere)


# ---- planned by hand --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_call_planned_by_hand(make, salon, stylist, reception, clock):
    follow_up = make.follow_up(
        assignee=stylist, due_on=DAY + timedelta(days=1), purpose="  Ask about the cut "
    )
    assert follow_up.reason == FollowUp.Reason.MANUAL
    assert follow_up.purpose == "Ask about the cut"
    assert follow_up.created_by == reception.user and follow_up.created_at == clock.now
    complaint = make.complaint()
    after = make.follow_up(complaint=complaint)
    assert after.reason == FollowUp.Reason.COMPLAINT and after.complaint == complaint
    assert make.follow_up(by=stylist.user).created_by == stylist.user  # a stylist plans their own


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"purpose": ""}, "purpose"),
        ({"purpose": "two\nlines"}, "purpose"),
        ({"purpose": "x" * 201}, "purpose"),
        ({"due_on": DAY - timedelta(days=1)}, "due_on"),
        ({"due_on": "2027-01-07"}, "due_on"),
        ({"due_on": datetime(2027, 1, 7, 10, 0)}, "due_on"),
        ({"due_on": date(9999, 12, 31)}, "due_on"),
        ({"assignee": "elsewhere"}, "assignee"),
        ({"visit": "another client's"}, "visit"),
        ({"complaint": "another client's"}, "complaint"),
    ],
)
def test_a_bad_call_is_refused_field_by_field(make, sell, other_location, fields, bad):
    if fields.get("assignee") == "elsewhere":
        fields["assignee"] = StaffMemberFactory(
            user__username="far", role="stylist", locations=[other_location]
        )
    if fields.get("visit"):
        fields["visit"] = sell(customer=CustomerFactory(name="李四"))
    if fields.get("complaint"):
        fields["complaint"] = make.complaint(customer=CustomerFactory(name="王五"))

    with pytest.raises(ValidationError) as exc:
        make.follow_up(**fields)

    assert set(exc.value.message_dict) == {bad}
    assert not FollowUp.objects.filter(reason=FollowUp.Reason.MANUAL).exists()


@pytest.mark.django_db
def test_no_calls_for_an_erased_client(make, sell, salon, perm, manager, clock):
    from customers.services import customer_erase

    customer_erase(customer=salon.customer, user=manager.user)
    salon.customer.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        make.follow_up()
    assert set(exc.value.message_dict) == {"customer"}


@pytest.mark.django_db
def test_only_staff_of_the_location_plan_calls(make, other_location):
    elsewhere = StaffMemberFactory(user__username="desk2", role="receptionist", locations=[other_location])
    with pytest.raises(PermissionDenied):
        make.follow_up(by=elsewhere.user)


# ---- the daily reminder ---------------------------------------------------------------------------


def _due(follow_up, day):
    FollowUp.objects.filter(pk=follow_up.pk).update(due_on=day)


@pytest.mark.django_db
def test_one_reminder_per_caller_with_overdue_calls_once_a_day(
    make, salon, stylist, other_stylist, manager, emails, clock
):
    clock.set(datetime.combine(DAY, time(8, 30), salon.location.tz))
    mine = [make.follow_up(assignee=stylist) for _ in range(4)]
    theirs = make.follow_up(assignee=other_stylist)
    nobodys = make.follow_up()
    _due(mine[0], DAY - timedelta(days=1))
    _due(mine[1], DAY - timedelta(days=3))
    _due(mine[2], DAY)  # due today: not overdue yet
    _due(mine[3], DAY - timedelta(days=1))
    FollowUp.objects.filter(pk=mine[3].pk).update(status=FollowUp.Status.DONE)
    _due(theirs, DAY - timedelta(days=1))
    _due(nobodys, DAY - timedelta(days=1))

    assert services.follow_ups_remind() == 2

    sent = {m.to: m for m in OutboundMessage.objects.filter(kind="follow_ups_overdue")}
    assert set(sent) == {stylist.user.email, other_stylist.user.email}
    assert sent[stylist.user.email].context["count"] == 2
    assert sent[other_stylist.user.email].context["count"] == 1
    assert sent[stylist.user.email].channel == "email"
    assert set(FollowUp.objects.filter(reminded_on=DAY).values_list("pk", flat=True)) == {
        mine[0].pk,
        mine[1].pk,
        theirs.pk,
    }

    clock.advance(hours=6)  # again the same day: nothing new
    assert services.follow_ups_remind() == 0
    assert OutboundMessage.objects.filter(kind="follow_ups_overdue").count() == 2

    clock.advance(days=1)  # the next morning: today's call is overdue too
    assert services.follow_ups_remind() == 2
    latest = OutboundMessage.objects.filter(kind="follow_ups_overdue", to=stylist.user.email).order_by("-pk")[
        0
    ]
    assert latest.context["count"] == 3
    assert OutboundMessage.objects.filter(kind="follow_ups_overdue").count() == 4


@pytest.mark.django_db
def test_no_reminder_without_an_email_address(make, salon, stylist, clock):
    follow_up = make.follow_up(assignee=stylist)
    _due(follow_up, DAY - timedelta(days=1))
    assert services.follow_ups_remind() == 0
    assert not OutboundMessage.objects.filter(kind="follow_ups_overdue").exists()


@pytest.mark.django_db
def test_overdue_is_by_the_locations_day(clock):
    place = LocationFactory(code="nyc", name="NYC", time_zone="America/New_York")
    caller = StaffMemberFactory(user__username="ny-stylist", user__email="ny@salon.test", locations=[place])
    follow_up = FollowUp.objects.create(
        customer=CustomerFactory(),
        location=place,
        assignee=caller,
        reason=FollowUp.Reason.MANUAL,
        due_on=DAY,
        created_at=clock.now,
    )

    clock.set(datetime.combine(DAY, time(23, 0), place.tz))  # already the next day in UTC and Shanghai
    assert services.follow_ups_remind() == 0
    clock.set(datetime.combine(DAY + timedelta(days=1), time(0, 30), place.tz))
    assert services.follow_ups_remind() == 1
    follow_up.refresh_from_db()
    assert follow_up.reminded_on == DAY + timedelta(days=1)


@pytest.mark.django_db
def test_the_morning_task_runs_the_reminder(make, stylist, emails, clock):
    from feedback import tasks

    follow_up = make.follow_up(assignee=stylist)
    _due(follow_up, DAY - timedelta(days=2))
    assert tasks.follow_up_reminders() == 1


@pytest.mark.django_db
def test_a_stylist_cannot_record_a_colleagues_call(call, other_stylist):
    with pytest.raises(PermissionDenied):
        record(call, Out.HAPPY, other_stylist)
    call.refresh_from_db()
    assert call.status == FollowUp.Status.OPEN and call.attempts == 0
