"""Checks on what changed: in an incremental run, the expectations that judge rows one by one
read only the rows the run wrote, uniqueness reads the rows sharing a value with them, the
rest read the whole table; `runner test` and full builds check everything
(runner/quality/changed.py). Both validators: plain SQL, and Great Expectations (a GX batch
over the rows written)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from project_text import profiles, pyproject

PYPROJECT = pyproject(marts=False)

PROFILES = profiles(sources="{from: files, path: landing}")

SOURCES = """\
sources:
  - name: shop
    tables:
      - name: customers
        columns:
          - {name: customer_id, data_type: integer}
          - {name: email, data_type: varchar}
          - {name: channel, data_type: varchar}
"""

MODEL = """\
{{ config(materialized='incremental', unique_key='customer_id') }}
select customer_id, email, channel from {{ source('shop', 'customers') }}
{% if is_incremental() %}
where customer_id > (select max(customer_id) from {{ this }})
{% endif %}
"""

YAML = """\
models:
  - name: customers
    columns:
      - name: customer_id
        expectations: [not_null, unique]
      - name: email
        expectations: [unique]
      - name: channel
        expectations:
          - accepted_values: {values: [email, social], severity: warn}
          - accepted_values: {values: [email, social], mostly: 0.9, severity: warn}
"""


def _project(make_project, rows: str) -> Path:
    return make_project(
        {
            "pyproject.toml": PYPROJECT,
            "profiles.yml": PROFILES,
            "models/sources.yml": SOURCES,
            "models/customers.sql": MODEL,
            "models/customers.yml": YAML,
            "landing/customers.csv": "customer_id,email,channel\n" + rows,
        },
        base=False,
    )


def _checks(root: Path) -> dict[str, dict]:
    results = json.loads((root / "target" / "run_results.json").read_text())
    node = next(r for r in results["results"] if r["unique_id"] == "model.customers")
    return {e["name"]: e for e in node["expectations"]}


def _build(run_cli, root: Path, validator: str):
    return run_cli(
        "build", "--project-dir", root, "--log-format", "plain", "--validator", validator
    )


VALIDATORS = pytest.mark.parametrize("validator", ["sql", "gx"])


@VALIDATORS
def test_an_incremental_run_checks_the_rows_it_wrote(make_project, run_cli, validator):
    # An old 'podcast' row: the first build warns about it.
    root = _project(make_project, "1,a@x,email\n2,b@x,podcast\n3,c@x,social\n")
    first = _build(run_cli, root, validator)
    assert first.exit_code == 0, first.output
    checks = _checks(root)
    assert checks["accepted_values(channel)"]["status"] == "warn"
    assert checks["accepted_values(channel)"]["failing_count"] == 1
    assert checks["accepted_values(channel)#2"]["status"] == "warn"

    # Two clean new rows: the row-by-row checks read those two, and pass (the old podcast
    # row was reported when it was written); a share of the whole table (mostly) reads the
    # whole table: 1 of 5 rows fails it, so it still warns.
    with (root / "landing" / "customers.csv").open("a") as f:
        f.write("4,d@x,email\n5,e@x,social\n")
    clean = _build(run_cli, root, validator)
    assert clean.exit_code == 0, clean.output
    checks = _checks(root)
    assert checks["accepted_values(channel)"]["status"] == "pass"
    assert checks["accepted_values(channel)#2"]["status"] == "warn"
    assert checks["accepted_values(channel)#2"]["failing_count"] == 1
    assert checks["accepted_values(channel)#2"]["failing_share"] == 0.2
    with duckdb.connect(str(root / "target" / "work.duckdb"), read_only=True) as con:
        written = con.execute(
            'select customer_id from "_runner"."changed__main__customers" order by 1'
        ).fetchall()
    assert written == [(4,), (5,)]

    # `runner test` checks the whole table: the old warning is there again.
    tested = run_cli(
        "test", "--project-dir", root, "--log-format", "plain", "--validator", validator
    )
    assert tested.exit_code == 0, tested.output
    assert _checks(root)["accepted_values(channel)"]["failing_count"] == 1


@VALIDATORS
def test_a_new_row_duplicating_an_old_one_fails_uniqueness(make_project, run_cli, validator):
    root = _project(make_project, "1,a@x,email\n2,b@x,social\n")
    assert _build(run_cli, root, validator).exit_code == 0
    with (root / "landing" / "customers.csv").open("a") as f:
        f.write("3,a@x,email\n4,c@x,fax\n")
    again = _build(run_cli, root, validator)
    assert again.exit_code == 1, again.output
    checks = _checks(root)
    # the old row 1 and the new row 3 share a@x: both are counted, as a full check would
    assert checks["unique(email)"]["status"] == "fail"
    assert checks["unique(email)"]["failing_count"] == 2
    assert checks["accepted_values(channel)"]["failing_count"] == 1
    assert checks["accepted_values(channel)"]["sample"] == ["fax"]
    assert checks["unique(customer_id)"]["status"] == "pass"


ORDERS_SOURCES = """\
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: integer}
          - {name: month, data_type: date}
          - {name: amount, data_type: integer}
"""

# Restates the latest month it holds and the months after it (late orders of older months
# are missed), and doubles the orders from id 100 on: two ways to disagree with the landing.
MONTHLY = """\
{{ config(materialized='incremental', unique_key='month', incremental_strategy='delete+insert') }}
select month, sum(case when order_id >= 100 then 2 * amount else amount end) as amount
from {{ source('shop', 'orders') }}
{% if is_incremental() %}
where month >= (select max(month) from {{ this }})
{% endif %}
group by month
"""

MONTHLY_YAML = """\
models:
  - name: monthly
    expectations:
      - sql:
          sql: |
            with landed as (
                select month, sum(amount) as amount from {ref:landed_orders} group by month
            )
            select l.month, l.amount, t.amount as built
            from landed as l
            full join {this} as t on t.month = l.month
            where t.amount is distinct from l.amount
          changed_key: month
        name: amount_reconciles_with_landing
"""


# The same, its landed side kept to the months checked by {changed:month} (true when the
# whole table is checked): the same verdicts, from fewer rows read.
MONTHLY_YAML_KEYED = MONTHLY_YAML.replace(
    "from {ref:landed_orders} group by month",
    "from {ref:landed_orders} where {changed:month} group by month",
)


@pytest.mark.parametrize("yaml", [MONTHLY_YAML, MONTHLY_YAML_KEYED], ids=["plain", "keyed"])
@pytest.mark.parametrize("validator", ["sql", "gx"])
def test_a_reconciliation_by_month_checks_the_months_the_run_wrote(
    make_project, run_cli, validator, yaml
):
    assert yaml.count("{changed:month}") == (yaml is MONTHLY_YAML_KEYED)
    root = make_project(
        {
            "pyproject.toml": PYPROJECT,
            "profiles.yml": PROFILES,
            "models/sources.yml": ORDERS_SOURCES,
            "models/monthly.sql": MONTHLY,
            "models/monthly.yml": yaml,
            "models/landed_orders.sql": "select * from {{ source('shop', 'orders') }}",
            "landing/orders.csv": "order_id,month,amount\n1,2024-01-01,10\n2,2024-02-01,20\n",
        },
        base=False,
    )
    first = _build(run_cli, root, validator)
    assert first.exit_code == 0, first.output

    # Tonight: a late order of January (missed: not a month the run writes) and a new order
    # of February (doubled: February is written, and wrong).
    with (root / "landing" / "orders.csv").open("a") as f:
        f.write("3,2024-01-01,5\n100,2024-02-01,7\n")
    night = _build(run_cli, root, validator)
    assert night.exit_code == 1, night.output
    check = next(
        e
        for r in json.loads((root / "target" / "run_results.json").read_text())["results"]
        if r["name"] == "monthly"
        for e in r["expectations"]
    )
    # with the SQL validator February only; GX reads the whole table for such a check
    assert check["failing_count"] == (1 if validator == "sql" else 2)
    assert {"month": "2024-02-01", "amount": 27, "built": 34} in check["sample"]

    # `runner test` re-checks every month: January too.
    tested = run_cli(
        "test", "--project-dir", root, "--log-format", "plain", "--validator", validator
    )
    assert tested.exit_code == 1, tested.output
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    check = next(e for r in results if r["name"] == "monthly" for e in r["expectations"])
    assert check["failing_count"] == 2
