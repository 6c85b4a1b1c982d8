"""Online booking for clients on a phone, no login: /book/<location-code>/.

service → stylist or "any" → a day and a slot (times in the salon's zone, the zone named) →
name, phone, consent → a confirmation with a signed manage link, good for cancelling or moving
until the cut-off (settings.BOOKING_ONLINE_CUTOFF_HOURS).

No dead ends: the day picker shows the window's days and links only those with free time
(one availability search for the whole window), opening on the first of them; a day with
nothing free (reached by an old link) offers the next free day; the cut-off is told on the
details step, before booking, and a booking made inside it says on its confirmation that
changes need a call to the salon.

Who the client is and the booking are one service call (appointments.services.online_book: a
phone on file under another name is held for the desk, never booked onto that client). Bookings
are rate limited per client address and per phone, manage links per client address."""

import contextlib
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Location
from appointments import selectors
from appointments.forms import OnlineDetailsForm
from appointments.models import Appointment, AppointmentStatus
from appointments.services import (
    SafetyWarningsError,
    appointment_cancel,
    appointment_move,
    online_book,
    online_waitlist_add,
)
from appointments.services.online import OnlineDays, online_days, phone_prover, spread_over_stylists
from appointments.services.rules import local_date
from appointments.visit_hooks import online_booking_panels
from customers.services import duplicate_phone_owner, phone_normalise
from salon_crm.errors import Conflict
from salon_crm.ratelimit import over_limit, public_rate_limit, with_retry_after

SALT = "appointments.online-manage"
DAYS_AHEAD = 14  # how far ahead the day picker goes (today + 14 days)
S = AppointmentStatus


# ---- helpers ----------------------------------------------------------------------------------


def manage_token(appointment: Appointment) -> str:
    """Signed (not encrypted) id of the appointment and its client: unguessable, no expiry; the
    cut-off is enforced on use."""
    return signing.dumps({"a": appointment.pk, "c": appointment.customer_id}, salt=SALT)


