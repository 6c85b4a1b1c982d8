"""Client search. Derived columns are computed on write (derive_search_fields), never per row
at query time; see shared SEARCH.md for the shapes that reach the floor."""

import json
import re
from dataclasses import dataclass

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


# ---- customer_search ------------------------------------------------------------------------
#
# The search box takes one string and guesses what it is. Each guess is a *branch*: one indexed
# column, one operator, its own LIMIT, read in index order. Branches are listed in rank order
# (the best kind of match first); on PostgreSQL they run as one UNION ALL under one outer LIMIT,
# the only shape that stays near the floor at a million clients (shared SEARCH.md). On SQLite
# the same branches run as plain ORM queries and are merged in Python with the same ranking.

_DIGITS_ONLY = re.compile(r"^\+?[\d\s\-()]+$")
_LETTERS_ONLY = re.compile(r"^[a-z\s'.-]+$")
_HAN_ONLY = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·]+$")

# How a branch matches its column. "prefix" and "pieces" are index-ordered; "contains" uses
# pg_trgm (≥ 3 characters only: shorter patterns cannot use a trigram index).
PREFIX, PIECE, CONTAINS = "prefix", "piece", "contains"


@dataclass(frozen=True)
class Branch:
    rank: int
    column: str  # a Customer column
    op: str  # PREFIX | PIECE | CONTAINS
    value: str
    # For PIECE with a 3+ character Han query: the piece that narrows, then a substring check.
    also_contains: str = ""


def _trunk_digits(digits: str) -> str:
    """National significant digits typed with a trunk 0 (Chinese landlines: 021…) lose it."""
    return digits[1:] if digits.startswith("0") else digits


def search_plan(q: str) -> list[Branch]:
    """The branches for one search-box input, best kind first. Ranking (tested):

    digits  → 1 phone ends with them, 2 national number starts with them (3+ digits)
    letters → 1 pinyin initials start with them (`zs` → 张三 before 张思远 'zsy'),
              2 full pinyin starts with them (`zhangs`, also Western names: `emi` → Emily),
              3 name contains them (3+ letters, case-insensitive)
    Han     → 1 name starts with them, 2 a 1–2 character piece inside the name (伟 → 张伟明)
    email   → 1 email contains the text (only with '@': emails hold pinyin, so a trigram
              branch on every word typed would read thousands of emails for `zhang`)
    other   → 1 name contains the text (3+ characters)
    Within a branch, rows come in the index's order (shortest / alphabetical key first)."""
    text = " ".join((q or "").split())
    if not text:
        return []
    low = text.lower()
    branches: list[Branch] = []
    if _DIGITS_ONLY.match(text):
        digits = re.sub(r"\D", "", text)
        if not digits:
            return []
        if text.startswith("+"):
            # A full international number: prefix of the stored E.164 number.
            return [Branch(1, "phone", PREFIX, "+" + digits)]
        branches.append(Branch(1, "phone_rev", PREFIX, digits[::-1][:20]))
        if len(digits) >= 3:
            branches.append(Branch(2, "phone", PREFIX, f"+{_country_code()}{_trunk_digits(digits)}"))
        return branches
    if "@" in text:
        return [Branch(1, "email", CONTAINS, low)]
    if _LETTERS_ONLY.match(low):
        compact = re.sub(r"[^a-z]", "", low)
        if compact:
            if " " not in low:
                branches.append(Branch(1, "name_initials", PREFIX, compact))
            branches.append(Branch(2, "name_pinyin", PREFIX, compact))
        if len(low) >= 3:
            branches.append(Branch(3, "name", CONTAINS, text))
        return branches
    if _HAN_ONLY.match(text):
        branches.append(Branch(1, "name", PREFIX, text))
        if len(text) <= 2:
            branches.append(Branch(2, "name_pieces", PIECE, text))
        else:
            branches.append(Branch(2, "name_pieces", PIECE, text[:2], also_contains=text))
        return branches
    if len(text) >= 3:
        branches.append(Branch(1, "name", CONTAINS, text))
    return branches


