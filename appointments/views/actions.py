"""The appointment dialog: details and the actions of the desk (confirm, check in, start, move,
cancel, no-show). Each action is one service call; refusals come back as messages in the dialog."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from appointments import selectors
from appointments.forms import CancelForm, MoveForm, OverrideForm
from appointments.models import Appointment, AppointmentStatus
from appointments.services import (
    SafetyWarningsError,
    appointment_cancel,
    appointment_check_in,
    appointment_confirm,
    appointment_move,
    appointment_no_show,
    appointment_start,
)
from appointments.services.rules import local_date, local_dt
from appointments.views.common import add_service_errors, dialog_done, errors_of
from appointments.visit_hooks import appointment_panels
from customers.privacy import can_read_health, display_phone
from customers.safety import customer_safety_warnings
from salon_crm.errors import Conflict

S = AppointmentStatus


def customer_card_url(customer_id: int) -> str:
    """The client card, when the customers pages are installed (no dead links otherwise)."""
    try:
        return reverse("customers:detail", args=[customer_id])
    except NoReverseMatch:
        return ""


# The statuses in which the client is still to be served: the dialog shows their safety
# warnings (check-in and start ask for a reason while there are any).
BEFORE_SERVICE = (S.BOOKED, S.CONFIRMED, S.ARRIVED, S.IN_SERVICE)


def _detail(request: HttpRequest, appointment: Appointment, *, errors=(), warnings=None, override=None):
    items = list(appointment.items.select_related("service", "staff", "resource"))
    if warnings is None and appointment.status in BEFORE_SERVICE:
        warnings = customer_safety_warnings(
            appointment.customer,
            [i.service for i in items],
            on=local_date(appointment.location, appointment.start),
        )
    warnings = warnings or []
    show_health = can_read_health(request.user)
    visit = getattr(appointment, "visit", None) if appointment.status == S.COMPLETED else None
    context = {
        "appointment": appointment,
        "items": items,
        "phone": display_phone(request.user, appointment.customer.phone),
        "card_url": customer_card_url(appointment.customer_id),
        # Their words for those who may read health; "Safety check needed" for the rest.
        "warnings": warnings if show_health else [],
        "safety_needed": bool(warnings),
        "errors": errors,
        "override_form": override or OverrideForm(),
        "visit": visit,
        "can_checkout": request.user.has_perm("appointments.checkout")
        and appointment.status in (S.ARRIVED, S.IN_SERVICE),
        "tz_name": appointment.location.time_zone,
        "panels": appointment_panels(appointment, request.user),  # other apps' (a deposit)
    }
    with timezone.override(appointment.location.tz):
        return render(request, "appointments/dialogs/detail.html", context)


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.appointment_get_for_user(user=request.user, pk=pk))


_SIMPLE = {
    "confirm": (appointment_confirm, gettext_lazy("Confirmed.")),
    "no_show": (appointment_no_show, gettext_lazy("Marked as no-show.")),
}


@login_required
@permission_required("appointments.change_appointment", raise_exception=True)
@require_POST
def appointment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """confirm / start / no_show / check_in: one click each (check-in and start may need a
    reason: the client's safety warnings)."""
    appointment = selectors.appointment_get_for_user(user=request.user, pk=pk)
    override = OverrideForm(request.POST)
    override.is_valid()
    reason = override.cleaned_data.get("override_reason", "")
    try:
        if action == "check_in":
            appointment_check_in(appointment=appointment, by=request.user, override_reason=reason)
            message = _("%(name)s checked in.") % {"name": appointment.customer.name}
        elif action == "start":
            appointment_start(appointment=appointment, by=request.user, override_reason=reason)
            message = _("Service started.")
        elif action in _SIMPLE:
            service, message = _SIMPLE[action]
            service(appointment=appointment, by=request.user)
        else:
            return HttpResponse(status=404)
    except SafetyWarningsError as exc:
        override.add_error("override_reason", _("Give a reason to go ahead despite the warnings."))
        return _detail(request, appointment, warnings=exc.warnings, override=override)
    except (Conflict, ValidationError, PermissionDenied) as exc:
        errors = errors_of(exc) if isinstance(exc, ValidationError) else [str(getattr(exc, "message", exc))]
        appointment.refresh_from_db()
        return _detail(request, appointment, errors=errors)
    return dialog_done(message)


@login_required
@permission_required("appointments.change_appointment", raise_exception=True)
def appointment_move_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_get_for_user(user=request.user, pk=pk)
    location = appointment.location
    items = list(appointment.items.all())
    staff_qs = selectors.staff_bookable(location=location) if len(items) == 1 else None
    local = appointment.start.astimezone(location.tz)
    form = MoveForm(
        request.POST or None,
        initial={"date": local.date(), "start": local.time(), "staff": items[0].staff_id if items else None},
        staff=staff_qs,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        staff = data.get("staff")
        if staff is not None and items and staff.pk == items[0].staff_id:
            staff = None
        try:
            appointment_move(
                appointment=appointment,
                new_start=local_dt(location, data["date"], data["start"]),
                by=request.user,
                staff=staff,
            )
        except Conflict as exc:
            form.add_error(
                None, _("That slot was just taken. Choose another time or stylist.") + f" ({exc.message})"
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            return dialog_done(_("Moved."))
    return render(
        request,
        "appointments/dialogs/move.html",
        {"form": form, "appointment": appointment, "single": len(items) == 1},
    )


@login_required
@permission_required("appointments.change_appointment", raise_exception=True)
def appointment_cancel_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.appointment_get_for_user(user=request.user, pk=pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appointment_cancel(appointment=appointment, by=request.user, reason=form.cleaned_data["reason"])
        except (Conflict, PermissionDenied) as exc:
            form.add_error(None, str(getattr(exc, "message", exc)))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(_("Cancelled."))
    return render(request, "appointments/dialogs/cancel.html", {"form": form, "appointment": appointment})
