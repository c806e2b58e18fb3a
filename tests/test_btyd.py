"""BG/NBD and Gamma-Gamma (runner/metrics/btyd.py) against the papers, quadrature and lifetimes.

The CDNOW sample (Fader, Hardie & Lee 2005: 2,357 customers, 39 weeks of calibration
data) ships inside the ``lifetimes`` wheel, which the ``[test]`` extra installs; the files
are read from its package folder without importing ``lifetimes``. Only the cross-check
against ``lifetimes``' own implementation imports it.
"""

from __future__ import annotations

import math
import os
import warnings
from datetime import datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special

from runner.metrics import btyd
from runner.metrics.btyd import (
    BGNBDFit,
    FitError,
    GammaGammaFit,
    expected_clv,
    fit_bgnbd,
    fit_gamma_gamma,
    monthly_discount_rate,
    months_in_horizon,
    predict_clv,
    simulate_bgnbd,
    simulate_gamma_gamma,
    summary_from_transactions,
)

# --------------------------------------------------------------------------- data


def _lifetimes_dataset(name: str) -> Path:
    """A file of ``lifetimes/datasets`` in the installed wheel (not importing lifetimes)."""
    try:
        dist = metadata.distribution("lifetimes")
    except metadata.PackageNotFoundError:
        message = "the CDNOW sample ships in the lifetimes wheel: pip install -e '.[test]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    path = Path(str(dist.locate_file(f"lifetimes/datasets/{name}")))
    assert path.is_file(), f"{name} is not in lifetimes {dist.version}"
    return path


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    """cdnow_customers_summary_with_transactions.csv: ID, x, t_x, T (weeks), zbar."""
    table = np.loadtxt(
        _lifetimes_dataset("cdnow_customers_summary_with_transactions.csv"),
        delimiter=",",
        skiprows=1,
    )
    assert table.shape == (2357, 5)
    return {
        "id": table[:, 0].astype(int),
        "x": table[:, 1],
        "t_x": table[:, 2],
        "T": table[:, 3],
        "m": table[:, 4],
    }


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow) -> BGNBDFit:
    return fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], unit="W")


@pytest.fixture(scope="module")
def cdnow_gamma_gamma(cdnow) -> GammaGammaFit:
    return fit_gamma_gamma(cdnow["x"], cdnow["m"])


def _fit(r: float, alpha: float, a: float, b: float, unit: str = "W") -> BGNBDFit:
    return BGNBDFit(r, alpha, a, b, math.nan, True, 0, 0.0, 0, unit=unit)


# ------------------------------------------------------------ summary from purchases


def test_summary_hand_worked_example() -> None:
    # A: 1 Jan twice (10 + 5: one purchase day worth 15), 5 Jan (20), 15 Jan with a time
    # of day (30), 2 Feb after the as-of day (ignored). B: one purchase. C: first purchase
    # after the as-of day (left out). As of 31 Jan 2024.
    ids = ["A", "A", "B", "A", "A", "A", "C"]
    dates = [
        "2024-01-01",
        "2024-01-01",
        "2024-01-20",
        "2024-01-05",
        datetime(2024, 1, 15, 18, 30),
        "2024-02-02",
        "2024-02-10",
    ]
    amounts = [10.0, 5.0, 7.0, 20.0, 30.0, 99.0, 1.0]
    days = summary_from_transactions(ids, dates, "2024-01-31", amounts)
    assert days.customer_id.tolist() == ["A", "B"]
    # A: purchase days 1, 5, 15 Jan -> frequency 2, recency 14, T 30, monetary (20+30)/2
    # B: one purchase day -> frequency 0, recency 0, T = 31 Jan - 20 Jan = 11, monetary 0
    assert days.frequency.tolist() == [2.0, 0.0]
    assert days.recency.tolist() == [14.0, 0.0]
    assert days.T.tolist() == [30.0, 11.0]
    assert days.monetary_value.tolist() == [25.0, 0.0]
    weeks = summary_from_transactions(ids, dates, "2024-01-31", amounts, unit="W")
    assert weeks.recency.tolist() == [2.0, 0.0]
    np.testing.assert_allclose(weeks.T, [30 / 7, 11 / 7])
    assert weeks.frequency.tolist() == days.frequency.tolist()
    assert summary_from_transactions(ids, dates, "2024-01-31").monetary_value is None
    # a customer first seen on the as-of day has T = 0, which the models accept
    same_day = summary_from_transactions(ids, dates, "2024-01-20")
    assert same_day.T.tolist() == [19.0, 0.0]
    assert len(summary_from_transactions(ids, dates, "2023-12-31", amounts)) == 0


