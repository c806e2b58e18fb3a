"""What validating the warehouse's expectations costs: Great Expectations against plain SQL.

Run with the project's virtualenv::

    python bench/validate.py [--orders 1e6 1e7] [--repeats N] [--workdir DIR]
                             [--size-builds run build build_sql] [--demo-repeats N]
                             [--no-demo] [--warmup demo ...] [--sql-validator demo ...]
                             [--profile demo ...] [--out bench/results/validate.json]

The project files (pyproject.toml, profiles.yml, models, macros, seeds) are copied once at
the start, so every size measures the same declarations. Then, for the bundled demo data
(a copy of the project with its seeds: /work/main/target is never touched) and for each
size (``--orders``; data and project as bench/build.py makes them, same ``--workdir``
layout, so a workdir build.py filled is reused once its files match their data.json):

1. Builds, each the real CLI as a fresh process on a fresh database (the demo: on a copy
   of a database holding just the loaded seeds, which ``runner run`` needs), in an order
   rotating with each repeat: ``runner run`` (no expectations), ``runner build
   --validator gx`` and ``runner build --validator sql``. Demo: all three, ``--demo-repeats``
   times; sizes below 5e6 orders: run and build, once; 1e7: run once, which builds the
   database step 2 reads. From run_results.json's ``expectations`` block: the checks' time
   (``validate_s``), how long the GX import took on its background thread
   (``gx_import_s``) and how long the build waited for it (``gx_import_wait_s``): the
   import hidden is the difference. Wall time is the process's, start to exit.
2. Validation, in one fresh Python process on the database the builds left, opened as
   the build opens it (the profile's threads and memory_limit): the project is loaded and
   compiled, the expectations parsed and ``as_of`` taken as ``runner.build`` does (its
   ``_expectations`` and ``_NodeRunner``). The GX import and the GX context are timed once,
   on their own. Then ``--repeats`` times, node by node (topological order), the sides in
   an order rotating per node and repeat: (a) ``Validator.validate`` for the node's
   expectations, as the build calls it, through a cursor that times every DuckDB call GX
   makes (so GX's time splits into SQL and Python); (b) the plain-SQL twins:
   ``expectation_sql(...)`` per expectation on one cursor, fetching the failing count;
   (c, ``--sql-validator``) the runner's own ``SqlValidator``. ``gx:`` declarations have no
   plain twin and are skipped on all sides. Every side must agree with the plain SQL on
   every expectation's status (and on the failing count where it reports one), and with
   the statuses the timed builds recorded, or the benchmark stops (after saving). With
   ``--warmup`` an untimed plain pass runs first; with ``--profile`` one more GX pass runs
   under cProfile (where its time goes, by package).

Results go to ``--out`` (a size not run keeps its previous entry); see bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import hashlib
import importlib.util
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_OUT = HERE / "results" / "validate.json"
DEMO_FILES = ("pyproject.toml", "profiles.yml", "models", "macros", "seeds")
DEMO_DATABASE = "target/warehouse.duckdb"  # profiles.yml's dev path without RUNNER_DUCKDB_PATH
TARGETS = {"build_minus_run_demo_s": 2.0, "gx_over_plain": 1.5}


def _load_build_bench() -> Any:
    """bench/build.py as a module (data generation, project copy, process measurement)."""
    spec = importlib.util.spec_from_file_location("bench_build", HERE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_build"] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- builds

# What each timed build runs: runner <args> --log-format plain.
BUILDS = {
    "run": ["run"],
    "build": ["build", "--validator", "gx"],
    "build_sql": ["build", "--validator", "sql"],
}


def cli_build(B: Any, project: Path, variant: str) -> dict[str, Any]:
    """One ``runner run`` or ``runner build`` in ``project``, measured; exits unless it
    succeeded with no node in error. run_results.json's ``expectations`` block says how
    long the GX import took on its background thread (``gx_import_s``), how long the build
    waited for it (``gx_import_wait_s``) and how long the checks took (``validate_s``)."""
    results_file = project / "target" / "run_results.json"
    results_file.unlink(missing_ok=True)
    cmd = [*B.runner_command(), *BUILDS[variant], "--log-format", "plain"]
    run = B.measured(cmd, project)
    if run.returncode != 0 or not results_file.is_file():
        sys.exit(
            f"{' '.join(cmd)} failed (exit {run.returncode}) in {project}:\n"
            f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    results = json.loads(results_file.read_text())
    bad = [
        f"{r['name']}: {r['status']}: {r['message']}"
        for r in results["results"]
        if r["status"] not in ("success", "warn")
    ]
    if bad or not results["results"]:
        sys.exit(f"{' '.join(cmd)} in {project}: {len(bad)} nodes failed:\n" + "\n".join(bad))
    quality = results.get("expectations")
    if variant == "run" and quality is not None:
        sys.exit("runner run ran expectations: it should not")
    if variant != "run" and not quality:
        sys.exit(f"{' '.join(cmd)}: no expectations block in run_results.json")
    quality = quality or {}
    imported, wait = quality.get("gx_import_s"), quality.get("gx_import_wait_s")
    sample: dict[str, Any] = {
        "wall_s": round(run.wall_s, 3),
        "in_process_s": round(results["elapsed_time"], 3),
        "peak_rss_mib": round(run.peak_rss_mib),
        "load_before": round(run.load_before, 2),
        "validator": quality.get("validator"),
        "import_s": imported,
        "import_wait_s": wait if imported is not None else None,
        "import_hidden_s": round(imported - wait, 3) if imported is not None else None,
        "validate_s": quality.get("validate_s"),
        "stderr": run.stderr.strip()[-500:],
    }
    statuses = {
        (r["unique_id"], e["name"]): e["status"]
        for r in results["results"]
        for e in r.get("expectations") or ()
    }
    return {"sample": sample, "statuses": statuses}


def builds(
    B: Any, project: Path, database: Path, repeats: int, variants: list[str], seeded: Path | None
) -> dict:
    """``variants`` of BUILDS (``run`` first: the others are compared with it), in an
    order rotating with each repeat, each on a fresh database (a copy of ``seeded``)."""
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    statuses: dict[str, dict[tuple[str, str], str]] = {}
    for i in range(repeats):
        shift = i % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            if seeded is not None:
                B.copy_database(seeded, database)
            else:
                B.remove_database(database)
            got = cli_build(B, project, variant)
            samples[variant].append(got["sample"])
            statuses[variant] = got["statuses"]
            s = got["sample"]
            extra = ""
            if s["validate_s"] is not None:
                extra = f", checks {s['validate_s']:.2f} s"
            if s["import_s"] is not None:
                extra += f", GX import {s['import_s']:.2f} s (waited {s['import_wait_s']:.2f} s)"
            B.log(
                f"  {' '.join(BUILDS[variant])} {i + 1}/{repeats}: {s['wall_s']:.2f} s "
                f"(load {s['load_before']}){extra}"
            )

    def med(variant: str, key: str) -> float | None:
        values = [s[key] for s in samples[variant] if s[key] is not None]
        return round(statistics.median(values), 3) if values else None

    out: dict[str, Any] = {}
    run_s = med("run", "wall_s")
    assert run_s is not None
    for variant in variants:
        wall = med(variant, "wall_s")
        assert wall is not None
        out[variant] = {
            "command": "runner " + " ".join(BUILDS[variant]),
            "wall_s": wall,
            "minus_run_s": round(wall - run_s, 3),
            "over_run": round(wall / run_s, 3),
            "in_process_s": med(variant, "in_process_s"),
            "peak_rss_mib": med(variant, "peak_rss_mib"),
            "validate_s": med(variant, "validate_s"),
            "gx_import_s": med(variant, "import_s"),
            "gx_import_wait_s": med(variant, "import_wait_s"),
            "gx_import_hidden_s": med(variant, "import_hidden_s"),
            "samples": samples[variant],
        }
    out["_statuses"] = statuses
    return out


# --------------------------------------------------------------------------- validation


class _Clock:
    """Seconds spent in, and number of, the DuckDB calls made through TimedCursors."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0
        self.calls = 0


