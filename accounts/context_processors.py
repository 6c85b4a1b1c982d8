from accounts.access import current_location, locations_for, role_of
from accounts.nav import items_for


def shell(request) -> dict:
    """What the base template needs: navigation by role and the location switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_locations": [], "current_location": None, "user_role": None}
    return {
        "nav_items": items_for(user),
        "user_locations": list(locations_for(user)),
        "current_location": current_location(request),
        "user_role": role_of(user),
    }
