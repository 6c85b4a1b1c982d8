"""Migration operations that only touch PostgreSQL.

The quick start runs on SQLite, which has no exclusion constraints or trigram indexes. These
operations keep the migration *state* identical on every database (so `makemigrations --check`
stays clean) and only run their SQL where the feature exists; on SQLite the services' own
checks are the guard, and tests that need the constraint are marked `postgres`."""

from django.db import migrations


class _PostgresOnly:
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddConstraintPostgresOnly(_PostgresOnly, migrations.AddConstraint):
    pass


class AddIndexPostgresOnly(_PostgresOnly, migrations.AddIndex):
    pass


class RunSQLPostgresOnly(_PostgresOnly, migrations.RunSQL):
    pass
