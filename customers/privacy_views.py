"""Privacy pages: what the CRM stores and why (every role), the owners' retention setting and
the list of who the next run erases, the access log's review with its CSV and the unusual-volume
banner, and the confirmation before one client's export. Thin: access → selection → one
service → render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import home
from accounts.access import current_location, role_of
from accounts.models import PrivacySettings, Role
from accounts.services import privacy_settings_update
from customers import selectors
from customers.access_review import (
    ALERT_DAYS,
    AccessLogFilter,
    access_alerts_for,
    access_log_rows,
)
from customers.models import AccessLog
from customers.privacy import can_see_full_phone, phone_display_for
from customers.privacy_forms import PrivacySettingsForm
from customers.retention import retention_plan
from customers.services import client_ip
from customers.services.privacy_ops import access_log_export

PAGE_SIZE = 50
MAX_PAGE = 100_000  # past any real log; a bigger number is page 1


def _page_number(request) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return number if 1 <= number <= MAX_PAGE else 1


def _slice(qs, number: int) -> tuple[list, bool]:
    """One page of `qs` without counting the whole table: PAGE_SIZE rows and whether more follow."""
    start = (number - 1) * PAGE_SIZE
    rows = list(qs[start : start + PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _zone(request):
    location = current_location(request)
    return location.tz if location else timezone.get_current_timezone()


# ---- what the CRM stores (every role) --------------------------------------------------------------


@login_required
@require_GET
def privacy_page(request):
    """What personal data the CRM stores, why, on which legal basis, who sees what, for how long,
    and how a client's request to see or erase their data is handled."""
    row = PrivacySettings.current()
    context = {
        "retention_years": row.retention_years,
        "alert_threshold": row.access_alert_threshold,
        "role": role_of(request.user),
        "sees_full_phone": can_see_full_phone(request.user),
        "can_handle_requests": request.user.has_perm("customers.erase_customer"),
        "Role": Role,
    }
    return render(request, "customers/privacy.html", context)


# ---- the owners' settings and the retention list -------------------------------------------------


@login_required
@permission_required("accounts.manage_privacy", raise_exception=True)
def privacy_settings(request):
    """Retention ("erase clients inactive for N years", off by default) and the alert threshold,
    with what the next nightly run would do under the saved setting."""
    current = PrivacySettings.current()
    form = PrivacySettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            privacy_settings_update(by=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Privacy settings saved."))
            return redirect("customers:privacy_settings")
    plan = retention_plan()
    to_erase, kept = plan.counts() if plan else (0, 0)
    context = {"form": form, "settings_row": current, "plan": plan, "to_erase": to_erase, "kept": kept}
    return render(request, "customers/privacy_settings.html", context, status=400 if form.errors else 200)


@login_required
@permission_required("accounts.manage_privacy", raise_exception=True)
@require_GET
def retention_list(request):
    """Who the next run erases (and who it keeps, and why), oldest files first, a page at a time;
    phones as this user's role sees them."""
    plan = retention_plan()
    kept_view = request.GET.get("list") == "kept"
    number = _page_number(request)
    rows, has_next = ([], False)
    if plan is not None:
        qs = plan.kept if kept_view else plan.erase
        qs = qs.only("pk", "name", "phone", "created_at").order_by("pk")  # (+ the holds' annotations)
        rows, has_next = _slice(qs, number)
    show_phone = phone_display_for(request.user)
    listed = [
        {
            "pk": c.pk,
            "name": c.name,
            "phone": show_phone(c.phone),
            "created_at": c.created_at,
            "reasons": plan.reasons(c) if kept_view else [],
        }
        for c in rows
    ]
    context = {
        "plan": plan,
        "rows": listed,
        "kept_view": kept_view,
        "number": number,
        "has_next": has_next,
    }
    return render(request, "customers/retention_list.html", context)


# ---- the access log ----------------------------------------------------------------------------------


def _access_log_filter(request) -> AccessLogFilter:
    return AccessLogFilter(request.GET or None, queryset=access_log_rows(), tz=_zone(request))


@login_required
@permission_required("accounts.review_access_log", raise_exception=True)
@require_GET
def access_log(request):
    """Every file view, export, import and erasure, newest first, with filters (who, which
    client, what, local dates), 50 a page, the unusual-volume banner and a CSV of what is shown.
    Bad filters: 400 with the form's errors and no rows."""
    filters = _access_log_filter(request)
    valid = not filters.is_bound or filters.is_valid()
    number = _page_number(request)
    rows, has_next = _slice(filters.qs, number) if valid else ([], False)
    tz = _zone(request)
    context = {
        "filters": filters,
        "form": filters.form,
        "rows": rows,
        "number": number,
        "has_next": has_next,
        "query": _query_without_page(request),
        "tz_name": str(tz),
        "alert_panel": {"alerts": access_alerts_for(request.user), "days": ALERT_DAYS},
    }
    with timezone.override(tz):
        return render(request, "customers/access_log.html", context, status=200 if valid else 400)


@login_required
@permission_required("accounts.review_access_log", raise_exception=True)
@require_GET
def access_log_csv(request):
    """The filtered rows as CSV (UTF-8 with BOM, spreadsheet-safe cells); the export is logged."""
    filters = _access_log_filter(request)
    if filters.is_bound and not filters.is_valid():
        return HttpResponse(filters.form.errors.as_json(), status=400, content_type="application/json")
    header = [
        _("Time"),
        _("Staff member"),
        _("Login"),
        _("Action"),
        _("Client id"),
        _("Client"),
        _("Detail"),
        _("IP address"),
    ]
    lines = access_log_export(
        rows=filters.qs,
        user=request.user,
        tz=_zone(request),
        header=header,
        labels={value: str(label) for value, label in AccessLog.Action.choices},
        filters=_query_without_page(request),
        ip=client_ip(request),
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(timezone.now(), _zone(request)).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    return response


def today_panel(request) -> home.Panel | None:
    """The owners' Today page: the unusual-volume banner, when there is something to show."""
    alerts = access_alerts_for(request.user)
    if not alerts:
        return None
    return home.Panel("customers/_access_alerts.html", {"alerts": alerts, "days": ALERT_DAYS}, order=0)


# ---- one client's export: the confirmation step ------------------------------------------------------


@login_required
@permission_required("customers.erase_customer", raise_exception=True)
@require_GET
def export_confirm(request, pk: int):
    """Before one client's data is downloaded: who, what the file holds, and that it is logged.
    The button posts to customers:export_json."""
    customer = selectors.customer_get(pk=pk)
    return render(request, "customers/export_confirm.html", {"customer": customer})
