"""The whole-salon export and import (issue 16, item 5: no lock-in).

The round trip: seed the demo chain (plus one row of every table the demo leaves empty), export
with `manage.py export_salon`, TRUNCATE every exported table, import with `manage.py
import_salon`, export again: the two archives' files are identical table by table (the access
log gains the import's own row; the manifest differs in its date), and through the ORM every
ledger still equals its entries, an allergy still decrypts, a future appointment and a formula's
versions are back, the search finds a client and new rows take new ids. The refusals: a
non-empty installation, a tampered or damaged archive, and bad rows - each named by file, row
and column, and nothing written. The owner's page: a ZIP for the owner (logged with the user and
address), 403 for everyone else, a bounded number of queries. And docs/export-format.md's
column reference is what the models say.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.demo import seed_all
from accounts.models import AccessAlert, Location, PrivacySettings, StaffMember
from analytics.models import Campaign, CampaignMember
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentStatus,
    OnlineClientCheck,
    Product,
    Service,
    ServiceRecord,
    TimeOff,
    Visit,
    WaitlistEntry,
)
from customers.models import (
    AccessLog,
    ColourFormula,
    ConsentRecord,
    Customer,
    MergeRecord,
    SafetyOverride,
    Tag,
)
from customers.search import customer_search_ids
from customers.services.data_rights import access_log_record
from loyalty.models import (
    Coupon,
    Deposit,
    DepositEntry,
    DepositPolicy,
    FeeCharge,
    LoyaltyAccount,
    MembershipTier,
)
from loyalty.services import ledger_check, points_adjust
from messaging.models import MessageTemplate, OutboundMessage
from salon_crm.portability import codec, importer
from salon_crm.portability.tables import (
    EXCLUDED_FIELDS,
    EXCLUDED_MODELS,
    Column,
    describe_format,
    exported_tables,
    generated_part,
)
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory

DOC = Path(settings.BASE_DIR) / "docs" / "export-format.md"
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the round trip runs on PostgreSQL"
)
# Tables the demo (with _fill_the_gaps) may leave empty: none today. A new model the demo does not
# fill goes into _fill_the_gaps, so the round trip carries one of its rows.
DOCUMENTED_EMPTIES: set[str] = set()


# ---- helpers ---------------------------------------------------------------------------------


def _wipe() -> None:
    """Empty every exported table, as a new installation's would be (ids from 1 again)."""
    tables = {t.model._meta.db_table for t in exported_tables()}
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in sorted(tables)) + " RESTART IDENTITY CASCADE"
        )


def _exported_row_total() -> int:
    return sum(t.model._base_manager.count() for t in exported_tables())


def _files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(source: Path, target: Path, changes: dict[str, bytes | None], *, rehash: bool) -> Path:
    """A copy of the archive with files replaced (None: removed); with `rehash` the manifest's
    checksums follow, so only the rows are wrong, not the archive."""
    files = _files(source)
    for name, content in changes.items():
        if content is None:
            files.pop(name, None)
        else:
            files[name] = content
    if rehash:
        manifest = json.loads(files["manifest.json"])
        for name in manifest["files"]:
            if name in files:
                manifest["files"][name] = {
                    "sha256": hashlib.sha256(files[name]).hexdigest(),
                    "bytes": len(files[name]),
                }
        files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return target


def _rows(content: bytes) -> list[dict]:
    return json.loads(content.decode("utf-8"))


def _json_lines(rows: list) -> bytes:
    return ("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n").encode()


