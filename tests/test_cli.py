"""End to end through the real click commands: ls, compile, debug, clean, errors, state."""

from __future__ import annotations

import json
import shutil

import pytest

PROJECT_FILES = {
    "macros/money.sql": """\
        {% macro cents(col) %}round({{ col }} / 100.0, 2){% endmacro %}
        """,
    "models/staging/stg_orders.sql": """\
        select order_id, customer_id, {{ cents('amount') }} as amount
        from {{ source('shop', 'orders') }}
        where amount > {{ var('min_amount') }}
        """,
    "models/staging/stg_customers.sql": """\
        select * from {{ source('shop', 'customers') }}
        """,
    "models/marts/revenue.sql": """\
        {{ config(tags=['finance']) }}
        with orders as (
            select * from {{ ref('stg_orders') }}
        )
        select customer_id, sum(amount) as revenue
        from orders
        group by customer_id
        """,
    "models/marts/_marts.yml": """\
        models:
          - name: revenue
            description: Net revenue per customer.
            columns:
              - name: customer_id
                description: The customer.
              - name: revenue
                description: Sum of amounts.
        """,
    "seeds/regions.csv": "region_id,name\n1,north\n",
}


@pytest.fixture
def project(make_project):
    return make_project(PROJECT_FILES)


def test_ls_names_in_build_order(project, run_cli):
    result = run_cli("ls", "--project-dir", project)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert set(lines) == {
        "regions",
        "source:shop.orders",
        "source:shop.customers",
        "stg_orders",
        "stg_customers",
        "revenue",
    }
    assert lines.index("source:shop.orders") < lines.index("stg_orders") < lines.index("revenue")


def test_ls_select_exclude_output_and_resource_type(project, run_cli):
    result = run_cli(
        "ls",
        "--project-dir",
        project,
        "-s",
        "+revenue",
        "--exclude",
        "resource_type:source",
        "-o",
        "path",
    )
    assert result.stdout.splitlines() == [
        "models/staging/stg_orders.sql",
        "models/marts/revenue.sql",
    ]
    result = run_cli("ls", "--project-dir", project, "--resource-type", "seed")
    assert result.stdout.splitlines() == ["regions"]
    result = run_cli("ls", "--project-dir", project, "-s", "tag:finance", "-o", "json")
    row = json.loads(result.stdout)
    assert row["unique_id"] == "model.revenue"
    assert row["relation"] == '"main"."revenue"'
    assert row["depends_on"] == ["model.stg_orders"]
    assert row["tags"] == ["finance"]


def test_options_from_environment(project, run_cli):
    result = run_cli("ls", "-s", "stg_*", env={"RUNNER_PROJECT_DIR": str(project)})
    assert result.stdout.splitlines() == ["stg_customers", "stg_orders"]
    result = run_cli(
        "ls",
        "-s",
        "revenue",
        "-o",
        "json",
        env={"RUNNER_PROJECT_DIR": str(project), "RUNNER_TARGET": "nope"},
    )
    assert result.exit_code == 2
    assert "target 'nope' is not defined" in result.output


def test_compile_counts_in_the_singular_for_one_model(project, run_cli):
    result = run_cli("compile", "--project-dir", project, "-s", "stg_orders")
    assert result.exit_code == 0, result.output
    assert "Compiled 1 model into " in result.stdout


def test_compile_writes_expected_sql_and_manifest(project, run_cli):
    result = run_cli("compile", "--project-dir", project, "--vars", "{min_amount: 5}")
    assert result.exit_code == 0, result.output
    assert "Compiled 3 models" in result.stdout
    compiled = project / "target" / "compiled" / "shop"
    assert (compiled / "staging" / "stg_orders.sql").read_text() == (
        "select order_id, customer_id, round(amount / 100.0, 2) as amount\n"
        'from "raw"."orders"\n'
        "where amount > 5\n"
    )
    assert (compiled / "marts" / "revenue.sql").read_text() == (
        "\n"
        "with orders as (\n"
        '    select * from "staging"."stg_orders"\n'
        ")\n"
        "select customer_id, sum(amount) as revenue\n"
        "from orders\n"
        "group by customer_id\n"
    )
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["schema_version"] == "runner.manifest.v1"
    assert manifest["metadata"]["vars"] == {"min_amount": 5}
    revenue = manifest["nodes"]["model.revenue"]
    assert revenue["resource_type"] == "model"
    assert revenue["path"] == "models/marts/revenue.sql"
    assert revenue["config"] == {"materialized": "table", "tags": ["finance"]}
    assert revenue["depends_on"] == {"nodes": ["model.stg_orders"], "macros": []}
    assert revenue["output_columns"] == ["customer_id", "revenue"]
    assert revenue["columns"]["revenue"]["description"] == "Sum of amounts."
    assert revenue["compiled_path"] == "target/compiled/shop/marts/revenue.sql"
    assert len(revenue["checksum"]) == 64
    stg = manifest["nodes"]["model.stg_orders"]
    assert stg["depends_on"] == {"nodes": ["source.shop.orders"], "macros": ["cents"]}
    assert stg["output_columns"] == ["order_id", "customer_id", "amount"]
    assert manifest["nodes"]["source.shop.orders"]["relation"]["rendered"] == '"raw"."orders"'
    assert manifest["parent_map"]["model.revenue"] == ["model.stg_orders"]
    assert manifest["child_map"]["model.stg_orders"] == ["model.revenue"]
    assert manifest["macros"]["cents"]["path"] == "macros/money.sql"


