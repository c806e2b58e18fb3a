"""``new_source_rows('shop', 'orders')``: an incremental run reads only the landing files its
last successful build did not read (runner/landing.py). A day landing as a new Parquet file is
read alone; nothing new reads nothing; a CSV that grew is read whole; a failed build leaves
the record as it was, so the next one reads those files again; a file that vanished
rebuilds the model whole. Every state is checked against what a full build of the same
files says.

The project counts what each run read: ``reads`` appends one row per build holding the
number of source rows it saw."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from project_text import profiles, pyproject

SOURCES = """\
sources:
  - name: shop
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: integer}
          - {name: amount, data_type: "decimal(10,2)"}
          - {name: updated_at, data_type: timestamp}
"""

ROWS = "new_source_rows('shop', 'orders') if is_incremental() else source('shop', 'orders')"

# how many source rows each build read (one row per build)
READS = f"""\
{{{{ config(materialized='incremental', incremental_strategy='append') }}}}
select count(*) as rows_read, sum(amount) as amount_read from {{{{ {ROWS} }}}}
"""

# each order's latest version: the latest of the stored one and the new ones
LATEST = f"""\
{{{{ config(materialized='incremental', unique_key='order_id') }}}}
with versions as (
    select order_id, amount, updated_at from {{{{ {ROWS} }}}}
)
{{% if is_incremental() %}},
candidates as (
    select * from versions
    union all
    select * from {{{{ this }}}} where order_id in (select order_id from versions)
)
{{% endif %}}
select order_id, amount, updated_at from {{{{ 'candidates' if is_incremental() else 'versions' }}}}
qualify row_number() over (partition by order_id order by updated_at desc, amount) = 1
"""


BASE = ["(1, '10.00', '2024-01-01 10:00')", "(2, '20.00', '2024-01-01 11:00')"]


def _project(make_project, layout: str) -> Path:
    return make_project(
        {
            "pyproject.toml": pyproject(marts=False),
            "profiles.yml": profiles(sources=f"{{from: files, path: landing, format: {layout}}}"),
            "models/sources.yml": SOURCES,
            "models/reads.sql": READS,
            "models/latest.sql": LATEST,
        },
        base=False,
    )


def _land(path: Path, rows: list[str]) -> None:
    """Write ``rows`` ('(1, 10.00, ...)' SQL tuples, amount as text) as Parquet or CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values = ", ".join(rows)
    fmt = "parquet" if path.suffix == ".parquet" else "csv, header true"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from (values {values}) as t(order_id, amount, updated_at)) "
            f"to '{path}' (format {fmt})"
        )


def _build(run_cli, root: Path):
    done = run_cli("run", "--project-dir", root, "--log-format", "plain")
    return done


def _state(root: Path) -> tuple[list[int], list[tuple]]:
    with duckdb.connect(str(root / "target" / "work.duckdb"), read_only=True) as con:
        reads = [n for (n,) in con.execute("select rows_read from main.reads").fetchall()]
        latest = con.execute(
            "select order_id, amount::varchar, updated_at::varchar from main.latest order by 1"
        ).fetchall()
    return reads, latest


def _full(make_project, tmp_path: Path, root: Path, run_cli) -> list[tuple]:
    """What a full build of the same landing files says."""
    import shutil

    full = tmp_path / "full"
    shutil.copytree(root, full, ignore=shutil.ignore_patterns("target"))
    assert _build(run_cli, full).exit_code == 0
    return _state(full)[1]