def _fill_the_gaps() -> dict:
    """One row of every table the demo leaves empty, so the round trip carries each of them."""
    owner = get_user_model().objects.get(username="owner")
    stylist = StaffMember.objects.get(user__username="stylist")
    location = Location.objects.get(code="jingan")
    now = timezone.now()
    future = list(
        Appointment.objects.filter(
            start__gt=now + timedelta(hours=2), status=AppointmentStatus.BOOKED
        ).order_by("pk")[:3]
    )
    assert len(future) == 3, "the demo books future appointments"
    customer = future[0].customer
    PrivacySettings.objects.create(pk=1, retention_years=5, access_alert_threshold=80, updated_by=owner)
    AccessAlert.objects.create(user=owner, day=timezone.localdate(), files=120, threshold=80)
    TimeOff.objects.create(
        staff=stylist, start=now + timedelta(days=20), end=now + timedelta(days=20, hours=3), reason="dentist"
    )
    service = Service.objects.order_by("pk").first()
    WaitlistEntry.objects.create(
        customer=customer, location=location, service=service, date=timezone.localdate() + timedelta(days=9)
    )
    item = (
        AppointmentItem.objects.filter(appointment__status=AppointmentStatus.COMPLETED).order_by("pk").first()
    )
    formula = ColourFormula.objects.order_by("pk").first()
    record = ServiceRecord.objects.create(
        item=item, notes="roots first", result="even", formula=formula, written_by=stylist
    )
    record.products_used.add(Product.objects.order_by("pk").first())
    OnlineClientCheck.objects.create(
        location=location,
        appointment=future[0],
        typed_name="张小姐",
        typed_phone="+8613700001234",
        provisional_pk=customer.pk,
    )
    # a correction of a formula: a new version that supersedes it
    ColourFormula.objects.create(
        customer=formula.customer, stylist=formula.stylist, brand=formula.brand, line="corrected", version=formula.version + 1,
        supersedes=formula, created_at=now,
    )  # fmt: skip
    SafetyOverride.objects.create(
        customer=customer, context="booking", warnings=[{"code": "allergy", "service": service.pk}],
        reason="client confirmed: no reaction last time", user=owner,
    )  # fmt: skip
    access_log_record(user=owner, customer=customer, action=AccessLog.Action.VIEW_FILE, ip="10.1.2.3")
    MergeRecord.objects.create(
        kept=customer, merged_name="张 (dup)", merged_pk=999_999, moved={"appointments": 1}, merged_by=owner
    )
    DepositPolicy.objects.create(
        name="Colour deposit", location=location, service=service, amount=Decimal("100.00")
    )
    deposit = Deposit.objects.create(
        appointment=future[1], customer=future[1].customer, amount=Decimal("100.00"), held=Decimal("100.00"),
        method="cash", location=location, taken_by=owner,
    )  # fmt: skip
    DepositEntry.objects.create(
        deposit=deposit, kind="taken", amount=Decimal("100.00"), key=f"deposit:{deposit.pk}:taken", by=owner
    )
    FeeCharge.objects.create(
        customer=future[2].customer, appointment=future[2], kind="late_cancel", amount=Decimal("50.00")
    )
    member = LoyaltyAccount.objects.filter(points__gt=10).order_by("pk").first()
    points_adjust(
        customer=member.customer, points=-3, reason="round-trip drill", by=owner
    )  # a debit: points draws
    campaign = Campaign.objects.create(
        name="Win back the dormant", status="launched", stages=["dormant"], message_kind="winback_offer",
        coupon_value=Decimal("30.00"), seed=42, created_by=owner, created_at=now, launched_at=now, launched_by=owner,
        excluded={"no_consent": 3},
    )  # fmt: skip
    campaign.locations.add(location)
    campaign.tags.add(Tag.objects.order_by("pk").first())
    campaign.tiers.add(MembershipTier.objects.order_by("pk").first())
    CampaignMember.objects.create(
        campaign=campaign, customer=customer, group="sent", coupon=Coupon.objects.order_by("pk").first(),
        message=OutboundMessage.objects.order_by("pk").first(), added_at=now,
    )  # fmt: skip
    return {"future": future[0].pk, "formula": formula.pk}


def _readable(marks: dict) -> dict:
    """What a person reads back through the ORM."""
    future = Appointment.objects.get(pk=marks["future"])
    formula = ColourFormula.objects.get(pk=marks["formula"])
    allergic = Customer.objects.exclude(allergies="").order_by("pk").first()
    return {
        "balances": list(LoyaltyAccount.objects.order_by("pk").values_list("pk", "points", "principal", "bonus")),
        "allergy": (allergic.pk, allergic.allergies, allergic.name_pinyin, allergic.phone_rev),
        "override_reason": list(SafetyOverride.objects.values_list("reason", flat=True)),
        "future": (
            future.customer_id, future.start, future.status, future.version,
            list(future.items.values_list("service_id", "staff_id", "start", "price")),
            future.online_check.typed_name,
        ),
        "versions": [(f.pk, f.version, f.line) for f in [formula, formula.superseded_by]],
        "shades": list(formula.shades.values_list("shade", "grams")),
        "owner_groups": list(get_user_model().objects.get(username="owner").groups.values_list("name", flat=True)),
    }  # fmt: skip


