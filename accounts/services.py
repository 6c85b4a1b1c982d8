"""Writes for accounts: locations, staff (every change of a staff member's role goes through
here, so the user's group always matches the role) and API tokens.

Who may change whom is decided here for every caller (the Django admin, the pages, the API):
`by` is the person acting (None for the system: commands, seeding, imports), checked with
accounts.access (can_manage_staff, roles_grantable_by, locations_held, can_manage_location)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.access import (
    can_manage_location,
    can_manage_staff,
    locations_held,
    roles_grantable_by,
    sees_all_locations,
)
from accounts.models import AccessAlert, Location, OpeningHours, PrivacySettings, Role, StaffMember

User = get_user_model()


@transaction.atomic
def staff_set_role(*, staff: StaffMember, role: str) -> StaffMember:
    """Put the user in exactly the group of their role (other groups are left alone)."""
    role = Role(role)
    staff.role = role
    staff.full_clean()
    staff.save(update_fields=["role"])
    # Owners and managers use the Django admin for set-up; other roles never see it.
    is_staff = role in (Role.OWNER, Role.MANAGER) or staff.user.is_superuser
    if staff.user.is_staff != is_staff:
        staff.user.is_staff = is_staff
        staff.user.save(update_fields=["is_staff"])
    role_groups = Group.objects.filter(name__in=Role.values)
    staff.user.groups.remove(*role_groups.exclude(name=role))
    group, _ = Group.objects.get_or_create(name=role)
    staff.user.groups.add(group)
    return staff


@transaction.atomic
def location_create(
    *,
    code: str,
    name: str,
    time_zone: str = "Asia/Shanghai",
    address: str = "",
    phone: str = "",
    by=None,
) -> Location:
    """A new location (门店). `code` is its short URL code (unique); ValidationError on any bad
    field. `by` needs accounts.add_location (owners)."""
    if by is not None and not by.has_perm("accounts.add_location"):
        raise PermissionDenied(_("Only an owner adds locations."))
    location = Location(code=code, name=name, time_zone=time_zone, address=address, phone=phone)
    location.full_clean()
    location.save()
    return location


LOCATION_FIELDS = ("code", "name", "address", "phone", "time_zone", "is_active")


@transaction.atomic
def location_update(*, location: Location, by, **changes: Any) -> Location:
    """Change a location's details (LOCATION_FIELDS). `by` must hold it (owners: every one) and
    accounts.change_location; PermissionDenied otherwise."""
    unknown = set(changes) - set(LOCATION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown location fields: {sorted(unknown)}")
    location = Location.objects.select_for_update().get(pk=location.pk)
    if by is not None and not can_manage_location(by, location):
        raise PermissionDenied(_("You may not change this location."))
    changed = [f for f, v in changes.items() if getattr(location, f) != v]
    for field in changed:
        setattr(location, field, changes[field])
    if changed:
        location.full_clean()
        location.save(update_fields=changed)
    return location


# ---- weekly hours (opening hours here; staff working hours in appointments) ------------------


@dataclass(frozen=True)
class WeeklyPeriod:
    """One period of a weekday (0 Monday … 6 Sunday), local wall-clock times of the location."""

    weekday: int
    start: time
    end: time


def weekly_periods_check(periods: Iterable[WeeklyPeriod]) -> list[WeeklyPeriod]:
    """The periods sorted by weekday and start; ValidationError on `periods` for a weekday out of
    range, an end not after its start, or two periods of one day that overlap (touching is fine:
    09:00–12:00 and 12:00–18:00). Several periods a day make a lunch break; none, a day off."""
    ordered = sorted(periods, key=lambda p: (p.weekday, p.start, p.end))
    errors: list[str] = []
    names = dict(OpeningHours.Weekday.choices)
    for n, p in enumerate(ordered):
        if p.weekday not in names:
            errors.append(_("Unknown weekday %(day)s.") % {"day": p.weekday})
            continue
        if p.end <= p.start:
            errors.append(
                _("%(day)s: %(start)s–%(end)s ends before it starts.")
                % {"day": names[p.weekday], "start": f"{p.start:%H:%M}", "end": f"{p.end:%H:%M}"}
            )
        before = ordered[n - 1] if n else None
        if before is not None and before.weekday == p.weekday and p.start < before.end:
            errors.append(
                _("%(day)s: %(a)s and %(b)s overlap.")
                % {
                    "day": names[p.weekday],
                    "a": f"{before.start:%H:%M}–{before.end:%H:%M}",
                    "b": f"{p.start:%H:%M}–{p.end:%H:%M}",
                }
            )
    if errors:
        raise ValidationError({"periods": errors})
    return ordered


@transaction.atomic
def opening_hours_set(*, location: Location, by, periods: Iterable[WeeklyPeriod]) -> list[OpeningHours]:
    """Replace the location's whole week of opening hours with `periods` (a weekday without a
    period is closed). `by` must manage the location (accounts.access.can_manage_location;
    None: the system), else PermissionDenied and nothing changes; ValidationError (on
    `periods`) as weekly_periods_check. Bookings already made are left as they are."""
    location = Location.objects.select_for_update().get(pk=location.pk)
    if by is not None and not can_manage_location(by, location):
        raise PermissionDenied(_("You may not change this location."))
    ordered = weekly_periods_check(periods)
    OpeningHours.objects.filter(location=location).delete()
    return OpeningHours.objects.bulk_create(
        [OpeningHours(location=location, weekday=p.weekday, opens=p.start, closes=p.end) for p in ordered]
    )


def _location_ids(locations: Iterable[Location | int]) -> set[int]:
    return {loc if isinstance(loc, int) else loc.pk for loc in locations}


def staff_check_grant(
    *, by, staff: StaffMember | None, role: str | None, locations: Iterable[Location | int] | None
) -> None:
    """The one rule for giving a role and locations (DESIGN.md, Roles: managers manage their own
    locations and never give a role above their own). `staff` None is a new record; `role` or
    `locations` None means unchanged. PermissionDenied when `by` may not change `staff` at all;
    ValidationError on `role` / `locations` for what they may not give. `by` None: the system."""
    if by is None:
        return
    if staff is None:
        if not by.has_perm("accounts.add_staffmember"):
            raise PermissionDenied(_("You may not add staff."))
    elif not can_manage_staff(by, staff):
        raise PermissionDenied(_("You may not change this staff member."))
    errors: dict[str, list[str]] = {}
    if role is not None and (staff is None or role != staff.role) and role not in roles_grantable_by(by):
        errors["role"] = [_("You cannot give a role above your own.")]
    if locations is not None and not sees_all_locations(by):
        wanted = _location_ids(locations)
        held = set(locations_held(by).values_list("pk", flat=True))
        if not wanted:
            errors["locations"] = [_("Give at least one of your locations.")]
        elif not wanted <= held:
            names = ", ".join(Location.objects.filter(pk__in=wanted - held).values_list("name", flat=True))
            errors["locations"] = [
                _("You can only give locations you work at yourself (not %(names)s).") % {"names": names}
            ]
    if errors:
        raise ValidationError(errors)


STAFF_FIELDS = ("display_name", "role", "locations", "is_bookable", "calendar_colour", "is_active")


@transaction.atomic
def staff_update(*, staff: StaffMember, by, **changes: Any) -> StaffMember:
    """Change a staff record (STAFF_FIELDS; `locations` as Locations or ids). The rule of
    staff_check_grant holds whoever calls; the user's group follows the role."""
    unknown = set(changes) - set(STAFF_FIELDS)
    if unknown:
        raise TypeError(f"Unknown staff fields: {sorted(unknown)}")
    staff = StaffMember.objects.select_for_update().select_related("user").get(pk=staff.pk)
    locations = changes.pop("locations", None)
    staff_check_grant(by=by, staff=staff, role=changes.get("role"), locations=locations)
    changed = [f for f, v in changes.items() if getattr(staff, f) != v]
    for field in changed:
        setattr(staff, field, changes[field])
    if changed:
        staff.full_clean()
        staff.save(update_fields=changed)
    if locations is not None:
        staff.locations.set(list(_location_ids(locations)))
    staff_set_role(staff=staff, role=staff.role)
    return staff


