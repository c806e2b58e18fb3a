"""Expectations inside the build: a failing error-severity check fails its node and skips
what depends on it; a warning does not; `runner test` checks without building."""

from __future__ import annotations

import json

import pytest
from test_materialize import PROFILES

FILES = {
    # the models sit in models/ itself: no staging or marts folder to configure
    "pyproject.toml": '[tool.runner]\nname = "shop"\n\n[tool.runner.vars]\nmin_amount = 10\n',
    "models/sources.yml": None,
    "profiles.yml": PROFILES,
    "models/base.sql": "select * from (values (1, 'a'), (2, 'b'), (2, 'c')) t(id, letter)",
    "models/child.sql": "select * from {{ ref('base') }}",
    "models/grandchild.sql": "select * from {{ ref('child') }}",
    "models/other.sql": "select 1 as x",
    "models/_models.yml": """\
        models:
          - name: base
            description: three rows, id 2 twice
            columns:
              - name: id
                description: not unique
                expectations: [not_null, unique]
          - name: other
            description: fine
            columns:
              - name: x
                description: always 1
                expectations:
                  - accepted_values: {values: [2], severity: warn}
        """,
}


def test_failing_expectation_fails_node_and_skips_descendants(make_project, run_cli):
    root = make_project(FILES)
    result = run_cli("build", "--project-dir", root, "--log-format", "plain")
    assert result.exit_code == 1
    assert "ERROR    base" in result.output
    assert "SKIP     child" in result.output and "SKIP     grandchild" in result.output
    assert "WARN" in result.output and "other" in result.output
    assert "unique(id)" in result.output
    results = json.loads((root / "target" / "run_results.json").read_text())
    by_id = {r["unique_id"]: r for r in results["results"]}
    assert by_id["model.base"]["status"] == "error"
    assert by_id["model.other"]["status"] == "warn"
    checks = {e["name"]: e for e in by_id["model.base"]["expectations"]}
    assert checks["unique(id)"]["status"] == "fail"
    assert checks["not_null(id)"]["status"] == "pass"
    assert checks["unique(id)"]["layer"] == "models"


def test_warn_error_and_runner_test(make_project, run_cli):
    files = {**FILES, "models/base.sql": "select * from (values (1, 'a'), (2, 'b')) t(id, letter)"}
    root = make_project(files)
    built = run_cli("build", "--project-dir", root, "--log-format", "plain")
    assert built.exit_code == 0, built.output
    tested = run_cli("test", "--project-dir", root, "--log-format", "plain", "--warn-error")
    assert tested.exit_code == 1
    assert "ERROR    other" in tested.output
    only = run_cli("test", "--project-dir", root, "--log-format", "plain", "-s", "base")
    assert only.exit_code == 0
    assert "Running 1 node" in only.output


def _outcomes(root) -> dict[str, tuple]:
    results = json.loads((root / "target" / "run_results.json").read_text())
    return {
        e["name"]: (r["status"], e["status"], e["failing_count"], e["failing_share"], e["sample"])
        for r in results["results"]
        for e in r["expectations"]
    }


def test_the_sql_validator_gives_the_build_the_same_results(make_project, run_cli):
    root = make_project(FILES)
    gx = run_cli("build", "--project-dir", root, "--log-format", "plain", "--validator", "gx")
    by_gx = _outcomes(root)
    sql = run_cli("build", "--project-dir", root, "--log-format", "plain", "--validator", "sql")
    assert (sql.exit_code, gx.exit_code) == (1, 1)
    assert _outcomes(root) == by_gx
    assert by_gx["unique(id)"][:3] == ("error", "fail", 2)


