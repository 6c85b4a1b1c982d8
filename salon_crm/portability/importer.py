"""The whole-salon import: an archive of `export_salon` into an empty installation.

In this order, and all or nothing:

1. the manifest: the format and its version, every listed file present, nothing unlisted, and
   every file's SHA-256 as written (a damaged or edited archive stops here);
2. the installation must be empty (no client, appointment, visit, location, staff or user):
   the archive's primary keys are kept, so it cannot be merged into a salon in use;
3. in one transaction: rows the installation made for itself (message templates written by a
   migration) are replaced; every table is inserted in dependency order from its JSON file,
   streamed and checked value by value (codec.from_json), in batches that keep the primary keys
   and re-encrypt the health fields with this installation's keys; the derived columns are
   rebuilt (the clients' search columns); the references are checked; the sequences are moved
   past the imported keys.

Any problem raises ArchiveError naming the file, the row and the column, and the transaction
leaves the database as it was. The caller logs the import and rebuilds the analytics roll-ups.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction

from salon_crm.portability import codec
from salon_crm.portability.exporter import FORMAT, FORMAT_VERSION, MANIFEST
from salon_crm.portability.tables import Column, Table, exported_tables

_READ_CHUNK = 1024 * 1024
MAX_ROW_CHARS = 16 * 1024 * 1024  # one object of a JSON file; real rows are a few kB
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
BATCH_ROWS = 1000
_NAME = re.compile(r"^[a-z][a-z0-9_]*/[a-z][a-z0-9_]*\.(json|csv)$")
# An installation holding any of these is in use: the import refuses it.
IN_USE = (
    "customers.Customer",
    "appointments.Appointment",
    "appointments.Visit",
    "accounts.Location",
    "accounts.StaffMember",
    settings.AUTH_USER_MODEL,
)


class ArchiveError(Exception):
    """The archive cannot be imported (the message names the file, row and column); nothing
    was changed."""


@dataclass
class ImportResult:
    rows: dict[str, int] = field(default_factory=dict)  # file stem -> rows inserted
    replaced: dict[str, int] = field(default_factory=dict)  # file stem -> rows of defaults replaced
    not_in_archive: list[str] = field(default_factory=list)  # tables of this install left empty
    warnings: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def clients(self) -> int:
        return self.rows.get("customers/customer", 0)


@dataclass
class _Planned:
    table: Table
    name: str  # the JSON file in the archive
    rows: int  # as the manifest says


# ---- reading ---------------------------------------------------------------------------------


def iter_json_array(stream: TextIO, name: str) -> Iterator[tuple[int, Any]]:
    """(row number from 1, value) for each element of the JSON array in `stream`, read in
    chunks: the file is never in memory at once, whatever its layout."""
    decoder = json.JSONDecoder()
    buf, pos, eof = "", 0, False

    def fill() -> None:
        nonlocal buf, pos, eof
        chunk = stream.read(_READ_CHUNK)
        eof = not chunk
        buf, pos = buf[pos:] + chunk, 0

    def skip_space() -> str:
        """The next character that is not white space ('' at the end of the file)."""
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if eof:
                return ""
            fill()

    try:
        fill()
        if skip_space() != "[":
            raise ArchiveError(f"{name}: not a JSON array (it must start with '[').")
        pos += 1
        row = 0
        if skip_space() == "]":
            pos += 1
        else:
            while True:
                row += 1
                while True:
                    try:
                        value, end = decoder.raw_decode(buf, pos)
                        break
                    except json.JSONDecodeError as error:
                        if eof:
                            raise ArchiveError(f"{name} row {row}: not valid JSON ({error.msg}).") from None
                        if len(buf) - pos > MAX_ROW_CHARS:
                            raise ArchiveError(
                                f"{name} row {row}: longer than {MAX_ROW_CHARS:,} characters."
                            ) from None
                        fill()
                pos = end
                yield row, value
                after = skip_space()
                if after == ",":
                    pos += 1
                    skip_space()
                    continue
                if after == "]":
                    pos += 1
                    break
                raise ArchiveError(f"{name} row {row}: expected ',' or ']' after the row.")
        if skip_space() != "":
            raise ArchiveError(f"{name}: text after the end of the JSON array.")
    except RecursionError:
        raise ArchiveError(f"{name} row {row}: JSON nested too deeply.") from None
    except UnicodeDecodeError:
        raise ArchiveError(f"{name}: not UTF-8 text.") from None


def _open_text(archive: zipfile.ZipFile, name: str) -> TextIO:
    return io.TextIOWrapper(archive.open(name), encoding="utf-8-sig")


def read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise ArchiveError(
            f"{MANIFEST} is missing: this is not an archive written by export_salon."
        ) from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise ArchiveError(f"{MANIFEST} is too large to be a manifest.")
    try:
        manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
    except (ValueError, RecursionError):
        raise ArchiveError(f"{MANIFEST} is not valid JSON.") from None
    except zipfile.BadZipFile as error:
        raise ArchiveError(f"{MANIFEST} is damaged ({error}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{MANIFEST}: this is not an archive written by export_salon.")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArchiveError(
            f"{MANIFEST}: the archive is in format version {version!r}; this installation reads "
            f"version {FORMAT_VERSION}."
        )
    files, tables = manifest.get("files"), manifest.get("tables")
    if not isinstance(files, dict) or not isinstance(tables, list):
        raise ArchiveError(f"{MANIFEST}: 'files' and 'tables' are missing or malformed.")
    for name, entry in files.items():
        if (
            not _NAME.match(name)
            or not isinstance(entry, dict)
            or not re.fullmatch(r"[0-9a-f]{64}", str(entry.get("sha256", "")))
        ):
            raise ArchiveError(f"{MANIFEST}: the entry for {name!r} is malformed.")
    for entry in tables:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("model"), str)
            or entry.get("json") not in files
            or isinstance(entry.get("rows"), bool)
            or not isinstance(entry.get("rows"), int)
        ):
            raise ArchiveError(f"{MANIFEST}: the table entry {str(entry)[:80]!r} is malformed.")
    return manifest


def check_files(archive: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
    """Every listed file present with its SHA-256, and no file the manifest does not list."""
    present = set(archive.namelist()) - {MANIFEST}
    listed = manifest["files"]
    for name in sorted(listed):
        if name not in present:
            raise ArchiveError(f"{name} is listed in {MANIFEST} but missing from the archive.")
    unlisted = sorted(present - set(listed))
    if unlisted:
        raise ArchiveError(f"{unlisted[0]} is in the archive but not in {MANIFEST}.")
    for name in sorted(listed):
        digest = hashlib.sha256()
        try:
            with archive.open(name) as stream:
                while chunk := stream.read(_READ_CHUNK):
                    digest.update(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise ArchiveError(f"{name} is damaged ({error}).") from None
        if digest.hexdigest() != listed[name]["sha256"]:
            raise ArchiveError(
                f"{name}: checksum mismatch: the file was changed or damaged after the export."
            )


def plan(manifest: dict[str, Any]) -> tuple[list[_Planned], list[str]]:
    """The archive's tables in this installation's insert order, and this installation's
    tables the archive does not hold (an older export: they stay empty)."""
    known = {t.label: t for t in exported_tables()}
    given: dict[str, dict] = {}
    for entry in manifest["tables"]:
        table = known.get(entry["model"])
        if table is None:
            raise ArchiveError(
                f"{entry['json']}: this installation has no table {entry['model']} (or does not import it)."
            )
        if entry["json"] != table.json_name:
            raise ArchiveError(f"{MANIFEST}: {entry['model']} should be in {table.json_name}.")
        if entry["model"] in given:
            raise ArchiveError(f"{MANIFEST}: {entry['model']} is listed twice.")
        given[entry["model"]] = entry
    ordered = [
        _Planned(table, given[label]["json"], given[label]["rows"])
        for label, table in known.items()
        if label in given
    ]
    missing = [table.json_name for label, table in known.items() if label not in given]
    return ordered, missing


# ---- writing ---------------------------------------------------------------------------------


def check_empty(using: str) -> None:
    found = []
    for label in IN_USE:
        model = apps.get_model(label)
        if model._base_manager.using(using).exists():
            found.append(f"{model._base_manager.using(using).count()} {model._meta.verbose_name_plural}")
    if found:
        raise ArchiveError(
            "This installation is not empty (it holds " + ", ".join(found) + "). import_salon only "
            "fills a new installation: an empty database after `manage.py migrate`, before anyone "
            "is added. Nothing was changed."
        )


def _row_values(planned: _Planned, n: int, row: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The field values of one JSON row (and a user's group and permission names), checked."""
    table, name = planned.table, planned.name
    if not isinstance(row, dict):
        raise ArchiveError(f"{name} row {n}: expected an object, got {codec._json_type(row)}.")
    by_name = {c.name: c for c in table.columns}
    for key in row:
        if key not in by_name:
            raise ArchiveError(f"{name} row {n}: unknown column {key!r}.")
    values: dict[str, Any] = {}
    names: dict[str, list[str]] = {}
    for column in table.columns:
        if column.name not in row:
            if column.field is None:
                names[column.name] = []
            else:
                values[column.name] = _missing(planned, n, column)
            continue
        try:
            value = codec.from_json(column, row[column.name])
        except codec.BadValue as error:
            raise ArchiveError(f"{name} row {n}, column {column.name}: {error}.") from None
        if column.field is None:
            names[column.name] = value or []
        elif value is None and column.kind == "json" and not column.field.null:
            values[column.name] = models.Value(None, output_field=models.JSONField())  # JSON null
        else:
            values[column.name] = value
    return values, names


