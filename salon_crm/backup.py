"""Backup and restore of the `default` PostgreSQL database with pg_dump / pg_restore (custom
format), for `make backup FILE=…` / `make restore FILE=…` (manage.py backup_db / restore_db).

What a dump holds and what it does not: every table, sequence and constraint of the database,
taken from one snapshot (pg_dump reads inside a single repeatable-read transaction, so a backup
taken while the salon is open is consistent: no visit without its payments, no ledger entry
without its balance). It does **not** hold the secrets that make it readable: the health fields
are encrypted with FIELD_ENCRYPTION_KEYS, which live in the environment, never in the database.
Keep them with the backup's owner, apart from the dump: a restore with other keys brings back
rows whose health fields cannot be read (restore_db checks one and says so).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections

KEY_REMINDER = (
    "The dump does not hold FIELD_ENCRYPTION_KEYS or DJANGO_SECRET_KEY: keep them apart from it. "
    "Without the same encryption keys a restored database's health fields cannot be read."
)


@dataclass(frozen=True)
class Target:
    name: str
    env: dict
    args: list[str]  # --host/--port/--username


def target(alias: str = DEFAULT_DB_ALIAS) -> Target:
    db = connections[alias].settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise CommandError(
            "backup and restore work on PostgreSQL (DATABASE_URL). For the SQLite quick start, "
            "stop the server and copy var/db.sqlite3."
        )
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return Target(db["NAME"], env, args)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CommandError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return path


def media_archive(path: Path) -> Path:
    return path.with_name(path.name + ".media.tar.gz")


def backup(path: Path, *, alias: str = DEFAULT_DB_ALIAS) -> list[Path]:
    """pg_dump -Fc of the database into `path` (and MEDIA_ROOT, if it holds files, beside it).
    Written to a temporary name first: a failed dump never leaves a file that looks whole."""
    t = target(alias)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    result = subprocess.run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(partial),
            *t.args,
            t.name,
        ],
        env=t.env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
    partial.replace(path)
    written = [path]
    media = Path(settings.MEDIA_ROOT)
    if media.is_dir() and any(p.is_file() for p in media.rglob("*")):
        archive = media_archive(path)
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(media, arcname="media")
        written.append(archive)
    return written


def restore(path: Path, *, alias: str = DEFAULT_DB_ALIAS) -> None:
    """pg_restore of `path` into the database, replacing what is there, in one transaction: a
    restore that fails part-way leaves the database as it was."""
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"No such backup file: {path}")
    t = target(alias)
    connections[alias].close()
    result = subprocess.run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            t.name,
            *t.args,
            str(path),
        ],
        env=t.env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise CommandError(f"pg_restore failed (nothing was changed): {result.stderr.strip()}")
    archive = media_archive(path)
    if archive.is_file():
        media = Path(settings.MEDIA_ROOT)
        media.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(media.parent, filter="data")
            # the archive's top folder is "media"; MEDIA_ROOT may be named otherwise
            if media.name != "media":
                shutil.copytree(media.parent / "media", media, dirs_exist_ok=True)


def keys_read_restored_data() -> bool | None:
    """Whether the configured FIELD_ENCRYPTION_KEYS decrypt an encrypted health field of the
    database (None: no encrypted value to try)."""
    from customers.models import Customer
    from salon_crm.crypto import DecryptionError

    row = Customer.objects.exclude(allergies="").only("pk", "allergies").order_by("pk").first()
    if row is None:
        return None
    try:
        Customer.objects.only("allergies").get(pk=row.pk).allergies  # noqa: B018 - decrypts on load
    except DecryptionError:
        return False
    return True
