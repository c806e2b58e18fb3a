"""Expectations through Great Expectations on Spark (GX's Spark datasource on the run's
shared session): ``gx:`` entries, the default validator's verdicts against the SQL
validator's, and a failing check that keeps the published mart. A small project whose
Spark target shares the demo copy's warehouse (one warehouse per Spark session), in
schemas of its own."""

from __future__ import annotations

import datetime
import json
import textwrap

import pytest
from click.testing import CliRunner

from runner.cli import cli

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# 6 orders; by hand: customer null once (order 6), customers c1 x2, c2 x2, c9 (not in
# customers); status 'lost' once; amount 150 once (order 5), negative never.
ORDERS = (
    "id,customer,amount,fee,status,ordered_at\n"
    "1,c1,10.50,1.00,paid,2024-01-01 10:00:00\n"
    "2,c1,20.00,2.00,paid,2024-01-02 10:00:00\n"
    "3,c2,5.25,0.50,refunded,2024-01-03 10:00:00\n"
    "4,c2,7.00,9.00,lost,2024-01-04 10:00:00\n"
    "5,c9,150.00,1.00,paid,2024-01-05 10:00:00\n"
    "6,,1.00,0.10,paid,2024-01-06 10:00:00\n"
)
CUSTOMERS = "customer\nc1\nc2\nc3\n"

CHECKS = """\
models:
  - name: gx_orders
    expectations:
      - row_count_between: {min: 1, max: 10}
      - row_count_between: {min: 7, severity: warn}
      - compound_unique: {columns: [customer, status], severity: warn}
      - expression: "amount >= 0"
      - expression: {expression: "amount < 100", severity: warn}
      - column_a_gte_b: {column_a: amount, column_b: fee, severity: warn}
      - gx: {type: ExpectTableColumnCountToEqual, kwargs: {value: 6}}
    columns:
      - name: id
        expectations: [not_null, unique]
      - name: customer
        expectations:
          - not_null: {severity: warn}
          - unique: {severity: warn}
          - relationships: {to: gx_customers, field: customer, severity: warn}
      - name: status
        expectations:
          - accepted_values: {values: [paid, refunded], severity: warn}
          - accepted_values: {values: [paid, refunded], mostly: 0.8}
          - gx: {type: ExpectColumnValuesToMatchRegex, kwargs: {regex: "^[a-z]+$"}}
      - name: amount
        expectations:
          - between: {min: 0, max: 100, severity: warn}
          - between: {min: 0, max: 100, mostly: 0.5}
      - name: ordered_at
        expectations:
          - recency: {days: 3}
"""

FAILING_GX = """\
models:
  - name: gx_orders
    columns:
      - name: status
        expectations:
          - gx: {type: ExpectColumnValuesToBeInSet, kwargs: {value_set: [paid, refunded]}}
"""

FILES = {
    "pyproject.toml": """\
        [tool.runner]
        name = "gxspark"

        [tool.runner.seeds]
        schema = "gx_raw"

        [tool.runner.vars]
        as_of = "2024-01-07"
        """,
    "seeds/gx_order_rows.csv": ORDERS,
    "seeds/gx_customers.csv": CUSTOMERS,
    "seeds/_seeds.yml": """\
        seeds:
          - name: gx_order_rows
            config:
              column_types: {id: integer, amount: 'decimal(10,2)', fee: 'decimal(10,2)',
                             ordered_at: timestamp}
        """,
    "models/gx_orders.sql": """\
        {{ config(materialized='table', schema='gx_marts', publish=true) }}
        select * from {{ ref('gx_order_rows') }}
        """,
    "models/_checks.yml": CHECKS,
}


