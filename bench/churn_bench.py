"""The churn model at a million clients: ours (analytics.clv / analytics.churn) side by side with
`lifetimes` (the reference, a dev dependency) on the same data in one run (issue 14, item 6).

    .venv/bin/python bench/churn_bench.py [--db salon_bench_analytics] [--as-of YYYY-MM-DD]
                                          [--out bench/results/churn.md] [--sample 100000]
                                          [--repeat 3] [--compute both|fresh|seeded|none]
                                          [--no-lifetimes-full] [--wait-load 1.5] [--wait-max 900]

Needs the database of `bench/analytics_bench.py` (1,000,000 clients, 5,000,000 visits; generate
it with `bench/analytics_bench.py --no-raw --no-page --no-api --repeat 1`). It deletes the churn
models kept in that database (nothing else reads them there). Then:

1. `manage.py compute_analytics --as-of <as-of>` (the nightly rebuild, which fits, scores and
   calibrates the churn model: `churn.refresh` in `rollups._rebuild`) in a child process, as
   analytics_bench does: wall time, the child's peak RSS (os.wait4), the PostgreSQL backends' peak
   RSS; inside it each step of the rebuild is timed (with the child's RSS while it runs), and
   `churn.refresh` returns its own timings (summary, fit, score, calibrate). Two runs (--compute):
   `fresh` starts with no model kept (a cold fit, plus a fit of the model of 91 days before for the
   calibration); `seeded` first stores the fit as of 91 days before as a converged model, so the
   nightly warm-starts from it, scores every client (with it, should its own fit not be accepted)
   and calibrates it without fitting: a night after a quarter of nightly runs.
2. Ours, in this process: the visit days up to the as-of day (`churn._visit_days`, one binary
   COPY), the summary (`churn.summary_as_of`), `clv.compress` + `clv.fit_bgnbd` from a cold start
   and warm-started from the fit of the day before (as nightly), the same two fits as the code
   did before commit ecf8b89 (scipy's default stopping rules, for comparison),
   `clv.compress(spend=True)` + `clv.fit_gamma_gamma`, and `churn.score` of every client (p_alive,
   expected visits in 90 days, expected spend, CLV 365 days). The fits and the scoring are the
   best of --repeat runs (the cores are shared).
3. lifetimes 0.11.3 on the same summary: `BetaGeoFitter(penalizer_coef=0).fit` on all the clients
   without weights (--no-lifetimes-full skips it), on the compressed rows with `weights`, and on a
   --sample of clients (ours on the same sample); `GammaGammaFitter(penalizer_coef=0)` on the repeat
   clients; `conditional_probability_alive`, `conditional_expected_number_of_purchases_up_to_time(90)`,
   `conditional_expected_average_profit`.
4. Parameters side by side with relative differences, both fits' log-likelihoods evaluated by the
   same function on all the clients (the higher is the better fit), the gradient at each optimum,
   and the largest absolute difference of p_alive and expected visits over all clients (each
   library with its own fit; then both with the same parameters, which checks the formulas).

Every timed part records the load average; --wait-load waits (up to --wait-max seconds) for the
1-minute load average to fall under it before each part (before the first of its runs; this
process's own work counts about 1 in it, so 2 on 2 cores means about one core free). Writes --out (bench/results/churn.md).
Target (issue 14): the nightly compute_analytics, churn model included, ≤ 120 s and ≤ 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analytics_bench import APP_NAME, TARGET_RSS_MB, TARGET_S, BackendSampler, setup_env  # noqa: E402
from bench.search_bench import log  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
# The steps of rollups._rebuild timed inside the compute child: (module, function, label).
STEPS = [
    ("analytics.rollups", "rebuild", "rollups.rebuild, the whole (VACUUM included)"),
    ("analytics.rollups", "_write_daily", "daily figures"),
    ("analytics.rollups", "_write_customer_metrics", "client figures (CustomerMetrics)"),
    ("analytics.breakdowns", "refresh", "breakdowns"),
    ("analytics.lifecycle", "read_inputs", "read visit days + clients (binary COPY)"),
    ("analytics.lifecycle", "refresh", "lifecycle changes"),
    ("analytics.client_days", "rebuild", "client days"),
    ("analytics.churn", "refresh", "**churn model (churn.refresh)**"),
    ("analytics.snapshots", "refresh", "snapshots"),
]


# ---- memory -------------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class RSSPeak:
    """Samples this process's RSS every 10 ms while the block runs: `start` and `peak` (MB)."""

    def __init__(self):
        self.start = self.peak = 0.0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.01)

    def __enter__(self):
        self.start = self.peak = rss_mb()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- load ---------------------------------------------------------------------------------------


def wait_for_load(limit: float | None, longest: float) -> float:
    """Waits until the 1-minute load average is under `limit` (at most `longest` s); returns it."""
    load = os.getloadavg()[0]
    if limit is None or load < limit:
        return load
    log(f"load {load:.2f} >= {limit}: waiting (at most {longest:.0f} s)")
    deadline = time.monotonic() + longest
    while load >= limit and time.monotonic() < deadline:
        time.sleep(10)
        load = os.getloadavg()[0]
    log(f"load now {load:.2f}")
    return load


class Timed:
    """Times a block: `seconds`, the load average before it, and the RSS peak while it ran."""

    def __init__(self, name: str, results: dict, args, note: str = "", wait: bool = True):
        self.name, self.results, self.args, self.note, self.wait = name, results, args, note, wait

    def __enter__(self):
        limit = self.args.wait_load if self.wait else None
        self.load = wait_for_load(limit, self.args.wait_max)
        self.rss = RSSPeak().__enter__()
        self.t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.t
        self.rss.__exit__()
        self.results[self.name] = {
            "s": seconds,
            "load": self.load,
            "rss_start": self.rss.start,
            "rss_peak": self.rss.peak,
            "note": self.note,
        }
        log(f"{self.name}: {seconds:.3f} s (load {self.load:.2f}, RSS peak {self.rss.peak:.0f} MB)")


