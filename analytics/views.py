"""The manager dashboard (/dashboard/) and the clients behind its tiles (/dashboard/clients/,
also as CSV). Managers see their own locations, owners every one (accounts.view_dashboards).
The figures are analytics.metrics' (docs/metrics.md); analytics.dashboard lays them out."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import current_location, locations_for, sees_all_locations
from accounts.models import Location
from analytics import churn, cohorts, dashboard, rollups
from analytics.dashboard import Period
from appointments.catalogue_forms import IsoDateField
from customers.access_review import ALERT_DAYS, access_alerts_for
from customers.models import AccessLog, Customer
from customers.privacy import phone_display_for
from customers.services import access_log_record, client_ip
from salon_crm.db_router import reads_from_replica
from salon_crm.money import currency_code
from salon_crm.validators import spreadsheet_cell

PERMISSION = "accounts.view_dashboards"
ALL = "all"
DEFAULT_DAYS = dashboard.DEFAULT_DAYS  # the last 30 days to today
PAGE_SIZE = 50
CSV_CHUNK = 2000


class DashboardForm(forms.Form):
    """?location=all|<id>&start=YYYY-MM-DD&end=YYYY-MM-DD: any of them left out (or wrong) is
    the default (the header's location; the last 30 days to today)."""

    location = forms.ChoiceField(label=gettext_lazy("Location"), required=False)
    start = IsoDateField(label=gettext_lazy("From"), required=False)
    end = IsoDateField(label=gettext_lazy("To"), required=False)

    def __init__(self, *args, locations: list[Location], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [(ALL, _("All my locations"))] + [
            (str(loc.pk), loc.name) for loc in locations
        ]


@dataclass
class Filters:
    form: DashboardForm
    choice: str  # "all" or a location's id
    location: Location | None  # the one chosen; None: all of the user's
    locations: list[Location] | None  # what counts; None: the whole chain (owners)
    period: Period
    today: date

    @property
    def query(self) -> str:
        return (
            f"location={self.choice}&start={self.period.start.isoformat()}&end={self.period.end.isoformat()}"
        )


def _filters(request: HttpRequest) -> Filters:
    """The location and period asked for, within what the user may see (2 queries)."""
    allowed = list(locations_for(request.user))
    current = current_location(request)
    default_choice = str(current.pk) if current is not None else ALL
    form = DashboardForm(request.GET or None, locations=allowed)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if form.is_bound and not form.is_valid():
        # keep what was right: a wrong day does not throw away the location, and back
        data = {name: form.cleaned_data.get(name) for name in form.fields if name not in form.errors}
    choice = data.get("location") or default_choice
    location = next((loc for loc in allowed if str(loc.pk) == choice), None)
    if location is None:
        choice = ALL
        locations = None if sees_all_locations(request.user) else allowed
    else:
        locations = [location]
    zone_of = location or current
    tz = zone_of.tz if zone_of is not None else timezone.get_current_timezone()
    today = timezone.now().astimezone(tz).date()
    start = data.get("start") or today - timedelta(days=DEFAULT_DAYS - 1)
    end = data.get("end") or today
    if end < start:
        start, end = end, start
    return Filters(form, choice, location, locations, Period(start, end, today), today)


def _scope_label(filters: Filters) -> str:
    return filters.location.name if filters.location is not None else _("All my locations")


@login_required
@permission_required(PERMISSION, raise_exception=True)
@reads_from_replica
def dashboard_page(request: HttpRequest) -> HttpResponse:
    f = _filters(request)
    period, locations = f.period, f.locations
    # the tiles read the roll-ups (compute_analytics), the same numbers as metrics.summary; every
    # section's numbers are cached under the roll-ups' generation (read once here), the labels not
    gen, clients = rollups.generation(clients=True)
    data = dashboard.sections(locations, period, query=f.query, gen=gen, clients=clients)
    now, before, previous = data["now"], data["before"], data["previous"]
    repeaters, trend, funnel = data["repeaters"], data["trend"], data["funnel"]
    chart_data = {
        "trend": {
            "unit": trend["unit"],
            "labels": [p["label"] for p in trend["points"]],
            "visits": [p["visits"] for p in trend["points"]],
            "revenue": [float(p["revenue"]) for p in trend["points"]],
            "visits_label": _("Visits"),
            "revenue_label": _("Revenue (%(currency)s)") % {"currency": currency_code()},
        },
        "funnel": {
            "labels": [s["label"] for s in funnel],
            "counts": [s["count"] for s in funnel],
            "label": _("Clients"),
        },
    }
    context = {
        "filters": f,
        "form": f.form,
        "period": period,
        "previous": previous,
        "scope_label": _scope_label(f),
        "tiles": dashboard.tiles(now, before, repeaters=repeaters),
        "trend": trend,
        "funnel": funnel,
        "chart_data": chart_data,
        "currency": currency_code(),
        "query": f.query,
        "breakdowns": data["breakdowns"],  # by service, category and stylist (_breakdowns.html)
        "cohorts": data["cohorts"],  # monthly cohorts and tiers (_cohorts.html)
        "churn": churn.dashboard_section(),  # the model, a failed fit, its calibration (_churn_model.html)
        # owners (accounts.review_access_log): unusual access to client files, as on Today
        "access_alert_panel": {"alerts": access_alerts_for(request.user), "days": ALERT_DAYS},
    }
    return render(request, "analytics/dashboard.html", context)


# ---- the clients behind a tile ---------------------------------------------------------------


@login_required
@permission_required(PERMISSION, raise_exception=True)
@reads_from_replica
def clients_page(request: HttpRequest) -> HttpResponse:
    f = _filters(request)
    metric = request.GET.get("metric", "")
    if metric not in dashboard.DRILLS:
        metric = "active"
    # behind a cohort's, a tier's or a funnel stage's number (analytics.cohorts); a wrong month
    # or tier is a 400 that says what is wrong
    drill = cohorts.drill(metric, request.GET, locations=f.locations, period=f.period)
    if drill is None:
        rows = dashboard.clients_behind(metric, locations=f.locations, period=f.period)
    elif drill.error and request.GET.get("format") == "csv":
        return HttpResponse(drill.error, status=400, content_type="text/plain; charset=utf-8")
    else:
        rows = [] if drill.error else drill.rows
    if request.GET.get("format") == "csv":
        return _clients_csv(request, f, drill.name if drill is not None else metric, rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    customers = Customer.objects.in_bulk([r["customer_id"] for r in page])
    phone = phone_display_for(request.user)
    listed = []
    for r in page:
        customer = customers.get(r["customer_id"])
        listed.append(
            {
                **r,
                "customer": customer,
                "phone": phone(customer.phone) if customer is not None else "",
            }
        )
    context = {
        "filters": f,
        "form": f.form,
        "period": f.period,
        "metric": metric,
        "title": drill.title if drill is not None else dashboard.DRILL_LABELS[metric],
        "drill": drill,
        "scope_label": _scope_label(f),
        "page": page,
        "rows": listed,
        "currency": currency_code(),
        "query": f"{drill.query if drill is not None else 'metric=' + metric}&{f.query}",
        "metrics": [(m, dashboard.DRILL_LABELS[m]) for m in dashboard.PERIOD_DRILLS],
    }
    status = 400 if drill is not None and drill.error else 200
    return render(request, "analytics/clients.html", context, status=status)


def money_cell(value) -> str:
    """An amount in a CSV cell: two decimals as plain digits ("240.00", whichever database summed
    it), nothing as empty."""
    if value is None:
        return ""
    return format(Decimal(str(value)).quantize(Decimal("0.01")), "f")


def logged_csv(request: HttpRequest, *, rows, detail: str, header: list, cells, filename: str):
    """Every row of `rows` as a CSV download (UTF-8 with a BOM), logged first: one access-log
    row per download saying who, what (`detail`, its "{total}" the row count) and from where. `cells`
    turns a chunk of rows into lists of cells (one query per chunk for the names); text cells
    go through spreadsheet_cell (no formula injection)."""
    total = rows.count()
    access_log_record(
        user=request.user,
        customer=None,
        action=AccessLog.Action.EXPORT,
        detail=detail.replace("{total}", str(total)),
        ip=client_ip(request),
    )

    def line(values) -> str:
        buffer = io.StringIO()
        csv.writer(buffer).writerow(values)
        return buffer.getvalue()

    def lines():
        yield "\ufeff" + line([spreadsheet_cell(str(h)) for h in header])
        chunk: list[dict] = []
        for r in rows.iterator(chunk_size=CSV_CHUNK):
            chunk.append(r)
            if len(chunk) >= CSV_CHUNK:
                yield from (line(c) for c in cells(chunk))
                chunk = []
        yield from (line(c) for c in cells(chunk))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _clients_csv(request: HttpRequest, f: Filters, metric: str, rows) -> StreamingHttpResponse:
    """Every client behind the tile, as CSV: who, what and how many clients, logged."""
    phone = phone_display_for(request.user)
    header = [
        _("Client number"),
        _("Client"),
        _("Phone"),
        _("Visits"),
        _("Visit days"),
        _("Revenue (%(currency)s)") % {"currency": currency_code()},
    ]

    def cells(chunk: list[dict]):
        customers = Customer.objects.in_bulk([r["customer_id"] for r in chunk]) if chunk else {}
        for r in chunk:
            customer = customers.get(r["customer_id"])
            yield [
                r["customer_id"],
                spreadsheet_cell(customer.name if customer is not None else ""),
                spreadsheet_cell(phone(customer.phone) if customer is not None else ""),
                r["visits"],
                r["days"],
                money_cell(r["revenue"]),
            ]

    period = f"{f.period.start.isoformat()}..{f.period.end.isoformat()}"
    return logged_csv(
        request,
        rows=rows,
        detail=f"dashboard {metric} csv: {{total}} clients, {period}, location {f.choice}",
        header=header,
        cells=cells,
        filename=f"clients-{metric}-{f.period.start.isoformat()}_{f.period.end.isoformat()}.csv",
    )
