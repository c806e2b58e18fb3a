"""`runner retry` (rerun what failed or was skipped last time) and the run history tables
(_runner.runs, _runner.run_nodes) in the working database, through the real CLI.

The project: `base` (10 rows), `fragile`, which fails while var `fail` is true, `after` reading
both, and `other` reading only `base`. A run with fail: true: base and other succeed, fragile
fails, after is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from project_text import profiles

PROFILES = profiles()

PYPROJECT = '[tool.runner]\nname = "shop"\n\n[tool.runner.models]\nmaterialized = "table"\n'

FILES = {
    "pyproject.toml": PYPROJECT,
    "profiles.yml": PROFILES,
    "models/base.sql": "select range as id from range(10)",
    "models/fragile.sql": (
        "select {% if var('fail', false) %}cast('x' as integer){% else %}1{% endif %} as one"
    ),
    "models/after.sql": (
        "select one, (select count(*) from {{ ref('base') }}) as n from {{ ref('fragile') }}"
    ),
    "models/other.sql": "select count(*) as n from {{ ref('base') }}",
}


def last_results(root: Path) -> dict[str, str]:
    data = json.loads((root / "target" / "run_results.json").read_text())
    return {r["name"]: r["status"] for r in data["results"]}


def history(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "target" / "work.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_retry_reruns_only_what_failed_or_was_skipped(make_project, run_cli):
    root = make_project(FILES, base=False)
    first = run_cli("run", "--project-dir", root, "--vars", "{fail: true}", "--log-format", "plain")
    assert first.exit_code == 1
    assert last_results(root) == {
        "base": "success",
        "other": "success",
        "fragile": "error",
        "after": "skipped",
    }
    # the same options as last time (fail: true): the same failure, the same two nodes
    again = run_cli("retry", "--project-dir", root, "--log-format", "plain")
    assert again.exit_code == 1, again.output
    assert "Retrying 2 node(s) of the last `runner run`" in again.output
    assert last_results(root) == {"fragile": "error", "after": "skipped"}
    # the cause fixed (--vars given to retry wins): both pass, nothing else ran
    fixed = run_cli("retry", "--project-dir", root, "--vars", "{fail: false}")
    assert fixed.exit_code == 0, fixed.output
    assert last_results(root) == {"fragile": "success", "after": "success"}
    done = run_cli("retry", "--project-dir", root)
    assert done.exit_code == 0
    assert "Nothing to retry" in done.output
    assert history(root, "select one, n from main.after") == [(1, 10)]


def test_retry_without_a_previous_run_says_so(make_project, run_cli):
    root = make_project(FILES, base=False)
    result = run_cli("retry", "--project-dir", root)
    assert result.exit_code == 2
    assert "no run_results.json" in result.output


def test_every_run_is_in_the_history_tables(make_project, run_cli):
    root = make_project(FILES, base=False)
    assert run_cli("run", "--project-dir", root, "--vars", "{fail: true}").exit_code == 1
    assert run_cli("run", "--project-dir", root, "-s", "base other").exit_code == 0
    runs = history(
        root,
        "select command, status, exit_code, nodes, succeeded, errored, skipped, rows_affected,"
        " seconds > 0, finished_at >= started_at, json_extract_string(args, '$.vars')"
        " from _runner.runs order by started_at",
    )
    assert runs == [
        # base 10 rows + other 1 row (fragile failed, after skipped: no rows)
        ("run", "error", 1, 4, 2, 1, 1, 11, True, True, "{fail: true}"),
        ("run", "success", 0, 2, 2, 0, 0, 11, True, True, None),
    ]
    nodes = history(
        root,
        "select n.unique_id, n.status, n.rows_affected, n.attempts from _runner.run_nodes n"
        " join _runner.runs r using (run_id) where r.exit_code = 1 order by n.unique_id",
    )
    assert nodes == [
        ("model.after", "skipped", None, 1),
        ("model.base", "success", 10, 1),
        ("model.fragile", "error", None, 1),
        ("model.other", "success", 1, 1),
    ]
