"""Complaint cases: opened with an owner and a deadline in the location's time zone, moved
through their statuses, escalated once when overdue (the hourly task), compensated through the
loyalty ledgers exactly once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections

from feedback import services, tasks
from feedback.models import Complaint, ComplaintAction
from loyalty.models import Coupon, LoyaltyAccount, PointsEntry
from messaging.models import OutboundMessage
from salon_crm.errors import Conflict
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.appointments.factories import CustomerFactory
from tests.loyalty.conftest import assert_ledgers_hold

C = Complaint.Status


def actions(complaint) -> list[str]:
    return list(complaint.actions.order_by("at", "pk").values_list("kind", flat=True))


def points_of(customer) -> int:
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    return account.points if account else 0


# ---- opening a case ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_desk_opens_a_case_for_the_locations_manager(
    make, salon, manager, reception, emails, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        complaint = make.complaint(
            source=Complaint.Source.PHONE,
            severity=Complaint.Severity.HIGH,
            staff_involved=[salon.stylist, None],
            description="  Burnt scalp after the bleach.  ",
        )

    assert complaint.owner == manager.user
    assert complaint.created_by == reception.user
    assert complaint.opened_at == clock.now
    assert complaint.due_at == clock.now + timedelta(hours=48)
    assert complaint.description == "Burnt scalp after the bleach."
    assert list(complaint.staff_involved.all()) == [salon.stylist]
    assert actions(complaint) == [ComplaintAction.Kind.OPENED]
    notice = OutboundMessage.objects.get(kind="complaint_new")
    assert notice.to == manager.user.email
    assert notice.customer is None
    assert f"C-{complaint.pk}" in notice.subject


@pytest.mark.django_db
def test_without_a_manager_at_the_location_an_owner_owns_the_case(make, salon, owner, reception, clock):
    complaint = make.complaint()
    assert complaint.owner == owner.user


@pytest.mark.django_db
def test_the_deadline_is_a_setting(make, clock, settings, manager):
    settings.FEEDBACK_COMPLAINT_DUE_HOURS = 24
    assert make.complaint().due_at == clock.now + timedelta(hours=24)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"category": "rude"}, "category"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"source": "pigeon"}, "source"),
        ({"description": "   "}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"description": "bad\x00"}, "description"),
        ({"description": None}, "description"),
        ({"due_at": "past"}, "due_at"),
        ({"owner": "reception"}, "owner"),
        ({"owner": "stylist"}, "owner"),
    ],
)
def test_a_bad_case_is_refused_field_by_field(make, manager, reception, stylist, clock, fields, bad):
    if fields.get("due_at") == "past":
        fields["due_at"] = clock.now
    if fields.get("owner") in ("reception", "stylist"):
        fields["owner"] = {"reception": reception, "stylist": stylist}[fields["owner"]].user

    with pytest.raises(ValidationError) as exc:
        make.complaint(**fields)

    assert set(exc.value.message_dict) == {bad}
    assert not Complaint.objects.exists()


@pytest.mark.django_db
def test_a_visit_of_another_client_is_refused(make, sell, manager):
    visit = sell(customer=CustomerFactory(name="李四"))
    with pytest.raises(ValidationError) as exc:
        make.complaint(visit=visit)
    assert set(exc.value.message_dict) == {"visit"}


@pytest.mark.django_db
def test_an_erased_client_gets_no_new_case(make, salon, manager, clock):
    from customers.services import customer_erase

    customer_erase(customer=salon.customer, user=manager.user)
    salon.customer.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        make.complaint()
    assert "customer" in exc.value.message_dict


@pytest.mark.django_db
def test_who_may_open_a_case(make, salon, stylist, manager, other_location, clock):
    with pytest.raises(PermissionDenied):
        make.complaint(by=stylist.user)  # stylists see their cases, they do not open them
    elsewhere = StaffMemberFactory(user__username="desk2", role="receptionist", locations=[other_location])
    with pytest.raises(PermissionDenied):
        make.complaint(by=elsewhere.user)
    assert not Complaint.objects.exists()
    assert make.complaint(by=manager.user).created_by == manager.user


# ---- SLA in the location's time zone ---------------------------------------------------------


@pytest.mark.django_db
def test_sla_state_ok_due_soon_overdue_done(make, manager, clock, settings):
    settings.FEEDBACK_DUE_SOON_HOURS = 12
    complaint = make.complaint()
    due = complaint.due_at

    assert services.sla_state(complaint) == "ok"
    assert services.sla_state(complaint, due - timedelta(hours=12, seconds=1)) == "ok"
    assert services.sla_state(complaint, due - timedelta(hours=12)) == "due_soon"
    assert services.sla_state(complaint, due - timedelta(seconds=1)) == "due_soon"
    assert services.sla_state(complaint, due) == "overdue"
    clock.set(due + timedelta(days=3))
    assert services.sla_state(complaint) == "overdue"

    services.complaint_set_status(
        complaint=complaint, status=C.RESOLVED, by=manager.user, resolution="Redone."
    )
    complaint.refresh_from_db()
    assert services.sla_state(complaint) == "done"
    services.complaint_set_status(complaint=complaint, status=C.CLOSED, by=manager.user)
    complaint.refresh_from_db()
    assert services.sla_state(complaint, due + timedelta(days=30)) == "done"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "opened_local", "due_text"),
    [
        ("Asia/Shanghai", datetime(2027, 1, 6, 23, 30), "2027-01-08 23:30"),
        ("America/New_York", datetime(2027, 1, 6, 21, 15), "2027-01-08 21:15"),
    ],
)
def test_the_deadline_is_48_hours_on_the_locations_clock(
    zone, opened_local, due_text, owner, emails, clock, django_capture_on_commit_callbacks
):
    place = LocationFactory(code=zone.split("/")[1].lower(), name=zone, time_zone=zone)
    boss = StaffMemberFactory(
        user__username=f"boss-{place.code}", user__email="boss@salon.test", role="manager", locations=[place]
    )
    desk = StaffMemberFactory(user__username=f"desk-{place.code}", role="receptionist", locations=[place])
    clock.set(opened_local.replace(tzinfo=place.tz))

    with django_capture_on_commit_callbacks(execute=True):
        complaint = services.complaint_open(
            customer=CustomerFactory(),
            location=place,
            category=Complaint.Category.WAITING,
            description="Waited an hour.",
            by=desk.user,
        )

    assert complaint.owner == boss.user
    opened = complaint.opened_at.astimezone(place.tz)
    due = complaint.due_at.astimezone(place.tz)
    assert opened.replace(tzinfo=None) == opened_local
    assert due.replace(tzinfo=None) == opened_local + timedelta(hours=48)
    # the owner's notice shows the deadline on the location's clock, not the server's or UTC
    notice = OutboundMessage.objects.get(kind="complaint_new", to="boss@salon.test")
    assert notice.context["due"] == due_text
    assert due_text in notice.body


@pytest.mark.django_db
def test_the_deadline_is_48_elapsed_hours_across_a_dst_change(owner, clock):
    """New York springs forward on 2027-03-14: 48 hours after Saturday 10:00 EST is Monday
    11:00 EDT (the client waits 48 real hours, not 47)."""
    place = LocationFactory(code="nyc", name="NYC", time_zone="America/New_York")
    desk = StaffMemberFactory(user__username="desk-nyc", role="receptionist", locations=[place])
    clock.set(datetime(2027, 3, 13, 10, 0, tzinfo=place.tz))

    complaint = services.complaint_open(
        customer=CustomerFactory(), location=place, category="other", description="x", by=desk.user
    )

    assert complaint.due_at - complaint.opened_at == timedelta(hours=48)
    assert complaint.due_at.astimezone(place.tz).replace(tzinfo=None) == datetime(2027, 3, 15, 11, 0)
    assert services.sla_state(complaint, datetime(2027, 3, 15, 10, 30, tzinfo=place.tz)) == "due_soon"
    assert services.sla_state(complaint, datetime(2027, 3, 15, 11, 0, tzinfo=place.tz)) == "overdue"


# ---- escalation ------------------------------------------------------------------------------


def _escalate(capture, **kwargs) -> int:
    with capture(execute=True):
        return services.complaints_escalate(**kwargs)


@pytest.mark.django_db
def test_an_overdue_case_escalates_once_to_its_owner_and_the_chains_owners(
    make, manager, owner, emails, clock, django_capture_on_commit_callbacks
):
    complaint = make.complaint()
    capture = django_capture_on_commit_callbacks

    clock.set(complaint.due_at - timedelta(seconds=1))
    assert _escalate(capture) == 0

    clock.set(complaint.due_at)
    assert _escalate(capture) == 1
    clock.advance(hours=1)
    assert _escalate(capture) == 0  # the next hourly run

    complaint.refresh_from_db()
    assert complaint.escalated_at == complaint.due_at
    assert complaint.status == C.OPEN  # escalation is not a status
    assert (
        ComplaintAction.objects.filter(complaint=complaint, kind=ComplaintAction.Kind.ESCALATED).count() == 1
    )
    overdue = OutboundMessage.objects.filter(kind="complaint_overdue")
    assert sorted(overdue.values_list("to", flat=True)) == sorted([manager.user.email, owner.user.email])
    assert set(overdue.values_list("channel", flat=True)) == {"email"}


@pytest.mark.django_db
def test_recipients_without_an_email_or_inactive_get_nothing(
    make, manager, owner, clock, django_capture_on_commit_callbacks
):
    owner.user.email = "owner@salon.test"
    owner.user.save()
    gone = StaffMemberFactory(user__username="old-owner", user__email="old@salon.test", role="owner")
    gone.user.is_active = False
    gone.user.save()
    complaint = make.complaint()  # the manager has no email address
    clock.set(complaint.due_at + timedelta(minutes=5))

    assert _escalate(django_capture_on_commit_callbacks) == 1

    assert list(OutboundMessage.objects.filter(kind="complaint_overdue").values_list("to", flat=True)) == [
        "owner@salon.test"
    ]


@pytest.mark.django_db
def test_resolved_closed_and_not_yet_due_cases_do_not_escalate(
    make, manager, emails, clock, django_capture_on_commit_callbacks
):
    resolved = make.complaint()
    closed = make.complaint()
    services.complaint_set_status(
        complaint=resolved, status=C.RESOLVED, by=manager.user, resolution="Refunded."
    )
    services.complaint_set_status(complaint=closed, status=C.RESOLVED, by=manager.user, resolution="Redone.")
    services.complaint_set_status(complaint=closed, status=C.CLOSED, by=manager.user)
    clock.advance(hours=47)
    later = make.complaint()  # due in 48 h from now
    clock.advance(hours=2)

    assert _escalate(django_capture_on_commit_callbacks) == 0

    assert not Complaint.objects.filter(escalated_at__isnull=False).exists()
    assert not OutboundMessage.objects.filter(kind="complaint_overdue").exists()
    assert services.sla_state(later) == "ok"


@pytest.mark.django_db
def test_an_in_progress_case_escalates_too(make, manager, clock, django_capture_on_commit_callbacks):
    complaint = make.complaint()
    services.complaint_set_status(complaint=complaint, status=C.IN_PROGRESS, by=manager.user)
    clock.set(complaint.due_at + timedelta(hours=1))
    assert _escalate(django_capture_on_commit_callbacks) == 1


@pytest.mark.django_db
def test_a_new_deadline_escalates_again_when_it_is_missed(
    make, manager, owner, emails, clock, django_capture_on_commit_callbacks
):
    complaint = make.complaint()
    clock.set(complaint.due_at + timedelta(minutes=1))
    assert _escalate(django_capture_on_commit_callbacks) == 1
    new_due = clock.now + timedelta(hours=24)
    services.complaint_assign(complaint=complaint, owner=manager.user, by=manager.user, due_at=new_due)
    complaint.refresh_from_db()
    assert complaint.escalated_at is None

    clock.set(new_due)
    assert _escalate(django_capture_on_commit_callbacks) == 1

    assert (
        ComplaintAction.objects.filter(complaint=complaint, kind=ComplaintAction.Kind.ESCALATED).count() == 2
    )
    # the owner and the chain's owner hear of each missed deadline
    assert OutboundMessage.objects.filter(kind="complaint_overdue").count() == 4


@pytest.mark.django_db
def test_the_hourly_task_runs_the_escalation(
    make, manager, owner, emails, clock, django_capture_on_commit_callbacks
):
    complaint = make.complaint()
    clock.set(complaint.due_at + timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.escalate_complaints() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.escalate_complaints.apply().get() == 0

    complaint.refresh_from_db()
    assert complaint.escalated_at == clock.now
    assert OutboundMessage.objects.filter(kind="complaint_overdue").count() == 2


# ---- status -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_open_in_progress_resolved_closed(make, manager, clock):
    complaint = make.complaint()

    clock.advance(hours=1)
    complaint = services.complaint_set_status(
        complaint=complaint, status=C.IN_PROGRESS, by=manager.user, note="Called her."
    )
    clock.advance(hours=1)
    with pytest.raises(ValidationError) as exc:
        services.complaint_set_status(complaint=complaint, status=C.RESOLVED, by=manager.user)
    assert set(exc.value.message_dict) == {"resolution"}
    complaint = services.complaint_set_status(
        complaint=complaint, status=C.RESOLVED, by=manager.user, resolution="Free redo on Friday."
    )
    resolved_at = clock.now
    clock.advance(days=1)
    complaint = services.complaint_set_status(complaint=complaint, status=C.CLOSED, by=manager.user)

    complaint.refresh_from_db()
    assert complaint.status == C.CLOSED
    assert complaint.resolution == "Free redo on Friday."
    assert complaint.resolved_at == resolved_at
    assert complaint.closed_at == clock.now
    rows = list(complaint.actions.order_by("at", "pk").values_list("kind", "status", "note"))
    assert rows == [
        ("opened", "open", ""),
        ("status", "in_progress", "Called her."),
        ("status", "resolved", "Free redo on Friday."),
        ("status", "closed", ""),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], C.CLOSED),
        ([C.IN_PROGRESS], C.OPEN),
        ([C.IN_PROGRESS], C.CLOSED),
        ([C.RESOLVED], C.OPEN),
        ([C.RESOLVED, C.CLOSED], C.RESOLVED),
        ([C.RESOLVED, C.CLOSED], C.OPEN),
    ],
)
def test_an_invalid_transition_is_a_conflict(make, manager, path, to):
    complaint = make.complaint()
    for status in path:
        complaint = services.complaint_set_status(
            complaint=complaint, status=status, by=manager.user, resolution="ok"
        )
    before = list(complaint.actions.values_list("pk", flat=True))

    with pytest.raises(Conflict) as exc:
        services.complaint_set_status(complaint=complaint, status=to, by=manager.user, resolution="ok")

    assert exc.value.code == "complaint_transition"
    complaint.refresh_from_db()
    assert complaint.status == (path[-1] if path else C.OPEN)
    assert list(complaint.actions.values_list("pk", flat=True)) == before


@pytest.mark.django_db
def test_a_closed_case_reopens_in_progress(make, manager, clock):
    complaint = make.complaint()
    services.complaint_set_status(
        complaint=complaint, status=C.RESOLVED, by=manager.user, resolution="Sorry."
    )
    services.complaint_set_status(complaint=complaint, status=C.CLOSED, by=manager.user)

    complaint = services.complaint_set_status(
        complaint=complaint, status=C.IN_PROGRESS, by=manager.user, note="She called again."
    )

    complaint.refresh_from_db()
    assert complaint.status == C.IN_PROGRESS
    assert complaint.resolved_at is None and complaint.closed_at is None
    assert services.sla_state(complaint) == "ok"


@pytest.mark.django_db
def test_a_case_reopened_after_its_deadline_gets_a_new_one_and_escalates_again(make, manager, clock):
    complaint = make.complaint()
    clock.advance(hours=49)
    assert services.complaints_escalate() == 1
    services.complaint_set_status(
        complaint=complaint, status=C.RESOLVED, by=manager.user, resolution="Sorry."
    )
    clock.advance(hours=24)
    services.complaint_set_status(complaint=complaint, status=C.IN_PROGRESS, by=manager.user)
    complaint.refresh_from_db()
    assert complaint.escalated_at is None and complaint.due_at == clock.now + timedelta(hours=48)
    assert services.sla_state(complaint) == "ok"
    clock.advance(hours=49)
    assert services.complaints_escalate() == 1


@pytest.mark.django_db
def test_the_same_status_again_changes_nothing(make, manager):
    complaint = make.complaint()
    services.complaint_set_status(complaint=complaint, status=C.OPEN, by=manager.user)
    assert actions(complaint) == ["opened"]


@pytest.mark.django_db
def test_status_needs_a_known_status_and_a_manager(make, manager, reception, stylist):
    complaint = make.complaint()
    with pytest.raises(ValidationError) as exc:
        services.complaint_set_status(complaint=complaint, status="done", by=manager.user)
    assert set(exc.value.message_dict) == {"status"}
    for who in (reception, stylist):
        with pytest.raises(PermissionDenied):
            services.complaint_set_status(complaint=complaint, status=C.IN_PROGRESS, by=who.user)
    complaint.refresh_from_db()
    assert complaint.status == C.OPEN


@pytest.mark.django_db
def test_a_manager_of_another_location_may_not_work_the_case(make, other_location):
    elsewhere = StaffMemberFactory(user__username="manager2", role="manager", locations=[other_location])
    complaint = make.complaint()
    with pytest.raises(PermissionDenied):
        services.complaint_set_status(complaint=complaint, status=C.IN_PROGRESS, by=elsewhere.user)
    with pytest.raises(PermissionDenied):
        services.complaint_compensate(complaint=complaint, by=elsewhere.user, kind="points", value=10)


# ---- owner and notes ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_assign_to_another_manager_tells_the_new_owner(
    make, manager, owner, emails, clock, django_capture_on_commit_callbacks
):
    complaint = make.complaint()
    with django_capture_on_commit_callbacks(execute=True):
        complaint = services.complaint_assign(complaint=complaint, owner=owner.user, by=manager.user)

    complaint.refresh_from_db()
    assert complaint.owner == owner.user
    assert actions(complaint) == ["opened", "owner"]
    assert OutboundMessage.objects.filter(kind="complaint_new", to=owner.user.email).count() == 1


@pytest.mark.django_db
def test_assign_refuses_an_owner_who_is_not_a_manager_here(make, manager, reception, stylist, other_location):
    other_manager = StaffMemberFactory(user__username="manager2", role="manager", locations=[other_location])
    complaint = make.complaint()

    for candidate in (reception.user, stylist.user, other_manager.user, None):
        with pytest.raises(ValidationError) as exc:
            services.complaint_assign(complaint=complaint, owner=candidate, by=manager.user)
        assert set(exc.value.message_dict) == {"owner"}

    complaint.refresh_from_db()
    assert complaint.owner == manager.user
    assert actions(complaint) == ["opened"]


@pytest.mark.django_db
def test_assign_needs_a_manager_and_a_future_deadline(make, manager, reception, clock):
    complaint = make.complaint()
    with pytest.raises(PermissionDenied):
        services.complaint_assign(complaint=complaint, owner=manager.user, by=reception.user)
    with pytest.raises(ValidationError) as exc:
        services.complaint_assign(complaint=complaint, owner=manager.user, by=manager.user, due_at=clock.now)
    assert set(exc.value.message_dict) == {"due_at"}


@pytest.mark.django_db
def test_a_note_goes_on_the_timeline(make, reception, manager, clock):
    complaint = make.complaint()
    clock.advance(minutes=10)

    action = services.complaint_note(
        complaint=complaint, by=reception.user, note="  Client called back.\nWill come Friday. "
    )

    assert action.kind == ComplaintAction.Kind.NOTE
    assert action.note == "Client called back.\nWill come Friday."
    assert action.by == reception.user and action.at == clock.now
    for bad in ("", "   ", "x\x00", "x" * 4001):
        with pytest.raises(ValidationError) as exc:
            services.complaint_note(complaint=complaint, by=reception.user, note=bad)
        assert set(exc.value.message_dict) == {"note"}
    assert actions(complaint) == ["opened", "note"]


# ---- compensation through loyalty ------------------------------------------------------------


@pytest.mark.django_db
def test_a_coupon_for_the_client_once(make, salon, manager, clock):
    complaint = make.complaint()

    complaint = services.complaint_compensate(
        complaint=complaint, by=manager.user, kind="coupon", value="50", valid_days=30
    )

    coupon = Coupon.objects.get(key=f"complaint:{complaint.pk}")
    assert coupon.kind == Coupon.Kind.COMPLAINT
    assert coupon.customer == salon.customer
    assert coupon.value == Decimal("50.00")
    assert coupon.status == Coupon.Status.ISSUED
    assert coupon.valid_until == services.local_today(salon.location) + timedelta(days=30)
    complaint.refresh_from_db()
    assert (complaint.compensation, complaint.compensation_ref) == ("coupon", coupon.code)
    assert complaint.compensation_value == Decimal("50.00")
    assert actions(complaint) == ["opened", "compensated"]

    for kind, value in (("coupon", "50"), ("points", 100)):
        with pytest.raises(Conflict) as exc:
            services.complaint_compensate(complaint=complaint, by=manager.user, kind=kind, value=value)
        assert exc.value.code == "complaint_compensated"
    assert Coupon.objects.count() == 1
    assert not PointsEntry.objects.filter(key__startswith="complaint:").exists()
    assert actions(complaint) == ["opened", "compensated"]


@pytest.mark.django_db
def test_points_land_on_the_ledger_once(make, sell, salon, manager, clock):
    sell()  # the client has earned points already
    before = points_of(salon.customer)
    complaint = make.complaint()

    services.complaint_compensate(complaint=complaint, by=manager.user, kind="points", value="300")

    entry = PointsEntry.objects.get(key=f"complaint:{complaint.pk}")
    assert entry.points == 300
    assert entry.account.customer == salon.customer
    assert points_of(salon.customer) == before + 300
    complaint.refresh_from_db()
    assert (complaint.compensation, complaint.compensation_ref) == ("points", str(entry.pk))
    assert complaint.compensation_value == Decimal("300")
    assert_ledgers_hold(salon.customer)

    with pytest.raises(Conflict) as exc:
        services.complaint_compensate(complaint=complaint, by=manager.user, kind="points", value="300")
    assert exc.value.code == "complaint_compensated"
    assert points_of(salon.customer) == before + 300
    assert PointsEntry.objects.filter(key=f"complaint:{complaint.pk}").count() == 1
    assert_ledgers_hold(salon.customer)


@pytest.mark.django_db
def test_only_a_manager_compensates(make, salon, reception, stylist, manager):
    complaint = make.complaint()
    for by in (reception.user, stylist.user, None):
        with pytest.raises(PermissionDenied):
            services.complaint_compensate(complaint=complaint, by=by, kind="points", value=100)
    assert not PointsEntry.objects.exists()
    assert not Coupon.objects.exists()
    complaint.refresh_from_db()
    assert complaint.compensation == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "value", "valid_days", "bad"),
    [
        ("coupon", "0", 90, "value"),
        ("coupon", "-5", 90, "value"),
        ("coupon", "abc", 90, "value"),
        ("coupon", "NaN", 90, "value"),
        ("coupon", "Infinity", 90, "value"),
        ("coupon", "1e400", 90, "value"),
        ("coupon", None, 90, "value"),
        ("coupon", "100000.01", 90, "value"),
        ("coupon", "50", 0, "valid_days"),
        ("coupon", "50", 3651, "valid_days"),
        ("coupon", "50", "ten", "valid_days"),
        ("points", 0, 90, "value"),
        ("points", -10, 90, "value"),
        ("points", "1.5", 90, "value"),
        ("points", True, 90, "value"),
        ("points", 1_000_001, 90, "value"),
        ("cash", "50", 90, "kind"),
        ("", "50", 90, "kind"),
    ],
)
def test_bad_compensation_is_refused_and_leaves_nothing(make, salon, manager, kind, value, valid_days, bad):
    complaint = make.complaint()

    with pytest.raises(ValidationError) as exc:
        services.complaint_compensate(
            complaint=complaint, by=manager.user, kind=kind, value=value, valid_days=valid_days
        )

    assert set(exc.value.message_dict) == {bad}
    assert not Coupon.objects.exists()
    assert not PointsEntry.objects.exists()
    complaint.refresh_from_db()
    assert complaint.compensation == ""
    assert actions(complaint) == ["opened"]


@pytest.mark.django_db
def test_a_closed_case_is_not_compensated(make, manager):
    complaint = make.complaint()
    services.complaint_set_status(
        complaint=complaint, status=C.RESOLVED, by=manager.user, resolution="Sorry."
    )
    services.complaint_set_status(complaint=complaint, status=C.CLOSED, by=manager.user)
    with pytest.raises(Conflict) as exc:
        services.complaint_compensate(complaint=complaint, by=manager.user, kind="coupon", value="20")
    assert exc.value.code == "complaint_closed"
    assert not Coupon.objects.exists()


@pytest.mark.django_db
def test_a_resolved_case_may_still_be_compensated(make, salon, manager):
    complaint = make.complaint()
    services.complaint_set_status(
        complaint=complaint, status=C.RESOLVED, by=manager.user, resolution="Coupon."
    )
    services.complaint_compensate(complaint=complaint, by=manager.user, kind="coupon", value="20")
    assert Coupon.objects.filter(customer=salon.customer, kind="complaint").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_compensation_posted_twice_at_once_lands_once(salon, manager, reception, clock):
    complaint = services.complaint_open(
        customer=salon.customer, location=salon.location, category="skill", description="x", by=reception.user
    )
    threads = 6
    gate = threading.Barrier(threads)

    def post(_n: int) -> str:
        try:
            gate.wait(timeout=30)
            services.complaint_compensate(complaint=complaint, by=manager.user, kind="points", value=150)
            return "ok"
        except Conflict as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(post, range(threads)))
    connections.close_all()

    assert results.count("ok") == 1
    assert results.count("complaint_compensated") == threads - 1
    assert PointsEntry.objects.filter(key=f"complaint:{complaint.pk}").count() == 1
    assert points_of(salon.customer) == 150
    assert ComplaintAction.objects.filter(kind=ComplaintAction.Kind.COMPENSATED).count() == 1
    assert_ledgers_hold(salon.customer)
