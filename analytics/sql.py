"""SQL pieces of the metrics: the local date of a moment in a zone held by another column (each
location has its own), on PostgreSQL `(timezone(zone, moment))::date`, on SQLite (the quick start)
a Python function registered on each connection."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.backends.signals import connection_created
from django.db.models import DateField, Func


class LocalDate(Func):
    """LocalDate(moment, zone_name) → the calendar date of `moment` in that zone."""

    output_field = DateField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra):
        moment, zone = self.source_expressions
        moment_sql, moment_params = compiler.compile(moment)
        zone_sql, zone_params = compiler.compile(zone)
        return f"(timezone({zone_sql}, {moment_sql}))::date", (*zone_params, *moment_params)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="salon_local_date", **extra)


def _sqlite_local_date(moment: str | None, zone: str | None) -> str | None:
    if moment is None or zone is None:
        return None
    value = datetime.fromisoformat(moment)
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(zone)).date().isoformat()


def _register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("salon_local_date", 2, _sqlite_local_date, deterministic=True)


def install() -> None:
    connection_created.connect(_register, dispatch_uid="analytics_local_date")