class TimedCursor:
    """A DuckDB cursor whose executes and fetches are timed (everything else passes on)."""

    def __init__(self, cursor: Any, clock: _Clock) -> None:
        self._cursor = cursor
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._cursor, name)
        if name in _TIMED and callable(value):
            clock = self._clock

            def timed(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return value(*args, **kwargs)
                finally:
                    clock.seconds += time.perf_counter() - started
                    clock.calls += 1

            return timed
        return value

    def execute(self, *args: Any, **kwargs: Any) -> TimedCursor:
        started = time.perf_counter()
        try:
            self._cursor.execute(*args, **kwargs)
        finally:
            self._clock.seconds += time.perf_counter() - started
            self._clock.queries += 1
            self._clock.calls += 1
        return self


_TIMED = frozenset(
    {
        "executemany",
        "fetchone",
        "fetchall",
        "fetchmany",
        "fetchdf",
        "fetch_df",
        "df",
        "fetchnumpy",
        "arrow",
        "fetch_arrow_table",
        "fetch_record_batch",
        "pl",
    }
)


def _plain_denominator(exp: Any, relation: str) -> str | None:
    """For ``mostly``: the rows the share is taken of (GX: non-NULL values for column
    checks, every row for not_null and the unexpected-rows checks)."""
    if exp.mostly is None:
        return None
    a = exp.arguments

    def q(c: str) -> str:
        return '"' + c.replace('"', '""') + '"'

    cols: list[str] = []
    if exp.type in ("unique", "accepted_values", "between"):
        cols = [a["column"]]
    elif exp.type == "compound_unique":
        cols = list(a["columns"])
    elif exp.type == "column_a_gte_b":
        cols = [a["column_a"], a["column_b"]]
    where = " and ".join(f"{q(c)} is not null" for c in cols)
    return f"select count(*) from {relation}" + (f" where {where}" if where else "")


def _plain_status(exp: Any, failing: int, denominator: int | None) -> str:
    """pass/warn/fail from the plain failing count: severity, error_if/warn_if, mostly.
    Written from the declarations' documented semantics, not from runner's GX mapping."""
    from runner.quality import FAIL, PASS, WARN, threshold_holds

    if exp.error_if or exp.warn_if:
        if exp.severity == "error" and threshold_holds(exp.error_if or "!=0", failing):
            return FAIL
        return WARN if threshold_holds(exp.warn_if or "!=0", failing) else PASS
    success = failing == 0
    if exp.mostly is not None and denominator is not None:
        success = denominator == 0 or (denominator - failing) / denominator >= exp.mostly
    if success:
        return PASS
    return FAIL if exp.severity == "error" else WARN


def _package_of(filename: str, function: str) -> str:
    if filename == "~":  # a builtin: which C extension
        if "duckdb" in function.lower():
            return "duckdb (SQL execution)"
        return "builtins"
    if filename == __file__ or filename.endswith("bench/validate.py"):
        # TimedCursor: DuckDB's methods (nanobind) are invisible to cProfile, so their time
        # shows as the own time of the timed wrapper calling them.
        return "duckdb (SQL execution)"
    for marker, name in (
        ("great_expectations", "great_expectations"),
        ("sqlalchemy", "sqlalchemy"),
        ("duckdb_engine", "duckdb_engine"),
        ("pydantic", "pydantic"),
        ("/runner/", "runner"),
        ("marshmallow", "marshmallow"),
        ("pandas", "pandas"),
        ("numpy", "numpy"),
    ):
        if marker in filename:
            return name
    if "site-packages" in filename:
        return "other packages"
    return "python stdlib"


def profile_summary(profile: cProfile.Profile, wall_s: float) -> dict[str, Any]:
    stats = pstats.Stats(profile)
    by_package: dict[str, float] = {}
    top: list[tuple[float, str]] = []
    total = 0.0
    for (filename, line, function), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        package = _package_of(filename, function)
        by_package[package] = by_package.get(package, 0.0) + tt
        total += tt
        short = filename.split("site-packages/")[-1]
        top.append((tt, f"{short}:{line}({function})"))
    top.sort(reverse=True)
    # GX's stages: its functions by cumulative time (nested, so they overlap).
    stages = sorted(
        (
            (ct, f"{filename.split('site-packages/')[-1]}:{line}({function})")
            for (filename, line, function), (_cc, _nc, _tt, ct, _c) in stats.stats.items()  # type: ignore[attr-defined]
            if "great_expectations" in filename
        ),
        reverse=True,
    )
    return {
        "wall_s_under_profiler": round(wall_s, 3),
        "profiled_s": round(total, 3),
        "share_by_package": {
            k: round(v / total, 3) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])
        },
        "top_functions_by_own_time": [
            {"function": name, "seconds": round(tt, 3)} for tt, name in top[:15]
        ],
        "great_expectations_by_cumulative_time": [
            {"function": name, "seconds": round(ct, 3)} for ct, name in stages[:25]
        ],
    }


