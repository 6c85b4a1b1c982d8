"""Reading the text files people upload or hand to a command (CSV imports).

Chinese Excel's plain "CSV" is saved in the Windows code page, GBK (GB18030 is its superset);
"CSV UTF-8" is UTF-8 with a byte-order mark; other tools write UTF-8 without one. We try, in
this order, UTF-8 (with or without BOM) and then GB18030, and take the first that decodes the
whole file without an error. That is predictable where a statistical detector
(charset-normalizer) is not: UTF-8 is self-checking, so a GBK file of Chinese text practically
never passes as UTF-8, and GB18030 decodes every GBK and GB2312 file exactly. A detector's
guess on a short file (a header and a few names) can be Big5, Shift-JIS or cp1252 and would
import the names garbled without a word; here the only guess is "not UTF-8, so GB18030", which
is what a mainland Chinese spreadsheet program means. A file that is neither is refused."""

import codecs
import csv
from pathlib import Path
from typing import TextIO

ENCODINGS = ("utf-8-sig", "gb18030")
# The csv module stops at 128 KiB per field ("field larger than field limit"), which would make
# an over-long cell an unreadable file. Uploads are capped (50 MB), so a field may be as large
# as a file; the importers then name the row and column that is too long.
CSV_FIELD_LIMIT = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


class UndecodableFile(ValueError):
    """The bytes are neither UTF-8 nor GB18030."""


def decode_text(content: bytes) -> str:
    """The file's text: UTF-8 (a BOM dropped), else GB18030; UndecodableFile otherwise."""
    for encoding in ENCODINGS:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UndecodableFile("neither UTF-8 nor GB18030")


def file_encoding(path: str | Path) -> str:
    """The first of ENCODINGS that decodes the whole file, read in chunks (a history file of a
    million rows is never in memory at once); UndecodableFile if none does."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as handle:
                while block := handle.read(_CHUNK):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UndecodableFile("neither UTF-8 nor GB18030")


def open_text(path: str | Path) -> TextIO:
    """The file opened for the csv module in its own encoding (file_encoding)."""
    allow_long_csv_fields()
    return open(path, newline="", encoding=file_encoding(path))  # the caller closes it


def allow_long_csv_fields() -> None:
    """Raise the csv module's per-field limit (process-wide, only ever upwards) to CSV_FIELD_LIMIT."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
