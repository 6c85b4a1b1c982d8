"""Client search. Derived columns are computed on write (derive_search_fields), never per row
at query time; see shared SEARCH.md for the shapes that reach the floor."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

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


def name_surname_key(name: str) -> str:
    """'clarkemily' for 'Emily Clark' (the last word, then the others, lower-case letters and
    digits only): 'cla' then finds Clark by prefix in index order instead of by trigrams.
    Only for names of two or more Latin words; Chinese names already start with the surname."""
    if _HAN.search(name or ""):
        return ""
    words = [w for w in ("".join(_LATIN_WORD.findall(part.lower())) for part in (name or "").split()) if w]
    if len(words) < 2:
        return ""
    return "".join([words[-1], *words[:-1]])[:300]


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
    customer.name_surname_key = name_surname_key(customer.name)
    customer.phone_rev = phone_reversed(customer.phone)
    return ["name_pinyin", "name_initials", "name_pieces", "name_surname_key", "phone_rev"]


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
              3 a Western surname starts with them (`cla` → Emily Clark),
              4 name contains them (3+ letters, case-insensitive)
    Han     → 1 name starts with them, 2 a 1–2 character piece inside the name (伟 → 张伟明)
    email   → 1 email contains the text (only with '@': emails hold pinyin, so a trigram
              branch on every word typed would read thousands of emails for `zhang`)
    other   → 1 name contains the text (3+ characters)
    Within a prefix branch rows come in the index's order (shortest / alphabetical key first,
    equal keys in the rows' heap order); within a GIN branch (Han piece, substring) in table
    order."""
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
            branches.append(Branch(3, "name_surname_key", PREFIX, compact))
        if len(low) >= 3:
            branches.append(Branch(4, "name", CONTAINS, text))
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

    return phonenumbers.country_code_for_region(settings.PHONENUMBER_DEFAULT_REGION)


