"""The stylist's day on a tablet: today's list, start and finish, the service record and the
colour formula; and the Today-page panel (the desk's list or the stylist's own)."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import home
from accounts.access import current_location, staff_of
from appointments import selectors
from appointments.forms import ServiceRecordForm, StartForm
from appointments.models import AppointmentStatus
from appointments.services import SafetyWarningsError, appointment_start, service_record_write
from appointments.services.records import formula_safety_warnings
from appointments.services.rules import local_date
from appointments.views.actions import customer_card_url
from appointments.views.common import add_service_errors, errors_of, is_stylist, parse_day
from customers.privacy import can_read_health, can_write_health, display_phone
from customers.safety import customer_safety_warnings
from salon_crm.errors import Conflict

S = AppointmentStatus


def _my_items(request: HttpRequest, staff, day):
    """The stylist's items of `day`, each with its client's safety warnings for its service:
    the words for those who may read health (2 queries for the list, only when someone on it
    has warnings), `safety_codes` alone for the rest ("Safety check needed")."""
    items = selectors.stylist_day(staff=staff, date=day)
    flagged = [i for i in items if i.safety_codes]
    warnings = selectors.items_safety_warnings(flagged) if flagged and can_read_health(request.user) else {}
    for item in items:
        item.phone = display_phone(request.user, item.appointment.customer.phone)
        item.card_url = customer_card_url(item.appointment.customer_id)
        item.safety_warnings = warnings.get(item.pk, [])
    return items


def _my_day_url(day) -> str:
    return f"{reverse('appointments:my_day')}?date={day.isoformat()}"


def _item_day(item):
    return local_date(item.appointment.location, item.start)


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def my_day(request: HttpRequest) -> HttpResponse:
    me = staff_of(request.user)
    if me is None:
        raise Http404("Not a staff member")
    location = current_location(request)
    day = parse_day(request.GET.get("date"), location) if location else timezone.localdate()
    today = local_date(location, timezone.now()) if location else timezone.localdate()
    items = _my_items(request, me, day)
    tz = location.tz if location else timezone.get_current_timezone()
    confirm = request.GET.get("confirm", "")
    with timezone.override(tz):
        return render(
            request,
            "appointments/my_day.html",
            {
                "items": items,
                "day": day,
                "today": today,
                "prev_day": day - timedelta(days=1),
                "next_day": day + timedelta(days=1),
                "me": me,
                "tz_name": str(tz),
                "location": location,
                # After a Start refused for want of a reason: that item's confirmation stays open.
                "confirm": int(confirm) if confirm.isascii() and confirm.isdigit() else None,
                "can_read_health": can_read_health(request.user),
            },
        )


@login_required
@permission_required("appointments.change_appointment", raise_exception=True)
@require_POST
def my_day_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Start at the chair; back to the item's own day. With safety warnings the service asks for
    a reason (the confirmation stays open on the list until one is given)."""
    item = selectors.appointment_item_get_for_user(user=request.user, pk=pk)
    back = _my_day_url(_item_day(item))
    form = StartForm(request.POST)
    form.is_valid()
    try:
        appointment_start(
            appointment=item.appointment,
            by=request.user,
            override_reason=form.cleaned_data.get("override_reason", ""),
        )
    except SafetyWarningsError:
        messages.error(request, _("Confirm the safety warnings: give a reason to go ahead."))
        return redirect(f"{back}&confirm={item.pk}#item-{item.pk}")
    except (Conflict, PermissionDenied) as exc:
        messages.error(request, str(getattr(exc, "message", exc)))
    except ValidationError as exc:
        messages.error(request, " ".join(errors_of(exc)))
    else:
        messages.success(request, _("Started: %(name)s.") % {"name": item.appointment.customer.name})
    return redirect(back)


@login_required
@permission_required("appointments.add_servicerecord", raise_exception=True)
def service_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Write (or rewrite) the record of one service; optionally a colour formula with it."""
    item = selectors.appointment_item_get_for_user(user=request.user, pk=pk)
    customer = item.appointment.customer
    record = getattr(item, "record", None)
    initial = {}
    if record is not None:
        initial = {
            "notes": record.notes,
            "result": record.result,
            "products": list(record.products_used.all()),
        }
    with_formula = can_write_health(request.user, customer)
    form = ServiceRecordForm(
        request.POST or None,
        initial=initial,
        products=selectors.products_active(),
        with_formula=with_formula,
    )
    day = _item_day(item)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service_record_write(
                item=item,
                by=request.user,
                notes=data["notes"],
                result=data["result"],
                products=data["products"],
                formula=form.formula(),
                override_reason=data.get("override_reason", ""),
            )
        except SafetyWarningsError:
            form.add_error("override_reason", _("Give a reason to record colour without a valid patch test."))
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Service record saved for %(name)s.") % {"name": customer.name})
            return redirect(_my_day_url(day))
    # The red banner: the client's warnings for this service; the patch-test ones again beside
    # the colour formula, which needs a reason while they stand.
    show_health = can_read_health(request.user)
    warnings = customer_safety_warnings(customer, [item.service], on=day)
    formula_warnings = (
        formula_safety_warnings(customer=customer, service=item.service, on=day) if with_formula else []
    )
    with timezone.override(item.appointment.location.tz):
        return render(
            request,
            "appointments/service_record.html",
            {
                "item": item,
                "form": form,
                "card_url": customer_card_url(customer.pk),
                "warnings": warnings if show_health else [],
                "safety_needed": bool(warnings) and not show_health,
                "formula_warnings": formula_warnings if show_health else [],
                "formula_needs_reason": bool(formula_warnings),
                "back_url": _my_day_url(day),
            },
        )


# ---- Today page panel -------------------------------------------------------------------------

PANEL_LIMIT = 30


def today_panel(request: HttpRequest):
    """Receptionists and managers: today's appointments at the current location; stylists:
    their own list. Constant queries (one selector call, permissions cached on the user)."""
    user = request.user
    if not user.has_perm("appointments.view_appointment"):
        return None
    location = current_location(request)
    if location is None:
        return None
    day = local_date(location, timezone.now())
    if is_stylist(user):
        me = staff_of(user)
        rows = [
            {
                "time": i.start.astimezone(location.tz).strftime("%H:%M"),
                "name": i.appointment.customer.name,
                "phone": display_phone(user, i.appointment.customer.phone),
                "what": i.service.name,
                "status": i.appointment.status,
                "status_label": i.appointment.get_status_display(),
                "pk": i.appointment_id,
                "safety": bool(i.safety_codes),
            }
            for i in selectors.stylist_day(staff=me, date=day)
        ]
        title = _("My appointments today")
    else:
        rows = [
            {
                "time": a.start.astimezone(location.tz).strftime("%H:%M"),
                "name": a.customer.name,
                "phone": display_phone(user, a.customer.phone),
                "what": ", ".join(f"{i.service.name} ({i.staff.display_name})" for i in a.items.all()),
                "status": a.status,
                "status_label": a.get_status_display(),
                "pk": a.pk,
                "safety": bool(a.safety_codes),
            }
            for a in selectors.appointments_for_day(location=location, date=day)
            if a.status != S.CANCELLED
        ]
        title = _("Appointments today")
    return home.Panel(
        template="appointments/home_panel.html",
        context={
            "title": title,
            "rows": rows[:PANEL_LIMIT],
            "more": max(len(rows) - PANEL_LIMIT, 0),
            "tz_name": location.time_zone,
            "stylist": is_stylist(user),
        },
        order=20,
    )
