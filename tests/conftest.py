"""Shared fixtures: small projects written into temporary folders, and the CLI runner."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from runner.cli import cli

PYPROJECT = """\
[tool.runner]
name = "shop"

[tool.runner.vars]
min_amount = 10

[tool.runner.models.staging]
materialized = "view"
schema = "staging"
tags = ["daily"]

[tool.runner.models.marts]
materialized = "table"
"""

PROFILES = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/dev.duckdb
      threads: 2
    ci:
      type: duckdb
      path: ":memory:"
"""

SOURCES = """\
sources:
  - name: shop
    schema: raw
    tables:
      - name: orders
        columns:
          - name: order_id
          - name: customer_id
          - name: amount
      - name: customers
"""

BASE_FILES = {
    "pyproject.toml": PYPROJECT,
    "profiles.yml": PROFILES,
    "models/sources.yml": SOURCES,
}

ProjectFactory = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write a project: the base files plus ``files`` (path -> text, dedented; None deletes)."""

    def make(files: dict[str, str | None] | None = None, base: bool = True) -> Path:
        root = tmp_path / "project"
        contents: dict[str, str | None] = {**(BASE_FILES if base else {}), **(files or {})}
        for rel, text in contents.items():
            path = root / rel
            if text is None:
                path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return make


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Invoke the real click command in-process; never raises, returns the Result."""

    def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's project and bundled seeds, built once per session with the real CLI
    (`runner build --validator sql`, published to target/serving.duckdb). Read-only for
    the tests that share it: copy it before changing anything."""
    import shutil
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    root = tmp_path_factory.mktemp("demo_build")
    for name in ("pyproject.toml", "profiles.yml"):
        shutil.copy(repo / name, root / name)
    for folder in ("models", "macros", "seeds"):
        shutil.copytree(repo / folder, root / folder)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "build",
            "--validator",
            "sql",
            "--log-format",
            "plain",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
        env={k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture(scope="session")
def spark_demo(tmp_path_factory: pytest.TempPathFactory):
    """One Spark session for the whole run, on a copy of the demo project (spark_support)."""
    pytest.importorskip("pyspark")
    import spark_support

    demo = spark_support.start(tmp_path_factory.mktemp("spark"))
    yield demo
    demo.engine.spark.stop()