def _missing(planned: _Planned, n: int, column: Column) -> Any:
    """A column an older archive does not have: its default, if it has one."""
    f = column.field
    if f.has_default():
        return f.get_default()
    if f.null:
        return None
    raise ArchiveError(f"{planned.name} row {n}: column {column.name!r} is missing.")


def _db_message(error: Exception) -> str:
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def _insert(model: type[models.Model], objs: list, fields: list, using: str) -> None:
    # raw=True: the values as given (auto_now and the like would replace an updated_at),
    # still through get_db_prep_save, so encrypted fields are encrypted with this install's keys.
    model._base_manager._insert(objs, fields=fields, using=using, raw=True)


def _insert_batch(planned: _Planned, batch: list[tuple[int, models.Model]], using: str) -> None:
    model = planned.table.model
    fields = list(model._meta.concrete_fields)
    savepoint = transaction.savepoint(using=using)
    try:
        _insert(model, [obj for _n, obj in batch], fields, using)
    except DatabaseError as error:
        transaction.savepoint_rollback(savepoint, using=using)
        first = _db_message(error)
    else:
        transaction.savepoint_commit(savepoint, using=using)
        return
    # Which row? One at a time until the database refuses one, to name it.
    for n, obj in batch:
        savepoint = transaction.savepoint(using=using)
        try:
            _insert(model, [obj], fields, using)
        except DatabaseError as error:
            transaction.savepoint_rollback(savepoint, using=using)
            raise ArchiveError(
                f"{planned.name} row {n}: the database refused it: {_db_message(error)}"
            ) from None
        transaction.savepoint_commit(savepoint, using=using)
    raise ArchiveError(
        f"{planned.name} rows {batch[0][0]}-{batch[-1][0]}: the database refused them: {first}"
    )


