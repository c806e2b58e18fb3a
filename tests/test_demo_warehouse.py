"""The bundled demo data, built end to end with the real CLI: invariants every mart must keep."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from warehouse import REPO


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("demo")
    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(REPO / name, root / name)
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(REPO / folder, root / folder)
    done = subprocess.run(
        [sys.executable, "-m", "runner.cli", "build", "--log-format", "plain"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(root)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    path = Path(root / "target" / "warehouse.duckdb")
    return duckdb.connect(str(path), read_only=True)


def test_demo_has_enough_data(demo):
    customers, orders = demo.execute(
        "select count(*), sum(valid_orders) from facts.dim_customers"
    ).fetchone()
    assert customers >= 1900 and orders >= 10_000


def test_churn_balance_holds_every_month(demo):
    for table in ("churn_monthly", "churn_monthly_by_channel"):
        broken = demo.execute(
            f"select count(*) from marts.{table} "
            "where active_end <> active_start - churned + new_customers + reactivated"
        ).fetchone()[0]
        months = demo.execute(f"select count(*) from marts.{table}").fetchone()[0]
        assert months >= 24 and broken == 0


def test_retention_grid_is_complete(demo):
    # every cohort has one row per month from its own month to the as-of month
    missing = demo.execute(
        """
        select count(*) from (
            select cohort_month, count(*) as cells,
                   max(months_since_first) + 1 as expected
            from marts.retention_cohorts group by cohort_month
        ) where cells <> expected
        """
    ).fetchone()[0]
    assert missing == 0
    last = demo.execute(
        "select max(activity_month) = (select as_of_month from facts.as_of) "
        "from marts.retention_cohorts"
    ).fetchone()[0]
    assert last is True


def test_channel_revenue_reconciles_with_customers(demo):
    kpis, clv = demo.execute(
        "select (select sum(net_revenue) from marts.channel_kpis_monthly), "
        "(select sum(historical_clv) from marts.clv_customers)"
    ).fetchone()
    assert kpis == clv


def test_channels_differ_in_quality(demo):
    # the generator gives channels different customers: the marts must show it
    rates = dict(
        demo.execute(
            "select dimension_value, repeat_purchase_rate from marts.repeat_purchase "
            "where dimension = 'channel'"
        ).fetchall()
    )
    assert rates["referral"] > rates["social"]
