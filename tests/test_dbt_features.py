"""dbt features projects commonly use, each built with the CLI on a small dbt project
written here: package-scoped vars, dispatch from a package searching the root project
first, unit-test overrides, snapshot meta column names / dbt_valid_to_current /
hard_deletes: new_record, the sources: tree, graph, package seeds, enforced contracts,
and the features refused with a located message."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
from click.testing import CliRunner

from runner.cli import cli

PROFILE = "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def project(root: Path, dbt_project: str = "") -> Path:
    write(root / "dbt_project.yml", "name: shop\nprofile: shop\n" + dbt_project)
    write(root / "profiles.yml", PROFILE)
    return root


def build(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["build", "--project-dir", str(root), "--validator", "sql", *args],
        catch_exceptions=False,
    )
    return result.exit_code, result.output


def rows(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "shop.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def package(root: Path, dbt_project: str, files: dict[str, str]) -> None:
    """An installed package, as `dbt deps` leaves it under dbt_packages/."""
    base = root / "dbt_packages" / "pkg"
    write(base / "dbt_project.yml", "name: pkg\n" + dbt_project)
    for name, text in files.items():
        write(base / name, text)


def test_package_scoped_vars_reach_the_packages_own_models(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "vars:\n  shared: root\n  root_only: root\n  pkg:\n    greeting: from the root block\n",
    )
    package(
        root,
        "vars:\n  greeting: package default\n  shared: package\n  kept: package only\n",
        {
            "models/pkg_model.sql": "select '{{ var('greeting') }}' as greeting, "
            "'{{ var('shared') }}' as shared, '{{ var('root_only') }}' as root_only, "
            "'{{ var('kept') }}' as kept",
        },
    )
    write(
        root / "models" / "root_model.sql",
        "select '{{ var('greeting', 'unset') }}' as greeting, '{{ var('shared') }}' as shared",
    )
    code, output = build(root)
    assert code == 0, output
    # dbt's layers for a package's node: its own vars < root globals < root's pkg block
    assert rows(root, "from main.pkg_model") == [
        ("from the root block", "root", "root", "package only")
    ]
    # the root project does not see the package's vars, nor its block as vars
    assert rows(root, "from main.root_model") == [("unset", "root")]


def test_dispatch_from_a_package_looks_in_the_root_project_first(tmp_path: Path) -> None:
    root = project(tmp_path)
    package(
        root,
        "",
        {
            "macros/greet.sql": "{% macro greet() %}"
            "{{ return(adapter.dispatch('greet', 'pkg')()) }}{% endmacro %}\n"
            "{% macro default__greet() %}'package hello'{% endmacro %}\n"
            "{% macro farewell() %}{{ return(adapter.dispatch('farewell', 'pkg')()) }}"
            "{% endmacro %}\n{% macro default__farewell() %}'package bye'{% endmacro %}\n",
        },
    )
    write(root / "macros" / "greet.sql", "{% macro default__greet() %}'root hello'{% endmacro %}")
    write(root / "models" / "words.sql", "select {{ pkg.greet() }} as a, {{ pkg.farewell() }} as b")
    code, output = build(root)
    assert code == 0, output
    assert rows(root, "from main.words") == [("root hello", "package bye")]


def test_unit_test_overrides_replace_vars_env_vars_and_macros(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("REGION", raising=False)
    root = project(tmp_path, "vars:\n  rate: 1\n")
    write(root / "seeds" / "charges.csv", "amount\n2\n5\n")
    write(root / "macros" / "flag.sql", "{% macro billable() %}false{% endmacro %}")
    write(
        root / "models" / "billed.sql",
        "select amount * {{ var('rate') }} as charged, '{{ env_var('REGION', 'eu') }}' as "
        "region, {{ billable() }} as billable from {{ ref('charges') }}",
    )
    # Without the overrides the model gives 2 and 5, 'eu', false: the test would fail.
    write(
        root / "models" / "billed.yml",
        "unit_tests:\n  - name: billed_with_overrides\n    model: billed\n"
        "    overrides:\n      vars: {rate: 3}\n      env_vars: {REGION: us}\n"
        "      macros: {billable: 'true'}\n"
        "    given:\n      - input: ref('charges')\n        rows: [{amount: 2}, {amount: 5}]\n"
        "    expect:\n      rows:\n"
        "        - {charged: 6, region: us, billable: true}\n"
        "        - {charged: 15, region: us, billable: true}\n",
    )
    code, output = build(root)
    assert code == 0, output
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    assert "1 unit tests passed" in next(r for r in results if r["name"] == "billed")["message"]
    # the table itself is built with the project's values
    assert rows(root, "from main.billed order by 1") == [(2, "eu", False), (5, "eu", False)]


SNAPSHOT = """{% snapshot people_history %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated', target_schema='main',
          hard_deletes='new_record',
          snapshot_meta_column_names={'dbt_valid_from': 'start_at', 'dbt_valid_to': 'end_at',
                                      'dbt_is_deleted': 'gone'},
          dbt_valid_to_current="cast('9999-12-31' as timestamp)") }}