def _compare(first: Path, second: Path) -> None:
    """The two archives hold the same rows, table by table; the second's access log has the
    import's row at its end."""
    a, b = _files(first), _files(second)
    assert sorted(a) == sorted(b)
    for name in sorted(a):
        if name == "manifest.json" or name.startswith("customers/accesslog."):
            continue
        assert a[name] == b[name], f"{name} differs after the round trip"
    log_a, log_b = _rows(a["customers/accesslog.json"]), _rows(b["customers/accesslog.json"])
    assert log_b[:-1] == log_a
    assert {k: log_b[-1][k] for k in ("action", "detail", "user_id", "customer_id")} == {
        "action": "import", "detail": "whole salon", "user_id": None, "customer_id": None
    }  # fmt: skip
    m_a, m_b = json.loads(a["manifest.json"]), json.loads(b["manifest.json"])
    for m in (m_a, m_b):
        del m["exported_at"]
        m["files"] = {n: f for n, f in m["files"].items() if not n.startswith("customers/accesslog.")}
        m["tables"] = [t for t in m["tables"] if t["model"] != "customers.AccessLog"]
    assert m_a == m_b


# ---- the round trip --------------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_round_trip_through_an_empty_install_loses_nothing(tmp_path):
    seed_all(password="port-password-1", log=lambda _m: None)
    marks = _fill_the_gaps()
    empty = sorted(t.stem for t in exported_tables() if not t.model._base_manager.exists())
    assert empty == sorted(DOCUMENTED_EMPTIES), f"exported tables without a row: {empty}"
    before = _readable(marks)
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"

    out = io.StringIO()
    call_command("export_salon", str(first), stdout=out)
    assert "200 clients" in out.getvalue() and "personal and health data" in out.getvalue()
    logged = AccessLog.objects.get(action=AccessLog.Action.EXPORT)
    assert (logged.user_id, logged.detail, logged.customer_id) == (None, "whole salon", None)
    max_customer = Customer.objects.order_by("-pk").values_list("pk", flat=True).first()

    _wipe()
    assert _exported_row_total() == 0
    # a template the installation wrote for itself (as the messaging migration does): replaced
    MessageTemplate.objects.create(kind="reminder", channel="sms", language="en", body="a default")
    out = io.StringIO()
    call_command("import_salon", str(first), stdout=out)
    assert "Replaced this installation's own messaging/messagetemplate (1 rows)" in out.getvalue()
    assert "changepassword" in out.getvalue() and "clients scored" in out.getvalue()  # analytics rebuilt

    call_command("export_salon", str(second), stdout=io.StringIO())
    _compare(first, second)

    assert _readable(marks) == before
    assert all(ledger_check(account).ok for account in LoyaltyAccount.objects.all())
    allergic_pk = before["allergy"][0]
    with connection.cursor() as cursor:  # re-encrypted at rest with this installation's keys
        cursor.execute("SELECT allergies FROM customers_customer WHERE id = %s", [allergic_pk])
        assert cursor.fetchone()[0].startswith("fernet:")
    zhang = Customer.objects.get(pk=allergic_pk)
    assert zhang.pk in customer_search_ids(q=zhang.name)
    owner, manager = (get_user_model().objects.get(username=name) for name in ("owner", "manager"))
    assert not owner.has_usable_password() and not manager.has_usable_password()
    assert manager.has_perm("customers.export_customer")  # the role group came back by name
    # the sequences moved past the imported ids
    newcomer = CustomerFactory(name="新来的")
    assert newcomer.pk == max_customer + 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_bad_rows_are_refused_by_file_row_and_column_and_nothing_is_written(tmp_path):
    location = LocationFactory(code="jingan")
    stylist = StaffMemberFactory(user__username="stylist", role="stylist", locations=[location])
    zhang = CustomerFactory(name="张三", home_location=location)
    zhang.allergies = "PPD"
    zhang.save()
    CustomerFactory(name='=HYPERLINK("http://x")')
    ConsentRecord.objects.create(customer=zhang, channel="sms", granted=True, method="desk")
    FormulaFactory(customer=zhang, stylist=stylist)
    PatchTestFactory(customer=zhang)
    SafetyOverride.objects.create(
        customer=zhang, context="booking", warnings=[{"code": "allergy"}], reason="ok"
    )
    good = tmp_path / "good.zip"
    call_command("export_salon", str(good), stdout=io.StringIO())
    files = _files(good)
    csv = files["customers/customer.csv"].decode("utf-8")
    assert csv.startswith("\ufeffid,name,") and "'=HYPERLINK" in csv  # BOM; no live formula in Excel
    assert '"=HYPERLINK(\\"http://x\\")"' in files["customers/customer.json"].decode()  # JSON: as typed
    _wipe()

    customers = _rows(files["customers/customer.json"])
    consents = _rows(files["customers/consentrecord.json"])
    overrides = _rows(files["customers/safetyoverride.json"])
    deep = [{**overrides[0], "warnings": json.loads("[" * 40 + "]" * 40)}]
    bad = {
        "unknown column": ("customers/customer.json", [customers[0], {**customers[1], "nickname": "x"}], "customers/customer.json row 2: unknown column 'nickname'"),
        "wrong type": ("customers/customer.json", [{**customers[0], "birthday": 19900101}], "customers/customer.json row 1, column birthday: expected a date"),
        "bad date": ("customers/customer.json", [{**customers[0], "birthday": "1990-13-01"}], "column birthday: '1990-13-01' is not a date"),
        "NUL byte": ("customers/customer.json", [{**customers[0], "name": "张\u0000三"}], "row 1, column name: holds a NUL character"),
        "too long": ("customers/customer.json", [{**customers[0], "name": "x" * 101}], "column name: longer than 100 characters"),
        "naive time": ("customers/consentrecord.json", [{**consents[0], "recorded_at": "2026-01-01T10:00:00"}], "column recorded_at: '2026-01-01T10:00:00' has no time zone"),
        "money as a number": ("customers/formulashade.json", [{**_rows(files["customers/formulashade.json"])[0], "grams": 12.5}], "column grams: expected a decimal written as a string"),
        "deep JSON column": ("customers/safetyoverride.json", deep, "customers/safetyoverride.json row 1, column warnings: JSON nested deeper than 32 levels"),
        "deep JSON row": ("customers/consentrecord.json", None, "customers/consentrecord.json row 1: JSON nested too deeply"),
        "not JSON": ("customers/tag.json", None, "customers/tag.json: not a JSON array"),
        "dangling reference": ("customers/consentrecord.json", [{**consents[0], "customer_id": 987654}], "customers/consentrecord.json row 1, column customer_id: 987654 refers to a row that is not in customers/customer.json"),
        "duplicate id": ("customers/customer.json", [customers[0], {**customers[1], "id": customers[0]["id"]}], "customers/customer.json row 2: the database refused it"),
        "row count": ("customers/customer.json", customers[:1], "customers/customer.json holds 1 rows; manifest.json says 2"),
    }  # fmt: skip
    for case, (name, rows, message) in bad.items():
        if case == "deep JSON row":
            content = ("[" + "[" * 100_000 + "]" * 100_000 + "]").encode()
        elif case == "not JSON":
            content = b'{"id": 1}'
        else:
            content = _json_lines(rows)
        archive = _rewrite(good, tmp_path / f"{case}.zip", {name: content}, rehash=True)
        with pytest.raises(CommandError) as refused:
            call_command("import_salon", str(archive), "--no-analytics", stdout=io.StringIO())
        assert message in str(refused.value), (case, str(refused.value))
        assert "Nothing was imported" in str(refused.value)
        assert _exported_row_total() == 0, f"{case}: rows were written"
    assert AccessLog.objects.count() == 0  # a refused import is not logged as one

    call_command("import_salon", str(good), "--no-analytics", stdout=io.StringIO())
    assert Customer.objects.get(name="张三").allergies == "PPD"
    assert AccessLog.objects.filter(action=AccessLog.Action.IMPORT, detail="whole salon").count() == 1


