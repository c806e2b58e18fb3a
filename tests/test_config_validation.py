"""Configuration is validated wherever it is written (issue 11, "Accepted when it should
be refused"): a wrong type or value is an error naming what is allowed and file:line
(exit 2, nothing built); an unknown key is a warning with a did-you-mean, and
--warn-error turns warnings into a failure (exit 2).

Each case changes one thing in the bad-input catalogue's small project.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_bad_input import FILES, MARTS_YML, PROFILES, PYPROJECT

from runner.config_schema import MODEL_CONFIG, YAML_KEYS, check_config

STG_ORDERS = "select * from {{ source('shop', 'orders') }}\n"


@pytest.fixture
def project(make_project) -> Path:
    return make_project(FILES, base=False)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def build(run_cli, root: Path, *args: str):
    return run_cli("build", "--project-dir", root, "--log-format", "plain", "--no-publish", *args)


def refused(result, where: str, message: str, hint: str = "") -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"{where}: {message}" in result.output, result.output
    assert hint in result.output, result.output
    assert "Running" not in result.output, "a refused config must not build"


def warned(result, where: str, message: str, hint: str = "") -> None:
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and f"{where}: {message}" in result.output, result.output
    assert hint in result.output, result.output


def with_config(sql_config: str) -> str:
    return "{{ config(" + sql_config + ") }}\n" + STG_ORDERS


# ------------------------------------------------------------------ {{ config(...) }}


@pytest.mark.parametrize(
    "config,message,hint",
    [
        ("materialized='tabel'", "'materialized'", "did you mean 'table'?"),
        ("materialized=1", "'materialized'", "one of: ephemeral, incremental, table, view"),
        ("materialized='seed'", "'materialized'", "one of: ephemeral, incremental, table, view"),
        (
            "materialized='incremental', incremental_strategy='nope'",
            "'incremental_strategy'",
            "append, delete+insert, merge",
        ),
        (
            "materialized='incremental', on_schema_change='explode'",
            "'on_schema_change'",
            "ignore, fail, append_new_columns, sync_all_columns",
        ),
        ("publish='maybe'", "'publish' in the config() of model 'stg_orders' must be", "true"),
        ("enabled='no'", "'enabled'", "without quotes"),
        ("schema=3", "'schema'", "a non-empty name"),
        ("schema=''", "'schema'", "a non-empty name"),
        ("tags=3", "'tags'", "a string or a list of strings"),
    ],
)
def test_a_wrong_config_value_in_the_sql_is_an_error(project, run_cli, config, message, hint):
    write(project, "models/stg_orders.sql", with_config(config))
    result = build(run_cli, project)
    refused(result, "models/stg_orders.sql:1", f"model config {message}", hint)


def test_an_unknown_config_key_in_the_sql_warns_with_did_you_mean(project, run_cli):
    write(project, "models/stg_orders.sql", with_config("nope='bar', materialised='view'"))
    result = build(run_cli, project)
    warned(result, "models/stg_orders.sql:1", "unknown model config 'nope'")
    warned(result, "models/stg_orders.sql:1", "unknown model config 'materialised'")
    assert "did you mean 'materialized'?" in result.output


def test_warn_error_makes_a_warning_fail_before_anything_runs(project, run_cli):
    write(project, "models/stg_orders.sql", with_config("nope='bar'"))
    result = build(run_cli, project, "--warn-error")
    assert result.exit_code == 2, result.output
    assert "unknown model config 'nope'" in result.output
    assert "1 warning above, and --warn-error makes warnings errors" in result.output
    assert "Running" not in result.output
    compiled = run_cli("compile", "--project-dir", project, "--warn-error")
    assert compiled.exit_code == 2 and "--warn-error" in compiled.output


# ------------------------------------------------------------------ YAML


@pytest.mark.parametrize(
    "config,line,message,hint",
    [
        ("config: 3", 3, "config must be a mapping", "e.g. config:"),
        ("config: [1]", 3, "config must be a mapping", "e.g. config:"),
        ("config: {materialized: tabel}", 3, "model config 'materialized'", "'table'"),
        ("config:\n      tags: 3", 4, "model config 'tags'", "list of strings"),
        ("config:\n      enabled: 'no'", 4, "model config 'enabled'", "true or false"),
    ],
)
def test_a_wrong_yaml_config_is_an_error(project, run_cli, config, line, message, hint):
    yml = MARTS_YML.replace("    columns:", f"    {config}\n    columns:")
    write(project, "models/marts/_marts.yml", yml)
    refused(build(run_cli, project), f"models/marts/_marts.yml:{line}", message, hint)


def test_a_misspelt_expectations_key_on_a_column_warns(project, run_cli):
    yml = MARTS_YML.replace("expectations: [not_null]", "expectatons: [not_null]")
    write(project, "models/marts/_marts.yml", yml)
    result = build(run_cli, project)
    warned(
        result,
        "models/marts/_marts.yml:5",
        "unknown key 'expectatons' in a column 'country' (ignored)",
        "did you mean 'expectations'?",
    )
    assert build(run_cli, project, "--warn-error").exit_code == 2


def test_a_misspelt_key_on_a_node_and_a_source_warns(project, run_cli):
    yml = MARTS_YML.replace("    columns:", "    expectatons: [not_null]\n    columns:")
    write(project, "models/marts/_marts.yml", yml)
    sources = FILES["models/sources.yml"].replace(
        "      - name: orders", "      - name: orders\n        descripton: x"
    )
    write(project, "models/sources.yml", sources)
    result = build(run_cli, project)
    warned(
        result,
        "models/marts/_marts.yml:3",
        "unknown key 'expectatons' in a model 'customers_by_country'",
        "did you mean 'expectations'?",
    )
    warned(result, "models/sources.yml:11", "unknown key 'descripton' in a source table 'orders'")
    assert "did you mean 'description'?" in result.output


def test_dbt_property_keys_do_not_warn(project, run_cli):
    yml = MARTS_YML.replace(
        "    columns:",
        "    meta: {owner: data}\n    docs: {show: true}\n    data_tests: []\n    columns:",
    ).replace("expectations: [not_null]", "expectations: [not_null]\n        meta: {pii: false}")
    write(project, "models/marts/_marts.yml", yml)
    result = build(run_cli, project)
    assert result.exit_code == 0 and "warning:" not in result.output, result.output


# ------------------------------------------------------------------ pyproject.toml


def _pyproject(extra: str) -> str:
    return PYPROJECT.replace('schema = "marts"\n', 'schema = "marts"\n' + extra)


@pytest.mark.parametrize(
    "extra,message,hint",
    [
        ('materialized = "tabel"', "'materialized' in [tool.runner.models.marts]", "'table'"),
        ("tags = [[1]]", "'tags' in [tool.runner.models.marts] must be", "list of strings"),
        ('enabled = "no"', "'enabled'", "true or false"),
    ],
)
def test_a_wrong_folder_config_is_an_error(project, run_cli, extra, message, hint):
    key = extra.split(" ")[0]
    if key == "materialized":
        text = PYPROJECT.replace('materialized = "table"', extra)
    else:
        text = _pyproject(extra)
    write(project, "pyproject.toml", text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith(key))
    refused(build(run_cli, project), f"pyproject.toml:{line}", f"model config {message}", hint)


def test_an_unknown_folder_config_warns(project, run_cli):
    write(project, "pyproject.toml", _pyproject('materialised = "table"'))
    warned(
        build(run_cli, project),
        "pyproject.toml:8",
        "unknown model config 'materialised' in [tool.runner.models.marts]",
        "did you mean 'materialized'?",
    )


def test_an_unknown_setting_warns_with_did_you_mean(project, run_cli):
    write(
        project,
        "pyproject.toml",
        PYPROJECT.replace('validator = "sql"', 'validator = "sql"\ntarget-pth = "x"'),
    )
    warned(
        build(run_cli, project),
        "pyproject.toml:4",
        "unknown setting 'target-pth' in [tool.runner]",
        "did you mean 'target-path'?",
    )


@pytest.mark.parametrize(
    "setting,message",
    [
        ("target-path = 3", "target-path must be a folder name, got 3"),
        ('target-path = ""', "target-path must be a folder name, got ''"),
        ('target-path = ["a"]', "target-path must be a folder name, got ['a']"),
        ('target-path = "tar\\u0000get"', "target-path must be a folder name"),
        ('model-paths = ["nope"]', "model-paths: 'nope' does not exist"),
        (
            'model-paths = ["models/stg_orders.sql"]',
            "model-paths: 'models/stg_orders.sql' is a file, not a folder",
        ),
        ("model-paths = [3]", "model-paths must be a list of folder names"),
    ],
)
def test_a_wrong_setting_is_an_error(project, run_cli, setting, message):
    write(
        project,
        "pyproject.toml",
        PYPROJECT.replace('validator = "sql"', f'validator = "sql"\n{setting}'),
    )
    refused(build(run_cli, project), "pyproject.toml:4", message)


# ------------------------------------------------------------------ the table itself


def test_the_table_knows_dbts_documented_keys():
    for key in ("unique_key", "meta", "docs", "contract", "grants", "pre-hook", "access"):
        assert key in MODEL_CONFIG
    for key in ("data_tests", "tests", "meta", "constraints", "quote"):
        assert key in YAML_KEYS["column"]
    assert (
        check_config({"+materialized": "table"}, "model", path=None, line_of=lambda k: 1, where="x")
        == []
    )


# ------------------------------------------------------------------ profiles.yml


def _profiles(old: str, new: str) -> str:
    return PROFILES.replace(old, new)


def test_threads_past_the_cap_are_lowered_with_a_warning(project, run_cli):
    write(project, "profiles.yml", _profiles("threads: 1", "threads: 100000"))
    result = build(run_cli, project)
    warned(
        result, "profiles.yml:8", "threads: 100000 is more than the runner uses; building with 64"
    )
    assert "Running 6 nodes with 64 threads" in result.output


@pytest.mark.parametrize(
    "old,new,where,message,hint",
    [
        ("threads: 1", "memory_limit: -1", "profiles.yml:8", "memory_limit must be a size", "4GB"),
        ("threads: 1", "memory_limit: 4", "profiles.yml:8", "memory_limit must be a size", "4GB"),
        (
            "type: duckdb",
            "type: postgres",
            "profiles.yml:5",
            "target 'dev' has unknown type 'postgres'",
            "use one of: duckdb, spark",
        ),
        (
            "path: landing}",
            "path: no/such/dir}",
            "profiles.yml:10",
            "sources entry 'shop': the folder no/such/dir does not exist",
            "fix the path",
        ),
        (
            "path: landing}",
            "path: landing}\n        other: {from: database, path: no.duckdb}",
            "profiles.yml:11",
            "sources entry 'other': the database file no.duckdb does not exist",
            "fix the path",
        ),
    ],
)
def test_a_wrong_profile_is_an_error(project, run_cli, old, new, where, message, hint):
    write(project, "profiles.yml", _profiles(old, new))
    refused(build(run_cli, project), where, message, hint)


def test_memory_limit_forms_duckdb_takes_are_accepted(project, run_cli):
    for value in ("4GB", "512MiB", "80%", "1.5 gb"):
        write(project, "profiles.yml", _profiles("threads: 1", f"memory_limit: {value}"))
        result = run_cli("ls", "--project-dir", project)
        assert result.exit_code == 0, (value, result.output)


def test_a_data_type_that_is_not_a_type_name(project, run_cli):
    """Found by the mutation run: `data_type: {{ 1/0 }}` is a YAML mapping with a mapping
    as its key (a TypeError); `data_type: [integer]` is no type name either."""
    sources = FILES["models/sources.yml"].replace(
        "            data_type: integer\n            expectations",
        "            data_type: {{ 1/0 }}\n            expectations",
    )
    write(project, "models/sources.yml", sources)
    refused(
        build(run_cli, project),
        "models/sources.yml:7",
        "a mapping or list used as a key (e.g. an unquoted '{{ ... }}')",
        "quote the value",
    )
    write(project, "models/sources.yml", sources.replace("{{ 1/0 }}", "[integer]"))
    refused(
        build(run_cli, project),
        "models/sources.yml:7",
        "column 'customer_id': data_type must be a type name",
        "e.g. data_type: integer",
    )


# Found by the mutation run: each of these built as if the key were not there, falling back
# to a default (threads 1, type duckdb, target dev) or losing the entry's settings.
@pytest.mark.parametrize(
    "old,new,where,message,hint",
    [
        (
            "threads: 1",
            "treads: 2",
            "profiles.yml:8",
            "target 'dev': unknown key 'treads'",
            "'threads'",
        ),
        (
            "type: duckdb",
            "ype: duckdb",
            "profiles.yml:5",
            "target 'dev': unknown key 'ype'",
            "'type'",
        ),
        (
            "threads: 1",
            "threads: 1\n      memory_liit: 1GB",
            "profiles.yml:9",
            "target 'dev': unknown key 'memory_liit'",
            "'memory_limit'",
        ),
        (
            "threads: 1",
            "threads: 1\n      attach: []",
            "profiles.yml:9",
            "target 'dev': 'attach' (a dbt adapter setting) is not used by the runner",
            "the runner ignores it",
        ),
        (
            "  target: dev",
            "  targt: dev",
            "profiles.yml:2",
            "profile 'shop': unknown key 'targt'",
            "'target'",
        ),
    ],
)
def test_an_unknown_profile_key_warns_with_did_you_mean(
    project, run_cli, old, new, where, message, hint
):
    write(project, "profiles.yml", _profiles(old, new))
    warned(build(run_cli, project), where, message, hint)


def test_every_key_the_runner_reads_from_a_target_is_known(project, run_cli):
    extra = (
        "threads: 1\n      serve_schema: main\n"
        "      serve_storage_version: v1.4.0\n      extensions: []\n      settings: {}"
    )
    write(project, "profiles.yml", _profiles("threads: 1", extra))
    result = build(run_cli, project)
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output, result.output


def test_yaml_for_a_seed_without_a_csv_warns(project, run_cli):
    seeds = FILES["seeds/_seeds.yml"].replace("- name: vat", "- name: vatt")
    write(project, "seeds/_seeds.yml", seeds)
    warned(
        build(run_cli, project),
        "seeds/_seeds.yml:2",
        "YAML documents a seed 'vatt' that has no CSV file",
        "did you mean 'vat'?",
    )


@pytest.mark.parametrize("value", ["view", "not_null", "{not_null: true}"])
def test_expectations_that_are_not_a_list_are_an_error(project, run_cli, value):
    """`expectations: not_null` (a string) used to run no check at all."""
    sources = FILES["models/sources.yml"].replace(
        "expectations: [not_null, unique]", f"expectations: {value}"
    )
    write(project, "models/sources.yml", sources)
    refused(
        build(run_cli, project),
        "models/sources.yml:8",
        "'expectations' must be a list of expectations",
        "e.g. expectations: [not_null, unique]",
    )


def test_a_folder_config_for_no_folder_warns(project, run_cli):
    """Found by the mutation run: [tool.runner.models.stagig] quietly configured nothing,
    so the staging models lost their materialization and schema."""
    write(project, "pyproject.toml", PYPROJECT.replace("models.marts]", "models.mart]"))
    result = build(run_cli, project)
    warned(
        result,
        "pyproject.toml:5",
        "[tool.runner.models.mart] applies to no model: no folder or model named 'mart' there",
        "did you mean 'marts'?",
    )
    write(project, "pyproject.toml", PYPROJECT + "\n[tool.runner.seeds.vatt]\nenabled = true\n")
    warned(
        build(run_cli, project), "pyproject.toml:9", "[tool.runner.seeds.vatt] applies to no seed"
    )


def test_a_folder_config_naming_a_folder_or_a_model_does_not_warn(project, run_cli):
    extra = (
        '\n[tool.runner.models.marts.customers_by_country]\ntags = ["bi"]\n'
        "\n[tool.runner.seeds.vat]\nenabled = true\n"
    )
    write(project, "pyproject.toml", PYPROJECT + extra)
    result = build(run_cli, project)
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output, result.output


def test_a_spark_target_without_pyspark_says_how_to_install_it(make_project, run_cli, monkeypatch):
    import sys

    # None in sys.modules is how Python spells "not installed" to find_spec and import
    monkeypatch.setitem(sys.modules, "pyspark", None)
    root = make_project(
        {
            "profiles.yml": """\
            shop:
              target: dev
              outputs:
                dev:
                  type: spark
                  master: local[2]
            """,
            "models/marts/m.sql": "select 1 as x",
        }
    )
    result = run_cli("build", "--project-dir", root)
    assert result.exit_code == 2, result.output
    assert "target 'dev' is type spark, but pyspark is not installed" in result.output
    assert 'pip install -e ".[spark]"' in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "lines,where,message,hint",
    [
        (
            "master: local[2]\n      remote: sc://h:15002",
            "profiles.yml:7",
            "a Spark target has master (Spark in this process) or remote",
            "remote: sc://host:15002",
        ),
        (
            "remote: http://spark:15002",
            "profiles.yml:6",
            "remote must be a Spark Connect URL sc://host[:port], got 'http://spark:15002'",
            "15002 is Spark Connect's port",
        ),
        (
            "master: local[two]",
            "profiles.yml:6",
            "master must be a Spark master URL, got 'local[two]'",
            "local[2]",
        ),
        (
            "shuffle_partitions: 0",
            "profiles.yml:6",
            "shuffle_partitions must be a positive integer",
            "Spark's 200 is for clusters",
        ),
    ],
)
def test_a_spark_target_is_validated(make_project, run_cli, lines, where, message, hint):
    root = make_project(
        {
            "profiles.yml": "shop:\n  target: dev\n  outputs:\n    dev:\n      type: spark\n"
            f"      {lines}\n",
            "models/marts/m.sql": "select 1 as x",
        }
    )
    result = run_cli("ls", "--project-dir", root)
    assert result.exit_code == 2, result.output
    assert f"{where}: {message}" in result.output
    assert hint in result.output


@pytest.mark.parametrize(
    ("setting", "what"),
    [
        ("incremental_predicates=['o.order_date > 0']", "matches keys over the whole table"),
        ("sql_header='set threads = 1'", "the model's SQL runs without it"),
        ("grants={'select': ['bi']}", "no GRANT statements are run"),
    ],
)
def test_a_dbt_config_the_runner_does_not_apply_warns(project, run_cli, setting, what):
    write(project, "models/stg_orders.sql", with_config(setting))
    result = build(run_cli, project)
    key = setting.split("=")[0]
    warned(result, "models/stg_orders.sql:1", f"model config '{key}'")
    assert what in result.output
