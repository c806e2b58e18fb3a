"""BG/NBD and Gamma-Gamma: the predictive-CLV statistics of docs/metrics.md, in numpy and scipy.

Models
------
- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an
  alternative to the Pareto/NBD model", Marketing Science 24(2)): while alive a customer
  buys at Poisson rate λ ~ Gamma(r, α); after each repeat purchase they drop out with
  probability p ~ Beta(a, b). Likelihood: the paper's eq. (6); conditional expectation of
  purchases in the next t periods: eq. (10); P(alive): Fader, Hardie & Lee, "Computing
  P(alive) using the BG/NBD model" (2008 note).
- **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for
  customer base analysis", JMR 42(4), and Fader & Hardie's note "The Gamma-Gamma model of
  monetary value", 2013): transaction values are Gamma(p, ν), ν ~ Gamma(q, γ); fitted on the
  mean repeat-purchase value of customers with at least one repeat purchase.

Both are fitted by maximum likelihood on log-parameters (so the parameters stay positive)
with L-BFGS-B and analytic gradients. Likelihood terms that depend on a customer only
through the integer frequency (the log-gamma and digamma terms) are computed once per
distinct frequency, so a fit costs a few logarithms per customer per iteration. Times are
rescaled by their mean (spend by its mean) before the fit, which the models allow exactly
(α and γ are scale parameters), so the same starting point (all parameters 1, as `lifetimes`
uses) suits days, weeks or any currency. A fit is returned only at a finite, interior,
strict maximum: the optimiser converged, no parameter ran to the search bounds (e^±20),
and the observed information (the Hessian, by central differences of the analytic
gradient) is positive definite with no log-parameter's standard error above 5. Anything
else (no repeat buyers, nobody ever dropping out, identical spends, a single customer:
the likelihood keeps rising or is flat along some direction) raises ``FitError``; nothing
returns silently wrong parameters. The standard errors are kept with the fit.

Why not a library
-----------------
Checked on this stack (Python 3.11, numpy 2.4, pandas 3.1, scipy 1.17):

- ``lifetimes`` 0.11.3 installs (it pulls ``autograd`` and ``dill``) and its CDNOW fit
  still works, but it has had no release since 2020, already emits pandas-4 deprecation
  warnings on import, and would bring a pandas-based API and autograd into the runtime
  for a handful of formulas; its BG/NBD fit is also 13-15x slower than this one
  (bench/README.md);
- ``btyd`` 0.1b3, its fork and successor, is a beta that declares
  ``Requires-Python <3.10``: pip here only offers the 0.1a1 alpha;
- ``pymc-marketing`` resolves to 55 packages (PyMC, PyTensor, numba/llvmlite, matplotlib,
  arviz, xarray, scikit-learn, ...) for a Bayesian stack this MLE use does not need.

So the published log-likelihoods are written out here (about the size of the
corresponding code in ``lifetimes``), and the tests check them against the published
CDNOW estimates, against quadrature of the model's posterior, and against ``lifetimes``.

Conventions (docs/metrics.md, "Customer lifetime value")
---------------------------------------------------
- Inputs per customer, exactly as ``lifetimes.utils.summary_data_from_transaction_data``
  defines them, counting purchase *days*: frequency = purchase days − 1, recency = first
  to last purchase day, T = first purchase day to the as-of day, monetary value = mean of
  the repeat purchase days' values (a day's value is the sum of its purchases), 0 when
  frequency is 0. In weeks these are the day counts divided by 7 (what ``lifetimes`` gets
  with ``freq="D", freq_multiplier=7``, and how the CDNOW summary is made), not
  ``lifetimes``' ``freq="W"``, which would count purchase weeks.
- Expected CLV over H months: Σ_{i=1..H} (E[Y(30·i days)] − E[Y(30·(i−1) days)]) ×
  expected spend / (1 + m)^i with the monthly rate m = (1 + annual rate)^(1/12) − 1, as
  ``lifetimes``' ``customer_lifetime_value`` with ``freq="D"`` (for weeks, ``lifetimes``
  steps 4.345 weeks; here a step is always 30 days, i.e. 30/7 weeks, per docs/metrics.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special
from threadpoolctl import threadpool_limits

Unit = Literal["D", "W"]
DAYS_PER_UNIT: dict[str, float] = {"D": 1.0, "W": 7.0}
CLV_STEP_DAYS = 30
LOG_PARAM_BOUND = 20.0
"""Parameters are searched in [e^-20, e^20] (about 2e-9 to 5e8) after rescaling."""
_BOUND_MARGIN = 1e-3
MAX_LOG_STD_ERROR = 5.0
"""A fitted log-parameter whose standard error exceeds this (a factor e^5 ≈ 150 either
way at one standard error) is taken as not identified: ``FitError``."""
_GRADIENT_TOLERANCE = 1e-5
"""Largest accepted gradient of the mean negative log-likelihood (per log-parameter)
when L-BFGS-B stops on a line-search failure rather than its own convergence test."""

FloatArray = NDArray[np.float64]


class FitError(RuntimeError):
    """The maximum-likelihood fit did not converge to an interior, finite optimum."""


# ----------------------------------------------------------------------------- inputs


def _unit_days(unit: str) -> float:
    try:
        return DAYS_PER_UNIT[unit]
    except KeyError:
        raise ValueError(f"unit must be one of {sorted(DAYS_PER_UNIT)}, not {unit!r}") from None


def _as_float_vector(name: str, values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        array = np.atleast_1d(array)
        if array.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has non-finite values")
    return array


def _check_rft(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate (frequency, recency, T) as ``lifetimes`` does; return float vectors."""
    x = _as_float_vector("frequency", frequency)
    t_x = _as_float_vector("recency", recency)
    big_t = _as_float_vector("T", T)
    if not (x.shape == t_x.shape == big_t.shape):
        raise ValueError(
            f"frequency, recency and T differ in length: {x.size}, {t_x.size}, {big_t.size}"
        )
    if x.size == 0:
        raise ValueError("no customers")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative integer (repeat purchase days)")
    if np.any(big_t < 0):
        raise ValueError("T must be >= 0 (first purchase after the as-of day?)")
    if np.any(t_x < 0):
        raise ValueError("recency must be >= 0")
    if np.any(t_x > big_t):
        raise ValueError("recency must be <= T")
    if np.any(t_x[x == 0] != 0):
        raise ValueError("recency must be 0 where frequency is 0")
    return x, t_x, big_t


