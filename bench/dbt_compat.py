"""Build one dbt project with dbt and with the runner, then compare every table.

    python bench/dbt_compat.py PROJECT --dbt-venv /work/dbtvenv [--profiles-dir DIR]
        [--seed-vars '{"load_source_data": true}'] [--rounds 2]

Each round copies the project, unchanged, into two fresh folders: one is built with
``dbt build`` from the dbt virtualenv, the other with ``runner build`` from this one
(A B A B, so a slow moment of the machine hits both). With ``--seed-vars`` each tool first
runs its ``seed`` command with those vars, as a project such as dbt-labs' jaffle-shop asks
(its seeds are disabled unless ``load_source_data`` is set). The last round's two DuckDB
files are compared relation by relation: the same schemas and names, the same relation
kind (table or view), the same column names and types in order, and the same rows (``EXCEPT
ALL`` both ways). Results go to ``bench/results/dbt_compat_<project>.json`` with the wall
times, their medians and the runner / dbt ratio, and the machine's load average.

Run it under ``flock /tmp/bench.lock`` like every benchmark here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

RESULTS = Path(__file__).parent / "results"
# Schemas that are the engine's or the runner's own bookkeeping, not the project's tables.
INTERNAL_SCHEMAS = {"information_schema", "pg_catalog", "_runner"}
# Files a previous build left in the project folder; never copied into a round.
LEFTOVERS = {"target", "logs", "dbt_modules", ".user.yml"}


def copy_project(project: Path, into: Path) -> Path:
    def ignore(_folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in LEFTOVERS or n.endswith((".duckdb", ".duckdb.wal"))}

    shutil.copytree(project, into, ignore=ignore, symlinks=True)
    return into


def run(command: list[str], cwd: Path, log: Path) -> float:
    """Run one command in ``cwd``; its wall time in seconds. Fails loudly with the log."""
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(log.read_text()[-4000:])
        raise SystemExit(f"{command[0]} exited {done.returncode} in {cwd} (log: {log})")
    return seconds


def build(tool: str, exe: Path, folder: Path, args: argparse.Namespace, log: Path) -> float:
    profiles = ["--profiles-dir", str(args.profiles_dir or folder)]
    extra = ["--validator", "sql"] if tool == "runner" else []
    seconds = 0.0
    if args.seed_vars:
        seeds = [str(exe), "seed", *profiles, "--vars", args.seed_vars]
        seconds += run(seeds, folder, log)
    seconds += run([str(exe), "build", *profiles, *extra], folder, log)
    return seconds


def relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, str]:
    rows = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = ?",
        [catalog],
    ).fetchall()
    return {f"{s}.{t}": kind for s, t, kind in rows if s not in INTERNAL_SCHEMAS}


def columns(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> list[list[str]]:
    schema, table = name.split(".", 1)
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    return [list(r) for r in rows]


def compare(dbt_file: Path, runner_file: Path) -> dict:
    con = duckdb.connect()
    con.execute(f"attach '{dbt_file}' as dbt_db (read_only)")
    con.execute(f"attach '{runner_file}' as runner_db (read_only)")
    dbt_rel, runner_rel = relations(con, "dbt_db"), relations(con, "runner_db")
    report: dict = {
        "only_in_dbt": sorted(set(dbt_rel) - set(runner_rel)),
        "only_in_runner": sorted(set(runner_rel) - set(dbt_rel)),
        "relations": {},
    }
    for name in sorted(set(dbt_rel) & set(runner_rel)):
        schema, table = name.split(".", 1)
        ident = f'"{schema}"."{table}"'
        cols_dbt, cols_runner = columns(con, "dbt_db", name), columns(con, "runner_db", name)
        entry = {
            "kind": {"dbt": dbt_rel[name], "runner": runner_rel[name]},
            "columns_equal": cols_dbt == cols_runner,
            "rows_dbt": con.execute(f"select count(*) from dbt_db.{ident}").fetchone()[0],
        }
        if not entry["columns_equal"]:
            entry["columns"] = {"dbt": cols_dbt, "runner": cols_runner}
        if [c for c, _ in cols_dbt] == [c for c, _ in cols_runner]:
            both = (f"dbt_db.{ident}", f"runner_db.{ident}")
            missing, extra = (
                con.execute(f"select count(*) from (from {a} except all from {b})").fetchone()[0]
                for a, b in (both, both[::-1])
            )
            entry["rows_only_in_dbt"], entry["rows_only_in_runner"] = missing, extra
        entry["same"] = (
            entry["columns_equal"]
            and entry["kind"]["dbt"] == entry["kind"]["runner"]
            and entry.get("rows_only_in_dbt") == 0
            and entry.get("rows_only_in_runner") == 0
        )
        report["relations"][name] = entry
    report["all_same"] = not report["only_in_dbt"] and all(
        e["same"] for e in report["relations"].values()
    )
    return report


def tests_run(tool: str, folder: Path) -> dict[str, int]:
    """Data tests and unit tests the tool's last build ran, from its run_results.json."""
    results = json.loads((folder / "target" / "run_results.json").read_text())["results"]
    if tool == "dbt":
        kinds = [r["unique_id"].split(".")[0] for r in results]
        return {"data_tests": kinds.count("test"), "unit_tests": kinds.count("unit_test")}
    units = [re.search(r"(\d+) unit tests? passed", r.get("message") or "") for r in results]
    return {
        "data_tests": sum(len(r.get("expectations") or ()) for r in results),
        "unit_tests": sum(int(m.group(1)) for m in units if m),
    }


