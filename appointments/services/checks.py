"""The checks behind booking and moving (booking.py): who may act, catalogue, hours, clashes,
resources, safety, and the insert that turns an exclusion-constraint race into a 409. Public
to the services of this package; pages and API call the services, never these."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require_location, role_of, staff_of
from accounts.models import Location, OpeningHours, Role, StaffMember
from appointments.models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentItem,
    AppointmentSource,
    Resource,
    Service,
    TimeOff,
    WorkingHours,
)
from appointments.services import rules
from customers.models import Customer
from customers.safety import SafetyWarning, customer_safety_warnings
from customers.services.safety import safety_override_record
from salon_crm.errors import Conflict


@dataclass(frozen=True)
class BookingItem:
    """One service with one stylist. `start` is aware; None (any item but the first) means
    "right after the previous item": at its end plus its buffer (rules.chain), so colour then
    cut needs one time only. end = start + duration; busy_until = end + buffer."""

    service: Service
    staff: StaffMember
    start: datetime | None = None
    resource: Resource | None = None  # None: a free resource of service.resource_type is picked


class SafetyWarningsError(ValidationError):
    """The client has safety warnings (allergy, patch test...) and no override reason was given.
    `.warnings` holds the customers.safety.SafetyWarning objects to show."""

    def __init__(self, warnings: list):
        self.warnings = list(warnings)
        super().__init__({"override_reason": [w.message for w in self.warnings]})


@dataclass
class Planned:
    """An item with its instants worked out (UTC), as the checks and the insert see it."""

    service: Service
    staff: StaffMember
    start: datetime
    end: datetime
    busy_until: datetime
    resource: Resource | None = None
    auto_resource: bool = True
    keep: AppointmentItem | None = field(default=None, repr=False)  # the row a move updates


def check_start(location: Location, start: datetime) -> None:
    """A start someone chose (desk, API, a move): inside the calendar's years, and on the
    booking grid (settings.BOOKING_SLOT_MINUTES, the location's wall clock), as every slot that
    availability offers is. A chained start (after the previous service and its buffer) is the
    rule's, not a choice, and is not checked here."""
    if not rules.in_calendar(start):
        raise ValidationError(
            {
                "start": [
                    _("Give a date between %(first)s and %(last)s.")
                    % {"first": rules.CALENDAR_FIRST.isoformat(), "last": rules.CALENDAR_LAST.isoformat()}
                ]
            }
        )
    minutes = rules.grid_minutes()
    if not rules.on_grid(location, start, minutes):
        after = 10 * 60 + minutes
        example = f"10:00, {after // 60 % 24:02d}:{after % 60:02d}"
        raise ValidationError(
            {
                "start": [
                    _("Choose a start on the booking grid, every %(minutes)s minutes (e.g. %(example)s).")
                    % {"minutes": minutes, "example": example}
                ]
            }
        )


def plan_items(items: Iterable[BookingItem], *, location: Location) -> list[Planned]:
    """The items' instants in the order given, a missing start chained after the previous item
    (rules.chain's rule); then sorted by start. A given start must pass check_start."""
    planned: list[Planned] = []
    for item in items:
        if item.start is None:
            if not planned:
                raise ValidationError({"start": [_("Give the first service a start time.")]})
            start = planned[-1].busy_until
        elif not isinstance(item.start, datetime) or timezone.is_naive(item.start):
            raise ValidationError({"start": [_("Give the start with its time zone offset.")]})
        else:
            check_start(location, item.start)
            # In UTC: adding minutes to a datetime in a DST zone would add wall-clock minutes.
            start = rules.to_utc(item.start)
        start, end, busy_until = rules.service_span(item.service, start)
        planned.append(
            Planned(
                service=item.service,
                staff=item.staff,
                start=start,
                end=end,
                busy_until=busy_until,
                resource=item.resource,
                auto_resource=item.resource is None,
            )
        )
    return sorted(planned, key=lambda p: p.start)


# ---- time ---------------------------------------------------------------------------------------

RECORD_PAST_PERM = "appointments.record_past_visit"


def check_not_past(
    location: Location, start: datetime, *, by: AbstractBaseUser | None, record_past: bool, source: str
) -> None:
    """A start someone books must not have passed: the current slot of the booking grid (10:00
    when it is 10:07) is the earliest. A visit entered afterwards ("record a past visit") needs
    `record_past` and appointments.record_past_visit (managers, owners). `by` None (the system,
    commands, imports) is not checked. A walk-in starts on the grid line just passed
    (walk_in_create): one slot of slack, in case the clock crossed a line meanwhile."""
    if by is None:
        return
    now = timezone.now()
    earliest = rules.floor_to_grid(location, now, rules.grid_minutes())
    if source == AppointmentSource.WALK_IN:
        earliest -= timedelta(minutes=rules.grid_minutes())
    if rules.to_utc(start) >= earliest:
        return
    may_record = by.has_perm(RECORD_PAST_PERM)
    if record_past and may_record:
        return
    if record_past:
        raise ValidationError({"record_past": [_("Only a manager can record a past visit.")]})
    local_start = start.astimezone(location.tz)
    local_now = now.astimezone(location.tz)
    message = _("%(start)s has already passed (it is now %(now)s at %(location)s). Choose a later time.") % {
        "start": f"{local_start:%Y-%m-%d %H:%M}",
        "now": f"{local_now:%Y-%m-%d %H:%M}",
        "location": location.name,
    }
    if may_record:
        message += " " + _("To enter a visit that already happened, tick “Record a past visit”.")
    raise ValidationError({"start": [message]})


def check_on_its_day(appointment: Appointment, action: str, *, earlier_with_permission_of=None) -> None:
    """Check-in, start and checkout happen on the appointment's own day (the location's local
    date): a click on the wrong day in the calendar must not check in next week's client.
    `earlier_with_permission_of`: a user who holds appointments.record_past_visit may still act
    on an earlier day's appointment (a checkout forgotten yesterday); never on a later day's."""
    location = appointment.location
    today = rules.local_date(location, timezone.now())
    first = rules.local_date(location, appointment.start)
    # A late appointment running past midnight may be finished on the next date.
    last = rules.local_date(location, max(appointment.start, appointment.end - timedelta(minutes=1)))
    if first <= today <= last:
        return
    user = earlier_with_permission_of
    if today > last and user is not None and user.has_perm(RECORD_PAST_PERM):
        return
    messages = {
        "check_in": _("This appointment is on %(date)s; check it in on that day."),
        "start": _("This appointment is on %(date)s; start it on that day."),
        "checkout": _("This appointment is on %(date)s; check it out on that day."),
    }
    message = messages[action] % {"date": first.isoformat()}
    if action == "checkout" and today > last:
        message += " " + _("A manager can still check out an earlier day's appointment.")
    raise ValidationError({"appointment": [message]})


# ---- who may do it ----------------------------------------------------------------------------


def authorise(by: AbstractBaseUser | None, location: Location, staff_ids: set[int], perm: str) -> None:
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


def check_catalogue(location: Location, planned: list[Planned]) -> None:
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


def check_schedule(location: Location, planned: list[Planned]) -> None:
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


def _taken(p: Planned, message: str) -> Conflict:
    return Conflict(
        message,
        code="slot_taken",
        extra={"staff": p.staff.pk, "start": p.start.isoformat(), "end": p.end.isoformat()},
    )


def check_busy(planned: list[Planned], exclude_appointment: int | None = None) -> None:
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
    existing = list(
        others.values_list(
            "staff_id",
            "start",
            "end",
            "busy_until",
            "appointment__customer__name",
            "appointment__location__time_zone",
        )
    )
    for p in planned:
        for staff_id, start, end, busy_until, client, time_zone in existing:
            if staff_id == p.staff.pk and rules.overlaps(start, busy_until, p.start, p.busy_until):
                raise _taken(p, _clash_message(p, start, end, busy_until, client, time_zone))


def _clash_message(
    p: Planned, start: datetime, end: datetime, busy_until: datetime, client: str, time_zone: str
) -> str:
    """Names the booking in the way, in its location's wall clock: "Lina is booked 10:00–11:00
    (张三)." The desk may see who it is (the calendar shows it too); online booking never shows
    this message (appointments.views.online answers a Conflict with its own words)."""
    tz = ZoneInfo(time_zone)
    message = _("%(staff)s is booked %(start)s–%(end)s (%(client)s).") % {
        "staff": p.staff,
        "start": f"{start.astimezone(tz):%H:%M}",
        "end": f"{end.astimezone(tz):%H:%M}",
        "client": client,
    }
    if p.start >= end:  # only the other booking's clean-up time is in the way
        minutes = int((busy_until - end).total_seconds() // 60)
        message += " " + _("Then %(minutes)s minutes' buffer.") % {"minutes": minutes}
    elif p.end <= start:  # only this service's clean-up time runs into it
        minutes = int((p.busy_until - p.end).total_seconds() // 60)
        message += " " + _("%(service)s needs %(minutes)s minutes' buffer after it.") % {
            "service": p.service,
            "minutes": minutes,
        }
    return message


def assign_resources(
    location: Location, planned: list[Planned], exclude_appointment: int | None = None
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

    def free(resource_id: int, p: Planned) -> bool:
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


def safety_gate(
    *,
    customer: Customer,
    services: list,
    by,
    override_reason: str,
    context: str,
    on: date,
    only: Callable[[SafetyWarning], bool] | None = None,
) -> None:
    """Refuse (SafetyWarningsError) when the client has warnings for these services and no
    override reason was given; with a reason, record the override (who, when, why).
    `only`: the warnings that count here (a colour formula on the service record: the patch
    test's). Contexts: booking, check-in, start, checkout, service record."""
    warnings = customer_safety_warnings(customer, services, on=on)
    if only is not None:
        warnings = [w for w in warnings if only(w)]
    if by is None:
        # A client booking themselves online: an allergy note must not stop them booking a
        # haircut (the desk sees it again at check-in, where going ahead needs a reason), but a
        # missing, expired or failed patch test for a colour does: nobody can override it here.
        warnings = [w for w in warnings if w.code.startswith("patch_test")]
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


def _is_exclusion_deadlock(exc: OperationalError) -> bool:
    """Two transactions inserting items that overlap each other: each has written its index
    entry, each exclusion check waits for the other, and PostgreSQL aborts one of them with
    deadlock_detected (found by bench/suite.py's booking race). For that one the slot was taken."""
    cause = exc.__cause__
    return getattr(cause, "pgcode", None) == "40P01" or type(cause).__name__ == "DeadlockDetected"


def save_items(appointment: Appointment, planned: list[Planned]) -> None:
    """Insert (or re-activate, on a move) the items in a savepoint; a concurrent booking that
    the checks could not see is caught by the exclusion constraint and becomes a 409 (also when
    PostgreSQL resolves two such inserts as a deadlock: the other one got the slot)."""
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
    except OperationalError as exc:
        if not _is_exclusion_deadlock(exc):
            raise
        raise _taken(planned[0], _("That time was just booked by someone else; choose another.")) from exc
