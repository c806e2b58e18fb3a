"""A Spark target over Spark Connect (``remote: sc://host:port``), the way a cluster is
reached: the run's shared Spark session serves Spark Connect on a free local port, and
`runner build` runs in a separate process that is only a Connect client (no JVM of its
own), on a small project whose marts are then exported to a DuckDB serving file."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import subprocess
import sys
import textwrap
from decimal import Decimal

import duckdb
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FILES = {
    "pyproject.toml": """\
        [tool.runner]
        name = "connected"

        [tool.runner.seeds]
        schema = "cx_raw"
        """,
    "seeds/payments.csv": "id,amount,paid_at\n1,10.50,2024-01-01 10:00:00+02:00\n"
    "2,4.25,2024-01-02 00:00:00\n3,0.10,2024-01-02 23:30:00-01:00\n",
    "seeds/_seeds.yml": """\
        seeds:
          - name: payments
            config:
              column_types: {id: integer, amount: 'decimal(18,2)', paid_at: timestamp}
        """,
    "models/daily.sql": """\
        {{ config(materialized='table', schema='cx_marts', publish=true) }}
        select cast(paid_at as date) as day, sum(amount) as amount, count(*) as payments
        from {{ ref('payments') }}
        group by all
        """,
    "models/_models.yml": """\
        models:
          - name: daily
            columns:
              - name: day
                expectations: [not_null, unique]
              - name: amount
                expectations:
                  - between: {min: 0, max: 100}
                  - gx:
                      type: ExpectColumnValuesToBeBetween
                      kwargs: {min_value: 0, max_value: 100}
        """,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def connect_url(spark_demo):
    spark = spark_demo.spark
    port = free_port()
    context = spark._jsc.sc()
    context.conf().set("spark.connect.grpc.binding.address", "127.0.0.1")
    context.conf().set("spark.connect.grpc.binding.port", str(port))
    spark._jvm.org.apache.spark.sql.connect.service.SparkConnectService.start(context)
    yield f"sc://127.0.0.1:{port}"
    with contextlib.suppress(Exception):  # the session stops at the end of the run anyway
        spark._jvm.org.apache.spark.sql.connect.service.SparkConnectService.stop(
            spark._jvm.scala.Option.empty(), spark._jvm.scala.Option.empty()
        )


def test_a_remote_target_builds_tests_and_exports_over_spark_connect(
    connect_url, spark_demo, tmp_path
):
    files = {
        **FILES,
        "profiles.yml": f"""\
            connected:
              target: cluster
              outputs:
                cluster:
                  type: spark
                  remote: {connect_url}
                  threads: 2
                  serve_schema: cx_serving
                  serve_path: target/serving.duckdb
            """,
    }
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    env = {**os.environ, "TZ": "UTC"}
    built = subprocess.run(
        [sys.executable, "-m", "runner.cli", "build"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Finished 2 nodes" in built.stdout
    assert "Exported 1 models" in built.stdout
    # the default validator ran GX's Spark datasource over Connect, gx: entry included
    assert "validator gx does not run" not in built.stdout + built.stderr
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())
    checks = {e["name"]: e["status"] for r in results["results"] for e in r["expectations"]}
    assert checks == {
        "not_null(day)": "pass",
        "unique(day)": "pass",
        "between(amount)": "pass",
        "gx.ExpectColumnValuesToBeBetween(amount)": "pass",
    }
    assert results["expectations"]["gx_import_s"] is not None
    # the client process started no Spark of its own: the tables are in the server's
    # catalog, where the shared session sees them. UTC offsets applied: payment 3 was
    # paid 23:30-01:00, on 2024-01-03 in UTC.
    expected = [
        (datetime.date(2024, 1, 1), Decimal("10.50"), 1),
        (datetime.date(2024, 1, 2), Decimal("4.25"), 1),
        (datetime.date(2024, 1, 3), Decimal("0.10"), 1),
    ]
    served = spark_demo.spark.sql("select * from cx_serving.daily order by day").collect()
    assert [tuple(r) for r in served] == expected
    exported = duckdb.connect(str(tmp_path / "target" / "serving.duckdb"), read_only=True)
    assert exported.execute("select * from cx_marts.daily order by day").fetchall() == expected