def test_summary_sums_same_day_values_before_averaging() -> None:
    # the first day's value is left out even when it is the largest; same-day repeats add
    summary = summary_from_transactions(
        [1, 1, 1, 1], ["2024-03-01", "2024-03-02", "2024-03-02", "2024-03-09"], "2024-03-10",
        [100.0, 4.0, 6.0, 20.0],
    )  # fmt: skip
    assert summary.frequency.tolist() == [2.0]
    assert summary.monetary_value.tolist() == [15.0]


def test_summary_reproduces_the_cdnow_summary(cdnow) -> None:
    # CDNOW_sample.txt: customer, sample id, yyyymmdd, CDs, dollars; 146 customer-days of
    # the calibration period have two lines, so counting lines instead of days would fail
    raw = np.loadtxt(_lifetimes_dataset("CDNOW_sample.txt"))
    dates = np.array(
        [f"{int(d) // 10000:04d}-{int(d) // 100 % 100:02d}-{int(d) % 100:02d}" for d in raw[:, 2]],
        dtype="datetime64[D]",
    )
    summary = summary_from_transactions(
        raw[:, 1].astype(int), dates, "1997-09-30", raw[:, 4], unit="W"
    )
    assert summary.customer_id.tolist() == cdnow["id"].tolist()
    np.testing.assert_array_equal(summary.frequency, cdnow["x"])
    # the published file rounds to cents and hundredths of a week
    np.testing.assert_allclose(summary.recency, cdnow["t_x"], atol=0.005 + 1e-12)
    np.testing.assert_allclose(summary.T, cdnow["T"], atol=0.005 + 1e-12)
    np.testing.assert_allclose(summary.monetary_value, cdnow["m"], atol=0.005 + 1e-12)


# ------------------------------------------------------------- published CDNOW fits


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow, cdnow_bgnbd) -> None:
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert cdnow_bgnbd.params[name] == pytest.approx(value, rel=0.01), name
    # the paper's log-likelihood, -9582.4
    assert cdnow_bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    args = (cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert cdnow_bgnbd.log_likelihood_of(*args) == pytest.approx(cdnow_bgnbd.log_likelihood)
    # eq. 6 written out for one customer with x > 0 and one with x = 0
    r, alpha, a, b = cdnow_bgnbd.r, cdnow_bgnbd.alpha, cdnow_bgnbd.a, cdnow_bgnbd.b
    for x, t_x, big_t in ((2, 30.43, 38.86), (0, 0.0, 38.86)):
        head = math.exp(
            special.betaln(a, b + x) - special.betaln(a, b)
            + special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha)
        )  # fmt: skip
        tail = (alpha + big_t) ** -(r + x)
        if x:
            tail += a / (b + x - 1) * (alpha + t_x) ** -(r + x)
        assert cdnow_bgnbd.log_likelihood_of([x], [t_x], [big_t]) == pytest.approx(
            math.log(head * tail), rel=1e-12
        )
    assert cdnow_bgnbd.converged and cdnow_bgnbd.n_customers == 2357
    assert cdnow_bgnbd.unit == "W" and cdnow_bgnbd.fit_seconds > 0
    assert all(
        0 < se < value for se, value in zip(cdnow_bgnbd.std_errors, published.values(), strict=True)
    )