def database_file(folder: Path) -> Path:
    found = sorted(folder.glob("*.duckdb"))
    if len(found) != 1:
        raise SystemExit(f"expected one .duckdb file in {folder}, found {found}")
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--dbt-venv", type=Path, required=True)
    parser.add_argument("--runner", type=Path, default=Path(sys.executable).parent / "runner")
    parser.add_argument("--profiles-dir", type=Path)
    parser.add_argument("--seed-vars", help="vars for a seed step before build, as JSON")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    project = args.project.resolve()
    if args.profiles_dir:
        args.profiles_dir = args.profiles_dir.resolve()
    exes = {"dbt": args.dbt_venv / "bin" / "dbt", "runner": args.runner}
    times: dict[str, list[float]] = {"dbt": [], "runner": []}
    work = Path(tempfile.mkdtemp(prefix="dbt_compat_"))
    folders: dict[str, Path] = {}
    for round_number in range(args.rounds):
        for tool in ("dbt", "runner"):  # A B A B
            folder = copy_project(project, work / f"{tool}_{round_number}")
            log = work / f"{tool}_{round_number}.log"
            times[tool].append(build(tool, exes[tool], folder, args, log))
            folders[tool] = folder
    report = compare(database_file(folders["dbt"]), database_file(folders["runner"]))
    medians = {tool: statistics.median(ts) for tool, ts in times.items()}
    report["tests_run"] = {tool: tests_run(tool, folder) for tool, folder in folders.items()}
    result = {
        "project": project.name,
        "commands": {
            tool: ([f"{tool} seed --vars '{args.seed_vars}'"] if args.seed_vars else [])
            + [f"{tool} build" + (" --validator sql" if tool == "runner" else "")]
            for tool in exes
        },
        "profiles_dir": str(args.profiles_dir) if args.profiles_dir else "the project folder",
        "wall_seconds": times,
        "median_seconds": medians,
        "runner_over_dbt": round(medians["runner"] / medians["dbt"], 3),
        "loadavg": os.getloadavg(),
        "comparison": report,
        "work_folder": str(work),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"dbt_compat_{project.name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    differing = [n for n, e in report["relations"].items() if not e["same"]]
    print(
        f"{project.name}: {len(report['relations'])} relations compared, differing: "
        f"{differing or 'none'}, only in dbt: {report['only_in_dbt'] or 'none'}"
    )
    print(f"tests run: {report['tests_run']}")
    print(
        f"median wall: dbt {medians['dbt']:.2f}s, runner {medians['runner']:.2f}s "
        f"(ratio {result['runner_over_dbt']}) -> {out}"
    )


if __name__ == "__main__":
    main()
