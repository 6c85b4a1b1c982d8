"""The churn and value model of METRICS.md: BG/NBD (Fader, Hardie & Lee 2005, "Counting Your
Customers the Easy Way") and Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"), fitted by
maximum likelihood from the papers' closed-form likelihoods with numpy and scipy, vectorised
over clients (no loop over them), in days.

Inputs per client with a visit day up to the as-of day D (`Summary`): x = visit days - 1,
t_x = days from the first to the last visit day, T = days from the first visit day to D, and for
Gamma-Gamma the mean revenue of the repeat visit days (clients with x >= 1).

    params = fit_bgnbd(summary)            # r, alpha, a, b (alpha per day)
    p_alive(params, summary)               # the probability each client is still a client
    expected_visits(params, summary, 90)   # visit days expected in the next 90 days
    spend = fit_gamma_gamma(summary)       # p, q, v
    expected_spend(spend, summary)         # expected spend per visit day

`lifetimes` is the reference in the tests only (the same parameters on its CDNOW sample)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass(frozen=True)
class Summary:
    """One entry per client (arrays of equal length); `weights` counts clients sharing a row."""

    x: np.ndarray  # repeat visit days
    t_x: np.ndarray  # days from the first to the last visit day
    T: np.ndarray  # days from the first visit day to the as-of day
    monetary: np.ndarray | None = None  # mean revenue of the repeat visit days (x >= 1), else 0
    weights: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float  # per day
    a: float
    b: float
    converged: bool = True
    log_likelihood: float = float("nan")
    iterations: int = 0


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float
    converged: bool = True
    log_likelihood: float = float("nan")


class FitError(ValueError):
    """The data cannot be fitted (no client, or no repeat visit at all)."""


# ---- BG/NBD ---------------------------------------------------------------------------------------


def _bgnbd_ll_and_gradient(log_params, x, t_x, T, w) -> tuple[float, np.ndarray]:
    """The weighted log-likelihood and its gradient in the log-parameters (digamma terms of the
    gamma functions; the two-branch sum through its softmax weights): L-BFGS-B then needs one
    evaluation per step instead of five."""
    r, alpha, a, b = np.exp(log_params)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    log_aT, log_at = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -(r + x) * log_aT
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x) * log_at, -np.inf)
    both = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - both), np.exp(a4 - both)  # w4 = 0 without a repeat visit
    psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + x)
    d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha) - w3 * log_aT - w4 * log_at
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab + special.digamma(b + x) - special.digamma(b) - psi_abx - w4 / b_x1
    gradient = np.array([w @ d_r * r, w @ d_alpha * alpha, w @ d_a * a, w @ d_b * b])
    return float(w @ (a1 + a2 + both)), gradient


def _weights(summary: Summary) -> np.ndarray:
    return np.ones(len(summary)) if summary.weights is None else summary.weights.astype(float)


def fit_bgnbd(summary: Summary, *, start: BGNBD | None = None) -> BGNBD:
    """Maximum likelihood over log-parameters (L-BFGS-B from 1, 1, 1, 1, or from `start`, a
    previous fit). `converged` says whether the optimiser reported success."""
    if not len(summary):
        raise FitError("no client with a visit")
    x, t_x, T = (np.asarray(v, dtype=float) for v in (summary.x, summary.t_x, summary.T))
    w = _weights(summary)
    total = w.sum()

    def negative(log_params):
        ll, gradient = _bgnbd_ll_and_gradient(log_params, x, t_x, T, w)
        return -ll / total, -gradient / total

    x0 = np.log([start.r, start.alpha, start.a, start.b]) if start else np.zeros(4)
    # tight stopping: the likelihood is flat along (a, b) on salon data (a far below 1), and
    # scipy's default tolerances stop a warm start short of the optimum (bench/results/churn.md)
    bounds = [(-12, 12)] * 4
    result = optimize.minimize(
        negative,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
    )

    def flat(found, tolerance: float = 1e-5) -> bool:
        # at the optimum to scipy's default tolerance (the projected gradient: a parameter
        # pressed against its bound, a and b running off together where nobody leaves, is done)
        gradient = negative(found.x)[1]
        pressed = (np.isclose(found.x, -12) & (gradient > 0)) | (np.isclose(found.x, 12) & (gradient < 0))
        return bool(np.max(np.abs(np.where(pressed, 0, gradient))) < tolerance)

    # a line search that can no longer improve at the tight tolerance (status 2: rounding, near
    # the optimum) is done when the gradient is nearly flat too
    done = bool(result.success) or flat(result) or (result.status == 2 and flat(result, 1e-4))
    if not done:  # L-BFGS-B sometimes stops on a flat stretch: polish with Nelder-Mead
        polished = optimize.minimize(
            lambda u: negative(u)[0],
            result.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10},
        )
        if polished.fun <= result.fun:
            result = polished
            done = bool(polished.success) or flat(polished)
    r, alpha, a, b = np.exp(result.x)
    return BGNBD(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        converged=done and bool(np.isfinite(result.fun)),
        log_likelihood=float(-result.fun * total),
        iterations=int(result.nit),
    )


def p_alive(m: BGNBD, summary: Summary) -> np.ndarray:
    """P(still a client | x, t_x, T): 1 for clients without a repeat visit day (the model's
    assumption: they cannot have dropped out before a first repeat)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (summary.x, summary.t_x, summary.T))
    repeat = x > 0
    log_ratio = (
        np.log(m.a)
        - np.log(np.where(repeat, m.b + x - 1, 1.0))
        + (m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + t_x))
    )
    return np.where(repeat, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), 1.0)