def _check_monetary(
    frequency: ArrayLike, monetary_value: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    x = _as_float_vector("frequency", frequency)
    m = _as_float_vector("monetary_value", monetary_value)
    if x.shape != m.shape:
        raise ValueError(f"frequency and monetary_value differ in length: {x.size}, {m.size}")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative integer (repeat purchase days)")
    if np.any(m < 0):
        raise ValueError("monetary_value must be >= 0")
    return x, m


# ----------------------------------------------------------------- summary (RFM) data


@dataclass(frozen=True, eq=False)
class RFMSummary:
    """Per-customer BG/NBD / Gamma-Gamma inputs, one row per customer (sorted by id).

    ``monetary_value`` is None when no amounts were given. Times are in ``unit``.
    """

    customer_id: NDArray[Any]
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray | None
    unit: str
    as_of: np.datetime64

    def __len__(self) -> int:
        return int(self.customer_id.size)


def summary_from_transactions(
    customer_id: ArrayLike,
    date: ArrayLike,
    as_of: Any,
    amount: ArrayLike | None = None,
    *,
    unit: Unit = "D",
) -> RFMSummary:
    """(frequency, recency, T, monetary_value) per customer from their purchases.

    As ``lifetimes.utils.summary_data_from_transaction_data(..., freq="D")`` (with
    ``freq_multiplier=7`` for weeks): purchases are truncated to their day and those after
    ``as_of`` dropped; several purchases on one day are one purchase day whose value is
    their sum; frequency = purchase days − 1; recency = last − first purchase day;
    T = ``as_of`` − first purchase day; monetary_value = mean value of the repeat purchase
    days (the first day excluded), 0 when frequency is 0. Customers whose first purchase
    is after ``as_of`` are left out. ``unit`` "W" divides the day counts by 7.

    ``date`` is anything numpy turns into ``datetime64[D]`` (ISO strings, ``date``,
    naive ``datetime`` or ``datetime64`` values; a time of day is truncated).
    """
    per_day = _unit_days(unit)
    ids = np.asarray(customer_id)
    days = np.asarray(date, dtype="datetime64[D]")
    end = np.datetime64(as_of, "D")
    if ids.ndim != 1 or days.shape != ids.shape:
        raise ValueError("customer_id and date must be one-dimensional and of equal length")
    if np.isnat(days).any():
        raise ValueError("date has missing values")
    values = None
    if amount is not None:
        values = _as_float_vector("amount", amount)
        if values.shape != ids.shape:
            raise ValueError("amount must have one value per transaction")
    keep = days <= end
    ids, days = ids[keep], days[keep]
    if values is not None:
        values = values[keep]
    if ids.size == 0:
        empty = np.zeros(0)
        return RFMSummary(ids, empty, empty, empty, None if values is None else empty, unit, end)
    customers, customer_index = np.unique(ids, return_inverse=True)
    day_number = days.astype(np.int64)
    # one row per (customer, purchase day), in customer then day order
    order = np.lexsort((day_number, customer_index))
    c_sorted, d_sorted = customer_index[order], day_number[order]
    new_day = np.ones(c_sorted.size, dtype=bool)
    new_day[1:] = (c_sorted[1:] != c_sorted[:-1]) | (d_sorted[1:] != d_sorted[:-1])
    day_starts = np.flatnonzero(new_day)
    day_customer, day_value_day = c_sorted[day_starts], d_sorted[day_starts]
    n = customers.size
    purchase_days = np.bincount(day_customer, minlength=n)
    first_day_row = np.flatnonzero(np.r_[True, day_customer[1:] != day_customer[:-1]])
    last_day_row = np.r_[first_day_row[1:] - 1, day_customer.size - 1]
    first, last = day_value_day[first_day_row], day_value_day[last_day_row]
    frequency = (purchase_days - 1).astype(np.float64)
    recency = (last - first).astype(np.float64) / per_day
    big_t = (end.astype(np.int64) - first).astype(np.float64) / per_day
    monetary = None
    if values is not None:
        day_values = np.add.reduceat(values[order], day_starts) if day_starts.size else values
        is_first = np.zeros(day_customer.size, dtype=bool)
        is_first[first_day_row] = True
        repeat_sum = np.bincount(
            day_customer[~is_first], weights=day_values[~is_first], minlength=n
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            monetary = np.where(frequency > 0, repeat_sum / np.maximum(frequency, 1), 0.0)
    return RFMSummary(customers, frequency, recency, big_t, monetary, unit, end)


# ---------------------------------------------------------------------- optimisation


@dataclass(frozen=True)
class _Optimum:
    log_params: FloatArray
    log_std_errors: FloatArray
    iterations: int
    message: str


def _fit_log_params(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    names: tuple[str, ...],
    model: str,
    n: int,
    scales: FloatArray,
) -> _Optimum:
    """Minimise a mean negative log-likelihood of ``n`` customers over log-parameters.

    Accepted only at a finite, interior, strict minimum: the optimiser converged (or
    stopped on a line search with a negligible gradient), no parameter is at the search
    bound, and the Hessian (central differences of the analytic gradient) is positive
    definite with every log-parameter's standard error, sqrt(diag(H⁻¹)/n), at most
    ``MAX_LOG_STD_ERROR``. Flat or diverging directions (no dropout in the data, no repeat
    buyers, a single customer) fail the last two tests even when the optimiser stops
    "successfully" on a flat plateau. Anything else raises ``FitError``.
    """
    x0 = np.zeros(len(names))
    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * len(names)
    # L-BFGS-B's BLAS calls are on 3x3..10x10 matrices: with OpenBLAS's thread pool they
    # cost milliseconds each in wake-ups (0.25 s instead of 0.005 s for a 10,000-customer
    # Gamma-Gamma fit on a busy 2-core machine), so the fit runs them single-threaded
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(all="ignore"):
        result = optimize.minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9},
        )
        value, gradient = objective(result.x)
    log_params = np.asarray(result.x, dtype=np.float64)
    shown = np.exp(log_params) * scales  # in the caller's units, for the messages
    params = ", ".join(f"{k}={v:.6g}" for k, v in zip(names, shown, strict=True))
    if not (np.all(np.isfinite(log_params)) and np.isfinite(value)):
        raise FitError(f"{model} fit ended on non-finite values ({params}): {result.message}")
    at_bound = [
        name
        for name, lp in zip(names, log_params, strict=True)
        if abs(lp) >= LOG_PARAM_BOUND - _BOUND_MARGIN
    ]
    if at_bound:
        raise FitError(
            f"{model} fit did not converge: {', '.join(at_bound)} ran to the search bound "
            f"(e^±{LOG_PARAM_BOUND:g}); the data do not identify the model ({params})"
        )
    largest_gradient = float(np.max(np.abs(gradient))) if np.all(np.isfinite(gradient)) else np.inf
    if not (result.success or largest_gradient <= _GRADIENT_TOLERANCE):
        raise FitError(
            f"{model} fit did not converge after {result.nit} iterations: {result.message} "
            f"(largest gradient {largest_gradient:.3g}; {params})"
        )
    with threadpool_limits(limits=1, user_api="blas"):
        eigenvalues, vectors = np.linalg.eigh(_hessian(objective, log_params))
    if not (np.all(np.isfinite(eigenvalues)) and eigenvalues.min() > 0):
        raise FitError(
            f"{model} fit did not converge to a maximum of the likelihood: it is flat or "
            f"curved the wrong way along some direction (Hessian eigenvalues "
            f"{np.array2string(eigenvalues, precision=3)}; {params})"
        )
    log_std_errors = np.sqrt((vectors**2 / eigenvalues) @ np.ones(len(names)) / n)
    loose = [
        f"{name} (±{se:.3g})"
        for name, se in zip(names, log_std_errors, strict=True)
        if not se <= MAX_LOG_STD_ERROR
    ]
    if loose:
        raise FitError(
            f"{model} fit is not identified by the data: the log-likelihood is almost flat "
            f"in {', '.join(loose)} (standard errors of the log-parameters; {params})"
        )
    return _Optimum(log_params, log_std_errors, int(result.nit), str(result.message))


