"""Short lists read inside another statement, as JSON.

A page that shows a dozen short lists about one row (the client card: formulas, patch tests,
upcoming appointments, ledger rows, the history timeline...) would spend a round trip and an ORM
pass per list. Here each list is an annotation on that row instead, and the whole page is one
statement:

    Customer.objects.annotate(
        formulas=rows(
            ColourFormula.objects.filter(customer=OuterRef("pk")).order_by("-created_at", "-pk")[:20],
            id="pk", brand="brand", created_at="created_at",
            stylist=obj(id="stylist_id", display_name="stylist__display_name"),
        )
    )

`rows(queryset, **columns)` is a JSON array of one object per row of the (correlated, ordered,
sliced) queryset, in its order, `[]` when it has none; `row(...)` is the first row's object or
None. A column is a field path or any expression, another `rows()` included (a list per row).
Read back, they are plain lists and dicts (`decode`); `build(Model, data)` turns a row into a
model instance with its fields typed as the ORM would load them (dates, aware datetimes,
Decimals with their places), a nested object under a relation's name becoming the related
instance. Fields not read are deferred: touching one costs a query, which the card's query-count
tests catch.

Each row carries its place in the queryset's order (a ROW_NUMBER() over the same ordering), and
decoding puts the list back in that order: neither JSONB_AGG (PostgreSQL) nor JSON_GROUP_ARRAY
(SQLite, whose JSON1 functions every Python 3.11 build has) promises to keep it.

`read_row()` runs such a statement compiled once per kind of reader (see there).
"""

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.models import Expression, F, Field, Func, Subquery, Window
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware

ORDINAL = "_n"  # each row's place in its list (rows are put back in this order when decoded)


class JSONText(Field):
    """What `rows()` and `row()` return: JSON, decoded here with exact decimals (PostgreSQL
    sends jsonb as text to Django; SQLite's JSON functions return text)."""

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value, expression, connection):
        return decode(value)


def decode(value) -> Any:
    """JSON text to lists and dicts, decimals exact; every rows() list in it (nested ones too)
    put in its queryset's order, the ordinals dropped."""
    if isinstance(value, str):
        value = json.loads(value, parse_float=Decimal)
    return _in_order(value)


def _in_order(value):
    if isinstance(value, dict):
        return {key: _in_order(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_in_order(item) for item in value]
        if items and all(isinstance(item, dict) and ORDINAL in item for item in items):
            items.sort(key=lambda item: item[ORDINAL])
            for item in items:
                del item[ORDINAL]
        return items
    return value


def _ordering(queryset) -> list:
    """The queryset's ORDER BY as expressions (what the ordinal numbers rows by)."""
    order = []
    for item in queryset.query.order_by or queryset.model._meta.ordering or ["pk"]:
        if isinstance(item, str):
            name = item.lstrip("-")
            expression = F(name)
            order.append(expression.desc() if item.startswith("-") else expression.asc())
        else:
            order.append(item)
    return order


def _columns(columns: dict[str, Any]) -> dict[str, Any]:
    return {name: F(value) if isinstance(value, str) else value for name, value in columns.items()}


KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Obj(Func):
    """A JSON object {key: column}: JSONObject with its keys written into the statement (no
    parameter and no cast per key: a card reads a few hundred of them)."""

    output_field = JSONText()

    def __init__(self, **columns):
        bad = [key for key in columns if not KEY.fullmatch(key)]
        if bad:
            raise ValueError(f"JSON keys must be identifiers: {bad}")
        self.keys = tuple(columns)
        super().__init__(*_columns(columns).values())

    def as_sql(self, compiler, connection, **extra_context):
        parts, params = [], []
        for key, expression in zip(self.keys, self.get_source_expressions(), strict=True):
            sql, found = compiler.compile(expression)
            parts.append(f"'{key}', {sql}")
            params.extend(found)
        function = "JSONB_BUILD_OBJECT" if connection.vendor == "postgresql" else "JSON_OBJECT"
        return f"{function}({', '.join(parts)})", params


def obj(**columns) -> Obj:
    """A related row inside a row: `stylist=obj(id="stylist_id", display_name="stylist__display_name")`."""
    return Obj(**columns)


class Rows(Subquery):
    """rows(): see the module docstring."""

    output_field = JSONText()

    def __init__(self, queryset, **columns):
        if not columns:
            raise ValueError("rows() needs at least one column")
        ordinal = Window(RowNumber(), order_by=_ordering(queryset))
        inner = queryset.values(_row=Obj(**{ORDINAL: ordinal}, **columns))
        super().__init__(inner, output_field=JSONText())

    def as_sql(self, compiler, connection, template=None, **extra_context):
        template = "(SELECT COALESCE(JSONB_AGG(_rows._row), '[]'::jsonb) FROM (%(subquery)s) _rows)"
        return super().as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, template=None, **extra_context):
        # json(): a nested list stays JSON inside the row that holds it (not a string).
        template = (
            "json((SELECT COALESCE(JSON_GROUP_ARRAY(json(_rows._row)), '[]') FROM (%(subquery)s) _rows))"
        )
        return Subquery.as_sql(self, compiler, connection, template=template, **extra_context)