def _appointment_from_token(token: str) -> Appointment:
    """The appointment of a manage link. Its client is the one signed in the link, or, for a
    booking held for the desk, the provisional client it was made on: once the desk attaches it
    to the client on file, the link the client was given keeps working."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise Http404("Bad link") from None
    if not isinstance(data, dict):
        raise Http404("Bad link")
    client = data.get("c")
    return get_object_or_404(
        Appointment.objects.select_related("location"),
        Q(customer_id=client) | Q(online_check__provisional_pk=client),
        pk=data.get("a"),
    )


def _location(code: str) -> Location:
    return get_object_or_404(Location, code=code, is_active=True)


# Rate limits (salon_crm.ratelimit, rates in settings.RATE_LIMITS): booking and waitlist posts
# per client address ("online_book") and, once the form is valid, per normalised phone
# ("online_book_phone"); the manage link per client address, any method ("manage").


def _phone_over_limit(request: HttpRequest, phone: str) -> bool:
    return over_limit(request, "online_book_phone", key=phone)


def _too_many(request: HttpRequest, location: Location) -> HttpResponse:
    response = _render(request, "appointments/online/too_many.html", location, {}, status=429)
    return with_retry_after(request, response)


def _too_many_for_code(request: HttpRequest, code: str) -> HttpResponse:
    return _too_many(request, _location(code))


def _too_many_for_token(request: HttpRequest, token: str) -> HttpResponse:
    return _render(
        request,
        "appointments/online/too_many.html",
        _appointment_from_token(token).location,
        {"manage": True},
        status=429,
    )


book_rate_limit = public_rate_limit("online_book", limited=_too_many_for_code)
manage_rate_limit = public_rate_limit("manage", methods=None, limited=_too_many_for_token)


def _window(location: Location) -> tuple[date, date]:
    today = local_date(location, timezone.now())
    return today, today + timedelta(days=DAYS_AHEAD)


def _asked_day(request: HttpRequest, first: date, last: date) -> date | None:
    """?date=YYYY-MM-DD kept inside the window; None when absent or malformed."""
    try:
        day = date.fromisoformat(request.GET.get("date") or "")
    except ValueError:
        return None
    return min(max(day, first), last)


def _choose_day(request: HttpRequest, found: OnlineDays) -> date:
    """The day asked for, else the first day with free time, else today."""
    return _asked_day(request, found.days[0], found.days[-1]) or found.first_free() or found.days[0]


def _day_picker(found: OnlineDays, day: date, link: Callable[[date], str]) -> dict:
    """The picker's grid: weekday columns (Monday first), the window's days, free ones linked."""
    first = found.days[0]
    monday = first - timedelta(days=first.weekday())
    free = set(found.free)
    next_free = found.next_free(day)
    return {
        "weekdays": [monday + timedelta(days=n) for n in range(7)],
        "blanks": range(first.weekday()),
        "cells": [{"date": d, "free": d in free, "selected": d == day, "href": link(d)} for d in found.days],
        "day": day,
        "any_free": bool(free),
        "next_free": next_free,
        "next_href": link(next_free) if next_free else "",
    }


def _cutoff() -> timedelta:
    return timedelta(hours=settings.BOOKING_ONLINE_CUTOFF_HOURS)


def _cutoff_passed(appointment: Appointment) -> bool:
    return appointment.start - timezone.now() < _cutoff()


def _render(request: HttpRequest, template: str, location: Location, context: dict, status: int = 200):
    context = {
        "location": location,
        "tz_name": location.time_zone,
        "currency": settings.CURRENCY,
        "cutoff_hours": settings.BOOKING_ONLINE_CUTOFF_HOURS,
        **context,
    }
    with timezone.override(location.tz):
        return render(request, template, context, status=status)


# ---- booking ----------------------------------------------------------------------------------


def book_start(request: HttpRequest, code: str) -> HttpResponse:
    """Steps by query string: ?service= → ?staff= (or "any") → ?date= slots → ?start= details."""
    location = _location(code)
    services = list(selectors.services_offered(location=location))
    service = next((s for s in services if str(s.pk) == request.GET.get("service")), None)
    if service is None:
        return _render(request, "appointments/online/services.html", location, {"services": services})
    stylists = list(selectors.staff_bookable(location=location))
    staff_param = request.GET.get("staff", "")
    if not staff_param:
        return _render(
            request, "appointments/online/stylists.html", location, {"service": service, "stylists": stylists}
        )
    staff = next((s for s in stylists if str(s.pk) == staff_param), None)
    if staff is None and staff_param != "any":
        raise Http404("Unknown stylist")
    start = request.GET.get("start")
    slot_staff = next((s for s in stylists if str(s.pk) == request.GET.get("slot_staff")), None)
    if start and slot_staff:
        form = OnlineDetailsForm(initial={"service": service.pk, "staff": slot_staff.pk, "start": start})
        return _details(request, location, service, slot_staff, start, form)
    first, last = _window(location)
    found = online_days(location=location, service=service, staff=staff, first_day=first, last_day=last)
    day = _choose_day(request, found)
    slots = found.slots.get(day, [])
    if staff is None and slots:
        slots = spread_over_stylists(location=location, day=day, slots=slots)
    base = f"?service={service.pk}&staff={staff_param}&date="
    return _render(
        request,
        "appointments/online/slots.html",
        location,
        {
            "service": service,
            "staff": staff,
            "staff_param": staff_param,
            "day": day,
            "picker": _day_picker(found, day, lambda d: base + d.isoformat()),
            "slots": slots,
        },
    )


def _details(request, location, service, staff, start, form, status=200, **extra):
    try:
        start_dt = datetime.fromisoformat(str(start))
    except ValueError:
        raise Http404("Bad slot") from None
    if timezone.is_naive(start_dt):
        start_dt = start_dt.replace(tzinfo=location.tz)  # salon time
    return _render(
        request,
        "appointments/online/details.html",
        location,
        {
            "service": service,
            "staff": staff,
            "start": start_dt,
            "form": form,
            # Told before booking: inside the cut-off, changes will need a call.
            "inside_cutoff": start_dt - timezone.now() < _cutoff(),
            "phone_code": phone_prover() is not None,
            **extra,
        },
        status=status,
    )


@require_POST
@book_rate_limit
def book_submit(request: HttpRequest, code: str) -> HttpResponse:
    location = _location(code)
    form = OnlineDetailsForm(request.POST)
    service = (
        selectors.services_offered(location=location).filter(pk=request.POST.get("service") or 0).first()
    )
    staff = selectors.staff_bookable(location=location).filter(pk=request.POST.get("staff") or 0).first()
    if service is None or staff is None:
        return redirect("appointments:online_book", code=code)
    start = request.POST.get("start", "")
    if not form.is_valid():
        return _details(request, location, service, staff, start, form, status=400)
    data = form.cleaned_data
    phone = phone_normalise(str(data["phone"]))
    if _phone_over_limit(request, phone):
        return _too_many(request, location)
    slots_url = reverse("appointments:online_book", args=[code]) + f"?service={service.pk}&staff=any"
    prover = phone_prover()
    proven = False
    if prover is not None and data.get("code"):
        proven = prover.check(phone=phone, code=data["code"].strip())
        if not proven:
            form.add_error("code", _("That code is not right or has expired. Ask for a new one."))
            return _details(request, location, service, staff, start, form, status=400)
    try:
        appointment = online_book(
            location=location,
            service=service,
            staff=staff,
            start=data["start"],
            name=data["name"],
            phone=phone,
            marketing_consent=data["marketing_consent"],
            phone_proven=proven,
        )
    except SafetyWarningsError:
        form.add_error(
            None,
            _(
                "This service needs a word with the salon first (allergy or patch test). Please call %(phone)s."
            )
            % {"phone": location.phone or location.name},
        )
        return _details(request, location, service, staff, start, form, status=409)
    except Conflict:
        form.add_error(None, _("Sorry, that time was just taken. Please choose another."))
        return _details(request, location, service, staff, start, form, status=409, slots_url=slots_url)
    except ValidationError as exc:
        if duplicate_phone_owner(exc) is not None:
            # Two bookings with a new phone at the same instant: the message would name the
            # other client; a second try finds the phone on file and follows the usual rule.
            form.add_error(None, _("Something went wrong. Please try again."))
        else:
            for message in exc.messages:
                form.add_error(None, message)
        return _details(request, location, service, staff, start, form, status=400, slots_url=slots_url)
    return redirect(reverse("appointments:online_manage", args=[manage_token(appointment)]) + "?new=1")


@require_POST
@book_rate_limit
def phone_code(request: HttpRequest, code: str) -> HttpResponse:
    """The details page's "Send me a code" (htmx): a one-time code by SMS to the phone typed,
    when the setting offers it. Answers a line for the page's status box; never says whether
    the phone is on file."""
    location = _location(code)
    prover = phone_prover()
    if prover is None:
        raise Http404("No codes here")
    # Every answer is a 200 with the line to show (htmx swaps only 2xx answers into the page).
    try:
        phone = phone_normalise(request.POST.get("phone", ""))
    except ValidationError:
        phone = None
    if phone is None:
        text = _("Enter a valid mobile number first.")
    elif not phone:
        text = _("Type your mobile number first.")
    elif _phone_over_limit(request, phone):
        text = _("Too many tries for this number; please try again later.")
    else:
        try:
            prover.send(phone=phone, location=location)
        except ValidationError as exc:
            text = " ".join(exc.messages)
        else:
            text = _("We sent a 6-digit code to your phone. Type it below.")
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@require_POST
@book_rate_limit
def waitlist_submit(request: HttpRequest, code: str) -> HttpResponse:
    """No slot fits: the client asks to be called when one frees up on that day."""
    location = _location(code)
    service = get_object_or_404(
        selectors.services_offered(location=location), pk=request.POST.get("service") or 0
    )
    staff = selectors.staff_bookable(location=location).filter(pk=request.POST.get("staff") or 0).first()
    form = OnlineDetailsForm(
        {**request.POST.dict(), "staff": staff.pk if staff else 0, "start": timezone.now().isoformat()}
    )
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        raise Http404("Bad date") from None
    if not form.is_valid():
        return _render(
            request,
            "appointments/online/waitlisted.html",
            location,
            {"form": form, "service": service, "day": day, "failed": True},
            status=400,
        )
    phone = phone_normalise(str(form.cleaned_data["phone"]))
    if _phone_over_limit(request, phone):
        return _too_many(request, location)
    try:
        online_waitlist_add(
            location=location,
            service=service,
            staff=staff,
            date=day,
            name=form.cleaned_data["name"],
            phone=phone,
        )
    except ValidationError as exc:
        for message in [] if duplicate_phone_owner(exc) is not None else exc.messages:
            form.add_error(None, message)
        if not form.errors:
            form.add_error(None, _("Something went wrong. Please try again."))
        return _render(
            request,
            "appointments/online/waitlisted.html",
            location,
            {"form": form, "service": service, "day": day, "failed": True},
            status=400,
        )
    return _render(request, "appointments/online/waitlisted.html", location, {"service": service, "day": day})


# ---- manage (signed link) ---------------------------------------------------------------------


@manage_rate_limit
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """The booking: when, what, with whom and its status. Nothing about the client (name,
    phone, history): the link is all it takes to open it."""
    appointment = _appointment_from_token(token)
    items = list(appointment.items.select_related("service", "staff"))
    active = appointment.status in (S.BOOKED, S.CONFIRMED)
    context = {
        "appointment": appointment,
        "items": items,
        "token": token,
        "new": request.GET.get("new") == "1",
        "changeable": active and not _cutoff_passed(appointment),
        "active": active,
        "online_panels": online_booking_panels(appointment),
    }
    return _render(request, "appointments/online/manage.html", appointment.location, context)


def _changeable_or_refuse(request, appointment: Appointment, token: str):
    if appointment.status not in (S.BOOKED, S.CONFIRMED) or _cutoff_passed(appointment):
        return redirect("appointments:online_manage", token=token)
    return None


@require_POST
@manage_rate_limit
def manage_cancel(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _appointment_from_token(token)
    refused = _changeable_or_refuse(request, appointment, token)
    if refused:
        return refused
    # A refusal needs no message: the page shows the current status either way.
    with contextlib.suppress(Conflict, ValidationError, PermissionDenied):
        appointment_cancel(appointment=appointment, by=None, reason=_("Cancelled by the client online"))
    return redirect("appointments:online_manage", token=token)


@manage_rate_limit
def manage_move(request: HttpRequest, token: str) -> HttpResponse:
    """Pick another slot (same service, same stylist) and move the booking there. The day
    picker offers the days with a free time past the cut-off."""
    appointment = _appointment_from_token(token)
    refused = _changeable_or_refuse(request, appointment, token)
    if refused:
        return refused
    location = appointment.location
    item = appointment.items.select_related("service", "staff").order_by("start").first()
    error = ""
    if request.method == "POST":
        try:
            new_start = datetime.fromisoformat(request.POST.get("start", ""))
            if timezone.is_naive(new_start) or new_start - timezone.now() < _cutoff():
                raise ValueError
        except ValueError:
            error = _("Choose one of the times shown.")
        else:
            try:
                appointment_move(appointment=appointment, new_start=new_start, by=None)
            except Conflict:
                error = _("Sorry, that time was just taken. Please choose another.")
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                return redirect(reverse("appointments:online_manage", args=[token]) + "?moved=1")
    first, last = _window(location)
    found = online_days(
        location=location,
        service=item.service,
        staff=item.staff,
        first_day=first,
        last_day=last,
        not_before=timezone.now() + _cutoff(),
    )
    day = _choose_day(request, found)
    return _render(
        request,
        "appointments/online/move.html",
        location,
        {
            "appointment": appointment,
            "item": item,
            "token": token,
            "day": day,
            "picker": _day_picker(found, day, lambda d: f"?date={d.isoformat()}"),
            "slots": found.slots.get(day, []),
            "error": error,
        },
        status=409 if error else 200,
    )
