"""The distinct clients of any window, from one row per day (analytics.models.DayClients).

The summary's active clients and its repurchase numerator (clients with two visit days or more)
are exact distinct counts over a window: from the visit days that is a hash or a sort of 2.7
million rows for a year of a million-client chain (0.55–1.3 s here). Each DayClients row holds the
ids of the clients with a visit day there that day, in order, as 4-byte big-endian integers; a
window reads one row per day (a year of the chain: 11 MB) and counts how many days each client
appears on with numpy's bincount: active = clients seen at least once, repeaters = at least twice
(for several locations, each day's ids are merged first: one visit day per client per day).

Built in full from read_inputs()'s arrays with the lifecycle (rollups.rebuild, one COPY), and
for the dirty days by SQL (rollups.rebuild_days). PostgreSQL only; with client ids past 2^31, or
before the first build, `in_window` answers None and rollups keeps its one-query path."""

from __future__ import annotations

import io
import struct
from datetime import date

import numpy as np
from django.db import connection

from analytics.models import DayClients, RollupState, VisitDay

MAX_ID = 2**31 - 1
PG_EPOCH = date(2000, 1, 1).toordinal() - date(1970, 1, 1).toordinal()  # binary COPY dates count from 2000


def _set_built(built: bool) -> None:
    if not RollupState.objects.filter(pk=1).update(client_days=built):
        RollupState.objects.create(pk=1, client_days=built)


def _rows_binary(rows) -> bytes:
    """(location or None, day since 1970, ids bytes, count) as COPY's binary format."""
    out = io.BytesIO()
    out.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
    for location, day, ids, count in rows:
        out.write(struct.pack(">h", 4))
        out.write(struct.pack(">i", -1) if location is None else struct.pack(">iq", 8, location))  # bigint
        out.write(struct.pack(">ii", 4, day - PG_EPOCH))
        out.write(struct.pack(">i", len(ids)) + ids)
        out.write(struct.pack(">ii", 4, count))
    out.write(struct.pack(">h", -1))
    return out.getvalue()


def _day_groups(day: np.ndarray, client: np.ndarray):
    """(day, ids bytes in order, count) per day, each client once a day: one sort of day and
    client packed in a 64-bit key (np.unique hashes: 5 times slower here)."""
    key = np.sort((day.astype(np.int64) << 32) | client.astype(np.int64))
    if not len(key):
        return
    key = key[np.append(True, key[1:] != key[:-1])]
    days = (key >> 32).astype(np.int32)
    ids = (key & 0xFFFFFFFF).astype(">i4")
    bounds = np.append(np.flatnonzero(np.append(True, days[1:] != days[:-1])), len(key))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        yield int(days[lo]), ids[lo:hi].tobytes(), int(hi - lo)


def rebuild(days) -> int:
    """Every DayClients row from the VisitDay rows (`days`: lifecycle.read_inputs()'s second
    array: client, location, day). Returns the rows written."""
    if connection.vendor != "postgresql":
        return 0
    DayClients.objects.all().delete()
    if len(days) and int(days["client"].max()) > MAX_ID:
        _set_built(False)
        return 0
    client, location, day = days["client"], days["location"], days["day"]
    rows = [(None, d, ids, n) for d, ids, n in _day_groups(day, client)]  # the chain
    for loc in np.unique(location):
        here = location == loc
        rows += [(int(loc), d, ids, n) for d, ids, n in _day_groups(day[here], client[here])]
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {DayClients._meta.db_table} (location_id, day, clients, count) FROM STDIN WITH (FORMAT binary)",
            io.BytesIO(_rows_binary(rows)),
        )
    _set_built(True)
    return len(rows)


AGGREGATE = "string_agg(int4send(customer_id::int4), ''::bytea ORDER BY customer_id), count(*)"