def _load_table(
    archive: zipfile.ZipFile, planned: _Planned, using: str, user_names: dict[int, dict[str, list[str]]]
) -> int:
    table = planned.table
    model = table.model
    pk_name = model._meta.pk.attname
    n_fields = len(model._meta.concrete_fields)
    batch_rows = max(1, min(BATCH_ROWS, 30000 // max(1, n_fields)))
    batch: list[tuple[int, models.Model]] = []
    count = 0
    with _open_text(archive, planned.name) as stream:
        for n, row in iter_json_array(stream, planned.name):
            values, names = _row_values(planned, n, row)
            obj = model(**values)
            if table.is_users:
                obj.password = make_password(None)  # unusable: `manage.py changepassword <name>`
                user_names[getattr(obj, pk_name)] = names
            if table.derive is not None:
                table.derive(obj)
            batch.append((n, obj))
            count = n
            if len(batch) >= batch_rows:
                _insert_batch(planned, batch, using)
                batch = []
        if batch:
            _insert_batch(planned, batch, using)
    if count != planned.rows:
        raise ArchiveError(f"{planned.name} holds {count} rows; {MANIFEST} says {planned.rows}.")
    return count


def _user_links(user_names: dict[int, dict[str, list[str]]], using: str) -> list[str]:
    """A user's groups (made if this installation lacks one) and extra permissions, by name."""
    user = get_user_model()
    warnings = []
    groups: dict[str, Group] = {g.name: g for g in Group.objects.using(using).all()}
    perms = {
        f"{app}.{codename}": pk
        for pk, app, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    group_links, perm_links = [], []
    for user_id, names in sorted(user_names.items()):
        for name in names.get("groups", []):
            if name not in groups:
                groups[name] = Group.objects.using(using).create(name=name)
                warnings.append(f"Group {name!r} did not exist here; it was created without permissions.")
            group_links.append(user.groups.through(user_id=user_id, group_id=groups[name].pk))
        for code in names.get("user_permissions", []):
            if code in perms:
                perm_links.append(user.user_permissions.through(user_id=user_id, permission_id=perms[code]))
            else:
                warnings.append(f"User {user_id}: permission {code!r} does not exist here; left out.")
    user.groups.through.objects.using(using).bulk_create(group_links)
    user.user_permissions.through.objects.using(using).bulk_create(perm_links)
    return warnings


_FK_ERROR = re.compile(r'table "(?P<table>[^"]+)".*Key \((?P<column>[^)]+)\)=\((?P<value>[^)]*)\)', re.S)


def _check_references(archive: zipfile.ZipFile, planned: list[_Planned], using: str) -> None:
    """Every reference points at a row (PostgreSQL defers foreign keys to here)."""
    try:
        connections[using].check_constraints()
    except DatabaseError as error:
        message = _db_message(error)
        match = _FK_ERROR.search(str(error))
        if match:
            for p in planned:
                if p.table.model._meta.db_table == match["table"]:
                    with _open_text(archive, p.name) as stream:
                        for n, row in iter_json_array(stream, p.name):
                            if isinstance(row, dict) and str(row.get(match["column"])) == match["value"]:
                                column = next(c for c in p.table.columns if c.name == match["column"])
                                raise ArchiveError(
                                    f"{p.name} row {n}, column {column.name}: {match['value']} refers to "
                                    f"a row that is not in {column.ref}.json."
                                ) from None
                    raise ArchiveError(f"{p.name}: a reference to a missing row: {message}") from None
        raise ArchiveError(f"A reference to a missing row: {message}") from None


def _reset_sequences(planned: list[_Planned], using: str) -> None:
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), [p.table.model for p in planned])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _replace_defaults(planned: list[_Planned], using: str) -> dict[str, int]:
    """Rows this installation made for itself (a migration's message templates) in tables the
    archive fills: the archive's rows replace them."""
    replaced = {}
    for p in reversed(planned):
        qs = p.table.model._base_manager.using(using).all()
        if qs.exists():
            replaced[p.table.stem] = qs.count()
            qs.delete()
    return replaced


def salon_import(*, source: str | Path, using: str = DEFAULT_DB_ALIAS) -> ImportResult:
    """Import the archive at `source` into this (empty) installation; all or nothing. Raises
    ArchiveError, naming the file, row and column, with the database unchanged."""
    try:
        archive = zipfile.ZipFile(source)
    except FileNotFoundError:
        raise ArchiveError(f"No such file: {source}") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{source} is not a readable ZIP archive ({error}).") from None
    result = ImportResult()
    with archive:
        result.manifest = manifest = read_manifest(archive)
        check_files(archive, manifest)
        planned, result.not_in_archive = plan(manifest)
        check_empty(using)
        user_names: dict[int, dict[str, list[str]]] = {}
        with transaction.atomic(using=using):
            result.replaced = _replace_defaults(planned, using)
            for p in planned:
                result.rows[p.table.stem] = _load_table(archive, p, using, user_names)
            result.warnings += _user_links(user_names, using)
            _check_references(archive, planned, using)
            _reset_sequences(planned, using)
    return result


def import_logged(*, source: str | Path, using: str = DEFAULT_DB_ALIAS) -> ImportResult:
    """salon_import, then one access-log row (action import, "whole salon", no user)."""
    from customers.models import AccessLog
    from customers.services.data_rights import access_log_record
    from salon_crm.portability.exporter import LOG_DETAIL

    result = salon_import(source=source, using=using)
    access_log_record(user=None, customer=None, action=AccessLog.Action.IMPORT, detail=LOG_DETAIL)
    return result
