"""The waitlist at the desk: add a client who wants a service on a day, see the entries that
now have a free slot (waitlist_matches), and book one with a single click."""

from datetime import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.forms import WaitlistForm
from appointments.models import AppointmentSource, WaitlistEntry
from appointments.services import (
    BookingItem,
    SafetyWarningsError,
    appointment_book,
    waitlist_add,
    waitlist_matches,
    waitlist_set_status,
)
from appointments.services.rules import local_dt
from appointments.views.calendar import SLOT_TAKEN, customer_from_form
from appointments.views.common import (
    add_service_errors,
    bookable_staff,
    dialog_done,
    location_or_404,
    notify,
    offered_services,
    parse_day,
)
from salon_crm.errors import Conflict


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def waitlist_panel(request: HttpRequest) -> HttpResponse:
    """Entries of the day that now have a free slot, each with a one-click booking."""
    location = location_or_404(request)
    day = parse_day(request.GET.get("date"), location)
    matches = waitlist_matches(location=location, date=day)
    waiting = WaitlistEntry.objects.filter(
        location=location, date=day, status=WaitlistEntry.Status.WAITING
    ).count()
    with timezone.override(location.tz):
        return render(
            request,
            "appointments/waitlist_panel.html",
            {"matches": [(e, slots[:4]) for e, slots in matches], "waiting": waiting, "day": day},
        )


@login_required
@permission_required("appointments.add_waitlistentry", raise_exception=True)
def waitlist_dialog(request: HttpRequest) -> HttpResponse:
    location = location_or_404(request)
    day = parse_day(request.GET.get("date"), location)
    form = WaitlistForm(
        request.POST or None,
        initial={"date": day},
        services=offered_services(location),
        staff=bookable_staff(location),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = customer_from_form(form, request.user)
            waitlist_add(
                customer=customer,
                location=location,
                service=data["service"],
                date=data["date"],
                staff=data["staff"],
                earliest=data["earliest"],
                latest=data["latest"],
                by=request.user,
                notes=data["notes"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(_("%(name)s is on the waitlist.") % {"name": customer.name})
    return render(request, "appointments/dialogs/waitlist.html", {"form": form})


@login_required
@permission_required("appointments.add_appointment", raise_exception=True)
@require_POST
def waitlist_book(request: HttpRequest, pk: int) -> HttpResponse:
    """One click from the waitlist panel: book the entry into the offered slot."""
    location = location_or_404(request)
    entry = get_object_or_404(
        WaitlistEntry.objects.select_related("customer", "service"),
        pk=pk,
        location=location,
        status=WaitlistEntry.Status.WAITING,
    )
    staff = get_object_or_404(bookable_staff(location), pk=request.POST.get("staff") or 0)
    try:
        start = datetime.fromisoformat(request.POST.get("start", ""))
    except ValueError:
        return HttpResponse(_("That slot is no longer valid."), status=400)
    if timezone.is_naive(start):
        start = local_dt(location, start.date(), start.time())
    try:
        appointment_book(
            customer=entry.customer,
            location=location,
            items=[BookingItem(service=entry.service, staff=staff, start=start)],
            source=AppointmentSource.PHONE,
            booked_by=request.user,
            notes=entry.notes,
            override_reason=request.POST.get("override_reason", ""),
        )
        waitlist_set_status(entry=entry, status=WaitlistEntry.Status.BOOKED, by=request.user)
    except SafetyWarningsError:
        # Safety warnings need a reason: the desk books from an empty slot and gives one.
        return notify(_("This client has safety warnings: book from an empty slot and give a reason."))
    except (Conflict, ValidationError):
        return notify(SLOT_TAKEN)
    return dialog_done(_("Booked %(name)s from the waitlist.") % {"name": entry.customer.name})