class Row(Subquery):
    """row(): the first row of `queryset` as one JSON object, or NULL."""

    output_field = JSONText()

    def __init__(self, queryset, **columns):
        if not columns:
            raise ValueError("row() needs at least one column")
        inner = queryset.values(_row=Obj(**columns))[:1]
        super().__init__(inner, output_field=JSONText())

    def as_sqlite(self, compiler, connection, template=None, **extra_context):
        return Subquery.as_sql(self, compiler, connection, template="json((%(subquery)s))", **extra_context)


def rows(queryset, **columns) -> Rows:
    return Rows(queryset, **columns)


def row(queryset, **columns) -> Row:
    return Row(queryset, **columns)


# ---- back to model instances -----------------------------------------------------------------


def _typed(field: models.Field, value):
    if value is None:
        return None
    if isinstance(field, models.DateTimeField):
        value = parse_datetime(value) if isinstance(value, str) else value
        return make_aware(value, UTC) if is_naive(value) else value  # SQLite keeps UTC, naive
    if isinstance(field, models.DateField):
        return parse_date(value) if isinstance(value, str) else value
    if isinstance(field, models.DecimalField):
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-field.decimal_places))
    if isinstance(field, models.BooleanField):
        return bool(value)
    if isinstance(field, models.JSONField):
        return value
    if hasattr(field, "from_db_value"):  # a field of our own: encrypted text is decrypted here
        return field.from_db_value(value, None, connections[DEFAULT_DB_ALIAS])
    return field.to_python(value)


def _field(opts, key: str) -> models.Field | models.ForeignObjectRel | None:
    if key in ("id", "pk"):
        return opts.pk
    try:
        return opts.get_field(key)
    except FieldDoesNotExist:
        return None


def build(model: type[models.Model], data: dict | None) -> models.Model | None:
    """A `model` instance from one decoded row (None for None, or for a row whose "id" is None:
    a LEFT JOIN that found nothing): its concrete fields typed as the ORM loads them, encrypted
    ones decrypted (the others deferred); a dict under a relation's name (forward, or a reverse
    one-to-one) becomes the related instance; any other key is set as a plain attribute (a
    nested list - under a name of its own, not a related set's - or a flag)."""
    if data is None or ("id" in data and data["id"] is None):
        return None
    opts = model._meta
    values: dict[str, Any] = {}
    related: dict = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        field = _field(opts, key)
        if field is None:
            extra[key] = value
        elif field.one_to_many or field.many_to_many:
            raise ValueError(f"{model.__name__}.{key} is a related set: give the nested list another name")
        elif field.is_relation and (isinstance(value, dict) or not field.concrete):
            related[field] = value
            if field.concrete:
                values[field.attname] = value.get("id") if value else None
        else:  # a plain field, or a relation's bare id
            values[field.attname] = value if field.is_relation else _typed(field, value)
    loaded = [f for f in opts.concrete_fields if f.attname in values]
    instance = model.from_db(None, [f.attname for f in loaded], [values[f.attname] for f in loaded])
    for field, value in related.items():
        instance._state.fields_cache[field.cache_name] = build(field.related_model, value)
    for key, value in extra.items():
        setattr(instance, key, value)
    return instance


def build_all(model: type[models.Model], items: list[dict] | None) -> list[models.Model]:
    return [build(model, item) for item in items or []]


# ---- many reads on one row -------------------------------------------------------------------


