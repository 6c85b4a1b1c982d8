"""The whole-salon export: every table of salon data into one ZIP archive on disk.

Read in one snapshot (on PostgreSQL a REPEATABLE READ, READ ONLY transaction, as pg_dump does):
an export taken while the salon is open has no payment without its visit and no ledger entry
without its balance. Rows are streamed (`.iterator(chunk_size=...)`, a server-side cursor on
PostgreSQL) into two temporary files per table, JSON and CSV, written in one pass, then copied
into the archive with their SHA-256; memory does not grow with the number of clients.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from salon_crm.crypto import DecryptionError
from salon_crm.portability import codec
from salon_crm.portability.tables import Column, Table, exported_tables, left_out_models

FORMAT = "salon-crm-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK_ROWS = 2000
_COPY_BYTES = 1024 * 1024
# What the access log says of a whole-salon export or import (customers.AccessLog.detail).
LOG_DETAIL = "whole salon"


class ExportError(Exception):
    """The archive could not be written (the message says why); no archive was produced."""


@dataclass
class ExportResult:
    rows: dict[str, int] = field(default_factory=dict)  # file stem -> rows
    files: int = 0

    @property
    def clients(self) -> int:
        return self.rows.get("customers/customer", 0)


def app_version() -> str:
    try:
        return importlib.metadata.version("salon-crm")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed with pip
        return "unknown"


@contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """One consistent read of every table. Inside a caller's transaction (a test), its own."""
    conn = connections[using]
    if conn.in_atomic_block:
        yield
        return
    with transaction.atomic(using=using):
        if conn.vendor == "postgresql":
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _user_names(using: str) -> dict[str, dict[int, list[str]]]:
    """Each user's groups and extra permissions by name (the ids differ between installs)."""
    user = get_user_model()
    names: dict[str, dict[int, list[str]]] = {"groups": {}, "user_permissions": {}}
    groups = user.groups.through.objects.using(using).values_list("user_id", "group__name")
    for user_id, name in groups.order_by("group__name"):
        names["groups"].setdefault(user_id, []).append(name)
    perms = user.user_permissions.through.objects.using(using).values_list(
        "user_id", "permission__content_type__app_label", "permission__codename"
    )
    for user_id, app_label, codename in perms.order_by(
        "permission__content_type__app_label", "permission__codename"
    ):
        names["user_permissions"].setdefault(user_id, []).append(f"{app_label}.{codename}")
    return names


def table_rows(table: Table, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[dict[str, Any]]:
    """The table's rows in primary-key order, as the archive's JSON objects."""
    columns = table.field_columns
    extra = _user_names(using) if table.is_users else {}
    pk_index = next(i for i, c in enumerate(columns) if c.field.primary_key)
    rows = (
        table.model._base_manager.using(using)
        .order_by("pk")
        .values_list(*[c.name for c in columns])
        .iterator(chunk_size=CHUNK_ROWS)
    )
    for values in rows:
        row = {c.name: codec.to_json(c, v) for c, v in zip(columns, values, strict=True)}
        for name, by_user in extra.items():
            row[name] = by_user.get(values[pk_index], [])
        yield row


def _write_table(table: Table, folder: Path, using: str) -> tuple[Path, Path, int]:
    """The table as JSON (an array, one object per line) and CSV (UTF-8 with BOM), one read."""
    json_path, csv_path = folder / "table.json", folder / "table.csv"
    n = 0
    with (
        open(json_path, "w", encoding="utf-8", newline="\n") as out_json,
        open(csv_path, "w", encoding="utf-8-sig", newline="") as out_csv,
    ):
        writer = csv.writer(out_csv)
        writer.writerow([c.name for c in table.columns])
        out_json.write("[")
        for row in table_rows(table, using=using):
            out_json.write(",\n" if n else "\n")
            out_json.write(json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
            writer.writerow([codec.to_csv(c, row[c.name]) for c in table.columns])
            n += 1
        out_json.write("\n]\n" if n else "]\n")
    return json_path, csv_path, n


def _add_file(archive: zipfile.ZipFile, name: str, path: Path) -> dict[str, Any]:
    """Copy a file into the archive; its SHA-256 and size for the manifest."""
    size = path.stat().st_size
    info = zipfile.ZipInfo(name, date_time=timezone.localtime().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size = size  # tells zipfile whether the entry needs ZIP64
    digest = hashlib.sha256()
    with open(path, "rb") as src, archive.open(info, "w") as dst:
        while chunk := src.read(_COPY_BYTES):
            digest.update(chunk)
            dst.write(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def write_archive(dest: str | Path | IO[bytes], *, using: str = DEFAULT_DB_ALIAS) -> ExportResult:
    """Write the archive to `dest` (a path, or a binary file open for writing). Reads only."""
    from accounts.models import Location

    tables = exported_tables()
    result = ExportResult()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": app_version(),
        "exported_at": codec.to_json(Column("exported_at", "datetime"), timezone.now()),
        "time_zone": settings.TIME_ZONE,
        "currency": getattr(settings, "CURRENCY", ""),
        "encrypted_fields": "plain text (re-encrypted with the importing installation's keys)",
        "tables": [],
        "files": {},
        "left_out": left_out_models(),
    }
    folder = Path(tempfile.mkdtemp(prefix="salon-export-"))
    try:
        with (
            _snapshot(using),
            zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive,
        ):
            manifest["locations"] = [
                {"code": code, "name": name, "time_zone": tz}
                for code, name, tz in Location._base_manager.using(using)
                .order_by("pk")
                .values_list("code", "name", "time_zone")
            ]
            for table in tables:
                try:
                    json_path, csv_path, n = _write_table(table, folder, using)
                except DecryptionError as error:
                    raise ExportError(
                        f"{table.json_name}: {error} Set the FIELD_ENCRYPTION_KEYS the data was "
                        "encrypted with (newest first) and export again."
                    ) from None
                manifest["files"][table.json_name] = _add_file(archive, table.json_name, json_path)
                manifest["files"][table.csv_name] = _add_file(archive, table.csv_name, csv_path)
                manifest["tables"].append(
                    {"model": table.label, "json": table.json_name, "csv": table.csv_name, "rows": n}
                )
                result.rows[table.stem] = n
            archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
        result.files = len(manifest["files"]) + 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def salon_export(
    *, dest: str | Path | IO[bytes], user=None, ip: str | None = None, using: str = DEFAULT_DB_ALIAS
) -> ExportResult:
    """The whole-salon archive written to `dest`, then logged in the access log (action export,
    "whole salon"; the user and address for the page, no user for the command). The archive
    holds every client's personal and health data in plain text."""
    from customers.models import AccessLog
    from customers.services.data_rights import access_log_record

    result = write_archive(dest, using=using)
    access_log_record(user=user, customer=None, action=AccessLog.Action.EXPORT, detail=LOG_DETAIL, ip=ip)
    return result