def _prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (byte order, as
    text_pattern_ops compares; UTF-8 keeps code-point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _branch_match(branch: Branch) -> tuple[str, list]:
    """The branch's WHERE predicate (without the erased filter) and its parameters."""
    col = branch.column
    if branch.op == PREFIX:
        # A range in the btree's own operators rather than LIKE 'p%': only the text_pattern_ops
        # btree can answer it, so the planner never swaps in the trigram GIN plus a sort of
        # every match (seen at 1M rows: 龚 → 825 rows sorted, 8 ms instead of 0.3 ms).
        return f"{col} ~>=~ %s AND {col} ~<~ %s", [branch.value, _prefix_upper_bound(branch.value)]
    if branch.op == PIECE:
        where, params = "name_pieces @> %s::jsonb", [json.dumps([branch.value])]
        if branch.also_contains:
            where += " AND name LIKE %s"
            params.append("%" + _like_escape(branch.also_contains) + "%")
        return where, params
    return f"{col} ILIKE %s", ["%" + _like_escape(branch.value) + "%"]


# The Han-piece branch has no order to keep: any 20 of the 12,000 clients whose name holds 伟
# will do, so its GIN scan may stop collecting early (gin_fuzzy_search_limit: a soft limit,
# exact below it). Only for a one-key containment with nothing filtered after it: GIN drops
# items of *each* key at random, so a multi-trigram AND (or a LIKE recheck) could lose rows.
GIN_FUZZY_LIMIT = 1000
# Every branch is meant to be an index scan; with LIMIT 20 and a trigram estimate of
# "thousands of matches" the planner otherwise bets on a sequential scan that stops early -
# and loses when the matches are few (seen at 1M rows: '%moo%' 5 ms, rarer substrings 100+ ms).
_SEQSCAN_OFF = "set_config('enable_seqscan', 'off', true)"
_RESET_SETTINGS_SQL = (
    "SELECT set_config('gin_fuzzy_search_limit', '0', true), set_config('enable_seqscan', 'on', true)"
)


def search_settings_sql(q: str) -> str:
    """Sent in front of the search statement for `q`, in the same round trip; both settings
    are transaction-local (autocommit: they end with the statement)."""
    branches = search_plan(q)
    fuzzy_safe = any(b.op == PIECE for b in branches) and all(
        b.op == PREFIX or (b.op == PIECE and not b.also_contains) for b in branches
    )
    if fuzzy_safe:
        return f"SELECT {_SEQSCAN_OFF}, set_config('gin_fuzzy_search_limit', '{GIN_FUZZY_LIMIT}', true); "
    return f"SELECT {_SEQSCAN_OFF}; "


def search_sql(q: str, limit: int = 20) -> tuple[str, list]:
    """The PostgreSQL query for `q` (ids, best first) and its parameters; ('', []) for no
    branches. Public so the benchmark measures exactly what the selector runs.

    Shape (shared SEARCH.md): one branch per kind in rank order, each with its own LIMIT,
    UNION ALL, one outer LIMIT and no ORDER BY above the Append - so once the first branches
    yield `limit` rows the later ones never run. Prefix branches read their btree in
    `~<~` order (text_pattern_ops) and stop at the LIMIT. A client matched by an earlier
    branch is kept out of the later ones by the earlier predicates (IS NOT TRUE: NULL-safe),
    which costs a filter on rows already fetched instead of a sort of all of them."""
    branches = search_plan(q)
    if not branches:
        return "", []
    parts, params, earlier = [], [], []
    for branch in branches:
        where, where_params = _branch_match(branch)
        sql = f"SELECT id FROM customers_customer WHERE {where} AND erased_at IS NULL"
        branch_params = list(where_params)
        for prev_where, prev_params in earlier:
            sql += f" AND ({prev_where}) IS NOT TRUE"
            branch_params += prev_params
        if branch.op == PREFIX:
            sql += f" ORDER BY {branch.column} USING ~<~"
        parts.append(f"({sql} LIMIT {int(limit)})")
        params += branch_params
        earlier.append((where, where_params))
    sql = "SELECT id FROM (" + " UNION ALL ".join(parts) + ") u LIMIT %s"
    params.append(int(limit))
    return sql, params


def _sqlite_ids(branches: list[Branch], limit: int) -> list[int]:
    """The same branches, in the same order, as ORM queries (SQLite quick start)."""
    from customers.models import Customer

    found: list[int] = []
    base = Customer.objects.active()
    for branch in branches:  # all of them, even when full: a query count that never varies
        col = branch.column
        if branch.op == PREFIX:
            qs = base.filter(**{f"{col}__startswith": branch.value}).order_by(col, "pk")
        elif branch.op == PIECE:
            # No JSON containment on SQLite: "inside the name, not at its start" is the same set.
            needle = branch.also_contains or branch.value
            qs = base.filter(name__contains=needle).exclude(name__startswith=needle).order_by("pk")
        else:
            qs = base.filter(**{f"{col}__icontains": branch.value}).order_by("pk")
        found += [pk for pk in qs.values_list("pk", flat=True)[:limit] if pk not in found]
    return found[:limit]


def customer_search_ids(*, q: str, limit: int = 20) -> list[int]:
    """Ids of the best `limit` matches for `q`, best first (one query on PostgreSQL)."""
    from django.db import connection

    limit = max(1, min(int(limit), 100))
    if connection.vendor == "postgresql":
        sql, params = search_sql(q, limit)
        if not sql:
            return []
        with connection.cursor() as cursor:
            # One round trip: in autocommit the two statements share one implicit
            # transaction, so the transaction-local setting ends with it.
            cursor.execute(search_settings_sql(q) + sql, params)
            ids = [row[0] for row in cursor.fetchall()]
            if connection.in_atomic_block:  # inside a caller's transaction: put it back now
                cursor.execute(_RESET_SETTINGS_SQL)
            return ids
    branches = search_plan(q)
    return _sqlite_ids(branches, limit) if branches else []


def customer_search(*, q: str, limit: int = 20) -> list:
    """Clients matching the search-box input `q`, best matches first (see search_plan for the
    ranking); erased clients never appear; blank `q` gives []. A fixed number of queries
    whatever the number of matches. PostgreSQL: the clients themselves in one statement (the
    search joined to the table, in rank order), their tags, their preferred staff (skipped
    when none has one), and a setting reset when called inside a transaction. SQLite: one
    query per branch, then clients, tags, preferred staff."""
    from django.db import connection
    from django.db.models import prefetch_related_objects

    from customers.models import Customer

    limit = max(1, min(int(limit), 100))
    if connection.vendor != "postgresql":
        ids = customer_search_ids(q=q, limit=limit)
        by_pk = Customer.objects.select_related("preferred_staff").prefetch_related("tags").in_bulk(ids)
        return [by_pk[pk] for pk in ids if pk in by_pk]
    sql, params = search_sql(q, limit)
    if not sql:
        return []
    # row_number() over the streamed ids keeps their rank order through the join.
    rows_sql = (
        "SELECT c.* FROM (SELECT id, row_number() OVER () AS pos FROM ("
        + sql
        + ") s) o JOIN customers_customer c ON c.id = o.id ORDER BY o.pos"
    )
    customers = list(Customer.objects.raw(search_settings_sql(q) + rows_sql, params))
    if connection.in_atomic_block:  # inside a caller's transaction: put the setting back now
        with connection.cursor() as cursor:
            cursor.execute(_RESET_SETTINGS_SQL)
    prefetch_related_objects(customers, "tags", "preferred_staff")
    return customers


class SearchRow(NamedTuple):
    """What a result line of the search list needs, read without building a Customer (the
    phone field would parse every number on load): `phone` is the stored value (E.164 text on
    PostgreSQL), `tags` the tag names in name order (Tag.Meta.ordering)."""

    id: int
    name: str
    phone: object
    email: str
    preferred_staff_id: int | None
    created_at: datetime
    tags: list[str]


# The tag names ride along in the same statement as a sorted array (one round trip, no prefetch).
_ROW_COLUMNS = (
    "c.id, c.name, c.phone, c.email, c.preferred_staff_id, c.created_at, ARRAY("
    "SELECT t.name::text FROM customers_customer_tags ct JOIN customers_tag t ON t.id = ct.tag_id"
    " WHERE ct.customer_id = c.id ORDER BY t.name) AS tags"
)


def customer_search_rows(*, q: str, limit: int = 20) -> list[SearchRow]:
    """customer_search's matches in the same order, as plain rows for the API list.
    PostgreSQL: one statement (plus the setting reset inside a caller's transaction).
    SQLite: the branch queries, then the clients and their tags (two queries)."""
    from django.db import connection

    from customers.models import Customer

    limit = max(1, min(int(limit), 100))
    if connection.vendor != "postgresql":
        ids = customer_search_ids(q=q, limit=limit)
        if not ids:
            return []
        cols = ("pk", "name", "phone", "email", "preferred_staff_id", "created_at")
        by_pk = {r[0]: r for r in Customer.objects.filter(pk__in=ids).values_list(*cols)}
        tags: dict[int, list[str]] = {pk: [] for pk in by_pk}
        through = Customer.tags.through.objects.filter(customer_id__in=by_pk)
        for customer_id, tag_name in through.order_by("tag__name").values_list("customer_id", "tag__name"):
            tags[customer_id].append(tag_name)
        return [SearchRow(*by_pk[pk], tags[pk]) for pk in ids if pk in by_pk]
    sql, params = search_sql(q, limit)
    if not sql:
        return []
    rows_sql = (
        f"SELECT {_ROW_COLUMNS} FROM (SELECT id, row_number() OVER () AS pos FROM ("
        + sql
        + ") s) o JOIN customers_customer c ON c.id = o.id ORDER BY o.pos"
    )
    with connection.cursor() as cursor:
        cursor.execute(search_settings_sql(q) + rows_sql, params)
        rows = [SearchRow(*row) for row in cursor.fetchall()]
        if connection.in_atomic_block:  # inside a caller's transaction: put the setting back now
            cursor.execute(_RESET_SETTINGS_SQL)
    return rows
