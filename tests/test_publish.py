"""Write, audit, publish: the serving file BI tools read, refreshed atomically after a build.

A small project: `base` (scaled by the var `scale`), three marts reading it, and a mart
downstream of `fragile`, which fails at run time when the var `fail` is true. The mart
`total` expects its total below 1000, so `scale: 100` fails its audit.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
from project_text import profiles, pyproject

PYPROJECT = pyproject(validator_sql=False)

PROFILES = profiles(threads=2, serve=True)

FILES = {
    "pyproject.toml": PYPROJECT,
    "profiles.yml": PROFILES,
    "models/sources.yml": None,
    "models/base.sql": "select range as id, range * {{ var('scale', 1) }} as amount from range(10)",
    "models/fragile.sql": """\
        {{ config(materialized='table') }}
        select {% if var('fail', false) %}cast('x' as integer){% else %}1{% endif %} as one
        """,
    "models/marts/total.sql": "select sum(amount) as total from {{ ref('base') }}",
    "models/marts/by_parity.sql": (
        "select id % 2 as parity, sum(amount) as amount from {{ ref('base') }} group by 1"
    ),
    "models/marts/after_fragile.sql": (
        "select one, (select count(*) from {{ ref('base') }}) as n from {{ ref('fragile') }}"
    ),
    "models/marts/helper.sql": (
        "{{ config(publish=false) }} select 1 as x"  # in marts, but not for BI
    ),
    "models/marts/_marts.yml": """\
        models:
          - name: total
            expectations:
              - expression: 'total < 1000'
        """,
}


def build(run_cli, root: Path, *args: str) -> object:
    return run_cli("build", "--project-dir", root, "--log-format", "plain", *args)


def served(root: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(root / "target" / "serve.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_build_publishes_what_passed_and_keeps_the_rest(make_project, run_cli):
    root = make_project(FILES, base=False)
    first = build(run_cli, root)
    assert first.exit_code == 0, first.output
    assert "Published 3 of 3 models" in first.output
    tables = served(root, "select table_schema, table_name from information_schema.tables")
    assert sorted(tables) == [
        ("_runner", "published"),
        ("marts", "after_fragile"),
        ("marts", "by_parity"),
        ("marts", "total"),
    ]  # not base or fragile (main schema), not helper (publish=false)
    assert served(root, "select total from marts.total") == [(45,)]

    # total fails its audit (4500), fragile fails to build (after_fragile is skipped);
    # by_parity passes and is published.
    second = build(run_cli, root, "--vars", "{scale: 100, fail: true}")
    assert second.exit_code == 1
    assert "Published 1 of 3 models" in second.output
    assert "not published: total — failed: 1 expectation failed" in second.output
    assert "not published: after_fragile — skipped" in second.output
    assert "still serving the version built 20" in second.output
    assert served(root, "select total from marts.total") == [(45,)]
    assert served(root, "select sum(amount) from marts.by_parity") == [(4500,)]
    assert served(root, "select * from marts.after_fragile") == [(1, 10)]
    actions = dict(served(root, "select name, action from _runner.published"))
    assert actions == {"total": "kept", "by_parity": "published", "after_fragile": "kept"}
    report = json.loads((root / "target" / "run_results.json").read_text())["publish"]
    kept = {m["name"]: m for m in report["models"] if m["action"] == "kept"}
    assert set(kept) == {"total", "after_fragile"} and kept["total"]["version_at"]

    # Fixed: everything is published again.
    third = build(run_cli, root)
    assert third.exit_code == 0 and "Published 3 of 3 models" in third.output
    assert served(root, "select total from marts.total") == [(45,)]


def test_no_publish_and_failed_builds_leave_the_serving_file_byte_identical(make_project, run_cli):
    root = make_project(FILES, base=False)
    assert build(run_cli, root).exit_code == 0
    serving = root / "target" / "serve.duckdb"
    before = digest(serving)
    assert build(run_cli, root, "--no-publish", "--vars", "{scale: 2}").exit_code == 0
    assert digest(serving) == before
    # A project error stops the build before anything runs.
    (root / "models" / "marts" / "total.sql").write_text("select * from {{ ref('nope') }}")
    assert build(run_cli, root).exit_code == 2
    assert digest(serving) == before


def test_readers_keep_their_snapshot_and_new_readers_see_the_new_one(make_project, run_cli):
    root = make_project(FILES, base=False)
    assert build(run_cli, root).exit_code == 0
    path = str(root / "target" / "serve.duckdb")
    reader = duckdb.connect(path, read_only=True)  # a dashboard holding the file open
    try:
        assert reader.execute("select total from marts.total").fetchall() == [(45,)]
        refreshed = build(run_cli, root, "--vars", "{scale: 2}")
        assert refreshed.exit_code == 0, refreshed.output  # never locked out by the reader
        assert reader.execute("select total from marts.total").fetchall() == [(45,)]
        assert reader.execute("select sum(amount) from marts.by_parity").fetchall() == [(45,)]
    finally:
        reader.close()
    assert served(root, "select total from marts.total") == [(90,)]


def test_runner_publish_alone_publishes_only_what_passed_its_audit(make_project, run_cli):
    root = make_project(FILES, base=False)
    assert build(run_cli, root).exit_code == 0
    ran = run_cli("run", "--project-dir", root, "--log-format", "plain", "--vars", "{scale: 2}")
    assert ran.exit_code == 0 and "Published" not in ran.output  # run never publishes
    published = run_cli("publish", "--project-dir", root)
    assert published.exit_code == 0, published.output
    assert "Published 0 of 3 models" in published.output
    assert "not published: total — built by `runner run`, expectations not checked" in (
        published.output
    )
    assert served(root, "select total from marts.total") == [(45,)]

    tested = run_cli("test", "--project-dir", root, "--log-format", "plain", "--vars", "{scale: 2}")
    assert tested.exit_code == 0, tested.output
    again = run_cli("publish", "--project-dir", root)
    # runner test audited all three (a model without expectations passes vacuously)
    assert "Published 3 of 3 models" in again.output
    assert served(root, "select total from marts.total") == [(90,)]


def test_a_second_build_fails_at_once_naming_the_running_one(make_project, run_cli):
    root = make_project(FILES, base=False)
    assert build(run_cli, root).exit_code == 0
    serving, working = root / "target" / "serve.duckdb", root / "target" / "work.duckdb"
    before = (digest(serving), digest(working))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from runner.lock import ProjectLock
                with ProjectLock(Path({str(root / "target")!r}), "runner build"):
                    print("holding", flush=True)
                    time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        second = build(run_cli, root, "--vars", "{scale: 3}")
    finally:
        holder.kill()
        holder.wait()
    assert second.exit_code == 2
    assert f"another runner is working on this project: pid {holder.pid}, `runner build`" in (
        second.output
    )
    assert (digest(serving), digest(working)) == before
    # The holder died (SIGKILL): the lock freed itself.
    assert build(run_cli, root, "--vars", "{scale: 3}").exit_code == 0


def test_leftovers_of_a_killed_publish_are_removed(make_project, run_cli):
    root = make_project(FILES, base=False)
    (root / "target").mkdir(parents=True)
    stale = root / "target" / f".serve.duckdb.{os.getpid() + 1}.tmp"
    stale.write_bytes(b"half a database")
    assert build(run_cli, root).exit_code == 0
    assert not stale.exists()
    assert sorted(p.name for p in (root / "target").glob("*serve*")) == ["serve.duckdb"]


def test_a_publish_that_fails_changes_nothing_and_exits_1(make_project, run_cli):
    root = make_project(FILES, base=False)
    assert build(run_cli, root).exit_code == 0
    serving = root / "target" / "serve.duckdb"
    before = digest(serving)
    profiles = root / "profiles.yml"
    profiles.write_text(profiles.read_text() + "      serve_storage_version: v0.0.1\n")
    failed = build(run_cli, root, "--vars", "{scale: 2}")
    assert failed.exit_code == 1
    assert f"could not publish to {serving}" in failed.output
    assert "the serving file is unchanged" in failed.output
    assert digest(serving) == before
    assert [p.name for p in serving.parent.glob(".serve*")] == []


def test_a_serve_path_that_cannot_be_created_is_a_clear_error(make_project, run_cli):
    files = {**FILES, "profiles.yml": PROFILES.replace("target/serve.duckdb", "blocker/s.duckdb")}
    root = make_project(files, base=False)
    (root / "blocker").write_text("a file where the folder should be")
    built = build(run_cli, root)
    assert built.exit_code == 1
    assert "could not publish to" in built.output and "Traceback" not in built.output
    assert (root / "blocker").read_text() == "a file where the folder should be"


def storage_version(path: Path) -> str:
    with duckdb.connect() as con:
        con.execute(f"attach '{path}' as served (read_only)")
        (tags,) = con.execute(
            "select tags from duckdb_databases() where database_name = 'served'"
        ).fetchone()
    return tags["storage_version"]


def test_the_serving_file_storage_version_can_be_lowered_for_older_clients(make_project, run_cli):
    # the default is readable by DuckDB 1.4 and later; v1.0.0 by every release since 0.10
    root = make_project(FILES, base=False)
    assert build(run_cli, root, "--validator", "sql").exit_code == 0
    serving = root / "target" / "serve.duckdb"
    assert storage_version(serving) == "v1.4.0+"
    profiles = root / "profiles.yml"
    profiles.write_text(profiles.read_text() + "      serve_storage_version: v1.0.0\n")
    assert build(run_cli, root, "--validator", "sql").exit_code == 0
    assert storage_version(serving) == "v1.0.0+"
    assert served(root, "select total from marts.total") == [(45,)]


def test_an_export_from_arrow_copies_every_table_into_the_serving_file(tmp_path):
    # what `runner publish --to duckdb` does with another engine's marts: one Arrow table
    # after another into a new file (DuckDB 2 refused the second while a count was unread)
    import duckdb
    import pyarrow as pa

    from runner.engines.duckdb_serving import export_file
    from runner.nodes import Relation

    path = tmp_path / "serving.duckdb"
    writer = export_file(path, "v1.0.0")
    first = writer.copy_data(Relation(schema="marts", identifier="a"), pa.table({"x": [1, 2]}))
    second = writer.copy_data(Relation(schema="marts", identifier="b"), pa.table({"y": ["z"]}))
    writer.commit([])
    assert (first, second) == (2, 1)
    served = duckdb.connect(str(path), read_only=True)
    assert served.execute("select * from marts.a order by x").fetchall() == [(1,), (2,)]
    assert served.execute("select * from marts.b").fetchall() == [("z",)]
