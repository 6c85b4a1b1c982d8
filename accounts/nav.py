"""The header navigation. Each app registers its entries (from AppConfig.ready); an entry shows
when its URL exists and the user holds its permission, so the menu follows the role."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str  # lazy translation
    url_name: str
    permission: str | None = None
    order: int = 100
    # Hidden from users holding this permission: their way to the page is elsewhere (the header
    # of managers and owners has no room left on a 1024-px tablet; they reach it from Settings).
    unless: str | None = None


_ITEMS: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _ITEMS[item.key] = item


def items_for(user, registry: dict[str, NavItem] | None = None) -> list[dict]:
    if not user.is_authenticated:
        return []
    result = []
    for item in sorted((_ITEMS if registry is None else registry).values(), key=lambda i: i.order):
        if item.permission and not user.has_perm(item.permission):
            continue
        if item.unless and user.has_perm(item.unless):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        result.append({"key": item.key, "label": item.label, "url": url})
    return result


_SETTINGS_LINKS: dict[str, NavItem] = {}


def register_settings_link(item: NavItem) -> None:
    """A link on the Settings page (catalogue, schedules, templates...)."""
    _SETTINGS_LINKS[item.key] = item


def settings_links_for(user) -> list[dict]:
    return items_for(user, _SETTINGS_LINKS)
