"""No health text in plain columns (issue 8, item 4): a safety override keeps warning codes and
ids (its reason encrypted), a patch test's notes are encrypted, change history masks them, old
rows are rewritten by the migration, and a pg_dump of a seeded, used database holds none of the
demo's allergy or contraindication strings."""

import importlib
import json
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest
from auditlog.models import LogEntry
from django.apps import apps as django_apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.demo import seed_all
from customers.demo import ALLERGIES, CONTRAINDICATIONS
from customers.models import Customer, PatchTest, SafetyOverride
from customers.safety import customer_safety_warnings, safety_override_messages
from customers.services import customer_merge, customer_update, patch_test_record, safety_override_record
from tests.customers.factories import CustomerFactory, PatchTestFactory

COLOUR = SimpleNamespace(name="Colour", requires_patch_test=True)
MIGRATION = importlib.import_module("customers.migrations.0004_text_hygiene_and_health_encryption")


def _raw(table: str, column: str, pk: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_override_keeps_codes_and_ids_and_an_encrypted_reason(manager):
    customer = CustomerFactory(allergies="PPD hair dye", contraindications="pregnant")
    test = PatchTestFactory(customer=customer, product="Wella Koleston", result=PatchTest.Result.FAILED)
    warnings = customer_safety_warnings(customer, [COLOUR])
    assert [w.message for w in warnings][:2] == [
        "Allergy on file: PPD hair dye",
        "Contraindication: pregnant",
    ]

    override = safety_override_record(
        customer=customer,
        warnings=warnings,
        reason="PPD-free dye, confirmed",
        user=manager.user,
        context="booking",
    )

    override.refresh_from_db()
    assert override.warnings == [
        {"code": "allergy"},
        {"code": "contraindication"},
        {"code": "patch_test_failed", "service": "Colour", "patch_test": test.pk},
    ]
    assert override.reason == "PPD-free dye, confirmed"
    raw_reason = _raw("customers_safetyoverride", "reason", override.pk)
    assert raw_reason.startswith("fernet:") and "PPD" not in raw_reason
    assert "PPD" not in json.dumps(_raw("customers_safetyoverride", "warnings", override.pk))
    assert safety_override_messages(override) == [
        "Allergy on file",
        "Contraindication on file",
        f"The last patch test had a reaction: Colour (Wella Koleston, {test.tested_on.isoformat()})",
    ]


@pytest.mark.django_db
def test_override_reason_refuses_control_characters_and_saves_nothing(manager):
    customer = CustomerFactory(allergies="PPD")
    with pytest.raises(ValidationError) as exc:
        safety_override_record(
            customer=customer,
            warnings=customer_safety_warnings(customer),
            reason="ok\x1b[31m",
            user=manager.user,
            context="booking",
        )
    assert list(exc.value.message_dict) == ["override_reason"]
    assert SafetyOverride.objects.count() == 0


@pytest.mark.django_db
def test_patch_test_notes_are_encrypted_and_masked_in_the_history(manager, stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    test = patch_test_record(
        customer=customer,
        user=manager.user,
        product="Igora",
        tested_on=timezone.localdate(),
        notes="red rash",
    )
    assert PatchTest.objects.get(pk=test.pk).notes == "red rash"
    assert _raw("customers_patchtest", "notes", test.pk).startswith("fernet:")
    entry = LogEntry.objects.get_for_object(test).get()
    assert entry.changes["notes"][1] == "[redacted]"
    assert "red rash" not in json.dumps(entry.changes) + entry.changes_text


@pytest.mark.django_db
def test_admin_shows_override_warnings_rebuilt_from_codes(client, owner):
    owner.user.is_staff = owner.user.is_superuser = True
    owner.user.save()
    customer = CustomerFactory(allergies="Latex-secret")
    override = safety_override_record(
        customer=customer,
        warnings=customer_safety_warnings(customer),
        reason="checked",
        user=owner.user,
        context="check-in",
    )
    client.force_login(owner.user)
    html = client.get(reverse("admin:customers_safetyoverride_change", args=[override.pk])).content.decode()
    assert "Allergy on file" in html and "Latex-secret" not in html
    assert client.get(reverse("admin:customers_safetyoverride_changelist")).status_code == 200


@pytest.mark.django_db
def test_migration_rewrites_old_rows(manager):
    customer = CustomerFactory(allergies="PPD")
    test = PatchTestFactory(customer=customer)
    override = SafetyOverride.objects.create(
        customer=customer, context="booking", reason="x", user=manager.user
    )
    legacy = [
        {"code": "allergy", "message": "Allergy on file: PPD hair-dye allergy", "service": ""},
        {"code": "patch_test_expired", "message": "The patch test (Igora) expired", "service": "Colour"},
    ]
    with connection.cursor() as cursor:  # as rows were before the migration: plain text
        cursor.execute(
            "UPDATE customers_safetyoverride SET warnings = %s, reason = %s WHERE id = %s",
            [json.dumps(legacy), "Client says the PPD allergy is mild", override.pk],
        )
        cursor.execute("UPDATE customers_patchtest SET notes = %s WHERE id = %s", ["itchy scalp", test.pk])
    customer_log = LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Customer),
        object_pk=str(customer.pk),
        object_repr="x",
        action=LogEntry.Action.UPDATE,
        changes={"allergies": ["", "PPD hair-dye allergy"], "name": ["a", "b"]},
    )
    test_log = LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(PatchTest),
        object_pk=str(test.pk),
        object_repr="x",
        action=LogEntry.Action.UPDATE,
        changes={"notes": ["None", "itchy scalp"]},
    )

    MIGRATION.forwards(django_apps, SimpleNamespace(connection=connection))

    override.refresh_from_db()
    assert override.warnings == [{"code": "allergy"}, {"code": "patch_test_expired", "service": "Colour"}]
    assert override.reason == "Client says the PPD allergy is mild"
    assert _raw("customers_safetyoverride", "reason", override.pk).startswith("fernet:")
    assert PatchTest.objects.get(pk=test.pk).notes == "itchy scalp"
    assert _raw("customers_patchtest", "notes", test.pk).startswith("fernet:")
    customer_log.refresh_from_db()
    test_log.refresh_from_db()
    assert customer_log.changes == {"allergies": ["", "[redacted]"], "name": ["a", "b"]}
    assert test_log.changes == {"notes": ["None", "[redacted]"]}
    # run twice: nothing changes (already encrypted rows are left alone)
    before = _raw("customers_safetyoverride", "reason", override.pk)
    MIGRATION.forwards(django_apps, SimpleNamespace(connection=connection))
    assert _raw("customers_safetyoverride", "reason", override.pk) == before
    # and back: the reason and the notes are plain again
    MIGRATION.backwards(django_apps, SimpleNamespace(connection=connection))
    assert _raw("customers_safetyoverride", "reason", override.pk) == "Client says the PPD allergy is mild"
    assert _raw("customers_patchtest", "notes", test.pk) == "itchy scalp"


