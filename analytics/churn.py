"""The churn model's inputs from the roll-ups: per client with a visit day up to the as-of day,
METRICS.md's x (visit days - 1), t_x and T in days, and the mean revenue of the repeat visit days
(analytics.clv fits and scores them). One read of the visit days (a binary COPY of VisitDay on
PostgreSQL), numpy for the rest: a client's visit days at two locations on one day are one visit
day whose revenue is the sum; clients whose first visit day is after the as-of day are not in it."""

from __future__ import annotations

from datetime import date

import numpy as np
from django.db import connection

from analytics.clv import Summary
from analytics.lifecycle import EPOCH, _copy_binary
from analytics.models import VisitDay


def _visit_days(as_of: date) -> np.ndarray:
    """(client, day since EPOCH, revenue) of every VisitDay row up to as_of."""
    last = (as_of - EPOCH).days
    if connection.vendor == "postgresql":
        return _copy_binary(
            "SELECT customer_id, (day - DATE '1970-01-01')::int4, revenue::float8"
            f" FROM {VisitDay._meta.db_table} WHERE day <= DATE '{as_of.isoformat()}'",
            [("client", ">i8"), ("day", ">i4"), ("revenue", ">f8")],
        )
    rows = VisitDay.objects.filter(day__lte=as_of).values_list("customer_id", "day", "revenue")
    out = np.array(
        [(c, (d - EPOCH).days, float(r)) for c, d, r in rows],
        dtype=[("client", "i8"), ("day", "i4"), ("revenue", "f8")],
    ).reshape(-1)
    return out[out["day"] <= last]


def summary_as_of(as_of: date) -> tuple[np.ndarray, Summary]:
    """(client ids in order, their Summary) as of the end of as_of."""
    rows = _visit_days(as_of)
    if not len(rows):
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), Summary(empty, empty, empty, empty)
    order = np.lexsort((rows["day"], rows["client"]))
    client, day, revenue = rows["client"][order], rows["day"][order].astype(np.int64), rows["revenue"][order]
    # one visit day per client and day: sum the revenue of its locations
    new_day = np.append(True, (client[1:] != client[:-1]) | (day[1:] != day[:-1]))
    starts = np.flatnonzero(new_day)
    client, day = client[starts], day[starts]
    revenue = np.add.reduceat(revenue, starts)
    first_of_client = np.flatnonzero(np.append(True, client[1:] != client[:-1]))
    ends = np.append(first_of_client[1:], len(client))
    ids = client[first_of_client]
    n = ends - first_of_client
    first_day, last_day = day[first_of_client], day[ends - 1]
    total = np.add.reduceat(revenue, first_of_client)
    repeat_revenue = total - revenue[first_of_client]
    x = (n - 1).astype(float)
    monetary = np.divide(repeat_revenue, x, out=np.zeros(len(x)), where=x > 0)
    T = ((as_of - EPOCH).days - first_day).astype(float)
    return ids, Summary(x=x, t_x=(last_day - first_day).astype(float), T=T, monetary=monetary)
