"""The rows behind a breakdown bar or a visit-based tile (/dashboard/visits/, also as CSV): the
visits, their sale lines, or the appointments (no-shows, cancellations, the services that held a
stylist's time). Who sees what is the dashboard's (accounts.view_dashboards; managers their own
locations, owners every one: analytics.views' filters); the rows come from
analytics.breakdowns.rows_behind, paginated, and a page costs a fixed number of queries."""

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Location, StaffMember
from analytics import breakdowns
from analytics.views import PAGE_SIZE, PERMISSION, _filters, _scope_label, logged_csv, money_cell
from appointments.models import AppointmentItem, AppointmentStatus, Service, ServiceCategory, VisitLine
from customers.models import Customer
from customers.privacy import phone_display_for
from salon_crm.db_router import reads_from_replica
from salon_crm.money import currency_code
from salon_crm.validators import spreadsheet_cell

BIG = 2**63 - 1


class VisitsForm(forms.Form):
    """?kind=visits|no_show|cancelled|booked [&line=…][&service=id][&category=id][&staff=id|none]"""

    kind = forms.ChoiceField(choices=[(k, k) for k in breakdowns.KINDS], required=False)
    line = forms.CharField(required=False, max_length=24)
    service = forms.IntegerField(required=False, min_value=1, max_value=BIG)
    category = forms.IntegerField(required=False, min_value=1, max_value=BIG)
    staff = forms.CharField(required=False, max_length=20)

    def clean_line(self) -> str:
        line = self.cleaned_data["line"]
        if line and line not in breakdowns.LINES and breakdowns.line_kind(line) is None:
            raise ValidationError(_("That is not a kind of sale."))
        return line

    def clean_staff(self):
        staff = self.cleaned_data["staff"]
        if not staff:
            return None
        if staff == "none":
            return staff
        if not staff.isdigit() or not 0 < int(staff) <= BIG:
            raise ValidationError(_("A stylist is given by their number, or “none”."))
        if not StaffMember.objects.filter(pk=int(staff)).exists():
            raise ValidationError(_("There is no such stylist."))
        return int(staff)

    def clean_service(self):
        service = self.cleaned_data["service"]
        if service is not None and not Service.objects.filter(pk=service).exists():
            raise ValidationError(_("There is no such service."))
        return service

    def clean_category(self):
        category = self.cleaned_data["category"]
        if category is not None and not ServiceCategory.objects.filter(pk=category).exists():
            raise ValidationError(_("There is no such category."))
        return category

    def clean(self):
        data = super().clean()
        kind = data.get("kind") or breakdowns.VISITS
        data["kind"] = kind
        narrowed = data.get("line") or data.get("service") or data.get("category")
        whole_visits = (breakdowns.REBOOKED, *breakdowns.SURVEY_KINDS)
        if kind != breakdowns.VISITS and (narrowed or (kind in whole_visits and data.get("staff"))):
            raise ValidationError(_("A kind of sale, a service or a category narrows visits only."))
        if kind in (breakdowns.NO_SHOW, breakdowns.CANCELLED) and data.get("staff"):
            raise ValidationError(_("No-shows and cancellations are listed for everyone."))
        if kind == breakdowns.BOOKED and data.get("staff") == "none":
            raise ValidationError(_("Every booked service has a stylist."))
        return data


TITLES = {
    breakdowns.VISITS: gettext_lazy("Visits"),
    breakdowns.REBOOKED: gettext_lazy("Visits followed by a next booking"),
    breakdowns.CSAT: gettext_lazy("Visits rated for satisfaction"),
    breakdowns.NPS: gettext_lazy("Visits rated for recommending us"),
    breakdowns.SURVEYED: gettext_lazy("Visits whose survey was sent"),
    breakdowns.NO_SHOW: gettext_lazy("No-shows"),
    breakdowns.CANCELLED: gettext_lazy("Cancelled bookings"),
    breakdowns.BOOKED: gettext_lazy("Booked services"),
}


SALE_LINES = gettext_lazy("Sale lines")


