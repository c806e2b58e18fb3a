"""Predictive CLV in the warehouse: its inputs and predictions recomputed independently.

The demo warehouse is built once (the real CLI, --validator sql). Then:
- int_clv_inputs is recomputed with pandas from fct_orders, the lifetimes way;
- clv_predictive is recomputed from the parameters in clv_predictive_fit with the
  published formulas written out here (BG/NBD eq. 10 and P(alive), the Gamma-Gamma
  conditional mean, a plain discounting loop), not with runner.metrics;
- a fit that cannot converge fails its node, and the predictions are skipped.
(The fit itself is validated against Fader, Hardie & Lee's CDNOW results in test_btyd.py.)
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import textwrap

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1
from warehouse import REPO


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("predictive")
    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(REPO / name, root / name)
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "runner.cli", "build", "--log-format", "plain"),
            *("--validator", "sql", "-s", "+clv_predictive", "-s", "+clv_customers"),
            *("-s", "stg_shop__customers"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    con = duckdb.connect(str(root / "target" / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def test_inputs_are_the_lifetimes_summary_of_purchase_days(demo):
    orders = demo.execute(
        "select customer_id, order_date, net_revenue, is_valid from facts.fct_orders"
    ).df()
    as_of = pd.Timestamp(demo.execute("select as_of_date from facts.as_of").fetchone()[0])
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    valid = orders[orders["is_valid"] & (orders["order_date"] <= as_of)]
    days = (
        valid.groupby(["customer_id", "order_date"], as_index=False)["net_revenue"]
        .sum()
        .sort_values(["customer_id", "order_date"])
    )
    rows = []
    for customer, group in days.groupby("customer_id"):
        first, last = group["order_date"].iloc[0], group["order_date"].iloc[-1]
        repeat = group["net_revenue"].iloc[1:].astype(float)
        rows.append(
            (
                customer,
                len(group) - 1,
                (last - first).days,
                (as_of - first).days,
                repeat.mean() if len(repeat) else 0.0,
            )
        )
    expected = pd.DataFrame(
        rows, columns=["customer_id", "frequency", "recency_days", "tenure_days", "monetary"]
    ).set_index("customer_id")
    got = (
        demo.execute("select * from marts.int_clv_inputs")
        .df()
        .set_index("customer_id")
        .sort_index()
    )
    assert list(got.index) == list(expected.index)
    for column in ("frequency", "recency_days", "tenure_days"):
        assert got[column].tolist() == expected[column].tolist(), column
    np.testing.assert_allclose(got["monetary_value"].astype(float), expected["monetary"], atol=1e-6)


def _bgnbd_expected(t, x, t_x, T, r, alpha, a, b):
    """Fader, Hardie & Lee (2005) eq. 10, as printed."""
    head = (a + b + x - 1) / (a - 1)
    z = t / (alpha + T + t)
    body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return head * body / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def test_predictions_follow_the_published_formulas(demo):
    fit = demo.execute("select * from marts.clv_predictive_fit").df().set_index("model")
    r, alpha, a, b = (fit.loc["bg_nbd", k] for k in ("r", "alpha", "a", "b"))
    p, q, gamma = (fit.loc["gamma_gamma", k] for k in ("p", "q", "gamma"))
    assert bool(fit.loc["bg_nbd", "converged"]) and bool(fit.loc["gamma_gamma", "converged"])
    got = demo.execute("select * from marts.clv_predictive order by customer_id").df()
    monthly = 1.10 ** (1 / 12) - 1  # annual_discount_rate 0.10
    checked = 0
    for row in got.itertuples():
        x, t_x, T = float(row.frequency), float(row.recency_days), float(row.tenure_days)
        m = max(float(row.monetary_value), 0.0)
        alive = 1 / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
        assert math.isclose(row.p_alive, alive, rel_tol=1e-7, abs_tol=1e-12)
        purchases = _bgnbd_expected(365.0, x, t_x, T, r, alpha, a, b)
        assert math.isclose(row.expected_purchases, purchases, rel_tol=1e-6)
        spend = (gamma + x * m) * p / (p * x + q - 1)
        assert math.isclose(row.expected_spend, spend, rel_tol=1e-9)
        clv = 0.0
        for month in range(1, 13):  # 365 days: 12 whole 30-day months
            bought = _bgnbd_expected(30.0 * month, x, t_x, T, r, alpha, a, b) - (
                _bgnbd_expected(30.0 * (month - 1), x, t_x, T, r, alpha, a, b)
            )
            clv += bought * spend / (1 + monthly) ** month
        assert math.isclose(row.expected_clv, clv, rel_tol=1e-6), row.customer_id
        checked += 1
    assert checked == len(got) > 1000
    # Sanity: a customer without a repeat day is certainly alive under BG/NBD.
    assert (got.loc[got["frequency"] == 0, "p_alive"] == 1.0).all()


def test_yaml_documents_every_column(demo):
    import yaml

    models = {
        m["name"]: m
        for m in yaml.safe_load((REPO / "models/marts/clv/_clv.yml").read_text())["models"]
    }
    for name in ("int_clv_inputs", "clv_predictive_fit", "clv_predictive"):
        built = [r[0] for r in demo.execute(f"describe marts.{name}").fetchall()]
        assert [c["name"] for c in models[name]["columns"]] == built, name
        assert all(c.get("description") for c in models[name]["columns"]), name


def test_the_fit_table_holds_no_timings(demo):
    # same inputs, same rows: how long the fit took is the node's time in run_results.json
    columns = [r[0] for r in demo.execute("describe marts.clv_predictive_fit").fetchall()]
    assert "iterations" in columns
    assert not [c for c in columns if "second" in c or "time" in c or c.endswith("_s")]


def test_a_fit_that_cannot_converge_fails_its_node(make_project, run_cli):
    clv = REPO / "models" / "marts" / "clv"
    files = {
        "pyproject.toml": textwrap.dedent(
            """\
            [tool.runner]
            name = "shop"
            validator = "sql"

            [tool.runner.vars]
            clv_horizon_days = 365
            annual_discount_rate = 0.10
            """
        ),
        "models/sources.yml": None,
        # Nobody ever came back: BG/NBD's dropout is not identified.
        "models/int_clv_inputs.sql": (
            "select 'c' || range as customer_id, 0 as frequency, 0 as recency_days, "
            "10 + range as tenure_days, 0.0 as monetary_value, date '2024-12-31' as as_of_date "
            "from range(50)"
        ),
        "models/clv_predictive_fit.py": (clv / "clv_predictive_fit.py").read_text(),
        "models/clv_predictive.py": (clv / "clv_predictive.py").read_text(),
    }
    root = make_project(files)
    built = run_cli("build", "--project-dir", root, "--log-format", "plain")
    assert built.exit_code == 1
    assert "ERROR    clv_predictive_fit" in built.output
    assert "FitError" in built.output and "models/clv_predictive_fit.py" in built.output
    assert "SKIP     clv_predictive" in built.output
