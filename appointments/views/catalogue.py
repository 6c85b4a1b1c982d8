"""Manager pages for the catalogue and schedules: a plain list and a create/edit form per kind,
linked from the Settings page. One pair of views serves every kind (the table below)."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from accounts.access import locations_for
from accounts.nav import NavItem, register_settings_link
from appointments import catalogue_forms as f
from appointments.models import Product, Resource, Service, ServiceCategory, TimeOff, WorkingHours
from appointments.services.catalogue import catalogue_save


@dataclass(frozen=True)
class Kind:
    key: str
    title: object  # lazy
    model: type[Model]
    form: type
    columns: tuple[str, ...]

    def rows(self, user) -> QuerySet:
        qs = self.model.objects.all()
        if self.model in (Resource, WorkingHours):
            qs = qs.filter(location__in=locations_for(user)).select_related("location")
        if self.model is WorkingHours:
            qs = qs.select_related("staff").order_by("location", "staff__display_name", "weekday", "start")
        if self.model is TimeOff:
            qs = qs.filter(staff__locations__in=locations_for(user)).distinct().select_related("staff")
        if self.model is Service:
            qs = qs.select_related("category")
        return qs


KINDS = {
    k.key: k
    for k in [
        Kind("services", _("Services"), Service, f.ServiceForm, ("name", "category", "duration_minutes", "buffer_after_minutes", "price", "is_active")),
        Kind("categories", _("Service categories"), ServiceCategory, f.CategoryForm, ("name", "position")),
        Kind("products", _("Products"), Product, f.ProductForm, ("name", "sku", "kind", "price", "is_active")),
        Kind("resources", _("Resources"), Resource, f.ResourceForm, ("name", "type", "location", "is_active")),
        Kind("hours", _("Working hours"), WorkingHours, f.WorkingHoursForm, ("staff", "location", "weekday", "start", "end")),
        Kind("time-off", _("Time off"), TimeOff, f.TimeOffForm, ("staff", "start", "end", "reason")),
    ]
}  # fmt: skip


def _kind(key: str) -> Kind:
    if key not in KINDS:
        raise Http404
    return KINDS[key]


def _cell(obj, column: str):
    display = getattr(obj, f"get_{column}_display", None)
    return display() if display else getattr(obj, column)


@login_required
@permission_required("appointments.manage_catalogue", raise_exception=True)
def catalogue_list(request, kind: str):
    k = _kind(kind)
    rows = [(obj, [_cell(obj, c) for c in k.columns]) for obj in k.rows(request.user)[:500]]
    headers = [k.model._meta.get_field(c).verbose_name for c in k.columns]
    return render(
        request,
        "appointments/catalogue/list.html",
        {"kind": k, "kinds": KINDS.values(), "rows": rows, "headers": headers},
    )


@login_required
@permission_required("appointments.manage_catalogue", raise_exception=True)
def catalogue_edit(request, kind: str, pk: int | None = None):
    k = _kind(kind)
    instance = None
    if pk is not None:
        instance = k.rows(request.user).filter(pk=pk).first()
        if instance is None:
            raise Http404  # missing and another location's look the same
    form = k.form(request.POST or None, instance=instance, user=request.user)
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        m2m = {"locations": form.locations_to_set()} if isinstance(form, f.ServiceForm) else None
        try:
            catalogue_save(instance=obj, by=request.user, m2m=m2m)
        except ValidationError as exc:  # model validation the form could not see
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"appointments:catalogue_{k.key}")
    return render(
        request,
        "appointments/catalogue/edit.html",
        {"kind": k, "kinds": KINDS.values(), "form": form, "object": instance},
    )


urlpatterns = [
    p
    for key in KINDS
    for p in (
        path(f"settings/catalogue/{key}/", catalogue_list, {"kind": key}, name=f"catalogue_{key}"),
        path(f"settings/catalogue/{key}/new/", catalogue_edit, {"kind": key}, name=f"catalogue_{key}_new"),
        path(
            f"settings/catalogue/{key}/<int:pk>/", catalogue_edit, {"kind": key}, name=f"catalogue_{key}_edit"
        ),
    )
]


def register_links() -> None:
    for order, k in enumerate(KINDS.values()):
        register_settings_link(
            NavItem(
                f"catalogue_{k.key}",
                k.title,
                f"appointments:catalogue_{k.key}",
                "appointments.manage_catalogue",
                order=50 + order,
            )
        )
