"""Who may act where. Every location check in the project goes through `can_act_at`."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

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
