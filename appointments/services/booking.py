"""Booking, moving and the status of an appointment. Each service checks first (checks.py), to
give a clear message, and then relies on the PostgreSQL exclusion constraints
(models.AppointmentItem) for what a check cannot see: a concurrent booking of the same slot ends
in Conflict("slot_taken"). Every change ends with its after-commit event (appointments.events)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Location, StaffMember
from appointments import events
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
    Planned,
    assign_resources,
    authorise,
    check_busy,
    check_catalogue,
    check_not_past,
    check_on_its_day,
    check_schedule,
    check_start,
    plan_items,
    safety_gate,
    save_items,
)
from customers.models import Customer
from customers.services import NewCustomer, customer_resolve
from salon_crm.errors import Conflict

S = AppointmentStatus


def appointment_lock(appointment: Appointment) -> Appointment:
    """Re-read the appointment under a row lock: two desks acting on it serialise here. Only
    the appointment's row (`of=self`): without it PostgreSQL also locks the joined location
    and client rows until commit, and every booking, move or checkout at the location (whose
    foreign key takes a share lock on the location row) would wait for this one."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location", "customer")
        .get(pk=appointment.pk)
    )


def require_status(appointment: Appointment, allowed: list[str], action: str) -> None:
    if appointment.status not in allowed:
        raise Conflict(
            _("Cannot %(action)s an appointment that is %(status)s.")
            % {"action": action, "status": appointment.get_status_display().lower()},
            code="invalid_status",
            extra={"status": appointment.status},
        )


def _item_staff_ids(appointment: Appointment) -> set[int]:
    return set(appointment.items.values_list("staff_id", flat=True))


def _check_times(location: Location, planned: list[Planned], *, exclude_appointment: int | None = None):
    """The checks that booking and moving share: catalogue, hours, clashes, resources."""
    check_catalogue(location, planned)
    check_schedule(location, planned)
    check_busy(planned, exclude_appointment=exclude_appointment)
    assign_resources(location, planned, exclude_appointment=exclude_appointment)


def _bump_version(appointment: Appointment, fields: list[str]) -> None:
    """Save `fields` and version + 1 in the database (never read-modify-write), then read the
    new version back: reminders key on it."""
    appointment.version = F("version") + 1
    appointment.save(update_fields=[*fields, "version"])
    appointment.refresh_from_db(fields=["version"])


# ---- booking ----------------------------------------------------------------------------------


