"""Which tables the whole-salon archive holds, with which columns, in which order.

Every concrete model of the project's own apps (those under BASE_DIR, so a new app counts too)
is in the archive unless EXCLUDED_MODELS says why not, with its many-to-many link tables, plus
the staff's user accounts (without passwords). A new model is exported by default: if it only
holds what can be rebuilt, add it to EXCLUDED_MODELS with the reason.

The column of a field is its attname (`customer_id` for a foreign key), so a reference names
the column it holds. docs/export-format.md's column reference is `describe_format()`:
`manage.py export_salon --describe docs/export-format.md` rewrites it, and
tests/salon_crm/test_portability.py fails while it is out of date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import translation
from django.utils.module_loading import import_string

from salon_crm.crypto import EncryptedTextField

# Tables of the project's apps left out of the archive, and why. Derived tables are rebuilt after
# an import (import_salon runs compute_analytics); nothing the salon typed in or decided is here.
_ROLLUP = "derived: a roll-up of visits, rebuilt by `manage.py compute_analytics`"
EXCLUDED_MODELS: dict[str, str] = {
    # analytics: daily figures, client figures, the churn model's fits and scores. Campaigns and
    # their members (who got the offer, who was held out) are decisions, so they are exported.
    "analytics.VisitDay": _ROLLUP,
    "analytics.DailyStats": _ROLLUP,
    "analytics.CustomerMetrics": _ROLLUP,
    "analytics.DirtyDay": "derived: the days a checkout touched since the last roll-up",
    "analytics.SalesDay": _ROLLUP,
    "analytics.StaffDay": _ROLLUP,
    "analytics.LifecycleChange": _ROLLUP,
    "analytics.RollupState": "derived: the roll-ups' own bookkeeping",
    "analytics.DayClients": _ROLLUP,
    "analytics.FirstVisitDay": _ROLLUP,
    "analytics.TierCount": _ROLLUP,
    "analytics.ChurnModel": "derived: the churn model fitted to the visits (refitted by compute_analytics)",
    "analytics.ChurnScore": "derived: each client's scores from the churn model",
    # messaging: one-time SMS codes, hashed and valid for minutes: meaningless anywhere else.
    "messaging.PhoneCode": "one-time login codes (hashed, valid for minutes)",
}

# Columns left out of an exported table: derived from other columns and rebuilt on import by
# DERIVE_ON_IMPORT (the search columns of customers/search.py).
_SEARCH = "search column, rebuilt on import by customers.search.derive_search_fields"
EXCLUDED_FIELDS: dict[str, dict[str, str]] = {
    "customers.Customer": {
        "name_pinyin": _SEARCH,
        "name_initials": _SEARCH,
        "name_pieces": _SEARCH,
        "name_surname_key": _SEARCH,
        "phone_rev": _SEARCH,
    },
}
# model label -> "module.function(obj)" filling the excluded derived columns of a row to insert
DERIVE_ON_IMPORT: dict[str, str] = {
    "customers.Customer": "customers.search.derive_search_fields",
}
# Never exported: a user's password hash (imported users get an unusable password).
USER_FIELDS_LEFT_OUT = ("password",)

# Not the project's apps, so not in the archive (docs/export-format.md says why).
OTHER_TABLES = {
    "sessions, django-axes login attempts, API tokens, two-factor devices and backup codes": (
        "secrets and security bookkeeping of this installation: people log in again, owners and "
        "managers set up two-factor login again"
    ),
    "groups and permissions": "created by `migrate`; a user's groups are in auth/user (by name)",
    "django-auditlog change history, the admin's log": (
        "keyed by this installation's content-type ids; kept by backup_db (pg_dump)"
    ),
    "django-celery-beat schedules": "configuration, set up by the installation",
}

KINDS: dict[str, str] = {
    "AutoField": "int",
    "BigAutoField": "int",
    "SmallAutoField": "int",
    "IntegerField": "int",
    "BigIntegerField": "int",
    "SmallIntegerField": "int",
    "PositiveIntegerField": "int",
    "PositiveBigIntegerField": "int",
    "PositiveSmallIntegerField": "int",
    "CharField": "text",
    "TextField": "text",
    "SlugField": "text",
    "EmailField": "text",
    "URLField": "text",
    "FilePathField": "text",
    "FileField": "text",
    "ImageField": "text",
    "BooleanField": "bool",
    "DecimalField": "decimal",
    "FloatField": "float",
    "DateTimeField": "datetime",
    "DateField": "date",
    "TimeField": "time",
    "JSONField": "json",
    "BinaryField": "binary",
    "UUIDField": "uuid",
    "DurationField": "duration",
    "GenericIPAddressField": "ip",
    "IPAddressField": "ip",
}


def field_kind(f: models.Field) -> str:
    """How a field's value is written (salon_crm.portability.codec); a reference is written as
    the value of the field it points at."""
    if isinstance(f, EncryptedTextField):
        return "encrypted"
    if f.is_relation:
        return field_kind(f.target_field)
    return KINDS.get(f.get_internal_type(), "other")


@dataclass(frozen=True)
class Column:
    name: str  # the header and the JSON key: the field's attname
    kind: str
    field: models.Field | None = None  # None: a list of names (a user's groups, permissions)

    @property
    def ref(self) -> str | None:
        """The file stem a reference points at ("customers/customer"), else None."""
        if self.field is None or not self.field.is_relation:
            return None
        return stem_of(self.field.related_model)


@dataclass
class Table:
    model: type[models.Model]
    columns: list[Column] = field(default_factory=list)
    is_users: bool = False

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def stem(self) -> str:
        return stem_of(self.model)

    @property
    def json_name(self) -> str:
        return self.stem + ".json"

    @property
    def csv_name(self) -> str:
        return self.stem + ".csv"

    @cached_property
    def field_columns(self) -> list[Column]:
        return [c for c in self.columns if c.field is not None]

    @cached_property
    def derive(self) -> Callable | None:
        path = DERIVE_ON_IMPORT.get(self.label)
        return import_string(path) if path else None


def stem_of(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}/{model._meta.model_name}"


def project_app_configs() -> list:
    """The project's own apps: those whose code lives in this repository, not in site-packages."""
    base = Path(settings.BASE_DIR).resolve()
    found = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(base) and not {"site-packages", ".venv"} & set(path.parts):
            found.append(config)
    return found


