"""Customer metrics computed in Python rather than SQL: the predictive-CLV statistics.

- ``btyd``: BG/NBD (purchases, P(alive)) and Gamma-Gamma (spend) fits and predictions,
  and the per-customer (frequency, recency, T, monetary value) summary they take.
"""

from __future__ import annotations

from .btyd import (
    BGNBDFit,
    CLVPredictions,
    FitError,
    GammaGammaFit,
    RFMSummary,
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

__all__ = [
    "BGNBDFit",
    "CLVPredictions",
    "FitError",
    "GammaGammaFit",
    "RFMSummary",
    "expected_clv",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "monthly_discount_rate",
    "months_in_horizon",
    "predict_clv",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "summary_from_transactions",
]
