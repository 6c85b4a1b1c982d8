from django.core.management.base import BaseCommand

from customers.services.privacy_ops import retention_apply


class Command(BaseCommand):
    help = (
        "Apply the owners' data-retention setting now (what the nightly task privacy.retention "
        "does): erase the clients with no appointment, visit, loyalty entry or survey for N years, "
        "keeping those with a stored-value balance or package sessions left. --dry-run lists who "
        "would be erased and who is kept and why, and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")

    def handle(self, *args, dry_run: bool, **options):
        report = retention_apply(dry_run=dry_run)
        if report.years is None:
            self.stdout.write("Retention is off (no years set on the privacy settings page): nothing to do.")
            return
        verb = "would erase" if dry_run else "erased"
        self.stdout.write(
            f"Retention: {report.years} years; cutoff {report.cutoff:%Y-%m-%d %H:%M %Z}; "
            f"{verb} {len(report.erased)}, kept {len(report.kept)}."
        )
        for row in report.erased:
            self.stdout.write(f"{verb}: #{row.pk} {row.name} (file created {row.created_at:%Y-%m-%d})")
        for row in report.kept:
            reasons = ", ".join(row.reasons)
            self.stdout.write(f"kept: #{row.pk} {row.name} ({reasons})")
        if report.skipped:
            skipped = ", ".join(f"#{pk}" for pk in report.skipped)
            self.stdout.write(f"skipped (active again since the selection): {skipped}")
