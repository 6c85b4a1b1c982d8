"""The front desk's day: the calendar grid, booking from an empty slot, walk-ins, the
waitlist panel and the week view of one stylist. Every write goes through appointments.services;
a Conflict or ValidationError becomes a form error in the dialog, never a 500."""

import json
from datetime import date, timedelta
from html import escape as esc

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import staff_of
from accounts.models import Location, StaffMember
from appointments import selectors
from appointments.forms import (
    BookingForm,
    BookingItemFormSet,
    WalkInForm,
    booking_items,
)
from appointments.models import AppointmentItem, AppointmentSource, AppointmentStatus
from appointments.payments import payment_balances
from appointments.services import SafetyWarningsError, appointment_book, walk_in_create
from appointments.services.rules import day_bounds, local_date
from appointments.views.common import (
    add_service_errors,
    dialog_done,
    is_stylist,
    location_or_404,
    parse_day,
)
from appointments.views.grid import build_grid
from customers.models import Customer
from customers.privacy import can_read_health, display_phone, phone_display_for
from customers.safety import customer_safety_warnings
from customers.search import customer_search
from salon_crm.errors import Conflict

SLOT_TAKEN = gettext_lazy("That slot was just taken. Choose another time or stylist.")


def _day_context(request: HttpRequest, location: Location, day: date) -> dict:
    show_cancelled = request.GET.get("cancelled") == "1"
    cal = selectors.day_calendar(location=location, date=day, include_cancelled=show_cancelled)
    grid = build_grid(cal=cal, show_cancelled=show_cancelled)
    _present(grid, request.user, location)
    return {
        "location": location,
        "day": day,
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": local_date(location, timezone.now()),
        "grid": grid,
        "closed": not cal.opening,
        "show_cancelled": show_cancelled,
        "tz_name": location.time_zone,
        **_booking_for(request),
    }


def _booking_for(request: HttpRequest) -> dict:
    """?customer=<id> (the card's Book button): every empty slot books this client."""
    wanted = request.GET.get("customer", "")
    customer = (
        Customer.objects.active().filter(pk=wanted).only("pk", "name").first() if wanted.isdigit() else None
    )
    return {
        "book_customer": str(customer.pk) if customer else "",
        "book_customer_name": customer.name if customer else "",
    }


class _SafetyBadges:
    """The red badge of a block whose client has safety warnings for the booked service: an
    icon with words for screen readers and a tooltip (not colour alone). What each warning is
    ("Allergy on file", "No patch test on file": never the client's own words, which the
    calendar does not decrypt) for those who may read health; "Safety check needed" for the
    rest. Built once per set of codes, not per block."""

    def __init__(self, show_kinds: bool):
        self.show_kinds = show_kinds
        self.needed = str(_("Safety check needed"))
        self.cache: dict[tuple[str, ...], str] = {}

    def html(self, codes: list[str]) -> str:
        key = tuple(codes)
        if key not in self.cache:
            label = self.needed
            if self.show_kinds:
                label += ": " + "; ".join(selectors.safety_code_labels(codes))
            self.cache[key] = (
                f'<span class="appt-safety" title="{esc(label)}"><span aria-hidden="true">⚠</span>'
                f'<span class="visually-hidden">{esc(label)}</span></span> '
            )
        return self.cache[key]


