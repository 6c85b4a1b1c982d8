"""The backup drill (issue 16): seed the demo chain, back up with `manage.py backup_db`, wipe,
restore with `manage.py restore_db`, and every table reads back identical - row counts and a
digest of every row, every ledger balance, every outbox status and every encrypted health field
decrypted. A backup taken while writes go on restores to a consistent state (each ledger equals
the sum of its entries). PostgreSQL only: pg_dump and pg_restore against the test database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.demo import seed_all
from customers.models import Customer
from loyalty.models import LoyaltyAccount
from loyalty.services import ledger_check, points_adjust
from messaging.models import OutboundMessage
from salon_crm import backup

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump / pg_restore need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def tables() -> list[str]:
    return sorted(
        {m._meta.db_table for m in apps.get_models(include_auto_created=True) if m._meta.managed}
        | {"django_migrations"}
    )


def digest() -> dict[str, tuple[int, str]]:
    """(rows, md5 of every row's text in primary-key order) per table."""
    out = {}
    with connection.cursor() as cursor:
        for table in tables():
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"{table}\" t"
            )
            out[table] = cursor.fetchone()
    return out


def readable() -> dict:
    """What a person reads back: balances, outbox statuses, decrypted health fields."""
    return {
        "balances": list(
            LoyaltyAccount.objects.order_by("pk").values_list("pk", "points", "principal", "bonus")
        ),
        "outbox": list(OutboundMessage.objects.order_by("pk").values_list("pk", "status", "idempotency_key")),
        "health": list(
            Customer._base_manager.order_by("pk").values_list(
                "pk", "allergies", "contraindications", "medical_notes"
            )
        ),
    }


def wipe() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables()) + " CASCADE")


def test_backup_wipe_restore_reads_back_every_row_ledger_message_and_health_field(tmp_path):
    seed_all(password="drill-password-1", log=lambda _m: None)
    before, seen = digest(), readable()
    assert seen["balances"] and seen["outbox"], "the demo has ledgers and an outbox to bring back"
    assert any(row[1] for row in seen["health"]), "the demo has encrypted health fields to bring back"
    assert sum(rows for rows, _md5 in before.values()) > 1000

    dump = tmp_path / "salon.dump"
    call_command("backup_db", str(dump))
    assert dump.stat().st_size > 10_000
    wipe()
    assert LoyaltyAccount.objects.count() == 0 and Customer._base_manager.count() == 0

    call_command("restore_db", str(dump), interactive=False)
    after = digest()
    assert after == before, {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert readable() == seen
    assert all(ledger_check(a).ok for a in LoyaltyAccount.objects.all())
    assert backup.keys_read_restored_data() is True
    print(
        f"drill: {len(before)} tables, {sum(rows for rows, _md5 in before.values()):,} rows identical "
        f"(count and md5 of every row); {len(seen['balances'])} balances, {len(seen['outbox'])} outbox rows, "
        f"{len(seen['health'])} health fields read back"
    )


def test_a_backup_taken_under_writes_restores_consistent(tmp_path):
    seed_all(password="drill-password-1", log=lambda _m: None)
    owner = get_user_model().objects.get(username="owner")
    members = list(Customer.objects.filter(loyalty__isnull=False).order_by("pk")[:20])
    assert members
    stop, done = threading.Event(), []

    def write() -> None:
        n = 0
        try:
            while not stop.is_set() and n < 2000:
                points_adjust(customer=members[n % len(members)], points=1 + n % 7, reason="drill", by=owner)
                n += 1
        finally:
            done.append(n)
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    dump = tmp_path / "busy.dump"
    try:
        call_command("backup_db", str(dump))
    finally:
        stop.set()
        writer.join()
    assert done and done[0] > 0
    wipe()
    call_command("restore_db", str(dump), interactive=False)
    # pg_dump's single snapshot: every account equals its entries, whatever was half-way
    assert all(ledger_check(a).ok for a in LoyaltyAccount.objects.all())


def test_a_broken_dump_changes_nothing(tmp_path):
    seed_all(password="drill-password-1", log=lambda _m: None)
    before = digest()
    good = tmp_path / "good.dump"
    call_command("backup_db", str(good))
    broken = tmp_path / "broken.dump"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("restore_db", str(broken), interactive=False)
    assert digest() == before
    with pytest.raises(CommandError, match="No such backup file"):
        call_command("restore_db", str(Path(tmp_path / "missing.dump")), interactive=False)
