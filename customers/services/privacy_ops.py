"""Privacy operations (PIPL Art. 45/47, GDPR Art. 15/17/21): the retention run, the
unusual-volume alerts and the access log's CSV export. The selections live in
customers.retention and customers.access_review; this module does the writes."""

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import PrivacySettings
from accounts.services import access_alert_raise
from customers.access_review import (
    ACCESS_ALERT,
    AccessAlertEvent,
    alert_zone,
    alerts_bus,
    day_start,
    files_opened_above,
)
from customers.models import AccessLog, Customer
from customers.retention import RetentionPlan, retention_plan
from customers.services.data_rights import access_log_record, customer_erase
from salon_crm.validators import spreadsheet_cell

logger = logging.getLogger(__name__)
RETENTION_VIA = "retention"  # the AccessLog detail of an erasure by the retention run
CSV_CHUNK = 2000


# ---- retention ------------------------------------------------------------------------------------


@dataclass
class RetentionRow:
    pk: int
    name: str
    created_at: datetime
    reasons: list[str] = field(default_factory=list)  # why kept (empty: erased)


@dataclass
class RetentionReport:
    """What a run did (or, dry, would do). `years` None: retention is off and nothing was read."""

    years: int | None
    cutoff: datetime | None = None
    dry_run: bool = False
    erased: list[RetentionRow] = field(default_factory=list)
    kept: list[RetentionRow] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # active again between selection and erasure


def retention_rows(plan: RetentionPlan) -> tuple[list[RetentionRow], list[RetentionRow]]:
    """(to erase, kept with reasons), oldest files first: two queries, one per list."""
    columns = ("pk", "name", "created_at")  # the holds' annotations come along
    erase = [RetentionRow(c.pk, c.name, c.created_at) for c in plan.erase.only(*columns).order_by("pk")]
    kept = [
        RetentionRow(c.pk, c.name, c.created_at, plan.reasons(c))
        for c in plan.kept.only(*columns).order_by("pk")
    ]
    return erase, kept


def retention_apply(
    *, now: datetime | None = None, dry_run: bool = False, log: Callable[[str], None] | None = None
) -> RetentionReport:
    """The nightly retention run. With the owners' setting off: nothing (not even a read of the
    clients). Otherwise every inactive client that no hold keeps is erased through
    customer_erase (so every app's erase hook runs and each erasure writes its AccessLog row,
    detail "retention"), one transaction per client. Just before each erasure the client is
    checked again under its row lock: one who booked since the selection is skipped. Dry run:
    the same selection, nothing written. Safe to re-run: erased clients are not selected again."""
    now = now or timezone.now()
    plan = retention_plan(now=now)
    if plan is None:
        return RetentionReport(years=None, dry_run=dry_run)
    erase, kept = retention_rows(plan)
    report = RetentionReport(years=plan.years, cutoff=plan.cutoff, dry_run=dry_run, kept=kept)
    if dry_run:
        report.erased = erase
        return report
    for row in erase:
        with transaction.atomic():
            locked = Customer.objects.select_for_update().filter(pk=row.pk).first()
            if locked is None or not plan.erase.filter(pk=row.pk).exists():
                report.skipped.append(row.pk)
                continue
            customer_erase(customer=locked, user=None, via=RETENTION_VIA)
        report.erased.append(row)
        if log:
            log(f"erased client #{row.pk}")
    logger.info(
        "retention (%s years): %s erased, %s kept, %s skipped",
        plan.years,
        len(report.erased),
        len(report.kept),
        len(report.skipped),
    )
    return report


# ---- unusual volume ---------------------------------------------------------------------------------


def access_alerts_raise(*, now: datetime | None = None, days: int = 2) -> int:
    """Raise an alert for every (person, local day) of the last `days` days (today included)
    above the owners' threshold: one aggregate query, then one AccessAlert per new pair (once
    per person and day, whatever the number of runs; a later, higher count updates it without
    a second alert). Each new alert emits ACCESS_ALERT after commit (messaging e-mails the
    owners). Returns the number of new alerts."""
    now = now or timezone.now()
    tz = alert_zone()
    threshold = PrivacySettings.current().access_alert_threshold
    first_day = now.astimezone(tz).date() - timedelta(days=days - 1)
    rows = files_opened_above(
        start=day_start(first_day, tz), end=now + timedelta(seconds=1), threshold=threshold, tz=tz
    )
    raised = 0
    for row in rows:
        alert = access_alert_raise(user_id=row.user_id, day=row.day, files=row.files, threshold=threshold)
        if alert is None:
            continue
        raised += 1
        alerts_bus.emit(
            AccessAlertEvent(
                kind=ACCESS_ALERT,
                at=now,
                actor_id=None,
                alert_id=alert.pk,
                user_id=row.user_id,
                day=row.day,
                files=row.files,
            )
        )
    return raised


# ---- the access log's CSV ---------------------------------------------------------------------------


def _csv_line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([spreadsheet_cell(v) for v in values])
    return buffer.getvalue()


def access_log_export(
    *, rows: QuerySet[AccessLog], user, tz, header: list[str], labels: dict[str, str], filters: str, ip=None
) -> Iterator[str]:
    """The filtered rows as CSV lines (UTF-8 BOM first; every cell through spreadsheet_cell, so
    no cell starts a formula), newest first. The export is itself logged first (action
    `export`, detail "access log: <filters>, <n> rows"), so the file a reviewer takes leaves
    its own trace."""
    total = rows.count()
    access_log_record(
        user=user,
        customer=None,
        action=AccessLog.Action.EXPORT,
        detail=f"access log CSV, {total} rows; {filters}" if filters else f"access log CSV, {total} rows",
        ip=ip,
    )

    def lines() -> Iterator[str]:
        yield "\ufeff" + _csv_line(header)
        for entry in rows.iterator(chunk_size=CSV_CHUNK):
            staff = getattr(entry.user, "staff", None) if entry.user_id else None
            yield _csv_line(
                [
                    timezone.localtime(entry.at, tz).strftime("%Y-%m-%d %H:%M:%S"),
                    staff.display_name if staff else "",
                    entry.user.get_username() if entry.user_id else "",
                    labels.get(entry.action, entry.action),
                    entry.customer_id or "",
                    entry.customer.name if entry.customer_id else "",
                    entry.detail,
                    entry.ip_address or "",
                ]
            )

    return lines()
