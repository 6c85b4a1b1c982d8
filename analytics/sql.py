"""SQL pieces of the metrics: the local date of a moment in a zone held by another column (each
location has its own), on PostgreSQL `(timezone(zone, moment))::date`, on SQLite (the quick start)
a Python function registered on each connection."""

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import DateField, Func, IntegerField, Q, Value


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


class DaysSince(Func):
    """Whole days from a date column to a given date (`as_of - column`), as an integer on both
    databases (Django's date subtraction is an interval on PostgreSQL)."""

    output_field = IntegerField()

    def __init__(self, as_of, column, **extra):
        super().__init__(Value(as_of, output_field=DateField()), column, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner="::date - ", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


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


def insert_select(model, fields: list[str], qs) -> int:
    """INSERT INTO model's table (fields' columns) the rows of `qs` (its values() in that order),
    in one statement, without reading them into Python. Returns the row count (0 for a queryset
    that can match nothing, e.g. filtered on an empty list: Django raises EmptyResultSet)."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {sql}", params)
        return cursor.rowcount


def pairs_q(pairs, *, location: str = "location_id", day: str = "day") -> Q:
    """The rows of these (location_id, day) pairs: one IN list of days per location."""
    q = Q(pk__in=[])
    by_location = defaultdict(set)
    for location_id, d in pairs:
        by_location[location_id].add(d)
    for location_id, days in by_location.items():
        q |= Q(**{location: location_id, f"{day}__in": sorted(days)})
    return q
