from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from appointments.models import Appointment, AppointmentItem, AppointmentStatus, TimeOff
from appointments.services import (
    BookingItem,
    SafetyWarningsError,
    appointment_book,
    appointment_cancel,
    appointment_move,
)
from customers.models import SafetyOverride
from salon_crm.errors import Conflict
from tests.appointments import fixtures_core

salon = fixtures_core.salon

pytestmark = pytest.mark.django_db


def book(salon, *items, by, **kwargs):
    return appointment_book(
        customer=kwargs.pop("customer", salon.customer),
        location=salon.location,
        items=[BookingItem(service=s, staff=st, start=start) for s, st, start in items],
        source="front_desk",
        booked_by=by.user,
        **kwargs,
    )


def test_book_two_services_with_two_stylists(salon, reception):
    # when: colour with A at 10:00, then a cut with B when the colour is done
    appt = book(
        salon,
        (salon.colour, salon.stylist, salon.at(10)),
        (salon.cut, salon.other_stylist, salon.at(12, 15)),
        by=reception,
    )
    # then
    items = list(appt.items.order_by("start"))
    assert [(i.service.name, i.staff_id) for i in items] == [
        ("Colour", salon.stylist.pk),
        ("Cut", salon.other_stylist.pk),
    ]
    assert items[0].end == salon.at(12) and items[0].busy_until == salon.at(12, 15)
    assert (appt.start, appt.end, appt.status) == (salon.at(10), salon.at(13, 15), "booked")
    assert all(i.is_active for i in items)


def test_overlapping_booking_is_refused_with_slot_taken(salon, reception):
    book(salon, (salon.colour, salon.stylist, salon.at(10)), by=reception)
    # when: 12:00 is inside the colour's 15-minute buffer
    with pytest.raises(Conflict) as exc:
        book(salon, (salon.cut, salon.stylist, salon.at(12)), by=reception)
    # then
    assert exc.value.code == "slot_taken"
    assert exc.value.extra["staff"] == salon.stylist.pk
    assert Appointment.objects.count() == 1
    # 12:15 is free again
    book(salon, (salon.cut, salon.stylist, salon.at(12, 15)), by=reception)


@pytest.mark.parametrize(
    ("hour", "message"),
    [(7, "The salon is closed at that time."), (20, "The salon is closed at that time.")],
)
def test_outside_opening_hours_is_a_validation_error(salon, reception, hour, message):
    with pytest.raises(ValidationError) as exc:
        book(salon, (salon.colour, salon.stylist, salon.at(hour)), by=reception)
    assert exc.value.message_dict == {"start": [message]}
    assert Appointment.objects.count() == 0


def test_time_off_blocks_booking(salon, reception):
    TimeOff.objects.create(staff=salon.stylist, start=salon.at(13), end=salon.at(17))
    with pytest.raises(ValidationError) as exc:
        book(salon, (salon.cut, salon.stylist, salon.at(16, 30)), by=reception)
    assert exc.value.message_dict == {"start": [f"{salon.stylist} is off at that time."]}


def test_resource_is_picked_and_then_exhausted(salon, reception, manager):
    first = book(salon, (salon.facial, salon.stylist, salon.at(10)), by=reception)
    assert first.items.get().resource == salon.room
    # the only room is taken, although the other stylist is free
    with pytest.raises(Conflict) as exc:
        book(salon, (salon.facial, salon.other_stylist, salon.at(10, 30)), by=reception)
    assert exc.value.code == "slot_taken"
    assert AppointmentItem.objects.count() == 1


def test_service_not_offered_and_naive_start(salon, reception, other_location):
    salon.cut.locations.set([other_location])
    with pytest.raises(ValidationError) as exc:
        book(salon, (salon.cut, salon.stylist, salon.at(10)), by=reception)
    assert list(exc.value.message_dict) == ["service"]
    with pytest.raises(ValidationError) as exc:
        book(salon, (salon.colour, salon.stylist, salon.at(10).replace(tzinfo=None)), by=reception)
    assert list(exc.value.message_dict) == ["start"]


