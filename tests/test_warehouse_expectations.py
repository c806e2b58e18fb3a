"""The warehouse's reconciliation expectations catch broken data (models/**/*.yml).

The warehouse is built once on the hand-made fixture of test_marts_clv_channels (plus a
re-sent order, a duplicated line and a duplicated return, which staging collapses), with
the as-of date set before the last orders so that every "to date" cut has rows to leave
out. The build runs every expectation, so passing it is the untampered case. Each case
then copies the built project, breaks one built relation the way a bug would (a cent
more revenue, a lost refund, a cohort whose customer vanished, channels that no longer add
up ...), runs `runner test` on that one node and checks that exactly the expectation meant
for it fails, with exit code 1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from test_marts_clv_channels import ITEMS, ORDERS, RETURNS, TABLES
from warehouse import build_warehouse

from runner.cli import cli

pytestmark = pytest.mark.slow  # the warehouse built and tampered with, checked through GX

AS_OF = "2024-04-15"  # o10 and o11 (Apr 30), session s8 and the May spend come after it

# What staging must collapse: o5 re-sent as 'placed' at the same updated_at as its
# 'cancelled' version (the tie keeps cancelled), an exact duplicate line, a duplicate return.
[O5] = [o for o in ORDERS if o["order_id"] == "o5"]
TABLES_WITH_RESENDS = {
    **TABLES,
    "orders": [*ORDERS, {**O5, "status": "placed"}],
    "order_items": [*ITEMS, ITEMS[0]],
    "returns": [*RETURNS, RETURNS[0]],
}

CHECKED = (
    "stg_shop__orders fct_orders dim_customers retention_cohorts churn_monthly "
    "churn_monthly_by_channel cac_monthly int_channel_months channel_kpis_monthly"
)

# The churn balance is an unnamed expression: its default name is shortened with a digest.
BALANCE = "churn balance"
BALANCE_PREFIX = "expression(active_end = active_start - churned + "


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("expectations")
    results: dict = {}
    build_warehouse(root, TABLES_WITH_RESENDS, {"as_of": AS_OF}, results=results).close()
    checks = {
        e["name"]: e["status"] for r in results.values() for e in r.extra.get("expectations", [])
    }
    assert checks["revenue_reconciles_with_staging"] == "pass"
    assert {s for s in checks.values()} == {"pass"}
    return root / "project"


def tampered(project: Path, where: Path, statements: list[str]) -> Path:
    """A copy of the built project with ``statements`` run on its warehouse."""
    copy = where / "project"
    shutil.copytree(project, copy)
    con = duckdb.connect(str(copy / "target" / "warehouse.duckdb"))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()
    return copy


def runner_test(project: Path, select: str) -> tuple[int, dict[tuple[str, str], str], str]:
    """`runner test -s select`: exit code, (node, expectation) -> status, and the output."""
    result = CliRunner().invoke(
        cli,
        ["test", "--project-dir", str(project), "--log-format", "plain", "-s", select],
        catch_exceptions=False,
    )
    run = json.loads((project / "target" / "run_results.json").read_text())
    statuses = {
        (
            r["unique_id"].split(".")[-1],
            BALANCE if e["name"].startswith(BALANCE_PREFIX) else e["name"],
        ): e["status"]
        for r in run["results"]
        for e in r["expectations"]
    }
    return result.exit_code, statuses, result.output


def test_untampered_warehouse_passes_runner_test(built, tmp_path):
    code, statuses, output = runner_test(tampered(built, tmp_path, []), CHECKED)
    assert code == 0, output
    assert set(statuses.values()) == {"pass"}
    for check in [
        ("stg_shop__orders", "ordered_not_after_sent"),
        ("fct_orders", "revenue_reconciles_with_staging"),
        ("fct_orders", "relationships(customer_id)"),
        ("fct_orders", "column_a_gte_b(gross_revenue, net_revenue)"),
        ("dim_customers", "revenue_reconciles_with_fct_orders"),
        ("dim_customers", "last_order_not_after_as_of"),
        ("retention_cohorts", "cohort_size_equals_first_orders"),
        ("retention_cohorts", "revenue_reconciles_with_fct_orders"),
        ("churn_monthly", "new_customers_equal_first_orders"),
        ("churn_monthly", BALANCE),
        ("churn_monthly_by_channel", "channels_add_up_to_churn_monthly"),
        ("cac_monthly", "spend_reconciles_with_staging"),
        ("int_channel_months", "revenue_reconciles_with_fct_orders"),
        ("int_channel_months", "new_customers_equal_first_orders"),
        ("int_channel_months", "sessions_reconcile_with_staging"),
        ("channel_kpis_monthly", "months_add_up_to_int_channel_months"),
    ]:
        assert statuses[check] == "pass", check


CASES = {
    # a cent more revenue on one order than its staged lines
    "fct_orders_a_cent_off": (
        "fct_orders",
        [
            "update facts.fct_orders set gross_revenue = gross_revenue + 0.01, "
            "net_revenue = net_revenue + 0.01 where order_id = 'o6'"
        ],
        {"revenue_reconciles_with_staging"},
    ),
    # o3's refund lost (net = gross - refund still holds on the row)
    "fct_orders_refund_lost": (
        "fct_orders",
        [
            "update facts.fct_orders set refund_amount = 0, net_revenue = gross_revenue "
            "where order_id = 'o3'"
        ],
        {"revenue_reconciles_with_staging"},
    ),
    # the tied re-send of o5 read as 'placed': a cancelled order counted as valid
    "fct_orders_cancelled_counted": (
        "fct_orders",
        [
            "update facts.fct_orders set is_valid = true, gross_revenue = order_amount, "
            "net_revenue = order_amount where order_id = 'o5'"
        ],
        {"revenue_reconciles_with_staging"},
    ),
    "dim_customers_a_cent_off": (
        "dim_customers",
        [
            "update facts.int_customer_profile set net_revenue = net_revenue + 0.01 "
            "where customer_id = 'c1'"
        ],
        {"revenue_reconciles_with_fct_orders"},
    ),
    "dim_customers_net_above_gross": (
        "dim_customers",
        [
            "update facts.int_customer_profile set net_revenue = gross_revenue + 1 "
            "where customer_id = 'c2'"
        ],
        {"column_a_gte_b(gross_revenue, net_revenue)", "revenue_reconciles_with_fct_orders"},
    ),
    # c7's Apr 30 order is after the as-of date: it must not be their last order yet
    "dim_customers_after_as_of": (
        "dim_customers",
        [
            "update facts.int_customer_profile set last_order_date = '2024-04-30' "
            "where customer_id = 'c7'"
        ],
        {"last_order_not_after_as_of"},
    ),
    # c3 (January cohort, 40 of revenue) vanished from the orders the cohorts were built from
    "retention_customer_gone": (
        "retention_cohorts",
        ["delete from facts.fct_orders where customer_id = 'c3'"],
        {"cohort_size_equals_first_orders", "revenue_reconciles_with_fct_orders"},
    ),
    # the month table off against the orders, and the mart off against the month table
    "channel_months_revenue_a_cent_off": (
        "int_channel_months",
        [
            "update marts.int_channel_months set net_revenue = net_revenue + 0.01 "
            "where month = '2024-03-01' and channel = 'paid_search'"
        ],
        {"revenue_reconciles_with_fct_orders"},
    ),
    "channel_revenue_a_cent_off": (
        "channel_kpis_monthly",
        [
            "update marts.channel_kpis_monthly set net_revenue = net_revenue + 0.01 "
            "where month = '2024-03-01' and channel = 'paid_search'"
        ],
        {"months_add_up_to_int_channel_months"},
    ),
    "cac_spend_a_cent_off": (
        "cac_monthly",
        [
            "update marts.cac_monthly set spend = spend + 0.01 "
            "where month = '2024-01-01' and channel = 'paid_search'"
        ],
        {"spend_reconciles_with_staging"},
    ),
    "churn_balance_broken": (
        "churn_monthly",
        ["update marts.churn_monthly set active_end = active_end + 1 where month = '2024-02-01'"],
        {BALANCE},
    ),
    # balanced, but one more new customer than first orders in February
    "churn_new_customers_off": (
        "churn_monthly",
        [
            "update marts.churn_monthly set new_customers = new_customers + 1, "
            "active_end = active_end + 1 where month = '2024-02-01'"
        ],
        {"new_customers_equal_first_orders"},
    ),
    # email in March: 2 active at start and end; one churned more keeps the balance
    "churn_channels_do_not_add_up": (
        "churn_monthly_by_channel",
        [
            "update marts.churn_monthly_by_channel set churned = churned + 1, "
            "active_end = active_end - 1 "
            "where month = '2024-03-01' and acquisition_channel = 'email'"
        ],
        {"channels_add_up_to_churn_monthly"},
    ),
    # a raw order placed a day after its row was sent
    "staging_ordered_in_the_future": (
        "stg_shop__orders",
        [
            "create table raw.orders_tampered as select * replace (case when order_id = 'o6' "
            "then updated_at + interval 1 day else ordered_at end as ordered_at) from raw.orders",
            "create or replace view raw.orders as select * from raw.orders_tampered",
        ],
        {"ordered_not_after_sent"},
    ),
}


INCREMENTAL_STAGING = {"stg_shop__orders", "stg_shop__customers"}


@pytest.mark.parametrize("case", list(CASES))
def test_expectation_catches_tampered_data(built, tmp_path, case):
    node, statements, expected = CASES[case]
    project = tampered(built, tmp_path, statements)
    if node in INCREMENTAL_STAGING:
        # A table over the landing, refreshed from the versions sent since its last build:
        # a row changed in place (against the landing contract) reaches it only by a
        # rebuild, which is what runner test then checks.
        rebuilt = CliRunner().invoke(
            cli, ["run", "--project-dir", str(project), "-s", node, "--full-refresh"]
        )
        assert rebuilt.exit_code == 0, rebuilt.output
    code, statuses, output = runner_test(project, node)
    failing = {name for (where, name), status in statuses.items() if status != "pass"}
    assert {where for where, _ in statuses} == {node}
    assert failing == expected, output
    assert code == 1


def test_a_future_dated_row_is_reported_and_kept(built, tmp_path):
    # An answer stamped 2099 (a typo, a wrong clock): a warning, the build goes on.
    statements = [
        "create table raw.feedback_tampered as select * replace (case when row_number() "
        "over (order by submitted_at) = 1 then timestamp '2099-01-01' else submitted_at end "
        "as submitted_at) from raw.feedback",
        "create or replace view raw.feedback as select * from raw.feedback_tampered",
    ]
    project = tampered(built, tmp_path, statements)
    # The fixture is built as of a past day, and a point-in-time staging view keeps nothing
    # sent after it (2099 included): the check is for a build of everything landed, so the
    # view is rebuilt without var as_of first.
    rebuilt = CliRunner().invoke(
        cli, ["run", "--project-dir", str(project), "-s", "stg_shop__feedback"]
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    code, statuses, output = runner_test(project, "stg_shop__feedback")
    assert statuses[("stg_shop__feedback", "submitted_at_not_in_the_future")] == "warn"
    assert code == 0, output
    assert "submitted_at_not_in_the_future — 1 row failing" in output