@pytest.fixture(scope="module")
def project(spark_demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("gxspark")
    warehouse = spark_demo.root / "target" / "spark"
    files = {
        **FILES,
        "profiles.yml": f"""\
            gxspark:
              target: spark
              outputs:
                spark:
                  type: spark
                  master: local[2]
                  path: {warehouse}
                  threads: 2
                  serve_schema: gx_serving
            """,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run(root, *args):
    return CliRunner().invoke(
        cli, [*args, "--project-dir", str(root), "--log-format", "plain"], catch_exceptions=False
    )


def verdicts(root):
    results = json.loads((root / "target" / "run_results.json").read_text())
    return {
        (e["node"], e["name"]): (e["status"], e["failing_count"])
        for r in results["results"]
        for e in r.get("expectations", [])
    }


# What each check gives on ORDERS, worked out by hand (status, failing rows; None where a
# check judges the table, not rows).
EXPECTED = {
    "row_count_between": ("pass", None),
    "row_count_between#2": ("warn", None),  # 6 rows, not >= 7
    "compound_unique(customer, status)": ("warn", 2),  # (c1, paid) twice
    "expression(amount >= 0)": ("pass", 0),
    "expression(amount < 100)": ("warn", 1),
    "column_a_gte_b(amount, fee)": ("warn", 1),  # order 4: 7.00 < 9.00
    "gx.ExpectTableColumnCountToEqual": ("pass", None),
    "not_null(id)": ("pass", 0),
    "unique(id)": ("pass", 0),
    "not_null(customer)": ("warn", 1),
    "unique(customer)": ("warn", 4),  # c1 x2, c2 x2
    "relationships(customer)": ("warn", 1),  # c9
    "accepted_values(status)": ("warn", 1),  # lost
    "accepted_values(status)#2": ("pass", 1),  # 5 of 6 >= 0.8
    "gx.ExpectColumnValuesToMatchRegex(status)": ("pass", 0),
    "between(amount)": ("warn", 1),  # 150
    "between(amount)#2": ("pass", 1),
    "recency(ordered_at)": ("pass", None),  # latest 01-06, as of 01-07, 3 days
}


def test_the_default_validator_runs_gx_on_spark_with_the_sql_validators_verdicts(project):
    built = run(project, "build", "--validator", "sql")
    assert built.exit_code == 0, built.output
    by_sql = verdicts(project)

    tested = run(project, "test")  # the default validator: gx
    assert tested.exit_code == 0, tested.output
    assert "validator gx does not run" not in tested.output
    by_gx = verdicts(project)
    assert set(by_gx) == set(by_sql)
    statuses = {key: status for key, (status, _) in by_gx.items()}
    assert statuses == {key: status for key, (status, _) in by_sql.items()}
    # the failing counts too, where both count rows
    for key, (_, count) in by_gx.items():
        if count is not None and by_sql[key][1] is not None:
            assert count == by_sql[key][1], key
    # the same verdicts as worked out by hand
    got = {name: verdict for (_, name), verdict in by_gx.items()}
    assert set(got) == set(EXPECTED)
    for name, (status, count) in EXPECTED.items():
        assert got[name][0] == status, (name, got[name])
        if count is not None:
            assert got[name][1] == count, (name, got[name])


def test_a_failing_gx_entry_fails_the_build_on_spark_and_keeps_the_published_mart(
    spark_demo, project
):
    spark = spark_demo.spark
    checks = project / "models" / "_checks.yml"
    saved = checks.read_text()
    before = datetime.datetime.now(datetime.UTC)
    first = run(project, "build", "--validator", "sql")
    assert first.exit_code == 0, first.output
    served = [tuple(r) for r in spark.sql("select id from gx_serving.gx_orders").collect()]
    assert sorted(served) == [(i,) for i in range(1, 7)]
    recorded = publish_record(spark, before, datetime.datetime.now(datetime.UTC))

    seed = project / "seeds" / "gx_order_rows.csv"
    seed.write_text(ORDERS + "7,c3,2.00,0.10,lost,2024-01-06 11:00:00\n", encoding="utf-8")
    checks.write_text(FAILING_GX, encoding="utf-8")
    try:
        failed = run(project, "build")
    finally:
        checks.write_text(saved, encoding="utf-8")
        seed.write_text(ORDERS, encoding="utf-8")
    assert failed.exit_code == 1, failed.output
    assert "Traceback" not in failed.output
    # node, expectation and failing count, as on DuckDB: 'lost' on orders 4 and 7
    lines = [x for x in failed.output.splitlines() if "ExpectColumnValuesToBeInSet" in x]
    assert any("FAIL" in x and "gx_orders" in x and "2 rows failing" in x for x in lines), (
        failed.output
    )
    assert "models/_checks.yml:6: 1 expectation failed" in failed.output  # the gx: line
    # the mart that failed its check is not published: the serving schema keeps 6 orders,
    # and the record still says which version it serves
    served = [tuple(r) for r in spark.sql("select id from gx_serving.gx_orders").collect()]
    assert sorted(served) == [(i,) for i in range(1, 7)]
    kept = publish_record(spark, before, datetime.datetime.now(datetime.UTC))
    assert kept[0] == recorded[0]  # version_at: the first build's


def publish_record(spark, after, until):
    """(version_at, published_at) of gx_orders in the serving schema's record, checked to
    be the UTC wall clock whatever the session's time zone."""
    record = spark.table("_runner.published_gx_serving")
    types = {f.name: f.dataType.simpleString() for f in record.schema.fields}
    assert types["version_at"] == types["published_at"] == "timestamp_ntz", types
    query = (
        "select cast(version_at as string), cast(published_at as string) "
        "from _runner.published_gx_serving where name = 'gx_orders'"
    )
    zone = spark.conf.get("spark.sql.session.timeZone")
    try:
        spark.conf.set("spark.sql.session.timeZone", "America/New_York")
        in_new_york = [tuple(r) for r in spark.sql(query).collect()]
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    in_utc = [tuple(r) for r in spark.sql(query).collect()]
    assert in_new_york == in_utc
    ((version_at, published_at),) = in_utc
    low, high = (t.replace(tzinfo=None, microsecond=0) for t in (after, until))
    published = datetime.datetime.fromisoformat(published_at)
    assert low <= published.replace(microsecond=0) <= high, (published_at, after, until)
    return version_at, published_at


INCREMENTAL = """\
{{ config(materialized='incremental', unique_key='id', schema='gx_marts') }}
select id, email, status from {{ ref('gx_signups') }}
{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}
"""
INCREMENTAL_CHECKS = """\
models:
  - name: gx_signups_inc
    columns:
      - name: email
        expectations: [{unique: {severity: warn}}]
      - name: status
        expectations: [{accepted_values: {values: [paid], severity: warn}}]
"""


def test_an_incremental_run_on_spark_checks_the_rows_it_wrote_through_gx(project):
    seed = project / "seeds" / "gx_signups.csv"
    model = project / "models" / "gx_signups_inc.sql"
    checks = project / "models" / "_incremental.yml"
    seed.write_text("id,email,status\n1,e1,lost\n2,e2,paid\n", encoding="utf-8")
    model.write_text(INCREMENTAL, encoding="utf-8")
    checks.write_text(INCREMENTAL_CHECKS, encoding="utf-8")
    select = ("--select", "gx_signups+")
    try:
        first = run(project, "build", *select)
        assert first.exit_code == 0, first.output
        by_name = {name: v for (_, name), v in verdicts(project).items()}
        assert by_name["accepted_values(status)"] == ("warn", 1)  # the 'lost' row
        # two new rows, clean, but row 4 takes row 1's email
        with seed.open("a", encoding="utf-8") as handle:
            handle.write("3,e3,paid\n4,e1,paid\n")
        second = run(project, "build", *select)
        assert second.exit_code == 0, second.output
        by_name = {name: v for (_, name), v in verdicts(project).items()}
        # the rows written pass (the old 'lost' row was reported when it was written);
        # uniqueness reads the rows sharing an email with them: rows 1 and 4
        assert by_name["accepted_values(status)"] == ("pass", 0)
        assert by_name["unique(email)"] == ("warn", 2)
    finally:
        for path in (seed, model, checks):
            path.unlink()