def test_compile_warm_run_gives_identical_output(project, run_cli):
    assert run_cli("compile", "--project-dir", project).exit_code == 0
    first = (project / "target" / "manifest.json").read_text()
    assert run_cli("compile", "--project-dir", project).exit_code == 0
    second = (project / "target" / "manifest.json").read_text()
    strip = lambda text: {k: v for k, v in json.loads(text).items() if k != "metadata"}  # noqa: E731
    assert strip(first) == strip(second)


def test_compile_select_only_writes_selected(project, run_cli):
    result = run_cli("compile", "--project-dir", project, "-s", "revenue")
    assert result.exit_code == 0, result.output
    compiled = project / "target" / "compiled" / "shop"
    assert (compiled / "marts" / "revenue.sql").exists()
    assert not (compiled / "staging" / "stg_orders.sql").exists()


def test_compile_inline(project, run_cli):
    result = run_cli(
        "compile",
        "--project-dir",
        project,
        "--inline",
        "select count(*) from {{ ref('revenue') }} where x > {{ var('min_amount') }}",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == 'select count(*) from "main"."revenue" where x > 10'
    result = run_cli(
        "compile", "--project-dir", project, "--inline", "select * from {{ ref('revenu') }}"
    )
    assert result.exit_code == 2
    assert "did you mean 'revenue'" in result.output


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"models/marts/bad.sql": "select 1\nfrom {{ ref('nothing') }}"},
            "models/marts/bad.sql:2: model 'bad' refers to unknown node 'nothing'",
        ),
        (
            {"models/marts/bad.sql": "select a,\n  b\nfrom x wher y = 1 )"},
            "models/marts/bad.sql:3: SQL syntax error",
        ),
        (
            {"models/marts/bad.sql": "select {{ var('undefined_var') }}"},
            "models/marts/bad.sql:1: var 'undefined_var' is not defined",
        ),
        (
            {"models/marts/_bad.yml": "models:\n - name: x\n   bad"},
            "models/marts/_bad.yml:3: invalid YAML",
        ),
        (
            {"profiles.yml": "shop:\n  outputs:\n    dev:\n      threads: -1\n"},
            "profiles.yml:4: threads must be a positive integer",
        ),
    ],
)
def test_project_errors_exit_2_with_file_and_line(make_project, run_cli, files, expected):
    root = make_project({**PROJECT_FILES, **files})
    result = run_cli("compile", "--project-dir", root)
    assert result.exit_code == 2
    assert expected in result.output
    assert "hint:" in result.output
    assert "Traceback" not in result.output


def test_unknown_selector_exits_2(project, run_cli):
    result = run_cli("ls", "--project-dir", project, "-s", "colour:red")
    assert result.exit_code == 2
    assert "colour" in result.output
    result = run_cli("ls", "--project-dir", project, "-s", "stg_nothing")
    assert result.exit_code == 2


def test_debug_flag_shows_traceback(project, run_cli):
    from runner.errors import ProjectError

    (project / "models" / "marts" / "bad.sql").write_text("select {{ ref('nope') }}")
    with pytest.raises(ProjectError):
        run_cli("--debug", "ls", "--project-dir", project)