def test_gamma_gamma_reproduces_fader_hardie_lee_2005(cdnow, cdnow_gamma_gamma) -> None:
    fit = cdnow_gamma_gamma
    assert fit.p == pytest.approx(6.25, rel=0.01)
    assert fit.q == pytest.approx(3.74, rel=0.01)
    assert fit.gamma == pytest.approx(15.44, rel=0.01)
    assert fit.n_customers == int((cdnow["x"] > 0).sum()) == 946
    # customers with no repeat purchase carry no spend information: passing them changes nothing
    only_repeat = fit_gamma_gamma(cdnow["x"][cdnow["x"] > 0], cdnow["m"][cdnow["x"] > 0])
    assert only_repeat.params == pytest.approx(fit.params, rel=1e-9)


def test_cdnow_customer_1_expects_1_226_purchases_in_39_weeks(cdnow_bgnbd) -> None:
    # the paper's worked example: x = 2, t_x = 30.43, T = 38.86 weeks
    expected = cdnow_bgnbd.expected_purchases(39, [2], [30.43], [38.86])
    assert expected[0] == pytest.approx(1.226, abs=5e-4)


def test_fit_is_the_same_in_days_and_weeks(cdnow, cdnow_bgnbd) -> None:
    days = fit_bgnbd(cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7, unit="D")
    assert days.alpha == pytest.approx(cdnow_bgnbd.alpha * 7, rel=1e-6)
    for name in ("r", "a", "b"):
        assert days.params[name] == pytest.approx(cdnow_bgnbd.params[name], rel=1e-6)
    # one year ahead is 52 1/7 weeks or 365 days, and CLV steps are 30 days in both
    args = (cdnow["x"], cdnow["t_x"], cdnow["T"])
    np.testing.assert_allclose(
        days.expected_purchases(365, cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7),
        cdnow_bgnbd.expected_purchases(365 / 7, *args),
        rtol=1e-6,
    )


