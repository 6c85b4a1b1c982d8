"""The lifecycle funnel as of any day, for the chain and each location, in one small read.

METRICS.md's stage of a client on a day D depends on their visit days up to D only, so between
two visit days a client's stage moves forward on days known in advance: new until 60 days after
the first visit, active, dormant once the gap passes max(90, 2 × median gap), lost once it passes
max(180, 4 × median gap); a visit starts the clock again. `refresh()` works out every client's
stages as runs of days from the visit days (analytics.models.VisitDay) and the clients' first-seen
day and home location, and stores only how many clients enter (+) or leave (−) each stage on each
day, per location and for the chain (LifecycleChange: a few rows per day of history). The count at
each stage on D is then the sum of the changes up to D (`counts`): the same five numbers as
analytics.metrics.lifecycle, for today or a day two years ago, without reading a client row.

The per-client work is numpy over arrays read in two COPY statements (no loop over clients);
the running median gap is computed for all clients at once, one visit rank at a time.

Freshness: refresh() runs in every roll-up rebuild (nightly, and every refresh of dirty days).
Clients created since count as potential at once (`counts` adds them: those with a higher id
than the refresh saw). An erasure, a merge or a change of home location bumps
RollupState.version (analytics.listeners); until the next refresh `counts` answers None and
the callers use the exact slower paths (rollups.lifecycle, metrics.lifecycle)."""

from __future__ import annotations

import io
import logging
from datetime import date, datetime, time, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from analytics import metrics
from analytics.models import LifecycleChange, RollupState, VisitDay

log = logging.getLogger(__name__)

EPOCH = date(1970, 1, 1)
INF = np.int32(1 << 30)  # "never", in days since EPOCH (9999-12-31 is day 2,932,896)
STAGE_INDEX = {s: i for i, s in enumerate(metrics.STAGES)}  # potential, new, active, dormant, lost
POTENTIAL, NEW, ACTIVE, DORMANT, LOST = range(5)


# ---- reading the inputs -------------------------------------------------------------------------


def _copy_binary(sql: str, fields: list[tuple[str, str]]) -> np.ndarray:
    """COPY (sql) TO STDOUT WITH BINARY, parsed as fixed-width rows (no NULLs: every column is
    COALESCEd): `fields` are (name, big-endian numpy type of 4 or 8 bytes)."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)", buffer)
    raw = buffer.getbuffer()
    dtype = [("n", ">i2")]
    for name, kind in fields:
        dtype += [(f"{name}_len", ">i4"), (name, kind)]
    row = np.dtype(dtype)
    header = 19 + int.from_bytes(raw[15:19], "big")  # signature, flags, header extension
    count = (len(raw) - header - 2) // row.itemsize  # a 2-byte trailer
    rows = np.frombuffer(raw, dtype=row, count=count, offset=header)
    out = np.empty(count, dtype=[(name, kind.replace(">", "=")) for name, kind in fields])
    for name, _kind in fields:
        out[name] = rows[name]
    del rows, raw
    buffer.close()
    return out


def _local_day_sql(column: str) -> str:
    zone = "'" + settings.TIME_ZONE.replace("'", "''") + "'"  # a literal: COPY takes no parameters
    return f"((timezone({zone}, {column}))::date - DATE '1970-01-01')"


def read_inputs():
    """(clients, days): the existing clients as arrays sorted by id (id, first-seen day, home
    location or 0) and every VisitDay row (client id, location, day, revenue), days since EPOCH (a
    million clients' five million visit days in ~80 MB). Read once per refresh, for the
    lifecycle changes, the clients of each day (analytics.client_days) and the churn model
    (analytics.churn)."""
    if connection.vendor == "postgresql":
        clients = _copy_binary(
            f"SELECT id, {_local_day_sql('created_at')}::int4, coalesce(home_location_id, 0)::int4"
            " FROM customers_customer WHERE erased_at IS NULL ORDER BY id",
            [("id", ">i8"), ("seen", ">i4"), ("home", ">i4")],
        )
        days = _copy_binary(
            "SELECT customer_id, location_id::int4, (day - DATE '1970-01-01')::int4, revenue::float8"
            f" FROM {VisitDay._meta.db_table}",
            [("client", ">i8"), ("location", ">i4"), ("day", ">i4"), ("revenue", ">f8")],
        )
    else:  # the quick start (SQLite): the same arrays through the ORM
        from customers.models import Customer

        zone = timezone.get_default_timezone()
        rows = Customer.objects.active().order_by("pk").values_list("pk", "created_at", "home_location_id")
        clients = np.array(
            [(pk, (timezone.localtime(at, zone).date() - EPOCH).days, home or 0) for pk, at, home in rows],
            dtype=[("id", "i8"), ("seen", "i4"), ("home", "i4")],
        ).reshape(-1)
        days = np.array(
            [
                (c, loc, (d - EPOCH).days, float(r))
                for c, loc, d, r in VisitDay.objects.values_list(
                    "customer_id", "location_id", "day", "revenue"
                )
            ],
            dtype=[("client", "i8"), ("location", "i4"), ("day", "i4"), ("revenue", "f8")],
        ).reshape(-1)
    return clients, days


def _visits(clients, days) -> dict:
    """The visit days of existing clients (not erased) as (client index, location, day)."""
    index = np.searchsorted(clients["id"], days["client"])
    known = index < len(clients)
    known[known] = clients["id"][index[known]] == days["client"][known]
    return {
        "who": index[known].astype(np.int32),
        "location": days["location"][known],
        "day": days["day"][known],
    }


# ---- the stages as runs of days ----------------------------------------------------------------


def _running_median_gap(day: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per visit day (sorted by client and day; `rank` 0 for a client's first), the median of the
    gaps between the client's visit days up to it; NaN for the first two (METRICS.md: a median
    needs three visit days). All clients at once, one rank at a time."""
    gap = np.zeros(len(day), dtype=np.int32)
    gap[1:] = np.diff(day)
    median = np.full(len(day), np.nan)
    if not len(day) or rank.max() < 2:
        return median
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(2, int(rank.max()) + 2))
    for k in range(2, int(rank.max()) + 1):
        rows = order[bounds[k - 2] : bounds[k - 1]]  # the visit days of rank k: k gaps up to them
        median[rows] = np.median(gap[rows[:, None] - np.arange(k)[None, :]], axis=1)
    return median


