"""manage.py import_customers FILE [--dry-run]: the CSV/XLSX client import (customers.services.customer_import).
CSV files may be UTF-8 (with or without BOM) or GBK/GB18030 (salon_crm.textfiles)."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from customers.resources import HEADER, dataset_from_bytes
from customers.services import customer_import


class Command(BaseCommand):
    help = "Import clients from a CSV or XLSX file with the header: " + ",".join(HEADER)

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8, or GBK/GB18030 as Chinese Excel saves it) or XLSX file")
        parser.add_argument("--dry-run", action="store_true", help="check every row, save nothing")

    def handle(self, *args, file: str, dry_run: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            dataset = dataset_from_bytes(path.read_bytes(), path.name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        report = customer_import(dataset=dataset, dry_run=dry_run)
        for problem in report.problems:
            where = f"line {problem.line}" + (f", {problem.field}" if problem.field else "")
            self.stderr.write(f"{where}: {problem.message}")
        if not report.ok:
            raise CommandError(f"{len(report.problems)} problem(s) in {path.name}; nothing was imported.")
        verb = "would import" if dry_run else "imported"
        self.stdout.write(f"{verb} {report.total} rows: {report.new} new, {report.updated} updated.")
