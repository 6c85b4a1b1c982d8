"""Issue 16, item 7: no migration locks a big table for long without a note.

The classifier of migration SQL on statements PostgreSQL runs under an exclusive lock, the gate
over the project's own migrations (every finding carries a note), and the command's exit status.
CI also runs `check_migrations --replay 2` on the demo chain (.ci/run)."""

import pytest
from django.core.management import CommandError, call_command

from salon_crm import migration_check
from salon_crm.migration_check import risks

BIG = {"customers_customer", "appointments_visit"}


@pytest.mark.parametrize(
    "statement, expected",
    [
        ('ALTER TABLE "customers_customer" ALTER COLUMN "name" TYPE varchar(200);', "rewrites"),
        ('ALTER TABLE "customers_customer" ALTER COLUMN "phone" SET NOT NULL;', "SET NOT NULL"),
        (
            'ALTER TABLE "appointments_visit" ADD CONSTRAINT "v_fk" FOREIGN KEY ("x_id") REFERENCES "t" ("id");',
            "without NOT VALID",
        ),
        ('ALTER TABLE "appointments_visit" ADD CONSTRAINT "v_ck" CHECK ("total" >= 0);', "without NOT VALID"),
        ('CREATE INDEX "visit_x" ON "appointments_visit" ("x");', "CONCURRENTLY"),
        ('CREATE UNIQUE INDEX "c_u" ON "customers_customer" ("phone");', "CONCURRENTLY"),
        (
            'ALTER TABLE "customers_customer" ADD COLUMN "uid" uuid DEFAULT gen_random_uuid() NOT NULL;',
            "volatile",
        ),
    ],
)
def test_statements_that_lock_a_big_table_are_found(statement, expected):
    found = risks(statement, BIG, created=set())
    assert len(found) == 1 and expected in found[0][1], found


@pytest.mark.parametrize(
    "statement",
    [
        'CREATE INDEX CONCURRENTLY "visit_x" ON "appointments_visit" ("x");',
        'ALTER TABLE "appointments_visit" ADD CONSTRAINT "v_fk" FOREIGN KEY ("x_id") REFERENCES "t" ("id") NOT VALID;',
        'ALTER TABLE "appointments_visit" VALIDATE CONSTRAINT "v_fk";',  # a scan, but no exclusive lock
        'ALTER TABLE "customers_customer" ADD COLUMN "lang" varchar(8) DEFAULT \'zh\' NOT NULL;',  # constant
        'ALTER TABLE "customers_customer" ADD COLUMN "note" text NULL;',
        'CREATE INDEX "service_x" ON "appointments_service" ("x");',  # a small table
    ],
)
def test_what_does_not_lock_a_big_table_for_long_passes(statement):
    assert risks(statement, BIG, created=set()) == []


def test_a_table_created_by_the_same_migration_is_not_big_yet():
    statement = 'CREATE INDEX "visit_x" ON "appointments_visit" ("x");'
    assert risks(statement, BIG, created={"appointments_visit"}) == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_finding_in_the_projects_migrations_has_a_note():
    findings = migration_check.static_findings()
    assert findings, "the historic search indexes on the clients table are findings"
    assert [f for f in findings if not f.note] == []
    assert {f.migration for f in findings} >= {
        "customers.0002_search_indexes",
        "appointments.0003_visit_line_kinds",
    }


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_finding_without_a_note_fails_the_command(monkeypatch, capsys):
    unnoted = migration_check.Finding(
        migration="customers.0099_x", table="customers_customer", risk="rewrites", statement="ALTER …"
    )
    monkeypatch.setattr(migration_check, "static_findings", lambda: [unnoted])
    with pytest.raises(CommandError, match="without a note"):
        call_command("check_migrations")
    assert "[NO NOTE] customers.0099_x" in capsys.readouterr().out