def _threshold_day(day: np.ndarray, m: np.ndarray, days: int, factor: float) -> np.ndarray:
    """The first day the gap since `day` exceeds max(days, factor × m) (just `days` without m):
    an integer gap exceeds T from floor(T) + 1 days on."""
    after = np.where(np.isnan(m), days, np.maximum(days, factor * np.nan_to_num(m)))
    return day + np.floor(after).astype(np.int32) + 1


def _distinct_sorted(who: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (client, day) pairs in order: one sort of both packed in a 64-bit key (a
    day may be before 1970: offset so the key stays non-negative)."""
    low = int(day.min()) if len(day) else 0
    key = np.sort((who.astype(np.int64) << 32) | (day.astype(np.int64) - low))
    if len(key):
        key = key[np.append(True, key[1:] != key[:-1])]
    return (key >> 32).astype(np.int32), ((key & 0xFFFFFFFF) + low).astype(np.int32)


def _runs(clients, visits, thresholds: dict):
    """Per stage, the runs of days [start, stop) a client spends in it (chain-wide visit days),
    as (client index, start, stop) arrays, empty runs left out; the potential run starts at -INF
    (the entry day, per location, cuts every run: _changes). And each client's first visit day
    (INF: none)."""
    who, day = _distinct_sorted(visits["who"], visits["day"])
    start_at = np.flatnonzero(np.append(True, who[1:] != who[:-1])) if len(who) else np.zeros(0, np.int64)
    rank = (np.arange(len(day)) - np.repeat(start_at, np.diff(np.append(start_at, len(day))))).astype(
        np.int32
    )
    first = np.full(len(clients), INF, dtype=np.int32)
    first[who[start_at]] = day[start_at]
    following = np.full(len(day), INF, dtype=np.int32)  # the next visit day of the same client
    following[:-1] = np.where(who[1:] == who[:-1], day[1:], INF)

    m = _running_median_gap(day, rank)
    del rank
    lost_from = _threshold_day(day, m, thresholds["lost_days"], thresholds["lost_factor"])
    dormant_from = np.minimum(
        _threshold_day(day, m, thresholds["dormant_days"], thresholds["dormant_factor"]), lost_from
    )
    del m
    new_until = first[who] + np.int32(thresholds["new_days"] + 1)  # new while D - first <= new_days

    runs = {}
    for stage, start, stop in (
        (NEW, day, np.minimum(np.minimum(new_until, dormant_from), following)),
        (ACTIVE, np.maximum(day, new_until), np.minimum(dormant_from, following)),
        (DORMANT, dormant_from, np.minimum(lost_from, following)),
        (LOST, lost_from, following),
    ):
        keep = start < stop  # most visit days have no dormant or lost run: the next one came first
        runs[stage] = (who[keep], start[keep], stop[keep])
    everyone = np.arange(len(clients), dtype=np.int32)
    runs[POTENTIAL] = (everyone, np.full(len(clients), -INF, dtype=np.int32), first)
    return runs, first


def _first_at(clients, visits, location: int) -> np.ndarray:
    """Each client's first visit day at `location` (INF: none)."""
    here = visits["location"] == location
    who, day = _distinct_sorted(visits["who"][here], visits["day"][here])
    first = np.full(len(clients), INF, dtype=np.int32)
    earliest = np.append(True, who[1:] != who[:-1]) if len(who) else np.zeros(0, dtype=bool)
    first[who[earliest]] = day[earliest]
    return first


def _entry(clients, first, first_here, location: int | None) -> np.ndarray:
    """The day each client joins the population (metrics._population): for the chain the day
    first seen or of the first visit, whichever is earlier; for a location, that for the clients
    whose home it is (counting only visits there), otherwise their first visit there; INF: never."""
    seen = clients["seen"]
    if location is None:
        return np.minimum(seen, first)
    return np.where(clients["home"] == location, np.minimum(seen, first_here), first_here)


def _entry_of_set(clients, visits, locations: tuple[int, ...]) -> np.ndarray:
    """The same for several locations at once: a client's home among them, or a visit at any of
    them (metrics._population with those locations)."""
    first_here = np.full(len(clients), INF, dtype=np.int32)
    for location in locations:
        first_here = np.minimum(first_here, _first_at(clients, visits, location))
    home = np.isin(clients["home"], locations)
    return np.where(home, np.minimum(clients["seen"], first_here), first_here)


def manager_location_sets() -> list[tuple[int, ...]]:
    """The sets of two or more active locations that managers have ("all my locations" on their
    dashboard and in the API): the lifecycle changes are kept for each of them too."""
    from accounts.models import Role, StaffMember

    sets: dict[int, set[int]] = {}
    rows = StaffMember.objects.filter(is_active=True, role=Role.MANAGER, locations__is_active=True)
    for staff_id, location_id in rows.values_list("pk", "locations"):
        sets.setdefault(staff_id, set()).add(location_id)
    return sorted({tuple(sorted(s)) for s in sets.values() if len(s) >= 2})


def set_key(location_ids) -> str:
    return ",".join(str(pk) for pk in sorted(location_ids))


def _count(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct days, how many times each), by bincount over the span when it is short (always,
    in practice: a few thousand days), otherwise by sorting."""
    if not len(days):
        return days, days
    low, high = int(days.min()), int(days.max())
    if high - low < 5_000_000:
        counted = np.bincount(days - low)
        at = np.flatnonzero(counted)
        return at + low, counted[at]
    return np.unique(days, return_counts=True)


def _changes(runs, entry: np.ndarray) -> dict[tuple[int, int], int]:
    """{(day, stage): clients entering minus leaving} for one population (`entry` per client)."""
    changes: dict[tuple[int, int], int] = {}
    for stage, (who, start, stop) in runs.items():
        start = np.maximum(start, entry[who])
        keep = start < stop
        stop = stop[keep]
        for days, sign in ((start[keep], 1), (stop[stop < INF], -1)):
            for d, n in zip(*_count(days), strict=True):
                key = (int(d), stage)
                changes[key] = changes.get(key, 0) + sign * int(n)
    return {k: n for k, n in changes.items() if n}


# ---- refreshing and reading -------------------------------------------------------------------


def _write(rows: list[tuple]) -> None:
    """The changes (location or None, day, stage, delta): one COPY on PostgreSQL (40 thousand rows
    for three locations and three years: 3 s through bulk_create)."""
    if connection.vendor != "postgresql":
        LifecycleChange.objects.bulk_create(
            [
                LifecycleChange(location_id=loc, locations=key, day=d, stage=s, delta=n)
                for loc, key, d, s, n in rows
            ],
            batch_size=2000,
        )
        return
    null = "\\N"
    text = "".join(
        f"{null if loc is None else loc}\t{key}\t{d.isoformat()}\t{s}\t{n}\n" for loc, key, d, s, n in rows
    )
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {LifecycleChange._meta.db_table} (location_id, locations, day, stage, delta) FROM STDIN",
            io.StringIO(text),
        )


def refresh(inputs=None) -> int:
    """Recompute every LifecycleChange row from the roll-ups' visit days and the clients (inside
    the caller's transaction: rollups.rebuild and rebuild_days); `inputs`: read_inputs()'s
    answer when the caller has it. Returns the rows written."""
    from accounts.models import Location

    with transaction.atomic():
        version = RollupState.objects.filter(pk=1).values_list("version", flat=True).first() or 0
        clients, days = inputs if inputs is not None else read_inputs()
        visits = _visits(clients, days)
        LifecycleChange.objects.all().delete()
        rows = []
        if len(clients):
            runs, first = _runs(clients, visits, metrics._thresholds())
            scopes: list = [None, *Location.objects.order_by("pk").values_list("pk", flat=True)]
            sets = manager_location_sets()
            for scope in [*scopes, *sets]:
                if isinstance(scope, tuple):
                    location, key, entry = None, set_key(scope), _entry_of_set(clients, visits, scope)
                else:
                    first_here = first if scope is None else _first_at(clients, visits, scope)
                    location, key, entry = scope, "", _entry(clients, first, first_here, scope)
                for (d, stage), delta in sorted(_changes(runs, entry).items()):
                    if 1 - EPOCH.toordinal() <= d <= date.max.toordinal() - EPOCH.toordinal():
                        rows.append((location, key, EPOCH + timedelta(days=d), metrics.STAGES[stage], delta))
                    # (before year 1 or after 9999: no date asks about it)
        _write(rows)
        RollupState.objects.update_or_create(
            pk=1,
            defaults={
                "computed_version": version,
                "computed_at": timezone.now(),
                "max_customer_id": int(clients["id"][-1]) if len(clients) else 0,
                "lifecycle_sets": ";".join(set_key(x) for x in sets) if len(clients) else "",
            },
        )
    return len(rows)


def stale() -> bool:
    """An erasure, a merge or a home-location change since the last refresh."""
    state = RollupState.objects.filter(pk=1).values_list("version", "computed_version", "computed_at").first()
    return state is None or state[2] is None or state[0] != state[1]


def bump() -> None:
    """A client left the population or moved home (analytics.listeners): counts() declines until
    the next refresh."""
    updated = RollupState.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        RollupState.objects.get_or_create(pk=1, defaults={"version": 1})


def counts(*, as_of: date, location: int | None = None, locations=None) -> dict | None:
    """The five stage counts on as_of for the chain (no location), one location, or a set of
    locations a manager has (`locations`, two or more ids), from the changes (two small queries),
    or None when they are not current (never refreshed, or a client erased, merged or moved
    since) or not kept for that set."""
    from customers.models import Customer

    state = (
        RollupState.objects.filter(pk=1)
        .values_list("version", "computed_version", "computed_at", "max_customer_id", "lifecycle_sets")
        .first()
    )
    if state is None or state[2] is None or state[0] != state[1]:
        return None
    rows = LifecycleChange.objects.filter(day__lte=as_of)
    if locations is not None:
        key = set_key(locations)
        if key not in state[4].split(";"):
            return None
        rows = rows.filter(location__isnull=True, locations=key)
    elif location is None:
        rows = rows.filter(location__isnull=True, locations="")
    else:
        rows = rows.filter(location_id=location)
    answer = dict.fromkeys(metrics.STAGES, 0)
    for stage, n in rows.values_list("stage").annotate(n=Sum("delta")).order_by().values_list("stage", "n"):
        answer[stage] += n
    # clients created since the refresh: potential (their first visit is not rolled up yet)
    newer = Customer.objects.active().filter(pk__gt=state[3])
    if as_of < date.max:
        zone_end = datetime.combine(as_of + timedelta(days=1), time.min, timezone.get_default_timezone())
        newer = newer.filter(created_at__lt=zone_end)
    if locations is not None:
        newer = newer.filter(home_location_id__in=list(locations))
    elif location is not None:
        newer = newer.filter(home_location_id=location)
    answer["potential"] += newer.count()
    return answer