def _title(data: dict) -> str:
    kind = data["kind"]
    parts = [str(SALE_LINES if _mode(data) == "line" else TITLES[kind])]
    line = data.get("line")
    if line == "unallocated":
        parts = [str(breakdowns.NOT_ON_A_LINE)]
    elif line == breakdowns.SERVICE:
        parts.append(_("services"))
    elif line == breakdowns.PRODUCT:
        parts.append(_("retail products"))
    elif line == "other":
        parts.append(_("other sales"))
    elif line:
        parts.append(breakdowns.kind_label(line))
    if data.get("service"):
        parts.append(Service.objects.filter(pk=data["service"]).values_list("name", flat=True).first() or "")
    if data.get("category"):
        parts.append(
            ServiceCategory.objects.filter(pk=data["category"]).values_list("name", flat=True).first() or ""
        )
    staff = data.get("staff")
    if staff == "none":
        parts.append(str(breakdowns.NO_STYLIST))
    elif staff:
        parts.append(
            StaffMember.objects.filter(pk=staff).values_list("display_name", flat=True).first() or ""
        )
    return " · ".join(p for p in parts if p)


def _mode(data: dict) -> str:
    """How the rows read: "visit" (a visit, its net total), "line" (a sale line, its amount),
    "appointment" (a booking, its status), "item" (a booked service, its minutes) or "survey" (a
    visit, its survey's answer)."""
    kind = data["kind"]
    if kind in (breakdowns.NO_SHOW, breakdowns.CANCELLED):
        return "appointment"
    if kind in breakdowns.SURVEY_KINDS:
        return "survey"
    if kind == breakdowns.BOOKED:
        return "item"
    if data.get("line") == "unallocated" or not (
        data.get("line") or data.get("service") or data.get("category") or data.get("staff")
    ):
        return "visit"
    return "line"


def _answer(r: dict) -> str:
    """A survey's answer in a cell: "CSAT 4/5 · NPS 9", or that it is not answered (yet)."""
    if r.get("answered_at") is None:
        return str(_("Not answered"))
    parts = []
    if r.get("csat") is not None:
        parts.append(_("CSAT %(score)s/5") % {"score": r["csat"]})
    if r.get("nps") is not None:
        parts.append(_("NPS %(score)s") % {"score": r["nps"]})
    return " · ".join(parts) or str(_("Answered without a score"))


def _describe(rows: list[dict], mode: str, phone) -> list[dict]:
    """The rows with their client, location, stylist and service named: 4 queries whatever the
    number of rows (clients, locations, staff, and the services or lines behind them)."""
    if not rows:
        return []
    customers = Customer.objects.in_bulk({r["customer_id"] for r in rows})
    locations = Location.objects.in_bulk({r["location_id"] for r in rows})
    who: dict = {}
    what: dict = {}
    staff_ids: set = set()
    if mode in ("visit", "appointment", "survey"):
        if mode in ("visit", "survey"):
            parts = VisitLine.objects.filter(visit__in=[r["pk"] for r in rows], kind=breakdowns.SERVICE)
            parts = parts.values_list("visit_id", "staff_id", "description").order_by("pk")
        else:
            parts = AppointmentItem.objects.filter(appointment__in=[r["pk"] for r in rows])
            parts = parts.values_list("appointment_id", "staff_id", "service__name").order_by("start", "pk")
        for owner_id, staff_id, name in parts:
            who.setdefault(owner_id, []).append(staff_id)
            what.setdefault(owner_id, []).append(name)
            staff_ids.add(staff_id)
    else:
        staff_ids = {r["staff_id"] for r in rows}
    staff_ids.discard(None)
    names = (
        dict(StaffMember.objects.filter(pk__in=staff_ids).values_list("pk", "display_name"))
        if staff_ids
        else {}
    )
    services = {}
    if mode == "item":
        services = dict(
            Service.objects.filter(pk__in={r["service_id"] for r in rows}).values_list("pk", "name")
        )
    out = []
    for r in rows:
        customer = customers.get(r["customer_id"])
        location = locations.get(r["location_id"])
        if mode in ("visit", "appointment", "survey"):
            stylists = ", ".join(dict.fromkeys(names.get(s, "—") for s in who.get(r["pk"], []) if s))
            service = ", ".join(dict.fromkeys(what.get(r["pk"], [])))
        else:
            stylists = names.get(r["staff_id"], "")
            service = r.get("description") or services.get(r.get("service_id"), "")
        out.append(
            {
                "key": r["pk"],
                "when": r["when"].astimezone(location.tz).strftime("%Y-%m-%d %H:%M") if location else "",
                "customer_id": r["customer_id"],
                "customer": customer,
                "name": customer.name if customer is not None else "",
                "phone": phone(customer.phone) if customer is not None else "",
                "location": location.name if location else "",
                "stylist": stylists,
                "service": service,
                "amount": r.get("amount"),
                "minutes": round(r["length"].total_seconds() / 60) if r.get("length") is not None else None,
                "status": str(AppointmentStatus(r["status"]).label) if r.get("status") else "",
                "answer": _answer(r) if mode == "survey" else "",
            }
        )
    return out


