"""A dbt project folder built unchanged: tests/dbt_project_fixture, in dbt's own layout
and spellings, with a local package (shop_utils). Built once with the real CLI
(`runner deps`, then `runner build`); every table is compared with rows worked out by
hand from the seed CSVs."""

from __future__ import annotations

import datetime
import os
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from runner.cli import cli

FIXTURE = Path(__file__).parent / "dbt_project_fixture"
D = Decimal


def run(project: Path, *args: str) -> object:
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    project = tmp_path_factory.mktemp("dbt") / "fixture_shop"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("target", "dbt_packages"))
    old = Path.cwd()
    os.chdir(project)  # dbt resolves profiles.yml and the database path from here
    try:
        deps = run(project, "deps")
        assert deps.exit_code == 0, deps.output
        result = run(project, "build", "--validator", "sql")
    finally:
        os.chdir(old)
    return project, result


def rows(project: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(project / "target" / "fixture.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_the_build_passes(built: tuple[Path, object]) -> None:
    _, result = built
    assert result.exit_code == 0, result.output


def test_deps_links_the_local_package(built: tuple[Path, object]) -> None:
    project, _ = built
    link = project / "dbt_packages" / "shop_utils"
    assert link.is_symlink() and (link / "dbt_project.yml").is_file()
    assert "local: local_packages/shop_utils" in (project / "package-lock.yml").read_text()


def test_relations_follow_dbt_naming_and_the_generate_schema_name_override(built) -> None:
    project, _ = built
    found = rows(
        project,
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_name != 'run_log' and table_schema != '_runner' order by 1, 2",
    )
    # seeds: the project's generate_schema_name puts them in raw whatever +schema says;
    # staging: +schema staging -> <target schema>_staging (dbt's default rule);
    # experimental_scores: +enabled: "{{ var('enable_experimental') }}" is false.
    assert found == [
        ("main", "customer_tiers_snapshot", "BASE TABLE"),
        ("main", "customers", "BASE TABLE"),
        ("main", "orders", "BASE TABLE"),
        ("main", "payments_snapshot", "BASE TABLE"),  # declared in YAML (dbt 1.9)
        ("main", "shop_calendar", "BASE TABLE"),
        ("main_staging", "stg_customers", "VIEW"),
        ("main_staging", "stg_orders", "VIEW"),
        ("main_staging", "stg_payments", "VIEW"),
        ("raw", "raw_customers", "BASE TABLE"),
        ("raw", "raw_orders", "BASE TABLE"),
        ("raw", "raw_payments", "BASE TABLE"),
        ("snapshots", "customers_snapshot", "BASE TABLE"),  # target_schema: as written
    ]


def test_orders_pivots_the_payment_methods_run_query_found(built) -> None:
    project, result = built
    # shop_utils.get_column_values ran `select distinct payment_method` while orders
    # compiled (after stg_payments was built): one column per method, sorted.
    columns = [r[0] for r in rows(project, "describe main.orders")]
    assert columns == [
        "order_id",
        "customer_id",
        "order_date",
        "status",
        "bank_transfer_amount",
        "coupon_amount",
        "credit_card_amount",
        "gift_card_amount",
        "amount",
    ]
    assert rows(project, "select * from main.orders order by order_id") == [
        (1, 1, datetime.date(2024, 1, 5), "completed", D("0"), D("5"), D("10"), D("0"), D("15")),
        (2, 1, datetime.date(2024, 2, 10), "completed", D("0"), D("0"), D("20"), D("0"), D("20")),
        (3, 2, datetime.date(2024, 2, 11), "returned", D("7"), D("0"), D("0"), D("0"), D("7")),
        (4, 3, datetime.date(2024, 3, 1), "placed", D("0"), D("0"), D("15"), D("0"), D("15")),
        (5, 2, datetime.date(2024, 3, 15), "completed", D("0"), D("0"), D("0"), D("3"), D("3")),
    ]
    assert "orders: pivoting payment methods found in stg_payments" in result.output


def test_customers(built) -> None:
    project, _ = built
    # lifetime value leaves out the returned order 3; days since the last order are
    # counted to 2024-04-01 (modules.datetime in the model, dbt.datediff): 2024 is a
    # leap year, so 2024-02-10 -> 2024-04-01 is 19 + 31 + 1 = 51 days.
    assert rows(project, "select * from main.customers order by customer_id") == [
        (1, "Ann", "north", datetime.date(2024, 1, 5), datetime.date(2024, 2, 10), 2, D("35"), 51),
        (2, "Bob", "south", datetime.date(2024, 2, 11), datetime.date(2024, 3, 15), 2, D("3"), 17),
        (3, "Cy", "north", datetime.date(2024, 3, 1), datetime.date(2024, 3, 1), 1, D("15"), 31),
    ]


def test_a_package_model_joins_the_project(built) -> None:
    project, _ = built
    # shop_utils/models/shop_calendar.sql: dbt.date_spine by month, end exclusive.
    assert rows(project, "select * from main.shop_calendar order by 1") == [
        (datetime.datetime(2024, 1, 1),),
        (datetime.datetime(2024, 2, 1),),
        (datetime.datetime(2024, 3, 1),),
    ]


def test_staging_views(built) -> None:
    project, _ = built
    assert rows(project, "select * from main_staging.stg_payments order by 1") == [
        (1, 1, "credit_card", D("10.00")),
        (2, 1, "coupon", D("5.00")),
        (3, 2, "credit_card", D("20.00")),
        (4, 3, "bank_transfer", D("7.00")),
        (5, 4, "credit_card", D("15.00")),
        (6, 5, "gift_card", D("3.00")),
    ]
    # dbt.date_trunc('month', ...): DuckDB's date_trunc gives a TIMESTAMP, as with dbt-duckdb
    month = [datetime.datetime(2024, m, 1) for m in (1, 2, 3)]
    assert rows(project, "select order_id, order_month from main_staging.stg_orders") == [
        (1, month[0]),
        (2, month[1]),
        (3, month[1]),
        (4, month[2]),
        (5, month[2]),
    ]


def test_on_run_start_and_end_hooks_ran(built) -> None:
    project, _ = built
    # on-run-start creates the table, on-run-end renders target.name into the insert
    assert rows(project, "select * from main.run_log") == [("finished dev",)]


def _results(project: Path) -> dict[str, dict]:
    import json

    data = json.loads((project / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r for r in data["results"]}


def _checks(result: dict) -> dict[str, str]:
    return {e["name"]: e["status"] for e in result.get("expectations", [])}


def test_every_dbt_test_ran_and_passed(built) -> None:
    project, _ = built
    results = _results(project)
    assert _checks(results["model.stg_customers"]) == {
        "unique(customer_id)": "pass",
        "not_null(customer_id)": "pass",
        "accepted_values(tier)": "pass",  # dbt 1.10's arguments: form
        "relationships(customer_id)": "pass",  # to a downstream model: run after the build
    }
    assert _checks(results["model.stg_orders"]) == {
        "unique(order_id)": "pass",
        "not_null(order_id)": "pass",
        "relationships(customer_id)": "pass",  # to: ref('stg_customers')
        "accepted_values(status)": "pass",
    }
    assert _checks(results["model.stg_payments"]) == {
        "accepted_values(order_id)": "pass",  # quote: false
        "is_positive(amount)": "pass",  # a generic test in tests/generic
    }
    assert _checks(results["model.orders"]) == {
        "unique(order_id)": "pass",
        "not_null(order_id)": "pass",
        "shop_utils.expression_is_true": "pass",  # a package's generic test, dispatched
        "shop_utils.expression_is_true(amount)": "pass",  # with config: where
        "assert_completed_orders_are_paid": "pass",  # tests/*.sql, checked with orders
    }
    assert _checks(results["model.customers"]) == {
        "unique(customer_id)": "pass",
        "not_null(customer_id)": "pass",
        "shop_utils.at_least_one(number_of_orders)": "pass",
    }


def test_doc_blocks_fill_descriptions(built) -> None:
    import json

    project, _ = built
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    orders = manifest["nodes"]["model.orders"]
    assert orders["description"] == "One row per order, with what was paid by each payment method."
    assert orders["columns"]["order_id"]["description"] == "The order's id in the shop."


def test_semantic_models_and_metrics_are_named_once_as_unsupported(built) -> None:
    _, result = built
    lines = [line for line in result.output.splitlines() if "not supported by the runner" in line]
    assert len(lines) == 1
    assert "semantic_models (models/marts/_marts.yml:33)" in lines[0]
    assert "metrics (models/marts/_marts.yml:37)" in lines[0]
    # and nothing else of the project draws a warning: every dbt spelling is understood
    assert result.output.count("warning:") == 1, result.output


def _variant(tmp_path: Path, edit: dict[str, str]) -> tuple[Path, object]:
    project = tmp_path / "fixture_shop"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("target", "dbt_packages"))
    for name, text in edit.items():
        (project / name).write_text(text)
    old = Path.cwd()
    os.chdir(project)
    try:
        assert run(project, "deps").exit_code == 0
        return project, run(project, "build", "--validator", "sql")
    finally:
        os.chdir(old)


def test_failing_dbt_tests_fail_their_model(tmp_path: Path) -> None:
    orders = (FIXTURE / "seeds" / "raw_orders.csv").read_text() + "6,9,2024-03-20,lost\n"
    project, result = _variant(tmp_path, {"seeds/raw_orders.csv": orders})
    assert result.exit_code == 1, result.output
    results = _results(project)
    # customer 9 does not exist and 'lost' is not an accepted status: one row each
    checks = results["model.stg_orders"]["expectations"]
    failing = {e["name"]: e["failing_count"] for e in checks if e["status"] != "pass"}
    assert failing == {"relationships(customer_id)": 1, "accepted_values(status)": 1}
    assert results["model.orders"]["status"] == "skipped"


def test_a_failing_singular_test_fails_the_node_it_is_checked_with(tmp_path: Path) -> None:
    payments = (
        (FIXTURE / "seeds" / "raw_payments.csv").read_text().replace("3,2,credit_card,2000\n", "")
    )
    project, result = _variant(tmp_path, {"seeds/raw_payments.csv": payments})
    assert result.exit_code == 1, result.output
    results = _results(project)
    # order 2 is completed and now has no payment
    failing = {
        e["name"]: e["failing_count"]
        for e in results["model.orders"]["expectations"]
        if e["status"] != "pass"
    }
    assert failing == {"assert_completed_orders_are_paid": 1}
    assert results["model.customers"]["status"] == "skipped"


def test_unit_tests_ran_before_their_models(built) -> None:
    project, _ = built
    results = _results(project)
    assert "1 unit tests passed" in results["model.stg_payments"]["message"]
    assert "1 unit tests passed" in results["model.customers"]["message"]


def test_a_failing_unit_test_fails_its_model_which_is_not_built(tmp_path: Path) -> None:
    text = (FIXTURE / "models" / "staging" / "_unit_tests.yml").read_text()
    wrong = text.replace("{payment_id: 1, amount: 2.50}", "{payment_id: 1, amount: 2.60}")
    project, result = _variant(tmp_path, {"models/staging/_unit_tests.yml": wrong})
    assert result.exit_code == 1
    error = _results(project)["model.stg_payments"]
    assert error["status"] == "error"
    # 250 cents are 2.50 dollars, not the 2.60 the test now expects
    assert "unit test 'cents_become_dollars' failed: 2 row(s) differ" in error["message"]
    assert "missing {'payment_id': 1, 'amount': Decimal('2.60')}" in error["message"]
    assert rows(
        project, "select count(*) from information_schema.tables where table_name = 'stg_payments'"
    ) == [(0,)]


def test_snapshots_keep_the_history_of_changed_and_deleted_customers(tmp_path: Path) -> None:
    project, result = _variant(tmp_path, {})
    assert result.exit_code == 0, result.output
    # Bob moves east on 2024-02-01, Cy leaves, Di arrives; then seed + snapshot, as in dbt
    (project / "seeds" / "raw_customers.csv").write_text(
        "id,first_name,last_name,region,tier,updated_at\n"
        "1,Ann,Lee,north,gold,2024-01-01 00:00:00\n"
        "2,Bob,Ray,east,silver,2024-02-01 00:00:00\n"
        "4,Di,Fox,west,gold,2024-02-05 00:00:00\n"
    )
    old = Path.cwd()
    os.chdir(project)
    try:
        assert run(project, "seed").exit_code == 0
        snap = run(project, "snapshot")
    finally:
        os.chdir(old)
    assert snap.exit_code == 0, snap.output
    t = datetime.datetime
    history = rows(
        project,
        "select id, region, tier, dbt_valid_from, dbt_valid_to is null, dbt_updated_at "
        "from snapshots.customers_snapshot order by id, dbt_valid_from",
    )
    assert history == [
        (1, "north", "gold", t(2024, 1, 1), True, t(2024, 1, 1)),
        (2, "south", "silver", t(2024, 1, 2), False, t(2024, 1, 2)),
        (2, "east", "silver", t(2024, 2, 1), True, t(2024, 2, 1)),
        (3, "north", "silver", t(2024, 1, 3), False, t(2024, 1, 3)),  # hard delete closed
        (4, "west", "gold", t(2024, 2, 5), True, t(2024, 2, 5)),
    ]
    # timestamp strategy: the old version ends where the new one starts
    assert rows(
        project,
        "select dbt_valid_to from snapshots.customers_snapshot where id = 2 and region = 'south'",
    ) == [(t(2024, 2, 1),)]
    # one scd id per version, none repeated
    assert rows(
        project, "select count(distinct dbt_scd_id), count(*) from snapshots.customers_snapshot"
    ) == [(5, 5)]
    # check strategy on region and tier: Cy stays current (no hard-delete invalidation)
    assert rows(
        project,
        "select customer_id, region, tier, dbt_valid_to is null "
        "from main.customer_tiers_snapshot order by customer_id, dbt_valid_from",
    ) == [
        (1, "north", "gold", True),
        (2, "south", "silver", False),
        (2, "east", "silver", True),
        (3, "north", "silver", True),
        (4, "west", "gold", True),
    ]


def test_dbt_project_test_configs_apply_by_folder(built) -> None:
    project, _ = built
    results = _results(project)
    # data_tests: fixture_shop: marts: +severity: warn; staging keeps the default (error)
    severities = {
        uid: {e["severity"] for e in results[uid]["expectations"] if e["path"].endswith(".yml")}
        for uid in ("model.orders", "model.customers", "model.stg_orders")
    }
    assert severities == {
        "model.orders": {"warn"},
        "model.customers": {"warn"},
        "model.stg_orders": {"error"},
    }


def test_a_snapshot_declared_in_yaml(built) -> None:
    import json

    project, _ = built
    # check_cols: all over stg_payments: every payment once, all current
    assert rows(
        project,
        "select payment_id, amount, dbt_valid_to is null from main.payments_snapshot order by 1",
    ) == [
        (1, D("10.00"), True),
        (2, D("5.00"), True),
        (3, D("20.00"), True),
        (4, D("7.00"), True),
        (5, D("15.00"), True),
        (6, D("3.00"), True),
    ]
    results = _results(project)
    assert _checks(results["snapshot.payments_snapshot"]) == {"not_null(payment_id)": "pass"}
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    # the YAML entry documents the {% snapshot %} block of the same name
    described = manifest["nodes"]["snapshot.customers_snapshot"]["description"]
    assert described == "Customers as the shop saw them over time."
