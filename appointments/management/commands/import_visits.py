"""Import a salon's visit history from CSV (one row per service line).

    manage.py import_visits FILE [--dry-run] [--create-missing] [--batch-size N]

Header, exactly: visit_external_id,customer_external_id,location,staff,service,date,start_time,amount
  location = Location code; staff = username; service = service name; date = YYYY-MM-DD;
  start_time = HH:MM local wall-clock time of the location; amount = the line's net price.
  staff, service and start_time may be empty. An empty start_time means 12:00 local: noon keeps
  the visit on its local date in any zone it is read in (midnight would drift to the day before
  for anyone west of the location).

Rows sharing visit_external_id make ONE completed Visit with a VisitLine per row; the visit
starts at its earliest start_time and its total is the sum of its lines. Rows of one visit must
be adjacent (as any export writes them). No payments are invented for imported visits.

Two passes over the file, streamed: the first checks every row (lookups in memory dicts; clients
resolved in chunks of a few thousand per query) and lists errors by row number; if there are
any, nothing is written. Unknown locations, staff, services and clients are errors unless
--create-missing (locations, inactive services in an "Imported" category, inactive non-bookable
staff without a password, stub clients), created through the owning apps' services
(accounts.services.location_create / staff_create, appointments.services.catalogue
.service_create_imported, customers.services.customer_create_stubs). The second pass writes in batches with bulk_create, one
transaction per batch (on PostgreSQL with COPY and ids taken from the sequence up front, which
is several times faster than INSERTs for a million rows). Idempotent: a visit whose external_id exists is skipped, so re-running
the same file (or finishing an interrupted one) changes nothing already imported.
"""

import csv
import io
import re
import time as clock
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Location, Role, StaffMember
from accounts.services import location_create, staff_create
from appointments.models import Service, Visit, VisitLine
from appointments.services.catalogue import service_create_imported
from customers.selectors import customer_pks_by_external_id
from customers.services import customer_create_stubs
from salon_crm.textfiles import UndecodableFile, open_text

HEADER = [
    "visit_external_id",
    "customer_external_id",
    "location",
    "staff",
    "service",
    "date",
    "start_time",
    "amount",
]
DEFAULT_START = dtime(12, 0)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # every field of a visit row is one line
MAX_ERRORS_SHOWN = 200


@dataclass
class Row:
    line: int
    visit: str
    customer: str
    location: str
    staff: str
    service: str
    day: date
    start: dtime | None
    amount: Decimal


@dataclass
class Scan:
    rows: int = 0
    visits: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0
    missing_locations: set = field(default_factory=set)
    missing_staff: dict = field(default_factory=dict)  # username -> location code
    missing_services: set = field(default_factory=set)
    customers: set = field(default_factory=set)

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append((line, f"row {line}: {message}"))


def _parse(line: int, raw: list[str], scan: Scan) -> Row | None:
    if len(raw) != len(HEADER):
        scan.error(line, f"expected {len(HEADER)} columns, got {len(raw)}")
        return None
    visit, customer, location, staff, service, day, start, amount = (v.strip() for v in raw)
    problems = []
    if not visit:
        problems.append("visit_external_id is empty")
    if not customer:
        problems.append("customer_external_id is empty")
    if not location:
        problems.append("location is empty")
    try:
        parsed_day = date.fromisoformat(day)
    except ValueError:
        problems.append(f"date {day!r} is not YYYY-MM-DD")
        parsed_day = None
    parsed_start = None
    if start:
        try:
            parsed_start = dtime.fromisoformat(start)
        except ValueError:
            problems.append(f"start_time {start!r} is not HH:MM")
    try:
        parsed_amount = Decimal(amount)
        if (
            not parsed_amount.is_finite()
            or parsed_amount < 0
            or parsed_amount != parsed_amount.quantize(Decimal("0.01"))
        ):
            raise InvalidOperation
    except InvalidOperation:
        problems.append(f"amount {amount!r} is not a non-negative amount with at most 2 decimals")
        parsed_amount = None
    if len(visit) > 64 or len(customer) > 64:
        problems.append("an external id is longer than 64 characters")
    if problems:
        scan.error(line, "; ".join(problems))
        return None
    return Row(line, visit, customer, location, staff, service, parsed_day, parsed_start, parsed_amount)


def _read(path: str, scan: Scan) -> Iterator[Row]:
    """The file's rows, in UTF-8 (with or without BOM) or GBK/GB18030 as Chinese Excel saves
    "CSV" (salon_crm.textfiles); a field with a control character is an error of its row."""
    try:
        handle = open_text(path)
    except OSError as exc:
        raise CommandError(f"Cannot open {path}: {exc}") from exc
    except UndecodableFile as exc:
        raise CommandError(f"{path} is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8.") from exc
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if [h.strip() for h in header or []] != HEADER:
            raise CommandError("The header must be exactly: " + ",".join(HEADER))
        for line, raw in enumerate(reader, start=2):
            if not raw:
                continue
            if _CONTROL.search("".join(raw)):
                scan.error(line, "a field holds a control character, tab or line break")
                continue
            row = _parse(line, raw, scan)
            if row is not None:
                yield row


