"""The churn and value model over the roll-ups (METRICS.md; analytics.clv fits and scores).

Inputs: per client with a visit day up to the as-of day, x (visit days - 1), t_x and T in days,
and the mean revenue of the repeat visit days, from one read of the visit days (a binary COPY of
VisitDay on PostgreSQL, shared with the lifecycle's refresh in compute_analytics) and numpy: a
client's visit days at two locations on one day are one visit day whose revenue is the sum;
clients whose first visit day is after the as-of day are not in it.

Nightly (`refresh`): fit (warm-started from the last good fit, on the distinct rows with
weights), keep every fit as a ChurnModel, score every client into ChurnScore with the newest fit
that converged, and calibrate the fit of a quarter ago against what happened since."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db import connection
from django.utils import timezone
from threadpoolctl import threadpool_limits

from analytics import clv
from analytics.clv import Summary
from analytics.lifecycle import EPOCH, _copy_binary
from analytics.models import ChurnModel, ChurnScore, VisitDay


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


@dataclass(frozen=True)
class VisitDays:
    """Every visit day once, sorted by client then day (a client's visit days at two locations
    on one day are one, its revenue the sum): sorted once per refresh, then any as-of day's
    summary is a filter that keeps the order."""

    client: np.ndarray
    day: np.ndarray
    revenue: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray) -> VisitDays:
        """From rows (client, day since EPOCH, revenue) in any order."""
        client, day = rows["client"].astype(np.int64), rows["day"].astype(np.int64)
        if not len(rows):
            return cls(client, day, rows["revenue"].astype(float))
        low, span = int(day.min()), int(day.max() - day.min()) + 1
        if int(client.max()) < 2**62 // span and int(client.min()) >= 0:
            order = np.argsort(client * span + (day - low), kind="stable")  # one key: faster than lexsort
        else:
            order = np.lexsort((day, client))
        client, day, revenue = client[order], day[order], rows["revenue"][order].astype(float)
        starts = np.flatnonzero(np.append(True, (client[1:] != client[:-1]) | (day[1:] != day[:-1])))
        return cls(client[starts], day[starts], np.add.reduceat(revenue, starts) if len(starts) else revenue)

    def up_to(self, as_of: date) -> VisitDays:
        keep = self.day <= (as_of - EPOCH).days
        return self if keep.all() else VisitDays(self.client[keep], self.day[keep], self.revenue[keep])


def summary_as_of(as_of: date, rows: np.ndarray | VisitDays | None = None) -> tuple[np.ndarray, Summary]:
    """(client ids in order, their Summary) as of the end of as_of; `rows`: the visit days
    (client, day since EPOCH, revenue rows, or VisitDays) when the caller has read them (any
    later ones are left out)."""
    if rows is None:
        rows = _visit_days(as_of)
    v = (rows if isinstance(rows, VisitDays) else VisitDays.of(rows)).up_to(as_of)
    if not len(v.client):
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), Summary(empty, empty, empty, empty)
    client, day, revenue = v.client, v.day, v.revenue
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


# ---- fit, score, calibrate (compute_analytics) ---------------------------------------------------


def current_model() -> ChurnModel | None:
    """The newest fit that converged: the one the clients are scored with."""
    return ChurnModel.objects.filter(converged=True).order_by("-as_of", "-pk").first()


def latest_fit() -> ChurnModel | None:
    return ChurnModel.objects.order_by("-as_of", "-pk").first()


def as_bgnbd(row: ChurnModel) -> clv.BGNBD:
    return clv.BGNBD(r=row.r, alpha=row.alpha, a=row.a, b=row.b)


def as_gamma_gamma(row: ChurnModel) -> clv.GammaGamma | None:
    return None if row.p is None else clv.GammaGamma(p=row.p, q=row.q, v=row.v)


def _predicts(bg: clv.BGNBD) -> bool:
    if not all(np.isfinite([bg.r, bg.alpha, bg.a, bg.b])) or abs(bg.a - 1) < 1e-6:
        return False
    with np.errstate(all="ignore"):
        expected = [clv.expected_visits_new(bg, days) for days in (90, 365)]
    return all(np.isfinite(expected)) and 0 <= expected[0] <= expected[1]


def fit(as_of: date, summary: Summary, *, start: ChurnModel | None = None) -> ChurnModel:
    """Fit both models on `summary` (as of `as_of`) and keep the fit (converged or not)."""
    started = time.monotonic()
    note = ""
    try:
        bg = clv.fit_bgnbd(clv.compress(summary), start=as_bgnbd(start) if start else None)
    except clv.FitError as error:
        bg, note = None, str(error)
    if bg is not None and not bg.converged:
        note = "BG/NBD: the optimiser did not converge"
    if bg is not None and not _predicts(bg):
        # eq. 10 divides by a - 1: a fit at a = 1 (to rounding) predicts nothing finite (a below 1
        # is fine: salon data often gives it, and the formula holds on either side)
        bg = clv.BGNBD(
            r=bg.r, alpha=bg.alpha, a=bg.a, b=bg.b, converged=False, log_likelihood=bg.log_likelihood
        )
        note = "BG/NBD: the fit predicts no finite number of visits"
    gg = None
    if bg is not None:
        try:
            previous = as_gamma_gamma(start) if start else None
            gg = clv.fit_gamma_gamma(clv.compress(summary, spend=True), start=previous)
        except clv.FitError:
            gg = None
    return ChurnModel.objects.create(
        as_of=as_of,
        fitted_at=timezone.now(),
        r=bg.r if bg else 0,
        alpha=bg.alpha if bg else 0,
        a=bg.a if bg else 0,
        b=bg.b if bg else 0,
        p=gg.p if gg else None,
        q=gg.q if gg else None,
        v=gg.v if gg else None,
        converged=bool(bg and bg.converged),
        spend_converged=bool(gg and gg.converged),
        n_customers=len(summary),
        log_likelihood=bg.log_likelihood if bg and np.isfinite(bg.log_likelihood) else None,
        seconds=round(time.monotonic() - started, 3),
        note=note[:300],
    )


@dataclass(frozen=True)
class Scores:
    p_alive: np.ndarray
    expected_visits_90d: np.ndarray
    expected_spend: np.ndarray  # NaN: no finite mean
    clv_365d: np.ndarray
    value_at_risk: np.ndarray


def score(model: ChurnModel, summary: Summary) -> Scores:
    bg = as_bgnbd(model)
    alive = clv.p_alive(bg, summary)
    if_alive_365 = clv.expected_visits_if_alive(bg, summary, 365)
    gg = as_gamma_gamma(model)
    spend = clv.expected_spend(gg, summary) if gg else np.full(len(summary), np.nan)
    return Scores(
        p_alive=alive,
        expected_visits_90d=clv.expected_visits(bg, summary, 90),
        expected_spend=spend,
        clv_365d=if_alive_365 * alive * spend,
        value_at_risk=if_alive_365 * (1 - alive) * spend,
    )


def _write_scores(ids: np.ndarray, scores: Scores, as_of: date) -> int:
    """Replace every ChurnScore row: a binary COPY on PostgreSQL (a million rows in about a
    second), bulk_create on SQLite. NaN (no finite spend) is stored as null."""
    ChurnScore.objects.all().delete() if connection.vendor != "postgresql" else None
    if connection.vendor != "postgresql":

        def value(v):
            return None if not np.isfinite(v) else float(v)

        ChurnScore.objects.bulk_create(
            [
                ChurnScore(
                    customer_id=int(c),
                    p_alive=float(scores.p_alive[i]),
                    expected_visits_90d=float(scores.expected_visits_90d[i]),
                    expected_spend=value(scores.expected_spend[i]),
                    clv_365d=value(scores.clv_365d[i]),
                    value_at_risk=value(scores.value_at_risk[i]),
                    as_of=as_of,
                )
                for i, c in enumerate(ids)
            ],
            batch_size=2000,
        )
        return len(ids)
    table = connection.ops.quote_name(ChurnScore._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
    finite = (
        np.isfinite(scores.expected_spend) & np.isfinite(scores.clv_365d) & np.isfinite(scores.value_at_risk)
    )
    day = (as_of - date(2000, 1, 1)).days  # PostgreSQL's binary dates count from 2000-01-01
    parts = [b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")]
    for with_spend in (True, False):
        keep = finite if with_spend else ~finite
        count = int(keep.sum())
        if not count:
            continue
        floats = ["p_alive", "ev90", *(["spend", "clv", "var"] if with_spend else [])]
        dtype = [("n", ">i2"), ("id_len", ">i4"), ("id", ">i8")]
        for name in floats:
            dtype += [(f"{name}_len", ">i4"), (name, ">f8")]
        if not with_spend:
            dtype += [("spend_len", ">i4"), ("clv_len", ">i4"), ("var_len", ">i4")]
        dtype += [("day_len", ">i4"), ("day", ">i4")]
        rows = np.zeros(count, dtype=dtype)
        rows["n"] = 7
        rows["id_len"], rows["id"] = 8, ids[keep]
        rows["p_alive_len"], rows["p_alive"] = 8, scores.p_alive[keep]
        rows["ev90_len"], rows["ev90"] = 8, scores.expected_visits_90d[keep]
        if with_spend:
            rows["spend_len"], rows["spend"] = 8, scores.expected_spend[keep]
            rows["clv_len"], rows["clv"] = 8, scores.clv_365d[keep]
            rows["var_len"], rows["var"] = 8, scores.value_at_risk[keep]
        else:
            rows["spend_len"] = rows["clv_len"] = rows["var_len"] = -1
        rows["day_len"], rows["day"] = 4, day
        parts.append(rows.tobytes())
    parts.append((-1).to_bytes(2, "big", signed=True))
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} (customer_id, p_alive, expected_visits_90d, expected_spend, clv_365d,"
            " value_at_risk, as_of) FROM STDIN WITH (FORMAT binary)",
            io.BytesIO(b"".join(parts)),
        )
    return len(ids)


def _deciles(predicted: np.ndarray, actual: np.ndarray, groups: int = 10) -> list[dict]:
    order = np.argsort(predicted, kind="stable")
    out = []
    for i, part in enumerate(np.array_split(order, groups)):
        if len(part):
            out.append(
                {
                    "group": i + 1,
                    "clients": int(len(part)),
                    "predicted": round(float(predicted[part].mean()), 4),
                    "actual": round(float(actual[part].mean()), 4),
                    # the standard error of that mean (sampling error)
                    "actual_se": round(float(actual[part].std(ddof=1) / np.sqrt(len(part))), 4)
                    if len(part) > 1
                    else None,
                }
            )
    return out


def calibrate(model: ChurnModel, rows: np.ndarray | VisitDays, as_of: date) -> dict:
    """What `model` (fitted on the visit days up to its as_of day, a quarter before `as_of`)
    predicted for each of its clients over the days since, against what happened: predicted and
    actual visit days by decile of the prediction, and the predicted chance of coming back
    against the share who did, in tenths. `rows`: the visit days up to `as_of`."""
    v = rows if isinstance(rows, VisitDays) else VisitDays.of(rows)
    ids, summary = summary_as_of(model.as_of, v)
    horizon = (as_of - model.as_of).days
    if not len(ids) or horizon <= 0:
        return {}
    later = (v.day > (model.as_of - EPOCH).days) & (v.day <= (as_of - EPOCH).days)
    who = v.client[later]  # one row per visit day already
    index = np.searchsorted(ids, who)
    known = index < len(ids)
    known[known] = ids[index[known]] == who[known]
    actual = np.bincount(index[known], minlength=len(ids)).astype(float)
    bg = as_bgnbd(model)
    predicted = clv.expected_visits(bg, summary, horizon)
    chance = clv.p_return(bg, summary, horizon)
    came_back = actual > 0
    alive = clv.p_alive(bg, summary)
    bins = []
    for low in range(10):
        inside = (chance >= low / 10) & ((chance < (low + 1) / 10) if low < 9 else (chance <= 1))
        n = int(inside.sum())
        if n:
            bins.append(
                {
                    "low": low / 10,
                    "high": (low + 1) / 10,
                    "clients": n,
                    "predicted": round(float(chance[inside].mean()), 4),
                    "observed": round(float(came_back[inside].mean()), 4),
                    "p_alive": round(float(alive[inside].mean()), 4),
                }
            )
    return {
        "model_id": model.pk,
        "model_as_of": model.as_of.isoformat(),
        "until": as_of.isoformat(),
        "horizon_days": horizon,
        "clients": int(len(ids)),
        "predicted_visits": round(float(predicted.sum()), 1),
        "actual_visits": int(actual.sum()),
        "deciles": _deciles(predicted, actual),
        "returning": bins,
    }


def _quarter_ago_model(as_of: date, rows: VisitDays) -> ChurnModel | None:
    """The converged fit of about a quarter before `as_of` (84 to 98 days), fitting one as of 91
    days before when none was kept (the first run, or a gap in the nightly runs) and there were
    visit days by then."""
    wanted = as_of - timedelta(days=CALIBRATION_DAYS)
    near = (
        ChurnModel.objects.filter(
            converged=True,
            as_of__gte=wanted - timedelta(days=7),
            as_of__lte=wanted + timedelta(days=7),
        )
        .order_by("-as_of", "-pk")
        .first()
    )
    if near is not None:
        return near
    _ids, summary = summary_as_of(wanted, rows)
    if not len(summary) or not (summary.x > 0).any():
        return None
    fitted = fit(wanted, summary)
    return fitted if fitted.converged else None


CALIBRATION_DAYS = 91


def refresh(as_of: date, rows: np.ndarray | None = None) -> dict:
    """The nightly step of compute_analytics: fit on the visit days up to `as_of` (warm-started
    from the last good fit), keep the fit, score every client with the newest converged model
    (this one, or the last good one when this one failed), and calibrate the model of a quarter
    ago against what happened since. `rows`: the visit days (client, day since EPOCH, revenue)
    when the caller has read them. Returns timings and counts."""
    with threadpool_limits(limits=1):  # one BLAS thread: see pyproject.toml
        return _refresh(as_of, rows)


def _refresh(as_of: date, rows: np.ndarray | None) -> dict:
    timings = {}
    started = time.monotonic()
    rows = VisitDays.of(_visit_days(as_of) if rows is None else rows[rows["day"] <= (as_of - EPOCH).days])
    ids, summary = summary_as_of(as_of, rows)
    timings["summary"] = time.monotonic() - started
    if not len(ids) or not (summary.x > 0).any():
        ChurnScore.objects.all().delete()
        return {"scored": 0, "converged": False, **timings}
    good = current_model()
    fitted = fit(as_of, summary, start=good)
    timings["fit"] = fitted.seconds
    model = fitted if fitted.converged else good
    scored = 0
    if model is not None:
        mark = time.monotonic()
        scored = _write_scores(ids, score(model, summary), as_of)
        timings["score"] = time.monotonic() - mark
    mark = time.monotonic()
    older = _quarter_ago_model(as_of, rows)
    if older is not None:
        fitted.calibration = calibrate(older, rows, as_of)
        fitted.save(update_fields=["calibration"])
    timings["calibrate"] = time.monotonic() - mark
    return {"scored": scored, "converged": fitted.converged, "model": model.pk if model else None, **timings}


def dashboard_section() -> dict:
    """The dashboard's model section: the model scoring the clients, the newest fit when it did
    not converge, and the newest calibration (two queries)."""
    fits = list(ChurnModel.objects.order_by("-as_of", "-pk")[:8])
    model = next((m for m in fits if m.converged), None) or current_model()
    latest = fits[0] if fits else None
    calibration = next((m.calibration for m in fits if m.calibration), {})
    return {
        "model": model,
        "failed": latest if latest is not None and not latest.converged else None,
        "calibration": calibration,
    }