select * from {{ ref('people') }}
{% endsnapshot %}
"""


def test_snapshot_meta_names_valid_to_current_and_deletes_as_new_records(tmp_path: Path) -> None:
    root = project(tmp_path)
    write(root / "snapshots" / "people_history.sql", SNAPSHOT)
    seed = root / "seeds" / "people.csv"
    write(seed, "id,name,updated\n1,a,2024-01-01\n2,b,2024-01-01\n")
    code, output = build(root)
    assert code == 0, output
    forever = dt.datetime(9999, 12, 31)
    jan, feb = dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)
    query = "select id, name, start_at, end_at, gone from main.people_history order by all"
    assert rows(root, query) == [(1, "a", jan, forever, "False"), (2, "b", jan, forever, "False")]
    # record 1 changes, record 2 disappears
    write(seed, "id,name,updated\n1,a2,2024-02-01\n")
    code, output = build(root)
    assert code == 0, output
    found = rows(root, query)
    assert found[:2] == [(1, "a", jan, feb, "False"), (1, "a2", feb, forever, "False")]
    (closed, deleted) = found[2:]
    # 2's last version is closed when the run saw it gone, and a deleted version opens then
    assert closed[:3] == (2, "b", jan) and closed[4] == "False"
    assert deleted[:2] == (2, "b") and deleted[3:] == (forever, "True")
    assert closed[3] == deleted[2] and jan < closed[3] < forever
    columns = [
        c
        for (c,) in rows(
            root,
            "select column_name from duckdb_columns() "
            "where table_name = 'people_history' order by column_index",
        )
    ]
    assert columns == [
        "id",
        "name",
        "updated",
        "dbt_scd_id",
        "dbt_updated_at",
        "start_at",
        "end_at",
        "gone",
    ]


def test_dbt_features_the_runner_does_not_build_are_refused_at_their_line(
    tmp_path: Path,
) -> None:
    cases = {
        "models/a.yml": (
            "models:\n  - name: a\n    latest_version: 2\n    versions:\n      - v: 2\n",
            "models/a.yml:3",
            "model versions are not supported",
        ),
        "models/b.sql": (
            "{{ config(materialized='microbatch') }}\nselect 1 as id",
            "models/b.sql:1",
            "the microbatch strategy is not supported",
        ),
        "models/c.sql": (
            "{{ config(materialized='my_mat') }}\nselect 1 as id",
            "models/c.sql:1",
            "custom {% materialization %} blocks are not supported",
        ),
    }
    for number, (name, (text, where, message)) in enumerate(cases.items()):
        root = project(tmp_path / str(number))
        write(root / "models" / "a.sql", "select 1 as id")
        write(root / name, text)
        code, output = build(root)
        assert code == 2, (name, output)
        assert where in output and message in output, output
        assert "Traceback" not in output


def test_an_unused_custom_materialization_is_named_once_and_the_rest_builds(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    write(
        root / "macros" / "mat.sql",
        "{% macro keep() %}1{% endmacro %}\n"
        "{% materialization my_mat, default %}\n{{ return({'relations': []}) }}\n"
        "{% endmaterialization %}\n",
    )
    write(root / "models" / "a.sql", "select {{ keep() }} as id")
    code, output = build(root)
    assert code == 0, output
    assert output.count("custom materializations are not supported") == 1
    assert "'my_mat' (macros/mat.sql:2)" in output
    assert rows(root, "from main.a") == [(1,)]


def test_the_sources_tree_of_dbt_project_yml_tags_and_disables_sources(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "sources:\n  shop:\n    staging:\n      ecom:\n        +tags: [raw]\n"
        "      legacy:\n        +enabled: false\n",
    )
    write(root / "seeds" / "orders.csv", "id\n1\n")
    write(
        root / "models" / "staging" / "sources.yml",
        "sources:\n  - name: ecom\n    schema: main\n    tables:\n      - name: orders\n"
        "  - name: legacy\n    schema: main\n    tables:\n      - name: orders\n",
    )
    write(root / "models" / "staging" / "stg.sql", "select * from {{ source('ecom', 'orders') }}")
    listed = CliRunner().invoke(
        cli, ["ls", "--project-dir", str(root), "--select", "tag:raw"], catch_exceptions=False
    )
    assert listed.exit_code == 0, listed.output
    assert listed.output.split() == ["source:ecom.orders"]
    code, output = build(root)
    assert code == 0, output
    assert "not applied by the runner" not in output
    # a model reading the disabled source is refused, naming it
    write(root / "models" / "old.sql", "select * from {{ source('legacy', 'orders') }}")
    code, output = build(root)
    assert code == 2, output
    assert "models/old.sql:1: model 'old' uses source 'legacy.orders', which is disabled" in output


def test_graph_holds_the_projects_nodes_as_dbt_names_them(tmp_path: Path) -> None:
    root = project(tmp_path)
    write(root / "seeds" / "raw.csv", "id\n1\n")
    write(
        root / "models" / "a.sql",
        "{{ config(materialized='table', tags=['x']) }}\nselect * from {{ ref('raw') }}",
    )
    write(
        root / "models" / "inventory.sql",
        "{% set found = [] %}{% if execute %}"
        "{% for n in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')"
        " | sort(attribute='name') %}"
        '{% do found.append("select \'" ~ n.unique_id ~ "\' as uid, \'" ~ '
        "n.depends_on.nodes | join(',') ~ \"' as deps, '\" ~ n.config.materialized ~ "
        "\"' as mat, '\" ~ n.tags | join(',') ~ \"' as tags\") %}{% endfor %}{% endif %}"
        "{{ found | join(' union all ') if found else \"select 'parse time' as uid\" }}",
    )
    code, output = build(root)
    assert code == 0, output
    assert rows(root, "from main.inventory order by 1") == [
        ("model.shop.a", "seed.shop.raw", "table", "x"),
        ("model.shop.inventory", "", "view", ""),
    ]


def test_a_packages_seeds_are_loaded_with_its_configs(tmp_path: Path) -> None:
    root = project(tmp_path, "seeds:\n  pkg:\n    +schema: lookups\n")
    package(root, "", {"seeds/country_codes.csv": "code,name\nNO,Norway\nSE,Sweden\n"})
    write(root / "models" / "countries.sql", "select * from {{ ref('country_codes') }}")
    code, output = build(root)
    assert code == 0, output
    # dbt's naming: <target schema>_<custom schema>, the root's block for the package
    assert rows(root, "from main_lookups.country_codes order by 1") == [
        ("NO", "Norway"),
        ("SE", "Sweden"),
    ]
    assert rows(root, "from main.countries order by 1") == [("NO", "Norway"), ("SE", "Sweden")]


CONTRACT = (
    "models:\n  - name: people\n    config:\n      contract: {enforced: true}\n"
    "    columns:\n      - name: id\n        data_type: int\n"
    "      - name: name\n        data_type: varchar\n"
)


def test_an_enforced_contract_orders_the_columns_and_fails_on_a_mismatch(tmp_path: Path) -> None:
    root = project(tmp_path)
    write(root / "models" / "people.yml", CONTRACT)
    write(
        root / "models" / "people.sql",
        "{{ config(materialized='table') }}\nselect 'ann' as name, 1 as id",
    )
    code, output = build(root)
    assert code == 0, output
    # built in the contract's column order, with its types (int is INTEGER)
    described = rows(
        root,
        "select column_name, data_type from duckdb_columns() "
        "where table_name = 'people' order by column_index",
    )
    assert described == [("id", "INTEGER"), ("name", "VARCHAR")]
    assert rows(root, "from main.people") == [(1, "ann")]
    # a wrong type and an undeclared column: the model fails (exit 1), every mismatch named,
    # and the table built before stays as it was
    write(
        root / "models" / "people.sql",
        "{{ config(materialized='table') }}\nselect 'bob' as name, 2.5 as id, 7 as extra",
    )
    code, output = build(root)
    assert code == 1, output
    assert "model 'people' breaks its contract" in output
    assert "'id' is DECIMAL(2,1), the contract says INTEGER" in output
    assert "'extra' (INTEGER) is produced but not declared" in output
    assert rows(root, "from main.people") == [(1, "ann")]


def test_a_contract_needs_every_type_and_its_constraints_are_refused(tmp_path: Path) -> None:
    untyped = CONTRACT.replace("        data_type: varchar\n", "")
    constrained = CONTRACT + "        constraints: [{type: not_null}]\n"
    for number, (yaml, message) in enumerate(
        [
            (untyped, "column 'name' needs a data_type"),
            (constrained, "constraints are not applied by the runner"),
        ]
    ):
        root = project(tmp_path / str(number))
        write(root / "models" / "people.yml", yaml)
        write(root / "models" / "people.sql", "select 1 as id, 'ann' as name")
        code, output = build(root)
        assert code == 2, output
        assert "models/people.yml" in output and message in output, output