def test_a_new_parquet_file_is_read_alone_and_a_failed_build_reads_it_again(
    make_project, run_cli, tmp_path
):
    root = _project(make_project, "parquet")
    orders = root / "landing" / "orders"
    _land(orders / "base.parquet", BASE)
    assert _build(run_cli, root).exit_code == 0
    assert _state(root)[0] == [2]

    # a day: a new order and a re-sent version of order 1
    _land(
        orders / "day1.parquet",
        ["(3, '30.00', '2024-01-02 09:00')", "(1, '11.00', '2024-01-02 10:00')"],
    )
    night = _build(run_cli, root)
    assert night.exit_code == 0, night.output
    reads, latest = _state(root)
    assert reads == [2, 2]
    assert latest == [
        (1, "11.00", "2024-01-02 10:00:00"),
        (2, "20.00", "2024-01-01 11:00:00"),
        (3, "30.00", "2024-01-02 09:00:00"),
    ]
    assert latest == _full(make_project, tmp_path / "a", root, run_cli)

    # nothing landed: nothing read, nothing changed
    assert _build(run_cli, root).exit_code == 0
    assert _state(root) == ([2, 2, 0], latest)

    # a file with a value that does not cast: both models fail, neither record moves
    _land(orders / "day2.parquet", ["(2, 'oops', '2024-01-03 09:00')"])
    failed = _build(run_cli, root)
    assert failed.exit_code == 1, failed.output
    assert _state(root) == ([2, 2, 0], latest)
    # delivered again, correctly (same name): read as a file not read yet
    _land(orders / "day2.parquet", ["(2, '21.00', '2024-01-03 09:00')"])
    again = _build(run_cli, root)
    assert again.exit_code == 0, again.output
    reads, latest = _state(root)
    assert reads == [2, 2, 0, 1]
    assert latest[1] == (2, "21.00", "2024-01-03 09:00:00")
    assert latest == _full(make_project, tmp_path / "b", root, run_cli)

    # a file read before is gone: rows the table holds are no longer landed, so rebuilt whole
    (orders / "day1.parquet").unlink()
    gone = _build(run_cli, root)
    assert gone.exit_code == 0, gone.output
    assert "incremental model 'latest' is rebuilt whole" in gone.output
    assert "day1.parquet it read is gone" in gone.output
    assert _state(root)[1] == _full(make_project, tmp_path / "c", root, run_cli)
    assert _state(root)[1] == [
        (1, "10.00", "2024-01-01 10:00:00"),
        (2, "21.00", "2024-01-03 09:00:00"),
    ]


def test_a_csv_that_grew_is_read_whole_and_stays_exact(make_project, run_cli, tmp_path):
    root = _project(make_project, "csv")
    csv = root / "landing" / "orders.csv"
    _land(csv, BASE)
    assert _build(run_cli, root).exit_code == 0
    assert _build(run_cli, root).exit_code == 0  # unchanged: nothing read
    assert _state(root)[0] == [2, 0]

    with csv.open("a") as landing:  # the day appended: a re-sent version and a new order
        landing.write("2,22.00,2024-01-02 10:00:00\n3,30.00,2024-01-02 11:00:00\n")
    grew = _build(run_cli, root)
    assert grew.exit_code == 0, grew.output
    reads, latest = _state(root)
    assert reads == [2, 0, 4]  # the whole file
    assert latest == [
        (1, "10.00", "2024-01-01 10:00:00"),
        (2, "22.00", "2024-01-02 10:00:00"),
        (3, "30.00", "2024-01-02 11:00:00"),
    ]
    assert latest == _full(make_project, tmp_path / "a", root, run_cli)


CHECKED_SOURCES = SOURCES.replace(
    '- {name: amount, data_type: "decimal(10,2)"}',
    '- {name: amount, data_type: "decimal(10,2)", expectations: [{not_null: {severity: warn}}]}',
)


def _source_checks(root: Path) -> tuple[str, dict[str, int]]:
    """The orders source's message and each of its checks' failing rows, last run."""
    import json

    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    (source,) = [r for r in results if r["unique_id"] == "source.shop.orders"]
    return source["message"], {e["name"]: e["failing_count"] for e in source["expectations"]}


