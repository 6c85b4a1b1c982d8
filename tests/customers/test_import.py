"""Client import/export: the exact header, errors per row with line and field, nothing
half-imported, idempotent re-import, batched lookups, the pages and the command."""

import io
from datetime import date

import openpyxl
import pytest
import tablib
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import AccessLog, Customer, Tag
from customers.resources import (
    HEADER,
    customers_export_csv_lines,
    customers_export_dataset,
    dataset_from_bytes,
)
from customers.services import customer_create_stubs, customer_import
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db

GOOD = """external_id,name,phone,email,gender,birthday,skin_type,hair_type,allergies,notes,tags,first_seen
A-1,张三,138 0013 8000,zs@example.com,female,1990-05-01,dry,curly,PPD hair dye,likes tea,VIP;colour,2019-03-02
A-2,Emily Clark,+8613900001111,,,,,,,,,
,王伟,13700002222,,男,,,,,,colour,
"""


def dataset(text: str) -> tablib.Dataset:
    return tablib.Dataset().load(text, format="csv")


def test_import_creates_clients_with_everything(db):
    report = customer_import(dataset=dataset(GOOD), dry_run=False)

    assert report.ok and report.saved
    assert (report.total, report.new, report.updated) == (3, 3, 0)
    zhang = Customer.objects.get(external_id="A-1")
    assert str(zhang.phone) == "+8613800138000"
    assert (zhang.name_initials, zhang.phone_rev) == ("zs", "00083100831")
    assert (zhang.email, zhang.gender, zhang.birthday) == ("zs@example.com", "female", date(1990, 5, 1))
    assert (zhang.skin_type, zhang.hair_type, zhang.notes) == ("dry", "curly", "likes tea")
    assert zhang.allergies == "PPD hair dye"
    assert sorted(t.name for t in zhang.tags.all()) == ["VIP", "colour"]
    assert timezone.localtime(zhang.created_at).date() == date(2019, 3, 2)
    assert zhang.source == "import"
    wang = Customer.objects.get(name="王伟")
    assert (wang.external_id, wang.gender) == (None, "male")
    assert AccessLog.objects.filter(action="import").count() == 1
    # Encrypted at rest: the raw column holds no plain text.
    with connection.cursor() as cursor:
        cursor.execute("SELECT allergies FROM customers_customer WHERE id = %s", [zhang.pk])
        assert "PPD" not in cursor.fetchone()[0]


def test_reimport_is_idempotent(db):
    customer_import(dataset=dataset(GOOD), dry_run=False)
    before = list(Customer.objects.order_by("pk").values_list("pk", "name", "phone", "email", "updated_at"))

    report = customer_import(dataset=dataset(GOOD), dry_run=False)

    assert report.ok
    assert (report.new, report.updated) == (0, 3)
    assert Customer.objects.count() == 3
    after = list(Customer.objects.order_by("pk").values_list("pk", "name", "phone", "email"))
    assert after == [row[:4] for row in before]
    assert Tag.objects.count() == 2


def test_match_by_external_id_then_phone_and_empty_cells_keep_data(db):
    by_phone = CustomerFactory(name="王伟", phone="+8613700002222", allergies="latex", email="w@x.cn")
    by_ext = CustomerFactory(name="Old name", phone=None, external_id="A-2")
    report = customer_import(dataset=dataset(GOOD), dry_run=False)
    assert (report.new, report.updated) == (1, 2)
    by_ext.refresh_from_db()
    assert (by_ext.name, str(by_ext.phone)) == ("Emily Clark", "+8613900001111")
    by_phone.refresh_from_db()
    assert (by_phone.allergies, by_phone.email) == ("latex", "w@x.cn")  # empty cells erase nothing


