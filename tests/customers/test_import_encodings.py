"""Imports from Chinese Excel (issue 8, item 11): its plain "CSV" is GBK (GB18030), its
"CSV UTF-8" has a BOM; both are read, on the upload page and by import_customers and
import_visits. A file in neither encoding is refused with a message that says so; a row with
the wrong number of columns is named."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from appointments.models import Visit
from customers.models import Customer
from customers.resources import HEADER, dataset_from_bytes
from customers.services import customer_import
from salon_crm.textfiles import UndecodableFile, decode_text, file_encoding
from tests.appointments.factories import ServiceFactory

pytestmark = pytest.mark.django_db

TEXT = (
    ",".join(HEADER) + "\r\n"
    "A-1,张三,138 0013 8000,,女,1990-05-01,,,对 PPD 染发剂过敏,喜欢安静,VIP;敏感肌,\r\n"
    "A-2,欧阳娜娜,13900001111,,,,,,,,,\r\n"
)
GBK = TEXT.encode("gbk")
# 䶮 (yǎn, as in 刘䶮) is in GB18030 but not in GBK: four bytes in GB18030.
GB18030 = TEXT.replace("欧阳娜娜", "刘䶮").encode("gb18030")


def test_the_test_files_really_are_what_they_say():
    with pytest.raises(UnicodeDecodeError):
        GBK.decode("utf-8")
    with pytest.raises(UnicodeEncodeError):
        "刘䶮".encode("gbk")
    assert GBK[: len(b"external_id")] == b"external_id" and "张三".encode("gbk") in GBK


@pytest.mark.parametrize(
    ("content", "names"),
    [
        (GBK, ["张三", "欧阳娜娜"]),
        (GB18030, ["张三", "刘䶮"]),
        (TEXT.encode("utf-8"), ["张三", "欧阳娜娜"]),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), ["张三", "欧阳娜娜"]),
    ],
    ids=["gbk", "gb18030", "utf-8", "utf-8-bom"],
)
def test_every_excel_csv_encoding_imports_the_same_clients(content, names):
    report = customer_import(dataset=dataset_from_bytes(content, "客户.csv"), dry_run=False)
    assert (report.problems, report.new) == ([], 2)
    assert list(Customer.objects.order_by("external_id").values_list("name", flat=True)) == names
    zhang = Customer.objects.get(external_id="A-1")
    assert (zhang.allergies, zhang.notes, zhang.gender) == ("对 PPD 染发剂过敏", "喜欢安静", "female")
    assert sorted(zhang.tags.values_list("name", flat=True)) == ["VIP", "敏感肌"]


def test_decoding_order_is_utf8_then_gb18030():
    assert decode_text("张三".encode()) == "张三"
    assert decode_text("\ufeff张三".encode()) == "张三"
    assert decode_text("张三".encode("gbk")) == "张三"
    with pytest.raises(UndecodableFile):
        decode_text(b"\x81\x30\xff")  # not UTF-8, and an invalid GB18030 four-byte sequence


def test_upload_page_previews_and_imports_a_gbk_file(client_as, manager):
    client = client_as(manager)
    upload = io.BytesIO(GBK)
    upload.name = "客户.csv"
    preview = client.post(reverse("customers:import"), {"file": upload})
    assert preview.status_code == 200
    assert (preview.context["report"].problems, preview.context["report"].new) == ([], 2)
    response = client.post(
        reverse("customers:import"),
        {"confirm": "1", "stored": preview.context["stored"], "filename": "客户.csv"},
    )
    assert response.status_code == 302
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["张三", "欧阳娜娜"]


def test_upload_page_says_why_a_file_cannot_be_read(client_as, manager):
    client = client_as(manager)
    upload = io.BytesIO(",".join(HEADER).encode() + b"\r\nA-1,\x81\x30\xff,,,,,,,,,,\r\n")
    upload.name = "clients.csv"
    response = client.post(reverse("customers:import"), {"file": upload})
    assert response.context["form"].errors["file"] == [
        "This CSV file is neither UTF-8 nor GBK/GB18030. Save it from Excel as “CSV UTF-8” or “CSV”, "
        "and try again."
    ]
    upload = io.BytesIO((TEXT + "A-3,王伟\r\n").encode("gbk"))
    upload.name = "clients.csv"
    response = client.post(reverse("customers:import"), {"file": upload})
    assert response.context["form"].errors["file"] == ["Row 4 has 2 columns; the header has 12."]
    assert Customer.objects.count() == 0


def test_import_customers_command_reads_gbk(tmp_path, capsys):
    path = tmp_path / "clients.csv"
    path.write_bytes(GBK)
    call_command("import_customers", str(path))
    assert "imported 2 rows: 2 new, 0 updated." in capsys.readouterr().out
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["张三", "欧阳娜娜"]
    path.write_bytes(b"\xff\xfe\x00\x81\x30\xff")
    with pytest.raises(CommandError, match="neither UTF-8 nor GBK/GB18030"):
        call_command("import_customers", str(path))


VISITS = (
    "visit_external_id,customer_external_id,location,staff,service,date,start_time,amount\r\n"
    "V1,C1,jingan,,烫发,2026-03-01,10:00,680.00\r\n"
    "V1,C1,jingan,,剪发,2026-03-01,12:15,200\r\n"
)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_import_visits_reads_excel_encodings(location, tmp_path, capsys, encoding):
    ServiceFactory(name="烫发", locations=[location])
    ServiceFactory(name="剪发", locations=[location])
    Customer.objects.create(name="张三", external_id="C1")
    path = tmp_path / "visits.csv"
    path.write_bytes(VISITS.encode(encoding))
    assert file_encoding(path) == ("gb18030" if encoding.startswith("gb") else "utf-8-sig")
    call_command("import_visits", str(path), "--dry-run")
    # the Chinese service names were read right: both found, nothing to create
    assert capsys.readouterr().out.startswith(
        "Dry run: 2 rows, 1 visits; to create: 0 locations, 0 staff, 0 services, 0 clients."
    )


def test_import_visits_writes_a_gbk_file(location, tmp_path):
    ServiceFactory(name="烫发", locations=[location])
    ServiceFactory(name="剪发", locations=[location])
    Customer.objects.create(name="张三", external_id="C1")
    path = tmp_path / "visits.csv"
    path.write_bytes(VISITS.encode("gbk"))
    call_command("import_visits", str(path))
    visit = Visit.objects.get(external_id="V1")
    assert [line.service.name for line in visit.lines.order_by("pk")] == ["烫发", "剪发"]


def test_import_visits_refuses_undecodable_files_and_control_characters(location, tmp_path, capsys):
    path = tmp_path / "visits.csv"
    path.write_bytes(VISITS.encode("gbk") + b"V2,C1,jingan,,\x81\x30\xff,2026-03-01,,1\r\n")
    with pytest.raises(CommandError, match="neither UTF-8 nor GBK/GB18030"):
        call_command("import_visits", str(path))
    ServiceFactory(name="烫发", locations=[location])
    ServiceFactory(name="剪发", locations=[location])
    Customer.objects.create(name="张三", external_id="C1")
    path.write_bytes((VISITS + "V2,C1,jingan,,剪\x01发,2026-03-01,,1\r\n").encode("gbk"))
    with pytest.raises(CommandError, match="1 errors; nothing imported"):
        call_command("import_visits", str(path))
    assert "row 4: a field holds a control character, tab or line break" in capsys.readouterr().err
    assert Visit.objects.count() == 0