def _country_code() -> int:
    import phonenumbers
    from django.conf import settings

    return phonenumbers.country_code_for_region(getattr(settings, "PHONENUMBER_DEFAULT_REGION", "CN"))


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _branch_sql(branch: Branch, per_branch: int) -> tuple[str, list]:
    """One branch as SQL that a single index answers in its own order (see migration 0002)."""
    col = branch.column
    if branch.op == PREFIX:
        # `~<~` is the ordering operator of text_pattern_ops: the btree hands rows back in
        # order and the scan stops at the LIMIT.
        where, params = f"{col} LIKE %s", [_like_escape(branch.value) + "%"]
        order = f"{col} USING ~<~"
        key = col
    elif branch.op == PIECE:
        where, params = "name_pieces @> %s::jsonb", [json.dumps([branch.value])]
        if branch.also_contains:
            where += " AND name LIKE %s"
            params.append("%" + _like_escape(branch.also_contains) + "%")
        order, key = None, "name"
    else:  # CONTAINS via pg_trgm; no ORDER BY the index cannot supply (SEARCH.md).
        where, params = f"{col} ILIKE %s", ["%" + _like_escape(branch.value) + "%"]
        order, key = None, col
    sql = f"SELECT id, {branch.rank} AS r, {key}::text AS k FROM customers_customer WHERE {where} AND erased_at IS NULL"
    if order:
        sql += f" ORDER BY {order}"
    return f"({sql} LIMIT {int(per_branch)})", params


def search_sql(q: str, limit: int = 20) -> tuple[str, list]:
    """The PostgreSQL query for `q` (ids, best first) and its parameters; ('', []) for no
    branches. Public so the benchmark measures exactly what the selector runs."""
    branches = search_plan(q)
    if not branches:
        return "", []
    parts, params = [], []
    for branch in branches:
        sql, branch_params = _branch_sql(branch, limit)
        parts.append(sql)
        params.extend(branch_params)
    # A client matched by several branches keeps its best rank; then index-key order (C
    # collation = the `~<~` order), then id for a stable result.
    sql = (
        "SELECT id FROM (SELECT DISTINCT ON (id) id, r, k FROM ("
        + " UNION ALL ".join(parts)
        + ') u ORDER BY id, r) d ORDER BY r, k COLLATE "C", id LIMIT %s'
    )
    params.append(int(limit))
    return sql, params


def _sqlite_ids(branches: list[Branch], limit: int) -> list[int]:
    """The same branches as ORM queries (SQLite quick start); merged with the same ranking."""
    from customers.models import Customer

    rows: list[tuple[int, str, int]] = []
    base = Customer.objects.active()
    for branch in branches:
        col = branch.column
        if branch.op == PREFIX:
            qs = base.filter(**{f"{col}__startswith": branch.value}).order_by(col, "pk")
            key = col
        elif branch.op == PIECE:
            # No JSON containment on SQLite: "inside the name, not at its start" is the same set.
            needle = branch.also_contains or branch.value
            qs = base.filter(name__contains=needle).exclude(name__startswith=needle).order_by("name", "pk")
            key = "name"
        else:
            qs = base.filter(**{f"{col}__icontains": branch.value}).order_by("pk")
            key = col
        rows.extend((branch.rank, k, pk) for pk, k in qs.values_list("pk", key)[:limit])
    best: dict[int, tuple[int, str, int]] = {}
    for rank, key, pk in rows:
        if pk not in best or rank < best[pk][0]:
            best[pk] = (rank, key, pk)
    return [pk for _r, _k, pk in sorted(best.values())][:limit]


def customer_search_ids(*, q: str, limit: int = 20) -> list[int]:
    """Ids of the best `limit` matches for `q`, best first (one query on PostgreSQL)."""
    from django.db import connection

    limit = max(1, min(int(limit), 100))
    if connection.vendor == "postgresql":
        sql, params = search_sql(q, limit)
        if not sql:
            return []
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]
    branches = search_plan(q)
    return _sqlite_ids(branches, limit) if branches else []


def customer_search(*, q: str, limit: int = 20) -> list:
    """Clients matching the search-box input `q`, best matches first (see search_plan for the
    ranking); erased clients never appear; blank `q` gives []. Three queries whatever the
    number of matches on PostgreSQL: the ids, the clients with preferred_staff, their tags."""
    from customers.models import Customer

    ids = customer_search_ids(q=q, limit=limit)
    if not ids:
        return []
    by_pk = Customer.objects.select_related("preferred_staff").prefetch_related("tags").in_bulk(ids)
    return [by_pk[pk] for pk in ids if pk in by_pk]
