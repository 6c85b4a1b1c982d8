"""Rate limits on the public endpoints (django-ratelimit), one way for all of them.

Every public endpoint (online booking and its waitlist, the manage links, the login page, the
API token, later surveys and unsubscribe) is wrapped in `public_rate_limit(group)`: at most
`settings.RATE_LIMITS[group]` requests (a django-ratelimit rate such as "10/h") per client
address, counted in the shared cache. The client address is the one django-axes locks out
(django-ipware behind exactly AXES_PROXY_COUNT proxies; REMOTE_ADDR when that is 0), so a
chain behind a load balancer does not share one budget and a forged X-Forwarded-For buys
nothing. IPv6 clients are counted per /64 network (one customer line).

A limit that cannot be checked (the cache is down) lets the request through with a logged
warning: a salon that cannot take bookings because Redis is down loses more than a spammer
gains in those minutes, and the login lockout (django-axes) lives in the database anyway.
"""

import ipaddress
import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

logger = logging.getLogger(__name__)

LimitedResponse = Callable[..., HttpResponse]


def client_address(request: HttpRequest) -> str:
    """The client's address as django-axes resolves it, IPv6 reduced to its /64 network."""
    from axes.helpers import get_client_ip_address

    address = get_client_ip_address(getattr(request, "_request", request)) or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def over_limit(request: HttpRequest, group: str, *, key: str | None = None) -> bool:
    """Count this request against `settings.RATE_LIMITS[group]` for `key` (the client's
    address when None); True once the limit is exceeded. Never raises: when the cache cannot
    be reached the request is let through and a warning logged."""
    rate = settings.RATE_LIMITS[group]
    value = client_address(request) if key is None else key
    try:
        usage = get_usage(
            request, group=group, key=lambda _group, _request: value, rate=rate, method=ALL, increment=True
        )
    except Exception as exc:  # any cache error (ConnectionError, TimeoutError, ...) fails open
        logger.warning(
            "Rate limit %r not checked, request let through: the cache is unavailable (%s: %s)",
            group,
            exc.__class__.__name__,
            exc,
        )
        return False
    if usage is None:  # rate limits switched off (RATELIMIT_ENABLE)
        return False
    if usage["should_limit"]:
        request.rate_limit_retry_after = max(int(usage["time_left"]), 1)
        return True
    return False


def rate_limited_response(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """429: JSON `{"code", "detail"}` for the API, the friendly page for browsers."""
    detail = _("Too many requests from your connection. Please wait a little and try again.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "rate_limited", "detail": detail}, status=429)
    else:
        response = render(request, "accounts/rate_limited.html", {"detail": detail}, status=429)
    return with_retry_after(request, response)


def with_retry_after(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    retry_after = getattr(request, "rate_limit_retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def public_rate_limit(
    group: str, *, methods: tuple[str, ...] | None = ("POST",), limited: LimitedResponse | None = None
):
    """View decorator: at most settings.RATE_LIMITS[group] requests per client address.

    `methods`: the HTTP methods that count (None: every method). `limited(request, *args,
    **kwargs)` builds the 429 (default: `rate_limited_response`). Works on function views and,
    through `method_decorator(..., name="dispatch")`, on class-based and DRF views.
    """
    if group not in settings.RATE_LIMITS:  # fail at import, not at the first request
        raise ImproperlyConfigured(f"settings.RATE_LIMITS has no rate for {group!r}.")

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if (methods is None or request.method in methods) and over_limit(request, group):
                response = (limited or rate_limited_response)(request, *args, **kwargs)
                return with_retry_after(request, response)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
