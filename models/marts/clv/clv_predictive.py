"""Predictive CLV per customer: BG/NBD purchases and P(alive), Gamma-Gamma spend.

Reads the parameters clv_predictive_fit fitted in this same build (so the table of
parameters is what produced these numbers) and predicts, for every customer with a valid
order by as-of: purchases expected in the next clv_horizon_days, P(alive), expected spend
per purchase and expected CLV over the horizon's whole 30-day months, discounted monthly
at (1 + annual_discount_rate)^(1/12) - 1 (docs/metrics.md).
"""

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from runner.metrics.btyd import BGNBDFit, GammaGammaFit, predict_clv


def model(ctx):
    ctx.config(tags=["clv", "predictive"])
    inputs = ctx.ref("int_clv_inputs").order("customer_id").df()
    fitted = ctx.ref("clv_predictive_fit").df().set_index("model")
    bgnbd = _bgnbd(fitted.loc["bg_nbd"])
    spend = _gamma_gamma(fitted.loc["gamma_gamma"])
    frequency = inputs["frequency"].to_numpy(dtype=float)
    # A customer whose repeat days were all refunded spent 0 net: their own evidence pulls
    # the expected spend towards 0 (the fit itself used positive values only).
    monetary = np.maximum(inputs["monetary_value"].to_numpy(dtype=float), 0.0)
    predicted = predict_clv(
        bgnbd,
        spend,
        frequency,
        inputs["recency_days"].to_numpy(dtype=float),
        inputs["tenure_days"].to_numpy(dtype=float),
        monetary,
        horizon_days=int(ctx.var("clv_horizon_days")),
        annual_discount_rate=float(ctx.var("annual_discount_rate")),
    )
    # An Arrow table, not pandas: pandas has no date type, and the as-of dates as Python
    # objects (both ways) cost a night 0.2 s at 155,000 customers.
    rows = len(inputs)
    return pa.table(
        {
            "customer_id": pa.array(inputs["customer_id"], pa.string()),
            "frequency": inputs["frequency"].to_numpy(),
            "recency_days": inputs["recency_days"].to_numpy(),
            "tenure_days": inputs["tenure_days"].to_numpy(),
            "monetary_value": inputs["monetary_value"].to_numpy(dtype=float),
            "expected_purchases": predicted.expected_purchases,
            "p_alive": predicted.p_alive,
            "expected_spend": predicted.expected_spend,
            "expected_clv": predicted.clv,
            "horizon_days": np.full(rows, predicted.horizon_days, dtype=np.int64),
            "as_of_date": pa.array(
                pd.to_datetime(inputs["as_of_date"]).to_numpy().astype("datetime64[D]")
            ),
        }
    )


def _bgnbd(row: pd.Series) -> BGNBDFit:
    return BGNBDFit(
        r=row["r"],
        alpha=row["alpha"],
        a=row["a"],
        b=row["b"],
        log_likelihood=row["log_likelihood"],
        converged=bool(row["converged"]),
        iterations=int(row["iterations"]),
        fit_seconds=math.nan,  # not stored: timings live in run_results.json
        n_customers=int(row["n_customers"]),
        unit="D",
    )


def _gamma_gamma(row: pd.Series) -> GammaGammaFit:
    return GammaGammaFit(
        p=row["p"],
        q=row["q"],
        v=row["gamma"],
        log_likelihood=row["log_likelihood"],
        converged=bool(row["converged"]),
        iterations=int(row["iterations"]),
        fit_seconds=math.nan,  # not stored: timings live in run_results.json
        n_customers=int(row["n_customers"]),
    )
