"""Checkout (服务记录 + sale), the printable receipt and voiding. Totals shown while typing are
the service's own quote (checkout_quote, Decimal); the amounts that count are the ones
visit_checkout saves from the same lines."""

from decimal import Decimal

from django.conf import settings
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
from appointments.line_kinds import kinds_sold_by_amount, kinds_sold_by_choice, line_kind
from appointments.models import Appointment, Visit, VisitLine
from appointments.payments import payment_balances, payment_method_choices
from appointments.services import (
    CheckoutLine,
    PaymentIn,
    Quote,
    SafetyWarningsError,
    checkout_lines_for,
    checkout_quote,
    visit_checkout,
    visit_void,
)
from appointments.services.checkout import Balance, checkout_balance
from appointments.views.common import add_service_errors, location_or_404
from customers.models import Customer
from salon_crm.errors import Conflict

BLANK_PRODUCT_ROWS = 2


def _checkout_lines(lines, form=None) -> list[CheckoutLine]:
    """The filled, not removed rows of the line formset as the service's input, then what the
    form's amount fields sell (a stored-value top-up)."""
    result = []
    for data in (f.cleaned_data for f in lines.forms):
        if not (data.get("service") or data.get("product")) or data.get("DELETE"):
            continue
        result.append(
            CheckoutLine(
                kind=VisitLine.Kind.SERVICE if data.get("service") else VisitLine.Kind.PRODUCT,
                service=data.get("service"),
                product=data.get("product"),
                staff=data.get("staff"),
                quantity=data.get("quantity") or 1,
                unit_price=data.get("unit_price"),
                discount=data.get("discount") or Decimal("0"),
            )
        )
    if form is not None:
        # a tip goes to the stylist of the first service line
        stylist = next(
            (line.staff for line in result if line.kind == VisitLine.Kind.SERVICE and line.staff), None
        )
        result += [
            CheckoutLine(kind=key, unit_price=amount, staff=stylist if line_kind(key).to_stylist else None)
            for key, amount in form.amount_lines()
        ]
        result += [CheckoutLine(kind=key, ref=ref) for key, ref in form.choice_lines()]
    return result


NOTHING = Quote(lines=[], subtotal=Decimal("0"), discount=Decimal("0"), total=Decimal("0"))


def _quote_or_none(lines: list[CheckoutLine], discount, customer=None) -> Quote | None:
    """The running totals: nothing yet for no lines, None while a line is wrong."""
    if not lines:
        return NOTHING
    try:
        return checkout_quote(lines=lines, discount=discount, customer=customer)
    except ValidationError:
        return None


def _balance(totals: Quote | None, payments) -> Balance | None:
    """Paid so far and still to pay, for the totals (None while the lines are wrong)."""
    if totals is None:
        return None
    return checkout_balance(total=totals.total, amounts=payments.amounts())


def _forms(request: HttpRequest, appointment: Appointment | None, location, customer=None):
    line_kwargs = {
        "services": selectors.services_offered(location=location),
        "products": selectors.products_retail(),
        "staff": selectors.staff_bookable(location=location),
    }
    pay_kwargs = {"methods": payment_method_choices()}
    sold = {
        "amount_kinds": kinds_sold_by_amount(),
        "choice_kinds": kinds_sold_by_choice(),
        "customer": customer,
    }
    if request.method == "POST":
        return (
            CheckoutForm(request.POST, **sold),
            CheckoutLineFormSet(request.POST, prefix="lines", form_kwargs=line_kwargs),
            PaymentFormSet(request.POST, prefix="pay", form_kwargs=pay_kwargs),
        )
    booked = checkout_lines_for(appointment) if appointment else []
    rows = [
        {"service": line.service.pk, "staff": line.staff.pk, "unit_price": line.unit_price, "quantity": 1}
        for line in booked
    ]
    lines = CheckoutLineFormSet(
        initial=rows + [{"quantity": 1}] * BLANK_PRODUCT_ROWS, prefix="lines", form_kwargs=line_kwargs
    )
    # The whole amount in cash by default: the desk changes the method or splits it (three rows:
    # e.g. stored value, points and cash for the rest).
    quote = _quote_or_none(booked, 0, customer)
    due = quote.total if quote else None
    payments = PaymentFormSet(
        initial=[{"method": "cash", "amount": due or None}, {}, {}], prefix="pay", form_kwargs=pay_kwargs
    )
    return CheckoutForm(**sold), lines, payments