def _present(grid, user, location: Location) -> None:
    """HTML of the slot buttons (the same in every column, built once) and of each block.
    Built in Python rather than template loops: a 300-appointment day is ~1,000
    elements, and the template engine's per-node cost was most of the page's time."""
    grid.slots_html = format_html_join(
        "",
        '<button type="button" class="cal-slot{}" data-time="{}" aria-label="{}"></button>',
        ((" hour" if row.is_hour else "", row.label, row.label) for row in grid.rows),
    )
    tz = location.tz
    # Once per page, not per block: whether phones are masked (each distinct number is then
    # formatted once, customers.privacy), status labels (get_status_display translates every
    # choice on each call), the detail URL (reverse() costs more than the formatting) and the
    # "HH:MM" of each distinct time.
    phone = phone_display_for(user)
    labels = {value: esc(str(label)) for value, label in AppointmentStatus.choices}
    marker = 987654321
    detail_url = esc(reverse("appointments:detail", args=[marker])).replace(str(marker), "{}")
    safety = _SafetyBadges(can_read_health(user))
    clock: dict = {}
    services: dict[str, str] = {}
    for column in grid.columns:
        for block in column.blocks:
            item = block.item
            start, end = item.start, item.end
            if start not in clock:
                clock[start] = f"{start.astimezone(tz):%H:%M}"
            if end not in clock:
                clock[end] = f"{end.astimezone(tz):%H:%M}"
            service = services.get(item.service_name)
            if service is None:
                service = services[item.service_name] = esc(item.service_name)
            # Every dynamic part goes through html.escape (quotes too): plain escaping is a
            # third of format_html's cost, which escapes through lazy-string wrappers.
            # The position is data, not a style attribute (the CSP allows none): static/js/app.js
            # sets it through element.style before the grid is painted.
            badge = safety.html(item.safety_codes) if item.safety_codes else ""
            block.html = mark_safe(
                f'<a class="appt st-{esc(block.status)}" data-top="{block.top}" data-height="{block.height}" '
                f'href="#" data-appointment="{item.appointment_id}" hx-get="{detail_url.format(item.appointment_id)}" '
                f'hx-target="#dialog-content" hx-swap="innerHTML"{" data-safety" if badge else ""}>{badge}'
                f'<span class="appt-time">{clock[start]}–{clock[end]}</span> '
                f'<span class="appt-name">{esc(item.customer_name)}</span> '
                f'<span class="text-muted">{esc(phone(item.phone))}</span><br><span>{service}</span> · '
                f'<span class="small">{labels[item.status]}</span></a>'
            )
        column.blocks_html = mark_safe("".join(block.html for block in column.blocks))


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def day_calendar(request: HttpRequest) -> HttpResponse:
    location = location_or_404(request)
    day = parse_day(request.GET.get("date"), location)
    context = _day_context(request, location, day)
    with timezone.override(location.tz):
        if request.htmx and request.GET.get("part") == "grid":
            return render(request, "appointments/day.html#grid", context)
        return render(request, "appointments/day.html", context)


def _warnings_for(customer: Customer | None, services, day: date | None = None) -> list:
    if customer is None:
        return []
    return customer_safety_warnings(customer, [s for s in services if s], on=day)


def attempt_booking(form, book) -> tuple:
    """Run a booking service; its refusals become errors on `form` (a taken slot, closed
    hours, a phone already on file...). Returns (appointment or None, safety warnings)."""
    try:
        return book(), []
    except SafetyWarningsError as exc:
        form.add_error("override_reason", _("Give a reason to go ahead despite the warnings."))
        return None, exc.warnings
    except Conflict as exc:
        # The service's message names the clash ("Lina is booked 10:00–11:00 (张三)."), or says
        # the slot went to someone else a moment ago (a race).
        form.add_error(None, f"{exc.message} {_('Choose another time or stylist.')}")
    except ValidationError as exc:
        add_service_errors(form, exc)
    except PermissionDenied as exc:  # a stylist booking in someone else's column
        form.add_error(None, str(exc))
    return None, []


def _customer_param(request: HttpRequest) -> Customer | None:
    wanted = request.GET.get("customer", "")
    return Customer.objects.active().filter(pk=wanted).first() if wanted.isdigit() else None


def _focus(form, first: str) -> str:
    """Where the keyboard starts in a dialog (static/js/dialogs.js): the override reason when it
    is asked for, else `first` once a client is chosen, else the client search."""
    if "override_reason" in form.errors:
        return "#id_override_reason"
    if form.is_bound:
        chosen = form.data.get("customer") or form.data.get("new_name")
    else:
        chosen = form.initial.get("customer")
    return first if chosen else "#client-lookup"


def _booked(message: str, appointment) -> HttpResponse:
    """dialog_done, and "appointmentBooked" with the new appointment's id: the calendar shows
    and marks its block once the grid has refreshed (static/js/calendar.js)."""
    response = dialog_done(message)
    triggers = json.loads(response["HX-Trigger"])
    triggers["appointmentBooked"] = appointment.pk
    response["HX-Trigger"] = json.dumps(triggers)
    return response