def best_of(repeat: int, fn, name: str, results: dict, args, note: str = ""):
    """Runs fn() `repeat` times, each timed; keeps the best time (the cores are shared)."""
    runs, out = [], None
    for i in range(repeat):
        key = f"{name} #{i}"
        with Timed(key, results, args, wait=i == 0):  # the best of the runs filters out the rest
            out = fn()
        runs.append(results.pop(key))
    best = min(runs, key=lambda r: r["s"])
    results[name] = {**best, "runs": [r["s"] for r in runs], "note": note}
    return out


# ---- compute_analytics --------------------------------------------------------------------------


def compute_child(as_of: str, out: str) -> None:
    """Runs in the child: call_command('compute_analytics') with the rebuild's steps timed."""
    import importlib

    import django

    django.setup()
    from django.core.management import call_command

    steps: dict[str, dict] = {}

    def wrap(module, name, label):
        original = getattr(module, name)

        def timed(*a, **k):
            sampler = RSSPeak().__enter__()
            t = time.perf_counter()
            try:
                result = original(*a, **k)
            finally:
                elapsed = time.perf_counter() - t
                sampler.__exit__()
                entry = steps.setdefault(
                    label, {"s": 0.0, "calls": 0, "rss_start": sampler.start, "rss_peak": 0}
                )
                entry["s"] += elapsed
                entry["calls"] += 1
                entry["rss_peak"] = max(entry["rss_peak"], sampler.peak)
            if name == "refresh" and module.__name__ == "analytics.churn":
                entry["result"] = {k: v for k, v in result.items() if isinstance(v, (int, float, bool))}
            return result

        setattr(module, name, timed)

    for module_name, name, label in STEPS:
        wrap(importlib.import_module(module_name), name, label)
    started = time.perf_counter()
    call_command("compute_analytics", as_of=as_of)
    wall = time.perf_counter() - started
    from analytics.models import ChurnModel

    models = [
        {
            "as_of": m.as_of.isoformat(),
            "r": m.r,
            "alpha": m.alpha,
            "a": m.a,
            "b": m.b,
            "p": m.p,
            "q": m.q,
            "v": m.v,
            "converged": m.converged,
            "seconds": m.seconds,
            "log_likelihood": m.log_likelihood,
            "n": m.n_customers,
        }
        for m in ChurnModel.objects.order_by("-pk")[:2]
    ]
    Path(out).write_text(
        json.dumps({"wall": wall, "steps": steps, "models": models, "max_rss": max_rss_mb()})
    )


