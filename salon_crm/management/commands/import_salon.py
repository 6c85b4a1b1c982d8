from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from salon_crm.management.commands.export_salon import print_counts
from salon_crm.portability import importer


class Command(BaseCommand):
    help = (
        "Import an export_salon archive into this installation, which must be empty (a new "
        "database after migrate). All or nothing: a damaged or edited archive, or a bad row, "
        "changes nothing. Then rebuilds the dashboards' figures (compute_analytics)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The archive written by export_salon")
        parser.add_argument(
            "--no-analytics",
            action="store_false",
            dest="analytics",
            help="Do not run compute_analytics afterwards (the nightly run rebuilds the figures).",
        )

    def handle(self, *args, file: str, analytics: bool, **options):
        try:
            result = importer.import_logged(source=file)
        except importer.ArchiveError as error:
            raise CommandError(f"{error} Nothing was imported.") from None
        for stem, n in result.replaced.items():
            self.stdout.write(f"Replaced this installation's own {stem} ({n} rows) with the archive's.")
        print_counts(self.stdout, result.rows)
        for stem in result.not_in_archive:
            self.stdout.write(self.style.WARNING(f"Not in the archive (left empty): {stem}"))
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(warning))
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {file}: {len(result.rows)} tables, {sum(result.rows.values()):,} rows, "
                f"{result.clients:,} clients (exported {result.manifest.get('exported_at')})."
            )
        )
        self.stdout.write(
            "Nobody has a password yet: set one per person with `manage.py changepassword "
            "<username>` (owners and managers set up two-factor login again at their first login)."
        )
        if analytics and apps.is_installed("analytics"):
            self.stdout.write("Rebuilding the dashboards' figures (compute_analytics)...")
            call_command("compute_analytics", stdout=self.stdout, stderr=self.stderr)
