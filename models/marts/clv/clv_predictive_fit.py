"""BG/NBD and Gamma-Gamma fitted on every customer's valid purchase days up to as-of
(int_clv_inputs).

One row per model with its parameters, log-likelihood and convergence, so a run can be
audited (docs/metrics.md "Customer lifetime value"). Same inputs, same rows: how long the
fit took is the node's time in target/run_results.json, not a column here. A fit that does
not converge raises FitError: the node fails and nothing downstream is built from garbage.
"""

import pandas as pd

from runner.metrics.btyd import fit_bgnbd, fit_gamma_gamma


def model(ctx):
    ctx.config(tags=["clv", "predictive"])
    # ordered: the fit sums over customers, and a float sum depends on the order
    inputs = ctx.ref("int_clv_inputs").order("customer_id").df()
    bgnbd = fit_bgnbd(inputs["frequency"], inputs["recency_days"], inputs["tenure_days"])
    # Gamma-Gamma needs positive spends: customers whose repeat days were all refunded
    # (net value 0 or less) are left out of the fit.
    repeat = inputs[(inputs["frequency"] > 0) & (inputs["monetary_value"] > 0)]
    spend = fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"].astype(float))
    common = {"as_of_date": pd.Timestamp(inputs["as_of_date"].max()).date(), "unit": "days"}
    rows = [
        {
            "model": "bg_nbd",
            **bgnbd.params,
            "log_likelihood": bgnbd.log_likelihood,
            "converged": bgnbd.converged,
            "iterations": bgnbd.iterations,
            "n_customers": bgnbd.n_customers,
            **common,
        },
        {
            "model": "gamma_gamma",
            "p": spend.p,
            "q": spend.q,
            "gamma": spend.v,
            "log_likelihood": spend.log_likelihood,
            "converged": spend.converged,
            "iterations": spend.iterations,
            "n_customers": spend.n_customers,
            **common,
        },
    ]
    columns = ["model", "r", "alpha", "a", "b", "p", "q", "gamma", "log_likelihood"]
    columns += ["converged", "iterations", "n_customers", "as_of_date", "unit"]
    return pd.DataFrame(rows).reindex(columns=columns)
