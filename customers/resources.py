"""Client import and export (django-import-export): the input shape. One CSV/XLSX layout both
ways:

    external_id,name,phone,email,gender,birthday,skin_type,hair_type,allergies,notes,tags,first_seen

Import contract (customers.services.customer_import runs this resource): the header must be
exactly that; every column but `name` may be empty; tags are `;`-separated (unknown ones are
created; they are added to the client's tags, none is taken away); dates are ISO; `first_seen`
is the client's creation date. A row updates the client with the same external_id, else the one
with the same phone, else creates one; an empty cell never wipes what is on file, so importing
the same file twice changes nothing. All or nothing: if any row is wrong, nothing is saved and
every bad row is reported with its line number and field. Lookups and tag links are batched (a
few queries per thousand rows); each row costs its own write (savepoint, insert or update,
release) and nothing more.

Files: XLSX, or CSV in UTF-8 (with or without BOM) or GBK/GB18030, what Chinese Excel saves as
"CSV" (salon_crm.textfiles). Text is checked like typed text: no control characters, one line
in names, notes at most 5000 characters, at most 20 tags a row, a birthday in the past.

Export (OWASP CSV injection, salon_crm.validators.spreadsheet_cell): every cell is text with
control characters dropped, line breaks as LF, and a value a spreadsheet would run as a formula
(=, +, -, @, a tab or a line break first, or their full-width forms) starts with a single
quote; the import removes exactly that quote, so an export imports back unchanged. XLSX cells
are typed as strings as well, never formulas. Phones are exported as the card shows them: home-region numbers in
national form ("138 0013 8000", which no spreadsheet reads as a formula or a number), others
internationally ("+44 7911 123456", so quoted like any other cell)."""

import csv
import io
from collections.abc import Iterable
from datetime import datetime, time

import tablib
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.instance_loaders import BaseInstanceLoader
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from customers.duplicates import phone_e164_or_blank
from customers.models import Customer, Gender, SourceChannel, Tag
from customers.privacy import format_phone
from customers.search import derive_search_fields
from customers.services.profiles import (
    customer_tag_links_add,
    phone_normalise,
    tags_check,
    tags_ensure,
)
from salon_crm.textfiles import UndecodableFile, allow_long_csv_fields, decode_text
from salon_crm.validators import has_control_characters, spreadsheet_cell, spreadsheet_unescape

HEADER = [
    "external_id",
    "name",
    "phone",
    "email",
    "gender",
    "birthday",
    "skin_type",
    "hair_type",
    "allergies",
    "notes",
    "tags",
    "first_seen",
]
_LOOKUP_CHUNK = 2000
_GENDER_ALIASES = {"f": Gender.FEMALE, "女": Gender.FEMALE, "m": Gender.MALE, "男": Gender.MALE}


class PhoneWidget(widgets.CharWidget):
    """'138 0013 8000', '+86 138…' → E.164; an invalid number is a field error."""

    def clean(self, value, row=None, **kwargs):
        try:
            return phone_normalise(value) or None
        except ValidationError as exc:
            raise ValueError(_("Enter a valid phone number.")) from exc

    def render(self, value, obj=None, **kwargs):
        return format_phone(value) if value else ""


class ChoiceWidget(widgets.CharWidget):
    def __init__(self, aliases: dict | None = None, **kwargs):
        self.aliases = aliases or {}
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        return self.aliases.get(text.lower(), self.aliases.get(text, text.lower()))


class ISODateWidget(widgets.DateWidget):
    def __init__(self):
        super().__init__(format="%Y-%m-%d")

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except ValueError as exc:
            raise ValueError(_("Enter a date as YYYY-MM-DD, e.g. 1990-05-31.")) from exc


class FirstSeenWidget(ISODateWidget):
    """An ISO date in, the start of that day (server time zone) out; exported as a date."""

    def clean(self, value, row=None, **kwargs):
        day = super().clean(value, row, **kwargs)
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time()))

    def render(self, value, obj=None, **kwargs):
        return timezone.localtime(value).date().isoformat() if value else ""


