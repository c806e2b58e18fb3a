"""``new_source_rows`` on Spark, in the run's shared Spark session: the landing files a
model's last build did not read are read alone (two new files of a folder as one glob),
nothing new reads nothing, and the result equals what the models say on DuckDB (the same
project as tests/test_landing_files.py, in a schema of its own)."""

from __future__ import annotations

import datetime
import textwrap
from decimal import Decimal

import pytest
from click.testing import CliRunner
from test_landing_files import BASE, LATEST, READS, SOURCES, _land

from runner.cli import cli

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _in_schema(sql: str) -> str:
    return sql.replace("config(", "config(schema='lf', ", 1)


@pytest.fixture(scope="module")
def project(spark_demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("landing_spark")
    warehouse = spark_demo.root / "target" / "spark"
    files = {
        "pyproject.toml": '[tool.runner]\nname = "lf"\nvalidator = "sql"\n',
        "models/sources.yml": SOURCES,
        "models/reads.sql": _in_schema(READS),
        "models/latest.sql": _in_schema(LATEST),
        "profiles.yml": f"""\
            lf:
              target: spark
              outputs:
                spark:
                  type: spark
                  master: local[2]
                  path: {warehouse}
                  threads: 1
                  sources:
                    shop: {{from: files, path: landing, format: parquet}}
            """,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run(root):
    return CliRunner().invoke(cli, ["run", "--project-dir", str(root)], catch_exceptions=False)


def test_new_landing_files_only_on_spark(spark_demo, project):
    spark = spark_demo.spark
    orders = project / "landing" / "orders"
    _land(orders / "base.parquet", BASE)
    first = run(project)
    assert first.exit_code == 0, first.output

    # two files landed since: a new order, a re-sent version of order 1
    _land(orders / "day1.parquet", ["(3, '30.00', '2024-01-02 09:00')"])
    _land(orders / "day2.parquet", ["(1, '11.00', '2024-01-02 10:00')"])
    night = run(project)
    assert night.exit_code == 0, night.output
    quiet = run(project)  # nothing new
    assert quiet.exit_code == 0, quiet.output

    def rows(sql):
        return [tuple(r) for r in spark.sql(sql).collect()]

    # one row per build (Spark keeps no order): 2 at first, then the 2 new rows, then none
    assert sorted(n for (n,) in rows("select rows_read from lf.reads")) == [0, 2, 2]
    assert rows("select order_id, amount, updated_at from lf.latest order by order_id") == [
        (1, Decimal("11.00"), datetime.datetime(2024, 1, 2, 10, 0)),
        (2, Decimal("20.00"), datetime.datetime(2024, 1, 1, 11, 0)),
        (3, Decimal("30.00"), datetime.datetime(2024, 1, 2, 9, 0)),
    ]
    recorded = rows(
        "select unique_id, files from _runner.landing_files "
        "where unique_id in ('model.latest', 'model.reads') order by 1"
    )
    assert [uid for uid, _ in recorded] == ["model.latest", "model.reads"]
    assert all("day2.parquet" in files for _, files in recorded)
