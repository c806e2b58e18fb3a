"""Expectations inside the build: a failing error-severity check fails its node and skips
what depends on it; a warning does not; `runner test` checks without building."""

from __future__ import annotations

import json

from test_materialize import PROFILES

FILES = {
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