def _columns(model: type[models.Model], left_out: tuple[str, ...] | dict = ()) -> list[Column]:
    return [
        Column(f.attname, field_kind(f), f) for f in model._meta.concrete_fields if f.name not in left_out
    ]


def _user_table() -> Table:
    user = get_user_model()
    columns = _columns(user, USER_FIELDS_LEFT_OUT)
    names = {c.name for c in columns}
    for extra in ("groups", "user_permissions"):
        if extra not in names and any(f.name == extra for f in user._meta.many_to_many):
            columns.append(Column(extra, "names"))
    return Table(user, columns, is_users=True)


def exported_tables() -> list[Table]:
    """Every table of the archive, in the order an import inserts them (a table after the tables
    it refers to, where the references allow it; PostgreSQL checks the rest at the end)."""
    found = [_user_table()]
    for config in project_app_configs():
        for model in config.get_models(include_auto_created=True):
            meta = model._meta
            if not meta.managed or meta.proxy or meta.label in EXCLUDED_MODELS:
                continue
            found.append(Table(model, _columns(model, EXCLUDED_FIELDS.get(meta.label, {}))))
    return _dependency_order(found)


def _dependency_order(tables: list[Table]) -> list[Table]:
    by_model = {t.model: t for t in tables}
    needs = {
        t.model: {
            c.field.related_model
            for c in t.field_columns
            if c.field.is_relation
            and c.field.related_model in by_model
            and c.field.related_model is not t.model
        }
        for t in tables
    }
    ordered: list[Table] = []
    done: set = set()
    while len(ordered) < len(tables):
        ready = [t for t in tables if t.model not in done and needs[t.model] <= done]
        if not ready:  # a cycle: take the rest as registered (constraints are checked at the end)
            ready = [t for t in tables if t.model not in done]
        for table in ready:
            ordered.append(table)
            done.add(table.model)
    return ordered


def left_out_models() -> dict[str, str]:
    """The project's models that the archive leaves out: {label: why}."""
    present = {
        m._meta.label
        for config in project_app_configs()
        for m in config.get_models(include_auto_created=True)
    }
    return {label: why for label, why in EXCLUDED_MODELS.items() if label in present}


def plural_name(meta) -> str:
    """The model's plural name; where it names none, its singular (Django's default only adds an
    "s": "time offs")."""
    return str(
        meta.verbose_name_plural if "verbose_name_plural" in meta.original_attrs else meta.verbose_name
    )


