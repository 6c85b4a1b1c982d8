"""Loyalty pages: the managers' points adjustment and stored-value refund (dialogs over the
client card) and the owner's loyalty settings with the top-up rules. Thin: every write is a
loyalty.services call."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import current_location
from appointments.selectors import appointment_get_for_user
from appointments.views.common import add_service_errors, dialog_done
from customers.selectors import customer_get
from loyalty import cards, deposits, selectors, services
from loyalty.forms import (
    CouponIssueForm,
    DepositTakeForm,
    LoyaltySettingsForm,
    PointsAdjustForm,
    StoredValueRefundForm,
    TierFormSet,
    TopUpRuleFormSet,
    WaiveForm,
)
from loyalty.models import Deposit, FeeCharge, LoyaltySettings, MembershipTier, TopUpRule


def _active_customer(pk: int):
    customer = customer_get(pk=pk)
    if customer.erased_at is not None:
        raise PermissionDenied(_("This client's file was erased."))
    return customer


@login_required
@permission_required("loyalty.adjust_ledger", raise_exception=True)
def points_adjust_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _active_customer(pk)
    form = PointsAdjustForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.points_adjust(
                customer=customer,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                by=request.user,
                location=current_location(request),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # closes the dialog; the card refreshes its figures and panels (calendarChanged)
            return dialog_done(_("Points adjusted."))
    context = {"form": form, "customer": customer, "account": selectors.account_of(customer)}
    return render(request, "loyalty/dialogs/points_adjust.html", context)


@login_required
@permission_required("loyalty.adjust_ledger", raise_exception=True)
def stored_value_refund_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _active_customer(pk)
    form = StoredValueRefundForm(request.POST or None)
    account = selectors.account_of(customer)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.stored_value_refund(
                customer=customer,
                amount=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                reason=form.cleaned_data["reason"],
                by=request.user,
                location=current_location(request),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(
                _("Refunded %(amount)s; bonus forfeited %(bonus)s.")
                % {"amount": -entry.principal, "bonus": -entry.bonus}
            )
    return render(
        request,
        "loyalty/dialogs/stored_value_refund.html",
        {"form": form, "customer": customer, "account": account},
    )


@login_required
@permission_required("loyalty.adjust_ledger", raise_exception=True)
def coupon_issue_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager gives the client a single-use coupon (an apology, a gesture)."""
    customer = _active_customer(pk)
    form = CouponIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            coupon = cards.coupon_issue(
                customer=customer,
                kind="manual",
                value=data["value"],
                min_spend=data.get("min_spend") or 0,
                service=data.get("service"),
                valid_until=data["valid_until"],
                note=data.get("note", ""),
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(_("Coupon %(code)s given.") % {"code": coupon.code})
    return render(request, "loyalty/dialogs/coupon_issue.html", {"form": form, "customer": customer})


@login_required
@permission_required("loyalty.manage_loyalty", raise_exception=True)
def settings_page(request: HttpRequest) -> HttpResponse:
    current = LoyaltySettings.current()
    form = LoyaltySettingsForm(request.POST or None, instance=current, prefix="s")
    rules = TopUpRuleFormSet(request.POST or None, queryset=TopUpRule.objects.all(), prefix="rules")
    tier_forms = TierFormSet(request.POST or None, queryset=MembershipTier.objects.all(), prefix="tiers")
    if request.method == "POST" and form.is_valid() and rules.is_valid() and tier_forms.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.updated_by = request.user
            saved.save()
            rules.save()
            tier_forms.save()
        messages.success(request, _("Loyalty settings saved."))
        return redirect("loyalty:settings")
    return render(
        request,
        "loyalty/settings.html",
        {"form": form, "rules": rules, "tiers": tier_forms, "settings_row": current},
    )


# ---- deposits and fees ------------------------------------------------------------------------------


@login_required
@permission_required("loyalty.use_loyalty", raise_exception=True)
@require_POST
def deposit_take(request: HttpRequest, pk: int) -> HttpResponse:
    """From the appointment dialog's deposit section: the desk takes the deposit."""
    appointment = appointment_get_for_user(user=request.user, pk=pk)
    form = DepositTakeForm(request.POST)
    if form.is_valid():
        try:
            deposit = deposits.deposit_take(
                appointment=appointment,
                amount=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(_("Deposit of %(amount)s taken.") % {"amount": deposit.amount})
    return render(request, "loyalty/dialogs/deposit_take.html", {"form": form, "appointment": appointment})


@login_required
@permission_required("loyalty.adjust_ledger", raise_exception=True)
def deposit_waive_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    deposit = get_object_or_404(Deposit.objects.select_related("appointment", "customer"), pk=pk)
    appointment_get_for_user(user=request.user, pk=deposit.appointment_id)  # a location the user holds
    form = WaiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deposits.deposit_waive(deposit=deposit, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(_("Deposit waived: give %(amount)s back.") % {"amount": deposit.amount})
    return render(request, "loyalty/dialogs/waive.html", {"form": form, "deposit": deposit, "fee": None})


@login_required
@permission_required("loyalty.adjust_ledger", raise_exception=True)
def fee_waive_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    fee = get_object_or_404(FeeCharge.objects.select_related("appointment", "customer"), pk=pk)
    appointment_get_for_user(user=request.user, pk=fee.appointment_id)  # a location the user holds
    form = WaiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deposits.fee_waive(fee=fee, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return dialog_done(_("Fee waived."))
    return render(request, "loyalty/dialogs/waive.html", {"form": form, "deposit": None, "fee": fee})