SIDES = ("gx", "plain", "sql_validator")


def _progress(spec: dict[str, Any], message: str) -> None:
    if spec.get("log"):
        with open(spec["log"], "a") as f:
            f.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")


def validation_worker(spec_file: Path) -> None:
    """Step 2, in its own process: see the module docstring. Writes JSON to spec['out']."""
    spec = json.loads(spec_file.read_text())
    project_dir = Path(spec["project"])
    repeats = int(spec["repeats"])
    sides = SIDES if spec.get("sql_validator") else SIDES[:2]
    started = time.perf_counter()
    from runner import quality
    from runner.build import BuildOptions, select_for
    from runner.build_checks import ChecksAsOf, expectations_for, node_relations
    from runner.compiler import compile_models
    from runner.engines.duckdb import DuckDBEngine
    from runner.materialize import is_incremental_run
    from runner.nodes import Model, Source
    from runner.parser import load_project
    from runner.project import load_settings, load_target
    from runner.quality import gx_run

    if "great_expectations" in sys.modules:
        sys.exit("great_expectations imported before the validator asked for it")
    settings = load_settings(project_dir)
    target = load_target(settings, None, None)
    project = load_project(settings, target, {}, use_cache=True)
    graph = project.graph
    engine = DuckDBEngine(target, settings.root)  # the build's connection: threads, memory
    try:
        # As runner.build.run_build: the selection, the compilation, the expectations
        # (expectations_for also starts the GX import on its background thread), and as_of.
        options = BuildOptions(command="build")
        selected = select_for(project, options)
        probe = engine.session()
        compilation = compile_models(
            project,
            {uid for uid in selected if isinstance(graph.nodes[uid], Model)},
            write=False,
            is_incremental=lambda m: is_incremental_run(probe.relation_kind(m.relation), m, False),
        )
        parsed = expectations_for(project, selected, compilation, "gx")
        # the warehouse is built already: its as_of model holds the date, as for `runner test`
        as_of = ChecksAsOf(project, "test").built_value(probe)
        checks = {uid: [e for e in exps if e.type != "gx"] for uid, exps in parsed.items()}
        skipped_gx = sum(len(v) for v in parsed.values()) - sum(len(v) for v in checks.values())
        order = [uid for uid in graph.topological_order(set(checks)) if checks[uid]]
        # As runner.build_checks.make_validator, GX's cursors timed.
        resolve = node_relations(project).__getitem__
        loaded_s = time.perf_counter() - started
        gx_clock = _Clock()
        validator = quality.Validator(
            lambda: TimedCursor(engine.connection.cursor(), gx_clock), resolve=resolve
        )
        sql_validator = quality.SqlValidator(engine.connection.cursor, resolve=resolve)
        plain_cursor = engine.connection.cursor()

        # One-time: the GX import (started by _expectations, waited for here with nothing
        # else running), then the context, built by the first validation (its timings).
        while gx_run.import_seconds is None:  # set by the import thread when it is done
            time.sleep(0.005)
        import_s = gx_run.import_seconds

        def run_gx(uid: str) -> tuple[float, list[Any], float, int]:
            relation = graph.nodes[uid].relation.render()
            sql_before, queries_before = gx_clock.seconds, gx_clock.queries
            t0 = time.perf_counter()
            results = validator.validate(uid, relation, checks[uid], as_of=as_of)
            return (
                time.perf_counter() - t0,
                results,
                gx_clock.seconds - sql_before,
                gx_clock.queries - queries_before,
            )

        def run_sql_validator(uid: str) -> tuple[float, list[Any]]:
            relation = graph.nodes[uid].relation.render()
            t0 = time.perf_counter()
            results = sql_validator.validate(uid, relation, checks[uid], as_of=as_of)
            return time.perf_counter() - t0, results

        def run_plain(uid: str) -> tuple[float, list[tuple[int, int | None, float]]]:
            relation = graph.nodes[uid].relation.render()
            each = []
            t0 = time.perf_counter()
            for exp in checks[uid]:
                s = time.perf_counter()
                query = quality.expectation_sql(exp, relation, resolve, as_of=as_of)
                (count,) = plain_cursor.execute(query).fetchone()
                denominator_sql = _plain_denominator(exp, relation)
                denominator = None
                if denominator_sql is not None:
                    (denominator,) = plain_cursor.execute(denominator_sql).fetchone()
                each.append((int(count), denominator, time.perf_counter() - s))
            return time.perf_counter() - t0, each

        # Untimed: the plain checks once (warms DuckDB's buffer pool for every side).
        t_warm = time.perf_counter()
        if spec.get("warmup"):
            for uid in order:
                run_plain(uid)
        warmup_s = time.perf_counter() - t_warm if spec.get("warmup") else None

        per_node: dict[str, dict[str, Any]] = {
            uid: {
                "gx": [],
                "plain": [],
                "sql_validator": [],
                "gx_sql": [],
                "gx_queries": [],
                "load": [],
                "each": [],
            }
            for uid in order
        }
        disagreements: list[dict[str, Any]] = []
        statuses: dict[str, dict[tuple[str, str], str]] = {side: {} for side in SIDES}
        counts: dict[tuple[str, str], int] = {}
        context_setup_s = None
        first_gx: dict[str, float] = {}
        t_loop = time.perf_counter()
        for r in range(repeats):
            for k, uid in enumerate(order):
                rec = per_node[uid]
                rec["load"].append(round(os.getloadavg()[0], 2))
                shift = (r + k) % len(sides)
                gx_results: list[Any] = []
                sql_results: list[Any] = [None] * len(checks[uid])
                plain_each: list[tuple[int, int | None, float]] = []
                for side in sides[shift:] + sides[:shift]:
                    if side == "gx":
                        seconds, gx_results, sql_s, queries = run_gx(uid)
                        if context_setup_s is None:  # the first validation built the context
                            context_setup_s = validator.timings["setup"]
                            seconds -= validator.timings["import_wait"] + context_setup_s
                        if r == 0:
                            first_gx[uid] = seconds
                        rec["gx"].append(seconds)
                        rec["gx_sql"].append(sql_s)
                        rec["gx_queries"].append(queries)
                    elif side == "plain":
                        seconds, plain_each = run_plain(uid)
                        rec["plain"].append(seconds)
                    else:
                        seconds, sql_results = run_sql_validator(uid)
                        rec["sql_validator"].append(seconds)
                rec["each"].append(plain_each)
                for exp, gx_result, sql_result, (count, denominator, _s) in zip(
                    checks[uid], gx_results, sql_results, plain_each, strict=True
                ):
                    plain = _plain_status(exp, count, denominator)
                    key = (uid, exp.name)
                    statuses["gx"][key] = gx_result.status
                    statuses["plain"][key] = plain
                    counts[key] = count
                    compared = [("gx", gx_result)]
                    if sql_result is not None:
                        statuses["sql_validator"][key] = sql_result.status
                        compared.append(("sql_validator", sql_result))
                    for side, result in compared:
                        same_count = result.failing_count in (None, count)
                        if result.status != plain or not same_count:
                            disagreements.append(
                                {
                                    "node": uid,
                                    "expectation": exp.name,
                                    "repeat": r,
                                    "side": side,
                                    "status": result.status,
                                    "failing_count": result.failing_count,
                                    "message": result.message,
                                    "plain_status": plain,
                                    "plain_failing_count": count,
                                }
                            )
                _progress(
                    spec,
                    f"{r + 1}/{repeats} {uid}: "
                    + ", ".join(f"{side} {rec[side][-1]:.2f} s" for side in sides),
                )
        loop_s = time.perf_counter() - t_loop

        profile = None
        if spec.get("profile"):
            profiler = cProfile.Profile()
            t_p = time.perf_counter()
            profiler.enable()
            for uid in order:
                run_gx(uid)
            profiler.disable()
            profile = profile_summary(profiler, time.perf_counter() - t_p)
        validator.close()
        sql_validator.close()
        plain_cursor.close()
        report = _validation_report(
            graph,
            order,
            checks,
            per_node,
            statuses,
            counts,
            repeats,
            first_gx,
            Source,
        )
        report.update(
            {
                "gx_declarations_skipped": skipped_gx,
                "as_of": str(as_of),
                "one_time": {
                    "load_and_compile_project_s": round(loaded_s, 3),
                    "gx_import_s": None if import_s is None else round(import_s, 3),
                    "gx_context_setup_s": None
                    if context_setup_s is None
                    else round(context_setup_s, 3),
                    "plain_warmup_pass_s": None if warmup_s is None else round(warmup_s, 3),
                    "timed_loop_s": round(loop_s, 3),
                },
                "disagreements": disagreements,
                "profile": profile,
            }
        )
    finally:
        engine.close()
    Path(spec["out"]).write_text(json.dumps(report, default=str))


