"""The runner's own state on Spark, in the run's shared Spark session: run history in
``_runner.runs``/``run_nodes``, ``runner retry``, incremental merge and delete+insert with
their input fingerprints, and snapshots (no UPDATE on Spark's catalog). A small project
whose Spark target shares the demo copy's warehouse (one warehouse per Spark session), in
schemas of its own."""

from __future__ import annotations

import datetime
import textwrap

import pytest
from click.testing import CliRunner

from runner.cli import cli

pytestmark = [pytest.mark.spark, pytest.mark.slow]

EVENTS = "id,amount,ts\n1,10,2024-01-01 10:00:00+02:00\n2,20,2024-01-02 00:00:00\n"
CHANGED = "id,amount,ts\n2,25,2024-01-02 00:00:00\n3,30,2024-01-03 00:00:00\n"

INCREMENTAL = """\
{{{{ config(materialized='incremental', unique_key='id', incremental_strategy='{strategy}',
            schema='st') }}}}
select id, amount, ts from {{{{ ref('up') }}}}
{{% if is_incremental() %}}where id >= (select max(id) from {{{{ this }}}}){{% endif %}}
"""

FILES = {
    "pyproject.toml": """\
        [tool.runner]
        name = "state"

        [tool.runner.seeds]
        schema = "st_raw"
        """,
    "seeds/events.csv": EVENTS,
    "models/_models.yml": """\
        models:
          - name: up
            columns:
              - name: id
                expectations: [not_null, unique]
        """,
    # Spark reads undeclared seed columns as text: the types are declared
    "seeds/_seeds.yml": """\
        seeds:
          - name: events
            config:
              column_types: {id: integer, amount: integer, ts: timestamp}
        """,
    "models/up.sql": "{{ config(materialized='table', schema=var('up_schema', 'st')) }}\n"
    "select * from {{ ref('events') }}\n",
    "models/inc_merge.sql": INCREMENTAL.format(strategy="merge"),
    "models/inc_di.sql": INCREMENTAL.format(strategy="delete+insert"),
    "models/fragile.sql": "{{ config(materialized='table', schema='st') }}\n"
    "select {% if var('break', false) %}cast('x' as int){% else %}1{% endif %} as v\n",
    "models/after_fragile.sql": "{{ config(materialized='table', schema='st') }}\n"
    "select v + 1 as w from {{ ref('fragile') }}\n",
    "snapshots/snap.sql": """\
        {% snapshot events_history %}
        {{ config(schema='st_snap', unique_key='id', strategy='check', check_cols=['amount'],
                  invalidate_hard_deletes=true) }}
        select id, amount from {{ ref('events') }}
        {% endsnapshot %}
        """,
}


@pytest.fixture(scope="module")
def project(spark_demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("state")
    warehouse = spark_demo.root / "target" / "spark"
    files = {
        **FILES,
        "profiles.yml": f"""\
            state:
              target: spark
              outputs:
                spark:
                  type: spark
                  master: local[2]
                  path: {warehouse}
                  threads: 2
            """,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run(root, *args):
    return CliRunner().invoke(cli, [*args, "--project-dir", str(root)], catch_exceptions=False)


def rows(spark, sql):
    return [tuple(r) for r in spark.sql(sql).collect()]


def last_run(spark):
    (run_id, command, status, exit_code), *_ = rows(
        spark,
        "select run_id, command, status, exit_code from _runner.runs "
        "order by finished_at desc limit 1",
    )
    nodes = dict(
        rows(spark, f"select unique_id, status from _runner.run_nodes where run_id = '{run_id}'")
    )
    return (command, status, exit_code), nodes


def test_history_retry_incremental_inputs_and_snapshots_on_spark(spark_demo, project):
    spark = spark_demo.spark
    # 1. a failing model: the run and its nodes are recorded in _runner on Spark
    first = run(project, "build", "--validator", "sql", "--vars", "{break: true}")
    assert first.exit_code == 1, first.output
    assert "could not record this run" not in first.output
    (command, status, code), nodes = last_run(spark)
    assert (command, status, code) == ("build", "error", 1)
    assert nodes["model.fragile"] == "error"
    assert nodes["model.after_fragile"] == "skipped"
    assert nodes["model.inc_merge"] == nodes["snapshot.events_history"] == "success"
    recorded = dict(rows(spark, "select unique_id, inputs from _runner.fingerprints"))
    assert {"model.inc_merge", "model.inc_di"} <= set(recorded)
    assert '"model up": "\\"st\\".\\"up\\""' in recorded["model.inc_merge"]
    # an offset in the seed is applied: 10:00+02:00 is 08:00 UTC
    assert rows(spark, "select id, amount, ts from st.inc_merge order by id") == [
        (1, 10, datetime.datetime(2024, 1, 1, 8, 0)),
        (2, 20, datetime.datetime(2024, 1, 2, 0, 0)),
    ]

    # 2. runner retry reruns what failed or was skipped, nothing else
    retried = run(project, "retry", "--vars", "{break: false}")
    assert retried.exit_code == 0, retried.output
    assert "Retrying 2 node(s)" in retried.output
    (command, status, code), nodes = last_run(spark)
    assert (status, code) == ("success", 0)
    assert nodes == {"model.fragile": "success", "model.after_fragile": "success"}
    assert rows(spark, "select w from st.after_fragile") == [(2,)]

    # 3. new data: merge and delete+insert through staging + INSERT OVERWRITE; the
    # snapshot closes a changed and a deleted record; the gx validator runs GX on Spark
    (project / "seeds" / "events.csv").write_text(CHANGED, encoding="utf-8")
    third = run(project, "build", "--validator", "gx")
    assert third.exit_code == 0, third.output
    assert "validator gx does not run" not in third.output
    assert "rebuilt whole" not in third.output
    for table in ("inc_merge", "inc_di"):
        assert rows(spark, f"select id, amount from st.{table} order by id") == [
            (1, 10),
            (2, 25),
            (3, 30),
        ], table
    history = rows(
        spark,
        "select id, amount, dbt_valid_to is null from st_snap.events_history "
        "order by id, dbt_valid_from",
    )
    assert history == [(1, 10, False), (2, 20, False), (2, 25, True), (3, 30, True)]
    (ended, started), *_ = rows(
        spark,
        "select o.dbt_valid_to, n.dbt_valid_from from st_snap.events_history o "
        "join st_snap.events_history n on o.id = n.id and o.amount = 20 and n.amount = 25",
    )
    assert ended == started
    assert rows(spark, "select count(distinct dbt_scd_id) from st_snap.events_history") == [(4,)]

    # 4. an upstream model moved to another relation: the incremental tables are rebuilt
    # whole (the fingerprint on Spark says why), the snapshot sees nothing new
    moved = run(project, "build", "--validator", "sql", "--vars", "{up_schema: st_moved}")
    assert moved.exit_code == 0, moved.output
    assert "incremental model 'inc_merge' is rebuilt whole, because model up is now" in (
        moved.output
    )
    assert rows(spark, "select id, amount from st.inc_merge order by id") == [(2, 25), (3, 30)]
    assert rows(spark, "select count(*) from st_snap.events_history") == [(4,)]
    assert len(rows(spark, "select * from _runner.runs")) >= 4