@pytest.mark.django_db
def test_import_into_an_installation_in_use_is_refused_and_changes_nothing(tmp_path, owner):
    CustomerFactory(name="张三")
    archive = tmp_path / "salon.zip"
    call_command("export_salon", str(archive), stdout=io.StringIO())
    before = _exported_row_total()
    with pytest.raises(
        CommandError, match=r"not empty \(it holds 1 clients, 2 locations, 1 staff, 1 users\)"
    ):
        call_command("import_salon", str(archive), stdout=io.StringIO())
    assert _exported_row_total() == before


@pytest.mark.django_db
def test_a_tampered_or_damaged_archive_is_refused_before_anything(tmp_path, owner):
    # The checksums are checked before the installation is: this one is in use, and says nothing.
    CustomerFactory(name="张三")
    good = tmp_path / "good.zip"
    call_command("export_salon", str(good), stdout=io.StringIO())
    files = _files(good)
    edited = files["customers/customer.json"].replace("张三".encode(), "李四".encode())
    manifest = json.loads(files["manifest.json"])
    cases = {
        "customers/customer.json: checksum mismatch": {"customers/customer.json": edited},
        "customers/tag.csv is listed in manifest.json but missing from the archive": {
            "customers/tag.csv": None
        },
        "customers/extra.json is in the archive but not in manifest.json": {"customers/extra.json": b"[]"},
        "manifest.json is missing": {"manifest.json": None},
        "manifest.json is not valid JSON": {"manifest.json": b"{" * 10},
        "format version 2; this installation reads version 1": {
            "manifest.json": json.dumps({**manifest, "format_version": 2}).encode()
        },
    }
    before = _exported_row_total()
    for message, change in cases.items():
        archive = _rewrite(good, tmp_path / "bad.zip", change, rehash=False)
        with pytest.raises(CommandError, match="Nothing was imported") as refused:
            call_command("import_salon", str(archive), stdout=io.StringIO())
        assert message in str(refused.value)
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    with pytest.raises(CommandError, match="is not a readable ZIP archive"):
        call_command("import_salon", str(not_zip), stdout=io.StringIO())
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_salon", str(tmp_path / "missing.zip"), stdout=io.StringIO())
    assert _exported_row_total() == before


