"""The managers' loyalty reports page (/loyalty/reports/) and its CSV exports
(/loyalty/reports/<name>.csv). The figures are loyalty.reports'; this module reads the period,
decides the reader's scope and lays the figures out as a page or a spreadsheet.

Scope: points and tiers are chain-wide (accounts are); the stored-value and package tables show
a manager the rows of the locations they hold (accounts.access.locations_for), an owner every
row. The exports are aggregates, not client files: they are not written to the access log."""

import csv
import io
from datetime import date
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import current_location, locations_for, sees_all_locations
from appointments.catalogue_forms import IsoDateField
from loyalty import reports
from salon_crm.db_router import reads_from_replica
from salon_crm.money import currency_code
from salon_crm.validators import spreadsheet_cell

PERMISSION = "loyalty.adjust_ledger"


class PeriodForm(forms.Form):
    """?start=YYYY-MM-DD&end=YYYY-MM-DD; either left out is the current month's first/last day."""

    start = IsoDateField(label=gettext_lazy("From"), required=False)
    end = IsoDateField(label=gettext_lazy("To"), required=False)

    def __init__(self, *args, default: reports.Period, **kwargs):
        super().__init__(*args, **kwargs)
        self.default = default

    def clean(self):
        data = super().clean()
        start = data.get("start") or self.default.start
        end = data.get("end") or self.default.end
        if "start" not in self.errors and "end" not in self.errors and start > end:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data


def _period(request: HttpRequest) -> tuple[PeriodForm, reports.Period, date]:
    """The form, the period it asks for (the current month while it has errors) and today, in
    the zone of the user's location."""
    location = current_location(request)
    tz = location.tz if location is not None else timezone.get_current_timezone()
    today = timezone.now().astimezone(tz).date()
    default = reports.Period.month_of(today, tz)
    asked = "start" in request.GET or "end" in request.GET
    initial = {"start": default.start, "end": default.end}
    form = PeriodForm(request.GET if asked else None, initial=initial, default=default)
    period = default
    if form.is_bound and form.is_valid():
        period = reports.Period(
            form.cleaned_data["start"] or default.start, form.cleaned_data["end"] or default.end, tz
        )
    return form, period, today


def _scope(user) -> list[int] | None:
    """None: every row (owners); else the ids of the locations the manager holds."""
    if sees_all_locations(user):
        return None
    return list(locations_for(user).values_list("pk", flat=True))


@login_required
@permission_required(PERMISSION, raise_exception=True)
@reads_from_replica
def reports_page(request: HttpRequest) -> HttpResponse:
    form, period, today = _period(request)
    scope = _scope(request.user)
    context = {
        "form": form,
        "period": period,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "query": f"start={period.start.isoformat()}&end={period.end.isoformat()}",
        "today": today,
        "points": reports.points_liability(period=period, today=today),
        "stored_value": reports.stored_value_liability(locations=scope),
        "packages": reports.package_use(period=period, locations=scope),
        "tiers": reports.tier_distribution(),
        "currency": currency_code(),
        "all_locations": scope is None,
    }
    return render(request, "loyalty/reports.html", context)


# ---- CSV --------------------------------------------------------------------------------------


def _money_header(label: str) -> str:
    return f"{label} ({currency_code()})"


def _points_table(request, period, today) -> tuple[list[str], list[list]]:
    p = reports.points_liability(period=period, today=today)
    rows = [[_("Points outstanding"), p.points, p.value]]
    for e in p.expiring:
        rows.append([_("Expiring within %(days)s days") % {"days": e.days}, e.points, e.value])
    rows += [
        [_("Earned in the period"), p.earned, ""],
        [_("Redeemed in the period"), p.redeemed, ""],
        [_("Expired in the period"), p.expired, ""],
        [_("Adjusted in the period (net)"), p.adjusted, ""],
        [_("Given back or taken back by voids (net)"), p.reversed, ""],
    ]
    return [_("Figure"), _("Points"), _("Value (%(currency)s)") % {"currency": currency_code()}], rows


def _stored_value_table(request, period, today) -> tuple[list[str], list[list]]:
    sv = reports.stored_value_liability(locations=_scope(request.user))
    rows = [[r.location, r.principal, r.bonus, r.total] for r in sv.rows]
    total = _("Chain total") if sv.complete else _("Total of your locations")
    rows.append([total, sv.principal, sv.bonus, sv.total])
    header = [
        _("Location"),
        _money_header(_("Principal")),
        _money_header(_("Bonus")),
        _money_header(_("Total")),
    ]
    return header, rows


def _packages_table(request, period, today) -> tuple[list[str], list[list]]:
    use = reports.package_use(period=period, locations=_scope(request.user))

    def cells(r: reports.PackageRow) -> list:
        return [
            r.packages_sold,
            r.sessions_sold,
            r.sessions_used,
            r.revenue,
            r.value_sold,
            r.value_used,
            r.use_rate,
        ]

    rows = [[r.location, r.plan, *cells(r)] for r in use.rows]
    rows.append([_("Total"), "", *cells(use.total)])
    header = [
        _("Location"),
        _("Package plan"),
        _("Packages sold"),
        _("Sessions sold"),
        _("Sessions used in the period"),
        _money_header(_("Revenue recognised in the period")),
        _money_header(_("Value sold")),
        _money_header(_("Value used")),
        _("Use rate (%)"),
    ]
    return header, rows


def _tiers_table(request, period, today) -> tuple[list[str], list[list]]:
    dist = reports.tier_distribution()
    rows = [[r.tier if r.tier_id else _("No tier"), r.accounts, r.share] for r in dist.rows]
    rows.append([_("Total"), dist.accounts, ""])
    return [_("Tier"), _("Accounts"), _("Share (%)")], rows


CSV_REPORTS = {
    "points": _points_table,
    "stored-value": _stored_value_table,
    "packages": _packages_table,
    "tiers": _tiers_table,
}


def csv_text(header: list[str], rows: list[list]) -> str:
    """UTF-8 with a BOM (Chinese Excel then reads it as UTF-8). Text cells are spreadsheet-safe
    (salon_crm.validators.spreadsheet_cell: a leading = + - @ tab or CR gets an apostrophe);
    numbers are written as numbers (a negative amount stays a number a spreadsheet can add)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in [header, *rows]:
        writer.writerow([_cell(value) for value in row])
    return "\ufeff" + buffer.getvalue()


def _cell(value) -> str:
    """A figure as a plain number (money to the cent, rates to a tenth: as the report rounded
    them); None as an empty cell; any text through spreadsheet_cell."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # never 1E+3
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return spreadsheet_cell(value)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@reads_from_replica
def report_csv(request: HttpRequest, name: str) -> HttpResponse:
    build = CSV_REPORTS.get(name)
    if build is None:
        raise Http404
    form, period, today = _period(request)
    if form.errors:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    header, rows = build(request, period, today)
    response = HttpResponse(csv_text(header, rows), content_type="text/csv; charset=utf-8")
    suffix = f"-{period.start.isoformat()}_{period.end.isoformat()}" if name in ("points", "packages") else ""
    response["Content-Disposition"] = f'attachment; filename="loyalty-{name}{suffix}.csv"'
    return response
