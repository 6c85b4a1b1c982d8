"""Online booking for clients on a phone, no login: /book/<location-code>/.

service → stylist or "any" → a slot (times in the salon's zone, the zone named) → name, phone,
consent → a confirmation with a signed manage link, good for cancelling or moving until the
cut-off (settings.BOOKING_ONLINE_CUTOFF_HOURS). Who the client is and the booking are one
service call (appointments.services.online_book). Bookings are rate limited per client address and per phone, manage links per client address."""

import contextlib
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Location, StaffMember
from appointments import selectors
from appointments.forms import OnlineDetailsForm
from appointments.models import Appointment, AppointmentItem, AppointmentStatus, Service
from appointments.services import (
    SafetyWarningsError,
    appointment_cancel,
    appointment_move,
    availability_find,
    online_book,
    online_waitlist_add,
)
from appointments.services.rules import day_bounds, local_date
from customers.services import phone_normalise
from salon_crm.errors import Conflict
from salon_crm.ratelimit import over_limit, public_rate_limit, with_retry_after

SALT = "appointments.online-manage"
DAYS_AHEAD = 14  # how far ahead the date picker goes
S = AppointmentStatus


# ---- helpers ----------------------------------------------------------------------------------


def manage_token(appointment: Appointment) -> str:
    """Signed (not encrypted) id of the appointment and its client: unguessable, no expiry; the
    cut-off is enforced on use."""
    return signing.dumps({"a": appointment.pk, "c": appointment.customer_id}, salt=SALT)


def _appointment_from_token(token: str) -> Appointment:
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise Http404("Bad link") from None
    return get_object_or_404(
        Appointment.objects.select_related("location", "customer"),
        pk=data.get("a"),
        customer_id=data.get("c"),
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


def _pick_day(request: HttpRequest, location: Location) -> tuple[date, date]:
    today = local_date(location, timezone.now())
    try:
        day = date.fromisoformat(request.GET.get("date") or "")
    except ValueError:
        day = today
    return min(max(day, today), today + timedelta(days=DAYS_AHEAD)), today


def _slots(location: Location, service: Service, staff: StaffMember | None, day: date) -> list:
    """Free starts of the day. With "any" stylist, one slot per start time, given to the free
    stylist with the fewest bookings that day (so "any" spreads the work instead of always
    filling the first name in the list)."""
    now = timezone.now()
    slots = [
        s
        for s in availability_find(
            location=location, services=[service], start_date=day, end_date=day, staff=staff
        )
        if s.start > now
    ]
    if staff is None:
        start, end = day_bounds(location, day)
        load = dict(
            AppointmentItem.objects.filter(
                appointment__location=location, start__gte=start, start__lt=end, is_active=True
            )
            .values_list("staff_id")
            .annotate(n=Count("pk"))
        )
        best: dict = {}
        for slot in slots:
            rank = (load.get(slot.staff.pk, 0), slot.staff.display_name)
            if slot.start not in best or rank < best[slot.start][0]:
                best[slot.start] = (rank, slot)
        slots = [slot for _rank, slot in best.values()]
    return sorted(slots, key=lambda s: s.start)


def _cutoff() -> timedelta:
    return timedelta(hours=settings.BOOKING_ONLINE_CUTOFF_HOURS)


def _cutoff_passed(appointment: Appointment) -> bool:
    return appointment.start - timezone.now() < _cutoff()


def _render(request: HttpRequest, template: str, location: Location, context: dict, status: int = 200):
    context = {"location": location, "tz_name": location.time_zone, "currency": settings.CURRENCY, **context}
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
    day, today = _pick_day(request, location)
    start = request.GET.get("start")
    slot_staff = next((s for s in stylists if str(s.pk) == request.GET.get("slot_staff")), None)
    if start and slot_staff:
        form = OnlineDetailsForm(initial={"service": service.pk, "staff": slot_staff.pk, "start": start})
        return _details(request, location, service, slot_staff, start, form)
    days = [today + timedelta(days=i) for i in range(DAYS_AHEAD + 1)]
    return _render(
        request,
        "appointments/online/slots.html",
        location,
        {
            "service": service,
            "staff": staff,
            "staff_param": staff_param,
            "day": day,
            "days": days,
            "slots": _slots(location, service, staff, day),
        },
    )


def _details(request, location, service, staff, start, form, status=200, **extra):
    try:
        start_dt = datetime.fromisoformat(str(start))
    except ValueError:
        raise Http404("Bad slot") from None
    return _render(
        request,
        "appointments/online/details.html",
        location,
        {"service": service, "staff": staff, "start": start_dt, "form": form, **extra},
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
    try:
        appointment = online_book(
            location=location,
            service=service,
            staff=staff,
            start=data["start"],
            name=data["name"],
            phone=phone,
            marketing_consent=data["marketing_consent"],
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
        for message in exc.messages:
            form.add_error(None, message)
        return _details(request, location, service, staff, start, form, status=400, slots_url=slots_url)
    return redirect(reverse("appointments:online_manage", args=[manage_token(appointment)]) + "?new=1")


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
    online_waitlist_add(
        location=location, service=service, staff=staff, date=day, name=form.cleaned_data["name"], phone=phone
    )
    return _render(request, "appointments/online/waitlisted.html", location, {"service": service, "day": day})


# ---- manage (signed link) ---------------------------------------------------------------------


@manage_rate_limit
def manage(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _appointment_from_token(token)
    items = list(appointment.items.select_related("service", "staff"))
    context = {
        "appointment": appointment,
        "items": items,
        "token": token,
        "new": request.GET.get("new") == "1",
        "changeable": appointment.status in (S.BOOKED, S.CONFIRMED) and not _cutoff_passed(appointment),
        "cutoff_hours": settings.BOOKING_ONLINE_CUTOFF_HOURS,
        "active": appointment.status in (S.BOOKED, S.CONFIRMED),
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
    """Pick another slot (same service, same stylist) and move the booking there."""
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
    day, today = _pick_day(request, location)
    cutoff = timezone.now() + _cutoff()
    slots = [s for s in _slots(location, item.service, item.staff, day) if s.start >= cutoff]
    return _render(
        request,
        "appointments/online/move.html",
        location,
        {
            "appointment": appointment,
            "item": item,
            "token": token,
            "day": day,
            "days": [today + timedelta(days=i) for i in range(DAYS_AHEAD + 1)],
            "slots": slots,
            "error": error,
        },
        status=409 if error else 200,
    )