class Reads:
    """Named groups of reads ({group: {name: expression}}: a card panel's, a timeline source's)
    as annotations on one model's rows, under private aliases (names may repeat across groups),
    and the way back: unpack(instance) -> {group: {name: value}}."""

    def __init__(self, groups: dict[Any, dict[str, Any]]):
        self.groups = list(groups)
        self.annotations: dict[str, Any] = {}
        self.where: dict[str, tuple[Any, str, bool]] = {}  # alias: (group, name, JSON?)
        for group, expressions in groups.items():
            for name, expression in expressions.items():
                alias = f"_read{len(self.annotations)}"
                self.annotations[alias] = expression
                is_json = isinstance(expression, (Rows, Row, Obj))
                self.where[alias] = (group, name, is_json)

    def unpack(self, instance) -> dict[Any, dict[str, Any]]:
        found: dict[Any, dict[str, Any]] = {group: {} for group in self.groups}
        for alias, (group, name, is_json) in self.where.items():
            value = instance.__dict__.pop(alias)
            found[group][name] = decode(value) if is_json else value  # raw(): JSON as text
        return found


def read_one(instance, groups: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """The groups' reads for one row already loaded without them: one statement (none when no
    group reads anything)."""
    if not any(groups.values()):
        return {group: {} for group in groups}
    reads = Reads(groups)
    found = type(instance)._default_manager.filter(pk=instance.pk).only("pk").annotate(**reads.annotations)
    return reads.unpack(found.get())


# ---- the same statement for every row and moment ---------------------------------------------
# Building and compiling a statement of a few hundred expressions costs the ORM several times
# what PostgreSQL spends running it (the card: ~20 ms of Python for ~3 ms of SQL). What varies
# between two cards read by the same person is only the client and the time: the statement is
# compiled once per `key` (who reads - permissions, role, staff record - and what is registered)
# with those two as parameters (PK, NOW), and then only run.


@dataclass(frozen=True)
class _Bound:
    name: str


class Param(Expression):
    """A value bound when a cached statement runs (read_row): NOW and the row's PK."""

    def __init__(self, name: str, output_field: Field):
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", [_Bound(self.name)]

    def get_group_by_cols(self):
        return []


NOW = Param("now", models.DateTimeField())
PK = Param("pk", models.BigIntegerField())


def local_date(now):
    """Today in the current time zone, for a datetime or NOW (then in SQL: a cached statement
    must not freeze the day it was compiled)."""
    if isinstance(now, datetime):
        return timezone.localdate(now)
    return TruncDate(now, tzinfo=timezone.get_current_timezone())


_STATEMENTS: OrderedDict = OrderedDict()  # (model, database, key) -> (sql, params, Reads), LRU
_STATEMENTS_MAX = 512
_STATEMENTS_LOCK = threading.Lock()


def read_row(model: type[models.Model], *, key: Hashable, pk: int, now: datetime, groups: Callable[[], dict]):
    """(`model`'s row `pk` or None, {group: {name: value}}) with the reads `groups()` returns.
    The statement is built and compiled once per `key` and database, then only run with `pk`
    and `now`: the reads must take the time only from NOW (and local_date(NOW)), and depend on
    nothing else that `key` does not hold (a user's permissions and staff record, the current
    time zone, what is registered). The row comes without select_related: read its relations
    as obj() columns."""
    using = router.db_for_read(model)
    connection = connections[using]
    cache_key = (model, using, connection.vendor, key)
    with _STATEMENTS_LOCK:
        found = _STATEMENTS.get(cache_key)
        if found is not None:
            _STATEMENTS.move_to_end(cache_key)
    if found is None:
        reads = Reads(groups())
        query = model._default_manager.using(using).filter(pk=PK).annotate(**reads.annotations).query
        sql, params = query.get_compiler(using).as_sql()
        reads.annotations = {}  # compiled: only the way back is kept
        found = (sql, tuple(params), reads)
        with _STATEMENTS_LOCK:
            _STATEMENTS[cache_key] = found
            while len(_STATEMENTS) > _STATEMENTS_MAX:
                _STATEMENTS.popitem(last=False)
    sql, params, reads = found
    values = {"now": connection.ops.adapt_datetimefield_value(now), "pk": int(pk)}
    bound = [values[p.name] if isinstance(p, _Bound) else p for p in params]
    instances = list(model._default_manager.raw(sql, bound).using(using))
    if not instances:
        return None, {}
    return instances[0], reads.unpack(instances[0])
