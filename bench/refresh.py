"""The nightly refresh: one day of new data, incremental against a full build.

Run with the project's virtualenv::

    python bench/refresh.py [--orders 1e6] [--repeats 2] [--workdir DIR]
                            [--commands run build_sql] [--out bench/results/refresh.json]

Per size, on the data and project of bench/build.py (``runner demo-data``'s generator, the
last order day held back as the "day": its new orders and lines, the status changes re-sent
that day for older orders, late returns and answers, customer versions, sessions, spend):

1. The state before the night: ``runner run`` on the base data, a database snapshot.
2. The day lands (``data/<table>/day.parquet`` beside ``base.parquet``). For each command,
   ``runner run`` and ``runner build --validator sql``, paired samples in turn (A B A B):
   A = the full build (a fresh database: everything built from the raw files), B = the
   incremental build (from a copy of the snapshot). Wall time of each process, and the
   1-minute load average when it started (the machine is shared).
3. The last incremental database is compared with the last full one table by table
   (EXCEPT ALL both ways, every table and view): the benchmark fails when any differs.

Results go to ``--out`` (a size not run keeps its previous entry); bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build as b  # bench/build.py: data, project and comparison helpers

DEFAULT_OUT = b.HERE / "results" / "refresh.json"
COMMANDS = {
    "run": ["run"],
    "build_sql": ["build", "--validator", "sql"],
}


def runner(project: Path, args: list[str]) -> tuple[b.Measured, dict[str, Any]]:
    """One runner command in ``project``; exits unless every node ended success or warn."""
    results_file = project / "target" / "run_results.json"
    results_file.unlink(missing_ok=True)
    cmd = [*b.runner_command(), *args, "--log-format", "plain"]
    run = b.measured(cmd, project)
    if run.returncode != 0 or not results_file.is_file():
        sys.exit(
            f"{' '.join(cmd)} failed (exit {run.returncode}) in {project}:\n"
            f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    results = json.loads(results_file.read_text())
    bad = [r for r in results["results"] if r["status"] not in ("success", "warn")]
    if bad:
        sys.exit(f"{' '.join(args)}: not successful: {[(r['name'], r['message']) for r in bad]}")
    return run, results


def bench_size(
    label: str,
    orders: int,
    repeats: int,
    workdir: Path,
    limit: str | None,
    commands: dict[str, list[str]],
) -> dict:
    size_dir = workdir / f"orders_{label}"
    data = b.generate_data(size_dir, orders, limit)
    project = b.write_project(size_dir)
    database = project / b.DATABASE
    b.log(f"[{label}] {data['orders']:,} orders; the day: {data['day_rows']}")
    compiled = b.measured([*b.runner_command(), "compile"], project)
    if compiled.returncode != 0:
        sys.exit(f"runner compile failed:\n{compiled.stdout[-3000:]}\n{compiled.stderr[-3000:]}")
    b.warm_file_cache(size_dir / "base")
    snapshot = size_dir / "before_the_day.duckdb"
    full_db, inc_db = size_dir / "full.duckdb", size_dir / "incremental.duckdb"
    out: dict[str, Any] = {
        # per size: sizes are run at different times (--orders 1e7 keeps the 1e6 entry)
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": b.machine_info(),
        "orders": data["orders"],
        "day": data["day_rows"],
        "commands": {},
    }
    try:
        for name, args in commands.items():
            # last night's database, as the same command left it (a build records what
            # its checks read; a run does not check)
            b.remove_day(project)
            b.remove_database(database)
            before, _ = runner(project, args)
            b.move_database(database, snapshot)
            b.log(f"[{label}] {name}: the state before the day built in {before.wall_s:.1f} s")
            b.add_day(size_dir, project)
            b.warm_file_cache(size_dir / "day")
            samples: dict[str, list[float]] = {k: [] for k in ("full", "inc", "load")}
            slowest: dict[str, float] = {}
            for i in range(repeats):
                b.remove_database(database)
                full, _ = runner(project, args)  # A: from nothing
                b.move_database(database, full_db)
                b.copy_database(snapshot, database)
                inc, results = runner(project, args)  # B: from last night's database
                b.move_database(database, inc_db)
                samples["full"].append(full.wall_s)
                samples["inc"].append(inc.wall_s)
                samples["load"] += [full.load_before, inc.load_before]
                slowest = {r["name"]: r["execution_time"] for r in results["results"]}
                b.log(
                    f"[{label}] {name} {i + 1}/{repeats}: full {full.wall_s:.1f} s (load "
                    f"{full.load_before:.1f}), incremental {inc.wall_s:.1f} s (load "
                    f"{inc.load_before:.1f})"
                )
            check = compare(inc_db, full_db)
            full_s, inc_s = statistics.median(samples["full"]), statistics.median(samples["inc"])
            top = sorted(slowest, key=slowest.__getitem__, reverse=True)[:8]
            out["commands"][name] = {
                "command": "runner " + " ".join(args),
                "full_s": round(full_s, 2),
                "incremental_s": round(inc_s, 2),
                "incremental_over_full": round(inc_s / full_s, 3),
                "samples": {k: [round(x, 2) for x in v] for k, v in samples.items()},
                "incremental_slowest_nodes_s": {n: round(slowest[n], 2) for n in top},
                "tables_compared": check["tables_compared"],
                "tables_differing": check["tables_differing"],
            }
            if check["tables_differing"]:
                sys.exit(f"{name}: incremental differs from full in {check['tables_differing']}")
    finally:
        b.remove_day(project)
        for db in (snapshot, full_db, inc_db):
            if not KEEP:  # --keep: to look into a difference
                b.remove_database(db)
    return out


# Not compared: the run history (_runner: when each build ran) and a fit's own timing.
# Floating-point columns are compared to a relative 1e-6: the BG/NBD and Gamma-Gamma fits are
# numerical optimisations whose last digits depend on the order their sums ran in (two full
# builds differ there too). Every other column exactly.
SKIP_SCHEMAS = ("_runner",)
SKIP_COLUMNS = ("fit_seconds",)
FLOATS = ("DOUBLE", "FLOAT")
KEEP = False


def _differing_rows(con: Any, schema: str, table: str) -> tuple[int, int]:
    """Rows of l and of r with no equal row on the other side (EXCEPT ALL both ways; with
    floating-point columns, a full join on the other columns and a tolerance)."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = 'r' "
        "and schema_name = ? and table_name = ? order by column_index",
        [schema, table],
    ).fetchall()
    exact = [f'"{c}"' for c, kind in columns if kind not in FLOATS and c not in SKIP_COLUMNS]
    floats = [f'"{c}"' for c, kind in columns if kind in FLOATS and c not in SKIP_COLUMNS]
    rel = {side: f'{side}."{schema}"."{table}"' for side in ("l", "r")}
    if not floats:
        cols = ", ".join(exact)
        return tuple(  # type: ignore[return-value]
            con.execute(
                f"select count(*) from (select {cols} from {rel[a]} "
                f"except all select {cols} from {rel[z]})"
            ).fetchone()[0]
            for a, z in (("l", "r"), ("r", "l"))
        )
    order = ", ".join([*exact, *floats])
    numbered = {
        side: f"(select *, row_number() over (partition by {', '.join(exact) or '1'} "
        f"order by {order}) as rn_ from {rel[side]})"
        for side in ("l", "r")
    }
    on = " and ".join([*(f"l.{c} is not distinct from r.{c}" for c in exact), "l.rn_ = r.rn_"])
    far = " or ".join(
        f"(l.{c} is null) <> (r.{c} is null) or abs(l.{c} - r.{c}) > 1e-6 * greatest(1, abs(r.{c}))"
        for c in floats
    )
    (left_only, right_only, apart) = con.execute(
        f"select count(*) filter (where r.rn_ is null), count(*) filter (where l.rn_ is null), "
        f"count(*) filter (where l.rn_ is not null and r.rn_ is not null and ({far})) "
        f"from {numbered['l']} as l full join {numbered['r']} as r on {on}"
    ).fetchone()
    return left_only + apart, right_only + apart


