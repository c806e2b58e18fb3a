"""Values profiles.yml takes from env_var() never reach a log, an artifact, `runner debug`
or an error message: they show as ****.

The profile's database path, serving path, a DuckDB setting and (in a second target) an
extension name come from environment variables set to distinctive strings. Each of those
strings, and the distinctive part of each (the folder names), must appear nowhere: not
in any command's output, in any log format, nor in any file under target/ (manifest,
run results, compiled SQL, the parse cache, the lock file, the Data Docs site).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from project_text import pyproject

PYPROJECT = pyproject()

PROFILES = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('SHOP_DB_PATH') }}"
      serve_path: "{{ env_var('SHOP_SERVE_PATH') }}"
      threads: 1
      settings:
        custom_user_agent: "{{ env_var('SHOP_AGENT') }}"
    broken:
      type: duckdb
      path: "{{ env_var('SHOP_DB_PATH') }}"
      extensions: ["{{ env_var('SHOP_EXTENSION') }}"]
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "profiles.yml": PROFILES,
    "models/sources.yml": None,
    "models/base.sql": "select range as id, range * 10 as amount from range(5)",
    # target.* in a model: the compiled SQL and the table hold the masked value
    "models/where_built.sql": "select '{{ target.path }}' as database_path, "
    "'{{ target.name }}' as target_name",
    "models/marts/total.sql": """\
        select sum(amount) as total, {% if var('fail', false) %}cast('x' as integer)
        {% else %}1{% endif %} as one
        from {{ ref('base') }}
        """,
    "models/marts/_marts.yml": """\
        models:
          - name: total
            expectations:
              - expression: 'total < 1000'
        """,
}

# Distinctive tokens: each is part of exactly one secret, and appears nowhere else.
TOKENS = ("Kx7Qw9", "Zr4Pq2", "Mv8Ln3", "Qx5Tb1")


@pytest.fixture
def secret_env(tmp_path: Path) -> dict[str, str]:
    return {
        "SHOP_DB_PATH": "warehouse-Kx7Qw9/work.duckdb",  # relative: shown resolved too
        "SHOP_SERVE_PATH": str(tmp_path / "bi-Zr4Pq2" / "serve.duckdb"),
        "SHOP_AGENT": "agent-Mv8Ln3",
        "SHOP_EXTENSION": "ext-Qx5Tb1",
    }


def assert_no_secret(text: str, env: dict[str, str], what: str) -> None:
    for value in [*env.values(), *TOKENS]:
        assert value.lower() not in text.lower(), f"{value!r} leaked in {what}:\n{text}"


def assert_target_folder_clean(root: Path, env: dict[str, str]) -> list[Path]:
    files = [p for p in (root / "target").rglob("*") if p.is_file()]
    for path in files:
        if ".duckdb" in path.name:
            continue  # the database itself
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert_no_secret(text, env, str(path.relative_to(root)))
    return files


def test_secrets_never_reach_output_artifacts_or_errors(
    make_project, run_cli, secret_env, tmp_path
):
    root = make_project(FILES, base=False)
    env = secret_env
    outputs: dict[str, str] = {}

    def run(name: str, *args: str, code: int = 0):
        result = run_cli(*args, "--project-dir", root, env=env)
        assert result.exit_code == code, result.output
        outputs[name] = result.output
        return result

    # build, in every log format; it publishes to the secret serving path
    plain = run("build plain", "build", "--log-format", "plain")
    assert "Published 1 of 1 models to ****" in plain.output
    assert (tmp_path / "bi-Zr4Pq2" / "serve.duckdb").is_file()
    assert (root / "warehouse-Kx7Qw9" / "work.duckdb").is_file()
    json_run = run("build json", "build", "--log-format", "json")
    for line in json_run.output.splitlines():
        json.loads(line)  # redaction keeps every line valid JSON
    run("build rich", "build", "--log-format", "rich")

    # a failing build: the mart fails at run time (exit 1), nothing is published
    failed = run(
        "build failing", "build", "--log-format", "plain", "--vars", "{fail: true}", code=1
    )
    assert "Conversion Error" in failed.output and "Nothing published" in failed.output
    results = (root / "target" / "run_results.json").read_text()
    assert '"status":"error"' in results and "****" in results

    # runner test --docs: GX writes the Data Docs site under target/ too
    run("test docs", "test", "--log-format", "plain", "--docs")
    assert (root / "target" / "data_docs" / "index.html").is_file()

    # compile, and the compiled model that shows target.path
    run("compile", "compile")
    compiled = root / "target" / "compiled" / "shop" / "where_built.sql"
    assert "'****' as database_path" in compiled.read_text()
    run("ls json", "ls", "-o", "json")

    # debug: the target's values masked, the connection line too
    debug = run("debug", "debug")
    assert "path           ****" in debug.output
    assert "'custom_user_agent': '****'" in debug.output
    assert "OK, DuckDB" in debug.output and "at ****" in debug.output

    # errors: DuckDB names the extension (lower-cased) it cannot load ...
    broken = run("build broken", "build", "--target", "broken", code=2)
    assert "cannot open the database of target 'broken'" in broken.output
    assert "****" in broken.output
    run("debug broken", "debug", "--target", "broken", code=2)
    # ... and the database file another process holds
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time, duckdb
                con = duckdb.connect(sys.argv[1])
                print("holding", flush=True)
                time.sleep(60)
                """
            ),
            str(root / env["SHOP_DB_PATH"]),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        locked = run("build locked", "build", code=2)
    finally:
        holder.kill()
        holder.wait()
    assert "Could not set lock on file" in locked.output
    assert "****" in locked.output

    for name, text in outputs.items():
        assert_no_secret(text, env, f"the output of {name}")
    files = assert_target_folder_clean(root, env)
    names = {p.name for p in files}
    assert {"manifest.json", "run_results.json", "parse.pickle", "where_built.sql"} <= names
    assert "index.html" in names