def contents() -> list[tuple[str, list[str]]]:
    """What the archive holds, for people: [(app name, [the tables' plural names])]."""
    groups: dict[str, list[str]] = {}
    for table in exported_tables():
        meta = table.model._meta
        if meta.auto_created:
            continue
        app = apps.get_app_config(meta.app_label)
        groups.setdefault(str(app.verbose_name), []).append(plural_name(meta))
    return list(groups.items())


# ---- the format reference (docs/export-format.md) ----------------------------------------------

BEGIN_MARK = "<!-- BEGIN GENERATED: manage.py export_salon --describe docs/export-format.md -->"
END_MARK = "<!-- END GENERATED -->"

_TYPE_NAMES = {
    "int": "integer",
    "text": "text",
    "encrypted": "text; encrypted at rest, plain in the archive",
    "bool": "boolean",
    "float": "number",
    "datetime": "date-time, ISO 8601 in UTC",
    "date": "date, YYYY-MM-DD",
    "time": "time, HH:MM:SS[.ffffff]",
    "json": "JSON",
    "binary": "bytes, base64",
    "uuid": "UUID",
    "duration": "duration, ISO 8601",
    "ip": "IP address",
    "names": "list of names",
    "other": "text",
}


def _type_name(column: Column) -> str:
    f = column.field
    if column.kind == "decimal":
        return f"decimal as a string, {f.decimal_places} places"
    name = _TYPE_NAMES[column.kind]
    if column.kind == "text" and isinstance(f, models.CharField) and f.max_length:
        name += f", at most {f.max_length}"
    return name


def _notes(table: Table, column: Column) -> str:
    f = column.field
    if f is None:
        return {
            "groups": "the user's role groups, by name",
            "user_permissions": 'extra permissions, "app_label.codename"',
        }.get(column.name, "")
    notes = []
    if f.primary_key:
        notes.append("primary key")
    if column.ref:
        notes.append(f"→ `{column.ref}.{f.target_field.attname}`")
    label = str(f.verbose_name)
    if label and not f.primary_key and label.lower().replace(" ", "_") != f.name.lower():
        notes.append(label)
    choices = [str(value) for value, _label in f.flatchoices if value not in ("", None)]
    if choices:
        notes.append("one of " + ", ".join(f"`{c}`" for c in choices))
    return "; ".join(notes).replace("|", "\\|").replace("\n", " ")


def describe_format() -> str:
    """The generated part of docs/export-format.md: every file of the archive with its columns,
    then what is left out. In English, whatever the active language."""
    with translation.override("en"):
        lines = [BEGIN_MARK, "", "## Files and columns", ""]
        lines.append(
            "In the order `import_salon` reads them. Each table is in the archive twice, as "
            "`<file>.json` and `<file>.csv`, with these columns."
        )
        lines.append("")
        for table in exported_tables():
            meta = table.model._meta
            title = "link table" if meta.auto_created else plural_name(meta)
            lines += [f"### `{table.stem}` ({title})", ""]
            left_out = EXCLUDED_FIELDS.get(table.label) or {}
            if table.is_users:
                lines += ["Without the password hash: imported users get an unusable password.", ""]
            if left_out:
                lines += ["Left out (rebuilt on import): " + ", ".join(f"`{n}`" for n in left_out) + ".", ""]
            lines += ["| column | type | null | notes |", "| --- | --- | --- | --- |"]
            for column in table.columns:
                null = "yes" if column.field is not None and column.field.null else "no"
                lines.append(f"| `{column.name}` | {_type_name(column)} | {null} | {_notes(table, column)} |")
            lines.append("")
        lines += ["## Left out", "", "| table | why |", "| --- | --- |"]
        for label, why in sorted(left_out_models().items()):
            lines.append(f"| `{label}` | {why} |")
        for what, why in OTHER_TABLES.items():
            lines.append(f"| {what} | {why} |")
        lines += ["", END_MARK]
        return "\n".join(lines) + "\n"


def generated_part(text: str) -> str | None:
    """The generated part of a document (markers included), or None when it has none."""
    start, end = text.find(BEGIN_MARK), text.find(END_MARK)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END_MARK)] + "\n"


def write_description(path: Path) -> None:
    """Put describe_format() into the document at `path`, between its markers (or at its end)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    current = generated_part(text)
    if current is None:
        text = text.rstrip("\n") + ("\n\n" if text else "") + describe_format()
    else:
        rest = text[text.find(END_MARK) + len(END_MARK) :].lstrip("\n")
        text = text[: text.find(BEGIN_MARK)] + describe_format() + (("\n" + rest) if rest else "")
    path.write_text(text, encoding="utf-8")
