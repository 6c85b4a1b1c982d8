"""Booking, moving and the status of an appointment. Each service checks first (checks.py), to
give a clear message, and then relies on the PostgreSQL exclusion constraints
(models.AppointmentItem) for what a check cannot see: a concurrent booking of the same slot ends
in Conflict("slot_taken")."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Location, StaffMember
from appointments import hooks
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentSource,
    AppointmentStatus,
    Service,
)
from appointments.services import rules
from appointments.services.checks import (
    BookingItem,
    _assign_resources,
    _authorise,
    _check_busy,
    _check_catalogue,
    _check_schedule,
    _plan,
    _Planned,
    _safety,
    _save_items,
)
from customers.models import Customer
from salon_crm.errors import Conflict

S = AppointmentStatus

# ---- services ---------------------------------------------------------------------------------


@transaction.atomic
def appointment_book(
    *,
    customer: Customer,
    location: Location,
    items: list[BookingItem],
    source: str,
    booked_by: AbstractBaseUser | None,
    notes: str = "",
    override_reason: str = "",
) -> Appointment:
    """Book one client for one or more services. Raises Conflict("slot_taken") when a stylist
    or resource is busy (also in a race), ValidationError for closed hours, not working, time off,
    service not offered or stylist not at the location, SafetyWarningsError when the client
    has safety warnings and no override reason."""
    if not items:
        raise ValidationError({"items": [_("Choose at least one service.")]})
    if source not in AppointmentSource.values:
        raise ValidationError({"source": [_("Unknown booking source.")]})
    if customer.erased_at is not None:
        raise ValidationError({"customer": [_("This client's data was erased.")]})
    _authorise(booked_by, location, {i.staff.pk for i in items}, "appointments.add_appointment")
    planned = sorted((_plan(i) for i in items), key=lambda p: p.start)
    if source == AppointmentSource.ONLINE and planned[0].start <= timezone.now():
        raise ValidationError({"start": [_("This time has already passed.")]})
    _check_catalogue(location, planned)
    _check_schedule(location, planned)
    _check_busy(planned)
    _assign_resources(location, planned)
    _safety(
        customer=customer,
        services=[p.service for p in planned],
        by=booked_by,
        override_reason=override_reason,
        context="booking",
        on=rules.local_date(location, planned[0].start),
    )
    appointment = Appointment(
        customer=customer,
        location=location,
        source=source,
        start=planned[0].start,
        end=max(p.end for p in planned),
        notes=notes,
        created_by=booked_by,
    )
    appointment.full_clean(exclude=["customer", "location", "created_by"])
    appointment.save()
    _save_items(appointment, planned)
    hooks.booking_event("booked", appointment)
    return appointment


def _lock(appointment: Appointment) -> Appointment:
    """Re-read the appointment under a row lock: two desks acting on it serialise here."""
    return (
        Appointment.objects.select_for_update().select_related("location", "customer").get(pk=appointment.pk)
    )


def _require_status(appointment: Appointment, allowed: list[str], action: str) -> None:
    if appointment.status not in allowed:
        raise Conflict(
            _("Cannot %(action)s an appointment that is %(status)s.")
            % {"action": action, "status": appointment.get_status_display().lower()},
            code="invalid_status",
            extra={"status": appointment.status},
        )


def _item_staff_ids(appointment: Appointment) -> set[int]:
    return set(appointment.items.values_list("staff_id", flat=True))


@transaction.atomic
def appointment_move(
    *, appointment: Appointment, new_start: datetime, by, staff: StaffMember | None = None
) -> Appointment:
    """Shift every item by the same amount (and, for a one-service appointment, optionally
    give it to another stylist). Same checks as booking; bumps the version (reminders key on it)."""
    appointment = _lock(appointment)
    _require_status(appointment, [S.BOOKED, S.CONFIRMED], _("move"))
    if not isinstance(new_start, datetime) or timezone.is_naive(new_start):
        raise ValidationError({"start": [_("Give the start with its time zone offset.")]})
    items = list(appointment.items.select_related("service", "staff", "resource").order_by("start", "pk"))
    if staff is not None and len(items) > 1:
        raise ValidationError({"staff": [_("Change the stylist of one service at a time.")]})
    wanted = {i.staff_id for i in items} | ({staff.pk} if staff is not None else set())
    _authorise(by, appointment.location, wanted, "appointments.change_appointment")
    delta = rules.to_utc(new_start) - rules.to_utc(appointment.start)
    planned = [
        _Planned(
            service=i.service,
            staff=staff or i.staff,
            start=i.start + delta,
            end=i.end + delta,
            busy_until=i.busy_until + delta,
            resource=i.resource,
            auto_resource=bool(i.service.resource_type),
            keep=i,
        )
        for i in items
    ]
    location = appointment.location
    _check_catalogue(location, planned)
    _check_schedule(location, planned)
    _check_busy(planned, exclude_appointment=appointment.pk)
    _assign_resources(location, planned, exclude_appointment=appointment.pk)
    # Free the old times first: consecutive items of one stylist would otherwise collide with
    # their own old positions while they are updated one by one.
    AppointmentItem.objects.filter(appointment=appointment).update(is_active=False)
    _save_items(appointment, planned)
    appointment.start = min(p.start for p in planned)
    appointment.end = max(p.end for p in planned)
    appointment.version = F("version") + 1
    appointment.save(update_fields=["start", "end", "version"])
    appointment.refresh_from_db(fields=["version"])
    hooks.booking_event("moved", appointment)
    return appointment


def _release(appointment: Appointment) -> None:
    AppointmentItem.objects.filter(appointment=appointment).update(is_active=False)


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, by, reason: str = "") -> Appointment:
    """Cancel and free the time. Late (inside settings.BOOKING_CANCEL_POLICY_HOURS of the start,
    or after it) is recorded, for the no-show and late-cancel metrics."""
    appointment = _lock(appointment)
    _require_status(appointment, [S.BOOKED, S.CONFIRMED, S.ARRIVED], _("cancel"))
    _authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    now = timezone.now()
    window = timedelta(hours=settings.BOOKING_CANCEL_POLICY_HOURS)
    appointment.status = S.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by = by
    appointment.cancel_reason = (reason or "").strip()[:200]
    appointment.late_cancel = appointment.start - now < window
    appointment.version = F("version") + 1
    appointment.save(
        update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "late_cancel", "version"]
    )
    appointment.refresh_from_db(fields=["version"])
    _release(appointment)
    hooks.booking_event("cancelled", appointment)
    return appointment


@transaction.atomic
def appointment_confirm(*, appointment: Appointment, by=None) -> Appointment:
    appointment = _lock(appointment)
    if appointment.status == S.CONFIRMED:
        return appointment  # a client clicking the link twice is not an error
    _require_status(appointment, [S.BOOKED], _("confirm"))
    _authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    appointment.status = S.CONFIRMED
    appointment.confirmed_at = timezone.now()
    appointment.save(update_fields=["status", "confirmed_at"])
    return appointment


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, by, override_reason: str = "") -> Appointment:
    """The client arrived. Safety warnings are checked again (a patch test may have expired)."""
    appointment = _lock(appointment)
    _require_status(appointment, [S.BOOKED, S.CONFIRMED], _("check in"))
    _authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    services = [i.service for i in appointment.items.select_related("service")]
    _safety(
        customer=appointment.customer,
        services=services,
        by=by,
        override_reason=override_reason,
        context="check-in",
        on=rules.local_date(appointment.location, appointment.start),
    )
    appointment.status = S.ARRIVED
    appointment.arrived_at = timezone.now()
    appointment.save(update_fields=["status", "arrived_at"])
    hooks.booking_event("checked_in", appointment)
    return appointment


@transaction.atomic
def appointment_start(*, appointment: Appointment, by) -> Appointment:
    appointment = _lock(appointment)
    _require_status(appointment, [S.ARRIVED], _("start"))
    _authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    appointment.status = S.IN_SERVICE
    appointment.save(update_fields=["status"])
    return appointment


@transaction.atomic
def appointment_no_show(*, appointment: Appointment, by) -> Appointment:
    """The client did not come: only once the start has passed; frees the rest of the time."""
    appointment = _lock(appointment)
    _require_status(appointment, [S.BOOKED, S.CONFIRMED], _("mark as no-show"))
    _authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    if appointment.start > timezone.now():
        raise ValidationError({"status": [_("The appointment has not started yet.")]})
    appointment.status = S.NO_SHOW
    appointment.save(update_fields=["status"])
    _release(appointment)
    hooks.booking_event("no_show", appointment)
    return appointment


@transaction.atomic
def walk_in_create(
    *,
    customer: Customer,
    location: Location,
    service: Service,
    staff: StaffMember,
    by,
    override_reason: str = "",
) -> Appointment:
    """A client without a booking: starts now (on the grid line just passed), already arrived."""
    start = rules.floor_to_grid(location, timezone.now(), rules.grid_minutes())
    appointment = appointment_book(
        customer=customer,
        location=location,
        items=[BookingItem(service=service, staff=staff, start=start)],
        source=AppointmentSource.WALK_IN,
        booked_by=by,
        override_reason=override_reason,
    )
    appointment.status = S.ARRIVED
    appointment.arrived_at = timezone.now()
    appointment.save(update_fields=["status", "arrived_at"])
    return appointment
