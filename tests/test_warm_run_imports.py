"""A warm `runner run` (parse cache and statements cached) runs the compiled SQL without
importing sqlglot, Jinja or Great Expectations: each costs more to import than a small
project takes to build (runner/sql/ddl.py, the "statements" entries of the parse cache)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from project_text import profiles, pyproject

HEAVY = ("sqlglot", "jinja2", "great_expectations", "sqlalchemy", "pyspark")

SOURCES = """\
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: integer}
          - {name: amount, data_type: "decimal(10,2)"}
          - {name: ordered_at, data_type: timestamp}
"""

FILES = {
    "pyproject.toml": pyproject(),
    "profiles.yml": profiles(sources="{from: files, path: landing}"),
    "models/sources.yml": SOURCES,
    "models/staging/stg_orders.sql": "select * from {{ source('shop', 'orders') }}\n",
    "models/staging/big_orders.sql": (
        "{{ config(materialized='ephemeral') }}\n"
        "select * from {{ ref('stg_orders') }} where amount > 5\n"
    ),
    "models/facts/fct_orders.sql": (
        "{{ config(materialized='incremental', unique_key='order_id') }}\n"
        "select order_id, amount, ordered_at from {{ ref('stg_orders') }}\n"
        "{% if is_incremental() %}where ordered_at > (select max(ordered_at) from {{ this }})"
        "{% endif %}\n"
    ),
    "models/marts/big_order_count.sql": "select count(*) as n from {{ ref('big_orders') }}\n",
    "landing/orders.csv": (
        "order_id,amount,ordered_at\n1,3.50,2024-01-01 10:00:00\n2,7.25,2024-01-02 11:00:00\n"
    ),
}

# Runs `runner run` in this interpreter, then prints which heavy packages it imported.
PROBE = f"""
import json, sys
from runner.cli import main
sys.argv = ["runner", "run", "--project-dir", sys.argv[1]]
try:
    main()
except SystemExit as exit:
    code = exit.code
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print(json.dumps({{"exit": code, "heavy": heavy}}))
"""


def _run_in_fresh_process(root: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _append_and_run(root: Path, row: str) -> dict:
    with (root / "landing" / "orders.csv").open("a") as f:
        f.write(row)
    return _run_in_fresh_process(root)


def test_a_warm_run_imports_no_sqlglot_jinja_or_gx(make_project) -> None:
    root = make_project(FILES, base=False)
    cold = _run_in_fresh_process(root)  # compiles: sqlglot and Jinja are needed here
    assert cold["exit"] == 0
    assert {"sqlglot", "jinja2"} <= set(cold["heavy"])

    # The first incremental run renders fct_orders' is_incremental() branch: a new render.
    _append_and_run(root, "3,9.00,2024-01-03 12:00:00\n")
    warm = _append_and_run(root, "4,1.00,2024-01-04 12:00:00\n")  # the merge included
    assert warm == {"exit": 0, "heavy": []}

    results = json.loads((root / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    assert statuses["model.fct_orders"] == "success"
    import duckdb

    with duckdb.connect(str(root / "target" / "work.duckdb"), read_only=True) as con:
        assert con.execute('select count(*) from "main"."fct_orders"').fetchone() == (4,)
        assert con.execute('select n from "marts"."big_order_count"').fetchone() == (2,)