def _booking_forms(request: HttpRequest, location: Location):
    """The booking form and its service rows, and the client of ?customer= (None on a POST)."""
    services = selectors.services_offered(location=location)
    staff = selectors.staff_bookable(location=location)
    kwargs = {"form_kwargs": {"services": services, "staff": staff}, "prefix": "items"}
    may_record_past = request.user.has_perm("appointments.record_past_visit")
    if request.method == "POST":
        return (
            BookingForm(request.POST, may_record_past=may_record_past),
            BookingItemFormSet(request.POST, **kwargs),
            None,
        )
    day = parse_day(request.GET.get("date"), location)
    first = {"start": request.GET.get("time") or None, "staff": request.GET.get("staff") or None}
    customer = _customer_param(request)
    initial = {"date": day, "customer": customer.pk if customer else None}
    if customer is not None:
        initial["customer_label"] = customer.name
        # Opened without a slot (the card's client): their preferred stylist, if bookable here.
        if first["staff"] is None and staff.filter(pk=customer.preferred_staff_id).exists():
            first["staff"] = customer.preferred_staff_id
    form = BookingForm(initial=initial, may_record_past=may_record_past)
    return form, BookingItemFormSet(initial=[first], **kwargs), customer


@login_required
@permission_required("appointments.add_appointment", raise_exception=True)
def book_dialog(request: HttpRequest) -> HttpResponse:
    """The booking dialog opened from an empty slot; POST books through appointment_book."""
    location = location_or_404(request)
    form, items, prefilled = _booking_forms(request, location)
    warnings: list = []
    if request.method == "POST" and form.is_valid() and items.is_valid():
        planned = booking_items(location, form.cleaned_data["date"], items.forms)
        if not planned:
            form.add_error(None, _("Choose at least one service with a stylist."))
        else:
            appointment, warnings = attempt_booking(
                form,
                lambda: appointment_book(
                    customer=form.client(),
                    location=location,
                    items=planned,
                    source=AppointmentSource.FRONT_DESK,
                    booked_by=request.user,
                    notes=form.cleaned_data["notes"],
                    override_reason=form.cleaned_data["override_reason"],
                    record_past=form.cleaned_data.get("record_past", False),
                ),
            )
            if appointment is not None:
                message = _("Booked %(name)s: %(when)s with %(staff)s.") % {
                    "name": appointment.customer.name,
                    "when": f"{appointment.start.astimezone(location.tz):%Y-%m-%d %H:%M}",
                    "staff": planned[0].staff.display_name,
                }
                return _booked(message, appointment)
    elif prefilled is not None:
        # The card's client: their allergy or contraindication shows before a service is chosen.
        warnings = _warnings_for(prefilled, [])
    context = {
        "form": form,
        "items": items,
        "warnings": warnings,
        "location": location,
        "focus": _focus(form, "#id_items-0-service"),
    }
    with timezone.override(location.tz):
        return render(request, "appointments/dialogs/book.html", context)


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def client_lookup(request: HttpRequest) -> HttpResponse:
    """Small search list inside the dialogs; picking a row fills the hidden customer field."""
    q = (request.GET.get("q") or request.GET.get("lookup") or "").strip()
    results = customer_search(q=q, limit=8) if len(q) >= 1 else []
    rows = [(c, display_phone(request.user, c.phone)) for c in results]
    return render(request, "appointments/dialogs/client_lookup.html", {"rows": rows, "q": q})


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def safety_check(request: HttpRequest) -> HttpResponse:
    """The client's safety warnings for the services chosen so far (refreshed on change)."""
    location = location_or_404(request)
    customer = Customer.objects.active().filter(pk=request.GET.get("customer") or 0).first()
    ids = [v for k, v in request.GET.items() if k.endswith("service") and v.isdigit()]
    services = list(selectors.services_offered(location=location).filter(pk__in=ids))
    return render(
        request,
        "appointments/dialogs/warnings.html",
        {
            "warnings": _warnings_for(customer, services),
            "customer": customer,
            # what the client can pay with: points, stored value, package sessions left
            "client_balances": payment_balances(customer),
        },
    )