def expected_visits(m: BGNBD, summary: Summary, days: float) -> np.ndarray:
    """E[visit days in the next `days` | x, t_x, T] (the paper's eq. 10)."""
    return expected_visits_if_alive(m, summary, days) * p_alive(m, summary)


def expected_visits_if_alive(m: BGNBD, summary: Summary, days: float) -> np.ndarray:
    """E[visit days in the next `days` | x, t_x, T, still a client]: eq. 10 without its P(alive)
    factor (what is lost if the client has gone: the at-risk list's value at risk)."""
    x, T = np.asarray(summary.x, dtype=float), np.asarray(summary.T, dtype=float)
    r, alpha, a, b = m.r, m.alpha, m.a, m.b
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, days / (alpha + T + days))
    first = (a + b + x - 1) / (a - 1)
    second = 1 - hyp * ((alpha + T) / (alpha + T + days)) ** (r + x)
    return first * second


def p_return(m: BGNBD, summary: Summary, days: float) -> np.ndarray:
    """P(at least one visit day in the next `days` | x, t_x, T): alive, and then (the visit rate's
    posterior is Gamma(r + x, alpha + T), and a client can only drop out after a visit) a first
    visit within `days`. The calibration compares it with the share who really came back."""
    x, T = np.asarray(summary.x, dtype=float), np.asarray(summary.T, dtype=float)
    none_if_alive = np.exp((m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + T + days)))
    return p_alive(m, summary) * (1 - none_if_alive)


def compress(summary: Summary, *, spend: bool = False) -> Summary:
    """The distinct (x, t_x, T) rows (with `spend`: (x, mean repeat spend) rows) with `weights`
    counting the clients on each: the same likelihood from about half the rows at a million
    clients (visit days are whole days, so many clients share a row)."""
    if spend:
        keys = np.column_stack([summary.x, summary.monetary])
    else:
        keys = np.column_stack([summary.x, summary.t_x, summary.T])
    rows, counts = np.unique(keys, axis=0, return_counts=True)
    if spend:
        zeros = np.zeros(len(rows))
        return Summary(x=rows[:, 0], t_x=zeros, T=zeros, monetary=rows[:, 1], weights=counts)
    return Summary(x=rows[:, 0], t_x=rows[:, 1], T=rows[:, 2], weights=counts)


def expected_visits_new(m: BGNBD, days: float) -> float:
    """E[X(t)] for a new client (the paper's eq. 7): the population's expected visit days."""
    r, alpha, a, b = m.r, m.alpha, m.a, m.b
    hyp = special.hyp2f1(r, b, a + b - 1, days / (alpha + days))
    return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + days)) ** r * hyp))


# ---- Gamma-Gamma ----------------------------------------------------------------------------------


def _gg_ll(p, q, v, x, m) -> np.ndarray:
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v)
    )


def fit_gamma_gamma(summary: Summary, *, start: GammaGamma | None = None) -> GammaGamma:
    """Maximum likelihood on the clients with x >= 1 and a positive mean repeat spend."""
    if summary.monetary is None:
        raise FitError("no spend given")
    keep = (np.asarray(summary.x) > 0) & (np.asarray(summary.monetary) > 0)
    if not keep.any():
        raise FitError("no client with a paid repeat visit")
    x = np.asarray(summary.x, dtype=float)[keep]
    mon = np.asarray(summary.monetary, dtype=float)[keep]
    w = _weights(summary)[keep]
    total = w.sum()

    log_m, log_x = np.log(mon), np.log(x)

    def negative(log_params):
        p, q, v = np.exp(log_params)
        px, xm_v = p * x, x * mon + v
        psi = special.digamma(px + q)
        d_p = x * (psi - special.digamma(px) + log_m + log_x - np.log(xm_v))
        d_q = psi - special.digamma(q) + np.log(v) - np.log(xm_v)
        d_v = q / v - (px + q) / xm_v
        gradient = np.array([w @ d_p * p, w @ d_q * q, w @ d_v * v])
        return -(w @ _gg_ll(p, q, v, x, mon)) / total, -gradient / total

    x0 = np.log([start.p, start.q, start.v]) if start else np.log([1.0, 1.0, max(float(np.median(mon)), 1.0)])
    result = optimize.minimize(
        negative, x0, jac=True, method="L-BFGS-B", bounds=[(-12, 16)] * 3, options={"maxiter": 2000}
    )
    if not result.success:
        polished = optimize.minimize(
            lambda u: negative(u)[0], result.x, method="Nelder-Mead", options={"maxiter": 4000}
        )
        if polished.fun <= result.fun:
            result = polished
    p, q, v = np.exp(result.x)
    return GammaGamma(
        p=float(p),
        q=float(q),
        v=float(v),
        converged=bool(result.success) and bool(np.isfinite(result.fun)),
        log_likelihood=float(-result.fun * total),
    )


def expected_spend(g: GammaGamma, summary: Summary) -> np.ndarray:
    """E[spend per visit day | x, mean repeat spend]; the population mean p v / (q - 1) for a
    client without a paid repeat visit (or where q <= 1 leaves no finite mean: NaN)."""
    x = np.asarray(summary.x, dtype=float)
    mon = np.asarray(summary.monetary if summary.monetary is not None else np.zeros(len(x)), dtype=float)
    population = g.p * g.v / (g.q - 1) if g.q > 1 else np.nan
    conditional = (g.p * (g.v + x * mon)) / (g.p * x + g.q - 1)
    return np.where((x > 0) & (mon > 0), conditional, population)
