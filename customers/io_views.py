"""Manager-only client import (upload → preview with row-by-row errors → confirm) and export."""

import re
import tempfile
import uuid
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from customers import services
from customers.resources import (
    HEADER,
    customers_export_csv_lines,
    customers_export_xlsx,
    dataset_from_bytes,
)

MAX_UPLOAD = 50 * 1024 * 1024
PREVIEW_PROBLEMS = 200


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV or XLSX file"),
        help_text=gettext_lazy("CSV in UTF-8 or GBK (what Excel saves as “CSV”), or XLSX."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise ValidationError(_("The file is larger than 50 MB; split it."))
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


# A checked upload waits here for the confirm click. Named by the uploader's id and a random
# token that must look like one: the form field can never point at another file.
_UPLOAD_DIR = Path(tempfile.gettempdir()) / "salon-crm-imports"


def _store_upload(user, content: bytes) -> str:
    _UPLOAD_DIR.mkdir(mode=0o700, exist_ok=True)
    token = uuid.uuid4().hex
    (_UPLOAD_DIR / f"{user.pk}-{token}").write_bytes(content)
    return token


def _upload_path(user, token: str) -> Path | None:
    if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
        return None
    path = _UPLOAD_DIR / f"{user.pk}-{token}"
    return path if path.is_file() else None


@login_required
@permission_required("customers.export_customer", raise_exception=True)
def customer_import_view(request: HttpRequest) -> HttpResponse:
    """POST a file: a dry run shows what would happen and every bad row. POST confirm (with
    the stored upload's name) imports for real - only a file with no problems."""
    context: dict = {"header": ",".join(HEADER), "form": ImportUploadForm()}
    if request.method == "POST" and request.POST.get("confirm"):
        path = _upload_path(request.user, request.POST.get("stored", ""))
        filename = request.POST.get("filename", "upload.csv")
        if path is None:
            messages.error(request, _("The uploaded file has expired; upload it again."))
            return redirect(reverse("customers:import"))
        dataset = dataset_from_bytes(path.read_bytes(), filename)
        report = services.customer_import(
            dataset=dataset, dry_run=False, user=request.user, ip=services.client_ip(request)
        )
        path.unlink(missing_ok=True)
        if report.saved:
            messages.success(
                request,
                _("Imported %(total)s rows: %(new)s new clients, %(updated)s updated.")
                % {"total": report.total, "new": report.new, "updated": report.updated},
            )
            return redirect(reverse("customers:list"))
        context.update(report=report, problems=report.problems[:PREVIEW_PROBLEMS])
        return render(request, "customers/import.html", context)
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            try:
                dataset = dataset_from_bytes(content, upload.name)
            except ValidationError as exc:
                form.add_error("file", exc.messages)
            else:
                report = services.customer_import(dataset=dataset, dry_run=True)
                context.update(report=report, problems=report.problems[:PREVIEW_PROBLEMS])
                if report.ok:
                    context.update(stored=_store_upload(request.user, content), filename=upload.name)
    return render(request, "customers/import.html", context)


@require_GET
@login_required
@permission_required("customers.export_customer", raise_exception=True)
def customer_export_view(request: HttpRequest) -> HttpResponse:
    """?format=csv|xlsx: the clients this user may take in bulk (customers_for_bulk: owners all,
    managers those of their own locations) in the import layout; logged in AccessLog. Cells
    are spreadsheet-safe (no formulas, no control characters: customers.resources)."""
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        return HttpResponseBadRequest(_("format must be csv or xlsx"))
    qs = services.customers_export_start(user=request.user, fmt=fmt, ip=services.client_ip(request))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":  # one workbook (openpyxl, write-only); CSV streams for very large exports
        response = HttpResponse(
            customers_export_xlsx(queryset=qs),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(
            customers_export_csv_lines(queryset=qs), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="clients-{stamp}.{fmt}"'
    return response
