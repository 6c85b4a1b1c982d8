"""Helpers shared by the front-desk views: the current location, the day asked for, service
errors onto forms, and htmx dialog answers. (Authorised fetches and the catalogue querysets
are selectors: appointments.selectors.)"""

import json
from datetime import date

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from accounts.access import current_location, role_of
from accounts.models import Location, Role
from appointments.services.rules import in_calendar, local_date

CALENDAR_CHANGED = "calendarChanged"


def location_or_404(request: HttpRequest) -> Location:
    location = current_location(request)
    if location is None:
        raise Http404("No location")
    return location


def parse_day(value: str | None, location: Location) -> date:
    """?date=YYYY-MM-DD, or today at the location; a malformed date, or one outside the
    calendar's years (0001-01-01, 9999-12-31: no local day there can be turned into UTC),
    falls back to today."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        day = None
    if day is None or not in_calendar(day):
        return local_date(location, timezone.now())
    return day


def is_stylist(user) -> bool:
    return role_of(user) == Role.STYLIST


def errors_of(exc: ValidationError) -> list[str]:
    """A service's ValidationError as flat messages for a form's non-field errors."""
    if hasattr(exc, "error_dict"):
        return [m for messages in exc.message_dict.values() for m in messages]
    return list(exc.messages)


def add_service_errors(form, exc: ValidationError) -> None:
    """Put a service's field errors on the matching form fields, the rest on the form."""
    if hasattr(exc, "error_dict"):
        for name, messages in exc.message_dict.items():
            field = name if name in form.fields else None
            for message in messages:
                form.add_error(field, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def notify(message: str = "", *, changed: bool = True, close: bool = False) -> HttpResponse:
    """An htmx answer without content: show a message, refresh the calendar, close the dialog."""
    triggers: dict = {}
    if changed:
        triggers[CALENDAR_CHANGED] = True
    if close:
        triggers["closeDialog"] = True
    if message:
        triggers["showMessage"] = str(message)
    response = HttpResponse(status=204)
    response["HX-Trigger"] = json.dumps(triggers)
    return response


def dialog_done(message: str = "") -> HttpResponse:
    """The dialog's action succeeded: close it and let the calendar refresh itself."""
    return notify(message, changed=True, close=True)