@login_required
@permission_required(PERMISSION, raise_exception=True)
@reads_from_replica
def visits_page(request: HttpRequest) -> HttpResponse:
    f = _filters(request)
    form = VisitsForm(request.GET)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {"kind": breakdowns.VISITS}
    if not valid and request.GET.get("format") == "csv":
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    mode = _mode(data)
    filters = {k: data[k] for k in ("line", "service", "category", "staff") if data.get(k)}
    rows = breakdowns.rows_behind(
        kind=data["kind"], locations=f.locations, start=f.period.start, last=f.period.last, **filters
    )
    query_params = "&".join(f"{k}={v}" for k, v in {"kind": data["kind"], **filters}.items())
    if valid and request.GET.get("format") == "csv":
        return _visits_csv(request, f, rows, mode, query_params)
    phone = phone_display_for(request.user)
    page = Paginator(rows if valid else rows.none(), PAGE_SIZE).get_page(request.GET.get("page"))
    total = None
    if valid and mode in ("visit", "line"):
        total = rows.order_by().aggregate(total=Sum("amount"))["total"]
    elif valid and mode == "item":
        length = rows.order_by().aggregate(total=Sum("length"))["total"]
        total = round(length.total_seconds() / 60) if length is not None else 0
    context = {
        "filters": f,
        "form": f.form,
        "drill_form": form,
        "period": f.period,
        "title": _title(data) if valid else _("Visits"),
        "scope_label": _scope_label(f),
        "page": page,
        "rows": _describe(list(page), mode, phone),
        "mode": mode,
        "total": total,
        "currency": currency_code(),
        "query": f"{query_params}&{f.query}",
        "drill_query": query_params,
        "drill": data,
        "keep": [("kind", data["kind"]), *filters.items()] if valid else [],
    }
    return render(request, "analytics/visits.html", context, status=200 if valid else 400)


def _visits_csv(request: HttpRequest, f, rows, mode: str, what: str) -> StreamingHttpResponse:
    """Every row behind the bar or tile, as CSV: who, what and how many rows, logged."""
    phone = phone_display_for(request.user)
    last = {
        "visit": _("Net total (%(currency)s)") % {"currency": currency_code()},
        "line": _("Amount (%(currency)s)") % {"currency": currency_code()},
        "appointment": _("Status"),
        "item": _("Minutes"),
        "survey": _("Answer"),
    }[mode]
    header = [
        _("Date"),
        _("Client number"),
        _("Client"),
        _("Phone"),
        _("Location"),
        _("Stylist"),
        _("Service"),
        last,
    ]

    def cells(chunk: list[dict]):
        for r in _describe(chunk, mode, phone):
            value = {
                "visit": money_cell(r["amount"]),
                "line": money_cell(r["amount"]),
                "appointment": r["status"],
                "survey": r["answer"],
            }
            yield [
                r["when"],
                r["customer_id"],
                *(spreadsheet_cell(str(r[k])) for k in ("name", "phone", "location", "stylist", "service")),
                value.get(mode, r["minutes"]),
            ]

    period = f"{f.period.start.isoformat()}..{f.period.end.isoformat()}"
    return logged_csv(
        request,
        rows=rows,
        detail=f"dashboard visits csv ({what}): {{total}} rows, {period}, location {f.choice}",
        header=header,
        cells=cells,
        filename=f"visits-{f.period.start.isoformat()}_{f.period.end.isoformat()}.csv",
    )
