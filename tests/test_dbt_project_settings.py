"""dbt_project.yml as settings, profiles.yml lookup, and `runner deps` (local paths and
local git repositories only: never the network)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from runner.cli import cli
from runner.errors import UsageError
from runner.project import load_settings, load_target

FIXTURE = Path(__file__).parent / "dbt_project_fixture"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_dbt_project_yml_is_the_settings(tmp_path: Path) -> None:
    write(
        tmp_path / "dbt_project.yml",
        "name: shop\nprofile: warehouse\nmodel-paths: [transform]\nseed-paths: [data]\n"
        "vars: {window: 30, shop: {window: 60, scoped: true}}\n"
        "on-run-start: 'select 1'\non-run-end: ['select 2', 'select 3']\n"
        "models:\n  +tags: [all]\n  shop:\n    staging: {+materialized: view}\n"
        "dispatch: [{macro_namespace: utils, search_order: [shop, utils]}]\n",
    )
    settings = load_settings(tmp_path)
    assert settings.is_dbt
    assert (settings.name, settings.profile) == ("shop", "warehouse")
    assert settings.model_paths == ("transform",) and settings.seed_paths == ("data",)
    # the project-scoped block wins over a global var of the same name
    assert settings.vars == {"window": 60, "scoped": True}
    assert settings.on_run_start == ("select 1",)
    assert settings.on_run_end == ("select 2", "select 3")
    # top-level config keys apply to every package, the project's block under them
    assert settings.models == {"+tags": ["all"], "staging": {"+materialized": "view"}}
    assert settings.dispatch == (("utils", ("shop", "utils")),)


def test_an_unknown_dbt_project_key_warns_with_a_did_you_mean(tmp_path: Path) -> None:
    write(tmp_path / "dbt_project.yml", "name: shop\nmodel-path: [models]\nquoting: {}\n")
    warnings = [str(w) for w in load_settings(tmp_path).warnings]
    assert any(
        "unknown key 'model-path'" in w and "did you mean 'model-paths'" in w for w in warnings
    )
    assert any("quoting not supported by the runner" in w for w in warnings)


def test_a_bad_project_name_is_an_error_at_its_line(tmp_path: Path) -> None:
    write(tmp_path / "dbt_project.yml", "version: 2\nname: 'my shop'\n")
    with pytest.raises(Exception) as caught:
        load_settings(tmp_path)
    assert caught.value.line == 2 and "identifier" in caught.value.message


def test_profiles_are_found_where_dbt_looks(tmp_path: Path, monkeypatch) -> None:
    project = tmp_path / "project"
    write(project / "dbt_project.yml", "name: shop\n")
    profile = "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: x.duckdb}\n"
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    settings = load_settings(project)
    with pytest.raises(UsageError, match=r"no profiles\.yml"):
        load_target(settings, None, None)
    write(home / ".dbt" / "profiles.yml", profile)
    assert load_target(settings, None, None).profiles_path == home / ".dbt" / "profiles.yml"
    elsewhere = write(tmp_path / "ci" / "profiles.yml", profile)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(elsewhere.parent))
    assert load_target(settings, None, None).profiles_path == elsewhere


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_deps_clones_a_git_package_at_its_revision(tmp_path: Path) -> None:
    repo = tmp_path / "shop_utils_repo"
    shutil.copytree(FIXTURE / "local_packages" / "shop_utils", repo)
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "v1")
    _git(repo, "tag", "v0.1")
    tagged = _git(repo, "rev-parse", "HEAD")
    (repo / "macros" / "later.sql").write_text("{% macro later() %}1{% endmacro %}")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "v2")
    project = tmp_path / "project"
    write(project / "dbt_project.yml", "name: shop\n")
    write(project / "packages.yml", f"packages:\n  - git: '{repo}'\n    revision: v0.1\n")
    result = CliRunner().invoke(cli, ["deps", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    installed = project / "dbt_packages" / "shop_utils"
    assert installed.is_dir() and not installed.is_symlink()
    assert (installed / "macros" / "get_column_values.sql").is_file()
    assert not (installed / "macros" / "later.sql").exists()  # pinned to the tag
    assert tagged in (project / "package-lock.yml").read_text()


def test_deps_refuses_hub_packages_with_what_to_do(tmp_path: Path) -> None:
    write(tmp_path / "dbt_project.yml", "name: shop\n")
    write(
        tmp_path / "packages.yml",
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n",
    )
    result = CliRunner().invoke(cli, ["deps", "--project-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "packages.yml:2" in result.output
    assert "dbt Hub packages are not installed" in result.output
    assert "git repository with a revision" in result.output
