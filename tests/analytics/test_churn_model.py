"""The churn and value model (analytics.clv, analytics.churn) against the paper and the reference.

- The paper check (METRICS.md): the CDNOW sample that ships with `lifetimes`, imported through
  the project's own `import_visits` and rolled up by `compute_analytics`, fitted as of 1997-09-30,
  gives the paper's r = 0.243, alpha = 30.90 per day (4.414 per week), a = 0.793, b = 2.426, each
  within 1%; Gamma-Gamma gives p = 6.25, q = 3.74, v = 15.44 (the "RFM and CLV" note). Same-day
  purchases are one visit day; a client first seen after the as-of day is not in the fit.
- Per client, p_alive and the expected visit days equal lifetimes' on the same summary.
- On a population simulated from known BG/NBD parameters the fit finds them again."""

import csv
import importlib.util
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from analytics import churn, clv
from appointments.management.commands.import_visits import HEADER

pytestmark = pytest.mark.django_db
AS_OF = date(1997, 9, 30)
PAPER = {"r": 0.243, "alpha": 30.90, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def _cdnow_file() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None:
        pytest.fail("lifetimes (a dev dependency) is missing: its CDNOW sample is the paper's data")
    return Path(spec.origin).parent / "datasets" / "CDNOW_sample.txt"


@pytest.fixture
def cdnow(tmp_path):
    """The CDNOW sample (customer, id, YYYYMMDD, quantity, amount; 6,919 purchases of 2,357
    customers) as an import_visits file, one visit per purchase, plus one client whose first
    visit is after the as-of day; imported and rolled up by the project's commands."""
    rows = [line.split() for line in _cdnow_file().read_text().splitlines() if line.strip()]
    path = tmp_path / "cdnow.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)  # the import's own format
        for i, (customer, _id, day, _quantity, amount) in enumerate(rows):
            out.writerow(
                [
                    f"cdnow-{i}",
                    f"cdnow-{customer}",
                    "cdnow",
                    "",
                    "",
                    f"{day[:4]}-{day[4:6]}-{day[6:]}",
                    "",
                    amount,
                ]
            )
        out.writerow(["late-1", "cdnow-late", "cdnow", "", "", "1997-10-02", "", "20.00"])
    call_command("import_visits", str(path), "--create-missing", verbosity=0)
    call_command("compute_analytics", "--as-of", AS_OF.isoformat(), verbosity=0)
    return rows


def test_cdnow_through_the_import_gives_the_papers_parameters(cdnow):
    ids, summary = churn.summary_as_of(AS_OF)
    assert len(ids) == 2357  # the late client is not in the fit
    purchases = sum(1 for _c, _i, day, _q, _a in cdnow if day <= "19970930")
    assert summary.x.sum() + len(ids) < purchases  # same-day purchases are one visit day
    model = clv.fit_bgnbd(summary)
    assert model.converged
    for name, expected in PAPER.items():
        assert getattr(model, name) == pytest.approx(expected, rel=0.01), name
    spend = clv.fit_gamma_gamma(summary)
    for name, expected in GAMMA_GAMMA.items():
        assert getattr(spend, name) == pytest.approx(expected, rel=0.01), name


def test_the_scores_equal_the_reference_implementation(cdnow):
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    _ids, s = churn.summary_as_of(AS_OF)
    model = clv.fit_bgnbd(s)
    reference = BetaGeoFitter().fit(s.x, s.t_x, s.T)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(model, name) == pytest.approx(reference.params_[name], rel=1e-3)
    np.testing.assert_allclose(
        clv.p_alive(model, s), reference.conditional_probability_alive(s.x, s.t_x, s.T), atol=1e-3
    )
    np.testing.assert_allclose(
        clv.expected_visits(model, s, 90),
        reference.conditional_expected_number_of_purchases_up_to_time(90, s.x, s.t_x, s.T),
        rtol=1e-3,
        atol=1e-4,
    )
    repeat = s.x > 0
    spend = clv.fit_gamma_gamma(s)
    gg = GammaGammaFitter().fit(s.x[repeat], s.monetary[repeat])
    np.testing.assert_allclose(
        clv.expected_spend(spend, s)[repeat],
        gg.conditional_expected_average_profit(s.x[repeat], s.monetary[repeat]),
        rtol=1e-3,
    )


def _simulate(rng, n: int, r: float, alpha: float, a: float, b: float, horizon: int):
    """BG/NBD clients who all start on day 0 and are observed for `horizon` days, and what each
    does in the `horizon` days after (for the calibration check)."""
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        t, last, count, later = 0.0, 0.0, 0, 0
        while True:  # the paper: a client can drop out only after a repeat visit
            t += rng.exponential(1 / lam[i])
            if t > 2 * horizon:
                break
            if t <= horizon:
                count, last = count + 1, t
            else:
                later += 1
            if rng.random() < p[i]:
                break
        x[i], t_x[i], future[i] = count, last, later
    return clv.Summary(x=x, t_x=t_x, T=np.full(n, float(horizon))), future


def test_a_simulated_population_gives_its_parameters_back_and_its_future():
    rng = np.random.default_rng(7)
    truth = {"r": 0.8, "alpha": 40.0, "a": 0.6, "b": 3.0}
    summary, future = _simulate(rng, 4000, **truth, horizon=365)
    model = clv.fit_bgnbd(summary)
    assert model.converged
    for name, value in truth.items():  # within sampling error of 4,000 clients
        assert getattr(model, name) == pytest.approx(value, rel=0.25), name
    predicted = clv.expected_visits(model, summary, 365)
    # calibration: per decile of predicted visits, the mean actual visits of the next year is
    # within 3 standard errors of the mean predicted
    order = np.argsort(predicted)
    for part in np.array_split(order, 10):
        error = future[part].std(ddof=1) / np.sqrt(len(part)) + 1e-9
        assert abs(future[part].mean() - predicted[part].mean()) < 3 * error + 0.05, part[:3]


def test_a_warm_start_from_far_away_finds_the_same_optimum(cdnow):
    """The nightly fit starts from the last good one; on a likelihood flat along (a, b) it must
    not stop short (scipy's default tolerances did: bench/results/churn.md)."""
    _ids, s = churn.summary_as_of(AS_OF)
    cold = clv.fit_bgnbd(clv.compress(s))
    far = clv.BGNBD(r=0.99, alpha=89.0, a=0.021, b=14.8)
    warm = clv.fit_bgnbd(clv.compress(s), start=far)
    assert cold.converged and warm.converged
    for name in ("r", "alpha", "a", "b"):
        assert getattr(warm, name) == pytest.approx(getattr(cold, name), rel=1e-3), name


def test_a_population_with_a_below_one_is_fitted_and_scored():
    """Salon data often gives a < 1 (the bench chain: a = 0.0075): eq. 10 holds on that side too,
    so the fit is kept and its predictions are finite, positive and follow the simulation."""
    from analytics.models import ChurnModel

    rng = np.random.default_rng(5)
    summary, future = _simulate(rng, 3000, r=0.7, alpha=40.0, a=0.3, b=2.0, horizon=365)
    fit = clv.fit_bgnbd(summary)
    assert fit.converged and fit.a < 1
    assert churn._predicts(fit)
    model = ChurnModel(r=fit.r, alpha=fit.alpha, a=fit.a, b=fit.b, converged=True)
    expected = churn.score(model, clv.Summary(summary.x, summary.t_x, summary.T, np.zeros(len(summary))))
    assert np.all(np.isfinite(expected.expected_visits_90d)) and np.all(expected.expected_visits_90d >= 0)
    predicted = clv.expected_visits(fit, summary, 365).sum()
    assert predicted == pytest.approx(future.sum(), rel=0.1)