def _groups(rows: Iterator[Row], scan: Scan) -> Iterator[list[Row]]:
    """Adjacent rows of one visit; a visit id that comes back later is an error."""
    seen: set[str] = set()
    group: list[Row] = []
    for row in rows:
        if group and row.visit != group[0].visit:
            yield group
            group = []
        if not group:
            if row.visit in seen:
                scan.error(row.line, f"rows of visit {row.visit} are not together")
                continue
            seen.add(row.visit)
        group.append(row)
    if group:
        yield group


class Command(BaseCommand):
    help = "Import visit history from CSV (see the module docstring for the format)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--create-missing", action="store_true", help="create unknown locations, staff, services, clients"
        )
        parser.add_argument("--batch-size", type=int, default=20000, help="visits per transaction")

    def handle(self, *args, file: str, dry_run: bool, create_missing: bool, batch_size: int, **options):
        started = clock.monotonic()
        self.locations = dict(Location.objects.values_list("code", "pk"))
        self.staff = dict(StaffMember.objects.values_list("user__username", "pk"))
        self.services = dict(Service.objects.values_list("name", "pk"))
        scan = self._check(file)
        self.customers = customer_pks_by_external_id(external_ids=scan.customers)
        missing_customers = scan.customers - set(self.customers)
        if not create_missing:
            self._missing_as_errors(file, scan, missing_customers)
        if scan.error_count:
            for _line, message in sorted(scan.errors):
                self.stderr.write(message)
            more = scan.error_count - len(scan.errors)
            raise CommandError(
                f"{scan.error_count} errors"
                + (f" ({more} not shown)" if more else "")
                + "; nothing imported."
            )
        summary = (
            f"{scan.rows} rows, {scan.visits} visits; to create: {len(scan.missing_locations)} locations, "
            f"{len(scan.missing_staff)} staff, {len(scan.missing_services)} services, {len(missing_customers)} clients"
        )
        if dry_run:
            self.stdout.write(f"Dry run: {summary}. Nothing written.")
            return
        if create_missing:
            self._create_missing(scan, missing_customers)
        created, skipped, lines = self._write(file, batch_size)
        self.stdout.write(
            f"Imported {created} visits ({lines} lines); {skipped} already present. {summary}. "
            f"{clock.monotonic() - started:.1f}s"
        )

    # ---- pass 1 -------------------------------------------------------------------------------

    def _check(self, path: str) -> Scan:
        scan = Scan()
        for group in _groups(_read(path, scan), scan):
            scan.visits += 1
            first = group[0]
            for row in group:
                scan.rows += 1
                if (row.customer, row.location, row.day) != (first.customer, first.location, first.day):
                    scan.error(row.line, f"visit {row.visit} has rows with another client, location or date")
                if row.location not in self.locations:
                    scan.missing_locations.add(row.location)
                if row.staff and row.staff not in self.staff:
                    scan.missing_staff.setdefault(row.staff, row.location)
                if row.service and row.service not in self.services:
                    scan.missing_services.add(row.service)
            scan.customers.add(first.customer)
        return scan

    def _missing_as_errors(self, path: str, scan: Scan, missing_customers: set[str]) -> None:
        """Name each row that refers to something unknown (only when something is)."""
        if not (scan.missing_locations or scan.missing_staff or scan.missing_services or missing_customers):
            return
        quiet = Scan()
        for row in _read(path, quiet):
            problems = []
            if row.location in scan.missing_locations:
                problems.append(f"unknown location {row.location!r}")
            if row.staff in scan.missing_staff:
                problems.append(f"unknown staff {row.staff!r}")
            if row.service in scan.missing_services:
                problems.append(f"unknown service {row.service!r}")
            if row.customer in missing_customers:
                problems.append(f"unknown client {row.customer!r}")
            if problems:
                scan.error(row.line, "; ".join(problems))

    # ---- creating what is missing -------------------------------------------------------------

    def _create_missing(self, scan: Scan, missing_customers: set[str]) -> None:
        """Through the owning apps' services, all in one transaction: a name one of them refuses
        (a location code that is not a slug, say) is a CommandError and nothing is created."""
        try:
            with transaction.atomic():
                self._create_locations(scan.missing_locations)
                self.services.update(service_create_imported(names=scan.missing_services))
                self._create_staff(scan.missing_staff)
                self.customers.update(customer_create_stubs(external_ids=missing_customers))
        except ValidationError as exc:
            raise CommandError(f"Cannot create what is missing: {' '.join(exc.messages)}") from exc

    def _create_locations(self, codes: set[str]) -> None:
        for code in sorted(codes):
            self.locations[code] = location_create(code=code[:32], name=code[:100]).pk

    def _create_staff(self, missing: dict[str, str]) -> None:
        """Someone who worked here once: an inactive, non-bookable stylist with no password."""
        for username, code in sorted(missing.items()):
            staff = staff_create(
                username=username[:150],
                password=None,
                display_name=username[:100],
                role=Role.STYLIST,
                locations=[self.locations[code]],
                is_bookable=False,
                is_active=False,
            )
            self.staff[username] = staff.pk

    # ---- pass 2 -------------------------------------------------------------------------------

    def _write(self, path: str, batch_size: int) -> tuple[int, int, int]:
        zones = {pk: tz for pk, tz in ((loc.pk, loc.tz) for loc in Location.objects.all())}
        created = skipped = lines = 0
        batch: list[list[Row]] = []
        scan = Scan()
        for group in _groups(_read(path, scan), scan):
            batch.append(group)
            if len(batch) >= batch_size:
                c, s, n = self._flush(batch, zones)
                created, skipped, lines = created + c, skipped + s, lines + n
                batch = []
        if batch:
            c, s, n = self._flush(batch, zones)
            created, skipped, lines = created + c, skipped + s, lines + n
        return created, skipped, lines

    @transaction.atomic
    def _flush(self, batch: list[list[Row]], zones: dict) -> tuple[int, int, int]:
        existing = set(
            Visit.objects.filter(external_id__in=[g[0].visit for g in batch]).values_list(
                "external_id", flat=True
            )
        )
        todo = [g for g in batch if g[0].visit not in existing]
        now = timezone.now()
        visits = []
        for group in todo:
            first = group[0]
            location_id = self.locations[first.location]
            starts = [r.start for r in group if r.start is not None]
            local_start = min(starts) if starts else DEFAULT_START
            started = datetime.combine(first.day, local_start, tzinfo=zones[location_id])
            total = sum((r.amount for r in group), Decimal("0"))
            visits.append(
                Visit(
                    external_id=first.visit,
                    customer_id=self.customers[first.customer],
                    location_id=location_id,
                    status=Visit.Status.COMPLETED,
                    started_at=started,
                    completed_at=started if started < now else now,
                    subtotal=total,
                    total=total,
                )
            )
        if connection.vendor == "postgresql":
            _copy_insert(visits, todo, self)
            return len(visits), len(batch) - len(todo), sum(len(g) for g in todo)
        Visit.objects.bulk_create(visits)
        visit_lines = [
            VisitLine(visit_id=visit.pk, **self._line(row))
            for visit, group in zip(visits, todo, strict=True)
            for row in group
        ]
        VisitLine.objects.bulk_create(visit_lines, batch_size=5000)
        return len(visits), len(batch) - len(todo), len(visit_lines)

    def _line(self, row: Row) -> dict:
        return {
            "kind": VisitLine.Kind.SERVICE,
            "ref": "",
            "service_id": self.services.get(row.service) if row.service else None,
            "staff_id": self.staff.get(row.staff) if row.staff else None,
            "description": (row.service or "Imported service")[:120],
            "quantity": 1,
            "unit_price": row.amount,
            "discount": Decimal("0"),
            "amount": row.amount,
        }


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy(cursor, model, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_text(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    fields = [model._meta.get_field(c).column for c in columns]
    cursor.copy_expert(f"COPY {model._meta.db_table} ({', '.join(fields)}) FROM STDIN", buffer)


def _copy_insert(visits: list[Visit], groups: list[list[Row]], command: Command) -> None:
    """COPY the visits with ids drawn from their sequence, then COPY their lines."""
    if not visits:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Visit._meta.db_table, len(visits)],
        )
        for visit, (pk,) in zip(visits, cursor.fetchall(), strict=True):
            visit.pk = pk
        visit_columns = [
            "id", "external_id", "customer", "location", "status", "started_at", "completed_at",
            "subtotal", "discount", "total", "void_reason",
        ]  # fmt: skip
        _copy(
            cursor,
            Visit,
            visit_columns,
            (
                (v.pk, v.external_id, v.customer_id, v.location_id, v.status, v.started_at, v.completed_at,
                 v.subtotal, v.discount, v.total, "")
                for v in visits
            ),
        )  # fmt: skip
        line_keys = [
            "kind",
            "ref",
            "service_id",
            "staff_id",
            "description",
            "quantity",
            "unit_price",
            "discount",
            "amount",
        ]
        _copy(
            cursor,
            VisitLine,
            ["visit"] + [k.removesuffix("_id") for k in line_keys],
            (
                (visit.pk, *(line[k] for k in line_keys))
                for visit, group in zip(visits, groups, strict=True)
                for line in map(command._line, group)
            ),
        )