def test_undeclared_table_warns_or_errors(make_project, run_cli):
    files = {**PROJECT_FILES, "models/marts/sneaky.sql": "select *\nfrom raw.payments"}
    root = make_project(files)
    result = run_cli("compile", "--project-dir", root)
    assert result.exit_code == 0
    assert "warning: models/marts/sneaky.sql:2: model 'sneaky' reads raw.payments" in result.output
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert manifest["nodes"]["model.sneaky"]["undeclared_tables"] == ["raw.payments"]
    assert manifest["nodes"]["model.sneaky"]["output_columns"] is None
    pyproject = (
        (root / "pyproject.toml")
        .read_text()
        .replace('name = "shop"', 'name = "shop"\nundeclared-tables = "error"')
    )
    (root / "pyproject.toml").write_text(pyproject)
    result = run_cli("compile", "--project-dir", root)
    assert result.exit_code == 2
    assert "error: models/marts/sneaky.sql:2: model 'sneaky' reads raw.payments" in result.output


def test_state_modified_against_previous_manifest(project, run_cli, tmp_path):
    assert run_cli("compile", "--project-dir", project).exit_code == 0
    state = tmp_path / "state"
    shutil.copytree(project / "target", state)
    (project / "models" / "staging" / "stg_customers.sql").write_text(
        "select customer_id from {{ source('shop', 'customers') }}\n"
    )
    (project / "models" / "marts" / "new_mart.sql").write_text("select 1 as x\n")
    result = run_cli("ls", "--project-dir", project, "-s", "state:modified", "--state", state)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["new_mart", "stg_customers"]
    (project / "macros" / "money.sql").write_text(
        "{% macro cents(col) %}round({{ col }} / 100.0, 4){% endmacro %}\n"
    )
    result = run_cli("ls", "--project-dir", project, "-s", "state:modified+", "--state", state)
    assert sorted(result.stdout.splitlines()) == [
        "new_mart",
        "revenue",
        "stg_customers",
        "stg_orders",
    ]
    result = run_cli("ls", "--project-dir", project, "-s", "state:modified")
    assert result.exit_code == 2
    assert "--state" in result.output


def test_debug_reports_everything(project, run_cli):
    result = run_cli("debug", "--project-dir", project, "--target", "ci")
    assert result.exit_code == 0, result.output
    for expected in (
        "name           shop",
        "sqlglot",
        "target         ci",
        "models         3",
        "sources        2",
        "OK, DuckDB",
        "All checks passed.",
    ):
        assert expected in result.stdout


def test_debug_masks_env_secrets(make_project, run_cli, monkeypatch):
    monkeypatch.setenv("SHOP_TOKEN", "s3cr3t-value")
    profiles = """\
    shop:
      outputs:
        dev:
          path: ":memory:"
          token: "{{ env_var('SHOP_TOKEN') }}"
    """
    root = make_project({**PROJECT_FILES, "profiles.yml": profiles})
    result = run_cli("debug", "--project-dir", root)
    assert result.exit_code == 0, result.output
    assert "s3cr3t-value" not in result.output
    assert "****" in result.output


PROFILES_WITH_FILE = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/dev.duckdb
"""


def test_clean_removes_target(project, run_cli):
    assert run_cli("compile", "--project-dir", project).exit_code == 0
    assert (project / "target").is_dir()
    result = run_cli("clean", "--project-dir", project)
    assert result.exit_code == 0
    assert not (project / "target").exists()
    assert "Nothing to clean" in run_cli("clean", "--project-dir", project).stdout


def test_clean_keeps_the_databases_unless_all(make_project, run_cli):
    root = make_project(
        {
            "profiles.yml": PROFILES_WITH_FILE,
            "models/sources.yml": None,
            "models/a.sql": "select 1 as x",
        }
    )
    assert run_cli("build", "--project-dir", root, "--log-format", "plain").exit_code == 0
    target = root / "target"
    assert (target / "dev.duckdb").is_file() and (target / "run_results.json").is_file()
    cleaned = run_cli("clean", "--project-dir", root)
    assert cleaned.exit_code == 0
    assert "keeping dev.duckdb" in cleaned.output
    assert sorted(p.name for p in target.iterdir()) == ["dev.duckdb", "runner.lock"]
    assert run_cli("clean", "--project-dir", root, "--all").exit_code == 0
    assert not target.exists()


def test_clean_refuses_target_outside_project(make_project, run_cli):
    root = make_project({"pyproject.toml": '[tool.runner]\nname = "shop"\ntarget-path = ".."\n'})
    result = run_cli("clean", "--project-dir", root)
    assert result.exit_code == 2
    assert "refusing to delete" in result.output
    assert root.exists()


def test_missing_project_is_usage_error(tmp_path, run_cli):
    result = run_cli("ls", "--project-dir", tmp_path)
    assert result.exit_code == 2
    assert "no pyproject.toml" in result.output