@transaction.atomic
def staff_record_create(
    *,
    user,
    by,
    display_name: str,
    role: str,
    locations: Iterable[Location | int] = (),
    is_bookable: bool | None = None,
    calendar_colour: str = "#6c757d",
    is_active: bool = True,
) -> StaffMember:
    """The staff record of an existing login (the admin's "add staff member"), under the rule of
    staff_check_grant. Stylists are bookable unless told otherwise."""
    locations = list(locations)
    staff_check_grant(by=by, staff=None, role=role, locations=locations)
    staff = StaffMember(
        user=user,
        display_name=display_name,
        role=role,
        is_bookable=(role == Role.STYLIST) if is_bookable is None else is_bookable,
        calendar_colour=calendar_colour,
        is_active=is_active,
    )
    staff.full_clean()
    staff.save()
    staff.locations.set(list(_location_ids(locations)))
    staff_set_role(staff=staff, role=role)
    return staff


@transaction.atomic
def staff_create(
    *,
    username: str,
    password: str | None,
    display_name: str,
    role: str,
    locations: Iterable[Location | int] = (),
    is_bookable: bool | None = None,
    calendar_colour: str = "#6c757d",
    email: str = "",
    is_active: bool = True,
    by=None,
) -> StaffMember:
    """Create a login and its staff record. Stylists are bookable unless told otherwise; no
    password means a login that cannot sign in with one. is_active=False records someone who
    no longer works here (imported history): neither the login nor the staff record is active.
    `by` (None: the system) is held to staff_check_grant."""
    locations = list(locations)
    staff_check_grant(by=by, staff=None, role=role, locations=locations)
    user = User(
        username=username, email=email, is_staff=role in (Role.OWNER, Role.MANAGER), is_active=is_active
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return staff_record_create(
        user=user,
        by=None,  # checked above, before the login was made
        display_name=display_name,
        role=role,
        locations=locations,
        is_bookable=is_bookable,
        calendar_colour=calendar_colour,
        is_active=is_active,
    )


def api_token_for(*, user) -> Token:
    """The user's API token, created on first use."""
    token, _created = Token.objects.get_or_create(user=user)
    return token


# ---- privacy settings and access alerts (customers' privacy pages and nightly task) ---------


@transaction.atomic
def privacy_settings_update(
    *, by, retention_years: int | None, access_alert_threshold: int
) -> PrivacySettings:
    """Save the chain's privacy settings (one row). `by` needs accounts.manage_privacy (owners);
    PermissionDenied otherwise, ValidationError on a value out of range."""
    if by is not None and not by.has_perm("accounts.manage_privacy"):
        raise PermissionDenied(_("Only an owner changes the privacy settings."))
    row = PrivacySettings.objects.select_for_update().filter(pk=1).first() or PrivacySettings(pk=1)
    row.retention_years = retention_years
    row.access_alert_threshold = access_alert_threshold
    row.updated_by = by if getattr(by, "is_authenticated", False) else None
    row.full_clean()
    row.save()
    return row


def access_alert_raise(*, user_id: int, day: date, files: int, threshold: int) -> AccessAlert | None:
    """Record that `user_id` opened `files` different client files on `day` (above `threshold`).
    Once per (user, day): the first call returns the new alert, later ones None (a later, higher
    count updates the stored one without raising it again)."""
    with transaction.atomic():
        alert, created = AccessAlert.objects.get_or_create(
            user_id=user_id, day=day, defaults={"files": files, "threshold": threshold}
        )
    if created:
        return alert
    AccessAlert.objects.filter(pk=alert.pk, files__lt=files).update(files=files)
    return None
