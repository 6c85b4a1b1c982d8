"""Online bookings held for the desk (appointments.services.online): the phone typed is on file
for a client whose name does not agree. A panel on the Today page lists them (reception,
managers, owners: whoever may change client files and bookings), each with two answers: the
same client (attach the booking to the client on file) or a different person (keep it on its
own client, optionally giving that client a phone of its own)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from phonenumber_field.formfields import PhoneNumberField

from accounts import home
from accounts.access import current_location
from appointments.models import OnlineClientCheck
from appointments.services.online import (
    can_check_online_clients,
    online_check_attach,
    online_check_separate,
    online_checks_pending,
)
from appointments.views.actions import customer_card_url
from appointments.views.common import errors_of
from customers.privacy import phone_display_for
from salon_crm.errors import Conflict
from salon_crm.forms import TextHygieneMixin

PANEL_LIMIT = 20


class SeparateForm(TextHygieneMixin, forms.Form):
    """A different person: optionally, their own phone (found by calling or asking)."""

    phone = PhoneNumberField(label=gettext_lazy("Their own phone (optional)"), required=False)


def _row(check: OnlineClientCheck, tz, phone_shown) -> dict:
    appointment, entry = check.appointment, check.waitlist_entry
    if appointment is not None:
        when = appointment.start.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        what = ", ".join(f"{i.service.name} ({i.staff.display_name})" for i in appointment.items.all())
        status = appointment.get_status_display()
    else:
        when = entry.date.isoformat()
        what = entry.service.name
        status = _("Waitlist")
    on_file = check.on_file
    return {
        "pk": check.pk,
        "when": when,
        "what": what,
        "status": status,
        "typed_name": check.typed_name,
        "typed_phone": phone_shown(check.typed_phone),
        "provisional_url": customer_card_url(check.provisional_pk),
        "on_file_name": on_file.name if on_file else "",
        "on_file_url": customer_card_url(on_file.pk) if on_file else "",
        "attach_url": reverse("appointments:online_check_attach", args=[check.pk]),
        "separate_url": reverse("appointments:online_check_separate", args=[check.pk]),
    }


def held_panel(request: HttpRequest) -> home.Panel | None:
    """The Today page's list of held online bookings at the current location; nothing when
    there are none or the user may not answer them. Three queries (online_checks_pending),
    whatever the number of rows."""
    user = request.user
    if not (user.has_perm("customers.change_customer") and user.has_perm("appointments.change_appointment")):
        return None
    location = current_location(request)  # one the user may act at
    if location is None:
        return None
    checks = online_checks_pending(location=location, limit=PANEL_LIMIT)
    if not checks:
        return None
    shown = phone_display_for(user)
    rows = [_row(c, location.tz, shown) for c in checks[:PANEL_LIMIT]]
    return home.Panel(
        template="appointments/held_panel.html",
        context={"rows": rows, "more": len(checks) > PANEL_LIMIT, "form": SeparateForm()},
        order=15,  # above the day's appointments: it asks for an answer
    )


def _check_for_user(user, pk: int) -> OnlineClientCheck:
    """Missing and not yours look the same (404)."""
    check = get_object_or_404(OnlineClientCheck.objects.select_related("location"), pk=pk)
    if not can_check_online_clients(user, check.location):
        raise Http404("No such check")
    return check


@login_required
@require_POST
def check_attach(request: HttpRequest, pk: int) -> HttpResponse:
    check = _check_for_user(request.user, pk)
    try:
        customer = online_check_attach(check=check, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(errors_of(exc)))
    except (Conflict, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(typed)s's online booking is now on %(name)s's card.")
            % {"typed": check.typed_name, "name": customer.name},
        )
    return redirect("accounts:home")


@login_required
@require_POST
def check_separate(request: HttpRequest, pk: int) -> HttpResponse:
    check = _check_for_user(request.user, pk)
    form = SeparateForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return redirect("accounts:home")
    phone = form.cleaned_data["phone"]
    try:
        online_check_separate(check=check, by=request.user, phone=str(phone) if phone else "")
    except ValidationError as exc:
        messages.error(request, " ".join(errors_of(exc)))
    except (Conflict, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(typed)s's online booking stays on a client of its own.") % {"typed": check.typed_name},
        )
    return redirect("accounts:home")