def test_matches_lifetimes_on_cdnow(cdnow) -> None:
    """Same parameters, same predictions as lifetimes' own code (days: its 'W' CLV steps
    4.345 weeks, docs/metrics.md's 30 days)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pandas as pd
            from lifetimes import BetaGeoFitter, GammaGammaFitter
        except Exception as error:  # an unmaintained package may stop importing
            pytest.skip(f"lifetimes does not import here: {error!r}")
        x, t_x, big_t, m = cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7, cdnow["m"]
        theirs_bg = BetaGeoFitter().fit(x, t_x, big_t)
        theirs_gg = GammaGammaFitter().fit(x[x > 0], m[x > 0])
        ours_bg = fit_bgnbd(x, t_x, big_t, unit="D")
        ours_gg = fit_gamma_gamma(x, m)
        np.testing.assert_allclose(
            [ours_bg.r, ours_bg.alpha, ours_bg.a, ours_bg.b], theirs_bg.params_.values, rtol=1e-5
        )
        np.testing.assert_allclose([ours_gg.p, ours_gg.q, ours_gg.v], theirs_gg.params_, rtol=1e-5)
        # predictions at identical parameters
        bg = BGNBDFit(*theirs_bg.params_.values, math.nan, True, 0, 0.0, 0, unit="D")
        gg = GammaGammaFit(*theirs_gg.params_.values, math.nan, True, 0, 0.0, 0)
        np.testing.assert_allclose(
            bg.expected_purchases(365, x, t_x, big_t),
            theirs_bg.conditional_expected_number_of_purchases_up_to_time(365, x, t_x, big_t),
            rtol=1e-10,
        )
        np.testing.assert_allclose(
            bg.p_alive(x, t_x, big_t),
            theirs_bg.conditional_probability_alive(x, t_x, big_t),
            rtol=1e-12,
        )
        series = [pd.Series(v) for v in (x, t_x, big_t, m)]
        np.testing.assert_allclose(
            gg.expected_average_spend(x, m),
            theirs_gg.conditional_expected_average_profit(series[0], series[3]).to_numpy(),
            rtol=1e-12,
        )
        rate = monthly_discount_rate(0.10)
        their_clv = theirs_gg.customer_lifetime_value(
            theirs_bg, *series, time=12, discount_rate=rate, freq="D"
        )
        np.testing.assert_allclose(
            expected_clv(bg, gg, x, t_x, big_t, m, months=12, annual_discount_rate=0.10),
            their_clv.to_numpy(),
            rtol=1e-10,
        )


# ------------------------------------------------- eq. 10 against the model itself


def _expected_by_quadrature(fit: BGNBDFit, t: float, x: int, t_x: float, big_t: float) -> float:
    """E[Y(t) | x, t_x, T] integrated from the model, not from eq. 10's closed form.

    Given (λ, p) and alive at T, E[Y(t)] = (1 − e^(−λpt))/p. Integrating λ against its
    Gamma posterior leaves one integral over p ~ Beta with the likelihood's weights:
    ∫ p^(a−1) (1−p)^(b+x−1) (1 − (1 + p·t/(α+T))^−(r+x))/p dp
      / [B(a, b+x) + δ(x>0)·B(a+1, b+x−1)·((α+T)/(α+t_x))^(r+x)].
    """
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    k, u = r + x, t / (alpha + big_t)

    def alive_purchases_over_p(p: float) -> float:
        return k * u if p == 0 else -math.expm1(-k * math.log1p(p * u)) / p

    with warnings.catch_warnings():  # QUADPACK's round-off notes near its 1e-13 target
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        numerator, _ = integrate.quad(
            alive_purchases_over_p,
            0.0,
            1.0,
            weight="alg",
            wvar=(a - 1.0, b + x - 1.0),
            limit=500,
            epsabs=0.0,
            epsrel=1e-13,
        )
    log_denominator = special.betaln(a, b + x)
    if x > 0:
        log_dead = special.betaln(a + 1, b + x - 1) + k * (
            math.log(alpha + big_t) - math.log(alpha + t_x)
        )
        log_denominator = np.logaddexp(log_denominator, log_dead)
    return numerator * math.exp(-log_denominator)


@pytest.mark.parametrize(
    ("r", "alpha", "a", "b"),
    [
        (0.243, 4.414, 0.793, 2.426),  # CDNOW
        (2.0, 30.0, 1.5, 5.0),
        (0.5, 100.0, 0.3, 0.9),
        (1.0, 10.0, 1.0, 3.0),  # a = 1: eq. 10's 0/0
        (3.0, 1.0, 1.0 - 3e-7, 2.0),  # next to it
        (5.0, 2.0, 3.0, 0.5),  # r − a an integer: scipy's 2F1 integer branch gives inf
        (0.7, 3.0, 0.7, 0.2),  # a + b < 1: 2F1 negative for x = 0
    ],
)
def test_expected_purchases_match_quadrature(r, alpha, a, b) -> None:
    fit = _fit(r, alpha, a, b)
    cases = [
        (x, big_t, share * big_t if x else 0.0, t)
        for x in (0, 1, 3, 20, 400)
        for big_t in (1.0, 39.0, 300.0)
        for share in (0.0, 0.5, 1.0)
        for t in (0.5, 39.0, 5000.0)
    ]
    x, big_t, t_x, t = (np.array(column, dtype=float) for column in zip(*cases, strict=True))
    ours = fit.expected_purchases(t, x, t_x, big_t)
    reference = [_expected_by_quadrature(fit, *case) for case in zip(t, x, t_x, big_t, strict=True)]
    np.testing.assert_allclose(ours, reference, rtol=1e-8)


def test_expected_purchases_where_the_papers_form_overflows(cdnow_bgnbd) -> None:
    """Eq. 10 as printed overflows for heavy buyers (600 purchase days in 10 weeks); the
    Euler-transformed form stays finite and agrees with quadrature."""
    fit, x, t_x, big_t, t = cdnow_bgnbd, 600, 10.0, 10.0, 52.0
    z = t / (fit.alpha + big_t + t)
    with np.errstate(all="ignore"):
        printed = special.hyp2f1(fit.r + x, fit.b + x, fit.a + fit.b + x - 1, z)
    assert not np.isfinite(printed)
    expected = fit.expected_purchases(t, [x], [t_x], [big_t])[0]
    assert expected == pytest.approx(_expected_by_quadrature(fit, t, x, t_x, big_t), rel=1e-9)
    assert expected > 100


def test_expected_purchases_shapes_and_monotone_in_horizon(cdnow, cdnow_bgnbd) -> None:
    args = (cdnow["x"], cdnow["t_x"], cdnow["T"])
    horizons = np.array([0.0, 1.0, 10.0, 39.0, 104.0])
    grid = cdnow_bgnbd.expected_purchases(horizons[:, None], *args)
    assert grid.shape == (5, 2357)
    assert np.all(grid[0] == 0)
    assert np.all(np.diff(grid, axis=0) > 0)
    # the same values one horizon at a time, and per customer
    np.testing.assert_allclose(grid[3], cdnow_bgnbd.expected_purchases(39.0, *args), rtol=1e-14)
    np.testing.assert_allclose(
        grid[3], cdnow_bgnbd.expected_purchases(np.full(2357, 39.0), *args), rtol=1e-14
    )


# ------------------------------------------------------------------------ P(alive)


def test_p_alive_is_one_for_frequency_zero_and_a_probability(cdnow, cdnow_bgnbd) -> None:
    alive = cdnow_bgnbd.p_alive(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert np.all(alive[cdnow["x"] == 0] == 1.0)
    assert np.all((alive > 0) & (alive <= 1))
    assert np.all(alive[cdnow["x"] > 0] < 1)
    # extreme gaps stay in (0, 1] without overflow warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        far = cdnow_bgnbd.p_alive([5000, 1], [1e-3, 1e6], [1e6, 1e6])
    assert 0 <= far[0] < 1e-300 and far[1] == pytest.approx(1 / (1 + 0.793 / 2.426), rel=0.01)


def test_p_alive_rises_with_recency_and_falls_with_age(cdnow_bgnbd) -> None:
    recency = np.linspace(0.0, 40.0, 81)
    for x in (1, 2, 5, 20):
        rising = cdnow_bgnbd.p_alive(np.full(81, x), recency, np.full(81, 40.0))
        assert np.all(np.diff(rising) > 0), x
        # at t_x = T nothing argues for dropout beyond the prior's a/(b+x-1)
        assert rising[-1] == pytest.approx(
            (cdnow_bgnbd.b + x - 1) / (cdnow_bgnbd.a + cdnow_bgnbd.b + x - 1)
        )
        ages = np.linspace(10.0, 200.0, 50)
        falling = cdnow_bgnbd.p_alive(np.full(50, x), np.full(50, 10.0), ages)
        assert np.all(np.diff(falling) < 0), x


# ------------------------------------------------------------------------------ CLV


def _clv_by_loop(
    fit: BGNBDFit,
    spend_fit: GammaGammaFit,
    x: float,
    t_x: float,
    big_t: float,
    m: float,
    months: int,
    annual_rate: float,
) -> float:
    """docs/metrics.md's CLV written out: the paper's eq. 10 (its own ₂F₁), one month at a time."""
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b

    def eq10(t: float) -> float:
        if t == 0:
            return 0.0
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
        bracket = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp
        dead = a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
        return (a + b + x - 1) / (a - 1) * bracket / (1 + dead)

    p, q, v = spend_fit.p, spend_fit.q, spend_fit.v
    spend = (v + x * m) * p / (p * x + q - 1)
    monthly = (1 + annual_rate) ** (1 / 12) - 1
    step = 30 / btyd.DAYS_PER_UNIT[fit.unit]
    total = 0.0
    for i in range(1, months + 1):
        purchases = eq10(step * i) - eq10(step * (i - 1))
        total += purchases * spend / (1 + monthly) ** i
    return total


def test_clv_matches_a_plain_loop(cdnow, cdnow_bgnbd, cdnow_gamma_gamma) -> None:
    args = (cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["m"])
    for months, rate in ((12, 0.10), (3, 0.0), (24, 0.35)):
        clv = expected_clv(
            cdnow_bgnbd, cdnow_gamma_gamma, *args, months=months, annual_discount_rate=rate
        )
        sample = range(0, 2357, 37)
        loop = [
            _clv_by_loop(cdnow_bgnbd, cdnow_gamma_gamma, *(a[i] for a in args), months, rate)
            for i in sample
        ]
        np.testing.assert_allclose(clv[list(sample)], loop, rtol=1e-10)


def test_clv_discounting(cdnow, cdnow_bgnbd, cdnow_gamma_gamma) -> None:
    x, t_x, big_t, m = cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["m"]
    spend = cdnow_gamma_gamma.expected_average_spend(x, m)
    # no discounting: the months add up to the purchases expected by 12 × 30 days
    flat = expected_clv(
        cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, big_t, m, months=12, annual_discount_rate=0.0
    )
    np.testing.assert_allclose(
        flat, spend * cdnow_bgnbd.expected_purchases(360 / 7, x, t_x, big_t), rtol=1e-12
    )
    # one month: exactly one month's discount factor
    one = expected_clv(
        cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, big_t, m, months=1, annual_discount_rate=0.10
    )
    np.testing.assert_allclose(
        one, spend * cdnow_bgnbd.expected_purchases(30 / 7, x, t_x, big_t) / 1.1 ** (1 / 12)
    )
    discounted = expected_clv(
        cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, big_t, m, months=12, annual_discount_rate=0.10
    )
    assert np.all(discounted < flat) and np.all(discounted > flat / 1.1)
    assert monthly_discount_rate(0.10) == pytest.approx(1.1 ** (1 / 12) - 1)
    assert (1 + monthly_discount_rate(0.10)) ** 12 == pytest.approx(1.10)
    assert months_in_horizon(365) == 12 and months_in_horizon(30) == 1
    with pytest.raises(ValueError, match="30 days"):
        months_in_horizon(29)


def test_predict_clv_gathers_the_outputs(cdnow, cdnow_bgnbd, cdnow_gamma_gamma) -> None:
    args = (cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["m"])
    out = predict_clv(
        cdnow_bgnbd, cdnow_gamma_gamma, *args, horizon_days=365, annual_discount_rate=0.10
    )
    assert out.months == 12 and out.horizon_days == 365
    np.testing.assert_array_equal(
        out.expected_purchases, cdnow_bgnbd.expected_purchases(365 / 7, *args[:3])
    )
    np.testing.assert_array_equal(out.p_alive, cdnow_bgnbd.p_alive(*args[:3]))
    np.testing.assert_array_equal(
        out.clv,
        expected_clv(cdnow_bgnbd, cdnow_gamma_gamma, *args, months=12, annual_discount_rate=0.10),
    )
    # frequency-0 customers get the population mean spend, p·γ/(q−1)
    assert np.all(
        out.expected_spend[cdnow["x"] == 0] == pytest.approx(cdnow_gamma_gamma.mean_spend)
    )


def test_expected_spend_needs_q_above_one_for_new_customers() -> None:
    fit = GammaGammaFit(2.0, 0.8, 10.0, math.nan, True, 0, 0.0, 0)
    assert fit.expected_average_spend([3], [20.0])[0] == pytest.approx((10 + 60) * 2 / (6 - 0.2))
    with pytest.raises(ValueError, match="unbounded"):
        fit.expected_average_spend([0], [0.0])


# ---------------------------------------------------------------------- failures


def test_fit_error_when_no_customer_comes_back() -> None:
    rng = np.random.default_rng(1)
    n = 500
    with pytest.raises(FitError, match="BG/NBD"):
        fit_bgnbd(np.zeros(n), np.zeros(n), rng.uniform(10, 50, n))
    with pytest.raises(FitError, match="no customer has a repeat purchase"):
        fit_gamma_gamma(np.zeros(n), np.zeros(n))


def test_fit_error_when_nobody_ever_drops_out() -> None:
    # everyone bought on their last observed day: the data cannot tell a, b apart
    rng = np.random.default_rng(2)
    big_t = rng.uniform(10, 50, 500)
    with pytest.raises(FitError, match="BG/NBD"):
        fit_bgnbd(rng.integers(1, 6, 500), big_t, big_t)


def test_fit_error_on_a_single_customer() -> None:
    with pytest.raises(FitError):
        fit_bgnbd([1], [1.0], [2.0])


def test_fit_error_when_everyone_spends_the_same() -> None:
    rng = np.random.default_rng(3)
    with pytest.raises(FitError, match="Gamma-Gamma"):
        fit_gamma_gamma(rng.integers(1, 5, 300), np.full(300, 20.0))


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "match"),
    [
        ([1.5], [1.0], [2.0], "integer"),
        ([-1], [0.0], [2.0], "integer"),
        ([1], [3.0], [2.0], "recency must be <= T"),
        ([0], [1.0], [2.0], "recency must be 0"),
        ([1], [-1.0], [2.0], "recency must be >= 0"),
        ([0], [0.0], [-1.0], "T must be >= 0"),
        ([1, 2], [1.0], [2.0], "differ in length"),
        ([1], [float("nan")], [2.0], "non-finite"),
        ([], [], [], "no customers"),
    ],
)
def test_invalid_inputs(frequency, recency, T, match) -> None:
    with pytest.raises(ValueError, match=match):
        fit_bgnbd(frequency, recency, T)


def test_invalid_spend_and_unit() -> None:
    with pytest.raises(ValueError, match="> 0"):
        fit_gamma_gamma([1, 2], [10.0, 0.0])
    with pytest.raises(ValueError, match="unit"):
        fit_bgnbd([1], [1.0], [2.0], unit="M")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="t must be"):
        _fit(0.2, 4.0, 0.8, 2.4).expected_purchases(-1.0, [1], [1.0], [2.0])


# -------------------------------------------------- gradients and simulated recovery


@pytest.mark.parametrize("model", ["bgnbd", "gamma_gamma"])
def test_analytic_gradients_match_finite_differences(cdnow, model) -> None:
    if model == "bgnbd":
        objective = btyd._bgnbd_objective(btyd._BGNBDData(cdnow["x"], cdnow["t_x"], cdnow["T"]))
        at = np.log([0.3, 5.0, 0.7, 2.0])
    else:
        repeat = cdnow["x"] > 0
        objective = btyd._gamma_gamma_objective(
            btyd._GammaGammaData(cdnow["x"][repeat], cdnow["m"][repeat])
        )
        at = np.log([5.0, 3.0, 12.0])
    _, gradient = objective(at)
    step = 1e-6
    numeric = [
        (objective(at + step * e)[0] - objective(at - step * e)[0]) / (2 * step)
        for e in np.eye(at.size)
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-9)


def test_parameters_are_recovered_from_simulated_customers() -> None:
    rng = np.random.default_rng(20050101)
    n = 50_000
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    # first purchases on whole days over 65 weeks before the as-of day
    big_t = rng.integers(91, 546, n) / 7
    x, t_x, big_t = simulate_bgnbd(n, **truth, T=big_t, rng=rng)
    m = simulate_gamma_gamma(x, p=6.25, q=3.74, v=15.44, rng=rng)
    fit = fit_bgnbd(x, t_x, big_t, unit="W")
    for name, value in truth.items():
        # within four standard errors of the truth
        assert abs(fit.params[name] - value) < 4 * fit.standard_errors[name], name
        assert fit.standard_errors[name] < 0.1 * value, name
    spend = fit_gamma_gamma(x, m)
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert abs(spend.params[name] - value) < 4 * spend.standard_errors[name], name
