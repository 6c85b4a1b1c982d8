"""The offline day view (issue 16, item 6): when the connection drops, the desk and the stylists
still read today's calendar and today's clients' cards from a copy their browser keeps.

- `/sw.js`: the service worker (static/js/offline-sw.js), from a URL that never changes (the
  static files' names are hashed in production), with scope "/".
- `/offline/today.json`: what the browser keeps for this user: the day pages and the URLs of the
  cards of today's clients at their location (a stylist: their own clients). URLs only.
- `/offline/`: the page shown offline for a page that is not kept: what is (filled in from the
  browser's copy by static/js/offline.js).

The copy is named by a key made from the session (accounts/offline.py), deleted at logout
(Clear-Site-Data and the page's script) and at the next login. Card fetches for the copy are
logged as `offline_copy`, not as views (customers/offline.py). docs/operations.md, "Offline day
view", says what is stored and for whom."""

import json
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from accounts import home
from accounts.access import current_location
from accounts.offline import offline_key
from appointments.offline import day_pages
from customers.offline import PREFETCH_HEADER, today_client_ids

SERVICE_WORKER = "js/offline-sw.js"


def _read_static(name: str) -> str:
    path = finders.find(name)  # the source under static/ (the Docker image keeps it too)
    if path:
        with open(path, encoding="utf-8") as source:
            return source.read()
    with staticfiles_storage.open(name) as collected:  # only the collected copy is there
        return collected.read().decode("utf-8")


@lru_cache(maxsize=1)
def _service_worker_cached() -> str:
    return _read_static(SERVICE_WORKER)


def service_worker_source() -> str:
    """The worker's code, with its configuration on the first line. Read once per process
    unless DEBUG (where an edited file is served at once)."""
    source = _read_static(SERVICE_WORKER) if settings.DEBUG else _service_worker_cached()
    config = {
        "manifest": reverse("offline_manifest"),
        "offline": reverse("offline_page"),
        "logout": reverse("accounts:logout"),
        "static": "/" + settings.STATIC_URL.lstrip("/"),
        "prefetchHeader": PREFETCH_HEADER,
    }
    return f"self.OFFLINE_CONFIG = {json.dumps(config)};\n{source}"


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js for everyone (it holds no data; only signed-in pages register it). Revalidated on
    every update check (no-cache), so a new version reaches browsers at their next page. HEAD
    too: a page that lost the connection asks for it to learn when it is back (offline.js)."""
    response = HttpResponse(service_worker_source(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


def _card_url(pk: int) -> str | None:
    try:
        return reverse("customers:detail", args=[pk])
    except NoReverseMatch:
        return None


@never_cache
@require_GET
@login_required
def offline_manifest(request: HttpRequest) -> JsonResponse:
    """What this user's browser keeps for today, as URLs (no names, no data): `pages`, each a list
    of the URLs of one page (the first is fetched, all are answered offline); `cards`, the cards
    of today's clients (the desk: every client booked at the current location today; a stylist:
    their own); `offline`, the offline page; `key`, this session's key (the worker keeps nothing
    when it differs from the one the page gave). Five queries past the session and the user:
    the permissions (2), the staff record, the locations, today's clients
    (tests/salon_crm/test_offline.py)."""
    location = current_location(request)
    user = request.user
    pages: list[list[str]] = [[reverse("accounts:today")]]
    cards: list[str] = []
    if location is not None:
        pages = day_pages(user=user, location=location, home_is_today=home.home_url_for(user) is None)
        urls = (_card_url(pk) for pk in today_client_ids(user=user, location=location))
        cards = [url for url in urls if url]
    return JsonResponse(
        {"key": offline_key(request), "pages": pages, "cards": cards, "offline": reverse("offline_page")}
    )


@require_GET
@login_required
def offline_page(request: HttpRequest) -> HttpResponse:
    """The page the worker answers offline for a page it does not keep: what is kept (the lists
    are filled in from the browser's copy, so they show what really is there)."""
    return render(request, "salon_crm/offline.html")
