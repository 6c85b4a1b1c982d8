"""The at-risk list walks ChurnScore by value at risk, largest first and the unscored last: an
index in that order (PostgreSQL only: SQLite, the quick start, cannot say NULLS LAST in an index
and has few rows)."""

from django.db import migrations

SQL = (
    "CREATE INDEX IF NOT EXISTS churnscore_value_at_risk"
    " ON analytics_churnscore (value_at_risk DESC NULLS LAST)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS churnscore_value_at_risk")


class Migration(migrations.Migration):
    dependencies = [("analytics", "0008_churn_model_scores_and_campaigns")]

    operations = [migrations.RunPython(create, drop)]