def _forms_in_a_dump(text: str) -> set[str]:
    """The ways `text` could sit in a plain-format dump: as it is, JSON-escaped (ensure_ascii),
    and that again with COPY's backslash escaping."""
    escaped = json.dumps(text)[1:-1]
    return {text, escaped, escaped.replace("\\", "\\\\")}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dump_of_a_used_demo_database_holds_no_health_text(tmp_path):
    # given: the demo, and what staff do with allergic clients (committed: pg_dump must see it)
    ctx = seed_all(password="pw-demo-123", log=lambda message: None)
    manager = ctx.staff["manager"].user
    health = Customer.objects.exclude(allergies="") | Customer.objects.exclude(contraindications="")
    clients = list(health.order_by("pk")[:8])
    assert len(clients) == 8 and clients[0].name == "张三"
    for customer in clients[:6]:
        safety_override_record(
            customer=customer,
            warnings=customer_safety_warnings(customer, [COLOUR]),
            reason="Client confirmed, went ahead",
            user=manager,
            context="booking",
        )
    customer_update(user=manager, customer=clients[0], data={"allergies": f"{ALLERGIES[1]}; {ALLERGIES[2]}"})
    customer_update(user=manager, customer=clients[1], data={"contraindications": CONTRAINDICATIONS[2]})
    customer_merge(keep=clients[6], merge=clients[7], by=manager)
    patch_test_record(
        customer=clients[2],
        user=manager,
        product="Wella Koleston",
        tested_on=timezone.localdate() - timedelta(days=1),
        notes=ALLERGIES[3],
    )
    assert SafetyOverride.objects.count() == 6

    # when
    dump = subprocess.run(
        [
            "/usr/bin/pg_dump",
            "--host",
            connection.settings_dict.get("HOST") or "127.0.0.1",
            "--port",
            str(connection.settings_dict.get("PORT") or 5432),
            "--username",
            connection.settings_dict.get("USER") or "postgres",
            "--no-owner",
            connection.settings_dict["NAME"],
        ],
        capture_output=True,
        check=True,
        env={"PGPASSWORD": connection.settings_dict.get("PASSWORD") or "", "PATH": "/usr/bin"},
        timeout=120,
    ).stdout.decode("utf-8")

    # then: the data is there (names, ciphertext), the health text is not
    assert "张三" in dump and "fernet:" in dump and "customers_safetyoverride" in dump
    found = [
        text for text in [*ALLERGIES, *CONTRAINDICATIONS] for form in _forms_in_a_dump(text) if form in dump
    ]
    assert found == []
