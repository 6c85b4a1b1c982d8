"""Migrations that would lock a big table for long: found before they reach a salon.

An upgrade runs `migrate` while the salons are open (docs/operations.md, "Upgrades"). On
PostgreSQL most schema changes take an ACCESS EXCLUSIVE lock on their table; that is harmless
for a catalogue of 40 services and an outage for a chain's clients or visits if the statement
then rewrites or scans the table: every booking and checkout waits behind it.

Two checks, both run by `manage.py check_migrations` (CI runs it on the demo chain):

1. **The SQL of every migration** (what `sqlmigrate` prints, on PostgreSQL), statement by
   statement: on a big table that existed before the migration, a column type change (a
   rewrite), SET NOT NULL, a constraint or foreign key added without NOT VALID (a scan), an index
   built without CONCURRENTLY (writes blocked while it builds) or a column added with a volatile
   default (a rewrite) is a finding. A migration may carry a note,
   `big_table_note = "why this is safe or when to run it"`, on its Migration class; a finding
   without one fails the check.
2. **A replay on real rows**: on the database as it is (the demo chain in CI), each app's last
   migrations are unapplied and applied again one by one, with `lock_timeout` set so a migration
   that waits for a lock fails instead of queueing every request behind it. Before and after each
   step the big tables' relfilenode is read: a new one means the table was rewritten, which needs
   a note too. The time of each step is printed.
"""

import re
import time
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState

# The tables that grow with the salon's clients and days: at a chain's scale, millions of rows.
BIG_MODELS = (
    "customers.Customer",
    "customers.AccessLog",
    "customers.ConsentRecord",
    "appointments.Appointment",
    "appointments.AppointmentItem",
    "appointments.Visit",
    "appointments.VisitLine",
    "appointments.Payment",
    "loyalty.PointsEntry",
    "loyalty.StoredValueEntry",
    "messaging.OutboundMessage",
    "feedback.Survey",
)
PROJECT_APPS = ("accounts", "customers", "appointments", "loyalty", "feedback", "messaging", "analytics")


def big_tables() -> set[str]:
    tables = set()
    for label in BIG_MODELS:
        try:
            tables.add(apps.get_model(label)._meta.db_table)
        except LookupError:
            continue
    return tables


_TABLE = r'(?:ONLY\s+)?"?(?P<table>[a-z0-9_]+)"?'
# (pattern, what it does to the table)
_RISKS = (
    (
        re.compile(r"ALTER TABLE " + _TABLE + r".*\bALTER COLUMN\b[^;]*?\bTYPE\b", re.I | re.S),
        "column type change rewrites the table",
    ),
    (
        re.compile(r"ALTER TABLE " + _TABLE + r".*\bSET NOT NULL\b", re.I | re.S),
        "SET NOT NULL scans the table under an exclusive lock",
    ),
    (
        re.compile(r"ALTER TABLE " + _TABLE + r".*\bADD CONSTRAINT\b(?![^;]*\bNOT VALID\b)", re.I | re.S),
        "a constraint added without NOT VALID scans (or indexes) the table under lock",
    ),
    (
        re.compile(r"CREATE (?:UNIQUE )?INDEX (?!CONCURRENTLY)[^;]*?\bON " + _TABLE, re.I | re.S),
        "an index built without CONCURRENTLY blocks writes while it builds",
    ),
    (
        re.compile(
            r"ALTER TABLE "
            + _TABLE
            + r".*\bADD COLUMN\b[^;]*?\b(?:serial|bigserial|GENERATED|DEFAULT\s+\(?\s*(?:now|random|gen_random_uuid|clock_timestamp)\b)",
            re.I | re.S,
        ),
        "a column with a volatile default rewrites the table",
    ),
)
_CREATES = re.compile(r'CREATE TABLE "?(?P<table>[a-z0-9_]+)"?', re.I)


@dataclass
class Finding:
    migration: str
    table: str
    risk: str
    statement: str
    note: str = ""


@dataclass
class Step:
    migration: str
    seconds: float
    rewritten: list[str] = field(default_factory=list)
    note: str = ""


def _note(migration) -> str:
    return getattr(migration, "big_table_note", "") or ""


def _all_in_order(graph) -> list:
    seen: list = []
    for leaf in sorted(graph.leaf_nodes()):
        for key in graph.forwards_plan(leaf):
            if key not in seen:
                seen.append(key)
    return seen


def risks(statement: str, big: set[str], created: set[str]) -> list[tuple[str, str]]:
    """(table, risk) for each risky thing `statement` does to a big table not created by the
    same migration."""
    found = []
    for pattern, risk in _RISKS:
        match = pattern.search(statement)
        if match and match.group("table") in big and match.group("table") not in created:
            found.append((match.group("table"), risk))
    return found