def run_compute(url: str, as_of: date, args) -> dict:
    load = wait_for_load(args.wait_load, args.wait_max)
    out = f"/tmp/churn_bench_compute_{os.getpid()}.json"
    sampler = BackendSampler(url)
    sampler.start()
    env = {**os.environ, "PGAPPNAME": APP_NAME}
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--compute-child", as_of.isoformat(), out], cwd=ROOT, env=env
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    sampler.stop.set()
    sampler.join()
    if status != 0:
        raise SystemExit(f"compute_analytics failed (status {status})")
    child = json.loads(Path(out).read_text())
    Path(out).unlink()
    return {
        **child,
        "process_wall": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "cpu": usage.ru_utime + usage.ru_stime,
        "pg_hwm_mb": max(sampler.hwm.values(), default=0) / 1024,
        "pg_rss_sum_mb": sampler.rss_sum / 1024,
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


# ---- the comparison -----------------------------------------------------------------------------


def ll_bgnbd(params, x, t_x, T, w) -> tuple[float, float]:
    """(log-likelihood, norm of its gradient in the log-parameters per client) of (r, alpha, a, b)."""
    import numpy as np

    from analytics import clv

    ll, gradient = clv._bgnbd_ll_and_gradient(np.log(params), x, t_x, T, w)
    return ll, float(np.linalg.norm(gradient) / w.sum())


def ll_gamma_gamma(params, x, m, w) -> float:
    from analytics import clv

    p, q, v = params
    return float(w @ clv._gg_ll(p, q, v, x, m))


def lifetimes_nll(params, x, t_x, T, w) -> float:
    """lifetimes' own log-likelihood (its _negative_log_likelihood, unscaled days) of (r, alpha, a, b)."""
    import numpy as np
    from lifetimes import BetaGeoFitter

    return float(-BetaGeoFitter._negative_log_likelihood(np.log(params), x, t_x, T, w, 0.0) * w.sum())


LIFETIMES_CALLS: dict = {}


def instrument_lifetimes() -> None:
    """Records what lifetimes' BaseFitter._fit does inside `fit`: scipy's iterations and function
    evaluations, and the time of autograd's Hessian (computed after the optimum, for the standard
    errors). Wraps the names its module imported; the computation is unchanged."""
    import lifetimes.fitters as fitters

    if getattr(fitters, "_bench_wrapped", False):
        return
    minimize, hessian = fitters.minimize, fitters.hessian

    def counted_minimize(*a, **k):
        t = time.perf_counter()
        out = minimize(*a, **k)
        LIFETIMES_CALLS.update(
            nit=int(out.nit),
            nfev=int(out.nfev),
            success=bool(out.success),
            message=str(out.message),
            optimize_s=time.perf_counter() - t,
        )
        return out

    def timed_hessian(fn):
        h = hessian(fn)

        def run(*a, **k):
            t = time.perf_counter()
            try:
                return h(*a, **k)
            finally:
                LIFETIMES_CALLS["hessian_s"] = time.perf_counter() - t

        return run

    fitters.minimize, fitters.hessian, fitters._bench_wrapped = counted_minimize, timed_hessian, True


def fit_lifetimes_bgnbd(x, t_x, T, weights=None):
    """(fitted BetaGeoFitter or None, what its optimiser did, the error if it raised)."""
    from lifetimes import BetaGeoFitter

    instrument_lifetimes()
    LIFETIMES_CALLS.clear()
    model = BetaGeoFitter(penalizer_coef=0.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x, t_x, T, weights=weights)
    except Exception as error:  # ConvergenceError: BFGS stopped without success
        return None, dict(LIFETIMES_CALLS), f"{type(error).__name__}: {' '.join(str(error).split())}"
    return model, dict(LIFETIMES_CALLS), ""


def seed_model(as_of: date) -> dict:
    """Stores the fit as of CALIBRATION_DAYS before as_of as a good (converged) model, as a run of
    that day would have if it had been accepted: the nightly then scores every client with it
    when its own fit is not accepted, and calibrates it (the whole churn path)."""
    from datetime import timedelta

    from analytics import churn

    day = as_of - timedelta(days=churn.CALIBRATION_DAYS)
    _ids, summary = churn.summary_as_of(day)
    model = churn.fit(day, summary)
    accepted = model.converged
    model.converged = True
    model.note = ("" if accepted else f"seeded by bench/churn_bench.py (not accepted: {model.note})")[:300]
    model.save(update_fields=["converged", "note"])
    return {"as_of": day.isoformat(), "a": model.a, "accepted": accepted}


def fit_bgnbd_before(summary, start=None):
    """`clv.fit_bgnbd` as it was before commit ecf8b89 (2026-12-04): L-BFGS-B with scipy's default
    stopping rules (ftol 2.2e-9, gtol 1e-5), a Nelder-Mead polish when it reports no success. Kept
    here to show what the tighter rules changed (the first runs of this bench found the gap)."""
    import numpy as np
    from scipy import optimize

    from analytics import clv

    x, t_x, T = (np.asarray(v, dtype=float) for v in (summary.x, summary.t_x, summary.T))
    w = clv._weights(summary)
    total = w.sum()

    def negative(log_params):
        ll, gradient = clv._bgnbd_ll_and_gradient(log_params, x, t_x, T, w)
        return -ll / total, -gradient / total

    x0 = np.log([start.r, start.alpha, start.a, start.b]) if start else np.zeros(4)
    out = optimize.minimize(
        negative, x0, jac=True, method="L-BFGS-B", bounds=[(-12, 12)] * 4, options={"maxiter": 2000}
    )
    if not out.success:
        polished = optimize.minimize(
            lambda u: negative(u)[0],
            out.x,
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10},
        )
        if polished.fun <= out.fun:
            out = polished
    r, alpha, a, b = np.exp(out.x)
    return clv.BGNBD(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        converged=bool(out.success),
        log_likelihood=float(-out.fun * total),
        iterations=int(out.nit),
    )


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def compare(args, as_of: date) -> dict:
    import contextlib
    import io
    from datetime import timedelta

    import numpy as np
    from lifetimes import GammaGammaFitter

    from analytics import churn, clv
    from analytics.models import ChurnModel

    res: dict = {"timings": {}, "fits": {}, "lifetimes_calls": {}, "errors": {}, "notes": []}
    tm, fits = res["timings"], res["fits"]
    res["base_rss"] = rss_mb()

    # ---- ours ----
    with Timed("ours: read the visit days (churn._visit_days, binary COPY)", tm, args):
        rows = churn._visit_days(as_of)
    with Timed("ours: summary (churn.summary_as_of)", tm, args):
        ids, summary = churn.summary_as_of(as_of, rows)
    res["visit_days"], res["clients"] = len(rows), len(ids)
    x, t_x, T, mon = summary.x, summary.t_x, summary.T, summary.monetary
    ones = np.ones(len(x))
    paid = (x > 0) & (mon > 0)
    res["repeat_clients"], res["paid_repeat_clients"] = int((x > 0).sum()), int(paid.sum())
    compressed = best_of(
        args.repeat, lambda: clv.compress(summary), "ours: compress (distinct x, t_x, T rows)", tm, args
    )
    res["distinct_rows"] = len(compressed)
    fits["ours"] = bg = best_of(
        args.repeat, lambda: clv.fit_bgnbd(compressed), "ours: BG/NBD fit, cold start (1, 1, 1, 1)", tm, args
    )
    # the nightly warm-starts from the last good fit: the day before's
    _ids, yesterday = churn.summary_as_of(as_of - timedelta(days=1), rows)
    yesterday = clv.compress(yesterday)
    start, start_before = clv.fit_bgnbd(yesterday), fit_bgnbd_before(yesterday)
    res["yesterday"] = [start.r, start.alpha, start.a, start.b]
    del rows, yesterday
    fits["ours warm"] = best_of(
        args.repeat,
        lambda: clv.fit_bgnbd(compressed, start=start),
        "ours: BG/NBD fit, warm start from the day before's fit (as nightly)",
        tm,
        args,
    )
    fits["ours before"] = best_of(
        args.repeat,
        lambda: fit_bgnbd_before(compressed),
        "before ecf8b89 (scipy's default stopping): BG/NBD fit, cold start",
        tm,
        args,
        note="the former code, for comparison",
    )
    fits["ours before warm"] = best_of(
        args.repeat,
        lambda: fit_bgnbd_before(compressed, start=start_before),
        "before ecf8b89: BG/NBD fit, warm start from the day before's fit (as nightly)",
        tm,
        args,
        note="the former code, for comparison",
    )
    spend_rows = best_of(
        args.repeat,
        lambda: clv.compress(summary, spend=True),
        "ours: compress (distinct x, spend rows)",
        tm,
        args,
    )
    res["distinct_spend_rows"] = int((spend_rows.x > 0).sum())
    fits["ours gg"] = gg = best_of(
        args.repeat, lambda: clv.fit_gamma_gamma(spend_rows), "ours: Gamma-Gamma fit", tm, args
    )
    model = ChurnModel(r=bg.r, alpha=bg.alpha, a=bg.a, b=bg.b, p=gg.p, q=gg.q, v=gg.v)
    scores = best_of(
        args.repeat,
        lambda: churn.score(model, summary),
        "ours: score every client (churn.score: p_alive, E[visits 90 d], spend, CLV 365 d, value at risk)",
        tm,
        args,
    )
    res["ours_max_rss"] = max_rss_mb()

    # ---- lifetimes ----
    if not args.no_lifetimes_full:
        with Timed(
            "lifetimes: BetaGeoFitter.fit, every client, no weights",
            tm,
            args,
            note="scipy BFGS (lifetimes' default) on autograd's gradient, then autograd's Hessian",
        ):
            lt_full, calls, error = fit_lifetimes_bgnbd(x, t_x, T)
        res["lifetimes_calls"]["every client"] = calls
        if lt_full is not None:
            fits["lifetimes"] = lt_full
        else:
            res["errors"]["lifetimes BetaGeoFitter, every client"] = error
    with Timed("lifetimes: BetaGeoFitter.fit, distinct rows with weights", tm, args):
        lt_w, calls, error = fit_lifetimes_bgnbd(
            compressed.x, compressed.t_x, compressed.T, compressed.weights
        )
    res["lifetimes_calls"]["distinct rows with weights"] = calls
    if lt_w is not None:
        fits["lifetimes weighted"] = lt_w
    else:
        res["errors"]["lifetimes BetaGeoFitter, weighted"] = error
    lt = fits.get("lifetimes", fits.get("lifetimes weighted"))
    res["lt_name"] = "lifetimes" if "lifetimes" in fits else "lifetimes weighted"

    def lt_gamma_gamma(scale: float):
        model = GammaGammaFitter(penalizer_coef=0.0)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            model.fit(x[paid], mon[paid] / scale)  # prints scipy's result when it fails
        return model

    lt_gg = None
    with Timed("lifetimes: GammaGammaFitter.fit, repeat clients, no weights, spend in yuan", tm, args):
        try:
            lt_gg = lt_gamma_gamma(1.0)
        except Exception as error:
            res["errors"]["lifetimes GammaGammaFitter, spend in yuan"] = _error_text(error)
    res["gg_scale"] = 1.0
    if lt_gg is None:
        with Timed(
            "lifetimes: GammaGammaFitter.fit, repeat clients, no weights, spend in hundreds of yuan",
            tm,
            args,
            note="v × 100 afterwards (p, q do not depend on the unit)",
        ):
            try:
                lt_gg, res["gg_scale"] = lt_gamma_gamma(100.0), 100.0
            except Exception as error:
                res["errors"]["lifetimes GammaGammaFitter, spend in hundreds"] = _error_text(error)
    if lt_gg is not None:
        fits["lifetimes gg"] = lt_gg

    def lt_score():
        with np.errstate(all="ignore"):
            alive = lt.conditional_probability_alive(x, t_x, T)
            e90 = lt.conditional_expected_number_of_purchases_up_to_time(90, x, t_x, T)
            if lt_gg is None:
                return alive, e90, None, None
            e365 = lt.conditional_expected_number_of_purchases_up_to_time(365, x, t_x, T)
            scale, gp = res["gg_scale"], lt_gg.params_
            spend = scale * np.asarray(
                lt_gg.conditional_expected_average_profit(x, np.where(paid, mon, 1.0) / scale)
            )
            spend = np.where(paid, spend, scale * gp["p"] * gp["v"] / (gp["q"] - 1))
        return alive, e90, spend, e365 * spend

    lt_scores = None
    if lt is not None:
        lt_scores = best_of(
            args.repeat,
            lt_score,
            "lifetimes: score every client (p_alive, E[visits 90 d], expected average profit, E[visits 365 d] × profit)",
            tm,
            args,
        )

    # ---- a sample ----
    rng = np.random.default_rng(20261214)
    pick = np.sort(rng.choice(len(x), size=min(args.sample, len(x)), replace=False))
    sample = clv.Summary(x=x[pick], t_x=t_x[pick], T=T[pick], monetary=mon[pick])
    res["sample"] = {"clients": len(pick), "distinct_rows": len(clv.compress(sample))}
    fits["ours sample"] = best_of(
        args.repeat,
        lambda: clv.fit_bgnbd(clv.compress(sample)),
        f"ours: BG/NBD compress + fit, {len(pick):,}-client sample",
        tm,
        args,
    )
    fits["ours before sample"] = fit_bgnbd_before(clv.compress(sample))
    with Timed(f"lifetimes: BetaGeoFitter.fit, {len(pick):,}-client sample, no weights", tm, args):
        lt_sample, calls, error = fit_lifetimes_bgnbd(sample.x, sample.t_x, sample.T)
    res["lifetimes_calls"][f"{len(pick):,}-client sample"] = calls
    if lt_sample is not None:
        fits["lifetimes sample"] = lt_sample
    else:
        res["errors"]["lifetimes BetaGeoFitter, sample"] = error
    res["lifetimes_rss_peak"] = max(v["rss_peak"] for k, v in tm.items() if k.startswith("lifetimes"))
    res["max_rss"] = max_rss_mb()

    # E[X(t)] of a new client (eq. 9) with our fit, against Monte Carlo over the mixing
    # distributions: checks the closed form where a <= 1 (which churn.fit refuses)
    draws = 4_000_000
    lam = rng.gamma(bg.r, 1 / bg.alpha, draws)
    drop = rng.beta(bg.a, bg.b, draws)
    res["monte_carlo"] = []
    for days in (90, 365):
        with np.errstate(all="ignore"):
            each = np.where(drop > 0, -np.expm1(-lam * drop * days) / np.where(drop > 0, drop, 1), lam * days)
        res["monte_carlo"].append(
            {
                "days": days,
                "closed": clv.expected_visits_new(bg, days),
                "mc": float(each.mean()),
                "se": float(each.std() / np.sqrt(draws)),
            }
        )
    del lam, drop

    # ---- agreement ----
    def params_of(name, fit):
        if isinstance(fit, clv.BGNBD):
            return [fit.r, fit.alpha, fit.a, fit.b]
        if isinstance(fit, clv.GammaGamma):
            return [fit.p, fit.q, fit.v]
        if name == "lifetimes gg":
            return [
                float(fit.params_["p"]),
                float(fit.params_["q"]),
                float(fit.params_["v"]) * res["gg_scale"],
            ]
        return [float(fit.params_[k]) for k in ("r", "alpha", "a", "b")]

    res["params"] = {name: params_of(name, fit) for name, fit in fits.items()}
    res["iterations"] = {
        k: fits[k].iterations for k in ("ours", "ours warm", "ours before", "ours before warm")
    }
    res["ll"] = {}
    for name in ("ours", "ours warm", "ours before", "ours before warm", "lifetimes", "lifetimes weighted"):
        if name in fits:
            ll, grad = ll_bgnbd(res["params"][name], x, t_x, T, ones)
            res["ll"][name] = {
                "ll": ll,
                "grad": grad,
                "lifetimes_ll": lifetimes_nll(res["params"][name], x, t_x, T, ones),
            }
    for name in ("ours sample", "ours before sample", "lifetimes sample"):
        if name in fits:
            ll, grad = ll_bgnbd(res["params"][name], sample.x, sample.t_x, sample.T, np.ones(len(pick)))
            res["ll"][name] = {"ll": ll, "grad": grad}
    for name in ("ours gg", "lifetimes gg"):
        if name in fits:
            res["ll"][name] = {
                "ll": ll_gamma_gamma(res["params"][name], x[paid], mon[paid], np.ones(int(paid.sum())))
            }

    names = ("p_alive", "expected visits 90 d", "expected spend per visit", "CLV 365 d")
    ours_arrays = (scores.p_alive, scores.expected_visits_90d, scores.expected_spend, scores.clv_365d)
    res["ours_nan"] = {n: int(np.isnan(a).sum()) for n, a in zip(names, ours_arrays, strict=True)}
    res["diff_own"] = []

    def differ(label, name, a, b):
        d = np.abs(a - b)
        i = int(np.nanargmax(d))
        res["diff_own"].append(
            {
                "fit": label,
                "score": name,
                "max": float(d[i]),
                "mean": float(np.nanmean(d)),
                "x": float(x[i]),
                "t_x": float(t_x[i]),
                "T": float(T[i]),
                "ours": float(a[i]),
                "lifetimes": float(b[i]),
                "nan": f"{int(np.isnan(a).sum())} / {int(np.isnan(b).sum())}",
            }
        )

    if lt_scores is not None:
        for name, a, b in zip(names, ours_arrays, lt_scores, strict=True):
            if b is not None:
                differ("ours, cold start", name, a, b)
        for label, key in (
            ("ours, warm start (nightly)", "ours warm"),
            ("before ecf8b89, warm start (the former nightly)", "ours before warm"),
        ):
            other = clv.BGNBD(*res["params"][key])
            differ(label, "p_alive", clv.p_alive(other, summary), lt_scores[0])
            differ(label, "expected visits 90 d", clv.expected_visits(other, summary, 90), lt_scores[1])
        # the same parameters through both implementations: the formulas alone
        same = clv.BGNBD(*res["params"][res["lt_name"]])
        res["diff_same"] = {
            "p_alive": float(np.nanmax(np.abs(clv.p_alive(same, summary) - lt_scores[0]))),
            "expected visits 90 d": float(
                np.nanmax(np.abs(clv.expected_visits(same, summary, 90) - lt_scores[1]))
            ),
        }
    return res


