"""Client file pages: the card, create/edit, quick-add (htmx dialog), formulas, patch tests,
consent, and the manager-only export / erase. Thin: access → form → one service → render."""

import json
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import current_location, role_of, staff_of, staff_visible_to
from accounts.models import Role, StaffMember
from customers import selectors, services
from customers.duplicates import similar_customers
from customers.forms import (
    ConsentForm,
    CustomerForm,
    EraseForm,
    FormulaForm,
    HealthForm,
    PatchTestForm,
    PatchTestResultForm,
    QuickAddForm,
    ShadeFormSet,
)
from customers.models import AccessLog, Customer, PatchTest
from customers.offline import is_offline_prefetch
from customers.privacy import can_see_full_phone, can_write_health, display_phone


def _add_errors(form, exc: ValidationError) -> None:
    """Service errors onto the form: known fields in place, the rest at the top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _may_write_new_health(user) -> bool:
    """On create there is no client yet: stylists cannot create clients; others per permission."""
    return user.has_perm("customers.change_health") and role_of(user) != Role.STYLIST


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request, pk: int):
    """The client card. Every view of the full file is written to the access log."""
    card = selectors.customer_card(pk=pk, user=request.user)
    customer = card.customer
    if is_offline_prefetch(request, customer.pk):
        # The offline day view keeping today's card in this user's browser: logged as a copy
        # (once a day), not as a look at the file (customers/offline.py).
        services.access_log_offline_copy(
            user=request.user,
            customer=customer,
            tz=current_location(request).tz,
            ip=services.client_ip(request),
        )
    else:
        services.access_log_record(
            user=request.user,
            customer=customer,
            action=AccessLog.Action.VIEW_FILE,
            detail="card",
            ip=services.client_ip(request),
        )
    context = {
        "card": card,
        "customer": customer,
        "phone": display_phone(request.user, customer.phone),
        "phone_masked": bool(customer.phone) and not can_see_full_phone(request.user),
    }
    return render(request, "customers/detail.html", context)


def _customer_form_page(
    request, *, form, customer: Customer | None, duplicate_pk: int | None = None, similar=()
):
    context = {"form": form, "customer": customer, "duplicate_pk": duplicate_pk, "similar": similar}
    return render(request, "customers/form.html", context)


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request):
    with_health = _may_write_new_health(request.user)
    form = CustomerForm(request.POST or None, with_health=with_health)
    duplicate_pk = None
    similar: list[Customer] = []
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        # Same name (or same name read aloud) and same birthday: probably the same person.
        # Warn once; the receptionist either opens the existing card or confirms.
        if not request.POST.get("confirm_similar"):
            similar = similar_customers(name=data.get("name", ""), birthday=data.get("birthday"))
        if similar:
            return _customer_form_page(request, form=form, customer=None, similar=similar)
        try:
            customer = services.customer_create(user=request.user, **data)
        except ValidationError as exc:
            duplicate_pk = services.duplicate_phone_owner(exc)
            _add_errors(form, exc)
        else:
            messages.success(request, _("Client %(name)s added.") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return _customer_form_page(request, form=form, customer=None, duplicate_pk=duplicate_pk)


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    with_health = can_write_health(request.user, customer)
    form = CustomerForm(
        request.POST or None, initial=CustomerForm.initial_for(customer), with_health=with_health
    )
    duplicate_pk = None
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(user=request.user, customer=customer, data=form.cleaned_data)
        except ValidationError as exc:
            duplicate_pk = services.duplicate_phone_owner(exc)
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:detail", pk=customer.pk)
    return _customer_form_page(request, form=form, customer=customer, duplicate_pk=duplicate_pk)


@login_required
@permission_required("customers.change_health", raise_exception=True)
def customer_edit_health(request, pk: int):
    """Hair, skin and health only: stylists write these for their own clients."""
    customer = selectors.customer_get(pk=pk)
    if not can_write_health(request.user, customer):
        raise PermissionDenied(_("You may not change this client's health information."))
    initial = {f: getattr(customer, f) for f in services.HEALTH_CARD_FIELDS}
    return _simple_form_page(
        request,
        customer=customer,
        form=HealthForm(request.POST or None, initial=initial),
        title=_("Hair, skin and health"),
        save=lambda data: services.customer_update(user=request.user, customer=customer, data=data),
        success=_("Saved."),
        anchor="#health",
    )


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_quick_add(request):
    """Name + phone for a walk-in. From the header it is an htmx dialog; on success the browser
    goes to the new card (HX-Redirect). ?name= (the header search found nobody) is filled in: a
    phone number in the phone field, anything else as the name."""
    typed = request.GET.get("name", "").strip()[:100]
    digits = typed.replace(" ", "").replace("-", "").removeprefix("+")
    initial = {"phone" if digits.isdigit() and len(digits) >= 6 else "name": typed} if typed else {}
    form = QuickAddForm(request.POST or None, initial=initial)
    duplicate_pk = None
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_quick_add(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            duplicate_pk = services.duplicate_phone_owner(exc)
            _add_errors(form, exc)
        else:
            url = reverse("customers:detail", args=[customer.pk])
            if request.htmx:
                return HttpResponse(status=204, headers={"HX-Redirect": url})
            return redirect(url)
    template = "customers/quick_add.html#dialog" if request.htmx else "customers/quick_add.html"
    return render(request, template, {"form": form, "duplicate_pk": duplicate_pk})


def _shade_formset(request, initial: list[dict] | None = None):
    # Every row is validated, even one left as prefilled: an unchanged "extra" row would
    # otherwise count as empty and a correction would lose its shades.
    return ShadeFormSet(
        request.POST or None, prefix="shades", initial=initial, form_kwargs={"empty_permitted": False}
    )


def _shades_from(formset) -> list[services.ShadeInput]:
    return [
        services.ShadeInput(f.cleaned_data["shade"], f.cleaned_data["grams"])
        for f in formset.forms
        if f.cleaned_data.get("shade")
    ]


def _formula_stylists(user, keep: int | None = None):
    """Whom the stylist field offers (the service decides, customers.services.formulas): a
    stylist only themselves; managers and owners the active staff of their locations. `keep`:
    the formula's own stylist stays selectable on a correction."""
    me = staff_of(user)
    if role_of(user) == Role.STYLIST:
        allowed = StaffMember.objects.filter(pk=me.pk if me else None)
    else:
        allowed = staff_visible_to(user).filter(is_active=True)
    if keep is not None:
        allowed = StaffMember.objects.filter(Q(pk__in=allowed.values("pk")) | Q(pk=keep))
    return allowed.order_by("display_name")