def test_any_bad_row_imports_nothing_and_reports_every_row(db):
    CustomerFactory(name="Taken", phone="+8613600003333", external_id="T-1")
    text = GOOD + "\n".join(
        [
            "B-1,,13500000001,,,,,,,,,",  # line 5: no name
            "B-2,Bad Date,13500000002,,,1990-13-45,,,,,,",  # line 6: birthday
            "B-3,Bad Phone,12345,,,,,,,,,",  # line 7: phone
            "B-4,Taken Phone,13600003333,,,,,,,,,",  # line 8: phone of a client with another external id
            "B-5,Bad Email,,not-an-email,,,,,,,,",  # line 9: email
            "B-6,Bad Gender,,,x,,oily-ish,,,,,",  # line 10: gender and skin_type
            "A-1,Twice,,,,,,,,,,",  # line 11: the same external id twice in one file
            "B-7,Dup Phone,138 0013 8000,,,,,,,,,",  # line 12: same phone as line 2
        ]
    )
    report = customer_import(dataset=dataset(text), dry_run=False)

    assert not report.saved
    assert [(p.line, p.field) for p in report.problems] == [
        (5, "name"),
        (6, "birthday"),
        (7, "phone"),
        (8, "phone"),
        (9, "email"),
        (10, "gender"),
        (10, "skin_type"),
        (11, "external_id"),
        (12, "phone"),
    ]
    assert Customer.objects.count() == 1  # only the one that was there
    assert Tag.objects.count() == 0
    assert not AccessLog.objects.filter(action="import").exists()


def test_wrong_header_is_refused(db):
    report = customer_import(dataset=dataset("name,phone\n张三,13800138000\n"), dry_run=False)
    assert [(p.line, p.field) for p in report.problems] == [(1, "header")]
    assert Customer.objects.count() == 0


def test_dry_run_saves_nothing(db):
    report = customer_import(dataset=dataset(GOOD), dry_run=True)
    assert report.ok and not report.saved
    assert (report.new, report.updated) == (3, 0)
    assert Customer.objects.count() == 0 and Tag.objects.count() == 0


def test_lookups_are_batched(db):
    # Lookups cost a few queries per file; each row costs the same fixed number of writes
    # (savepoint, update, tag set, release), so twice the rows is twice the per-row part only.
    from django.test.utils import CaptureQueriesContext

    def queries_for(n: int) -> int:
        rows = [",".join(HEADER)] + [f"E-{i},Client {i},,,,,,,,,," for i in range(n)]
        customer_import(dataset=dataset("\n".join(rows)), dry_run=False)  # create them
        with CaptureQueriesContext(connection) as ctx:
            report = customer_import(dataset=dataset("\n".join(rows)), dry_run=False)
        assert report.updated == n
        return len(ctx.captured_queries)

    q20, q40, q80 = queries_for(20), queries_for(40), queries_for(80)
    per_row = (q80 - q40) / 40
    assert per_row == (q40 - q20) / 20
    assert per_row <= 5
    assert q20 - 20 * per_row <= 12  # the batched lookups and the import's own set-up


def test_export_has_the_import_columns(db):
    CustomerFactory(
        name="张三",
        phone="+8613800138000",
        external_id="A-1",
        allergies="PPD",
        birthday=date(1990, 5, 1),
        tags=[TagFactory(name="VIP"), TagFactory(name="colour")],
    )
    data = customers_export_dataset()
    assert data.headers == HEADER
    row = dict(zip(HEADER, data[0], strict=True))
    assert row["name"] == "张三"
    assert row["phone"] == "138 0013 8000"  # as the card shows it: never read as a formula
    assert row["birthday"] == "1990-05-01"
    assert row["allergies"] == "PPD"
    assert row["tags"] == "VIP;colour"
    # What we export, we can import again: it matches the same client and changes nothing.
    report = customer_import(dataset=dataset(data.export("csv")), dry_run=False)
    assert (report.ok, report.new, report.updated) == (True, 0, 1)
    xlsx = dataset_from_bytes(data.export("xlsx"), "clients.xlsx")
    report = customer_import(dataset=xlsx, dry_run=False)
    assert (report.ok, report.new, report.updated) == (True, 0, 1)
    assert Customer.objects.count() == 1


def test_streamed_csv_equals_the_dataset_export(db):
    for i in range(5):
        CustomerFactory(name=f"客户{i}", tags=[TagFactory(name=f"t{i % 2}")], email=f"c{i}@x.cn")
    CustomerFactory(name="Gone", erased_at=timezone.now())
    streamed = "".join(customers_export_csv_lines(chunk_size=2))
    assert streamed.lstrip("\ufeff").replace("\r\n", "\n") == customers_export_dataset().export(
        "csv"
    ).replace("\r\n", "\n")
    assert "Gone" not in streamed