def rebuild_days(pairs: set) -> int:
    """The rows of these (location, day) pairs and the chain's rows of their days, from VisitDay
    (rollups.rebuild_days, after it rewrote their visit days)."""
    if connection.vendor != "postgresql" or not pairs:
        return 0
    if not RollupState.objects.filter(pk=1, client_days=True).exists():
        return 0  # never built (or ids past 2^31): the next full rebuild decides
    if VisitDay.objects.filter(customer_id__gt=MAX_ID).exists():
        _set_built(False)
        return 0
    table, source = DayClients._meta.db_table, VisitDay._meta.db_table
    locations = [loc for loc, _d in sorted(pairs)]
    days = [d for _loc, d in sorted(pairs)]
    chain_days = sorted({d for _loc, d in pairs})
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} t USING unnest(%s::bigint[], %s::date[]) AS p(loc, day)"
            " WHERE t.location_id = p.loc AND t.day = p.day",
            [locations, days],
        )
        cursor.execute(
            f"DELETE FROM {table} WHERE location_id IS NULL AND day = ANY(%s::date[])", [chain_days]
        )
        cursor.execute(
            f"INSERT INTO {table} (location_id, day, clients, count) SELECT v.location_id, v.day, {AGGREGATE}"
            f" FROM {source} v JOIN unnest(%s::bigint[], %s::date[]) AS p(loc, day)"
            " ON v.location_id = p.loc AND v.day = p.day GROUP BY v.location_id, v.day",
            [locations, days],
        )
        written = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table} (location_id, day, clients, count) SELECT NULL, day, {AGGREGATE}"
            f" FROM (SELECT DISTINCT day, customer_id FROM {source} WHERE day = ANY(%s::date[])) AS d GROUP BY day",
            [chain_days],
        )
        written += cursor.rowcount
    return written


def in_window(*, start: date, last: date, location_ids: list[int] | None) -> tuple[int, int] | None:
    """(active clients, clients with two visit days or more) from start to last, for the chain
    (None) or these locations; None when the rows are not built (never, or ids past 2^31:
    rollups then answers from VisitDay). One query: the rows, and whether they are built."""
    if connection.vendor != "postgresql":
        return None
    scope = "location_id IS NULL" if location_ids is None else "location_id = ANY(%s::bigint[])"
    params = [start, last] + ([] if location_ids is None else [list(location_ids)])
    sql = (
        f"SELECT day, clients FROM {DayClients._meta.db_table} WHERE day >= %s AND day <= %s AND {scope}"
        f" UNION ALL SELECT NULL, NULL FROM {RollupState._meta.db_table} WHERE id = 1 AND client_days"
    )
    parts: dict[date, list[np.ndarray]] = {}
    built = False
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for day, ids in cursor.fetchall():
            if day is None:
                built = True
            else:
                parts.setdefault(day, []).append(np.frombuffer(ids, dtype=">i4"))
    if not built:
        return None
    if not parts:
        return 0, 0
    if location_ids is not None and len(location_ids) > 1:
        # a client at two of the locations on one day has one visit day: count each client once
        # a day, by the day each was last counted on
        top = max(int(a.max()) for p in parts.values() for a in p if len(a)) + 1
        last_counted = np.full(top, -1, dtype=np.int32)
        appearances = np.zeros(top, dtype=np.int32)
        for i, arrays in enumerate(parts.values()):
            for a in arrays:  # each array: distinct ids
                a = a.astype(np.int64)
                fresh = a[last_counted[a] != i]
                appearances[fresh] += 1
                last_counted[fresh] = i
        appearances = appearances[appearances > 0]
    else:
        ids = np.concatenate([p[0] for p in parts.values()]).astype(np.int64)
        if int(ids.max(initial=0)) < 8 * len(ids) + 10_000_000:
            appearances = np.bincount(ids)
            appearances = appearances[appearances > 0]
        else:
            _ids, appearances = np.unique(ids, return_counts=True)
    return int(len(appearances)), int(np.count_nonzero(appearances >= 2))
