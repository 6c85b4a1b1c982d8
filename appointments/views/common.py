"""Helpers shared by the front-desk views: authorised fetches (missing and forbidden are both
404), the current location, the querysets the forms choose from, and htmx dialog answers."""

import json
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from accounts.access import current_location, locations_for, role_of, staff_of
from accounts.models import Location, Role, StaffMember
from appointments.models import Appointment, Product, Service, Visit
from appointments.services.rules import local_date

CALENDAR_CHANGED = "calendarChanged"


def location_or_404(request: HttpRequest) -> Location:
    location = current_location(request)
    if location is None:
        raise Http404("No location")
    return location


def parse_day(value: str | None, location: Location) -> date:
    """?date=YYYY-MM-DD, or today at the location; a malformed date falls back to today."""
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        from django.utils import timezone

        return local_date(location, timezone.now())


def appointment_for_user(user, pk: int) -> Appointment:
    qs = Appointment.objects.filter(location__in=locations_for(user)).select_related("customer", "location")
    return get_object_or_404(qs, pk=pk)


def visit_for_user(user, pk: int) -> Visit:
    qs = Visit.objects.filter(location__in=locations_for(user)).select_related(
        "customer", "location", "appointment"
    )
    return get_object_or_404(qs, pk=pk)


def bookable_staff(location: Location) -> QuerySet[StaffMember]:
    return StaffMember.objects.bookable().at_location(location).order_by("display_name")


def offered_services(location: Location) -> QuerySet[Service]:
    return Service.objects.filter(is_active=True, locations=location).select_related("category")


def retail_products() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True, kind=Product.Kind.RETAIL)


def is_stylist(user) -> bool:
    return role_of(user) == Role.STYLIST


def may_act_on(user, appointment: Appointment) -> bool:
    """Stylists act on their own column only (DESIGN.md, Roles); the desk on everything."""
    if not is_stylist(user):
        return True
    me = staff_of(user)
    return any(item.staff_id == me.pk for item in appointment.items.all())


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