def test_export_pages_manager_only_and_logged(db, client_as, manager, reception):
    CustomerFactory(name="张三", home_location=manager.locations.get())  # a client of theirs
    assert client_as(reception).get(reverse("customers:export"), {"format": "csv"}).status_code == 403
    assert not AccessLog.objects.exists()

    client = client_as(manager)
    response = client.get(reverse("customers:export"), {"format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(HEADER)
    assert "张三" in text
    response = client.get(reverse("customers:export"), {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]] == HEADER
    assert sheet["B2"].value == "张三"
    logs = list(AccessLog.objects.values_list("user", "action", "detail"))
    assert logs == [
        (manager.user.pk, "export", "xlsx: 1 clients"),
        (manager.user.pk, "export", "csv: 1 clients"),
    ]
    assert client.get(reverse("customers:export"), {"format": "pdf"}).status_code == 400


def test_import_page_preview_then_confirm(db, client_as, manager):
    client = client_as(manager)
    upload = io.BytesIO(GOOD.encode())
    upload.name = "clients.csv"
    preview = client.post(reverse("customers:import"), {"file": upload})
    assert preview.status_code == 200
    assert Customer.objects.count() == 0  # a preview saves nothing
    stored = preview.context["stored"]

    response = client.post(
        reverse("customers:import"), {"confirm": "1", "stored": stored, "filename": "clients.csv"}
    )
    assert response.status_code == 302
    assert Customer.objects.count() == 3


def test_import_page_lists_bad_rows(db, client_as, manager):
    upload = io.BytesIO((GOOD + "B-1,,,,,,,,,,,\n").encode())
    upload.name = "clients.csv"
    response = client_as(manager).post(reverse("customers:import"), {"file": upload})
    html = response.content.decode()
    assert 'id="import-problems"' in html and "<td>5</td>" in html
    assert 'id="import-confirm"' not in html
    assert Customer.objects.count() == 0


def test_import_page_refuses_foreign_stored_names(db, client_as, manager):
    response = client_as(manager).post(
        reverse("customers:import"), {"confirm": "1", "stored": "../../etc/passwd", "filename": "x.csv"}
    )
    assert response.status_code == 302
    assert Customer.objects.count() == 0


def test_import_page_unreadable_file_is_a_form_error(db, client_as, manager):
    upload = io.BytesIO(b"\xff\xfe\x00garbage")
    upload.name = "clients.xlsx"
    response = client_as(manager).post(reverse("customers:import"), {"file": upload})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]


def test_import_page_is_manager_only(db, client_as, reception):
    assert client_as(reception).get(reverse("customers:import")).status_code == 403


def test_command_dry_run_and_errors(db, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    call_command("import_customers", str(good), "--dry-run")
    assert Customer.objects.count() == 0
    call_command("import_customers", str(good))
    assert Customer.objects.count() == 3

    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace("1990-05-01", "1990-02-30"), encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_customers", str(bad))
    assert "line 2, birthday: Enter a date as YYYY-MM-DD" in capsys.readouterr().err
    assert Customer.objects.get(external_id="A-1").birthday == date(1990, 5, 1)


def test_create_stubs_creates_only_the_missing_clients(db, django_assert_num_queries):
    known = CustomerFactory(name="张三", external_id="C1")
    # 4 queries: savepoint, the lookup of the given ids, one insert of the missing ones, release
    with django_assert_num_queries(4):
        pks = customer_create_stubs(external_ids=["C1", "Zhang-2", "C3", "C3", " "])
    stubs = {c.external_id: c for c in Customer.objects.exclude(pk=known.pk)}
    assert pks == {"C1": known.pk, "Zhang-2": stubs["Zhang-2"].pk, "C3": stubs["C3"].pk}
    assert [(c.name, c.source, c.name_pinyin) for c in stubs.values()] == [
        ("C3", "import", "c3"),
        ("Zhang-2", "import", "zhang2"),
    ]
    assert customer_create_stubs(external_ids=["C3"]) == {"C3": stubs["C3"].pk}
    assert Customer.objects.count() == 3