# ---- report -------------------------------------------------------------------------------------


def _rel(value: float, reference: float) -> str:
    return f"{(value - reference) / reference * 100:+.3f} %" if reference else "–"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


COMPUTE_LABELS = {
    "fresh": "first nightly (no model kept)",
    "seeded": "with a good model of 91 days before (the whole path)",
}


def compute_section(as_of: date, runs: list[tuple[str, dict]]) -> list[str]:
    heads = [COMPUTE_LABELS[name] for name, _c in runs]
    lines = [
        "## The nightly compute_analytics, churn model included",
        "",
        f"`manage.py compute_analytics --as-of {as_of}` in a child process (Django start-up included in the"
        " wall time), as `analytics_bench.py` runs it, each step of `rollups._rebuild` timed from inside.",
        "",
    ]
    for name, _c in runs:
        if name == "fresh":
            lines.append(
                f"- *{COMPUTE_LABELS[name]}*: every ChurnModel deleted first: `churn.refresh` fits from a cold"
                " start, finds no model of a quarter ago and fits one for the calibration."
            )
        else:
            lines.append(
                f"- *{COMPUTE_LABELS[name]}*: every ChurnModel deleted, then the fit as of 91 days before stored"
                " as a converged model (what a run of that day would have kept). The nightly warm-starts from"
                " it, scores every client (ChurnScore, binary COPY) and calibrates it: the steady state."
            )
    lines += [
        "",
        "| figure | " + " | ".join(heads) + " | target |",
        "| --- |" + " ---: |" * len(runs) + " --- |",
    ]

    def row(label, fn, target=""):
        lines.append(f"| {label} | " + " | ".join(fn(c) for _n, c in runs) + f" | {target} |")

    row("load average (1 min) before / after", lambda c: f"{c['load_before']:.2f} / {c['load_after']:.2f}")
    row(
        "wall time of the child process",
        lambda c: f"**{c['process_wall']:.1f} s** ({_verdict(c['process_wall'] <= TARGET_S)})",
        f"≤ {TARGET_S} s",
    )
    row("the command alone", lambda c: f"{c['wall']:.1f} s")
    row("CPU time of the child", lambda c: f"{c['cpu']:.1f} s")
    row(
        "peak RSS of the child (`wait4` ru_maxrss)",
        lambda c: f"**{c['rss_mb']:.0f} MB** ({_verdict(c['rss_mb'] <= TARGET_RSS_MB)})",
        "≤ 2 GB",
    )
    row("PostgreSQL backend peak RSS (VmHWM, shared buffers included)", lambda c: f"{c['pg_hwm_mb']:.0f} MB")
    row("PostgreSQL: largest sum of its processes' RSS", lambda c: f"{c['pg_rss_sum_mb']:.0f} MB")
    for _m, _n, label in STEPS:

        def step(c, label=label):
            st = c["steps"].get(label)
            return f"{st['s']:.1f} s, RSS {st['rss_start']:.0f} → {st['rss_peak']:.0f} MB" if st else "–"

        row(f"step: {label}", step)

    def rest(c):
        parts = sum(c["steps"][label]["s"] for _m, _n, label in STEPS[1:] if label in c["steps"])
        return f"{c['steps'][STEPS[0][2]]['s'] - parts:.1f} s"

    row("step: the rest (visit days INSERT, indexes, ANALYZE, VACUUM, transaction)", rest)
    churn_label = STEPS[7][2]

    def inner(c):
        return c["steps"].get(churn_label, {}).get("result", {})

    for key in ("summary", "fit", "score", "calibrate"):
        row(
            f"… churn.refresh: {key}", lambda c, key=key: f"{inner(c)[key]:.2f} s" if key in inner(c) else "–"
        )
    row("… clients scored", lambda c: f"{inner(c).get('scored', 0):,}")
    row("… its own fit accepted (`converged`)", lambda c: str(inner(c).get("converged")))
    lines += [
        "",
        "`summary` = the summary from the visit days the lifecycle step already read; `fit` = BG/NBD +"
        " Gamma-Gamma on the distinct rows; `score` = `churn.score` + writing every ChurnScore row;"
        " `calibrate` = finding (or fitting) the model of a quarter ago and comparing it with what happened.",
        "",
        "Models kept (newest first): "
        + " — ".join(
            f"*{COMPUTE_LABELS[name]}*: "
            + "; ".join(
                f"as of {m['as_of']} r {m['r']:.4f}, alpha {m['alpha']:.2f}, a {m['a']:.4g}, b {m['b']:.4g},"
                f" converged {m['converged']}, {m['seconds']:.2f} s"
                for m in c["models"]
            )
            for name, c in runs
        )
        + ".",
        "",
    ]
    return lines


