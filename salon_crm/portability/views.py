"""The owner's "Export all data" page (under Settings): what the archive holds, and a POST that
writes it to a temporary file and answers it as a download. Import has no page: it fills an
empty installation, which has no owner to log in (`manage.py import_salon`)."""

import tempfile

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.access import sees_all_locations
from customers.services import client_ip
from salon_crm.portability import exporter, tables
from salon_crm.portability.forms import ExportForm


def can_export_salon(user) -> bool:
    """Owners: the whole salon is every client of every location, so exporting it takes the
    bulk-export permission (customers.export_customer, managers and owners) and the reach of
    all locations (accounts.view_all_locations, owners only by default; DESIGN.md, Roles)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.has_perm("customers.export_customer")
        and sees_all_locations(user)
    )


def archive_name() -> str:
    return f"salon-export-{timezone.localdate():%Y-%m-%d}.zip"


@login_required
@require_http_methods(["GET", "POST"])
def export_page(request: HttpRequest) -> HttpResponse:
    if not can_export_salon(request.user):
        raise PermissionDenied
    form = ExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # deleted when closed: FileResponse closes it once the answer is sent
        archive = tempfile.TemporaryFile(prefix="salon-export-")  # noqa: SIM115
        try:
            exporter.salon_export(dest=archive, user=request.user, ip=client_ip(request))
            archive.seek(0)
        except exporter.ExportError as error:  # the keys cannot read the health fields
            archive.close()
            form.add_error(None, str(error))
            return render(request, "portability/export.html", _context(form), status=409)
        except BaseException:
            archive.close()
            raise
        return FileResponse(
            archive, as_attachment=True, filename=archive_name(), content_type="application/zip"
        )
    return render(request, "portability/export.html", _context(form), status=400 if form.errors else 200)


def _context(form: ExportForm) -> dict:
    return {"form": form, "contents": tables.contents()}
