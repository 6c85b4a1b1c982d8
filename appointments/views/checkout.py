"""Checkout (服务记录 + sale), the printable receipt and voiding. Totals shown while typing are
recomputed on the server (Decimal); the amounts that count are the ones visit_checkout saves."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments import selectors
from appointments.forms import CheckoutForm, CheckoutLineFormSet, PaymentFormSet, VoidForm
from appointments.models import Appointment, Visit
from appointments.payments import payment_method_choices
from appointments.services import CheckoutLine, PaymentIn, SafetyWarningsError, visit_checkout, visit_void
from appointments.views.common import (
    add_service_errors,
    appointment_for_user,
    bookable_staff,
    location_or_404,
    offered_services,
    retail_products,
    visit_for_user,
)
from customers.models import Customer
from salon_crm.errors import Conflict

ZERO = Decimal("0")
CENT = Decimal("0.01")
BLANK_PRODUCT_ROWS = 2


def _line_amount(data: dict) -> Decimal:
    item = data.get("service") or data.get("product")
    price = data.get("unit_price")
    if price is None:
        price = item.price if item is not None else ZERO
    return max((price * (data.get("quantity") or 1) - (data.get("discount") or ZERO)).quantize(CENT), ZERO)


def _totals(lines, form) -> dict:
    subtotal = sum((_line_amount(f.cleaned_data) for f in lines.forms if _filled(f)), ZERO)
    discount = (form.cleaned_data.get("discount") or ZERO) if form.is_valid() else ZERO
    return {"subtotal": subtotal, "discount": discount, "total": max(subtotal - discount, ZERO)}


def _filled(line_form) -> bool:
    data = getattr(line_form, "cleaned_data", None) or {}
    return bool((data.get("service") or data.get("product")) and not data.get("DELETE"))


def _initial_lines(appointment: Appointment | None) -> list[dict]:
    rows = []
    if appointment is not None:
        for item in appointment.items.select_related("service").order_by("start", "pk"):
            rows.append(
                {"service": item.service_id, "staff": item.staff_id, "unit_price": item.price, "quantity": 1}
            )
    return rows + [{"quantity": 1} for _ in range(BLANK_PRODUCT_ROWS)]


@login_required
@permission_required("appointments.checkout", raise_exception=True)
def checkout_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """From an appointment (its services and stylists pre-filled) or a walk-in sale."""
    appointment = appointment_for_user(request.user, pk) if pk else None
    location = appointment.location if appointment else location_or_404(request)
    if appointment is not None and hasattr(appointment, "visit"):
        return redirect("appointments:receipt", pk=appointment.visit.pk)
    customer = appointment.customer if appointment else None
    if customer is None:
        wanted = request.POST.get("customer") or request.GET.get("customer")
        customer = (
            Customer.objects.active().filter(pk=wanted).first() if str(wanted or "").isdigit() else None
        )
    line_kwargs = {
        "services": offered_services(location),
        "products": retail_products(),
        "staff": bookable_staff(location),
    }
    pay_kwargs = {"methods": payment_method_choices()}
    if request.method == "POST":
        form = CheckoutForm(request.POST)
        lines = CheckoutLineFormSet(request.POST, prefix="lines", form_kwargs=line_kwargs)
        payments = PaymentFormSet(request.POST, prefix="pay", form_kwargs=pay_kwargs)
    else:
        form = CheckoutForm()
        lines = CheckoutLineFormSet(
            initial=_initial_lines(appointment), prefix="lines", form_kwargs=line_kwargs
        )
        # The whole amount in cash by default: the desk changes the method or splits it.
        due = _initial_totals(appointment)["total"]
        payments = PaymentFormSet(
            initial=[{"method": "cash", "amount": due or None}, {}], prefix="pay", form_kwargs=pay_kwargs
        )
    valid = request.method == "POST" and form.is_valid() and lines.is_valid() and payments.is_valid()
    totals = _totals(lines, form) if valid else None
    warnings: list = []
    if valid and request.POST.get("recalc"):
        return render(request, "appointments/checkout.html#totals", {"totals": totals})
    if valid:
        if customer is None:
            form.add_error(None, _("Pick the client first."))
        else:
            try:
                visit = visit_checkout(
                    location=location,
                    customer=customer,
                    by=request.user,
                    appointment=appointment,
                    lines=[_checkout_line(f.cleaned_data) for f in lines.forms if _filled(f)],
                    discount=form.cleaned_data.get("discount") or ZERO,
                    payments=[
                        PaymentIn(method=p["method"], amount=p["amount"], reference=p.get("reference", ""))
                        for p in (f.cleaned_data for f in payments.forms)
                        if p.get("amount")
                    ],
                    override_reason=form.cleaned_data.get("override_reason", ""),
                )
            except SafetyWarningsError as exc:
                warnings = exc.warnings
                form.add_error("override_reason", _("Give a reason to go ahead despite the warnings."))
            except (Conflict, PermissionDenied) as exc:
                form.add_error(None, str(getattr(exc, "message", exc)))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Checked out: %(total)s.") % {"total": visit.total})
                return redirect(reverse("appointments:receipt", args=[visit.pk]) + "?done=1")
    elif request.method == "POST" and request.POST.get("recalc"):
        return render(request, "appointments/checkout.html#totals", {"totals": None})
    if totals is None and request.method == "GET":
        totals = _initial_totals(appointment)
    context = {
        "appointment": appointment,
        "customer": customer,
        "location": location,
        "form": form,
        "lines": lines,
        "payments": payments,
        "totals": totals,
        "warnings": warnings,
        "currency": _currency(),
    }
    return render(request, "appointments/checkout.html", context)


def _initial_totals(appointment: Appointment | None) -> dict:
    subtotal = sum((i.price for i in appointment.items.all()), ZERO) if appointment else ZERO
    return {"subtotal": subtotal, "discount": ZERO, "total": subtotal}


def _currency() -> str:
    from django.conf import settings

    return getattr(settings, "CURRENCY", "CNY")


def _checkout_line(data: dict) -> CheckoutLine:
    service = data.get("service")
    return CheckoutLine(
        kind="service" if service else "product",
        service=service,
        product=data.get("product"),
        staff=data.get("staff"),
        quantity=data.get("quantity") or 1,
        unit_price=data.get("unit_price"),
        discount=data.get("discount") or ZERO,
    )


@login_required
@permission_required("appointments.view_visit", raise_exception=True)
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """Printable receipt (print CSS), the next-visit offer, and void for managers."""
    visit = visit_for_user(request.user, pk)
    visit = selectors.visit_get(pk=visit.pk)
    data = selectors.receipt_data(visit)
    suggestion = selectors.next_visit_suggestion(visit) if visit.status == Visit.Status.COMPLETED else None
    context = {
        "visit": visit,
        "r": data,
        "suggestion": suggestion,
        "currency": _currency(),
        "void_form": VoidForm(),
        "can_void": request.user.has_perm("appointments.void_visit")
        and visit.status == Visit.Status.COMPLETED,
        "just_done": request.GET.get("done") == "1",
    }
    with timezone.override(visit.location.tz):
        return render(request, "appointments/receipt.html", context)


@login_required
@permission_required("appointments.void_visit", raise_exception=True)
@require_POST
def void(request: HttpRequest, pk: int) -> HttpResponse:
    visit = visit_for_user(request.user, pk)
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason to void this visit."))
    else:
        try:
            visit_void(visit=visit, by=request.user, reason=form.cleaned_data["reason"])
        except (Conflict, PermissionDenied) as exc:
            messages.error(request, str(getattr(exc, "message", exc)))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The visit was voided."))
    return redirect("appointments:receipt", pk=visit.pk)