@login_required
@permission_required("customers.add_colourformula", raise_exception=True)
def formula_create(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    me = staff_of(request.user)
    form = FormulaForm(request.POST or None, initial={"stylist": me})
    form.fields["stylist"].queryset = _formula_stylists(request.user)
    formset = _shade_formset(request)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            services.formula_create(
                customer=customer, user=request.user, shades=_shades_from(formset), **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Formula saved."))
            return redirect(reverse("customers:detail", args=[customer.pk]) + "#formulas")
    context = {"form": form, "formset": formset, "customer": customer, "formula": None}
    return render(request, "customers/formula_form.html", context)


@login_required
@permission_required("customers.add_colourformula", raise_exception=True)
def formula_correct(request, pk: int, formula_pk: int):
    """Correct a formula: in place within 24 hours, otherwise as a new version."""
    customer = selectors.customer_get(pk=pk)
    formula = selectors.formula_get(customer=customer, pk=formula_pk)
    initial = {f: getattr(formula, f) for f in FormulaForm.base_fields}
    shades = [{"shade": s.shade, "grams": s.grams} for s in formula.shades.all()]
    form = FormulaForm(request.POST or None, initial=initial)
    form.fields["stylist"].queryset = _formula_stylists(request.user, keep=formula.stylist_id)
    formset = _shade_formset(request, initial=shades)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            saved = services.formula_correct(
                formula=formula, user=request.user, shades=_shades_from(formset), **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if saved.pk == formula.pk:
                messages.success(request, _("Formula corrected."))
            else:
                messages.success(
                    request, _("Saved as version %(v)s; the old one is kept.") % {"v": saved.version}
                )
            return redirect(reverse("customers:detail", args=[customer.pk]) + "#formulas")
    context = {"form": form, "formset": formset, "customer": customer, "formula": formula}
    return render(request, "customers/formula_form.html", context)


def _simple_form_page(
    request, *, customer, form, title: str, save: Callable[[dict], object], success: str, anchor: str = ""
):
    """A one-form page on a client: valid input goes to one service (`save`); its errors land
    on the form; success returns to the card."""
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect(reverse("customers:detail", args=[customer.pk]) + anchor)
    return render(request, "customers/simple_form.html", {"form": form, "customer": customer, "title": title})


@login_required
@permission_required("customers.add_patchtest", raise_exception=True)
def patch_test_create(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    return _simple_form_page(
        request,
        customer=customer,
        form=PatchTestForm(request.POST or None),
        title=_("Record a patch test"),
        save=lambda data: services.patch_test_record(
            customer=customer, user=request.user, performed_by=staff_of(request.user), **data
        ),
        success=_("Patch test recorded."),
        anchor="#patch-tests",
    )


@login_required
@permission_required("customers.change_patchtest", raise_exception=True)
@require_POST
def patch_test_result(request, pk: int, test_pk: int):
    """The result of a pending patch test, from the buttons on the card."""
    customer = selectors.customer_get(pk=pk)
    test = get_object_or_404(PatchTest.objects.select_related("customer"), customer=customer, pk=test_pk)
    form = PatchTestResultForm(request.POST)
    if form.is_valid():
        services.patch_test_set_result(patch_test=test, user=request.user, result=form.cleaned_data["result"])
        messages.success(request, _("Patch test result saved."))
    else:
        messages.error(request, _("Choose a result."))
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#patch-tests")


@login_required
@permission_required("customers.add_consentrecord", raise_exception=True)
def consent_change(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    return _simple_form_page(
        request,
        customer=customer,
        form=ConsentForm(request.POST or None),
        title=_("Marketing consent"),
        save=lambda data: services.consent_set(customer=customer, user=request.user, **data),
        success=_("Consent recorded."),
    )


@login_required
@permission_required("customers.erase_customer", raise_exception=True)
@require_POST
def customer_export_json(request, pk: int):
    """All of one client's data as a JSON download (logged). POST: an export is an action; the
    card links to its confirmation first (customers:export_confirm)."""
    customer = selectors.customer_get(pk=pk)
    data = services.customer_export(
        customer=customer, user=request.user, ip=services.client_ip(request), via="page"
    )
    body = json.dumps(data, cls=services.JSON_ENCODER, ensure_ascii=False, indent=2)
    # shown on the next page (the card): the download itself leaves this one as it is
    messages.success(
        request, _("Data of client #%(pk)s exported; the export is in the access log.") % {"pk": customer.pk}
    )
    return HttpResponse(
        body,
        content_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="client-{customer.pk}.json"'},
    )


@login_required
@permission_required("customers.erase_customer", raise_exception=True)
def customer_erase(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.customer_erase(
            customer=customer, user=request.user, ip=services.client_ip(request), via="page"
        )
        messages.success(
            request,
            _("Personal data of client #%(pk)s erased; the erasure is in the access log.")
            % {"pk": customer.pk},
        )
        return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/erase_confirm.html", {"form": form, "customer": customer})
