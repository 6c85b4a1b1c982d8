"""Request checks that hold for every page and API call."""

import contextlib
from collections.abc import Callable

import django_structlog.middlewares
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

NUL = "\x00"


def _field_with_nul(request: HttpRequest) -> str | None:
    """The name of the first query parameter (or form field) whose name or value holds a NUL
    character; "path" for the path itself; None when there is none."""
    if NUL in request.path_info:
        return "path"
    sources = [request.GET]
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        # Django parses these bodies into request.POST (the CSRF check reads it anyway);
        # uploaded files are not looked at, only the form's fields.
        sources.append(request.POST)
    for params in sources:
        for name, values in params.lists():
            if NUL in name or any(NUL in value for value in values):
                return name.replace(NUL, "") or "non_field_errors"
    return None


class RejectNulMiddleware:
    """A NUL character is never valid input, and PostgreSQL refuses it in any text value: a
    query parameter like `?q=a%00b` reached the database and ended in a 500. Every request is
    answered 400 at the door instead, naming the parameter: `{"q": ["..."]}` on the API, a
    plain 400 page elsewhere. (Form and serializer fields refuse NUL themselves; this also
    covers the parameters views read directly.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _field_with_nul(request)
        if field is None:
            return self.get_response(request)
        message = _("Null characters are not allowed.")
        if request.path_info.startswith("/api/"):
            return JsonResponse({field: [message]}, status=400)
        return HttpResponseBadRequest(f"{field}: {message}", content_type="text/plain; charset=utf-8")


class RequestMiddleware(django_structlog.middlewares.RequestMiddleware):
    """django-structlog's RequestMiddleware, which a database outage does not silence.

    It binds the user's id by loading the user, at the start of the request and again when a
    view raised. With the database down that load raises inside the middleware itself: the
    request then left no line of its own (no "request_failed", no X-Request-ID on the 503 of
    salon_crm.unavailable) and its context stayed bound. So the id is left out when the user
    cannot be loaded, and the outage is logged and answered like any other error."""

    @staticmethod
    def bind_user_id(request) -> None:
        with contextlib.suppress(DatabaseError):
            django_structlog.middlewares.RequestMiddleware.bind_user_id(request)
