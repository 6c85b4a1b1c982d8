"""Catalogue and schedule edits from the manager pages (services, categories, products,
resources, working hours, time off). Managers act on their own locations only."""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.access import can_act_at, locations_manageable_by
from accounts.models import Location, StaffMember
from accounts.services import WeeklyPeriod, weekly_periods_check
from appointments.models import Service, ServiceCategory, TimeOff, WorkingHours

IMPORTED_CATEGORY = "Imported"


def _location_ids(instance: models.Model) -> set[int]:
    """The locations an object belongs to (none for chain-wide rows)."""
    if hasattr(instance, "location_id"):
        return {instance.location_id}
    if hasattr(instance, "staff_id") and instance.staff_id:
        return set(instance.staff.locations.values_list("pk", flat=True))
    return set()


@transaction.atomic
def catalogue_save(*, instance: models.Model, by, m2m: dict | None = None) -> models.Model:
    """Validate and save one catalogue row. `m2m` sets many-to-many fields after the save
    (e.g. a service's locations)."""
    if not by.has_perm("appointments.manage_catalogue"):
        raise PermissionDenied(_("Only managers edit the catalogue."))
    ids = _location_ids(instance)
    if ids and not any(can_act_at(by, pk) for pk in ids):
        raise PermissionDenied(_("You cannot act at this location."))
    instance.full_clean()
    instance.save()
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    return instance


# ---- staff schedules: the weekly working hours and time off ---------------------------------
# A manager sets the hours of the staff of the locations they manage (accounts.access
# can_manage_location), location by location: a stylist shared with another salon keeps that
# salon's week for its own manager. Time off is the person's, whatever the location (it blocks
# booking everywhere), so any of their managers may record it.


def schedule_locations(*, by, staff: StaffMember) -> QuerySet[Location]:
    """The locations where `by` may set `staff`'s working hours (and so record their time off):
    locations `by` manages where `staff` works; none without appointments.manage_catalogue."""
    if not by.has_perm("appointments.manage_catalogue"):
        return Location.objects.none()
    return locations_manageable_by(by).filter(staff=staff)


def staff_schedulable_by(by) -> QuerySet[StaffMember]:
    """Active staff whose schedule `by` may change (at one location at least)."""
    if not by.has_perm("appointments.manage_catalogue"):
        return StaffMember.objects.none()
    return StaffMember.objects.active().filter(locations__in=locations_manageable_by(by)).distinct()


def _require_schedule(by, staff: StaffMember, location: Location | None = None) -> None:
    if by is None:
        return
    allowed = schedule_locations(by=by, staff=staff)
    if location is not None:
        allowed = allowed.filter(pk=location.pk)
    if not allowed.exists():
        raise PermissionDenied(_("You may not change this person's schedule."))


@transaction.atomic
def working_hours_set(
    *, staff: StaffMember, location: Location, by, periods: Iterable[WeeklyPeriod]
) -> list[WorkingHours]:
    """Replace `staff`'s whole week at `location` with `periods` (local wall-clock times; a
    weekday without a period is a day off there). `by` (None: the system) must manage the
    location, and `staff` work there; PermissionDenied or ValidationError otherwise, and
    nothing changes. Existing bookings are kept; availability uses the new week at once."""
    staff = StaffMember.objects.select_for_update().get(pk=staff.pk)
    _require_schedule(by, staff, location)
    if not staff.locations.filter(pk=location.pk).exists():
        raise ValidationError({"location": [_("%(name)s does not work at this location.") % {"name": staff}]})
    ordered = weekly_periods_check(periods)
    WorkingHours.objects.filter(staff=staff, location=location).delete()
    return WorkingHours.objects.bulk_create(
        [
            WorkingHours(staff=staff, location=location, weekday=p.weekday, start=p.start, end=p.end)
            for p in ordered
        ]
    )


@transaction.atomic
def time_off_add(*, staff: StaffMember, start: datetime, end: datetime, reason: str = "", by) -> TimeOff:
    """Time off for `staff` from `start` to `end` (aware datetimes): no booking in it anywhere.
    `by` must be allowed to set their schedule somewhere (schedule_locations)."""
    staff = StaffMember.objects.select_for_update().get(pk=staff.pk)
    _require_schedule(by, staff)
    if end <= start:
        raise ValidationError({"end": [_("The end must be after the start.")]})
    time_off = TimeOff(staff=staff, start=start, end=end, reason=(reason or "").strip()[:100])
    time_off.full_clean()
    time_off.save()
    return time_off


@transaction.atomic
def time_off_delete(*, time_off: TimeOff, by) -> None:
    """Remove a time-off entry (the person is bookable again in its hours)."""
    time_off = TimeOff.objects.select_for_update().select_related("staff").get(pk=time_off.pk)
    _require_schedule(by, time_off.staff)
    time_off.delete()


@transaction.atomic
def service_create_imported(*, names: Iterable[str]) -> dict[str, int]:
    """{name: pk} for every name, creating the ones not in the catalogue as inactive services
    (60 minutes, price 0, offered nowhere) in the "Imported" category: history imports keep
    the names services were sold under, and nobody can book them. Names longer than a
    service name's 100 characters are cut. For the system (import commands): no permission
    check."""
    wanted = {name: name.strip()[:100] for name in names if name and name.strip()}
    found = dict(Service.objects.filter(name__in=set(wanted.values())).values_list("name", "pk"))
    missing = sorted(set(wanted.values()) - set(found))
    if missing:
        category, _created = ServiceCategory.objects.get_or_create(name=IMPORTED_CATEGORY)
        for name in missing:
            service = Service(
                category=category, name=name, duration_minutes=60, price=Decimal("0"), is_active=False
            )
            service.full_clean()
            service.save()
            found[name] = service.pk
    return {name: found[stored] for name, stored in wanted.items()}
