"""A build that meets bad input: it stops before anything runs when the project is wrong,
reports a CSV that cannot be read at the CSV's own file and line, and never changes the
served rows of a mart whose inputs failed.

Uses the small served project of test_bad_input.py (two CSV sources, a seed, two staging
views, one published mart), built once well before each test breaks something.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import pytest
from test_bad_input import FILES, build, digest


@pytest.fixture
def served(make_project, run_cli) -> Path:
    root = make_project(FILES, base=False)
    first = build(run_cli, root)
    assert first.exit_code == 0, first.output
    return root


def _serving(root: Path) -> Path:
    return root / "target" / "serve.duckdb"


def _rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_broken_source_header_stops_the_build_before_the_seeds_load(served, run_cli):
    before = digest(_serving(served))
    (served / "landing" / "orders.csv").write_text("order_id,amount\n1,10.50\n")
    (served / "seeds" / "vat.csv").write_text("code,rate\nNL,0.99\nDE,0.99\nFR,0.20\n")

    result = build(run_cli, served)

    assert result.exit_code == 2, result.output
    assert "models/sources.yml:14: source shop.orders: column 'customer_id' is missing" in (
        result.output
    )
    assert "OK" not in result.output and "Finished" not in result.output  # no node ran
    assert digest(_serving(served)) == before
    # The seed was not reloaded: the working database holds the seed as it was.
    work = served / "target" / "work.duckdb"
    assert _rows(work, "select code, rate::varchar from vat order by code") == [
        ("DE", "0.19"),
        ("NL", "0.21"),
    ]


def test_every_broken_source_is_named_at_once(served, run_cli):
    (served / "landing" / "orders.csv").write_text("")
    (served / "landing" / "customers.csv").write_text("customer_id\n1\n")

    result = build(run_cli, served)

    assert result.exit_code == 2, result.output
    assert "landing/orders.csv:1: source shop.orders: the file is empty" in result.output
    assert "source shop.customers: column 'country' is missing" in result.output


def test_a_seed_no_selected_node_reads_is_not_loaded(served, run_cli):
    """Nothing reads seeds/unused.csv (the sources read landing files): a whole build
    leaves it out; selecting it by name loads it."""
    (served / "seeds" / "unused.csv").write_text("a,b\n1,2\n")
    result = build(run_cli, served)
    assert result.exit_code == 0, result.output
    assert "unused" not in result.output
    build(run_cli, served, "-s", "unused")
    assert _rows(served / "target" / "work.duckdb", "select a, b from unused") == [(1, 2)]


def test_skip_lines_name_a_source_with_its_source_name(served, run_cli):
    (served / "landing" / "customers.csv").write_text("customer_id,country\n1,NL\n1,DE\n")
    result = build(run_cli, served)
    assert result.exit_code == 1, result.output
    assert "upstream 'shop.customers' failed" in result.output
    results = json.loads((served / "target" / "run_results.json").read_text())
    skipped = {r["unique_id"]: r["message"] for r in results["results"]}
    assert skipped["model.stg_customers"] == "skipped: upstream 'shop.customers' failed"


LONG = "D" * 10_000_000  # a 10 MB line, past DuckDB's 2 MB max_line_size
BROKEN_CSV = {
    # what the file holds -> (line, what the message says)
    "a NUL byte": ("customer_id,country\n1,NL\n2\0,DE\n", 3, "holds a NUL byte"),
    "a truncated last line": ('customer_id,country\n1,NL\n2,"D', 3, "unterminated quote"),
    "a missing field": ("customer_id,country\n1,NL\n2\n3,DE\n", 3, "no value for column"),
    "a 10 MB line": (f"customer_id,country\n1,NL\n2,{LONG}\n", 3, "Maximum line size"),
}


@pytest.mark.parametrize("case", list(BROKEN_CSV))
def test_an_unreadable_landing_csv_is_the_source_s_error_at_the_csv_s_line(case, served, run_cli):
    """Not `models/sources.yml:6: 2 expectations failed: not_null(customer_id) (could not
    run)`: the checks could not run because the file cannot be read, which is the error."""
    text, line, what = BROKEN_CSV[case]
    before = digest(_serving(served))
    (served / "landing" / "customers.csv").write_text(text)

    result = build(run_cli, served)

    assert result.exit_code == 1, result.output
    assert f"landing/customers.csv:{line}: source shop.customers: line {line}" in result.output
    assert what in result.output
    assert "could not run" not in result.output and "expectation" not in result.output
    results = json.loads((served / "target" / "run_results.json").read_text())
    node = next(r for r in results["results"] if r["unique_id"] == "source.shop.customers")
    assert node["status"] == "error"
    assert what in node["message"]
    assert "expectations" not in node or not node["expectations"]
    assert digest(_serving(served)) == before


BROKEN_SEED = {
    # a seed file is read whole when the project is parsed: a NUL byte is refused there
    "a NUL byte": ("code,rate\nNL,0.21\nDE,0.1\0\n", "file contains a NUL byte (line 3", 2),
    "a truncated last line": ('code,rate\nNL,0.21\nDE,"0.1', "unterminated quote", 1),
    "a missing field": ("code,rate\nNL,0.21\nDE\nFR,0.2\n", "no value for column 'rate'", 1),
    "a 10 MB line": (f"code,rate\nNL,0.21\n{LONG},0.2\n", "Maximum line size", 1),
}


@pytest.mark.parametrize("case", list(BROKEN_SEED))
def test_an_unreadable_seed_csv_is_reported_at_its_line(case, served, run_cli):
    text, what, exit_code = BROKEN_SEED[case]
    (served / "seeds" / "vat.csv").write_text(text)

    result = build(run_cli, served)

    assert result.exit_code == exit_code, result.output
    assert "seeds/vat.csv:3: " in result.output, result.output
    assert what in result.output


def _served_rows(root: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(_serving(root)), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        return {
            name: sorted(con.execute(f'select * from marts."{name}"').fetchall(), key=repr)
            for (name,) in tables
        }


def test_a_mart_is_published_only_when_everything_upstream_of_it_passed(make_project, run_cli):
    """The per-mart rule: shop.customers fails (a duplicate key), so the two marts built
    from it keep their served rows, even the view left out of the selection, whose old
    audit passed and which reads the new file live; the mart built only from orders is
    published with the new order."""
    root = make_project(
        {
            **FILES,
            "models/marts/countries.sql": "{{ config(materialized='view') }}\n"
            "select country, count(*) as customers from {{ ref('stg_customers') }} "
            "group by country\n",
            "models/marts/order_totals.sql": "select count(*) as orders, sum(amount) as amount "
            "from {{ ref('stg_orders') }}\n",
        },
        base=False,
    )
    assert build(run_cli, root).exit_code == 0
    before = _served_rows(root)
    assert before["countries"] == [("DE", 1), ("NL", 2)]
    (root / "landing" / "customers.csv").write_text(
        "customer_id,country\n1,NL\n2,DE\n3,NL\n3,FR\n4,FR\n"
    )
    with (root / "landing" / "orders.csv").open("a") as landing:
        landing.write("4,3,100.00\n")

    result = build(run_cli, root, "--exclude", "countries")

    assert result.exit_code == 1, result.output
    after = _served_rows(root)
    assert after["countries"] == before["countries"]
    assert after["customers_by_country"] == before["customers_by_country"]
    assert after["order_totals"] == [(4, pytest.approx(121.75))]
    assert "not published: countries — upstream 'shop.customers' failed in this build" in (
        result.output
    )
    assert "Published 1 of 3 models" in result.output


def test_a_project_error_leaves_the_serving_file_byte_for_byte(served, run_cli):
    before = digest(_serving(served))
    (served / "landing" / "customers.csv").write_text("customer_id\n1\n")
    (served / "landing" / "orders.csv").write_text("order_id,customer_id,amount\n9,9,9.99\n")
    assert build(run_cli, served).exit_code == 2
    assert digest(_serving(served)) == before


def test_a_build_folds_its_write_ahead_log_into_the_database(served):
    """After a full disk is freed, a WAL left beside the database must not refill it:
    the build ends with a checkpoint, even while the connection stays open."""
    from runner.build import BuildOptions, run_build
    from runner.engines.duckdb import DuckDBEngine
    from runner.parser import load_project
    from runner.project import load_settings, load_target

    settings = load_settings(served)
    project = load_project(settings, load_target(settings, None, None), {})
    wal = served / "target" / "work.duckdb.wal"
    with DuckDBEngine(project.target, project.settings.root) as engine:
        summary, _ = run_build(project, BuildOptions(log_format="plain", no_publish=True), engine)
        assert not summary.failed
        assert not wal.exists() or wal.stat().st_size == 0


def test_workers_rolling_back_at_once_never_share_a_cursor(tmp_path):
    """A failed step rolls back and re-reads the catalog; with two workers failing at
    the same moment that read must not run on one shared connection (DuckDB: "connection
    is busy with another call")."""
    import threading

    from runner.engines.duckdb import DuckDBEngine
    from runner.project import Target

    target = Target(name="t", profile="p", path=str(tmp_path / "w.duckdb"), threads=2)
    problems: list[BaseException] = []
    with DuckDBEngine(target, tmp_path) as engine:
        engine.session().execute("create table big as select range as i from range(200000)")

        def fail_repeatedly() -> None:
            session = engine.session()
            for _ in range(40):
                try:
                    with session.transaction():
                        session.execute("select sum(i) from big")
                        raise ValueError("the step failed")
                except ValueError:
                    pass
                except BaseException as exc:  # anything else is the bug
                    problems.append(exc)
                    return

        workers = [threading.Thread(target=fail_repeatedly) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert problems == []


def test_a_check_reading_a_node_outside_the_selection_is_skipped_on_a_fresh_database(
    make_project, run_cli
):
    """`-s +stg_orders` on a fresh database: the relationship from stg_orders to
    stg_customers cannot run (stg_customers is neither selected nor built); it is skipped
    with a line saying so, not failed. Once stg_customers is built, it runs."""
    yml = (
        "models:\n  - name: stg_orders\n    columns:\n      - name: customer_id\n"
        "        expectations:\n          - relationships: {to: stg_customers, field: "
        "customer_id}\n"
    )
    root = make_project({**FILES, "models/_staging.yml": yml}, base=False)

    fresh = build(run_cli, root, "-s", "+stg_orders")

    assert fresh.exit_code == 0, fresh.output
    assert (
        "SKIP stg_orders: relationships(customer_id) — reads 'stg_customers', which this "
        "build does not select and the database does not have" in fresh.output
    )
    assert build(run_cli, root).exit_code == 0
    again = build(run_cli, root, "-s", "+stg_orders")
    assert again.exit_code == 0 and "SKIP" not in again.output
    results = json.loads((root / "target" / "run_results.json").read_text())
    checks = [e["name"] for r in results["results"] for e in r.get("expectations", [])]
    assert "relationships(customer_id)" in checks


def test_a_source_declared_at_a_seed_s_relation_is_refused_when_parsed(make_project, run_cli):
    """dbt's layout: seeds in `raw`, `source('ecom', 'raw_customers')` with `schema: raw`.
    The source's view would replace the seed's table (and, with two threads, fail with
    "connection is busy"): refused before anything runs, naming both."""
    root = make_project(
        {
            "pyproject.toml": '[tool.runner]\nname = "shop"\n\n'
            '[tool.runner.seeds]\nschema = "raw"\n',
            "profiles.yml": "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
            "      path: target/work.duckdb\n      threads: 2\n",
            "models/sources.yml": "sources:\n  - name: ecom\n    schema: raw\n    tables:\n"
            "      - name: raw_customers\n      - name: raw_orders\n",
            "seeds/raw_customers.csv": "id,name\n1,a\n",
            "seeds/raw_orders.csv": "id,customer_id\n1,1\n",
            "models/customers.sql": "select * from {{ source('ecom', 'raw_customers') }}\n",
        },
        base=False,
    )

    result = run_cli("build", "--project-dir", root, "--log-format", "plain")

    assert result.exit_code == 2, result.output
    assert (
        "models/sources.yml:5: source ecom.raw_customers would be the relation "
        '"raw"."raw_customers", where seed \'raw_customers\' (seeds/raw_customers.csv) is '
        "loaded" in result.output
    )
    assert "source ecom.raw_orders would be the relation" in result.output
    assert "hint: read the seed with ref('raw_customers') instead of source()" in result.output
    assert "busy" not in result.output and "Traceback" not in result.output


def test_the_gx_import_is_its_own_line_not_the_first_nodes_time(make_project, monkeypatch, capsys):
    """The first nodes checked wait for Great Expectations' background import; that wait
    is the build's, reported on its own line, not charged to them under "Slowest"."""
    from runner.build import BuildOptions, run_build
    from runner.engines.duckdb import DuckDBEngine
    from runner.parser import load_project
    from runner.project import load_settings, load_target
    from runner.quality import gx_run
    from runner.reporting import _summary_lines

    real = gx_run.gx_module
    calls = []

    def slow_import():  # the first caller waits 4 s, as for a real import
        if not calls:
            calls.append(1)
            time.sleep(4.0)
            gx_run.import_seconds = 4.0  # what the import thread records when done
        return real()

    monkeypatch.setattr(gx_run, "gx_module", slow_import)
    monkeypatch.setattr(gx_run, "import_seconds", None)
    root = make_project(FILES, base=False)
    settings = load_settings(root)
    project = load_project(settings, load_target(settings, None, None), {})
    with DuckDBEngine(project.target, project.settings.root) as engine:
        options = BuildOptions(log_format="plain", validator="gx", no_publish=True)
        summary, _ = run_build(project, options, engine)

    assert not summary.failed
    waited = summary.quality["gx_import_wait_s"]
    assert waited >= 4.0
    # GX's own setup and checks stay in the node's time; the wait does not
    assert max(r.execution_time for r in summary.results.values()) < waited - 2.0
    text = "\n".join(line for line, _ in _summary_lines(summary, dict(project.graph.nodes)))
    assert f"Great Expectations import (the build waited {waited:.2f}s for it)" in text


def test_a_seed_read_only_by_an_expectation_is_still_loaded(make_project, run_cli):
    yml = (
        "models:\n  - name: stg_customers\n    columns:\n      - name: country\n"
        "        expectations:\n          - relationships: {to: countries, field: code}\n"
    )
    root = make_project(
        {**FILES, "models/_staging.yml": yml, "seeds/countries.csv": "code\nNL\nDE\n"},
        base=False,
    )
    result = build(run_cli, root)
    assert result.exit_code == 0, result.output
    assert "SKIP" not in result.output
    results = json.loads((root / "target" / "run_results.json").read_text())
    statuses = {
        e["name"]: e["status"] for r in results["results"] for e in r.get("expectations", [])
    }
    assert statuses["relationships(country)"] == "pass"