def findings(res: dict, runs: list[tuple[str, dict]]) -> list[str]:
    """The outcome in a few lines, worked out from the figures below."""
    p, ll, lt_name = res["params"], res["ll"], res["lt_name"]
    out = ["## Findings", ""]
    churn_label = STEPS[7][2]
    for name, c in runs:
        inner = c["steps"].get(churn_label, {}).get("result", {})
        out.append(
            f"- Nightly compute_analytics, {COMPUTE_LABELS[name]}: **{c['process_wall']:.1f} s**, peak RSS"
            f" **{c['rss_mb']:.0f} MB** (budget {TARGET_S} s, 2 GB: {_verdict(c['process_wall'] <= TARGET_S and c['rss_mb'] <= TARGET_RSS_MB)};"
            f" load {c['load_before']:.1f}); the churn step {c['steps'].get(churn_label, {}).get('s', float('nan')):.1f} s"
            f" (summary {inner.get('summary', 0):.2f}, fit {inner.get('fit', 0):.2f}, score"
            f" {inner.get('score', 0):.2f}, calibrate {inner.get('calibrate', 0):.2f}), {inner.get('scored', 0):,} clients scored."
        )
    ref = p.get(lt_name)
    if ref:
        for key in ("ours", "ours warm", "ours before", "ours before warm"):
            worst = max(abs(a - b) / b for a, b in zip(p[key], ref, strict=True))
            gap = ll[key]["ll"] - ll[lt_name]["ll"]
            out.append(
                f"- BG/NBD, {FIT_LABELS[key]} against {FIT_LABELS[lt_name]}: largest parameter difference"
                f" {worst * 100:.3f} % ({'over' if worst > 0.01 else 'within'} 1 %); log-likelihood"
                f" {gap:+.4f} over {res['clients']:,} clients."
            )
    mc = "; ".join(
        f"{m['days']} days: closed form {m['closed']:.5f}, Monte Carlo {m['mc']:.5f} ± {m['se']:.5f}"
        for m in res["monte_carlo"]
    )
    accepted = ", ".join(
        f"{COMPUTE_LABELS[name]}: {c['models'][0]['converged']}" for name, c in runs if c["models"]
    )
    out.append(
        f"- The fit has a = {p['ours'][2]:.4g}{' < 1' if p['ours'][2] < 1 else ''}. E[X(t)] of a new client with it"
        f" (eq. 9) against 4,000,000 Monte Carlo draws of (lambda, p): {mc}."
        + (f" The nightly accepted its fit ({accepted})." if accepted else "")
    )
    for name, error in res["errors"].items():
        out.append(f"- {name}: `{error[:120]}`")
    if "lifetimes gg" in p and res.get("gg_scale", 1.0) != 1.0:
        worst = max(abs(a - b) / b for a, b in zip(p["ours gg"], p["lifetimes gg"], strict=True))
        out.append(
            f"- lifetimes' Gamma-Gamma on spend / {res['gg_scale']:.0f} converges; p, q, v agree with ours within"
            f" {worst * 100:.3f} % (log-likelihood {ll['ours gg']['ll'] - ll['lifetimes gg']['ll']:+.4f} ours − lifetimes)."
        )
    return out + [""]