def _validation_report(
    graph: Any,
    order: list[str],
    checks: dict[str, list[Any]],
    per_node: dict[str, dict[str, Any]],
    statuses: dict[str, dict[tuple[str, str], str]],
    counts: dict[tuple[str, str], int],
    repeats: int,
    first_gx: dict[str, float],
    source_class: type,
) -> dict[str, Any]:
    med = statistics.median
    nodes_out = []
    for uid in order:
        rec = per_node[uid]
        node = graph.nodes[uid]
        gx_s, plain_s, sql_s = med(rec["gx"]), med(rec["plain"]), med(rec["gx_sql"])
        types: dict[str, int] = {}
        for exp in checks[uid]:
            types[exp.type] = types.get(exp.type, 0) + 1
        nodes_out.append(
            {
                "node": node.display_name if isinstance(node, source_class) else node.name,
                "unique_id": uid,
                "materialized": node.materialized,
                "expectations": len(checks[uid]),
                "types": types,
                "gx_s": round(gx_s, 4),
                "plain_s": round(plain_s, 4),
                "ratio": round(gx_s / plain_s, 2) if plain_s else None,
                "sql_validator_s": round(med(rec["sql_validator"]), 4)
                if rec["sql_validator"]
                else None,
                "gx_sql_s": round(sql_s, 4),
                "gx_python_s": round(gx_s - sql_s, 4),
                "gx_queries": int(med(rec["gx_queries"])),
                "plain_queries": len(checks[uid])
                + sum(1 for e in checks[uid] if e.mostly is not None),
                "gx_first_call_s": round(first_gx[uid], 4),
                "samples": {
                    "gx_s": [round(x, 4) for x in rec["gx"]],
                    "plain_s": [round(x, 4) for x in rec["plain"]],
                    "sql_validator_s": [round(x, 4) for x in rec["sql_validator"]],
                    "gx_sql_s": [round(x, 4) for x in rec["gx_sql"]],
                    "load": rec["load"],
                },
                "expectation_list": [
                    {
                        "name": exp.name,
                        "type": exp.type,
                        "plain_s": round(med([e[i][2] for e in rec["each"]]), 4),
                        "failing_count": counts[(uid, exp.name)],
                        "status": statuses["gx"][(uid, exp.name)],
                    }
                    for i, exp in enumerate(checks[uid])
                ],
            }
        )
    per_repeat = {
        side: [sum(per_node[uid][side][r] for uid in order) for r in range(repeats)]
        for side in ("gx", "plain", "sql_validator", "gx_sql")
        if all(per_node[uid][side] for uid in order)
    }
    gx_total, plain_total = med(per_repeat["gx"]), med(per_repeat["plain"])
    sql_total = med(per_repeat["gx_sql"])
    validator_total = med(per_repeat["sql_validator"]) if "sql_validator" in per_repeat else None
    n_exp = sum(len(checks[uid]) for uid in order)
    gx_statuses = statuses["gx"]
    return {
        "nodes_with_expectations": len(order),
        "expectations": n_exp,
        "repeats": repeats,
        "totals": {
            "gx_s": round(gx_total, 3),
            "plain_s": round(plain_total, 3),
            "ratio": round(gx_total / plain_total, 3),
            "sql_validator_s": None if validator_total is None else round(validator_total, 3),
            "sql_validator_over_plain": None
            if validator_total is None
            else round(validator_total / plain_total, 3),
            "gx_sql_s": round(sql_total, 3),
            "gx_python_s": round(gx_total - sql_total, 3),
            "gx_sql_over_plain": round(sql_total / plain_total, 3),
            "gx_queries": sum(n["gx_queries"] for n in nodes_out),
            "plain_queries": sum(n["plain_queries"] for n in nodes_out),
            "gx_ms_per_expectation": round(1000 * gx_total / n_exp, 2),
            "gx_python_ms_per_expectation": round(1000 * (gx_total - sql_total) / n_exp, 2),
            "plain_ms_per_expectation": round(1000 * plain_total / n_exp, 2),
            "per_repeat": {k: [round(x, 3) for x in v] for k, v in per_repeat.items()},
        },
        "statuses": {
            "pass": sum(1 for s in gx_statuses.values() if s == "pass"),
            "not_pass": sorted(
                f"{u}: {n}: {s}" for (u, n), s in gx_statuses.items() if s != "pass"
            ),
        },
        "nodes": nodes_out,
        "_gx_statuses": [[u, n, s] for (u, n), s in gx_statuses.items()],
    }


