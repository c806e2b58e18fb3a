"""Build the real warehouse (this repository's models and macros) on small hand-made data.

Metric tests describe a few customers and orders as rows, build every model on them
with the runner, and compare the marts with answers worked out by hand.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]

PROFILES = """\
customer_analytics:
  target: test
  outputs:
    test:
      type: duckdb
      path: target/warehouse.duckdb
      threads: 2
      sources:
        default: {from: files, path: data, format: csv}
"""


def source_columns() -> dict[str, list[str]]:
    """Columns of every raw table, in declared order, from models/sources.yml."""
    data = yaml.safe_load((REPO / "models" / "sources.yml").read_text())
    return {
        table["name"]: [c["name"] for c in table["columns"]]
        for source in data["sources"]
        for table in source["tables"]
    }


def write_sources(data_dir: Path, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """One CSV per raw table; tables not given are written with a header only (empty)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for table, columns in source_columns().items():
        rows = tables.get(table, [])
        unknown = {k for row in rows for k in row} - set(columns)
        assert not unknown, f"{table}: unknown columns {unknown}"
        with (data_dir / f"{table}.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])


def make_warehouse(root: Path) -> Path:
    """A copy of the repository's project (settings, models, macros) using data/ files."""
    project = root / "project"
    project.mkdir(parents=True, exist_ok=True)
    # The fixtures hold a handful of customers: too few to identify BG/NBD, whose fit then
    # fails its node by design. The predictive-CLV models have their own tests
    # (test_marts_predictive_clv.py on the demo data, test_btyd.py on CDNOW).
    pyproject = (REPO / "pyproject.toml").read_text() + PREDICTIVE_OFF
    (project / "pyproject.toml").write_text(pyproject)
    for folder in ("models", "macros"):
        if (project / folder).exists():
            shutil.rmtree(project / folder)
        shutil.copytree(REPO / folder, project / folder)
    (project / "profiles.yml").write_text(PROFILES)
    return project


PREDICTIVE_OFF = """
[tool.runner.models.marts.clv.clv_predictive_fit]
enabled = false

[tool.runner.models.marts.clv.clv_predictive]
enabled = false
"""


# Every fixture builds the same models, so the parse cache of the last warehouse built is
# copied into a new one: its entries are keyed by file content, vars, target and versions
# (runner/cache.py), so what a fixture changes is parsed again and the rest is reused.
# About 0.4 s of the 2 s a small build takes.
_last_parse_cache: list[Path] = []


def _share_parse_cache(project_dir: Path) -> None:
    cache = project_dir / "target" / ".cache" / "parse.pickle"
    if _last_parse_cache and _last_parse_cache[0].is_file() and not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_last_parse_cache[0], cache)
    _last_parse_cache[:] = [cache]


def build_warehouse(
    root: Path,
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    vars: Mapping[str, Any] | None = None,
    *,
    full_refresh: bool = False,
    results: dict[str, Any] | None = None,
    validator: str | None = "sql",
    select: tuple[str, ...] = (),
    command: str = "build",
) -> duckdb.DuckDBPyConnection:
    """Write the data, build every model (or ``select``), fail loudly on any error, return
    a read-only connection to the built warehouse (and each node's result in ``results``,
    if given). The expectations run as plain SQL by default (the same checks as GX, seconds
    faster; GX has its own tests); ``validator="gx"`` runs them through GX."""
    from runner.build import BuildOptions, run_build
    from runner.engines import open_engine
    from runner.parser import load_project
    from runner.project import load_settings, load_target

    project_dir = make_warehouse(root)
    write_sources(project_dir / "data", tables)
    _share_parse_cache(project_dir)
    settings = load_settings(project_dir)
    project = load_project(settings, load_target(settings, None, None), dict(vars or {}))
    with open_engine(project.target, project.settings.root) as engine:
        options = BuildOptions(
            command=command,
            log_format="plain",
            full_refresh=full_refresh,
            validator=validator,
            select=select,
        )
        summary, _ = run_build(project, options, engine)
    if results is not None:
        results.update(summary.results)
    failed = {uid: r.message for uid, r in summary.results.items() if not r.ok}
    assert not failed, f"warehouse build failed: {failed}"
    return duckdb.connect(str(project_dir / "target" / "warehouse.duckdb"), read_only=True)


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """Query results as dicts (column name -> value)."""
    result = con.execute(sql)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