@transaction.atomic
def appointment_book(
    *,
    customer: Customer | NewCustomer,
    location: Location,
    items: list[BookingItem],
    source: str,
    booked_by: AbstractBaseUser | None,
    notes: str = "",
    override_reason: str = "",
    record_past: bool = False,
) -> Appointment:
    """Book one client, existing or new (a NewCustomer is created in this transaction, so a
    refused booking leaves no client behind), for one or more services. Raises
    Conflict("slot_taken") when a stylist or resource is busy (also in a race), ValidationError
    for closed hours, not working, time off, service not offered or stylist not at the location,
    a start that has passed (a person booking; `record_past` with appointments.record_past_visit
    enters a past visit: checks.check_not_past), SafetyWarningsError when the client has safety
    warnings and no override reason."""
    if not items:
        raise ValidationError({"items": [_("Choose at least one service.")]})
    if source not in AppointmentSource.values:
        raise ValidationError({"source": [_("Unknown booking source.")]})
    if isinstance(customer, Customer) and customer.erased_at is not None:
        raise ValidationError({"customer": [_("This client's data was erased.")]})
    authorise(booked_by, location, {i.staff.pk for i in items}, "appointments.add_appointment")
    planned = plan_items(items, location=location)
    if source == AppointmentSource.ONLINE and planned[0].start <= timezone.now():
        raise ValidationError({"start": [_("This time has already passed.")]})
    check_not_past(location, planned[0].start, by=booked_by, record_past=record_past, source=source)
    _check_times(location, planned)
    customer = customer_resolve(user=booked_by, customer=customer)
    safety_gate(
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
    save_items(appointment, planned)
    events.appointment_event(events.BOOKED, appointment, by=booked_by)
    return appointment


@transaction.atomic
def walk_in_create(
    *,
    customer: Customer | NewCustomer,
    location: Location,
    service: Service,
    staff: StaffMember,
    by,
    override_reason: str = "",
) -> Appointment:
    """A client without a booking, served now: booked on the grid line just passed, checked in
    and in service at once (the client's safety warnings were asked about by the booking, with
    `override_reason`). Sends what really happened: booked, checked in, started."""
    start = rules.floor_to_grid(location, timezone.now(), rules.grid_minutes())
    appointment = appointment_book(
        customer=customer,
        location=location,
        items=[BookingItem(service=service, staff=staff, start=start)],
        source=AppointmentSource.WALK_IN,
        booked_by=by,
        override_reason=override_reason,
    )
    appointment.status = S.IN_SERVICE
    appointment.arrived_at = timezone.now()
    appointment.save(update_fields=["status", "arrived_at"])
    events.appointment_event(events.CHECKED_IN, appointment, by=by)
    events.appointment_event(events.STARTED, appointment, by=by)
    return appointment


# ---- changes ----------------------------------------------------------------------------------


def _moved_plan(items: list[AppointmentItem], delta: timedelta, staff: StaffMember | None) -> list[Planned]:
    return [
        Planned(
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


@transaction.atomic
def appointment_move(
    *, appointment: Appointment, new_start: datetime, by, staff: StaffMember | None = None
) -> Appointment:
    """Shift every item by the same amount (and, for a one-service appointment, optionally
    give it to another stylist). Same checks as booking; bumps the version (reminders key on it)."""
    appointment = appointment_lock(appointment)
    require_status(appointment, [S.BOOKED, S.CONFIRMED], _("move"))
    if not isinstance(new_start, datetime) or timezone.is_naive(new_start):
        raise ValidationError({"start": [_("Give the start with its time zone offset.")]})
    check_start(appointment.location, new_start)
    items = list(appointment.items.select_related("service", "staff", "resource").order_by("start", "pk"))
    if staff is not None and len(items) > 1:
        raise ValidationError({"staff": [_("Change the stylist of one service at a time.")]})
    wanted = {i.staff_id for i in items} | ({staff.pk} if staff is not None else set())
    authorise(by, appointment.location, wanted, "appointments.change_appointment")
    planned = _moved_plan(items, rules.to_utc(new_start) - rules.to_utc(appointment.start), staff)
    _check_times(appointment.location, planned, exclude_appointment=appointment.pk)
    # Free the old times first: consecutive items of one stylist would otherwise collide with
    # their own old positions while they are updated one by one.
    _release(appointment)
    save_items(appointment, planned)
    moved_from = appointment.start
    appointment.start = min(p.start for p in planned)
    appointment.end = max(p.end for p in planned)
    _bump_version(appointment, ["start", "end"])
    events.appointment_event(events.MOVED, appointment, by=by, moved_from=moved_from)
    return appointment


def _release(appointment: Appointment) -> None:
    AppointmentItem.objects.filter(appointment=appointment).update(is_active=False)


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, by, reason: str = "") -> Appointment:
    """Cancel and free the time. Late (inside settings.BOOKING_CANCEL_POLICY_HOURS of the start,
    or after it) is recorded, for the no-show and late-cancel metrics."""
    appointment = appointment_lock(appointment)
    require_status(appointment, [S.BOOKED, S.CONFIRMED, S.ARRIVED], _("cancel"))
    authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    now = timezone.now()
    window = timedelta(hours=settings.BOOKING_CANCEL_POLICY_HOURS)
    appointment.status = S.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by = by
    appointment.cancel_reason = (reason or "").strip()[:200]
    appointment.late_cancel = appointment.start - now < window
    _bump_version(appointment, ["status", "cancelled_at", "cancelled_by", "cancel_reason", "late_cancel"])
    _release(appointment)
    events.appointment_event(events.CANCELLED, appointment, by=by)
    return appointment


@transaction.atomic
def appointment_confirm(*, appointment: Appointment, by=None) -> Appointment:
    appointment = appointment_lock(appointment)
    if appointment.status == S.CONFIRMED:
        return appointment  # a client clicking the link twice is not an error
    require_status(appointment, [S.BOOKED], _("confirm"))
    authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    appointment.status = S.CONFIRMED
    appointment.confirmed_at = timezone.now()
    appointment.save(update_fields=["status", "confirmed_at"])
    events.appointment_event(events.CONFIRMED, appointment, by=by)
    return appointment


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, by, override_reason: str = "") -> Appointment:
    """The client arrived, on the appointment's own day (ValidationError otherwise). Safety
    warnings are checked again (a patch test may have expired)."""
    appointment = appointment_lock(appointment)
    require_status(appointment, [S.BOOKED, S.CONFIRMED], _("check in"))
    authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    check_on_its_day(appointment, "check_in")
    safety_gate(
        customer=appointment.customer,
        services=[i.service for i in appointment.items.select_related("service")],
        by=by,
        override_reason=override_reason,
        context="check-in",
        on=rules.local_date(appointment.location, appointment.start),
    )
    appointment.status = S.ARRIVED
    appointment.arrived_at = timezone.now()
    appointment.save(update_fields=["status", "arrived_at"])
    events.appointment_event(events.CHECKED_IN, appointment, by=by)
    return appointment


@transaction.atomic
def appointment_start(*, appointment: Appointment, by, override_reason: str = "") -> Appointment:
    """The service begins, on the appointment's own day. The client's safety warnings for the
    booked services are asked about again whatever happened at booking or check-in: the person
    at the chair confirms them, with a reason (SafetyWarningsError without one; the override is
    recorded with context "start", who and when)."""
    appointment = appointment_lock(appointment)
    require_status(appointment, [S.ARRIVED], _("start"))
    authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    check_on_its_day(appointment, "start")
    safety_gate(
        customer=appointment.customer,
        services=[i.service for i in appointment.items.select_related("service")],
        by=by,
        override_reason=override_reason,
        context="start",
        on=rules.local_date(appointment.location, appointment.start),
    )
    appointment.status = S.IN_SERVICE
    appointment.save(update_fields=["status"])
    events.appointment_event(events.STARTED, appointment, by=by)
    return appointment


@transaction.atomic
def appointment_no_show(*, appointment: Appointment, by) -> Appointment:
    """The client did not come: only once the start has passed; frees the rest of the time."""
    appointment = appointment_lock(appointment)
    require_status(appointment, [S.BOOKED, S.CONFIRMED], _("mark as no-show"))
    authorise(by, appointment.location, _item_staff_ids(appointment), "appointments.change_appointment")
    if appointment.start > timezone.now():
        raise ValidationError({"status": [_("The appointment has not started yet.")]})
    appointment.status = S.NO_SHOW
    appointment.save(update_fields=["status"])
    _release(appointment)
    events.appointment_event(events.NO_SHOW, appointment, by=by)
    return appointment
