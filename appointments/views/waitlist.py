"""The waitlist at the desk: add a client who wants a service on a day, see the entries that
now have a free slot (waitlist_matches), and book one with a single click."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments import selectors
from appointments.forms import WaitlistBookForm, WaitlistForm
from appointments.models import WaitlistEntry
from appointments.services import SafetyWarningsError, waitlist_add, waitlist_entry_book, waitlist_matches
from appointments.views.calendar import SLOT_TAKEN
from appointments.views.common import add_service_errors, dialog_done, location_or_404, notify, parse_day
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
        services=selectors.services_offered(location=location),
        staff=selectors.staff_bookable(location=location),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = waitlist_add(
                customer=form.client(),
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
            return dialog_done(_("%(name)s is on the waitlist.") % {"name": entry.customer.name})
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
    form = WaitlistBookForm(
        request.POST, location=location, staff=selectors.staff_bookable(location=location)
    )
    if not form.is_valid():
        return HttpResponse(_("That slot is no longer valid."), status=400)
    try:
        waitlist_entry_book(
            entry=entry,
            staff=form.cleaned_data["staff"],
            start=form.cleaned_data["start"],
            by=request.user,
            override_reason=form.cleaned_data["override_reason"],
        )
    except SafetyWarningsError:
        # Safety warnings need a reason: the desk books from an empty slot and gives one.
        return notify(_("This client has safety warnings: book from an empty slot and give a reason."))
    except (Conflict, ValidationError):
        return notify(SLOT_TAKEN)
    return dialog_done(_("Booked %(name)s from the waitlist.") % {"name": entry.customer.name})
