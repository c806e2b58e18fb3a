"""Source freshness: `runner source freshness`, target/sources.json, and `runner build` refusing
to publish while a source is stale past error_after. "Now" is always passed (--now or
RUNNER_NOW), never the wall clock.

The fixture: orders landed last on 2024-06-30 10:00 (the newest updated_at), customers on
2024-06-01 00:00. Rules: orders warn after 1 day, error after 3 days; customers (from the
source level) error after 40 days. So at 2024-07-01 12:00 orders are 26 h old (warn) and
customers 30.5 days (pass); at 2024-07-03 12:00 orders are 74 h old (> 72 h: error).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from project_text import pyproject

PYPROJECT = pyproject(validator_sql=False)

PROFILES = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/work.duckdb
      serve_path: target/serve.duckdb
      threads: 1
      sources:
        default: {from: files, path: data, format: csv}
"""

SOURCES = """\
sources:
  - name: shop
    schema: raw
    loaded_at_field: updated_at
    freshness:
      error_after: {count: 40, period: day}
    tables:
      - name: orders
        freshness:
          warn_after: {count: 1, period: day}
          error_after: {count: 3, period: day}
        columns:
          - {name: order_id, data_type: varchar}
          - {name: amount, data_type: integer}
          - {name: updated_at, data_type: timestamp}
      - name: customers
        columns:
          - {name: customer_id, data_type: varchar}
          - {name: updated_at, data_type: timestamp}
      - name: notes
        freshness: null
        columns:
          - {name: note, data_type: varchar}
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "profiles.yml": PROFILES,
    "models/sources.yml": SOURCES,
    "data/orders.csv": (
        "order_id,amount,updated_at\n"
        "o1,10,2024-06-29 08:00:00\n"
        "o2,20,2024-06-30 10:00:00\n"
        "o1,11,2024-06-28 08:00:00\n"
    ),
    "data/customers.csv": "customer_id,updated_at\nc1,2024-06-01 00:00:00\n",
    "data/notes.csv": "note\nhello\n",
    "models/marts/revenue.sql": (
        "select sum(amount) as revenue from {{ source('shop', 'orders') }}"
    ),
}

WARN_NOW = "2024-07-01T12:00:00"
ERROR_NOW = "2024-07-03T12:00:00"


def results(root: Path) -> dict[str, dict]:
    data = json.loads((root / "target" / "sources.json").read_text())
    return {r["unique_id"]: r for r in data["results"]}


def test_freshness_warns_past_warn_after_and_exits_0(make_project, run_cli):
    root = make_project(FILES, base=False)
    result = run_cli("source", "freshness", "--project-dir", root, "--now", WARN_NOW)
    assert result.exit_code == 0, result.output
    got = results(root)
    assert set(got) == {"source.shop.orders", "source.shop.customers"}  # notes: null rule
    orders = got["source.shop.orders"]
    assert orders["status"] == "warn"
    assert orders["max_loaded_at"] == "2024-06-30T10:00:00Z"
    assert orders["snapshotted_at"] == "2024-07-01T12:00:00Z"
    assert orders["max_loaded_at_time_ago_in_s"] == 26 * 3600
    assert orders["criteria"]["warn_after"] == {"count": 1, "period": "day"}
    customers = got["source.shop.customers"]  # the source-level rule: error after 40 days
    assert customers["status"] == "pass"
    assert customers["max_loaded_at_time_ago_in_s"] == 30 * 86400 + 12 * 3600
    assert "WARN" in result.output and "shop.orders" in result.output


def test_freshness_errors_past_error_after_and_exits_1(make_project, run_cli):
    root = make_project(FILES, base=False)
    result = run_cli("source", "freshness", "--project-dir", root, env={"RUNNER_NOW": ERROR_NOW})
    assert result.exit_code == 1, result.output
    got = results(root)
    assert got["source.shop.orders"]["status"] == "error"
    assert got["source.shop.orders"]["max_loaded_at_time_ago_in_s"] == 74 * 3600
    assert "stale: error after 3 days" in result.output


def test_build_does_not_publish_while_a_source_is_stale(make_project, run_cli):
    root = make_project(FILES, base=False)
    fresh = run_cli("build", "--project-dir", root, "--validator", "sql", "--now", WARN_NOW)
    assert fresh.exit_code == 0, fresh.output
    serve = root / "target" / "serve.duckdb"
    before = serve.read_bytes()
    (root / "data" / "orders.csv").write_text(
        FILES["data/orders.csv"] + "o3,5,2024-06-30 09:00:00\n"  # older than o2: still stale
    )
    stale = run_cli("build", "--project-dir", root, "--validator", "sql", "--now", ERROR_NOW)
    assert stale.exit_code == 1, stale.output
    assert "Nothing published: source(s) shop.orders stale past error_after" in stale.output
    assert serve.read_bytes() == before  # still serving 41 (10 + 20 + 11), not 46
    with duckdb.connect(str(serve), read_only=True) as con:
        assert con.execute("select revenue from marts.revenue").fetchall() == [(41,)]
    with duckdb.connect(str(root / "target" / "work.duckdb"), read_only=True) as con:
        assert con.execute("select revenue from marts.revenue").fetchall() == [(46,)]
    assert results(root)["source.shop.orders"]["status"] == "error"


def test_a_bad_rule_is_an_error_at_its_line(make_project, run_cli):
    bad = SOURCES.replace(
        "period: day}\n          error_after", "period: fortnight}\n          error_after"
    )
    root = make_project({**FILES, "models/sources.yml": bad}, base=False)
    result = run_cli("source", "freshness", "--project-dir", root, "--now", WARN_NOW)
    assert result.exit_code == 2, result.output
    assert "models/sources.yml:10" in result.output
    assert "warn_after.period must be one of minute, hour, day, not 'fortnight'" in result.output


def test_an_unknown_key_warns_with_a_suggestion(make_project, run_cli):
    typo = SOURCES.replace("      error_after: {count: 40", "      eror_after: {count: 40")
    typo = typo.replace(
        "    freshness:\n      eror",
        "    freshness:\n      warn_after: {count: 1, period: hour}\n      eror",
    )
    root = make_project({**FILES, "models/sources.yml": typo}, base=False)
    result = run_cli("source", "freshness", "--project-dir", root, "--now", WARN_NOW)
    assert "unknown key 'eror_after'" in result.output
    assert "did you mean 'error_after'?" in result.output


def test_a_loaded_at_field_that_is_not_a_column(make_project, run_cli):
    typo = SOURCES.replace("    loaded_at_field: updated_at", "    loaded_at_field: updated")
    root = make_project({**FILES, "models/sources.yml": typo}, base=False)
    result = run_cli("source", "freshness", "--project-dir", root, "--now", WARN_NOW)
    assert result.exit_code == 2, result.output
    assert "loaded_at_field 'updated' is not a declared column" in result.output
    assert "did you mean 'updated_at'?" in result.output