def _customer(request: HttpRequest, appointment: Appointment | None) -> Customer | None:
    if appointment is not None:
        return appointment.customer
    wanted = str(request.POST.get("customer") or request.GET.get("customer") or "")
    return Customer.objects.active().filter(pk=wanted).first() if wanted.isdigit() else None


def _checkout(request, *, form, lines, payments, appointment, customer, location):
    """Run visit_checkout; its refusals become form errors. Returns (visit or None, warnings)."""
    try:
        visit = visit_checkout(
            location=location,
            customer=customer,
            by=request.user,
            appointment=appointment,
            lines=_checkout_lines(lines, form),
            discount=form.cleaned_data.get("discount") or Decimal("0"),
            payments=[
                PaymentIn(method=p["method"], amount=p["amount"], reference=p.get("reference", ""))
                for p in (f.cleaned_data for f in payments.forms)
                if p.get("amount")
            ],
            override_reason=form.cleaned_data.get("override_reason", ""),
            price_reason=form.cleaned_data.get("price_reason", ""),
        )
    except SafetyWarningsError as exc:
        form.add_error("override_reason", _("Give a reason to go ahead despite the warnings."))
        return None, exc.warnings
    except (Conflict, PermissionDenied) as exc:
        form.add_error(None, str(getattr(exc, "message", exc)))
    except ValidationError as exc:
        add_service_errors(form, exc)
    else:
        return visit, []
    return None, []


@login_required
@permission_required("appointments.checkout", raise_exception=True)
def checkout_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """From an appointment (its services and stylists pre-filled) or a walk-in sale."""
    appointment = selectors.appointment_get_for_user(user=request.user, pk=pk) if pk else None
    location = appointment.location if appointment else location_or_404(request)
    if appointment is not None and hasattr(appointment, "visit"):
        return redirect("appointments:receipt", pk=appointment.visit.pk)
    customer = _customer(request, appointment)
    form, lines, payments = _forms(request, appointment, location, customer)
    # The running totals need the lines and the discount; the payments only add the balance
    # (a row may still lack its method while the desk splits the amount).
    priced = request.method == "POST" and form.is_valid() and lines.is_valid()
    valid = priced and payments.is_valid()
    totals = (
        _quote_or_none(_checkout_lines(lines, form), form.cleaned_data.get("discount"), customer)
        if priced
        else None
    )
    if request.method == "POST" and request.POST.get("recalc"):
        context = {"totals": totals, "form": form, "balance": _balance(totals, payments)}
        return render(request, "appointments/checkout.html#totals", context)
    warnings: list = []
    if valid and customer is None:
        form.add_error(None, _("Pick the client first."))
    elif valid:
        visit, warnings = _checkout(
            request,
            form=form,
            lines=lines,
            payments=payments,
            appointment=appointment,
            customer=customer,
            location=location,
        )
        if visit is not None:
            messages.success(request, _("Checked out: %(total)s.") % {"total": visit.total})
            return redirect(reverse("appointments:receipt", args=[visit.pk]) + "?done=1")
    if request.method == "GET":
        totals = _quote_or_none(checkout_lines_for(appointment) if appointment else [], 0, customer)
    context = {
        "balance": _balance(totals, payments),
        "appointment": appointment,
        "customer": customer,
        "location": location,
        "form": form,
        "lines": lines,
        "payments": payments,
        "totals": totals,
        "warnings": warnings,
        "currency": settings.CURRENCY,
        "balances": payment_balances(customer),
    }
    with timezone.override(location.tz):
        return render(request, "appointments/checkout.html", context)


@login_required
@permission_required("appointments.view_visit", raise_exception=True)
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """Printable receipt (print CSS), the next-visit offer, and void for managers."""
    visit = selectors.visit_get_for_user(user=request.user, pk=pk)
    data = selectors.receipt_data(visit)
    suggestion = selectors.next_visit_suggestion(visit) if visit.status == Visit.Status.COMPLETED else None
    context = {
        "visit": visit,
        "r": data,
        "suggestion": suggestion,
        "currency": settings.CURRENCY,
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
    visit = selectors.visit_get_for_user(user=request.user, pk=pk)
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
