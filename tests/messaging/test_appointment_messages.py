"""Appointment messages: planned when booked, re-planned when moved (keys carry the version),
withdrawn when cancelled; the text names the local time and zone; the link confirms or
cancels; a thank-you after a visit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from appointments.models import AppointmentStatus
from appointments.services import (
    BookingItem,
    PaymentIn,
    appointment_book,
    appointment_cancel,
    appointment_move,
    visit_checkout,
    visit_void,
)
from messaging import dispatch, kinds
from messaging.appointment_messages import appointment_token
from messaging.channels import local
from messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db
S = OutboundMessage.Status


def book(salon, hour=10, by=None, customer=None, source="front_desk"):
    return appointment_book(
        customer=customer or salon.customer,
        location=salon.location,
        items=[BookingItem(service=salon.cut, staff=salon.stylist, start=salon.at(hour))],
        source=source,
        booked_by=by,
    )


@pytest.fixture
def reachable(salon):
    salon.customer.phone = "+8613800138000"
    salon.customer.save()
    return salon.customer


def planned(appointment):
    return list(
        OutboundMessage.objects.filter(appointment_id=appointment.pk)
        .order_by("scheduled_for", "pk")
        .values_list("kind", "idempotency_key", "scheduled_for", "status")
    )


def test_booking_plans_a_confirmation_and_two_reminders(
    salon, reachable, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(salon)
    prefix = f"appointment:{appointment.pk}:v1"
    assert planned(appointment) == [
        (kinds.CONFIRMATION, f"{prefix}:{kinds.CONFIRMATION}", clock.now, S.QUEUED),
        (kinds.REMINDER, f"{prefix}:reminder:24h", salon.at(10) - timedelta(hours=24), S.QUEUED),
        (kinds.REMINDER, f"{prefix}:reminder:2h", salon.at(8), S.QUEUED),
    ]
    reminder = OutboundMessage.objects.get(idempotency_key=f"{prefix}:reminder:2h")
    # the local time with its weekday, the zone named, and the signed link
    assert "Wed 2027-01-06 10:00 (Asia/Shanghai)" in reminder.body
    assert reverse("messaging:appointment", args=[appointment_token(appointment)]) in reminder.body


def test_chinese_client_gets_chinese_time_format(salon, reachable, clock, django_capture_on_commit_callbacks):
    reachable.language = "zh-hans"
    reachable.save()
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(salon)
    confirmation = OutboundMessage.objects.get(appointment_id=appointment.pk, kind=kinds.CONFIRMATION)
    # the pages' day label (salon_crm.dates.day_label): this year's days without the year
    assert "1月6日 周三 10:00（Asia/Shanghai）" in confirmation.body


def test_a_move_withdraws_the_old_plan_and_plans_the_new_version(
    salon, reachable, reception, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(salon, by=reception.user)
    dispatch.dispatch_pass()  # the confirmation went out
    with django_capture_on_commit_callbacks(execute=True):
        appointment_move(appointment=appointment, new_start=salon.at(14), by=reception.user)
    rows = {key: status for _kind, key, _at, status in planned(appointment)}
    v1, v2 = f"appointment:{appointment.pk}:v1", f"appointment:{appointment.pk}:v2"
    assert rows == {
        f"{v1}:{kinds.CONFIRMATION}": S.SENT,
        f"{v1}:reminder:24h": S.SUPPRESSED,
        f"{v1}:reminder:2h": S.SUPPRESSED,
        f"{v2}:{kinds.CHANGED}": S.QUEUED,
        f"{v2}:reminder:24h": S.QUEUED,
        f"{v2}:reminder:2h": S.QUEUED,
    }
    assert OutboundMessage.objects.get(idempotency_key=f"{v2}:reminder:2h").scheduled_for == salon.at(12)
    dispatch.dispatch_pass()
    assert [m.kind for m in local.outbox] == [kinds.CONFIRMATION, kinds.CHANGED]


def test_a_cancel_withdraws_everything_and_tells_the_client(
    salon, reachable, reception, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(salon, by=reception.user)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment, by=reception.user)
    assert set(
        OutboundMessage.objects.filter(appointment_id=appointment.pk).values_list("status", flat=True)
    ) == {S.SUPPRESSED}
    dispatch.dispatch_pass()
    assert [m.kind for m in local.outbox] == [kinds.CANCELLED]


def test_a_reminder_of_a_cancelled_booking_is_never_sent_even_if_the_withdraw_was_missed(
    salon, reachable, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(salon)
    appointment.status = AppointmentStatus.CANCELLED  # e.g. cancelled by a path that sent no event
    appointment.save(update_fields=["status"])
    clock.set(salon.at(8))
    dispatch.dispatch_pass()
    assert local.outbox == []
    reasons = set(OutboundMessage.objects.values_list("reason", flat=True))
    assert reasons == {"The appointment was cancelled."}


def test_walk_ins_get_no_booking_messages(salon, reachable, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        book(salon, source="walk_in")
    assert OutboundMessage.objects.count() == 0


def test_a_thank_you_after_the_visit_withdrawn_if_voided(
    salon, reachable, reception, manager, clock, django_capture_on_commit_callbacks
):
    appointment = book(salon)
    clock.set(salon.at(11))  # checked out on the day, after the cut
    with django_capture_on_commit_callbacks(execute=True):
        visit = visit_checkout(
            location=salon.location,
            customer=reachable,
            by=reception.user,
            appointment=appointment,
            payments=[PaymentIn("cash", Decimal("200.00"))],
        )
    thanks = OutboundMessage.objects.get(kind=kinds.THANK_YOU)
    assert (thanks.idempotency_key, thanks.scheduled_for) == (
        f"visit:{visit.pk}:visit_thank_you",
        clock.now + timedelta(hours=2),
    )
    with django_capture_on_commit_callbacks(execute=True):
        visit_void(visit=visit, by=manager.user, reason="wrong client")
    thanks.refresh_from_db()
    assert thanks.status == S.SUPPRESSED


# ---- the link in the message --------------------------------------------------------------------------


def test_the_link_confirms_then_cancels_before_the_cutoff(client, salon, reachable, clock):
    appointment = book(salon)
    url = reverse("messaging:appointment", args=[appointment_token(appointment)])
    page = client.get(url).content.decode()
    assert "Wed 2027-01-06 10:00" in page and 'id="link-confirm"' in page and 'id="link-cancel"' in page
    client.post(url, {"action": "confirm"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    client.post(url, {"action": "cancel"})
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_by) == (AppointmentStatus.CANCELLED, None)


def test_inside_the_cutoff_the_link_says_call_and_cancel_is_refused(client, salon, reachable, clock):
    appointment = book(salon)
    clock.set(salon.at(9))  # an hour before
    url = reverse("messaging:appointment", args=[appointment_token(appointment)])
    page = client.get(url).content.decode()
    assert 'id="link-call"' in page and 'id="link-cancel"' not in page
    client.post(url, {"action": "cancel"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_tampered_link_is_404(client, salon, reachable):
    appointment = book(salon)
    token = appointment_token(appointment)
    assert client.get(reverse("messaging:appointment", args=[token[:-2] + "xx"])).status_code == 404


def test_the_demo_salons_upcoming_bookings_have_their_reminders_planned_once(db):
    from django.core.management import call_command
    from django.utils import timezone as tz

    from appointments.models import Appointment, AppointmentStatus
    from messaging.models import OutboundMessage

    call_command("seed_demo", "--password", "demo-pass-123")
    upcoming = Appointment.objects.filter(
        start__gt=tz.now() + tz.timedelta(hours=25),
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED],
    )
    assert upcoming.exists()
    reminders = OutboundMessage.objects.filter(kind="appointment_reminder")
    planned = set(reminders.values_list("appointment_id", flat=True))
    assert set(upcoming.values_list("pk", flat=True)) <= planned  # 24 h and 2 h before each
    count = reminders.count()
    call_command("seed_demo", "--password", "demo-pass-123")
    assert reminders.count() == count


# ---- the repair: bookings whose after-commit planning never ran ---------------------------------


def test_a_booking_whose_listener_never_ran_gets_its_messages_from_the_repair(
    salon, reachable, reception, clock, django_capture_on_commit_callbacks
):
    from appointments.models import Appointment
    from messaging.appointment_messages import repair_appointment_messages

    # given: the database went away between one booking's commit and its listener (here: the
    # after-commit callbacks of that booking never run), and another booking was planned
    lost = book(salon, by=reception.user)
    with django_capture_on_commit_callbacks(execute=True):
        kept = book(salon, hour=14, by=reception.user)
    kept_rows = planned(kept)
    assert planned(lost) == [] and len(kept_rows) == 3
    # (created_at's default is the real clock's; these were booked at the test's "now")
    Appointment.objects.filter(pk__in=[lost.pk, kept.pk]).update(created_at=clock.now)
    # when: the sweep runs (beat, every ten minutes)
    assert repair_appointment_messages() == 1
    # then: the lost booking has what its listener would have planned, under the same keys, and
    # the other is untouched; a second sweep (or the listener running late) plans nothing more
    prefix = f"appointment:{lost.pk}:v1"
    assert planned(lost) == [
        (kinds.CONFIRMATION, f"{prefix}:{kinds.CONFIRMATION}", clock.now, S.QUEUED),
        (kinds.REMINDER, f"{prefix}:reminder:24h", salon.at(10) - timedelta(hours=24), S.QUEUED),
        (kinds.REMINDER, f"{prefix}:reminder:2h", salon.at(8), S.QUEUED),
    ]
    assert planned(kept) == kept_rows
    assert repair_appointment_messages() == 0
    with django_capture_on_commit_callbacks(execute=True):
        from appointments import events as appointment_events

        appointment_events.appointment_event(appointment_events.BOOKED, lost, by=reception.user)
    assert len(planned(lost)) == 3


def test_a_move_whose_listener_never_ran_is_replanned_as_a_change(
    salon, reachable, reception, clock, django_capture_on_commit_callbacks
):
    from messaging.appointment_messages import repair_appointment_messages

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(salon, by=reception.user)
    appointment_move(appointment=appointment, new_start=salon.at(14), by=reception.user)  # listener lost
    assert repair_appointment_messages() == 1
    v2 = f"appointment:{appointment.pk}:v2"
    keys = {key for _kind, key, _at, _status in planned(appointment)}
    assert {f"{v2}:{kinds.CHANGED}", f"{v2}:reminder:24h", f"{v2}:reminder:2h"} <= keys
    # the old version's reminders are not sent: the dispatcher checks the version
    dispatch.dispatch_pass()
    assert [m.kind for m in local.outbox] == [kinds.CHANGED]  # v1's confirmation is stale too


def test_the_repair_leaves_walk_ins_cancelled_old_and_past_bookings_alone(
    salon, reachable, reception, clock, django_capture_on_commit_callbacks
):
    from appointments.models import Appointment
    from messaging.appointment_messages import repair_appointment_messages

    walk_in = book(salon, hour=9, by=reception.user, source="walk_in")
    cancelled = book(salon, hour=11, by=reception.user)
    appointment_cancel(appointment=cancelled, by=reception.user)
    Appointment.objects.filter(pk__in=[walk_in.pk, cancelled.pk]).update(created_at=clock.now)
    old = book(salon, hour=13, by=reception.user)
    Appointment.objects.filter(pk=old.pk).update(
        created_at=clock.now - timedelta(days=2)
    )  # before messaging ran
    past = book(salon, hour=15, by=reception.user)
    Appointment.objects.filter(pk=past.pk).update(start=clock.now - timedelta(hours=1), created_at=clock.now)
    assert repair_appointment_messages() == 0
    assert not OutboundMessage.objects.filter(appointment_id__in=[walk_in.pk, old.pk, past.pk]).exists()


def test_a_listener_that_loses_the_database_logs_one_line_and_no_stack(caplog):
    from django.db import OperationalError

    from salon_crm.events import EventBus

    bus = EventBus("test", kinds=["done"])

    def listener(event):
        raise OperationalError("server closed the connection unexpectedly")

    bus._deliver("analytics.mark", listener, type("E", (), {"kind": "done"})())
    (record,) = [r for r in caplog.records if r.name == "salon_crm.events"]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert "database unreachable" in record.getMessage()
