"""The offline day view's part in client files: whose cards a signed-in user's browser keeps
for reading offline, and how a card fetched for that copy is told apart from a card opened.

The service worker (static/js/offline-sw.js) fetches today's cards with the header
`X-Offline-Prefetch: 1`. Such a fetch is written to the access log as `offline_copy` (once per
user, client and day) instead of `view_file`, so the log does not claim someone opened a file
nobody looked at. The header is honoured only for a client on the user's list of today
(`today_client_ids`): for anyone else the card is a `view_file` as usual, so the header cannot
hide a look at another file.

Which clients are "today's" is the appointments app's knowledge (a higher app): it registers the
provider from its AppConfig.ready() (appointments/offline.py)."""

from collections.abc import Callable
from typing import Protocol

from django.http import HttpRequest

from accounts.access import current_location
from accounts.models import Location

PREFETCH_HEADER = "X-Offline-Prefetch"


class TodayClients(Protocol):
    def __call__(self, *, user, location: Location) -> list[int]: ...


_PROVIDERS: list[Callable[..., list[int]]] = []


def register_today_clients(provider: TodayClients) -> None:
    """`provider(user=, location=)` -> the ids of today's clients of this user at the location
    (the desk: the location's; a stylist: their own), in the order of the day."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def unregister_today_clients(provider: TodayClients) -> None:
    if provider in _PROVIDERS:
        _PROVIDERS.remove(provider)


def today_client_ids(*, user, location: Location | None) -> list[int]:
    """Today's clients of `user` at `location`, each once, in the providers' order; [] without a
    location or a provider (the appointments app not installed)."""
    if location is None or not user.has_perm("customers.view_customer"):
        return []
    seen: dict[int, None] = {}
    for provider in _PROVIDERS:
        for pk in provider(user=user, location=location):
            seen.setdefault(pk, None)
    return list(seen)


def is_offline_prefetch(request: HttpRequest, customer_id: int) -> bool:
    """A card fetched by the offline day view for one of today's clients of this user (one query
    when the header is there, none otherwise)."""
    if request.headers.get(PREFETCH_HEADER) != "1":
        return False
    return customer_id in today_client_ids(user=request.user, location=current_location(request))