def _hessian(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], at: FloatArray
) -> FloatArray:
    step = 1e-4
    rows = []
    with np.errstate(all="ignore"):
        for i in range(at.size):
            shift = np.zeros(at.size)
            shift[i] = step
            rows.append((objective(at + shift)[1] - objective(at - shift)[1]) / (2 * step))
    hessian = np.array(rows)
    return (hessian + hessian.T) / 2


# -------------------------------------------------------------------------- BG/NBD


@dataclass(frozen=True)
class BGNBDFit:
    """A fitted BG/NBD model: λ ~ Gamma(r, α) (α in ``unit``), dropout p ~ Beta(a, b).

    ``log_likelihood`` is the total over the ``n_customers`` customers (eq. 6);
    ``std_errors`` are those of (r, α, a, b). ``converged`` is always True: a fit that
    does not converge raises ``FitError`` instead of returning.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    iterations: int
    fit_seconds: float
    n_customers: int
    unit: str = "D"
    std_errors: tuple[float, ...] = ()
    message: str = ""

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @property
    def standard_errors(self) -> dict[str, float]:
        """Asymptotic standard errors (observed information, delta method)."""
        return dict(zip(self.params, self.std_errors, strict=True))

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(alive at T | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x)).

        Equal to 1 for frequency 0 (the model lets a customer drop out only after a repeat
        purchase). Evaluated as a logistic of the log-odds, so it neither overflows nor
        loses precision near 0 or 1.
        """
        x, t_x, big_t = _check_rft(frequency, recency, T)
        return _p_alive(self, x, t_x, big_t)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` periods (eq. 10).

        ``t`` is in the model's unit and broadcasts against the customers (a scalar, one
        value per customer, or a column of horizons against a row of customers).
        """
        x, t_x, big_t = _check_rft(frequency, recency, T)
        horizon = np.asarray(t, dtype=np.float64)
        if not np.all(np.isfinite(horizon)) or np.any(horizon < 0):
            raise ValueError("t must be finite and >= 0")
        return _conditional_expected_purchases(self, horizon, x, t_x, big_t)

    def log_likelihood_of(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> float:
        """Total log-likelihood (eq. 6) of these customers under the fitted parameters."""
        x, t_x, big_t = _check_rft(frequency, recency, T)
        log_p = np.log([self.r, self.alpha, self.a, self.b])
        value, _ = _bgnbd_objective(_BGNBDData(x, t_x, big_t))(log_p)
        return -value * x.size


class _BGNBDData:
    """Fit inputs split into customers without and with repeat purchases, and the
    distinct frequencies (the terms that depend on a customer only through x)."""

    def __init__(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> None:
        self.n = x.size
        self.xs, counts = np.unique(x, return_counts=True)
        self.counts = counts.astype(np.float64)
        repeat = x > 0
        self.T0 = big_t[~repeat]
        self.x1, self.t_x1, self.T1 = x[repeat], t_x[repeat], big_t[repeat]
        self.xs1, self.inverse1 = np.unique(self.x1, return_inverse=True)


def _bgnbd_objective(d: _BGNBDData) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """Mean negative log-likelihood (eq. 6) and its gradient in log-parameters.

    Per customer L = A(x)·[(α+T)^−(r+x) + δ(x>0)·a/(b+x−1)·(α+t_x)^−(r+x)] with
    A(x) = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r). The bracket is summed in log space:
    log L − log A = −(r+x) log(α+T) + softplus(g), g = log(a/(b+x−1)) + (r+x) log((α+T)/(α+t_x)),
    and expit(g) is the posterior share of "dropped out after t_x", which weights the
    gradient terms of the two alternatives.
    """

    def objective(log_p: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(log_p)
        xs, w = d.xs, d.counts
        per_x = (
            special.gammaln(r + xs)
            - special.gammaln(r)
            + r * math.log(alpha)
            + special.gammaln(a + b)
            + special.gammaln(b + xs)
            - special.gammaln(b)
            - special.gammaln(a + b + xs)
        )
        dg_ab, dg_abx = special.digamma(a + b), special.digamma(a + b + xs)
        d_r = np.dot(w, special.digamma(r + xs) - special.digamma(r) + math.log(alpha))
        d_alpha = d.n * r / alpha
        d_a = np.dot(w, dg_ab - dg_abx)
        d_b = np.dot(w, dg_ab + special.digamma(b + xs) - special.digamma(b) - dg_abx)
        # customers with x = 0: the bracket is (α+T)^−r alone
        log_at0 = np.log(alpha + d.T0)
        ll = np.dot(w, per_x) - r * log_at0.sum()
        d_r -= log_at0.sum()
        d_alpha -= r * np.sum(1.0 / (alpha + d.T0))
        # customers with x > 0
        rx = r + d.x1
        log_at = np.log(alpha + d.T1)
        log_atx = np.log(alpha + d.t_x1)
        gap = log_at - log_atx
        log_a_bx1 = math.log(a) - np.log(b + d.xs1 - 1.0)
        g = log_a_bx1[d.inverse1] + rx * gap
        dead = special.expit(g)
        ll += np.sum(np.logaddexp(0.0, g) - rx * log_at)
        d_r += np.sum(dead * gap - log_at)
        d_alpha -= np.sum(rx * ((1.0 - dead) / (alpha + d.T1) + dead / (alpha + d.t_x1)))
        dead_by_x = np.bincount(d.inverse1, weights=dead, minlength=d.xs1.size)
        d_a += dead_by_x.sum() / a
        d_b -= np.dot(dead_by_x, 1.0 / (b + d.xs1 - 1.0))
        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return -float(ll) / d.n, -grad / d.n

    return objective


def fit_bgnbd(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, unit: Unit = "D"
) -> BGNBDFit:
    """Maximum-likelihood BG/NBD fit (eq. 6) on per-customer (x, t_x, T).

    ``unit`` names the time unit of recency and T ("D" days, "W" weeks); α is in it and
    the CLV's 30-day steps are converted with it. Raises ``FitError`` when the optimiser
    fails, ends on non-finite values, or drives a parameter to 0 or ∞ (e.g. when no
    customer has a repeat purchase), and ``ValueError`` on invalid inputs.
    """
    _unit_days(unit)
    x, t_x, big_t = _check_rft(frequency, recency, T)
    started = time.perf_counter()
    scale = float(big_t.mean())
    if scale == 0:
        raise FitError("BG/NBD fit: every customer has T = 0 (all first seen on the as-of day)")
    scaled = _BGNBDData(x, t_x / scale, big_t / scale)
    optimum = _fit_log_params(
        _bgnbd_objective(scaled),
        ("r", "alpha", "a", "b"),
        "BG/NBD",
        x.size,
        np.array([1.0, scale, 1.0, 1.0]),
    )
    r, alpha, a, b = np.exp(optimum.log_params)
    alpha *= scale
    std_errors = np.array([r, alpha, a, b]) * optimum.log_std_errors
    neg_mean, _ = _bgnbd_objective(_BGNBDData(x, t_x, big_t))(np.log([r, alpha, a, b]))
    return BGNBDFit(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        log_likelihood=float(-neg_mean * x.size),
        converged=True,
        iterations=optimum.iterations,
        fit_seconds=time.perf_counter() - started,
        n_customers=int(x.size),
        unit=unit,
        std_errors=tuple(float(se) for se in std_errors),
        message=optimum.message,
    )


def _p_alive(fit: BGNBDFit, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    repeat = x > 0
    b_x1 = np.where(repeat, fit.b + x - 1.0, 1.0)
    log_odds_dead = (
        math.log(fit.a)
        - np.log(b_x1)
        + (fit.r + x) * (np.log(fit.alpha + big_t) - np.log(fit.alpha + t_x))
    )
    return np.where(repeat, special.expit(-log_odds_dead), 1.0)


_NEAR = 1e-6
_A_STEP = 1e-4


def _conditional_expected_purchases(
    fit: BGNBDFit, t: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> FloatArray:
    """Eq. (10): P(alive) × the expected purchases of a customer still alive.

    The second factor depends on a customer only through (x, T), which repeat a lot in
    real data (T in whole days): when ``t`` is the same for every customer it is computed
    once per distinct (x, T) pair.
    """
    if t.ndim == 0 or t.shape[-1] == 1:
        # distinct (x, T): T's rank and the integer x make one exact integer key
        # (np.unique's inverse argsorts; a sort and a binary search are ~3x faster)
        t_values = np.unique(big_t)
        key = x.astype(np.int64) * t_values.size + np.searchsorted(t_values, big_t)
        keys = np.unique(key)
        inverse = np.searchsorted(keys, key)
        pair_x = (keys // t_values.size).astype(np.float64)
        pair_t = t_values[keys % t_values.size]
        alive = _expected_while_alive(fit, t, pair_x, pair_t)[..., inverse]
    else:
        alive = _expected_while_alive(fit, t, x, big_t)
    with np.errstate(all="ignore"):
        expected = _p_alive(fit, x, t_x, big_t) * alive
    if not np.all(np.isfinite(expected)):
        raise ValueError(
            "expected purchases are not finite for some customers (the hypergeometric "
            f"series failed for r={fit.r:.4g}, alpha={fit.alpha:.4g}, a={fit.a:.4g}, "
            f"b={fit.b:.4g})"
        )
    return expected


def _expected_while_alive(
    fit: BGNBDFit, t: FloatArray, x: FloatArray, big_t: FloatArray
) -> FloatArray:
    """(a+b+x−1)/(a−1)·[1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)], z = t/(α+T+t).

    The paper's bracket is rewritten with ₂F₁(A, B; C; z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z) as
    1 − (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z): the same value, but the first two
    parameters no longer grow with x, so large frequencies do not overflow ₂F₁ (the
    printed form is inf × 0 = NaN for, e.g., 600 purchase days in 10 weeks on CDNOW's
    parameters).

    Two removable singularities are stepped around, both smooth in the parameters:
    - at a = 1 the factor (a+b+x−1)/(a−1) is 0/0, and close to it ₂F₁ − 1 loses its
      digits to cancellation: within 1e-4 of a = 1 the value is the cubic through
      a = 1 ± 1e-4 and 1 ± 3e-4 (interpolation error O(1e-16));
    - scipy's ₂F₁ returns inf/NaN for z > 0.9 when C−A−B = x+r−a+1 is an exact integer
      (its integer branch), which happens whenever r − a is one: there the mean of
      r·(1 ± 1e-6) is used (scipy is accurate to 1e-14 that close to the integer).
    """

    def core(a: float, r: float) -> FloatArray:
        c = a + fit.b + x - 1.0
        z = t / (fit.alpha + big_t + t)
        hyp = special.hyp2f1(a + fit.b - 1.0 - r, a - 1.0, c, z)
        log_power = (a - 1.0) * np.log1p(-z)
        # 1 − (1−z)^(a−1)·₂F₁ through expm1 (no cancellation when it is small); ₂F₁ can be
        # negative only when a+b+x−1 < 0 (x = 0 and a+b < 1), where no log is taken
        one_minus = np.where(
            hyp > 0, -np.expm1(log_power + np.log(np.abs(hyp))), 1.0 - np.exp(log_power) * hyp
        )
        return c / (a - 1.0) * one_minus

    def off_integer(a: float) -> FloatArray:
        r = fit.r
        if abs((r - a) - round(r - a)) < 1e-9:
            return 0.5 * (core(a, r * (1.0 + _NEAR)) + core(a, r * (1.0 - _NEAR)))
        return core(a, r)

    with np.errstate(all="ignore"):
        if abs(fit.a - 1.0) < _A_STEP:
            nodes = 1.0 + _A_STEP * np.array([-3.0, -1.0, 1.0, 3.0])
            bracket = 0.0
            for j, node in enumerate(nodes):
                others = np.delete(nodes, j)
                weight = float(np.prod((fit.a - others) / (node - others)))
                bracket = bracket + weight * off_integer(float(node))
        else:
            bracket = off_integer(fit.a)
        return np.where(t == 0, 0.0, bracket)


# --------------------------------------------------------------------- Gamma-Gamma


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma spend model: values ~ Gamma(p, ν), ν ~ Gamma(q, v).

    ``v`` is the paper's γ (``gamma`` is an alias), in the currency of the values.
    ``n_customers`` counts the customers it was fitted on (frequency > 0);
    ``std_errors`` are those of (p, q, v). ``converged`` is always True (else ``FitError``).
    """

    p: float
    q: float
    v: float
    log_likelihood: float
    converged: bool
    iterations: int
    fit_seconds: float
    n_customers: int
    std_errors: tuple[float, ...] = ()
    message: str = ""

    @property
    def gamma(self) -> float:
        return self.v

    @property
    def params(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}

    @property
    def standard_errors(self) -> dict[str, float]:
        """Asymptotic standard errors (observed information, delta method)."""
        return dict(zip(self.params, self.std_errors, strict=True))

    @property
    def mean_spend(self) -> float:
        """Population mean of a customer's expected spend, pγ/(q−1) (∞ when q ≤ 1)."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else math.inf

    def expected_average_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """E[M | x, m_x] = (γ + x·m_x)·p / (p·x + q − 1): the conditional mean spend.

        A weighted mean of the population mean pγ/(q−1) and the customer's own mean m_x
        (weight px/(px+q−1)). For frequency 0 it is the population mean, which needs
        q > 1: ``ValueError`` otherwise rather than a negative or infinite spend.
        """
        x, m = _check_monetary(frequency, monetary_value)
        denominator = self.p * x + self.q - 1.0
        if np.any(denominator <= 0):
            raise ValueError(
                f"expected spend is unbounded for frequency {x[denominator <= 0].min():g} "
                f"with q = {self.q:.4g} <= 1"
            )
        return (self.v + x * m) * self.p / denominator


class _GammaGammaData:
    def __init__(self, x: FloatArray, m: FloatArray) -> None:
        self.n = x.size
        self.x, self.m = x, m
        self.xs, counts = np.unique(x, return_counts=True)
        self.counts = counts.astype(np.float64)
        log_m, log_x = np.log(m), np.log(x)
        self.sum_x_log_m = float(np.dot(x, log_m))
        self.sum_log_m = float(log_m.sum())
        self.sum_x_log_x = float(np.dot(x, log_x))


def _gamma_gamma_objective(
    d: _GammaGammaData,
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    def objective(log_p: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = np.exp(log_p)
        xs, w = d.xs, d.counts
        pxq = p * xs + q
        log_vxm = np.log(v + d.x * d.m)
        ll = (
            np.dot(w, special.gammaln(pxq) - special.gammaln(p * xs))
            - d.n * special.gammaln(q)
            + d.n * q * math.log(v)
            + p * (d.sum_x_log_m + d.sum_x_log_x)
            - d.sum_log_m
            - np.sum((p * d.x + q) * log_vxm)
        )
        dg_pxq = special.digamma(pxq)
        d_p = (
            np.dot(w, xs * (dg_pxq - special.digamma(p * xs)))
            + d.sum_x_log_m
            + d.sum_x_log_x
            - np.dot(d.x, log_vxm)
        )
        d_q = np.dot(w, dg_pxq) - d.n * special.digamma(q) + d.n * math.log(v) - log_vxm.sum()
        d_v = d.n * q / v - np.sum((p * d.x + q) / (v + d.x * d.m))
        grad = np.array([d_p * p, d_q * q, d_v * v])
        return -float(ll) / d.n, -grad / d.n

    return objective


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on the customers with frequency > 0.

    As ``lifetimes`` (which asks the caller to filter): customers with no repeat purchase
    carry no spend information and are left out. Their monetary values must be > 0.
    Raises ``FitError`` when the fit does not converge to finite interior parameters (e.g.
    every customer spends the same, so the spread parameters run off to ∞).
    """
    x, m = _check_monetary(frequency, monetary_value)
    repeat = x > 0
    x, m = x[repeat], m[repeat]
    if x.size == 0:
        raise FitError("Gamma-Gamma fit: no customer has a repeat purchase")
    if np.any(m <= 0):
        raise ValueError("monetary_value must be > 0 for customers with frequency > 0")
    started = time.perf_counter()
    scale = float(m.mean())
    optimum = _fit_log_params(
        _gamma_gamma_objective(_GammaGammaData(x, m / scale)),
        ("p", "q", "v"),
        "Gamma-Gamma",
        x.size,
        np.array([1.0, 1.0, scale]),
    )
    p, q, v = np.exp(optimum.log_params)
    v *= scale
    std_errors = np.array([p, q, v]) * optimum.log_std_errors
    neg_mean, _ = _gamma_gamma_objective(_GammaGammaData(x, m))(np.log([p, q, v]))
    return GammaGammaFit(
        p=float(p),
        q=float(q),
        v=float(v),
        log_likelihood=float(-neg_mean * x.size),
        converged=True,
        iterations=optimum.iterations,
        fit_seconds=time.perf_counter() - started,
        n_customers=int(x.size),
        std_errors=tuple(float(se) for se in std_errors),
        message=optimum.message,
    )


# ----------------------------------------------------------------------------- CLV


def monthly_discount_rate(annual_discount_rate: float) -> float:
    """(1 + annual)^(1/12) − 1: the rate that compounds to the annual one in 12 months."""
    if not annual_discount_rate > -1:
        raise ValueError("annual_discount_rate must be > -1")
    return (1.0 + annual_discount_rate) ** (1.0 / 12.0) - 1.0


def months_in_horizon(horizon_days: int) -> int:
    """Whole 30-day steps in the horizon (12 for 365 days): the CLV's month count."""
    months = int(horizon_days) // CLV_STEP_DAYS
    if months < 1:
        raise ValueError(f"a CLV horizon needs at least {CLV_STEP_DAYS} days, not {horizon_days}")
    return months


def expected_clv(
    bgnbd: BGNBDFit,
    gamma_gamma: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    months: int,
    annual_discount_rate: float,
) -> FloatArray:
    """Expected discounted CLV per customer over ``months`` 30-day months.

    Σ_{i=1..months} (E[Y(30i days)] − E[Y(30(i−1) days)]) · E[M] / (1 + m)^i, with E[Y]
    the BG/NBD conditional expectation (eq. 10), E[M] the Gamma-Gamma conditional mean
    spend and m = (1 + annual_discount_rate)^(1/12) − 1 (``lifetimes``' convention with
    ``freq="D"``; 30-day steps in weeks too).
    """
    if int(months) != months or months < 1:
        raise ValueError("months must be a positive integer")
    x, t_x, big_t = _check_rft(frequency, recency, T)
    spend = gamma_gamma.expected_average_spend(x, monetary_value)
    rate = monthly_discount_rate(annual_discount_rate)
    step = CLV_STEP_DAYS / _unit_days(bgnbd.unit)
    ends = step * np.arange(0, int(months) + 1, dtype=np.float64)
    cumulative = _conditional_expected_purchases(bgnbd, ends[:, None], x, t_x, big_t)
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + rate) ** -np.arange(1, int(months) + 1, dtype=np.float64)
    return spend * (discount @ per_month)


@dataclass(frozen=True, eq=False)
class CLVPredictions:
    """Per-customer predictions over a horizon, aligned with the inputs."""

    expected_purchases: FloatArray
    p_alive: FloatArray
    expected_spend: FloatArray
    clv: FloatArray
    horizon_days: int
    months: int
    annual_discount_rate: float


def predict_clv(
    bgnbd: BGNBDFit,
    gamma_gamma: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon_days: int,
    annual_discount_rate: float,
) -> CLVPredictions:
    """docs/metrics.md's per-customer outputs: purchases expected in ``horizon_days``, P(alive),
    expected spend per purchase, and CLV over the horizon's whole 30-day months."""
    months = months_in_horizon(horizon_days)
    horizon = horizon_days / _unit_days(bgnbd.unit)
    return CLVPredictions(
        expected_purchases=bgnbd.expected_purchases(horizon, frequency, recency, T),
        p_alive=bgnbd.p_alive(frequency, recency, T),
        expected_spend=gamma_gamma.expected_average_spend(frequency, monetary_value),
        clv=expected_clv(
            bgnbd,
            gamma_gamma,
            frequency,
            recency,
            T,
            monetary_value,
            months=months,
            annual_discount_rate=annual_discount_rate,
        ),
        horizon_days=int(horizon_days),
        months=months,
        annual_discount_rate=float(annual_discount_rate),
    )


# ---------------------------------------------------------------------- simulation


def simulate_bgnbd(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(frequency, recency, T) of ``n`` customers drawn from the BG/NBD process.

    λ ~ Gamma(r, rate α), p ~ Beta(a, b); purchases follow a Poisson(λ) process from the
    first purchase at time 0, and the customer drops out right after their J-th repeat
    purchase, J ~ Geometric(p). Observed over ``T`` (scalar or one per customer): x =
    min(N, J) with N ~ Poisson(λT) the would-be purchases, and t_x the x-th of N uniform
    times on (0, T), i.e. T·Beta(x, N−x+1). For tests and benchmarks.
    """
    big_t = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    dropout = rng.beta(a, b, size=n)
    would_be = rng.poisson(rate * big_t)
    survives = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    x = np.minimum(would_be, survives)
    repeat = x > 0
    recency = np.zeros(n)
    recency[repeat] = big_t[repeat] * rng.beta(x[repeat], would_be[repeat] - x[repeat] + 1)
    return x.astype(np.float64), recency, big_t


def simulate_gamma_gamma(
    frequency: ArrayLike, *, p: float, q: float, v: float, rng: np.random.Generator
) -> FloatArray:
    """Mean repeat-purchase value per customer under Gamma-Gamma (0 for frequency 0).

    ν ~ Gamma(q, rate v) per customer; the x values are Gamma(p, rate ν), so their mean is
    Gamma(p·x, rate ν)/x. For tests and benchmarks.
    """
    x = _as_float_vector("frequency", frequency)
    nu = rng.gamma(q, 1.0 / v, size=x.size)
    repeat = x > 0
    monetary = np.zeros(x.size)
    monetary[repeat] = rng.gamma(p * x[repeat], 1.0 / nu[repeat]) / x[repeat]
    return monetary
