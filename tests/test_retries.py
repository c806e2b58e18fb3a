"""--retries: a node is run again only after an error the engine calls transient.

The transient error is a real one: the source lives in another DuckDB file, which a loader
process (a subprocess here) still holds open for writing, so attaching it fails with
"Could not set lock on file" until the loader lets go.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from project_text import profiles

from runner.engines.duckdb import transient_reason

PROFILES = profiles(sources="{from: database, path: landing.duckdb, schema: main}")

FILES = {
    "pyproject.toml": '[tool.runner]\nname = "shop"\n',
    "profiles.yml": PROFILES,
    "models/sources.yml": """\
        sources:
          - name: shop
            schema: raw
            tables:
              - name: orders
                columns:
                  - {name: order_id, data_type: varchar}
                  - {name: amount, data_type: integer}
        """,
    "models/revenue.sql": (
        "{{ config(materialized='table') }} "
        "select sum(amount) as revenue from {{ source('shop', 'orders') }}"
    ),
    "models/broken.sql": "select no_such_column from {{ ref('revenue') }}",
}

LOADER = """\
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])  # a write connection: holds the file's lock
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def landing(root: Path) -> Path:
    path = root / "landing.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table orders as "
            "select * from (values ('o1', 10), ('o2', 32)) t(order_id, amount)"
        )
    return path


def hold(path: Path, seconds: float) -> subprocess.Popen:
    loader = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert loader.stdout is not None and loader.stdout.readline().strip() == "holding"
    return loader


def node_results(root: Path) -> dict[str, dict]:
    data = json.loads((root / "target" / "run_results.json").read_text())
    return {r["name"]: r for r in data["results"]}


def test_a_locked_source_file_is_retried_until_it_is_free(make_project, run_cli):
    root = make_project({k: textwrap.dedent(v) for k, v in FILES.items()}, base=False)
    loader = hold(landing(root), 2.0)
    try:
        # attempts at about 0, 0.25, 0.75, 1.75 and 3.75 s: the loader lets go after 2 s
        result = run_cli(
            "run",
            "--project-dir",
            root,
            "--exclude",
            "broken",
            "--retries",
            "5",
            "--retry-delay",
            "0.25",
            "--log-format",
            "plain",
        )
    finally:
        loader.wait(timeout=30)
    assert result.exit_code == 0, result.output
    # the landing check before the build meets the lock first, and says it waits
    assert "Could not set lock on file" in result.output
    assert "trying again in 0.25 s (retry 1)" in result.output
    assert node_results(root)["orders"]["status"] == "success"
    with duckdb.connect(str(root / "target" / "work.duckdb"), read_only=True) as con:
        assert con.execute("select revenue from main.revenue").fetchall() == [(42,)]


def test_retries_run_out_and_the_node_fails(make_project, run_cli):
    root = make_project({k: textwrap.dedent(v) for k, v in FILES.items()}, base=False)
    loader = hold(landing(root), 20.0)
    try:
        result = run_cli(
            "run",
            "--project-dir",
            root,
            "--exclude",
            "broken",
            "--retries",
            "1",
            "--retry-delay",
            "0.1",
            "--log-format",
            "plain",
        )
    finally:
        loader.kill()
        loader.wait(timeout=30)
    # one retry, then the landing check gives up: a project error, nothing built
    assert result.exit_code == 2, result.output
    assert "trying again in 0.1 s (retry 1)" in result.output
    assert "retry 2" not in result.output
    assert "Could not set lock on file" in result.output.split("retry 1")[-1]


def test_an_error_in_the_sql_is_never_retried(make_project, run_cli):
    root = make_project({k: textwrap.dedent(v) for k, v in FILES.items()}, base=False)
    landing(root)
    result = run_cli(
        "run",
        "--project-dir",
        root,
        "--retries",
        "3",
        "--retry-delay",
        "5",
        "--log-format",
        "plain",
    )
    assert result.exit_code == 1, result.output
    broken = node_results(root)["broken"]
    assert broken["status"] == "error" and broken["retries"] == []
    assert broken["execution_time"] < 5  # no wait for a retry


def test_the_duckdb_classification(tmp_path):
    path = tmp_path / "held.duckdb"
    duckdb.connect(str(path)).close()
    loader = hold(path, 20.0)
    try:
        with pytest.raises(duckdb.IOException) as locked:
            duckdb.connect().execute(f"attach '{path}' as held (read_only)")
    finally:
        loader.kill()
        loader.wait(timeout=30)
    assert transient_reason(locked.value) is not None
    with pytest.raises(duckdb.Error) as wrong:
        duckdb.connect().execute("select no_such_column")
    assert transient_reason(wrong.value) is None
    with pytest.raises(duckdb.Error) as cast:
        duckdb.connect().execute("select cast('x' as integer)")
    assert transient_reason(cast.value) is None


def test_a_node_is_retried_while_the_error_is_transient(tmp_path):
    # the node-level loop (build.retry_transient), fed real DuckDB errors: the lock twice,
    # then the file is free; a wrong statement is raised at once
    from runner.build import retry_transient

    path = tmp_path / "held.duckdb"
    duckdb.connect(str(path)).close()
    loader = hold(path, 20.0)
    attempts: list[int] = []

    def attach() -> str:
        attempts.append(1)
        if len(attempts) == 3:
            loader.kill()
            loader.wait(timeout=30)
        duckdb.connect().execute(f"attach '{path}' as held (read_only)")
        return "attached"

    log: list[dict] = []
    try:
        assert retry_transient(attach, 5, 0.01, transient_reason, log.append) == "attached"
    finally:
        loader.kill()
        loader.wait(timeout=30)
    assert len(attempts) == 3 and [r["attempt"] for r in log] == [1, 2]
    assert [r["wait_s"] for r in log] == [0.01, 0.02]

    def wrong() -> None:
        attempts.append(1)
        duckdb.connect().execute("select no_such_column")

    attempts.clear()
    with pytest.raises(duckdb.Error):
        retry_transient(wrong, 5, 0.01, transient_reason, log.append)
    assert len(attempts) == 1
