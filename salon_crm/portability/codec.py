"""One value of a column, to the archive and back.

JSON (lossless, what the import reads): integers and booleans as JSON numbers and booleans;
money and every other decimal as a string ("128.50": a JSON number would go through a binary
float); date-times in ISO 8601 in UTC with microseconds ("2026-12-04T02:30:00.123456Z"); dates
and times in ISO 8601; JSON columns as JSON; bytes in base64; encrypted text as the plain text;
null as null. CSV (for people): the same text, null as an empty cell, JSON columns as compact
JSON, and text cells made safe for spreadsheets (salon_crm.validators.spreadsheet_cell: no
control characters, a quote before a leading = + - @), so the CSV is for reading, not re-import.

`from_json` checks what the database would refuse or silently change - the JSON type, a text's
length, NUL characters and lone surrogates, a decimal's digits, an integer's range, a naive
date-time, JSON nested too deeply - and raises BadValue with a message naming the problem.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator, validate_ipv46_address
from django.db import connection, models
from django.utils.dateparse import parse_duration
from django.utils.duration import duration_iso_string

from salon_crm.portability.tables import Column
from salon_crm.validators import spreadsheet_cell

MAX_JSON_DEPTH = 32
_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class BadValue(ValueError):
    """A value in an archive that cannot go into its column (the message says why)."""


# ---- out -------------------------------------------------------------------------------------


def to_json(column: Column, value: Any) -> Any:
    if value is None:
        return None
    kind = column.kind
    if kind in ("int", "bool", "json", "names"):
        return value
    if kind == "float":
        return (
            value
            if math.isfinite(value)
            else ("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
        )
    if kind == "datetime":
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if kind in ("date", "time"):
        return value.isoformat()
    if kind == "binary":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "duration":
        return duration_iso_string(value)
    if isinstance(value, str):  # text, encrypted (decrypted on load), ip
        return value
    if kind in ("decimal", "uuid"):
        return str(value)
    # a text-like value that is an object (a phone number): what the database column holds
    return str(column.field.get_prep_value(value))


def to_csv(column: Column, written: Any) -> str:
    """The CSV cell of a value already written for JSON (to_json)."""
    if written is None:
        return ""
    if isinstance(written, bool):
        return "true" if written else "false"
    if column.kind in ("json", "names"):
        return spreadsheet_cell(json.dumps(written, ensure_ascii=False, separators=(",", ":")))
    if column.kind in ("text", "encrypted", "other", "ip"):
        return spreadsheet_cell(written)
    return str(written)


# ---- in --------------------------------------------------------------------------------------


def _text(value: Any, what: str = "text") -> str:
    if not isinstance(value, str):
        raise BadValue(f"expected {what}, got {_json_type(value)}")
    if "\x00" in value:
        raise BadValue("holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadValue("holds a lone surrogate (not valid Unicode)") from None
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def check_json_value(value: Any) -> None:
    """JSON nested at most MAX_JSON_DEPTH deep, without NUL or lone surrogates in its text
    (PostgreSQL's jsonb refuses both)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadValue(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            _text(item)
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, dict):
            for k, v in item.items():
                _text(k)
                stack.append((v, depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            raise BadValue("JSON holds NaN or Infinity")


def _int(column: Column, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"expected an integer, got {_json_type(value)}")
    f = column.field
    internal = f.target_field.get_internal_type() if f.is_relation else f.get_internal_type()
    low, high = connection.ops.integer_field_range(internal)
    if (low is not None and value < low) or (high is not None and value > high):
        raise BadValue(f"{value} is out of range for this column")
    return value


def from_json(column: Column, value: Any) -> Any:
    """The Python value to insert for `value` read from the archive's JSON (BadValue if it
    cannot go in)."""
    f = column.field
    if value is None:
        # a JSON column may hold JSON null even where SQL NULL is not allowed
        if column.kind not in ("names", "json") and not f.null:
            raise BadValue("may not be null")
        return None
    kind = column.kind
    if kind == "int":
        return _int(column, value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise BadValue(f"expected true or false, got {_json_type(value)}")
        return value
    if kind in ("text", "encrypted", "other"):
        text = _text(value)
        if isinstance(f, models.CharField) and f.max_length and len(text) > f.max_length:
            raise BadValue(f"longer than {f.max_length} characters")
        if kind == "other":
            try:
                return f.to_python(text)
            except ValidationError as error:
                raise BadValue("; ".join(error.messages)) from None
        return text
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise BadValue(f"expected a decimal written as a string, got {_json_type(value)}")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise BadValue(f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise BadValue(f"{value!r} is not a finite number")
        try:
            DecimalValidator(f.max_digits, f.decimal_places)(number)
        except ValidationError:
            raise BadValue(
                f"{value} does not fit {f.max_digits} digits with {f.decimal_places} decimal places"
            ) from None
        return number
    if kind == "float":
        if isinstance(value, str) and value in _FLOAT_WORDS:
            return _FLOAT_WORDS[value]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadValue(f"expected a number, got {_json_type(value)}")
        return float(value)
    if kind == "datetime":
        text = _text(value, "an ISO 8601 date-time")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise BadValue(f"{text!r} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            raise BadValue(f"{text!r} has no time zone (write UTC, ending in Z)")
        return moment.astimezone(UTC)
    if kind == "date":
        text = _text(value, "a date (YYYY-MM-DD)")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise BadValue(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if kind == "time":
        text = _text(value, "a time (HH:MM:SS)")
        try:
            moment = time.fromisoformat(text)
        except ValueError:
            raise BadValue(f"{text!r} is not a time (HH:MM:SS)") from None
        if moment.tzinfo is not None:
            raise BadValue(f"{text!r}: a time of day has no time zone here")
        return moment
    if kind == "json":
        check_json_value(value)
        return value
    if kind == "names":
        if not isinstance(value, list):
            raise BadValue(f"expected a list of names, got {_json_type(value)}")
        return [_text(v, "a name") for v in value]
    if kind == "binary":
        try:
            return base64.b64decode(_text(value, "base64 text"), validate=True)
        except binascii.Error:
            raise BadValue("is not valid base64") from None
    if kind == "uuid":
        try:
            return uuid.UUID(_text(value, "a UUID"))
        except ValueError:
            raise BadValue(f"{value!r} is not a UUID") from None
    if kind == "duration":
        parsed = parse_duration(_text(value, "an ISO 8601 duration"))
        if parsed is None:
            raise BadValue(f"{value!r} is not an ISO 8601 duration")
        return parsed
    if kind == "ip":
        text = _text(value, "an IP address")
        try:
            validate_ipv46_address(text)
        except ValidationError:
            raise BadValue(f"{text!r} is not an IP address") from None
        return text
    raise BadValue(f"unknown kind {kind}")  # pragma: no cover - tables.KINDS and this agree
