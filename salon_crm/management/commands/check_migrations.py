"""manage.py check_migrations [--replay N]: no migration locks a big table for long without a
note (salon_crm/migration_check.py). Exits non-zero on a finding without a note."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from salon_crm import migration_check


class Command(BaseCommand):
    help = (
        "Check every migration's SQL for statements that rewrite or scan a big table (clients, "
        "visits, ledgers…) under lock; with --replay, unapply and re-apply each app's last "
        "migrations on a copy of this database and report rewrites and times."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--replay",
            type=int,
            default=0,
            metavar="N",
            help="replay each app's last N migrations on a copy of this database (PostgreSQL)",
        )
        parser.add_argument("--lock-timeout", default="5s", help="lock_timeout during the replay")

    def handle(self, *args, replay: int, lock_timeout: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("check_migrations reads PostgreSQL's SQL and catalogue: set DATABASE_URL.")
        failures = 0
        findings = migration_check.static_findings()
        self.stdout.write(f"{len(findings)} statement(s) on big tables that existed before their migration:")
        for f in findings:
            mark = "noted" if f.note else "NO NOTE"
            failures += not f.note
            self.stdout.write(f"  [{mark}] {f.migration} {f.table}: {f.risk}\n      {f.statement}")
            if f.note:
                self.stdout.write(f"      note: {f.note}")
        if replay:
            steps, skipped, rows = migration_check.replay(last=replay, lock_timeout=lock_timeout)
            shown = ", ".join(f"{table} {count:,}" for table, count in rows.items())
            self.stdout.write(f"replayed on a copy holding: {shown}")
            for step in steps:
                rewritten = ", ".join(step.rewritten)
                mark = (
                    ""
                    if not step.rewritten
                    else (" rewrote " + rewritten + (" (noted)" if step.note else " NO NOTE"))
                )
                failures += bool(step.rewritten and not step.note)
                self.stdout.write(f"  {step.migration}: {step.seconds * 1000:.0f} ms{mark}")
            for line in skipped:
                self.stdout.write(f"  not replayed: {line}")
        if failures:
            raise CommandError(
                f"{failures} migration step(s) rewrite or lock a big table without a note: make the "
                "change in steps (NOT VALID, then VALIDATE; CREATE INDEX CONCURRENTLY in a "
                "non-atomic migration; a nullable column first) or add big_table_note to the "
                "migration saying when and how to run it (docs/operations.md, Upgrades)."
            )
        self.stdout.write(self.style.SUCCESS("migrations: no unnoted lock on a big table"))
