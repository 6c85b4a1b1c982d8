"""Booking, moving and the status of an appointment. Each service checks first, to give a clear
message, and then relies on the PostgreSQL exclusion constraints (models.AppointmentItem) for
what a check cannot see: a concurrent booking of the same slot ends in Conflict("slot_taken")."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require_location, role_of, staff_of
from accounts.models import Location, OpeningHours, Role, StaffMember
from appointments import hooks
from appointments.models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentItem,
    AppointmentSource,
    AppointmentStatus,
    Resource,
    Service,
    TimeOff,
    WorkingHours,
)
from appointments.services import rules
from customers.models import Customer
from customers.safety import customer_safety_warnings, safety_override_record
from salon_crm.errors import Conflict

S = AppointmentStatus


@dataclass(frozen=True)
class BookingItem:
    service: Service
    staff: StaffMember
    start: datetime  # aware; end = start + service.duration; busy_until = end + buffer
    resource: Resource | None = None  # None: a free resource of service.resource_type is picked


class SafetyWarningsError(ValidationError):
    """The client has safety warnings (allergy, patch test...) and no override reason was given.
    `.warnings` holds the customers.safety.SafetyWarning objects to show."""

    def __init__(self, warnings: list):
        self.warnings = list(warnings)
        super().__init__({"override_reason": [w.message for w in self.warnings]})


@dataclass
class _Planned:
    service: Service
    staff: StaffMember
    start: datetime
    end: datetime
    busy_until: datetime
    resource: Resource | None = None
    auto_resource: bool = True
    keep: AppointmentItem | None = field(default=None, repr=False)


def _plan(item: BookingItem) -> _Planned:
    if not isinstance(item.start, datetime) or timezone.is_naive(item.start):
        raise ValidationError({"start": [_("Give the start with its time zone offset.")]})
    # In UTC: adding minutes to a datetime in a DST zone would add wall-clock minutes.
    start = rules.to_utc(item.start)
    end = start + timedelta(minutes=item.service.duration_minutes)
    return _Planned(
        service=item.service,
        staff=item.staff,
        start=start,
        end=end,
        busy_until=end + timedelta(minutes=item.service.buffer_after_minutes),
        resource=item.resource,
        auto_resource=item.resource is None,
    )


# ---- who may do it ----------------------------------------------------------------------------


def _authorise(by: AbstractBaseUser | None, location: Location, staff_ids: set[int], perm: str) -> None:
    """`by` None is the system or a client's signed link (already authorised by its caller).
    A stylist may only act on their own column (DESIGN.md, Roles)."""
    if by is None:
        return
    if not by.has_perm(perm):
        raise PermissionDenied(_("You may not do this."))
    require_location(by, location)
    if role_of(by) == Role.STYLIST:
        me = staff_of(by)
        if me is None or staff_ids - {me.pk}:
            raise PermissionDenied(_("Stylists can only book, move or cancel in their own column."))


# ---- checks -----------------------------------------------------------------------------------


def _check_catalogue(location: Location, planned: list[_Planned]) -> None:
    service_ids = {p.service.pk for p in planned}
    offered = set(
        Service.objects.filter(pk__in=service_ids, is_active=True, locations=location).values_list(
            "pk", flat=True
        )
    )
    for p in planned:
        if p.service.pk not in offered:
            raise ValidationError(
                {"service": [_("%(service)s is not offered at this location.") % {"service": p.service}]}
            )
    staff_ids = {p.staff.pk for p in planned}
    here = set(
        StaffMember.objects.bookable()
        .filter(pk__in=staff_ids, locations=location)
        .values_list("pk", flat=True)
    )
    for p in planned:
        if p.staff.pk not in here:
            raise ValidationError(
                {"staff": [_("%(staff)s cannot be booked at this location.") % {"staff": p.staff}]}
            )
        if p.resource is not None and (
            p.resource.location_id != location.pk
            or not p.resource.is_active
            or (p.service.resource_type and p.resource.type != p.service.resource_type)
        ):
            raise ValidationError({"resource": [_("This resource cannot be used for this service here.")]})


def _check_schedule(location: Location, planned: list[_Planned]) -> None:
    """Inside opening hours and the stylist's working hours of that local day, not on time off."""
    opening: dict[int, list] = {}
    for weekday, opens, closes in OpeningHours.objects.filter(location=location).values_list(
        "weekday", "opens", "closes"
    ):
        opening.setdefault(weekday, []).append((opens, closes))
    staff_ids = {p.staff.pk for p in planned}
    working: dict[tuple[int, int], list] = {}
    for staff_id, weekday, start, end in WorkingHours.objects.filter(
        location=location, staff_id__in=staff_ids
    ).values_list("staff_id", "weekday", "start", "end"):
        working.setdefault((staff_id, weekday), []).append((start, end))
    first = min(p.start for p in planned)
    last = max(p.end for p in planned)
    time_off = list(
        TimeOff.objects.filter(staff_id__in=staff_ids, start__lt=last, end__gt=first).values_list(
            "staff_id", "start", "end"
        )
    )
    for p in planned:
        day = rules.local_date(location, p.start)
        weekday = day.weekday()
        if not rules.within(rules.windows_for_day(location, day, opening.get(weekday, [])), p.start, p.end):
            raise ValidationError({"start": [_("The salon is closed at that time.")]})
        shift = rules.windows_for_day(location, day, working.get((p.staff.pk, weekday), []))
        if not rules.within(shift, p.start, p.end):
            raise ValidationError(
                {"start": [_("%(staff)s is not working at that time.") % {"staff": p.staff}]}
            )
        for staff_id, start, end in time_off:
            if staff_id == p.staff.pk and rules.overlaps(start, end, p.start, p.end):
                raise ValidationError({"start": [_("%(staff)s is off at that time.") % {"staff": p.staff}]})