def test_stylist_books_only_own_column(salon, stylist):
    with pytest.raises(PermissionDenied):
        book(salon, (salon.cut, salon.other_stylist, salon.at(10)), by=stylist)
    assert Appointment.objects.count() == 0
    appt = book(salon, (salon.cut, salon.stylist, salon.at(10)), by=stylist)
    assert appt.items.get().staff == stylist


def test_other_location_staff_cannot_book(salon, owner, other_location):
    from tests.accounts.factories import StaffMemberFactory

    outsider = StaffMemberFactory(user__username="rec_xh", role="receptionist", locations=[other_location])
    with pytest.raises(PermissionDenied):
        book(salon, (salon.cut, salon.stylist, salon.at(10)), by=outsider)
    assert Appointment.objects.count() == 0


def test_safety_warnings_need_a_reason(salon, reception):
    salon.customer.allergies = "PPD"
    salon.customer.save()
    with pytest.raises(SafetyWarningsError) as exc:
        book(salon, (salon.cut, salon.stylist, salon.at(10)), by=reception)
    assert [w.code for w in exc.value.warnings] == ["allergy"]
    assert Appointment.objects.count() == 0
    book(salon, (salon.cut, salon.stylist, salon.at(10)), by=reception, override_reason="Client confirmed")
    override = SafetyOverride.objects.get()
    assert (override.context, override.reason) == ("booking", "Client confirmed")


def test_move_shifts_all_items_and_bumps_version(salon, reception):
    appt = book(
        salon,
        (salon.cut, salon.stylist, salon.at(10)),
        (salon.colour, salon.stylist, salon.at(11)),
        by=reception,
    )
    # when: moving by 30 minutes makes the cut overlap the colour's old time (same stylist)
    moved = appointment_move(appointment=appt, new_start=salon.at(10, 30), by=reception.user)
    # then
    assert [(i.start, i.end) for i in moved.items.order_by("start")] == [
        (salon.at(10, 30), salon.at(11, 30)),
        (salon.at(11, 30), salon.at(13, 30)),
    ]
    assert (moved.start, moved.end, moved.version) == (salon.at(10, 30), salon.at(13, 30), 2)


def test_move_into_a_taken_slot_changes_nothing(salon, reception):
    book(salon, (salon.cut, salon.stylist, salon.at(14)), by=reception)
    appt = book(salon, (salon.cut, salon.stylist, salon.at(10)), by=reception)
    with pytest.raises(Conflict):
        appointment_move(appointment=appt, new_start=salon.at(14, 30), by=reception.user)
    appt.refresh_from_db()
    assert (appt.start, appt.version) == (salon.at(10), 1)
    assert appt.items.get().start == salon.at(10)


def test_move_to_another_stylist(salon, reception):
    appt = book(salon, (salon.cut, salon.stylist, salon.at(10)), by=reception)
    appointment_move(appointment=appt, new_start=salon.at(11), by=reception.user, staff=salon.other_stylist)
    item = appt.items.get()
    assert (item.staff, item.start) == (salon.other_stylist, salon.at(11))


def test_cancel_frees_the_slot_and_flags_late(salon, reception):
    appt = book(salon, (salon.cut, salon.stylist, salon.at(10)), by=reception)
    cancelled = appointment_cancel(appointment=appt, by=reception.user, reason="sick")
    assert (cancelled.status, cancelled.cancel_reason, cancelled.late_cancel) == ("cancelled", "sick", False)
    assert list(appt.items.values_list("is_active", flat=True)) == [False]
    # the slot can be booked again
    book(salon, (salon.cut, salon.stylist, salon.at(10)), by=reception)


def test_late_cancel_inside_policy_window(salon, reception):
    from django.utils import timezone

    soon = timezone.now().astimezone(salon.location.tz).replace(
        minute=0, second=0, microsecond=0
    ) + timedelta(hours=3)
    appt = Appointment.objects.create(
        customer=salon.customer, location=salon.location, start=soon, end=soon + timedelta(hours=1)
    )
    cancelled = appointment_cancel(appointment=appt, by=reception.user)
    assert cancelled.late_cancel is True
    with pytest.raises(Conflict):
        appointment_cancel(appointment=appt, by=reception.user)
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED
