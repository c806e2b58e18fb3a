"""Python models: models/**/*.py defining model(ctx) take part in the DAG like SQL models."""

from __future__ import annotations

import json

import duckdb
import pytest

PROFILES = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/dev.duckdb
      serve_path: target/serving.duckdb
      threads: 2
"""

PYPROJECT = """\
[tool.runner]
name = "shop"
validator = "sql"

[tool.runner.vars]
bonus = 100

[tool.runner.models.marts]
materialized = "table"
schema = "marts"
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "profiles.yml": PROFILES,
    "models/sources.yml": """\
        sources:
          - name: shop
            schema: raw
            tables:
              - name: orders
        """,
    "seeds/orders.csv": "order_id,customer_id,amount\n1,a,10\n2,a,20\n3,b,5\n",
    "models/stg_orders.sql": "select * from {{ source('shop', 'orders') }}",
    # pandas, via a relation
    "models/marts/spend.py": """\
        def model(ctx):
            ctx.config(tags=["python"])
            orders = ctx.ref("stg_orders").df()
            spend = orders.groupby("customer_id", as_index=False)["amount"].sum()
            spend["with_bonus"] = spend["amount"] + ctx.var("bonus")
            return spend
        """,
    # a DuckDB relation, straight from a source
    "models/marts/big_orders.py": """\
        def model(ctx):
            return ctx.source("shop", "orders").filter("amount >= 10")
        """,
    # pyarrow
    "models/marts/counts.py": """\
        import pyarrow as pa


        def model(ctx):
            n = ctx.ref("big_orders").aggregate("count(*)").fetchall()[0][0]
            return pa.table({"what": ["big_orders"], "n": [n]})
        """,
    # a SQL model downstream of a Python one
    "models/marts/top_customer.sql": (
        "select customer_id from {{ ref('spend') }} order by amount desc limit 1"
    ),
    "models/marts/_marts.yml": """\
        models:
          - name: spend
            columns:
              - name: customer_id
                expectations: [unique, not_null]
              - name: amount
                expectations:
                  - between: {min: 0, max: 1000}
        """,
}


def test_python_models_build_with_sql_models_around_them(make_project, run_cli):
    root = make_project(FILES, base=False)
    built = run_cli("build", "--project-dir", root, "--log-format", "plain")
    assert built.exit_code == 0, built.output
    with duckdb.connect(str(root / "target" / "dev.duckdb"), read_only=True) as con:
        spend = con.execute("select * from marts.spend order by 1").fetchall()
        assert spend == [("a", 30, 130), ("b", 5, 105)]
        assert con.execute("select count(*) from marts.big_orders").fetchone() == (2,)
        assert con.execute("select * from marts.counts").fetchall() == [("big_orders", 2)]
        assert con.execute("select * from marts.top_customer").fetchall() == [("a",)]
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    spend_result = next(r for r in results if r["unique_id"] == "model.spend")
    assert spend_result["rows_affected"] == 2
    assert {e["status"] for e in spend_result["expectations"]} == {"pass"}
    # Published like any mart.
    with duckdb.connect(str(root / "target" / "serving.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.spend").fetchone() == (2,)


def test_python_models_are_in_the_dag_selection_and_manifest(make_project, run_cli):
    root = make_project(FILES, base=False)
    listed = run_cli("ls", "--project-dir", root, "-s", "+top_customer")
    assert set(listed.output.split()) == {"orders", "source:shop.orders", "stg_orders", "spend"} | {
        "top_customer"
    }
    assert run_cli("ls", "--project-dir", root, "-s", "tag:python").output.split() == ["spend"]
    assert run_cli("compile", "--project-dir", root).exit_code == 0
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    node = manifest["nodes"]["model.spend"]
    assert node["language"] == "python"
    assert node["depends_on"]["nodes"] == ["model.stg_orders"]
    counts = manifest["nodes"]["model.counts"]
    assert counts["depends_on"]["nodes"] == ["model.big_orders"]


def test_an_exception_names_the_file_and_line_and_skips_downstream(make_project, run_cli):
    files = {
        **FILES,
        "models/marts/spend.py": """\
            def model(ctx):
                orders = ctx.ref("stg_orders").df()
                ratio = 1 / 0
                return orders
            """,
    }
    root = make_project(files, base=False)
    built = run_cli("build", "--project-dir", root, "--log-format", "plain")
    assert built.exit_code == 1
    assert "models/marts/spend.py:3: ZeroDivisionError: division by zero" in built.output
    assert "SKIP     top_customer" in built.output


def test_a_failed_expectation_on_a_python_model_fails_it(make_project, run_cli):
    files = {
        **FILES,
        "seeds/orders.csv": "order_id,customer_id,amount\n1,a,10\n2,a,2000\n",
    }
    root = make_project(files, base=False)
    built = run_cli("build", "--project-dir", root, "--log-format", "plain")
    assert built.exit_code == 1
    assert "between(amount)" in built.output
    assert "SKIP     top_customer" in built.output


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "def model(ctx):\n    name = 'orders'\n    return ctx.ref(name)\n",
            3,
            "ctx.ref(...) needs literal arguments",
        ),
        ("def model(ctx):\n    return ctx.ref('orders'\n", 2, "Python syntax error"),
        ("def build(ctx):\n    return None\n", 1, "must define `def model(ctx):`"),
        (
            "def model(ctx):\n    ctx.config(materialized='view')\n    return None\n",
            2,
            "materialized as a table, not 'view'",
        ),
        (
            "def model(ctx):\n    return ctx.ref('nope')\n",
            2,
            "unknown node 'nope'",
        ),
    ],
    ids=["non_literal_ref", "syntax", "no_model_function", "view", "unknown_ref"],
)
def test_bad_python_models_are_project_errors_at_their_line(
    make_project, run_cli, text, line, message
):
    root = make_project({**FILES, "models/marts/spend.py": text}, base=False)
    result = run_cli("compile", "--project-dir", root)
    assert result.exit_code == 2, result.output
    assert f"models/marts/spend.py:{line}:" in result.output
    assert message in result.output


def test_returning_something_else_is_a_clear_error(make_project, run_cli):
    files = {**FILES, "models/marts/spend.py": "def model(ctx):\n    return 42\n"}
    root = make_project(files, base=False)
    built = run_cli("build", "--project-dir", root, "--log-format", "plain", "-s", "+spend")
    assert built.exit_code == 1
    assert "cannot make a table of a int" in built.output


def test_an_import_error_in_the_file_names_its_line(make_project, run_cli):
    # The file is loaded on a background thread as the build starts; its error still
    # lands on the node, at the line of the import.
    text = "import json\nimport not_a_module_anywhere\n\n\ndef model(ctx):\n    return None\n"
    root = make_project({**FILES, "models/marts/spend.py": text}, base=False)
    built = run_cli("build", "--project-dir", root, "--log-format", "plain")
    assert built.exit_code == 1
    assert "models/marts/spend.py:2: ModuleNotFoundError" in built.output
    assert "SKIP     top_customer" in built.output