def validation(B: Any, project: Path, plan: dict[str, Any], log: Path) -> dict[str, Any]:
    """Step 2 in a fresh process; ``plan``: repeats, and whether to warm up, add the SQL
    validator as a third side, profile. Per-node progress goes to ``log``."""
    log.unlink(missing_ok=True)
    B.log(f"  per-node progress in {log}")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.json"
        out = Path(tmp) / "out.json"
        spec.write_text(
            json.dumps({"project": str(project), "out": str(out), "log": str(log), **plan})
        )
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec)]
        run = B.measured(cmd, project)
        if run.returncode != 0 or not out.is_file():
            sys.exit(
                f"the validation process failed (exit {run.returncode}):\n{run.stderr[-4000:]}"
            )
        result = json.loads(out.read_text())
    result["process"] = {
        "wall_s": round(run.wall_s, 3),
        "peak_rss_mib": round(run.peak_rss_mib),
        "load_before": round(run.load_before, 2),
        "stderr": run.stderr.strip()[-500:],
    }
    return result


# --------------------------------------------------------------------------- one size


def data_is_valid(size_dir: Path) -> bool:
    """Whether ``size_dir`` holds the split data build.py's marker describes: every base
    and day file readable with the row counts it records (Parquet metadata only)."""
    import duckdb

    marker = size_dir / "data.json"
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text())
        con = duckdb.connect(":memory:")
        try:
            for folder, rows in (("base", info["base_rows"]), ("day", info["day_rows"])):
                for table, count in rows.items():
                    path = size_dir / folder / f"{table}.parquet"
                    if not path.is_file():
                        return False
                    (got,) = con.execute(
                        "select sum(num_rows) from parquet_file_metadata(?)", [str(path)]
                    ).fetchone()
                    if got != count:
                        return False
        finally:
            con.close()
    except (OSError, ValueError, KeyError, duckdb.Error):
        return False
    return True


