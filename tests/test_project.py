"""Project settings (pyproject [tool.runner]) and targets (profiles.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import ProjectError, UsageError
from runner.project import (
    folder_config,
    load_settings,
    load_target,
    merge_config,
    parse_vars,
)


def test_settings_defaults_and_folder_configs(make_project):
    root = make_project()
    settings = load_settings(root)
    assert settings.name == "shop"
    assert settings.profile == "shop"
    assert settings.model_paths == ("models",)
    assert settings.vars == {"min_amount": 10}
    assert settings.undeclared_tables == "warn"
    assert folder_config(settings.models, ("staging", "stg_orders")) == {
        "materialized": "view",
        "schema": "staging",
        "tags": ["daily"],
    }
    assert folder_config(settings.models, ("other", "x")) == {}


def test_folder_config_nesting_plus_prefix_tags_accumulate():
    tree = {
        "tags": ["all"],
        "marts": {
            "+materialized": "table",
            "tags": "mart",
            "meta": {"owner": "a"},
            "churn": {"schema": "churn", "meta": {"tier": 1}, "tags": ["churn"]},
        },
    }
    assert folder_config(tree, ("marts", "churn", "churn_monthly")) == {
        "tags": ["all", "mart", "churn"],
        "materialized": "table",
        "meta": {"owner": "a", "tier": 1},
        "schema": "churn",
    }


def test_merge_config_later_wins_except_tags_and_meta():
    merged = merge_config({"materialized": "view", "tags": ["a"]}, {"materialized": "table"})
    merge_config(merged, {"tags": ["b", "a"]})
    assert merged == {"materialized": "table", "tags": ["a", "b"]}


def test_missing_pyproject_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"no pyproject\.toml"):
        load_settings(tmp_path)


def test_bad_toml_names_the_line(make_project):
    root = make_project({"pyproject.toml": '[tool.runner]\nname = "shop"\nvars = {\n'})
    with pytest.raises(ProjectError) as info:
        load_settings(root)
    assert info.value.path == root / "pyproject.toml"
    assert info.value.line == 3


def test_missing_tool_runner_section(make_project):
    root = make_project({"pyproject.toml": '[project]\nname = "x"\n'})
    with pytest.raises(ProjectError, match=r"no \[tool.runner\] section"):
        load_settings(root)


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        (
            'name = "shop"\n[tool.runner.models.marts]\nmaterialized = "tabel"\n',
            "config 'materialized' in .* must be one of",
            4,
        ),
        ('name = "shop"\nundeclared-tables = "loud"\n', "undeclared-tables must be one of", 3),
        ('name = "shop"\nmodel-paths = 3\n', "model-paths must be a list", 3),
        ('name = "my project"\n', "project name must be an identifier", 2),
    ],
)
def test_bad_settings_name_file_and_line(make_project, body, message, line):
    root = make_project({"pyproject.toml": "[tool.runner]\n" + body})
    with pytest.raises(ProjectError, match=message) as info:
        load_settings(root)
    assert info.value.line == line


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ('name = "shop"\nmodle-paths = ["x"]\n', "unknown setting 'modle-paths'", 3),
        (
            'name = "shop"\n[tool.runner.models]\ncolour = "red"\n',
            "unknown model config 'colour'",
            4,
        ),
    ],
)
def test_unknown_settings_warn_at_their_line(make_project, body, message, line):
    root = make_project({"pyproject.toml": "[tool.runner]\n" + body})
    (warning,) = load_settings(root).warnings
    assert message in warning.message
    assert warning.line == line


def test_target_default_and_named(make_project):
    root = make_project()
    settings = load_settings(root)
    dev = load_target(settings, None, None)
    assert (dev.name, dev.type, dev.path, dev.threads, dev.schema) == (
        "dev",
        "duckdb",
        "target/dev.duckdb",
        2,
        "main",
    )
    ci = load_target(settings, None, "ci")
    assert ci.path == ":memory:"
    assert ci.resolved_path(root) == ":memory:"
    assert dev.resolved_path(root) == str(root / "target" / "dev.duckdb")


def test_target_options_extensions_settings(make_project):
    profiles = """\
    shop:
      outputs:
        dev:
          type: duckdb
          path: x.duckdb
          threads: 4
          memory_limit: 2GB
          extensions: [parquet]
          settings: {preserve_insertion_order: false}
          serve_path: marts.duckdb
    """
    settings = load_settings(make_project({"profiles.yml": profiles}))
    target = load_target(settings, None, None)
    assert target.memory_limit == "2GB"
    assert target.extensions == ("parquet",)
    assert target.settings == {"preserve_insertion_order": False}
    assert target.options == {"serve_path": "marts.duckdb"}


def test_env_var_in_profiles_and_secret_masking(make_project, monkeypatch):
    profiles = """\
    shop:
      target: "{{ env_var('SHOP_TARGET', 'dev') }}"
      outputs:
        dev:
          type: duckdb
          path: "{{ env_var('SHOP_DB', 'default.duckdb') }}"
          password: "{{ env_var('SHOP_PASSWORD') }}"
    """
    settings = load_settings(make_project({"profiles.yml": profiles}))
    monkeypatch.setenv("SHOP_PASSWORD", "hunter2")
    target = load_target(settings, None, None)
    assert target.path == "default.duckdb"
    assert target.options["password"] == "hunter2"
    assert target.public_dict()["password"] == "****"
    monkeypatch.setenv("SHOP_DB", "from_env.duckdb")
    assert load_target(settings, None, None).path == "from_env.duckdb"


def test_env_var_without_default_names_variable_and_line(make_project, monkeypatch):
    monkeypatch.delenv("SHOP_PASSWORD", raising=False)
    profiles = "shop:\n  outputs:\n    dev:\n      password: \"{{ env_var('SHOP_PASSWORD') }}\"\n"
    settings = load_settings(make_project({"profiles.yml": profiles}))
    with pytest.raises(ProjectError, match="'SHOP_PASSWORD' is not set") as info:
        load_target(settings, None, None)
    assert info.value.line == 4


@pytest.mark.parametrize(
    ("profiles", "message", "line"),
    [
        ("shop:\n  outputs:\n    dev:\n      threads: zero\n", "threads must be a positive", 4),
        ("shop:\n  outputs:\n    dev:\n      type: oracle\n", "unknown type 'oracle'", 4),
        (
            "shop:\n  outputs:\n    dev:\n      extensions: parquet\n",
            "extensions must be a list",
            4,
        ),
        ("other:\n  outputs: {}\n", "profile 'shop' not found", 1),
        ("shop:\n  target: dev\n", "needs an 'outputs:' mapping", 1),
        ("shop:\n  outputs:\n    dev:\n      path: [x\n", "invalid YAML", 4),  # opened there
        ("shop:\n  outputs:\n    dev: {}\n    dev: {}\n", "duplicate key 'dev'", 4),
    ],
)
def test_bad_profiles(make_project, profiles, message, line):
    settings = load_settings(make_project({"profiles.yml": profiles}))
    with pytest.raises(ProjectError, match=message) as info:
        load_target(settings, None, None)
    assert info.value.path == settings.root / "profiles.yml"
    assert info.value.line == line


def test_unknown_target_lists_defined_ones(make_project):
    settings = load_settings(make_project())
    with pytest.raises(ProjectError, match="target 'prod' is not defined") as info:
        load_target(settings, None, "prod")
    assert "dev, ci" in info.value.hint


def test_profiles_dir_option(make_project, tmp_path):
    settings = load_settings(make_project())
    elsewhere = tmp_path / "profiles"
    elsewhere.mkdir()
    (elsewhere / "profiles.yml").write_text("shop:\n  outputs:\n    dev: {path: other.duckdb}\n")
    assert load_target(settings, elsewhere, None).path == "other.duckdb"
    with pytest.raises(UsageError, match=r"no profiles\.yml"):
        load_target(settings, Path(tmp_path / "nowhere"), None)


def test_parse_vars_yaml_and_json():
    assert parse_vars("{a: 1, b: [x]}") == {"a": 1, "b": ["x"]}
    assert parse_vars('{"a": "2024-01-01"}') == {"a": "2024-01-01"}
    assert parse_vars(None) == {}
    with pytest.raises(UsageError, match="must be a mapping"):
        parse_vars("[1, 2]")
    with pytest.raises(UsageError, match="not valid YAML"):
        parse_vars("{a: [")


def test_the_repository_compiles_and_reads_no_singular_tests_from_pytests_folder(run_cli):
    """The warehouse's own pyproject.toml sits beside tests/, which is pytest's and even holds
    a dbt project as a fixture: nothing in it may become a singular test of the warehouse."""
    repo = Path(__file__).resolve().parents[1]
    settings = load_settings(repo)
    assert settings.test_paths == ()
    result = run_cli("compile", "--project-dir", repo, "--target", "ci", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "dbt_project_fixture" not in result.output


def test_test_paths_name_the_folders_singular_tests_come_from(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.runner]\nname = "shop"\ntest-paths = ["checks"]\n', encoding="utf-8"
    )
    assert load_settings(tmp_path).test_paths == ("checks",)