# ---- the owner's page --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_downloads_the_archive_and_it_is_logged(client, owner):
    zhang = CustomerFactory(name="张三")
    client.force_login(owner.user)
    page = client.get(reverse("portability:export"))
    assert page.status_code == 200
    assert "health data" in page.content.decode() and "customers" in page.content.decode().lower()
    settings_page = client.get(reverse("accounts:settings")).content.decode()
    assert f'href="{reverse("portability:export")}"' in settings_page

    response = client.post(reverse("portability:export"), {"confirm": "on"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="salon-export-{timezone.localdate():%Y-%m-%d}.zip"'
    )
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        customers = json.loads(archive.read("customers/customer.json"))
        assert [c["name"] for c in customers] == [zhang.name]
        assert "password" not in json.loads(archive.read("auth/user.json"))[0]
    log = AccessLog.objects.get()
    assert (log.user_id, log.action, log.detail, log.ip_address) == (
        owner.user_id,
        "export",
        "whole salon",
        "127.0.0.1",
    )


@pytest.mark.django_db
def test_an_unticked_confirmation_is_a_form_error_and_exports_nothing(client, owner):
    client.force_login(owner.user)
    response = client.post(reverse("portability:export"), {})
    assert response.status_code == 400
    assert "Tick the box" in response.content.decode()
    assert AccessLog.objects.count() == 0


@pytest.mark.django_db
def test_health_fields_the_keys_cannot_read_stop_the_export(client, owner, tmp_path, settings):
    zhang = CustomerFactory(name="张三")
    zhang.allergies = "PPD"
    zhang.save()
    settings.FIELD_ENCRYPTION_KEYS = ["bm90LXRoZS1zYW1lLWtleS0wMTIzNDU2Nzg5YWJjZGU="]  # another key
    with pytest.raises(CommandError, match=r"customers/customer.json: .*No archive was written"):
        call_command("export_salon", str(tmp_path / "salon.zip"), stdout=io.StringIO())
    assert list(tmp_path.iterdir()) == []
    client.force_login(owner.user)
    response = client.post(reverse("portability:export"), {"confirm": "on"})
    assert response.status_code == 409
    assert "FIELD_ENCRYPTION_KEYS" in response.content.decode()
    assert AccessLog.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "reception", "stylist"])
def test_everyone_but_the_owner_is_denied(client, persona, request):
    staff = request.getfixturevalue(persona)
    client.force_login(staff.user)
    assert client.get(reverse("portability:export")).status_code == 403
    assert client.post(reverse("portability:export"), {"confirm": "on"}).status_code == 403
    assert AccessLog.objects.count() == 0
    settings_page = client.get(reverse("accounts:settings"))
    assert reverse("portability:export") not in settings_page.content.decode()


