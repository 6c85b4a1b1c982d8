"""Client search. Derived columns are computed on write (derive_search_fields), never per row
at query time; see shared SEARCH.md for the shapes that reach the floor."""

import re

from pypinyin import Style, lazy_pinyin

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9]+")


def name_pinyin(name: str) -> tuple[str, str]:
    """('zhangsan', 'zs') for 张三; ('emilyclark', 'ec') for Emily Clark; mixed names combine."""
    text = (name or "").strip().lower()
    syllables: list[str] = []
    for chunk in lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: _LATIN_WORD.findall(s)):
        syllables.extend(_LATIN_WORD.findall(chunk.replace("ü", "v")))
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables if s)
    return full[:300], initials[:100]


def name_pieces(name: str) -> list[str]:
    """The 1–2 Han-character pieces that start *inside* the name (张伟明 → 伟, 明, 伟明): a
    search for a piece that starts the name uses the prefix index instead."""
    text = (name or "").strip()
    pieces: set[str] = set()
    for i in range(1, len(text)):
        if _HAN.match(text[i]):
            pieces.add(text[i])
            if i + 1 < len(text) and _HAN.match(text[i + 1]):
                pieces.add(text[i : i + 2])
    return sorted(pieces)


def phone_reversed(phone) -> str:
    """Digits of the national number, reversed: a phone *suffix* search becomes a prefix search."""
    if not phone:
        return ""
    national = str(getattr(phone, "national_number", "") or "") or re.sub(r"\D", "", str(phone))
    return national[::-1]


def derive_search_fields(customer) -> list[str]:
    """Fill the derived search columns from name and phone; returns the field names set."""
    customer.name_pinyin, customer.name_initials = name_pinyin(customer.name)
    customer.name_pieces = name_pieces(customer.name)
    customer.phone_rev = phone_reversed(customer.phone)
    return ["name_pinyin", "name_initials", "name_pieces", "phone_rev"]
