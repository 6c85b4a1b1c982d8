import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from salon_crm.portability import exporter, tables
from salon_crm.portability.exporter import ExportResult

PERSONAL_DATA = (
    "The archive holds every client's personal and health data in plain text: keep it like the "
    "clients' files (encrypted storage, never by email), and delete it when it has served."
)


def print_counts(stdout, rows: dict[str, int]) -> None:
    width = max((len(stem) for stem in rows), default=0)
    for stem, n in rows.items():
        stdout.write(f"  {stem:<{width}}  {n:>10,}")


class Command(BaseCommand):
    help = (
        "Export the whole salon (every client, formula, booking, visit, ledger, survey, message...) "
        "into one ZIP archive of JSON and CSV files (docs/export-format.md), which import_salon "
        "reads back into an empty installation. Logged in the access log."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="Where to write the archive, e.g. salon-2026-12-04.zip")
        parser.add_argument(
            "--describe",
            metavar="DOC",
            help="Instead of exporting, write the format's column reference into DOC (between its "
            "markers; docs/export-format.md), or print it with '-'.",
        )

    def handle(self, *args, file: str | None = None, describe: str | None = None, **options):
        if describe:
            if describe == "-":
                sys.stdout.write(tables.describe_format())
            else:
                tables.write_description(Path(describe))
                self.stdout.write(self.style.SUCCESS(f"Wrote the column reference into {describe}."))
            return
        if not file:
            raise CommandError("Give the archive's file name: manage.py export_salon salon.zip")
        path = Path(file)
        if path.is_dir():
            raise CommandError(f"{path} is a folder; give a file name ending in .zip.")
        partial = path.with_name(path.name + ".partial")
        try:
            result: ExportResult = exporter.salon_export(dest=partial)
        except exporter.ExportError as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"{error} No archive was written.") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(path)
        print_counts(self.stdout, result.rows)
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {path} ({path.stat().st_size:,} bytes): {len(result.rows)} tables, "
                f"{sum(result.rows.values()):,} rows, {result.clients:,} clients."
            )
        )
        self.stdout.write(self.style.WARNING(PERSONAL_DATA))