@pytest.mark.django_db
def test_the_page_reads_each_table_once_whatever_the_number_of_rows(
    client, owner, django_assert_max_num_queries
):
    client.force_login(owner.user)
    tables = len(exported_tables())

    def post() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("portability:export"), {"confirm": "on"})
            b"".join(response.streaming_content)
        assert response.status_code == 200
        return len(queries)

    CustomerFactory()
    few = post()
    for _n in range(30):
        customer = CustomerFactory()
        ConsentRecord.objects.create(customer=customer, channel="sms", granted=True, method="desk")
    assert post() == few
    # session, user, permissions; the locations for the manifest; one read per table (users:
    # their groups and permissions too); the access-log row
    with django_assert_max_num_queries(tables + 12):
        client.post(reverse("portability:export"), {"confirm": "on"})


# ---- the format ------------------------------------------------------------------------------


def test_the_format_document_is_current():
    text = DOC.read_text(encoding="utf-8")
    assert generated_part(text) == describe_format(), (
        "docs/export-format.md is out of date: run "
        "`DJANGO_DEBUG=1 python manage.py export_salon --describe docs/export-format.md`"
    )
    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    operations = (Path(settings.BASE_DIR) / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "docs/export-format.md" in readme and "export-format.md" in operations


def test_the_exclusions_name_real_models_and_columns():
    from django.apps import apps

    for label in EXCLUDED_MODELS:
        apps.get_model(label)  # LookupError: a stale entry
    for label, fields in EXCLUDED_FIELDS.items():
        model = apps.get_model(label)
        for name in fields:
            model._meta.get_field(name)
    stems = [t.stem for t in exported_tables()]
    assert len(stems) == len(set(stems))
    assert "auth/user" in stems and "customers/customer_tags" in stems and "analytics/visitday" not in stems
    user = next(t for t in exported_tables() if t.is_users)
    assert "password" not in [c.name for c in user.columns]


def test_the_json_reader_streams_any_layout(monkeypatch):
    monkeypatch.setattr(importer, "_READ_CHUNK", 7)  # rows cut across reads
    rows = [{"id": n, "name": f"客人 {n}", "tags": [1, {"a": None}]} for n in range(1, 30)]
    for text in (json.dumps(rows), json.dumps(rows, indent=3, ensure_ascii=False), "  []  ", "[\n]\n"):
        got = [value for _n, value in importer.iter_json_array(io.StringIO(text), "t.json")]
        assert got == json.loads(text)
    with pytest.raises(importer.ArchiveError, match=r"t.json row 2: not valid JSON"):
        list(importer.iter_json_array(io.StringIO('[{"id": 1}, {"id": ]'), "t.json"))
    with pytest.raises(importer.ArchiveError, match="text after the end"):
        list(importer.iter_json_array(io.StringIO("[] []"), "t.json"))


def test_values_are_written_losslessly_and_checked_on_the_way_in():
    from datetime import UTC, datetime

    moment = datetime(2026, 12, 4, 2, 30, 0, 123456, tzinfo=UTC)
    field = Customer._meta.get_field("created_at")
    column = Column("created_at", "datetime", field)
    assert codec.to_json(column, moment) == "2026-12-04T02:30:00.123456Z"
    assert codec.from_json(column, "2026-12-04T10:30:00.123456+08:00") == moment
    money = Column("total", "decimal", Visit._meta.get_field("total"))
    assert codec.to_json(money, Decimal("128.50")) == "128.50"
    assert codec.from_json(money, "128.50") == Decimal("128.50")
    for value, message in (
        ("1e20", "does not fit 12 digits"),
        ("NaN", "not a finite number"),
        (True, "expected a decimal"),
    ):
        with pytest.raises(codec.BadValue, match=message):
            codec.from_json(money, value)
    points = Column("points", "int", LoyaltyAccount._meta.get_field("points"))
    with pytest.raises(codec.BadValue, match="out of range"):
        codec.from_json(points, 2**40)
    with pytest.raises(codec.BadValue, match="lone surrogate"):
        codec.from_json(Column("name", "text", Customer._meta.get_field("name")), "\ud800")
    with pytest.raises(codec.BadValue, match="may not be null"):
        codec.from_json(Column("name", "text", Customer._meta.get_field("name")), None)