def check_builds(validated: dict[str, Any], built: dict[str, dict[Any, str]]) -> list[str]:
    """The statuses the timed builds recorded against those of the validation process."""
    mine = {(u, n): s for u, n, s in validated.pop("_gx_statuses")}
    problems = []
    for variant, theirs in built.items():
        if variant == "run":
            continue
        for key, status in sorted(mine.items()):
            if key not in theirs:
                problems.append(f"{key[0]}: {key[1]}: not in {variant}'s run_results.json")
            elif theirs[key] != status:
                problems.append(f"{key[0]}: {key[1]}: {variant} {theirs[key]}, benchmark {status}")
    return problems


def stop_if_disagreeing(label: str, result: dict[str, Any]) -> None:
    problems = [
        f"{d['node']}: {d['expectation']} (repeat {d['repeat']}): {d['side']} {d['status']} "
        f"({d['failing_count']} failing; {d['message']}), plain SQL {d['plain_status']} "
        f"({d['plain_failing_count']} failing)"
        for d in result["validation"]["disagreements"]
    ] + result["validation"]["build_disagreements"]
    if problems:
        sys.exit(f"[{label}] the checks disagree:\n  " + "\n  ".join(problems))


@contextlib.contextmanager
def project_files_from(B: Any, snapshot: Path) -> Iterator[None]:
    """bench/build.py's write_project copies the project files from its REPO: from the
    snapshot instead, so every size measures the same declarations."""
    saved = B.REPO
    B.REPO = snapshot
    try:
        yield
    finally:
        B.REPO = saved


