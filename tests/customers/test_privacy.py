"""Privacy: encryption at rest, wrong keys, key rotation, change history without plaintext
health, access log, export and erasure (services, commands, manager-only pages)."""

import io
import json

import pytest
from auditlog.models import LogEntry
from cryptography.fernet import Fernet
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from customers.models import AccessLog, ColourFormula, Customer, PatchTest
from customers.services import customer_create, customer_update
from salon_crm import crypto
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory, TagFactory

pytestmark = pytest.mark.django_db


def _raw(pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT allergies, contraindications, medical_notes FROM customers_customer WHERE id = %s", [pk]
        )
        return cursor.fetchone()


@pytest.fixture
def fresh_keys():
    """Clear crypto's key cache around a test that changes FIELD_ENCRYPTION_KEYS."""
    crypto._multifernet.cache_clear()
    yield
    crypto._multifernet.cache_clear()


def test_health_fields_encrypted_at_rest(manager):
    customer = customer_create(
        user=manager.user, name="张三", allergies="PPD hair-dye allergy", medical_notes="hypertension"
    )
    raw = _raw(customer.pk)
    assert all(value.startswith("fernet:") for value in raw[::2])
    assert raw[1] == ""
    assert "PPD" not in raw[0] and "hypertension" not in raw[2]
    assert Customer.objects.get(pk=customer.pk).allergies == "PPD hair-dye allergy"


def test_wrong_key_raises_never_ciphertext(fresh_keys):
    customer = CustomerFactory(allergies="latex")
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        crypto._multifernet.cache_clear()
        with pytest.raises(crypto.DecryptionError):
            Customer.objects.get(pk=customer.pk)


def test_rotate_encryption_keys(settings, fresh_keys):
    customer = CustomerFactory(allergies="latex", contraindications="pregnant")
    blank = CustomerFactory()
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    before = _raw(customer.pk)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    crypto._multifernet.cache_clear()
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "1", stdout=out)
    assert "Re-encrypted 2 rows" in out.getvalue()
    after = _raw(customer.pk)
    assert after[0] != before[0] and after[2] == ""
    # Only the new key is needed now.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    crypto._multifernet.cache_clear()
    reread = Customer.objects.get(pk=customer.pk)
    assert (reread.allergies, reread.contraindications) == ("latex", "pregnant")
    assert Customer.objects.get(pk=blank.pk).allergies == ""


def test_change_history_never_holds_plaintext_health(manager):
    customer = customer_create(user=manager.user, name="张三", allergies="PPD secret")
    customer_update(user=manager.user, customer=customer, data={"allergies": "PPD and latex", "notes": "n"})
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_pk=str(customer.pk)
    ).order_by("pk")
    assert entries.count() == 2
    dumped = json.dumps([e.changes for e in entries], ensure_ascii=False)
    assert "PPD" not in dumped and "latex" not in dumped and "fernet:" not in dumped
    update = entries.last().changes
    changes = update if isinstance(update, dict) else json.loads(update)
    assert changes["allergies"] == ["[redacted]", "[redacted]"]
    assert changes["notes"] == ["", "n"]


def test_api_detail_and_card_and_export_write_access_log(client_as, api_as, manager):
    customer = CustomerFactory()
    api_as(manager).get(reverse("api-customer", args=[customer.pk]))
    client = client_as(manager)
    client.get(reverse("customers:detail", args=[customer.pk]))
    client.post(reverse("customers:export_json", args=[customer.pk]))
    assert list(AccessLog.objects.order_by("pk").values_list("action", "user", "customer")) == [
        ("api_view", manager.user.pk, customer.pk),
        ("view_file", manager.user.pk, customer.pk),
        ("export_one", manager.user.pk, customer.pk),
    ]


def test_export_page_is_manager_only(client_as, reception, stylist):
    customer = CustomerFactory()
    for staff in (reception, stylist):
        response = client_as(staff).post(reverse("customers:export_json", args=[customer.pk]))
        assert response.status_code == 403
    assert AccessLog.objects.count() == 0


def test_export_page_download(client_as, manager):
    customer = CustomerFactory(name="张三", allergies="PPD")
    FormulaFactory(customer=customer, shades=[("7/1", 30)])
    response = client_as(manager).post(reverse("customers:export_json", args=[customer.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="client-{customer.pk}.json"'
    data = json.loads(response.content)
    assert data["customer"]["name"] == "张三" and data["customer"]["allergies"] == "PPD"
    assert data["formulas"][0]["shades"] == [{"shade": "7/1", "grams": "30.0"}]


def test_export_customer_command(tmp_path):
    customer = CustomerFactory(name="Emily Clark", allergies="latex", tags=[TagFactory(name="VIP")])
    PatchTestFactory(customer=customer, product="Majirel")
    out = io.StringIO()
    call_command("export_customer", str(customer.pk), stdout=out)
    data = json.loads(out.getvalue())
    assert (data["customer"]["name"], data["customer"]["tags"]) == ("Emily Clark", ["VIP"])
    assert [p["product"] for p in data["patch_tests"]] == ["Majirel"]
    assert data["access_log"] == []  # this export is logged after the data is gathered
    target = tmp_path / "c.json"
    call_command("export_customer", str(customer.pk), "--output", str(target), stderr=io.StringIO())
    assert json.loads(target.read_text())["customer"]["allergies"] == "latex"
    assert AccessLog.objects.filter(customer=customer, action="export_one").count() == 2
    out = io.StringIO()
    call_command("export_customer", str(customer.pk), stdout=out)
    assert [row["action"] for row in json.loads(out.getvalue())["access_log"]] == ["export_one", "export_one"]


def test_erase_customer_command(manager):
    referrer = CustomerFactory()
    customer = customer_create(
        user=manager.user,
        name="张三",
        phone="+8613800138000",
        email="z@example.com",
        allergies="PPD",
        notes="VIP, loves tea",
        referred_by=referrer,
        tags=["VIP"],
    )
    formula = FormulaFactory(customer=customer)
    ColourFormula.objects.filter(pk=formula.pk).update(result_notes="张三 liked it")
    PatchTestFactory(customer=customer, notes="張 reaction")
    call_command("erase_customer", str(customer.pk), "--yes", stdout=io.StringIO())
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.name == f"Erased client #{customer.pk}"
    assert (customer.phone, customer.email, customer.allergies, customer.notes) == (None, "", "", "")
    assert (customer.do_not_contact, customer.consent_sms, customer.erased_at is not None) == (
        True,
        False,
        True,
    )
    assert customer.name_pinyin == f"erasedclient{customer.pk}"
    # Rows other apps and aggregates rely on are kept, without personal text.
    assert ColourFormula.objects.get(pk=formula.pk).result_notes == ""
    assert PatchTest.objects.get(customer=customer).notes == ""
    history = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Customer))
    assert "张三" not in json.dumps([e.changes for e in history], ensure_ascii=False)
    assert AccessLog.objects.filter(customer=customer, action="erase").count() == 1


def test_erase_page_needs_confirmation_and_manager(client_as, manager, reception):
    customer = CustomerFactory(name="张三")
    url = reverse("customers:erase", args=[customer.pk])
    assert client_as(reception).post(url, {"confirm": "on"}).status_code == 403
    client = client_as(manager)
    response = client.post(url, {})
    assert response.status_code == 200 and Customer.objects.get(pk=customer.pk).name == "张三"
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).name == f"Erased client #{customer.pk}"
