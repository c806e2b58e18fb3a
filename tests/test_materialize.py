"""Materializations and builds on a real DuckDB file: view, table, incremental, ephemeral."""

from __future__ import annotations

import duckdb
import pytest

from runner.build import BuildOptions, run_build
from runner.engines.duckdb import DuckDBEngine
from runner.parser import load_project
from runner.project import load_settings, load_target
from runner.results import ERROR, SKIPPED, SUCCESS

PROFILES = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/test.duckdb
      threads: 2
"""

SOURCE = """\
select * from (values
  (1, 'a', 10), (2, 'b', 20), (3, 'c', 30), (4, 'd', 40)
) as t(id, letter, amount)
where id <= {{ var('upto', 2) }}
"""


def project_files(**models: str) -> dict[str, str | None]:
    files: dict[str, str | None] = {"models/sources.yml": None, "profiles.yml": PROFILES}
    files["models/src.sql"] = SOURCE
    for name, sql in models.items():
        files[f"models/{name}.sql"] = sql
    return files


def build(root, cli_vars=None, **options):
    settings = load_settings(root)
    project = load_project(settings, load_target(settings, None, None), cli_vars or {})
    with DuckDBEngine(project.target, project.settings.root) as engine:
        return run_build(project, BuildOptions(log_format="plain", **options), engine)[0]


def rows(root, sql):
    with duckdb.connect(str(root / "target" / "test.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def statuses(summary):
    return {uid.split(".", 1)[1]: r.status for uid, r in summary.results.items()}


def test_view_table_schema_and_alias(make_project):
    root = make_project(
        project_files(
            v="select id, letter from {{ ref('src') }}",
            t="{{ config(materialized='table', schema='marts', alias='t_final') }}"
            "select count(*) as n from {{ ref('v') }}",
        )
    )
    summary = build(root)
    assert statuses(summary) == {"src": SUCCESS, "v": SUCCESS, "t": SUCCESS}
    assert rows(root, 'select n from "marts"."t_final"') == [(2,)]
    kinds = dict(rows(root, "select table_name, table_type from information_schema.tables"))
    assert kinds == {"src": "VIEW", "v": "VIEW", "t_final": "BASE TABLE"}
    assert summary.results["model.t"].rows_affected == 1


def test_switching_view_to_table_and_back(make_project):
    root = make_project(project_files(m="select 1 as x"))
    build(root)
    (root / "models" / "m.sql").write_text("{{ config(materialized='table') }}select 2 as x")
    assert statuses(build(root))["m"] == SUCCESS
    assert rows(root, "select x from m") == [(2,)]
    (root / "models" / "m.sql").write_text("select 3 as x")
    assert statuses(build(root))["m"] == SUCCESS
    assert rows(root, "select table_type from information_schema.tables where table_name='m'") == [
        ("VIEW",)
    ]


def test_failing_table_build_keeps_previous_table(make_project):
    root = make_project(
        project_files(
            t="{{ config(materialized='table') }}select id, amount from {{ ref('src') }}",
            after="select * from {{ ref('t') }}",
        )
    )
    build(root)
    before = rows(root, "select * from t order by id")
    (root / "models" / "t.sql").write_text(
        "{{ config(materialized='table') }}\nselect id, cast(letter as integer) as amount\n"
        "from {{ ref('src') }}"
    )
    summary = build(root, cli_vars={"upto": 4})
    assert statuses(summary) == {"src": SUCCESS, "t": ERROR, "after": SKIPPED}
    error = summary.results["model.t"].error
    assert str(error.path) == "models/t.sql"
    assert "Could not convert string 'a' to INT32" in error.message or "convert" in error.message
    assert rows(root, "select * from t order by id") == before


def test_ephemeral_is_inlined(make_project):
    root = make_project(
        project_files(
            eph="{{ config(materialized='ephemeral') }}"
            "select id, amount * 2 as doubled from {{ ref('src') }}",
            final="{{ config(materialized='table') }}"
            "select sum(doubled) as total from {{ ref('eph') }}",
        )
    )
    summary = build(root)
    assert statuses(summary)["final"] == SUCCESS
    assert rows(root, "select total from final") == [(60,)]
    names = {r[0] for r in rows(root, "select table_name from information_schema.tables")}
    assert "eph" not in names


INCREMENTAL = """\
{{{{ config(materialized='incremental', unique_key={key}, incremental_strategy='{strategy}') }}}}
select id, letter, amount {extra} from {{{{ ref('src') }}}}
{{% if is_incremental() %}}
where id >= (select max(id) from {{{{ this }}}})
{{% endif %}}
"""


@pytest.mark.parametrize(
    ("strategy", "key", "expected"),
    [
        # append: the row with the max id is appended again (>=): a duplicate, as asked
        ("append", "none", [(1, "a"), (2, "b"), (2, "b"), (3, "c"), (4, "d")]),
        ("delete+insert", "'id'", [(1, "a"), (2, "b"), (3, "c"), (4, "d")]),
        ("merge", "'id'", [(1, "a"), (2, "b"), (3, "c"), (4, "d")]),
        ("merge", "['id', 'letter']", [(1, "a"), (2, "b"), (3, "c"), (4, "d")]),
        ("delete+insert", "['id', 'letter']", [(1, "a"), (2, "b"), (3, "c"), (4, "d")]),
    ],
)
def test_incremental_strategies(make_project, strategy, key, expected):
    model = INCREMENTAL.format(strategy=strategy, key=key, extra="")
    root = make_project(project_files(inc=model))
    first = build(root)
    assert first.results["model.inc"].message.startswith("incremental first build")
    assert rows(root, "select id, letter from inc order by all") == [(1, "a"), (2, "b")]
    second = build(root, cli_vars={"upto": 4})
    assert statuses(second)["inc"] == SUCCESS
    assert f"incremental {strategy}" in second.results["model.inc"].message
    assert rows(root, "select id, letter from inc order by all") == expected
    refreshed = build(root, cli_vars={"upto": 3}, full_refresh=True)
    assert "full refresh" in refreshed.results["model.inc"].message
    assert rows(root, "select id from inc order by id") == [(1,), (2,), (3,)]


@pytest.mark.parametrize("one_statement", [True, False])
@pytest.mark.parametrize(
    ("strategy", "key", "replaced"),
    [
        ("append", "none", []),
        ("delete+insert", "'id'", [(2, "b", 20)]),
        ("merge", "'id'", [(2, "b", 20)]),  # every column written: run as delete+insert
        ("delete+insert", "['id', 'letter']", [(2, "b", 20)]),
    ],
)
def test_written_and_replaced_rows_are_kept(
    make_project, monkeypatch, one_statement, strategy, key, replaced
):
    # What changed_rows / replaced_rows read downstream: the rows the run wrote, and the
    # stored rows they replaced, whether DuckDB moves them in one statement (DELETE ...
    # RETURNING inside a WITH) or in a copy and a delete.
    import runner.engines.duckdb as engine_module

    if not one_statement:
        monkeypatch.setattr(engine_module, "_writable_ctes", lambda: False)
    model = INCREMENTAL.format(strategy=strategy, key=key, extra="")
    root = make_project(project_files(inc=model))
    build(root)
    build(root, cli_vars={"upto": 4})
    kept = 'select * from "_runner"."{}__main__inc" order by all'
    assert rows(root, kept.format("changed")) == [(2, "b", 20), (3, "c", 30), (4, "d", 40)]
    assert rows(root, kept.format("replaced")) == replaced
    stored = rows(root, "select id from inc order by all")
    assert stored == (
        [(1,), (2,), (2,), (3,), (4,)] if strategy == "append" else [(1,), (2,), (3,), (4,)]
    )


def test_merge_updates_changed_rows(make_project):
    src = "select * from (values (1, {{ var('v', 10) }}), (2, 20)) t(id, amount)"
    model = (
        "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}"
        "select * from {{ ref('src') }}"
    )
    root = make_project({**project_files(inc=model), "models/src.sql": src})
    build(root)
    build(root, cli_vars={"v": 99})
    assert rows(root, "select id, amount from inc order by id") == [(1, 99), (2, 20)]


MERGE_SOME = (
    "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge', "
    "CHOICE) }}select id, letter, amount from {{ ref('changes') }}"
)
# night 0: (1, 'a0', 10), (2, 'b0', 20); night 5: the same ids changed, and a new id 3
CHANGES = (
    "select * from (values (1, 'a{{ var('v', 0) }}', 10 + {{ var('v', 0) }}), "
    "(2, 'b{{ var('v', 0) }}', 20 + {{ var('v', 0) }}), (3, 'c{{ var('v', 0) }}', "
    "30 + {{ var('v', 0) }})) as t(id, letter, amount) where id < 3 or {{ var('v', 0) }} > 0"
)


def merge_some_files(choice: str) -> dict[str, str | None]:
    return {
        **project_files(inc=MERGE_SOME.replace("CHOICE", choice)),
        "models/changes.sql": CHANGES,
    }


@pytest.mark.parametrize(
    "choice", ["merge_update_columns=['amount']", "merge_exclude_columns=['letter']"]
)
def test_merge_updates_only_the_chosen_columns(make_project, choice):
    # dbt's merge_update_columns / merge_exclude_columns: a matched row gets the chosen
    # columns only; a new row is inserted whole
    root = make_project(merge_some_files(choice))
    build(root)
    summary = build(root, cli_vars={"v": 5})
    assert statuses(summary)["inc"] == SUCCESS
    # matched 1 and 2: amount updated, letter kept; 3 is new: inserted whole
    assert rows(root, "select id, letter, amount from inc order by id") == [
        (1, "a0", 15),
        (2, "b0", 25),
        (3, "c5", 35),
    ]


def test_upsert_without_merge_updates_only_the_chosen_columns():
    # an engine without MERGE (Spark) writes the table's new rows as one query: the same
    # rows as the merge above, a NULL key matched as MERGE's IS NOT DISTINCT FROM does
    from runner.nodes import Relation
    from runner.sql import upsert_select_sql

    con = duckdb.connect()
    con.execute("create schema m")
    con.execute(
        "create table m.t as select * from (values (1, 'a0', 10, 'x'), (null, 'n0', 0, 'y'))"
        " as v(id, letter, amount, note)"
    )
    con.execute(
        "create table m.s as select * from (values (1, 'a5', 15), (null, 'n5', 5), (3, 'c5', 35))"
        " as v(id, letter, amount)"
    )
    query = upsert_select_sql(
        Relation(schema="m", identifier="t"),
        Relation(schema="m", identifier="s"),
        ["id"],
        ["id", "letter", "amount"],
        ["id", "letter", "amount", "note"],
        keep_target_values=True,
        dialect="duckdb",
        updated=["amount"],
    )
    assert sorted(con.execute(query).fetchall(), key=str) == sorted(
        [(1, "a0", 15, "x"), (None, "n0", 5, "y"), (3, "c5", 35, None)], key=str
    )


@pytest.mark.parametrize(
    ("choice", "said"),
    [
        ("merge_update_columns=['colour']", "merge_update_columns names colour, not among"),
        (
            "merge_update_columns=['amount'], merge_exclude_columns=['letter']",
            "merge_update_columns and merge_exclude_columns are both set",
        ),
        (
            "merge_update_columns=['amount'], incremental_strategy='append'",
            "applies to incremental_strategy 'merge', not 'append'",
        ),
    ],
)
def test_merge_column_choice_errors(make_project, choice, said):
    files = merge_some_files(choice)
    if "'append'" in choice:
        files["models/inc.sql"] = files["models/inc.sql"].replace(
            "incremental_strategy='merge', ", ""
        )
    root = make_project(files)
    build(root)
    summary = build(root, cli_vars={"v": 5})
    assert statuses(summary)["inc"] == ERROR
    assert said in summary.results["model.inc"].message
    assert rows(root, "select id, letter, amount from inc order by id") == [
        (1, "a0", 10),
        (2, "b0", 20),
    ]


@pytest.mark.parametrize(
    ("policy", "status", "columns"),
    [
        ("ignore", SUCCESS, ["id", "letter", "amount"]),
        ("fail", ERROR, ["id", "letter", "amount"]),
        ("append_new_columns", SUCCESS, ["id", "letter", "amount", "bonus"]),
        ("sync_all_columns", SUCCESS, ["id", "amount", "bonus"]),
    ],
)
def test_on_schema_change(make_project, capsys, policy, status, columns):
    first = (
        "{{ config(materialized='incremental', unique_key='id', on_schema_change='"
        + policy
        + "') }}select id, letter, amount from {{ ref('src') }}"
    )
    root = make_project(project_files(inc=first))
    build(root)
    (root / "models" / "inc.sql").write_text(
        first.replace("select id, letter, amount", "select id, amount, amount * 2 as bonus")
    )
    capsys.readouterr()
    summary = build(root, cli_vars={"upto": 3})
    assert statuses(summary)["inc"] == status
    warned = capsys.readouterr().err
    # 'ignore' keeps the old columns, as dbt does, but says so (dbt says nothing)
    said = "its columns changed (added bonus; removed letter) and on_schema_change is 'ignore'"
    assert (said in warned) == (policy == "ignore"), warned
    described = [r[0] for r in rows(root, "describe inc")]
    assert described == columns
    if policy == "fail":
        assert "on_schema_change is 'fail'" in summary.results["model.inc"].message
        assert rows(root, "select count(*) from inc") == [(2,)]
    else:
        assert rows(root, "select count(*) from inc") == [(3,)]
    if policy == "append_new_columns":
        # merged on id: old rows get the new column's value, keep the dropped one's
        assert rows(root, "select id, letter, bonus from inc order by id") == [
            (1, "a", 20),
            (2, "b", 40),
            (3, None, 60),
        ]


def test_failure_skips_exactly_descendants(make_project):
    root = make_project(
        project_files(
            bad="select no_such_column from {{ ref('src') }}",
            child="select * from {{ ref('bad') }}",
            grandchild="select * from {{ ref('child') }}",
            sibling="select * from {{ ref('src') }}",
            joined="select * from {{ ref('sibling') }}, {{ ref('child') }}",
        )
    )
    summary = build(root)
    assert statuses(summary) == {
        "src": SUCCESS,
        "bad": ERROR,
        "child": SKIPPED,
        "grandchild": SKIPPED,
        "sibling": SUCCESS,
        "joined": SKIPPED,
    }


def _dag_files(count: int) -> dict[str, str | None]:
    import random

    rng = random.Random(7)
    models = {"m00": "select 1 as v"}
    for i in range(1, count):
        parents = rng.sample(range(i), k=min(i, rng.randint(1, 3)))
        parts = " + ".join(f"(select sum(v) from {{{{ ref('m{p:02d}') }}}})" for p in parents)
        kind = "table" if i % 3 else "view"
        models[f"m{i:02d}"] = f"{{{{ config(materialized='{kind}') }}}}select {parts} + {i} as v"
    return project_files(**models)


def test_fifty_model_dag_same_with_1_and_4_threads(make_project, tmp_path):
    root = make_project(_dag_files(50))
    one = build(root, threads=1)
    values_one = {f"m{i:02d}": rows(root, f"select v from m{i:02d}")[0][0] for i in range(50)}
    (root / "target" / "test.duckdb").unlink()
    four = build(root, threads=4)
    values_four = {f"m{i:02d}": rows(root, f"select v from m{i:02d}")[0][0] for i in range(50)}
    assert statuses(one) == statuses(four)
    assert set(statuses(one).values()) == {SUCCESS}
    assert values_one == values_four


def test_many_threads_create_the_same_new_schemas(make_project):
    # Models in new schemas, all ready at once: two cursors creating one schema together
    # must not conflict (DuckDB reports a catalog write-write conflict).
    models = {f"m{i}": f"{{{{ config(schema='s{i % 3}') }}}}select {i} as v" for i in range(24)}
    root = make_project(project_files(**models))
    for _ in range(3):
        (root / "target").mkdir(exist_ok=True)
        db = root / "target" / "test.duckdb"
        db.unlink(missing_ok=True)
        summary = build(root, threads=4)
        assert set(statuses(summary).values()) == {SUCCESS}