def snapshot_project(workdir: Path) -> tuple[Path, dict[str, Any]]:
    """Copy the project files (as they are in the working tree) once, and fingerprint them."""
    snapshot = workdir / "project_snapshot"
    shutil.rmtree(snapshot, ignore_errors=True)
    snapshot.mkdir(parents=True)
    digest = hashlib.sha256()
    for name in DEMO_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, snapshot / name)
            files = sorted(p for p in (snapshot / name).rglob("*") if p.is_file())
        else:
            shutil.copyfile(src, snapshot / name)
            files = [snapshot / name]
        if name == "seeds":
            continue
        for file in files:
            digest.update(str(file.relative_to(snapshot)).encode() + b"\0" + file.read_bytes())
    return snapshot, {"files_sha256": digest.hexdigest()[:16], "copied_at": _now()}


def to_json(value: Any, indent: str = "") -> str:
    """JSON with each list or object on one line when it fits in 100 columns, else one item
    per line (the per-expectation lists stay readable and the file small)."""
    flat = json.dumps(value, default=str, ensure_ascii=False)
    if len(indent) + len(flat) <= 100 or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {to_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    items = [inner + to_json(v, inner) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + indent + "]"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def bench_size(
    B: Any,
    label: str,
    orders: int,
    plan: dict[str, Any],
    workdir: Path,
    snapshot: Path,
    gen_limit: str | None,
) -> dict[str, Any]:
    size_dir = workdir / f"orders_{label}"
    if (size_dir / "data.json").is_file() and not data_is_valid(size_dir):
        B.log(f"[{label}] the data in {size_dir} does not match its data.json: generating again")
        (size_dir / "data.json").unlink()
    data = B.generate_data(size_dir, orders, gen_limit)
    with project_files_from(B, snapshot):
        project = B.write_project(size_dir)
    database = project / B.DATABASE
    B.log(f"[{label}] {data['orders']:,} orders; project in {project}")
    compiled = B.measured([*B.runner_command(), "compile"], project)  # warm parse cache
    if compiled.returncode != 0:
        sys.exit(f"runner compile failed:\n{compiled.stdout[-3000:]}\n{compiled.stderr[-3000:]}")
    B.warm_file_cache(size_dir / "base")
    B.log(f"[{label}] builds: {', '.join(plan['builds'])}, {plan['build_repeats']}x")
    built = builds(B, project, database, plan["build_repeats"], plan["builds"], seeded=None)
    B.log(f"[{label}] validation, {plan['repeats']}x, on {database}")
    validated = validation(B, project, _worker_plan(plan), workdir / f"validate_{label}.log")
    validated["build_disagreements"] = check_builds(validated, built.pop("_statuses"))
    B.remove_database(database)
    return {
        "orders": data["orders"],
        "customers_param": data["params"]["customers"],
        "plan": plan,
        "date": _now(),
        "builds": built,
        "validation": validated,
    }


def _worker_plan(plan: dict[str, Any]) -> dict[str, Any]:
    return {k: plan[k] for k in ("repeats", "warmup", "sql_validator", "profile")}


def bench_demo(B: Any, plan: dict[str, Any], workdir: Path, snapshot: Path) -> dict:
    """The bundled demo (seeds), in a copy of the project (never /work/main/target)."""
    project = workdir / "demo" / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(snapshot, project)
    database = project / DEMO_DATABASE
    # A warm parse cache, then the seeds `runner run` needs.
    for command in (["compile"], ["seed", "--log-format", "plain"]):
        done = B.measured([*B.runner_command(), *command], project)
        if done.returncode != 0:
            sys.exit(f"runner {command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    seed_results = json.loads((project / "target" / "run_results.json").read_text())
    seeded = workdir / "demo" / "seeded.duckdb"
    B.move_database(database, seeded)
    B.log(f"[demo] builds, {plan['build_repeats']}x, each on a copy of {seeded}")
    built = builds(B, project, database, plan["build_repeats"], plan["builds"], seeded=seeded)
    seed_s = round(seed_results["elapsed_time"], 3)
    B.log(f"[demo] validation, {plan['repeats']}x")
    validated = validation(B, project, _worker_plan(plan), workdir / "validate_demo.log")
    validated["build_disagreements"] = check_builds(validated, built.pop("_statuses"))
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        (orders,) = con.execute("select count(*) from facts.fct_orders").fetchone()
    finally:
        con.close()
    B.remove_database(database)
    B.remove_database(seeded)
    return {
        "orders": orders,
        "plan": plan,
        "date": _now(),
        "seed_in_process_s": seed_s,
        "builds": built,
        "validation": validated,
    }


# --------------------------------------------------------------------------- report


def _s(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.2f} s" if signed else f"{value:.2f} s"


def markdown_tables(sizes: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| data | orders | expectations | GX | plain SQL | GX / plain | GX: in DuckDB "
        "| GX: Python | GX Python per expectation | GX queries / plain | SQL validator "
        "| GX import | GX context |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in sizes.items():
        v, t = r["validation"], r["validation"]["totals"]
        one = v["one_time"]
        lines.append(
            f"| {label} | {r['orders'] or 0:,} | {v['expectations']} | {_s(t['gx_s'])} "
            f"| {_s(t['plain_s'])} | {t['ratio']:.2f}x | {_s(t['gx_sql_s'])} "
            f"| {_s(t['gx_python_s'])} | {t['gx_python_ms_per_expectation']:.1f} ms "
            f"| {t['gx_queries']} / {t['plain_queries']} | {_s(t['sql_validator_s'])} "
            f"| {_s(one['gx_import_s'])} | {_s(one['gx_context_setup_s'])} |"
        )
    lines += [
        "",
        "| data | runner run | runner build (GX) | build − run | checks in the build "
        "| GX import (thread) | build waited | import hidden | build --validator sql "
        "| sql build − run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in sizes.items():
        b = r["builds"]
        run, gx, sql = b["run"], b.get("build", {}), b.get("build_sql", {})
        lines.append(
            f"| {label} | {_s(run['wall_s'])} | {_s(gx.get('wall_s'))} "
            f"| {_s(gx.get('minus_run_s'), True)} | {_s(gx.get('validate_s'))} "
            f"| {_s(gx.get('gx_import_s'))} | {_s(gx.get('gx_import_wait_s'))} "
            f"| {_s(gx.get('gx_import_hidden_s'))} | {_s(sql.get('wall_s'))} "
            f"| {_s(sql.get('minus_run_s'), True)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--orders",
        nargs="*",
        default=["1e6", "1e7"],
        help="sizes in orders (e.g. 1e6 1e7; none: the demo data only)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        help="validation repeats per size (default: 3 below 5e6 orders, else 1)",
    )
    parser.add_argument(
        "--size-builds",
        nargs="+",
        choices=list(BUILDS),
        help="builds timed per size (default: run build below 5e6 orders, else run: the "
        "database the validation reads)",
    )
    parser.add_argument("--demo-repeats", type=int, default=5, help="repeats on the demo data")
    parser.add_argument("--no-demo", action="store_true", help="skip the bundled demo data")
    for flag, what in (
        ("--warmup", "get an untimed plain-SQL pass first"),
        ("--sql-validator", "also time runner's SqlValidator (a third side)"),
        ("--profile", "get one more GX pass under cProfile"),
    ):
        parser.add_argument(
            flag, nargs="*", default=["demo"], help=f"sizes ('demo' included) that {what}"
        )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--workdir",
        type=Path,
        help="data and projects, kept and reused (bench/build.py's layout); default: a "
        "temporary folder, deleted afterwards",
    )
    parser.add_argument("--generate-memory-limit", default="8GB")
    args = parser.parse_args(argv)
    if args.worker is not None:
        validation_worker(args.worker)
        return

    B = _load_build_bench()
    sizes_wanted = [B.parse_orders(text) for text in args.orders]

    def plan(label: str, repeats: int, build_repeats: int, variants: list[str]) -> dict:
        return {
            "repeats": repeats,
            "build_repeats": build_repeats,
            "builds": ["run", *(v for v in variants if v != "run")],
            "warmup": label in args.warmup,
            "sql_validator": label in args.sql_validator,
            "profile": label in args.profile,
        }

    report: dict[str, Any] = {}
    if args.out.is_file():
        with contextlib.suppress(json.JSONDecodeError):
            report = json.loads(args.out.read_text())
    machine = B.machine_info()
    for package in ("great-expectations", "sqlalchemy", "duckdb-engine"):
        machine[package] = B._version(package)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="runner-validate-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    snapshot, project_files = snapshot_project(workdir)
    report.update(
        {
            "benchmark": "validate",
            "date": _now(),
            "machine": machine,
            "project_files": project_files,
            "settings": {"threads": B.THREADS, "memory_limit": B.MEMORY_LIMIT},
            "targets": TARGETS,
        }
    )
    sizes = report.setdefault("sizes", {})
    ran: list[str] = []

    def save(label: str) -> None:
        sizes[label]["runner_git"] = machine["runner_git"]
        sizes[label]["project_files"] = project_files
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(to_json(report) + "\n")
        ran.append(label)

    try:
        if not args.no_demo:
            demo = plan("demo", args.demo_repeats, args.demo_repeats, list(BUILDS))
            sizes["demo"] = bench_demo(B, demo, workdir, snapshot)
            save("demo")
            stop_if_disagreeing("demo", sizes["demo"])
        for label, orders in sizes_wanted:
            big = orders >= 5_000_000
            repeats = args.repeats or (1 if big else 3)
            variants = args.size_builds or (["run"] if big else ["run", "build"])
            sizes[label] = bench_size(
                B,
                label,
                orders,
                plan(label, repeats, 1, variants),
                workdir,
                snapshot,
                args.generate_memory_limit or None,
            )
            save(label)
            stop_if_disagreeing(label, sizes[label])
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(markdown_tables({label: sizes[label] for label in ran}))


if __name__ == "__main__":
    main()