class TagsWidget(widgets.ManyToManyWidget):
    """'VIP;colour' ↔ tags, from the tag cache filled once per import (no query per row)."""

    def __init__(self):
        super().__init__(Tag, separator=";", field="name")
        self.cache: dict[str, Tag] = {}

    def clean(self, value, row=None, **kwargs):
        return [self.cache[n] for n in tag_names(value)]

    def render(self, value, obj=None, **kwargs):
        return ";".join(t.name for t in value.all()) if value is not None else ""


def tag_names(cell) -> list[str]:
    """The tag names of a `tags` cell ('VIP; colour'), trimmed, repeats dropped."""
    return list(dict.fromkeys(n.strip() for n in str(cell or "").split(";") if n.strip()))


def _usable_tag_name(name: str) -> bool:
    """A name the tag table may receive; the others are the row's error (import_instance)."""
    return len(name) <= 40 and not has_control_characters(name)


def _lookup_key(value: str) -> bool:
    """Ids and phones worth a lookup: text with a control character matches no client (and
    PostgreSQL refuses a NUL in a query); its row is reported by the field's validator."""
    return bool(value) and not has_control_characters(value)


class BatchedCustomerLoader(BaseInstanceLoader):
    """Finds the client of each row by external_id, then by phone, from two dictionaries
    filled with one query per chunk of the file's ids and phones."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        ext_ids = {
            e for e in (str(r.get("external_id") or "").strip() for r in dataset.dict) if _lookup_key(e)
        }
        phones = {p for p in (phone_e164_or_blank(r.get("phone")) for r in dataset.dict) if _lookup_key(p)}
        self.by_external_id: dict[str, Customer] = {}
        self.by_phone: dict[str, Customer] = {}
        qs = Customer.objects.active()
        for chunk in _chunks(sorted(ext_ids)):
            self.by_external_id.update((c.external_id, c) for c in qs.filter(external_id__in=chunk))
        for chunk in _chunks(sorted(phones)):
            self.by_phone.update((str(c.phone), c) for c in qs.filter(phone__in=chunk))
        resource.known_phones = {p: c.pk for p, c in self.by_phone.items()}
        resource.known_external_ids = {e: c.pk for e, c in self.by_external_id.items()}

    def get_instance(self, row):
        ext_id = str(row.get("external_id") or "").strip()
        if ext_id and ext_id in self.by_external_id:
            return self.by_external_id[ext_id]
        phone = phone_e164_or_blank(row.get("phone"))
        owner = self.by_phone.get(phone) if phone else None
        if owner is not None and ext_id and owner.external_id and owner.external_id != ext_id:
            return None  # another source record's client: a new one, refused for its phone
        return owner


def _chunks(items: list, size: int = _LOOKUP_CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class CustomerResource(resources.ModelResource):
    external_id = fields.Field(
        attribute="external_id", column_name="external_id", widget=widgets.CharWidget()
    )
    name = fields.Field(attribute="name", column_name="name", widget=widgets.CharWidget())
    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())
    email = fields.Field(attribute="email", column_name="email", widget=widgets.CharWidget())
    gender = fields.Field(attribute="gender", column_name="gender", widget=ChoiceWidget(_GENDER_ALIASES))
    birthday = fields.Field(attribute="birthday", column_name="birthday", widget=ISODateWidget())
    skin_type = fields.Field(attribute="skin_type", column_name="skin_type", widget=ChoiceWidget())
    hair_type = fields.Field(attribute="hair_type", column_name="hair_type", widget=ChoiceWidget())
    allergies = fields.Field(attribute="allergies", column_name="allergies", widget=widgets.CharWidget())
    notes = fields.Field(attribute="notes", column_name="notes", widget=widgets.CharWidget())
    tags = fields.Field(attribute="tags", column_name="tags", widget=TagsWidget())
    first_seen = fields.Field(attribute="created_at", column_name="first_seen", widget=FirstSeenWidget())

    class Meta:
        model = Customer
        fields = HEADER
        export_order = HEADER
        import_id_fields = ["external_id"]  # the loader also tries the phone
        instance_loader_class = BatchedCustomerLoader
        clean_model_instances = True
        skip_diff = True
        use_transactions = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.known_phones: dict[str, int] = {}
        self.known_external_ids: dict[str, int] = {}
        self.seen_phones: dict[str, int | str] = {}
        self.seen_external_ids: dict[str, int | str] = {}
        self.pending_tags: list[tuple[int, int]] = []

    # -- import --------------------------------------------------------------------------

    def get_instance(self, instance_loader, row):
        return instance_loader.get_instance(row)

    def before_import(self, dataset, **kwargs):
        """The export's formula quotes removed (spreadsheet_unescape), then all the file's tags
        in two queries (existing + the new ones created)."""
        for index, row in enumerate(dataset):
            dataset[index] = [spreadsheet_unescape(cell) for cell in row]
        names = {n for r in dataset.dict for n in tag_names(r.get("tags")) if _usable_tag_name(n)}
        self.fields["tags"].widget.cache = tags_ensure(names=names)

    def import_instance(self, instance, row, **kwargs):
        """The fields, plus the row's tags checked like a request's (customers.services.tags_check:
        at most 20, one line, 40 characters) and no NUL in any cell (form and API fields refuse
        it themselves; PostgreSQL cannot store it); every problem of the row is reported at once."""
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for column, cell in row.items():
            if isinstance(cell, str) and "\x00" in cell and column in self.fields:
                attribute = self.fields[column].attribute
                errors[attribute] = [ValidationError(_("Null characters are not allowed."))]
        try:
            tags_check(tag_names(row.get("tags")))
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # An empty cell means "not known", never "erase": re-imports and partial files lose
        # nothing; an empty first_seen on a new client leaves "now".
        empty = str(row.get(field.column_name) or "").strip() == ""
        if empty and (instance.pk or field.attribute == "created_at"):
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """Uniqueness from the batched lookups and the rows already seen in this file
        (full_clean's own unique check would cost two queries per row)."""
        errors = dict(import_validation_errors or {})
        if not (instance.name or "").strip():
            errors.setdefault("name", [_("This field cannot be blank.")])
        for attr, known, seen, message in (
            (
                "phone",
                self.known_phones,
                self.seen_phones,
                _("This phone number is already on file for another client."),
            ),
            (
                "external_id",
                self.known_external_ids,
                self.seen_external_ids,
                _("This external id is already used."),
            ),
        ):
            value = str(getattr(instance, attr) or "")
            if not value or attr in errors:
                continue
            owner = seen.get(value, known.get(value))  # "new": an earlier new row of this file
            if owner is not None and (owner == "new" or owner != instance.pk):
                errors.setdefault(attr, [message])
            else:
                seen[value] = instance.pk or "new"
        super().validate_instance(instance, errors, validate_unique=False)

    def save_m2m(self, instance, row, **kwargs):
        """Tags are collected here and linked in one batch after the last row (a per-row
        .set() costs three queries a row). A file's tags are added; none is taken away."""
        tags = self.fields["tags"].widget.clean(row.get("tags"))
        if tags and instance.pk:
            self.pending_tags += [(instance.pk, tag.pk) for tag in tags]

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        customer_tag_links_add(links=self.pending_tags)
        self.pending_tags = []

    def before_save_instance(self, instance, row, **kwargs):
        if instance.pk is None:
            instance.source = instance.source or SourceChannel.IMPORT
        instance.external_id = (instance.external_id or "").strip() or None
        derive_search_fields(instance)

    # -- export --------------------------------------------------------------------------

    def get_export_headers(self, selected_fields=None):
        return list(HEADER)

    def export_field(self, field, instance, **kwargs):
        """Every exported cell is safe text for a spreadsheet (spreadsheet_cell)."""
        return spreadsheet_cell(super().export_field(field, instance, **kwargs))


def dataset_from_bytes(content: bytes, filename: str) -> tablib.Dataset:
    """A CSV (UTF-8 with or without BOM, or GBK/GB18030: salon_crm.textfiles) or XLSX upload
    as a dataset; a file that cannot be read is a ValidationError on `file` saying why, never
    a 500. A cell of any length is read (its row then fails on that column)."""
    if filename.lower().endswith(".xlsx"):
        try:
            return tablib.Dataset().load(content, format="xlsx")
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise ValidationError({"file": [_("This file cannot be read as XLSX.")]}) from exc
    try:
        text = decode_text(content)
    except UndecodableFile as exc:
        message = _(
            "This CSV file is neither UTF-8 nor GBK/GB18030. Save it from Excel as "
            "“CSV UTF-8” or “CSV”, and try again."
        )
        raise ValidationError({"file": [message]}) from exc
    return _csv_dataset(text)


def _csv_dataset(text: str) -> tablib.Dataset:
    allow_long_csv_fields()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [row for row in reader if row]
    except csv.Error as exc:
        raise ValidationError(
            {"file": [_("Line %(line)s cannot be read as CSV.") % {"line": reader.line_num}]}
        ) from exc
    if not rows:
        return tablib.Dataset(headers=[])
    headers, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(headers):
            message = _("Row %(line)s has %(found)s columns; the header has %(expected)s.") % {
                "line": number,
                "found": len(row),
                "expected": len(headers),
            }
            raise ValidationError({"file": [message]})
    return tablib.Dataset(*body, headers=headers)


def customers_export_csv_lines(*, queryset=None, chunk_size: int = 2000) -> Iterable[str]:
    """The same export as CSV text, line by line, reading the clients in pk-ordered chunks
    (two queries per chunk: clients, tags) so a million clients never sit in memory at once."""
    qs = (queryset if queryset is not None else Customer.objects.active()).order_by("pk")
    resource = CustomerResource()
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(HEADER)
    yield "\ufeff" + flush()  # BOM: spreadsheet programs then read the Chinese names as UTF-8
    last_pk = 0
    while True:
        chunk = list(qs.filter(pk__gt=last_pk).prefetch_related("tags")[:chunk_size])
        if not chunk:
            return
        for customer in chunk:
            writer.writerow(resource.export_resource(customer))
        last_pk = chunk[-1].pk
        yield flush()


def customers_export_dataset(*, queryset=None) -> tablib.Dataset:
    """Every active client (or `queryset`) in the import layout, every cell spreadsheet-safe."""
    qs = queryset if queryset is not None else Customer.objects.active()
    qs = qs.order_by("pk").prefetch_related("tags")
    return CustomerResource().export(queryset=qs)


def customers_export_xlsx(*, queryset=None, chunk_size: int = 2000) -> bytes:
    """The export as an XLSX workbook, read in pk-ordered chunks like the CSV and written in
    openpyxl's write-only mode. Every cell is stored as a string, never a formula, whatever it
    holds (and it is spreadsheet_cell-safe as well, in case it is edited or saved as CSV)."""
    qs = (queryset if queryset is not None else Customer.objects.active()).order_by("pk")
    resource = CustomerResource()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("clients")

    def text_row(values) -> list[WriteOnlyCell]:
        cells = []
        for value in values:  # export_resource's cells are spreadsheet_cell-safe already
            cell = WriteOnlyCell(sheet, value=str(value))
            cell.data_type = "s"  # text, even if it looked like a formula
            cells.append(cell)
        return cells

    sheet.append(text_row(HEADER))
    last_pk = 0
    while True:
        chunk = list(qs.filter(pk__gt=last_pk).prefetch_related("tags")[:chunk_size])
        if not chunk:
            break
        for customer in chunk:
            sheet.append(text_row(resource.export_resource(customer)))
        last_pk = chunk[-1].pk
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