FIT_LABELS = {
    "lifetimes": "lifetimes, every client",
    "lifetimes weighted": "lifetimes, distinct rows + weights",
    "ours": "ours, cold start",
    "ours warm": "ours, warm start (nightly)",
    "ours before": "before ecf8b89, cold",
    "ours before warm": "before ecf8b89, warm (nightly)",
}


def report(args, as_of: date, data: dict, runs: list[tuple[str, dict]], seed: dict | None, res: dict) -> str:
    p, ll, tm = res["params"], res["ll"], res["timings"]
    lt_name = res["lt_name"]
    ref = p.get(lt_name)
    lines = [
        "# Churn model at a million clients: ours and `lifetimes` (issue 14, item 6)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/churn_bench.py` in `{args.db}` (the data of"
        f" `bench/analytics_bench.py`): {data['clients']:,} clients, {data['visits']:,} visits over the 3 years"
        f" before it was generated. As of **{as_of}**: {res['clients']:,} clients with a visit day up to it"
        f" ({res['visit_days']:,} visit days), {res['repeat_clients']:,} with a repeat visit day"
        f" ({res['paid_repeat_clients']:,} with a paid one: the Gamma-Gamma fit);"
        f" {res['distinct_rows']:,} distinct (x, t_x, T) rows, {res['distinct_spend_rows']:,} distinct"
        " (x, mean repeat spend) rows. Days are the unit (alpha per day).",
        "",
        f"Machine: {os.cpu_count()} cores shared with other work (tests); {_mem_total()}; Python"
        f" {sys.version.split()[0]}, numpy {_version('numpy')}, scipy {_version('scipy')}, lifetimes"
        f" {_version('lifetimes')} (autograd {_version('autograd')}), PostgreSQL on the same machine. The load"
        " average (1 min) before each timed part is in the tables. Ours: each fit and the scoring are the best"
        f" of {args.repeat} runs (all runs listed); lifetimes' fits run once, its scoring best of {args.repeat}.",
        "",
        "What is timed: ours = `churn._visit_days` (binary COPY of VisitDay up to the as-of day),"
        " `churn.summary_as_of` (x, t_x, T and mean repeat spend per client, numpy), `clv.compress`"
        " (distinct rows + weights), `clv.fit_bgnbd` (L-BFGS-B with the analytic gradient),"
        " `clv.fit_gamma_gamma`, `churn.score` (every client). lifetimes = `BetaGeoFitter.fit`"
        " (scipy BFGS on autograd's gradient, then autograd's Hessian for the standard errors: part of"
        " `fit`, its share given below), `GammaGammaFitter.fit`, and its conditional expectations for every"
        " client, on the same numpy arrays (lifetimes' own RFM summary from transactions is not used: ours"
        ' builds it from the visit days). "Before ecf8b89" is `clv.fit_bgnbd` as it was until that commit'
        " (L-BFGS-B with scipy's default stopping, ftol 2.2e-9 and gtol 1e-5; the code now uses 1e-14 and"
        " 1e-9), run by this script on the same rows for comparison: the first runs of this bench found that"
        " it stopped short on the flat (a, b) ridge.",
        "",
    ]
    lines += findings(res, runs)
    if runs:
        lines += compute_section(as_of, runs)
        if seed:
            lines += [
                f"The seeded model: the fit as of {seed['as_of']} (a = {seed['a']:.4g}; accepted by `churn.fit`:"
                f" {seed['accepted']}).",
                "",
            ]
    order = [k for k in FIT_LABELS if k in p]
    lines += [
        "## Parameters",
        "",
        f"Relative difference to `{FIT_LABELS[lt_name]}` (the reference: the highest log-likelihood below) in"
        " brackets. Gamma-Gamma on the clients with a paid repeat visit, without weights for lifetimes, on"
        " the distinct (x, spend) rows with weights for ours.",
        "",
        "| parameter | " + " | ".join(FIT_LABELS[k] for k in order) + " |",
        "| --- |" + " ---: |" * len(order),
    ]
    for i, name in enumerate(("r", "alpha (per day)", "a", "b")):
        cells = [
            f"{p[k][i]:.6g}" + ("" if k == lt_name or ref is None else f" ({_rel(p[k][i], ref[i])})")
            for k in order
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "lifetimes gg" in p:
        for i, name in enumerate(("p", "q", "v")):
            cells = []
            for k in order:
                if k == lt_name:
                    cells.append(f"{p['lifetimes gg'][i]:.6g}")
                elif k == "ours":
                    cells.append(f"{p['ours gg'][i]:.6g} ({_rel(p['ours gg'][i], p['lifetimes gg'][i])})")
                else:
                    cells.append("")
            lines.append(f"| {name} (Gamma-Gamma) | " + " | ".join(cells) + " |")
    if res["errors"]:
        lines.append("")
        for name, error in res["errors"].items():
            lines.append(f"- {name} failed: `{error[:300]}`")
    if res.get("gg_scale", 1.0) != 1.0 and "lifetimes gg" in p:
        lines.append(
            f"- lifetimes' Gamma-Gamma above: fitted on spend / {res['gg_scale']:.0f}, v multiplied back"
            " (p and q do not depend on the unit of spend)."
        )
    lines += [
        "",
        "Log-likelihood of each fit's parameters over every client (days), by `clv._bgnbd_ll_and_gradient`"
        " and by lifetimes' own `_negative_log_likelihood` on the same unscaled data; |gradient| = the norm of"
        " the mean log-likelihood's gradient in the log-parameters (0 at the optimum). The higher the"
        " log-likelihood, the better the fit.",
        "",
        "| fit | log-likelihood | lifetimes' function | − ours, cold | abs gradient | L-BFGS-B iterations |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in order:
        if name in ll:
            e = ll[name]
            lines.append(
                f"| {FIT_LABELS[name]} | {e['ll']:.3f} | {e['lifetimes_ll']:.3f} | {e['ll'] - ll['ours']['ll']:+.4f} |"
                f" {e['grad']:.2e} | {res['iterations'].get(name, '')} |"
            )
    if "lifetimes gg" in ll:
        lines += [
            f"| Gamma-Gamma, ours | {ll['ours gg']['ll']:.3f} | | | | |",
            f"| Gamma-Gamma, lifetimes | {ll['lifetimes gg']['ll']:.3f} | |"
            f" {ll['lifetimes gg']['ll'] - ll['ours gg']['ll']:+.4f} | | |",
        ]
    y = res["yesterday"]
    lines += [
        "",
        f"The warm start (the day before's fit with the code's settings): r {y[0]:.5g}, alpha {y[1]:.5g}, a {y[2]:.5g},"
        f" b {y[3]:.5g}.",
    ]
    if "lifetimes sample" in p:
        lines += [
            "",
            f"On a {res['sample']['clients']:,}-client random sample ({res['sample']['distinct_rows']:,} distinct rows):",
            "",
            "| fit | r | alpha | a | b | log-likelihood | − lifetimes |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, label in (
            ("lifetimes sample", "lifetimes"),
            ("ours sample", "ours, cold start"),
            ("ours before sample", "before ecf8b89, cold start"),
        ):
            v = p[name]
            lines.append(
                f"| {label} | {v[0]:.5g} | {v[1]:.5g} | {v[2]:.5g} | {v[3]:.5g} | {ll[name]['ll']:.3f} |"
                f" {ll[name]['ll'] - ll['lifetimes sample']['ll']:+.4f} |"
            )
    lines += [
        "",
        "## Scores over every client",
        "",
        f"Against lifetimes with its own fit (`{FIT_LABELS[lt_name]}`); spend for a client without a paid repeat"
        " visit is the population mean p v / (q − 1) on both sides.",
        "",
        "| ours | score | max abs difference | where: (x, t_x, T) ours / lifetimes | mean abs difference | NaN ours / lifetimes |",
        "| --- | --- | ---: | --- | ---: | ---: |",
    ]
    for d in res["diff_own"]:
        lines.append(
            f"| {d['fit']} | {d['score']} | {d['max']:.3g} | ({d['x']:.0f}, {d['t_x']:.0f}, {d['T']:.0f})"
            f" {d['ours']:.6g} / {d['lifetimes']:.6g} | {d['mean']:.3g} | {d['nan']} |"
        )
    if "diff_same" in res:
        ds = res["diff_same"]
        lines += [
            "",
            f"The same parameters (lifetimes' fit) through both implementations: max |Δ p_alive| {ds['p_alive']:.3g},"
            f" max |Δ expected visits 90 d| {ds['expected visits 90 d']:.3g}.",
        ]
    lines += [
        "",
        "## Timings",
        "",
        "| step | seconds | runs (s) | load before | RSS at start → peak MB | note |",
        "| --- | ---: | --- | ---: | --- | --- |",
    ]
    for name, t in tm.items():
        runs_text = ", ".join(f"{s:.3f}" for s in t.get("runs", [])) or "1 run"
        lines.append(
            f"| {name} | **{t['s']:.3f}** | {runs_text} | {t['load']:.2f} | {t['rss_start']:.0f} → {t['rss_peak']:.0f}"
            f" | {t['note']} |"
        )
    lines += [""]
    for name, c in res["lifetimes_calls"].items():
        if c:
            lines.append(
                f"- lifetimes BetaGeoFitter, {name}: {c.get('nit')} BFGS iterations, {c.get('nfev')} evaluations"
                f" of the likelihood and gradient in {c.get('optimize_s', float('nan')):.2f} s, then the Hessian"
                f" {c.get('hessian_s', float('nan')):.2f} s; success {c.get('success')} ({c.get('message')})."
            )
    ours_keys = [
        k
        for k in tm
        if k.startswith("ours:")
        and "warm" not in k
        and "sample" not in k
        and "read" not in k
        and "summary" not in k
    ]
    lt_keys = [
        k
        for k in tm
        if k.startswith("lifetimes:")
        and "sample" not in k
        and ("every client" in k or "GammaGamma" in k or "score" in k)
    ]
    lines += [
        "",
        f"From the summary to every client scored: ours **{sum(tm[k]['s'] for k in ours_keys):.2f} s**"
        f" ({len(ours_keys)} parts: compress, BG/NBD cold, compress spend, Gamma-Gamma, score); lifetimes"
        f" **{sum(tm[k]['s'] for k in lt_keys):.2f} s** ({len(lt_keys)} parts: BetaGeoFitter on every client,"
        " GammaGammaFitter (each attempt), score).",
        "",
        f"Memory of this process (RSS): {res['base_rss']:.0f} MB after Django start-up; peak"
        f" {res['ours_max_rss']:.0f} MB at the end of ours (visit days, summary, distinct rows, scores); peak"
        f" {res['max_rss']:.0f} MB at the end (ru_maxrss); lifetimes' largest phase peak"
        f" {res['lifetimes_rss_peak']:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


def _version(name: str) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:
        return "?"


def _mem_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return f"{int(line.split()[1]) / 2**20:.0f} GB RAM"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="salon_bench_analytics")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--as-of", help="YYYY-MM-DD (default: today, as analytics_bench)")
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--compute",
        choices=("both", "fresh", "seeded", "none"),
        default="both",
        help="which compute_analytics runs to time (see the docstring)",
    )
    parser.add_argument("--no-lifetimes-full", action="store_true", help="skip lifetimes on every client")
    parser.add_argument(
        "--wait-load", type=float, help="before each timed part, wait for the load under this"
    )
    parser.add_argument("--wait-max", type=float, default=900, help="longest wait for the load (s)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "churn.md"))
    parser.add_argument("--compute-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compute_child:
        compute_child(*args.compute_child)
        return
    if args.db.startswith("salon_crm") or args.db in ("postgres", "template0", "template1"):
        parser.error("use the bench database: the run deletes its churn models and rewrites its roll-ups")
    url = f"{args.server}/{args.db}"
    setup_env(url)
    import django

    django.setup()
    from django.db import connection

    from analytics import metrics
    from analytics.models import ChurnModel

    as_of = date.fromisoformat(args.as_of) if args.as_of else metrics.today()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer")
        clients = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM appointments_visit")
        visits = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM analytics_visitday")
        visit_days = cur.fetchone()[0]
    if not visits:
        raise SystemExit(f"{args.db} has no visits: generate it with bench/analytics_bench.py first")
    if not visit_days and args.compute == "none":
        raise SystemExit("no visit days yet: run compute_analytics first (leave out --compute none)")
    data = {"clients": clients, "visits": visits}
    runs, seed = [], None
    for name in ("fresh", "seeded"):
        if args.compute not in (name, "both"):
            continue
        ChurnModel.objects.all().delete()
        if name == "seeded":
            log("storing the fit of a quarter before as a good model")
            seed = seed_model(as_of)
        connection.close()
        log(f"compute_analytics --as-of {as_of} ({COMPUTE_LABELS[name]})")
        result = run_compute(url, as_of, args)
        log(f"compute_analytics: {result['process_wall']:.1f} s, {result['rss_mb']:.0f} MB")
        runs.append((name, result))
    log("ours and lifetimes")
    res = compare(args, as_of)
    connection.close()
    text = report(args, as_of, data, runs, seed, res)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    log(f"written to {args.out}")


if __name__ == "__main__":
    main()