def compare(left: Path, right: Path) -> dict[str, Any]:
    """Every table and view of ``right`` against ``left`` (a view such as dim_customers says
    what its tables and the as-of date say, read again). Returns the relations compared and
    those that differ, with their rows found on one side only."""
    con = b.duckdb.connect(":memory:", config={"threads": b.THREADS})
    try:
        con.execute(f"attach {b._sql_path(left)} as l (read_only)")
        con.execute(f"attach {b._sql_path(right)} as r (read_only)")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'r' "
            "union all select schema_name, view_name from duckdb_views() "
            "where database_name = 'r' and not internal order by all"
        ).fetchall()
        differing, compared = [], 0
        for schema, table in tables:
            if schema in SKIP_SCHEMAS:
                continue
            compared += 1
            counts = _differing_rows(con, schema, table)
            if any(counts):
                differing.append(f"{schema}.{table} ({counts[0]} / {counts[1]} rows)")
    finally:
        con.close()
    # the keys keep their names so older entries of the JSON still read: views count too
    return {"tables_compared": compared, "tables_differing": differing}


def markdown_table(sizes: dict[str, dict[str, Any]]) -> str:
    rows = [
        "| orders | command | full build | one-day incremental | incremental / full "
        "| tables (and views) equal to the full build |",
        "|---:|---|---:|---:|---:|:---:|",
    ]
    for label, size in sizes.items():
        for c in size["commands"].values():
            equal = "all" if not c["tables_differing"] else ", ".join(c["tables_differing"])
            rows.append(
                f"| {label} ({size['orders']:,}) | `{c['command']}` | {c['full_s']:.1f} s "
                f"| {c['incremental_s']:.1f} s | {c['incremental_over_full']:.2f} "
                f"| {equal} ({c['tables_compared']}) |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=b.parse_orders, nargs="+", default=[b.parse_orders("1e6")])
    parser.add_argument("--repeats", type=int, default=2, help="A B pairs per command")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, help="keep data and projects here (reused)")
    parser.add_argument("--generate-memory-limit", default=b.MEMORY_LIMIT)
    parser.add_argument("--keep", action="store_true", help="keep the databases (workdir)")
    parser.add_argument(
        "--commands",
        nargs="+",
        choices=sorted(COMMANDS),
        default=list(COMMANDS),
        help="which commands to time (default: all)",
    )
    args = parser.parse_args(argv)
    global KEEP
    KEEP = args.keep
    report: dict[str, Any] = {}
    if args.out.is_file():
        report = json.loads(args.out.read_text())
    report.update(
        benchmark="refresh",
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        machine=b.machine_info(),
    )
    sizes = report.setdefault("sizes", {})
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        for label, orders in args.orders:
            commands = {name: COMMANDS[name] for name in args.commands}
            sizes[label] = bench_size(
                label, orders, args.repeats, workdir, args.generate_memory_limit or None, commands
            )
            report["markdown"] = markdown_table(sizes)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(report["markdown"])


if __name__ == "__main__":
    main()
