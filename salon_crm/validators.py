"""Text hygiene for the whole project: what a person or a file may type in, and what may go out
to a spreadsheet.

In (validators): no control characters (Unicode category Cc: C0, DEL, C1). Multi-line text
(notes, preferences, health notes) keeps tab, line feed and carriage return; single-line text
(names, codes, one-line notes) keeps none of them. `install_default_text_validators` (called
once from salon_crm.apps) makes the multi-line rule the default of every Django form CharField
and every DRF CharField, so no form or serializer can forget it; single-line fields use
`validate_single_line_text` instead (model fields, and so ModelSerializers and full_clean;
salon_crm.forms.TextHygieneMixin for forms; explicit serializer fields list it). NUL is left to
Django's and DRF's own ProhibitNullCharactersValidator, which every form and serializer CharField
has (so it is said once), to salon_crm.middleware for raw parameters, and to the import for
file cells.

Out (spreadsheet cells, OWASP "CSV injection"): control characters are dropped (openpyxl
refuses them, and one bad row would turn every export into a 500), and a value a spreadsheet
would read as a formula (=, +, -, @, tab, CR or LF first; full-width ＝＋－＠ too, which Excel
with a Chinese input method treats the same) gets a leading single quote; line breaks become LF. `spreadsheet_unescape`
removes exactly that quote again, so our own export imports back unchanged.
"""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Unicode Cc: C0 controls, DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same without the layout characters a multi-line text may hold: tab, LF, CR.
_CONTROL_NOT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Also dropped from spreadsheet cells: XML 1.0 cannot carry these at all.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# OWASP's list (=, +, -, @, tab, CR), line feed (what a CR becomes in a cell, see
# spreadsheet_cell), and the full-width forms a Chinese input method types.
FORMULA_TRIGGERS = "=+-@\t\r\n＝＋－＠"
_NEEDS_QUOTE = re.compile("^'*[" + re.escape(FORMULA_TRIGGERS) + "]")
_QUOTED = re.compile("^'+[" + re.escape(FORMULA_TRIGGERS) + "]")

EARLIEST_BIRTHDAY = date(1900, 1, 1)


@deconstructible
class ControlCharacterValidator:
    """Refuses control characters other than NUL (see the module docstring); `multiline` lets
    tab, line feed and carriage return through."""

    code = "control_character"

    def __init__(self, *, multiline: bool):
        self.multiline = multiline

    def __call__(self, value) -> None:
        if not isinstance(value, str):  # JSON, phone numbers, UUIDs: not text to check
            return
        pattern = _CONTROL_NOT_LAYOUT if self.multiline else _CONTROL
        for match in pattern.finditer(value):
            char = match.group()
            if char == "\x00":
                continue
            if char in "\t\n\r":
                raise ValidationError(
                    _("Line breaks and tabs are not allowed here; keep it on one line."),
                    code="not_single_line",
                )
            raise ValidationError(
                _("Remove the control character %(char)s from this text."),
                code=self.code,
                params={"char": f"U+{ord(char):04X}"},
            )

    def __eq__(self, other) -> bool:
        return isinstance(other, ControlCharacterValidator) and self.multiline == other.multiline


validate_multiline_text = ControlCharacterValidator(multiline=True)
validate_single_line_text = ControlCharacterValidator(multiline=False)


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """True if `text` holds a control character, NUL included (tab, LF and CR count only when
    not `multiline`)."""
    return bool((_CONTROL_NOT_LAYOUT if multiline else _CONTROL).search(text))


def validate_date_of_birth(value: date | None) -> None:
    """A birthday is a real past date: not in the future, not before 1900."""
    if value is None:
        return
    if value > timezone.localdate():
        raise ValidationError(_("A birthday cannot be in the future."), code="future_birthday")
    if value < EARLIEST_BIRTHDAY:
        raise ValidationError(_("Enter a birthday after 1900."), code="birthday_too_early")


def install_default_text_validators() -> None:
    """Make the multi-line rule the default validator of every Django form CharField and
    every DRF CharField (and their subclasses that keep the default: RegexField, UUIDField,
    ListField children...). Idempotent. A field given explicit `validators=` in DRF replaces
    the default, so single-line serializer fields list validate_single_line_text themselves."""
    from django import forms
    from rest_framework import serializers

    forms.CharField.default_validators = [validate_multiline_text]
    serializers.CharField.default_validators = [validate_multiline_text]


# ---- out: spreadsheet cells -------------------------------------------------------------------


def strip_control_characters(text: str) -> str:
    """Drop what neither a spreadsheet nor XML can hold; tab, LF and CR stay."""
    return _NOT_XML.sub("", text)


def spreadsheet_cell(value) -> str:
    """One exported cell as text: control characters dropped, line breaks as a spreadsheet
    keeps them in a cell (LF; XLSX could not carry a CR anyway), and a leading single quote on
    a value a spreadsheet would run as a formula. Also quoted: a value that already starts with
    quotes before such a character, so `spreadsheet_unescape` is its exact inverse."""
    text = "" if value is None else str(value)
    text = strip_control_characters(text.replace("\r\n", "\n").replace("\r", "\n"))
    return "'" + text if _NEEDS_QUOTE.match(text) else text


def spreadsheet_unescape(value):
    """An imported cell as it was before spreadsheet_cell: one leading quote removed where the
    export added it. Anything that is not text comes back as it is."""
    if isinstance(value, str) and _QUOTED.match(value):
        return value[1:]
    return value
