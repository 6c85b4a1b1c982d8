"""Bulk writes of client files: the CSV/XLSX import (customers.resources gives its input
shape), the logged bulk export, and the stub clients a visit-history import creates.

Bulk writes send no per-client events (customers.events): a million-row file would queue a
million callbacks. The import and the export are recorded in the access log instead."""

from collections.abc import Iterable
from dataclasses import dataclass, field

import tablib
from auditlog.context import disable_auditlog
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from customers.models import AccessLog, Customer, SourceChannel
from customers.resources import HEADER, CustomerResource
from customers.search import derive_search_fields
from customers.selectors import customer_pks_by_external_id, customers_for_bulk
from customers.services.data_rights import access_log_record

STUB_BATCH = 2000


@dataclass
class RowProblem:
    line: int  # line in the file, the header being line 1
    field: str
    message: str


@dataclass
class ImportReport:
    total: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    saved: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _normalise_header(dataset: tablib.Dataset) -> RowProblem | None:
    """Trim the header's cells in place; the problem if it is not exactly HEADER."""
    headers = [str(h or "").strip() for h in (dataset.headers or [])]
    if headers != HEADER:
        message = _("The header must be exactly: %(header)s") % {"header": ",".join(HEADER)}
        return RowProblem(1, "header", message)
    dataset.headers = headers
    return None


def _row_problems(result) -> list[RowProblem]:
    """Every invalid field and every row error of an import-export result, by line."""
    problems = [
        RowProblem(invalid.number + 1, fname, str(message))
        for invalid in result.invalid_rows
        for fname, messages in invalid.error_dict.items()
        for message in messages
    ]
    problems += [
        RowProblem(number + 1, "", str(error.error))
        for number, errors in result.row_errors()
        for error in errors
    ]
    return sorted(problems, key=lambda p: (p.line, p.field))


def customer_import(
    *, dataset: tablib.Dataset, dry_run: bool, user=None, ip: str | None = None
) -> ImportReport:
    """Import clients (the contract is in customers.resources). With dry_run, or when any row
    is wrong, the database is left as it was; `report.saved` says whether it was written. A
    saved import is recorded in the access log (who, when, counts)."""
    report = ImportReport(total=len(dataset))
    header_problem = _normalise_header(dataset)
    if header_problem is not None:
        report.problems.append(header_problem)
        return report
    # One AccessLog row records the import; a change-history entry per imported client and per
    # tag link would triple the writes of a 100k-row file.
    with transaction.atomic(), disable_auditlog():
        # One pass: import-export rolls the whole transaction back on a dry run, on any row
        # error and (rollback_on_validation_errors) on any invalid row - all or nothing.
        result = CustomerResource().import_data(
            dataset,
            dry_run=dry_run,
            use_transactions=True,
            rollback_on_validation_errors=True,
            collect_failed_rows=False,
            raise_errors=False,
        )
        report.problems = _row_problems(result)
        totals = result.totals
        report.new, report.updated, report.skipped = totals["new"], totals["update"], totals["skip"]
        report.saved = not dry_run and report.ok
        if report.saved:
            access_log_record(
                user=user,
                customer=None,
                action=AccessLog.Action.IMPORT,
                detail=f"{report.new} new, {report.updated} updated",
                ip=ip,
            )
    return report


def customers_export_start(*, user, fmt: str, ip: str | None = None) -> QuerySet[Customer]:
    """The clients of a bulk export - those the user may take in bulk (customers_for_bulk:
    owners every active client, managers the clients of their own locations) - the export
    logged first: who, the format and how many clients the file holds at this moment."""
    clients = customers_for_bulk(user=user)
    access_log_record(
        user=user,
        customer=None,
        action=AccessLog.Action.EXPORT,
        detail=f"{fmt}: {clients.count()} clients",
        ip=ip,
    )
    return clients


@transaction.atomic
def customer_create_stubs(*, external_ids: Iterable[str]) -> dict[str, int]:
    """A stub client (named by its external id, source "import") for every external id not on
    file; returns {external_id: pk} for all of them, old and new. For history imports of up to
    a million clients: one lookup and one bulk insert per STUB_BATCH ids, no per-row query, no
    change-history rows and no events."""
    wanted = sorted({e.strip() for e in external_ids if e and e.strip()})
    pks = customer_pks_by_external_id(external_ids=wanted)
    stubs = []
    for external_id in wanted:
        if external_id not in pks:
            stub = Customer(name=external_id[:100], external_id=external_id, source=SourceChannel.IMPORT)
            derive_search_fields(stub)
            stubs.append(stub)
    Customer.objects.bulk_create(stubs, batch_size=STUB_BATCH)
    if all(stub.pk for stub in stubs):
        pks.update((stub.external_id, stub.pk) for stub in stubs)
    else:  # SQLite before 3.35 returns no ids
        pks.update(customer_pks_by_external_id(external_ids=[s.external_id for s in stubs]))
    return pks