@pytest.mark.parametrize(
    "validator",
    ["sql", pytest.param("gx", marks=pytest.mark.slow)],  # GX: a batch of the view
)
def test_a_sources_checks_read_only_the_files_they_have_not_read(make_project, run_cli, validator):
    root = _project(make_project, "parquet")
    (root / "models" / "sources.yml").write_text(CHECKED_SOURCES)
    orders = root / "landing" / "orders"
    build = ("build", "--project-dir", root, "--validator", validator, "--log-format", "plain")
    _land(orders / "base.parquet", [*BASE, "(3, NULL, '2024-01-01 12:00')"])
    assert run_cli(*build).exit_code == 0
    message, failing = _source_checks(root)
    assert "checks read" not in message  # no record yet: every row
    assert failing == {"not_null(amount)": 1}

    # a day lands: only it is checked (the NULL of base.parquet was reported when it landed)
    _land(orders / "day1.parquet", ["(4, '40.00', '2024-01-02 09:00')"])
    assert run_cli(*build).exit_code == 0
    message, failing = _source_checks(root)
    assert "checks read 1 new file" in message
    assert failing == {"not_null(amount)": 0}
    assert run_cli(*build).exit_code == 0
    assert "checks read no new file" in _source_checks(root)[0]

    # `runner test` and --full-refresh read every row
    test = ("test", "--project-dir", root, "--validator", validator, "--log-format", "plain")
    assert run_cli(*test).exit_code == 0
    assert _source_checks(root)[1] == {"not_null(amount)": 1}
    assert run_cli(*build, "--full-refresh").exit_code == 0
    assert _source_checks(root)[1] == {"not_null(amount)": 1}

    # a new check has read nothing yet: every row, once
    (root / "models" / "sources.yml").write_text(
        CHECKED_SOURCES.replace(
            "- {name: order_id, data_type: integer}",
            "- {name: order_id, data_type: integer, expectations: [{between: {min: 2}}]}",
        )
    )
    assert run_cli(*build).exit_code == 1  # order 1 is below the minimum: an error
    message, failing = _source_checks(root)
    assert "checks read" not in message
    assert failing == {"not_null(amount)": 1, "between(order_id)": 1}
    # a failed check records nothing: the next build reads those files again
    assert run_cli(*build).exit_code == 1
    assert _source_checks(root)[1]["between(order_id)"] == 1


@pytest.mark.parametrize(
    "paths",
    [("/data/o'brien/day.parquet",), ("/d/a b.parquet", "C:\\landing\\day2.parquet")],
)
def test_a_cached_source_view_names_each_nights_own_files(paths):
    """The source view's text is cached without its file names (a night's files are new
    each night): naming them again gives exactly the text built for those files."""
    from runner.engines.base import ExternalData
    from runner.engines.duckdb_files import (
        _files_template,
        _source_view_select,
        _with_files,
    )

    data = ExternalData("parquet", path=paths[0], paths=paths if len(paths) > 1 else ())
    columns = {"order_id": "integer", "updated_at": "timestamp", "note": None}
    present = [("order_id", "INTEGER"), ("updated_at", "TIMESTAMP"), ("note", "VARCHAR")]
    template = _source_view_select(_files_template(data), columns, present, None, "duckdb")
    assert paths[0] not in template
    assert _with_files(template, data) == _source_view_select(
        data, columns, present, None, "duckdb"
    )


def test_a_night_reads_its_new_files_without_building_source_statements(
    make_project, run_cli, monkeypatch
):
    """A night's source views come from the statements cached by earlier runs, whatever
    their new files are named: none is built again (building them imports sqlglot, on the
    night's critical path), and the night still reads exactly its own new file."""
    import runner.engines.duckdb_files as files

    root = _project(make_project, "parquet")
    orders = root / "landing" / "orders"
    _land(orders / "base.parquet", BASE)
    assert _build(run_cli, root).exit_code == 0
    _land(orders / "day1.parquet", ["(3, '30.00', '2024-01-02 09:00')"])
    assert _build(run_cli, root).exit_code == 0

    def not_again(*args, **kwargs):
        raise AssertionError("a source statement was built again instead of read from the cache")

    monkeypatch.setattr(files, "_source_view_select", not_again)
    monkeypatch.setattr(files, "_select_all", not_again)
    _land(orders / "day2.parquet", ["(1, '12.00', '2024-01-03 09:00')"])
    night = _build(run_cli, root)
    assert night.exit_code == 0, night.output
    reads, latest = _state(root)
    assert reads == [2, 1, 1]
    assert latest == [
        (1, "12.00", "2024-01-03 09:00:00"),
        (2, "20.00", "2024-01-01 11:00:00"),
        (3, "30.00", "2024-01-02 09:00:00"),
    ]