def static_findings() -> list[Finding]:
    """Every risky statement of every project migration on a big table it did not create.

    The SQL is what `sqlmigrate` prints, collected for all migrations in one pass over the graph
    (the state carried from one migration to the next, not rebuilt for each)."""
    executor = MigrationExecutor(connection)
    loader = executor.loader
    big = big_tables()
    findings = []
    state = ProjectState(real_apps=loader.unmigrated_apps)
    for key in _all_in_order(loader.graph):
        migration = loader.graph.nodes[key]
        with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as schema_editor:
            state = migration.apply(state, schema_editor, collect_sql=True)
        if key[0] not in PROJECT_APPS:
            continue
        statements = schema_editor.collected_sql
        created = {m.group("table") for s in statements for m in [_CREATES.search(s)] if m}
        for statement in statements:
            for table, risk in risks(statement, big, created):
                findings.append(
                    Finding(
                        migration=f"{migration.app_label}.{migration.name}",
                        table=table,
                        risk=risk,
                        statement=" ".join(statement.split())[:200],
                        note=_note(migration),
                    )
                )
    return findings


def _relfilenodes(tables: set[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = ANY(%s)",
            [sorted(tables)],
        )
        return dict(cursor.fetchall())


def _rows(tables: set[str]) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # names from the models, not input
            counts[table] = cursor.fetchone()[0]
    return counts


def replay(last: int = 2, lock_timeout: str = "5s") -> tuple[list[Step], list[str], dict[str, int]]:
    """On a copy of this database (CREATE DATABASE … TEMPLATE: the rows as they are, nothing
    of the original touched), unapply each project app's `last` migrations (never its initial
    one, which would drop the tables and their rows) and apply them again one by one.

    Returns the steps, the apps whose migrations could not be unapplied (a RunPython without a
    way back: the copy is migrated forward again and the check goes on), and the big tables'
    row counts the replay ran on."""
    source = connection.settings_dict["NAME"]
    copy = f"{source}_migcheck"[:63]
    connection.close()
    with _maintenance_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        cursor.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
    connection.settings_dict["NAME"] = copy
    try:
        return _replay(last, lock_timeout)
    finally:
        connection.close()
        connection.settings_dict["NAME"] = source
        with _maintenance_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{copy}"')


def _maintenance_cursor():
    """A cursor on the server's `postgres` database (CREATE/DROP DATABASE run outside any
    transaction and not in the database they copy)."""
    from contextlib import contextmanager

    @contextmanager
    def cursor():
        with connection._nodb_cursor() as c:
            yield c

    return cursor()


def _replay(last: int, lock_timeout: str) -> tuple[list[Step], list[str], dict[str, int]]:
    big = big_tables()
    rows = _rows(big)
    steps: list[Step] = []
    skipped: list[str] = []
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    replayed: set[str] = set()
    for app in PROJECT_APPS:
        ours = [key for key in _all_in_order(executor.loader.graph) if key[0] == app]
        # The deepest target (at most `last` back, never before the initial migration) whose
        # unapplying drops no table: no initial migration of this or another app is undone.
        target = None
        for k in range(min(last, len(ours) - 1), 0, -1):
            undo = executor.migration_plan([ours[-k - 1]])
            if not any(migration.initial or migration.name.startswith("0001") for migration, _ in undo):
                target = ours[-k - 1]
                break
        if target is None:
            if len(ours) > 1:
                skipped.append(
                    f"{app}: other apps' initial migrations depend on its last one (unapplying it "
                    "would drop their tables)"
                )
            continue
        if all(f"{a}.{n}" in replayed for a, n in ours[ours.index(target) + 1 :]):
            continue
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = %s", [lock_timeout])
        try:
            executor.migrate([target])
        except Exception as exc:  # a migration that cannot be unapplied on these rows
            skipped.append(f"{app}: cannot be unapplied on these rows: {exc.__class__.__name__}: {exc}"[:200])
            connection.close()
            executor = MigrationExecutor(connection)
            executor.migrate(leaves)
            continue
        executor = MigrationExecutor(connection)
        for migration, _backwards in executor.migration_plan(leaves):
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = %s", [lock_timeout])
            before = _relfilenodes(big)
            started = time.perf_counter()
            executor.migrate([(migration.app_label, migration.name)])
            seconds = time.perf_counter() - started
            executor = MigrationExecutor(connection)
            after = _relfilenodes(big)
            replayed.add(f"{migration.app_label}.{migration.name}")
            steps.append(
                Step(
                    migration=f"{migration.app_label}.{migration.name}",
                    seconds=seconds,
                    rewritten=sorted(t for t in before if t in after and before[t] != after[t]),
                    note=_note(migration),
                )
            )
    return steps, skipped, rows
