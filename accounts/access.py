"""Who may act where. Every location check in the project goes through `can_act_at`; every
"may this person manage that staff member or location" check through `can_manage_staff` /
`can_manage_location` (the Django admin, the settings pages and the API all ask here)."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from accounts.models import Location, Role, StaffMember


def staff_of(user) -> StaffMember | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff
    except StaffMember.DoesNotExist:
        return None


def role_of(user) -> str | None:
    if getattr(user, "is_superuser", False):
        return Role.OWNER
    staff = staff_of(user)
    return staff.role if staff and staff.is_active else None


def sees_all_locations(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.has_perm("accounts.view_all_locations")))


def locations_for(user) -> QuerySet[Location]:
    """The active locations this user may act at: all of them for owners, their own otherwise."""
    qs = Location.objects.filter(is_active=True)
    if sees_all_locations(user):
        return qs
    staff = staff_of(user)
    if staff is None or not staff.is_active:
        return qs.none()
    return qs.filter(staff=staff)


def can_act_at(user, location: Location | int | None) -> bool:
    """May this user act (read files, book, check out, manage) at this location?"""
    if location is None or not getattr(user, "is_authenticated", False):
        return False
    location_id = location if isinstance(location, int) else location.pk
    if sees_all_locations(user):
        return True
    staff = staff_of(user)
    return bool(staff and staff.is_active and staff.locations.filter(pk=location_id).exists())


def require_location(user, location: Location | int | None) -> None:
    if not can_act_at(user, location):
        raise PermissionDenied("You cannot act at this location.")


SESSION_KEY = "current_location_id"
_CACHE_ATTR = "_current_location_cache"


def current_location(request) -> Location | None:
    """The location chosen in the header switcher if the user may act there, else their first
    one; None for a user with no location. Cached on the request (one query)."""
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)
    location = None
    if request.user.is_authenticated:
        allowed = list(locations_for(request.user))
        wanted = request.session.get(SESSION_KEY)
        location = next((loc for loc in allowed if loc.pk == wanted), allowed[0] if allowed else None)
    setattr(request, _CACHE_ATTR, location)
    return location


def set_current_location(request, location: Location) -> None:
    require_location(request.user, location)
    request.session[SESSION_KEY] = location.pk
    setattr(request, _CACHE_ATTR, location)


# ---- managing staff and locations -------------------------------------------------------------
# DESIGN.md, Roles: "staff, prices, tiers, templates: owners yes; managers own locations, never a
# role above their own". A manager manages the staff of their own locations only: a staff member
# who also works somewhere else belongs to that location's manager too, so only someone who holds
# every one of their locations (an owner) may change them.

ROLE_RANK: dict[str, int] = {Role.OWNER: 3, Role.MANAGER: 2, Role.RECEPTIONIST: 1, Role.STYLIST: 1}


def rank_of(user) -> int:
    return ROLE_RANK.get(role_of(user) or "", 0)


def locations_held(user) -> QuerySet[Location]:
    """Every location (active or not) this user holds: all of them for owners."""
    if sees_all_locations(user):
        return Location.objects.all()
    staff = staff_of(user)
    if staff is None or not staff.is_active:
        return Location.objects.none()
    return Location.objects.filter(staff=staff)


def roles_grantable_by(user) -> list[str]:
    """The roles this user may give (never one above their own); none without the permission
    to change or add staff."""
    if not getattr(user, "is_authenticated", False):
        return []
    if not (user.has_perm("accounts.change_staffmember") or user.has_perm("accounts.add_staffmember")):
        return []
    rank = rank_of(user)
    return [role for role in Role.values if ROLE_RANK[role] <= rank]


def staff_visible_to(user) -> QuerySet[StaffMember]:
    """Staff records this user may look at: everyone for owners, those working at one of their
    locations otherwise (and their own record)."""
    qs = StaffMember.objects.all()
    if sees_all_locations(user):
        return qs
    staff = staff_of(user)
    if staff is None or not staff.is_active:
        return qs.none()
    return qs.filter(Q(locations__in=locations_held(user)) | Q(pk=staff.pk)).distinct()


def staff_manageable_by(user) -> QuerySet[StaffMember]:
    """Staff records this user may change: with accounts.change_staffmember, owners everyone;
    others those whose role is not above their own and who work only at locations they hold
    (at least one)."""
    qs = StaffMember.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.has_perm("accounts.change_staffmember"):
        return qs.none()
    if sees_all_locations(user):
        return qs
    held = locations_held(user)
    return (
        qs.filter(locations__in=held, role__in=roles_grantable_by(user))
        .exclude(locations__in=Location.objects.exclude(pk__in=held))
        .distinct()
    )


def can_manage_staff(user, staff: StaffMember) -> bool:
    """May this user change this staff member's record (role, locations, details)?"""
    return staff.pk is not None and staff_manageable_by(user).filter(pk=staff.pk).exists()


def locations_manageable_by(user) -> QuerySet[Location]:
    """Locations whose details and opening hours this user may change."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm("accounts.change_location"):
        return Location.objects.none()
    return locations_held(user)


def can_manage_location(user, location: Location) -> bool:
    return location.pk is not None and locations_manageable_by(user).filter(pk=location.pk).exists()