def _taken(p: _Planned, message: str) -> Conflict:
    return Conflict(
        message,
        code="slot_taken",
        extra={"staff": p.staff.pk, "start": p.start.isoformat(), "end": p.end.isoformat()},
    )


def _check_busy(planned: list[_Planned], exclude_appointment: int | None = None) -> None:
    """Staff clear of other active bookings (buffers included) and of each other in this booking."""
    for i, p in enumerate(planned):
        for q in planned[:i]:
            if q.staff.pk == p.staff.pk and rules.overlaps(q.start, q.busy_until, p.start, p.busy_until):
                raise ValidationError({"items": [_("Two services overlap for the same stylist.")]})
    first = min(p.start for p in planned)
    last = max(p.busy_until for p in planned)
    others = AppointmentItem.objects.filter(
        staff_id__in={p.staff.pk for p in planned}, is_active=True, start__lt=last, busy_until__gt=first
    )
    if exclude_appointment is not None:
        others = others.exclude(appointment_id=exclude_appointment)
    existing = list(others.values_list("staff_id", "start", "busy_until"))
    for p in planned:
        for staff_id, start, busy_until in existing:
            if staff_id == p.staff.pk and rules.overlaps(start, busy_until, p.start, p.busy_until):
                raise _taken(p, _("%(staff)s is already booked at that time.") % {"staff": p.staff})


def _assign_resources(
    location: Location, planned: list[_Planned], exclude_appointment: int | None = None
) -> None:
    """Check explicit resources; pick a free one of the right type for the others (keeping the
    current one on a move when it is still free)."""
    needing = [p for p in planned if p.resource is not None or p.service.resource_type]
    if not needing:
        return
    types = {p.service.resource_type for p in needing if p.service.resource_type}
    pool = list(
        Resource.objects.filter(location=location, is_active=True, type__in=types).order_by("name", "pk")
    )
    first = min(p.start for p in needing)
    last = max(p.busy_until for p in needing)
    ids = {r.pk for r in pool} | {p.resource.pk for p in needing if p.resource is not None}
    busy_qs = AppointmentItem.objects.filter(
        resource_id__in=ids, is_active=True, start__lt=last, busy_until__gt=first
    )
    if exclude_appointment is not None:
        busy_qs = busy_qs.exclude(appointment_id=exclude_appointment)
    busy = [(rid, s, e) for rid, s, e in busy_qs.values_list("resource_id", "start", "busy_until")]
    chosen: list[tuple[int, datetime, datetime]] = []

    def free(resource_id: int, p: _Planned) -> bool:
        return not any(
            rid == resource_id and rules.overlaps(s, e, p.start, p.busy_until) for rid, s, e in busy + chosen
        )

    for p in needing:
        if p.resource is not None and not p.auto_resource:
            if not free(p.resource.pk, p):
                raise _taken(p, _("%(resource)s is already booked at that time.") % {"resource": p.resource})
        else:
            preferred = [p.resource] if p.resource is not None else []
            candidates = preferred + [r for r in pool if r.type == p.service.resource_type]
            pick = next((r for r in candidates if free(r.pk, p)), None)
            if pick is None:
                raise _taken(
                    p,
                    _("No free %(type)s for %(service)s at that time.")
                    % {"type": p.service.get_resource_type_display().lower(), "service": p.service},
                )
            p.resource = pick
        chosen.append((p.resource.pk, p.start, p.busy_until))


def _safety(
    *, customer: Customer, services: list[Service], by, override_reason: str, context: str, on
) -> None:
    warnings = customer_safety_warnings(customer, services, on=on)
    if not warnings:
        return
    if not (override_reason or "").strip() or by is None:
        raise SafetyWarningsError(warnings)
    safety_override_record(
        customer=customer, warnings=warnings, reason=override_reason, user=by, context=context
    )


def _is_double_booking(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "pgcode", None) == "23P01" or "no_double_booking" in str(exc)


def _save_items(appointment: Appointment, planned: list[_Planned]) -> None:
    """Insert (or re-activate, on a move) the items in a savepoint; a concurrent booking that
    the checks could not see is caught by the exclusion constraint and becomes a 409."""
    try:
        with transaction.atomic():
            for p in planned:
                item = p.keep or AppointmentItem(
                    appointment=appointment, service=p.service, price=p.service.price
                )
                item.staff = p.staff
                item.resource = p.resource
                item.start, item.end, item.busy_until = p.start, p.end, p.busy_until
                item.is_active = appointment.status in HOLDING_STATUSES
                # FKs were checked above; the exclusion constraints are the database's job
                # (validating them in Python would not see a race anyway).
                item.full_clean(
                    exclude=["appointment", "service", "staff", "resource"], validate_constraints=False
                )
                item.save()
    except IntegrityError as exc:
        if not _is_double_booking(exc):
            raise
        raise _taken(planned[0], _("That time was just booked by someone else; choose another.")) from exc


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
