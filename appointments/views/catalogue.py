"""Manager pages for the catalogue and schedules: a plain list and a create/edit form per kind,
linked from the Settings page. One pair of views serves every kind (the table below)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.access import current_location, locations_for
from accounts.forms import WeekForm, opening_periods, week_rows
from accounts.models import Location, StaffMember
from accounts.nav import NavItem, register_settings_link
from appointments import catalogue_forms as f
from appointments.models import Product, Resource, Service, ServiceCategory, TimeOff, WorkingHours
from appointments.services.catalogue import (
    catalogue_save,
    schedule_locations,
    staff_schedulable_by,
    time_off_add,
    time_off_delete,
    working_hours_set,
)


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
            qs = (
                qs.filter(staff__locations__in=locations_for(user))
                .distinct()
                .select_related("staff")
                .prefetch_related("staff__locations")
            )
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
    value = display() if display else getattr(obj, column)
    # One clock: 2026-12-04 09:00, 24-hour (time off in the time zone of the person's salon).
    if isinstance(value, datetime):
        location = next(iter(obj.staff.locations.all()), None) if isinstance(obj, TimeOff) else None
        return timezone.localtime(value, location.tz if location else None).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt_time):
        return value.strftime("%H:%M")
    return value


@login_required
@permission_required("appointments.manage_catalogue", raise_exception=True)
def catalogue_list(request, kind: str):
    k = _kind(kind)
    if k.key == "hours":
        return _hours_overview(request, k)
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


# ---- staff schedules: a week per stylist and location, time off -------------------------------


def _hours_overview(request: HttpRequest, kind: Kind) -> HttpResponse:
    """Working hours as a week per person, location by location, each with its weekly editor."""
    locations = list(
        locations_for(request.user).prefetch_related(
            Prefetch("staff", queryset=StaffMember.objects.active().order_by("display_name")),
            Prefetch("working_hours", queryset=WorkingHours.objects.order_by("weekday", "start")),
        )
    )
    editable = set(staff_schedulable_by(request.user).values_list("pk", flat=True))
    tables = []
    for location in locations:
        hours: dict[int, list] = {}
        for h in location.working_hours.all():
            hours.setdefault(h.staff_id, []).append(h)
        rows = [
            {"staff": m, "days": week_rows(hours.get(m.pk, [])), "editable": m.pk in editable}
            for m in location.staff.all()
            if m.is_bookable or m.pk in hours
        ]
        tables.append({"location": location, "rows": rows})
    context = {"kind": kind, "kinds": KINDS.values(), "tables": tables, "weekdays": week_rows([])}
    return render(request, "appointments/catalogue/hours_overview.html", context)


def _time_off_rows(staff: StaffMember, tz) -> list[dict]:
    """Coming time off in the location's wall clock; whole days (midnight to midnight) are
    shown as dates, the last one included."""
    rows = []
    for t in TimeOff.objects.filter(staff=staff, end__gt=timezone.now()).order_by("start")[:50]:
        start, end = t.start.astimezone(tz), t.end.astimezone(tz)
        whole = start.time() == end.time() == dt_time(0)
        last = (end - timedelta(days=1)).date() if whole else None
        rows.append({"obj": t, "start": start, "end": end, "whole_days": whole, "last_day": last})
    return rows


def _schedule_context(
    request: HttpRequest, staff: StaffMember, location: Location, *, week: WeekForm, time_off_form
) -> dict:
    opening = week_rows(opening_periods(location.opening_hours.all()))
    for day in week.days:
        day["reference"] = opening[day["weekday"]]["periods"]  # the salon's hours beside each day
    return {
        "kind": KINDS["hours"],
        "kinds": KINDS.values(),
        "staff": staff,
        "location": location,
        "locations": list(schedule_locations(by=request.user, staff=staff)),
        "week": week,
        "time_off": _time_off_rows(staff, location.tz),
        "time_off_form": time_off_form,
        "tz": location.tz,
    }


def _staff_and_location(request: HttpRequest, pk: int) -> tuple[StaffMember, Location]:
    """The person (404 unless this user may set their schedule) and the location asked for
    (?location=, else the current one, else the first one this user manages there)."""
    staff = get_object_or_404(staff_schedulable_by(request.user), pk=pk)
    allowed = list(schedule_locations(by=request.user, staff=staff))
    wanted = str(request.GET.get("location") or request.POST.get("location") or "")
    here = current_location(request)
    location = next((loc for loc in allowed if str(loc.pk) == wanted), None)
    if location is None and wanted:
        raise Http404
    if location is None:
        location = next(
            (loc for loc in allowed if here and loc.pk == here.pk), allowed[0] if allowed else None
        )
    if location is None:
        raise Http404
    return staff, location


def _schedule_url(staff: StaffMember, location: Location) -> str:
    return reverse("appointments:staff_hours", args=[staff.pk]) + f"?location={location.pk}"


@login_required
@permission_required("appointments.manage_catalogue", raise_exception=True)
def staff_hours(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's week at one location (a grid: the periods of each weekday) and their time off."""
    staff, location = _staff_and_location(request, pk)
    current = WorkingHours.objects.filter(staff=staff, location=location)
    week = WeekForm(request.POST if request.method == "POST" else None, initial=current)
    if request.method == "POST" and week.is_valid():
        try:
            working_hours_set(staff=staff, location=location, by=request.user, periods=week.periods())
        except (ValidationError, PermissionDenied) as exc:
            week.add_error(exc)
        else:
            messages.success(request, _("Working hours saved."))
            return redirect(_schedule_url(staff, location))
    context = _schedule_context(
        request, staff, location, week=week, time_off_form=f.TimeOffAddForm(tz=location.tz)
    )
    status = 400 if request.method == "POST" else 200
    return render(request, "appointments/catalogue/staff_hours.html", context, status=status)


@login_required
@permission_required("appointments.manage_catalogue", raise_exception=True)
@require_POST
def staff_time_off_add(request: HttpRequest, pk: int) -> HttpResponse:
    staff, location = _staff_and_location(request, pk)
    form = f.TimeOffAddForm(request.POST, tz=location.tz)
    if form.is_valid():
        data = form.cleaned_data
        try:
            time_off_add(
                staff=staff, start=data["start"], end=data["end"], reason=data["reason"], by=request.user
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Time off saved."))
            return redirect(_schedule_url(staff, location))
    current = WorkingHours.objects.filter(staff=staff, location=location)
    context = _schedule_context(request, staff, location, week=WeekForm(initial=current), time_off_form=form)
    return render(request, "appointments/catalogue/staff_hours.html", context, status=400)


@login_required
@permission_required("appointments.manage_catalogue", raise_exception=True)
@require_POST
def staff_time_off_delete(request: HttpRequest, pk: int) -> HttpResponse:
    time_off = get_object_or_404(TimeOff.objects.filter(staff__in=staff_schedulable_by(request.user)), pk=pk)
    staff, location = _staff_and_location(request, time_off.staff_id)
    try:
        time_off_delete(time_off=time_off, by=request.user)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("Time off removed."))
    return redirect(_schedule_url(staff, location))


urlpatterns = [
    path("settings/staff/<int:pk>/hours/", staff_hours, name="staff_hours"),
    path("settings/staff/<int:pk>/time-off/", staff_time_off_add, name="staff_time_off_add"),
    path("settings/time-off/<int:pk>/delete/", staff_time_off_delete, name="staff_time_off_delete"),
]
urlpatterns += [
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