@login_required
@permission_required("appointments.add_appointment", raise_exception=True)
def walk_in_dialog(request: HttpRequest) -> HttpResponse:
    """The one walk-in flow (the header's button, the calendar's, the card's): client (found, or
    new: name and phone) → service → stylist → in service now, the client's safety warnings
    asked about as booking does. ?customer=<id> fills in a client; ?name= what the header search
    found nobody for (a phone number goes to the phone field)."""
    location = location_or_404(request)
    me = staff_of(request.user)
    initial: dict = {"staff": me.pk if me and is_stylist(request.user) else None}
    customer = _customer_param(request) if request.method != "POST" else None
    if customer is not None:
        initial.update(customer=customer.pk, customer_label=customer.name)
    typed = (request.GET.get("name") or "").strip()[:100]
    if typed and customer is None:
        initial["new_phone" if _looks_like_phone(typed) else "new_name"] = typed
    staff = selectors.staff_bookable(location=location)
    now = timezone.now()
    busy = {
        pk: f"{until.astimezone(location.tz):%H:%M}"
        for pk, until in selectors.staff_busy_now(staff=staff, at=now).items()
    }
    form = WalkInForm(
        request.POST or None,
        initial=initial,
        services=selectors.services_offered(location=location),
        staff=staff,
        busy=busy,
    )
    warnings: list = _warnings_for(customer, []) if customer is not None else []
    if request.method == "POST" and form.is_valid():
        appointment, warnings = attempt_booking(
            form,
            lambda: walk_in_create(
                customer=form.client(),
                location=location,
                service=form.cleaned_data["service"],
                staff=form.cleaned_data["staff"],
                by=request.user,
                override_reason=form.cleaned_data["override_reason"],
            ),
        )
        if appointment is not None:
            message = _("%(name)s is in service with %(staff)s.") % {
                "name": appointment.customer.name,
                "staff": form.cleaned_data["staff"].display_name,
            }
            return _booked(message, appointment)
    if typed and customer is None and not form.is_bound:
        focus = "#id_new_phone" if "new_name" in initial else "#id_new_name"
    else:
        focus = _focus(form, "#id_service")
    context = {"form": form, "warnings": warnings, "focus": focus}
    return render(request, "appointments/dialogs/walk_in.html", context)


def _looks_like_phone(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "").removeprefix("+")
    return digits.isdigit() and len(digits) >= 6


def _staff_week(staff: StaffMember, location: Location, monday: date) -> list[AppointmentItem]:
    """The stylist's items at the location from local Monday to Sunday (one query)."""
    start, _end = day_bounds(location, monday)
    _start, end = day_bounds(location, monday + timedelta(days=6))
    return list(
        AppointmentItem.objects.filter(
            staff=staff, appointment__location=location, start__gte=start, start__lt=end
        )
        .exclude(appointment__status=AppointmentStatus.CANCELLED)
        .select_related("appointment__customer", "service")
        .order_by("start")
    )


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def week_view(request: HttpRequest) -> HttpResponse:
    """One stylist's week (Monday to Sunday) at the current location."""
    location = location_or_404(request)
    day = parse_day(request.GET.get("date"), location)
    monday = day - timedelta(days=day.weekday())
    me = staff_of(request.user)
    wanted = request.GET.get("staff") or (me.pk if me and me.is_bookable else None)
    staff_list = list(selectors.staff_bookable(location=location))
    staff = next((s for s in staff_list if str(s.pk) == str(wanted)), staff_list[0] if staff_list else None)
    days = []
    if staff is not None:
        week = _staff_week(staff, location, monday)
        for offset in range(7):
            d = monday + timedelta(days=offset)
            items = [i for i in week if local_date(location, i.start) == d]
            for item in items:
                item.phone = display_phone(request.user, item.appointment.customer.phone)
            days.append({"date": d, "items": items})
    with timezone.override(location.tz):
        return render(
            request,
            "appointments/week.html",
            {
                "location": location,
                "staff": staff,
                "staff_list": staff_list,
                "days": days,
                "monday": monday,
                "prev_week": monday - timedelta(days=7),
                "next_week": monday + timedelta(days=7),
                "today": local_date(location, timezone.now()),
            },
        )