def test_the_sql_validator_is_chosen_in_pyproject_and_needs_no_gx(make_project, run_cli):
    import subprocess
    import sys

    root = make_project(FILES)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.runner]", '[tool.runner]\nvalidator = "sql"')
    )
    # A fresh interpreter: the build must not import great_expectations at all.
    script = (
        "import sys\n"
        "from runner.cli import cli\n"
        "try:\n"
        f"    cli(['build', '--project-dir', {str(root)!r}, '--log-format', 'plain'])\n"
        "except SystemExit as exit:\n"
        "    print('imported gx:', 'great_expectations' in sys.modules)\n"
        "    sys.exit(exit.code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "imported gx: False" in done.stdout
    assert "unique(id)" in done.stdout

    pyproject.write_text(pyproject.read_text().replace('validator = "sql"', 'validator = "pandas"'))
    bad = run_cli("build", "--project-dir", root)
    assert bad.exit_code == 2
    assert "validator must be one of" in bad.output and "pyproject.toml" in bad.output


# {as_of} and recency's anchor: the warehouse's as-of date (the as_of model), never today.
AS_OF_FILES = {
    "models/sources.yml": None,
    "profiles.yml": PROFILES,
    "models/as_of.sql": "select date '2020-03-15' as as_of_date",
    "models/recent.sql": "select date '2020-03-10' as day from {{ ref('as_of') }}",
    "models/elsewhere.sql": "select date '2020-03-10' as day",
    "models/_models.yml": """\
        models:
          - name: recent
            description: a day five days before the as-of date
            expectations:
              - expression: "day between {as_of} - 7 and {as_of}"
                name: within_a_week_of_as_of
            columns:
              - name: day
                description: the day
                expectations: [{recency: {days: 7}}]
        """,
}


def test_as_of_in_checks_is_the_warehouse_as_of_date(make_project, run_cli):
    root = make_project(AS_OF_FILES)
    args = ("--project-dir", root, "--log-format", "plain", "--validator", "sql")
    # today is years after 2020-03-15: with the wall clock both checks would fail
    built = run_cli("build", *args)
    assert built.exit_code == 0, built.output
    results = json.loads((root / "target" / "run_results.json").read_text())
    by_id = {r["unique_id"]: r for r in results["results"]}
    checks = by_id["model.recent"]["expectations"]
    assert {c["status"] for c in checks} == {"pass"} and len(checks) == 2
    assert run_cli("test", *args).exit_code == 0
    # the var still wins: ten days later, the day is too old
    later = run_cli("build", *args, "--vars", "{as_of: 2020-03-25}")
    assert later.exit_code == 1 and "within_a_week_of_as_of" in later.output


def test_as_of_check_outside_the_as_of_models_descendants_names_the_missing_date(
    make_project, run_cli
):
    yml = AS_OF_FILES["models/_models.yml"].replace("name: recent", "name: elsewhere", 1)
    root = make_project({**AS_OF_FILES, "models/_models.yml": yml})
    built = run_cli("build", "--project-dir", root, "--log-format", "plain", "--validator", "sql")
    assert built.exit_code == 1
    assert "as-of date is needed" in built.output and "var as_of" in built.output


# runner show prints rows in a known order: the grain the YAML declares, else every column.
SHOW_FILES = {
    "models/sources.yml": None,
    "profiles.yml": PROFILES,
    "models/cells.sql": """\
        {{ config(materialized='table') }}
        select * from (values (2, 'b', 9), (1, 'z', 8), (2, 'a', 7), (1, 'a', 6)) t(r, c, v)
        """,
    "models/plain.sql": "{{ config(materialized='table') }} select * from {{ ref('cells') }}",
    "models/_models.yml": """\
        models:
          - name: cells
            description: a grid of (r, c) cells
            expectations:
              - compound_unique: {columns: [c, r]}
        """,
}


def shown_rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.strip()[:1].isdigit()]


def test_show_orders_rows_by_the_declared_grain_else_by_every_column(make_project, run_cli):
    root = make_project(SHOW_FILES)
    args = ("--project-dir", root)
    assert run_cli("build", *args, "--validator", "sql", "--log-format", "plain").exit_code == 0
    by_grain = run_cli("show", "cells", "-n", "3", *args)
    assert by_grain.exit_code == 0, by_grain.output
    # grain (c, r): (a, 1), (a, 2), (b, 2), then (z, 1) is past the limit
    assert shown_rows(by_grain.output) == [["1", "a", "6"], ["2", "a", "7"], ["2", "b", "9"]]
    assert "ordered by c, r (its grain, from the YAML)" in by_grain.output
    by_columns = run_cli("show", "plain", *args)
    assert shown_rows(by_columns.output) == [
        ["1", "a", "6"],
        ["1", "z", "8"],
        ["2", "a", "7"],
        ["2", "b", "9"],
    ]
    assert "ordered by r, c, v (every column: its YAML declares no grain)" in by_columns.output


# Each bad declaration sits on a line of its own under a model's `expectations:` (line 5)
# or a column's (line 9); the error names that line, whatever the declaration's form.
BAD_AT_LINE = [
    ("model", "- nonsense", "unknown expectation type 'nonsense'"),  # a bare name
    ("model", "- unique: {column: idd}", "column 'idd' does not exist"),
    ("model", "- between: {column: id, minn: 0}", "unknown argument 'minn'"),
    ("model", "- row_count_between: {min: 1, mostly: 0.5}", "'mostly' does not apply"),
    ("model", "- accepted_values: {column: id}", "missing argument 'values'"),
    ("model", "- not_null: {column: id, severity: fatal}", "severity must be error or warn"),
    ("column", "- nonsense", "unknown expectation type 'nonsense'"),
    ("column", "- unique: {column: id}", "'column' is implied by the column"),
    ("column", "- between: {minn: 0}", "unknown argument 'minn'"),
    ("column", "- accepted_values", "missing argument 'values'"),
]


@pytest.mark.parametrize(("level", "declaration", "message"), BAD_AT_LINE)
def test_a_bad_expectation_is_reported_at_its_yaml_line(
    make_project, run_cli, level, declaration, message
):
    body = (
        "models:\n"  # line 1
        "  - name: base\n"
        "    expectations:\n"
        "      - not_null: {column: id}\n"  # line 4
        + (f"      {declaration}\n" if level == "model" else "")  # line 5
        + "    columns:\n"
        "      - name: id\n"
        "        expectations:\n"
        "          - not_null\n"
        + (f"          {declaration}\n" if level == "column" else "")  # line 9
    )
    root = make_project({**FILES, "models/_models.yml": body})
    result = run_cli("build", "--project-dir", root, "--validator", "sql")
    assert result.exit_code == 2, result.output
    line = 5 if level == "model" else 9
    assert f"models/_models.yml:{line}: " in result.output, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output
