"""`runner build`, `run`, `seed` and `show` through a real subprocess: output and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROFILES = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/dev.duckdb
      threads: 2
"""

SOURCES = """\
sources:
  - name: shop
    schema: raw
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: varchar}
          - {name: amount, data_type: "decimal(18,4)"}
          - {name: ordered_at, data_type: timestamp}
"""

FILES = {
    "profiles.yml": PROFILES,
    "models/sources.yml": SOURCES,
    "seeds/orders.csv": (
        "order_id,amount,ordered_at,ignored\n"
        "o1,10.10,2024-01-01 10:00:00,x\n"
        "o2,0.20,2024-01-01 23:30:00-02:00,y\n"
        "o3,5.00,2024-01-03 08:00:00,z\n"
    ),
    "models/staging/stg_orders.sql": (
        "select order_id, amount, ordered_at::date as order_date\n"
        "from {{ source('shop', 'orders') }}\n"
    ),
    "models/marts/revenue.sql": (
        "select order_date, sum(amount) as revenue\nfrom {{ ref('stg_orders') }}\ngroup by all\n"
    ),
}


def runner(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(make_project):
    return make_project(FILES)


def test_build_prints_a_line_per_node_and_exits_0(project):
    done = runner(project, "build")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if "/4 " in line]
    assert len(lines) == 4
    assert "OK       orders" in lines[0] and "seed  [3 rows" in lines[0]
    assert "shop.orders" in lines[1] and "source" in lines[1]
    assert "Finished 4 nodes" in done.stdout and "4 success" in done.stdout
    assert "\x1b[" not in done.stdout  # no colour codes when not a terminal
    show = runner(project, "show", "revenue", "--limit", "5")
    assert show.returncode == 0, show.stderr
    # o2 is 2024-01-02 01:30 UTC: timestamps with an offset land on the right day
    assert "2024-01-01" in show.stdout and "10.1000" in show.stdout
    assert "2024-01-02" in show.stdout and "0.2000" in show.stdout
    results = json.loads((project / "target" / "run_results.json").read_text())
    assert results["metadata"]["schema_version"] == "runner.run_results.v1"
    revenue = next(r for r in results["results"] if r["unique_id"] == "model.revenue")
    assert revenue["status"] == "success"
    assert revenue["sql"][0].startswith('CREATE OR REPLACE TABLE "main"."revenue" AS')


def test_failure_exit_1_names_file_and_line_and_rerun_of_failures(project, tmp_path):
    (project / "models" / "marts" / "broken.sql").write_text(
        "select\n  order_date,\n  no_such_col\nfrom {{ ref('stg_orders') }}\n"
    )
    (project / "models" / "marts" / "after_broken.sql").write_text(
        "select * from {{ ref('broken') }}\n"
    )
    done = runner(project, "build")
    assert done.returncode == 1
    assert "ERROR    broken" in done.stdout
    assert "SKIP     after_broken" in done.stdout
    assert "models/marts/broken.sql:3:" in done.stdout
    assert "no_such_col" in done.stdout
    state = tmp_path / "state"
    shutil.copytree(project / "target", state)
    (project / "models" / "marts" / "broken.sql").write_text("select 1 as fixed\n")
    rerun = runner(project, "build", "--select", "result:error+", "--state", str(state))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Running 2 nodes" in rerun.stdout
    assert "broken" in rerun.stdout and "after_broken" in rerun.stdout
    assert "revenue" not in rerun.stdout


def test_seed_and_run_commands_split_the_work(project):
    seeded = runner(project, "seed")
    assert seeded.returncode == 0
    assert "Running 1 node" in seeded.stdout
    ran = runner(project, "run", "--log-format", "json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    events = [json.loads(line) for line in ran.stdout.splitlines()]
    finished = {e["unique_id"] for e in events if e["event"] == "node_finished"}
    assert finished == {"source.shop.orders", "model.stg_orders", "model.revenue"}


def test_missing_source_column_stops_before_models_exit_2(project):
    (project / "seeds" / "orders.csv").write_text("order_id,ordered_at\no1,2024-01-01\n")
    done = runner(project, "build")
    assert done.returncode == 2
    assert "error: models/sources.yml" in done.stderr
    assert "column 'amount'" in done.stderr
    # checked before anything runs, the seeds included: no node ran or was skipped
    assert "OK" not in done.stdout and "SKIP" not in done.stdout


def test_bad_seed_value_names_file_row_and_column(project):
    seeds = project / "seeds"
    (seeds / "_seeds.yml").write_text(
        "seeds:\n  - name: rates\n    config: {column_types: {rate: 'decimal(18,4)'}}\n"
    )
    (seeds / "rates.csv").write_text("code,rate\na,1.5\nb,lots\n")
    done = runner(project, "seed")
    assert done.returncode == 1
    assert "seeds/rates.csv:3" in done.stdout
    assert "rate" in done.stdout


def test_show_unknown_model_and_usage(project):
    done = runner(project, "show", "revenu")
    assert done.returncode == 2
    assert "did you mean 'revenue'" in done.stderr
    assert runner(project, "show").returncode == 2


def test_project_error_exits_2_without_traceback(project):
    (project / "models" / "marts" / "bad.sql").write_text("select * from {{ ref('nope') }}\n")
    done = runner(project, "build")
    assert done.returncode == 2
    assert "models/marts/bad.sql:1: model 'bad' refers to unknown node 'nope'" in done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_interrupts_the_query_and_keeps_the_old_table(project):
    import signal
    import time

    slow = project / "models" / "marts" / "slow.sql"
    slow.write_text(
        "{{ config(materialized='table') }}\n"
        "select {{ var('v', 1) }} as v, (select sum(hash(range)) from range({{ var('n', 10) }}))"
        " as n\n"
    )
    assert runner(project, "build", "-s", "slow").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "build",
            "-s",
            "slow",
            "--vars",
            "{v: 2, n: 1000000000000}",
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "Running 1 node" in proc.stdout.readline()
        time.sleep(1.0)  # the query is running now
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # a failed assertion must not leave a query of 1e12 rows running
    assert proc.returncode == 130, out + err
    assert "interrupted" in out.lower()
    show = runner(project, "show", "slow")
    assert show.returncode == 0
    *_, row, order = show.stdout.splitlines()  # the one row, then the line naming its order
    assert " 1 " in row and order.startswith("ordered by")  # the old table, v = 1
