"""Panels on the Today page. Higher apps (appointments, feedback, analytics) register a function
that returns a panel for the request, or None when it has nothing for this user."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Panel:
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100


_PANELS: dict[str, Callable] = {}


def register(key: str, build: Callable) -> None:
    _PANELS[key] = build


def panels_for(request) -> list[Panel]:
    panels = [p for build in _PANELS.values() if (p := build(request)) is not None]
    return sorted(panels, key=lambda p: p.order)


# ---- the home page per role -----------------------------------------------------------------
# "/" (and so the landing after login) is Today unless a higher app registers another page for a
# role: analytics makes the dashboard the managers' and owners' home. Today stays at /today/.


@dataclass(frozen=True)
class Landing:
    url_name: str
    permission: str | None = None  # a user of the role without it stays on Today


_LANDINGS: dict[str, Landing] = {}


def register_home(roles, url_name: str, *, permission: str | None = None) -> None:
    for role in roles:
        _LANDINGS[str(role)] = Landing(url_name, permission)


def unregister_home(roles) -> None:
    for role in roles:
        _LANDINGS.pop(str(role), None)


def home_url_for(user) -> str | None:
    """The page "/" sends this user to, or None for Today."""
    from django.urls import NoReverseMatch, reverse

    from accounts.access import role_of

    landing = _LANDINGS.get(str(role_of(user)))
    if landing is None or (landing.permission and not user.has_perm(landing.permission)):
        return None
    try:
        return reverse(landing.url_name)
    except NoReverseMatch:
        return None
