from pathlib import Path

from django.core.management.base import BaseCommand

from salon_crm import backup


class Command(BaseCommand):
    help = (
        "Back up the database (DATABASE_URL, PostgreSQL) with pg_dump in custom format, and "
        "MEDIA_ROOT beside it if it holds files. The encryption keys are not in the dump."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Where to write the dump, e.g. backups/salon-2026-12-04.dump")

    def handle(self, *args, file: str, **options):
        written = backup.backup(Path(file))
        for path in written:
            self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({path.stat().st_size:,} bytes)."))
        self.stdout.write(self.style.WARNING(backup.KEY_REMINDER))
