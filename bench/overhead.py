"""What the runner costs on top of the SQL, on generated projects of N models.

Run with the project's virtualenv::

    python bench/overhead.py [--only compile|run] [--sizes 100 500 1000]
                             [--run-sizes 500 1000] [--repeats 3] [--out PATH] [--workdir DIR]

For each size it generates a dbt-shaped project (staging / intermediate / facts / marts,
Jinja macros, vars, config(), for loops, ``select *`` from refs, and a few dozen rows of CSV
data per source table), then times the ``runner`` CLI as separate processes (wall clock,
median of ``--repeats``).

compile part: ``ls`` and ``compile``, cold (no ``target/``) and warm (parse cache present),
against DuckDB itself creating every compiled model as a view in an in-memory database.

run part: ``runner run`` (sources and models, with 1 thread and with the profile's 2) on a
fresh database each time, against "raw": one fresh Python process that imports duckdb and
runs the very statements the runner ran (from target/run_results.json), in the same order,
on a fresh database file.

See bench/README.md for the columns and the targets.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import graphlib
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "overhead.json"
SEED = 20240601

# ------------------------------------------------------------------------------ the project

SYSTEMS = ("shop", "crm", "web", "erp", "billing", "support", "ads", "logistics", "hr", "finance")
ENTITIES = (
    "orders",
    "customers",
    "payments",
    "shipments",
    "returns",
    "reviews",
    "sessions",
    "products",
    "invoices",
    "tickets",
)
STATUSES = ("placed", "shipped", "returned", "cancelled")
LAYERS = (  # folder, share of the models, name prefix
    ("staging", 0.10, "stg"),
    ("intermediate", 0.40, "int"),
    ("facts", 0.30, "fct"),
    ("marts", 0.20, "mart"),
)
# Where each layer's models take their parents from; each parent is instead an earlier model
# of the same layer with probability SAME_LAYER_REF. This keeps the DAG about 8-10 deep, like
# real projects: DuckDB binds a view by expanding every view below it, so the raw floor grows
# with the number of paths through the DAG, and a uniformly random DAG is unrealistically deep.
SAME_LAYER_REF = 0.1
UPSTREAM = {
    "intermediate": ("staging",),
    "facts": ("staging", "intermediate"),
    "marts": ("intermediate", "facts"),
}

PYPROJECT = """\
[tool.runner]
name = "bench"

[tool.runner.vars]
start_date = "2020-01-01"
statuses = {statuses}
precision = 2
min_amount = 0

[tool.runner.models.staging]
materialized = "view"
schema = "staging"
tags = ["daily"]

[tool.runner.models.intermediate]
materialized = "view"
schema = "intermediate"

[tool.runner.models.facts]
materialized = "view"
schema = "facts"
tags = ["facts"]

[tool.runner.models.marts]
materialized = "table"
schema = "marts"
tags = ["mart"]
"""

PROFILES = """\
bench:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "target/bench.duckdb"
      threads: 2
      sources:
{sources}"""
DATABASE = "target/bench.duckdb"  # relative to the project, as in PROFILES

# Five macros; ratio_pct and cents call precision(), ratio_pct calls safe_divide().
MACROS = {
    "numbers.sql": """\
{% macro precision() %}{{ var('precision', 2) }}{% endmacro %}

{% macro cents(col) %}round({{ col }} / 100.0, {{ precision() }}){% endmacro %}

{% macro safe_divide(num, den) -%}
case when {{ den }} is null or {{ den }} = 0 then null else ({{ num }}) / ({{ den }}) end
{%- endmacro %}

{% macro ratio_pct(num, den) -%}
round(100.0 * {{ safe_divide(num, den) }}, {{ precision() }})
{%- endmacro %}
""",
    "utils.sql": """\
{% macro coalesce_zero(col) %}coalesce({{ col }}, 0){% endmacro %}

{% macro date_bucket(col, grain='month') %}date_trunc('{{ grain }}', {{ col }}){% endmacro %}
""",
}

RAW_COLUMNS = (  # name, DuckDB type, description
    ("id", "integer", "Primary key in the source system."),
    ("customer_id", "integer", "The customer the row belongs to."),
    ("amount_cents", "bigint", "Amount in cents."),
    ("status", "varchar", "Lifecycle status."),
    ("channel", "varchar", "Where the row came from."),
    ("created_at", "timestamp", "When the row was created."),
    ("updated_at", "timestamp", "When the row last changed."),
)


@dataclass
class SourceTable:
    system: str
    table: str

    @property
    def schema(self) -> str:
        return f"raw_{self.system}"


@dataclass
class Model:
    name: str
    layer: str
    parents: list[str] = field(default_factory=list)
    source: SourceTable | None = None
    sql: str = ""


def layer_counts(n: int) -> dict[str, int]:
    """Models per layer; staging gets at least one model, the rest makes up the total."""
    counts = {layer: max(1, round(n * share)) for layer, share, _ in LAYERS}
    counts["marts"] = max(1, n - sum(c for layer, c in counts.items() if layer != "marts"))
    return counts


def plan_project(n: int, seed: int = SEED) -> tuple[list[SourceTable], list[Model]]:
    """Decide every model's name, layer and parents (deterministic for a given n and seed)."""
    rng = random.Random(seed * 100_003 + n)
    counts = layer_counts(n)
    tables = [
        SourceTable(
            SYSTEMS[i // len(ENTITIES) % len(SYSTEMS)],
            ENTITIES[i % len(ENTITIES)] + (f"_{i // 100 + 1}" if i >= 100 else ""),
        )
        for i in range(counts["staging"])
    ]
    models: list[Model] = []
    by_layer: dict[str, list[str]] = {layer: [] for layer, _, _ in LAYERS}
    for layer, _, prefix in LAYERS:
        for i in range(counts[layer]):
            if layer == "staging":
                src = tables[i]
                model = Model(f"{prefix}_{src.system}__{src.table}", layer, source=src)
            else:
                upstream = [name for up in UPSTREAM[layer] for name in by_layer[up]]
                same = by_layer[layer]
                k = min(rng.randint(1, 4), len(upstream) + len(same))
                parents: list[str] = []
                while len(parents) < k:
                    pool = same if same and rng.random() < SAME_LAYER_REF else upstream
                    pick = rng.choice(pool)
                    if pick not in parents:
                        parents.append(pick)
                model = Model(f"{prefix}_{i:04d}", layer, parents=parents)
            by_layer[layer].append(model.name)
            models.append(model)
    for model in models:
        model.sql = staging_sql(model, rng) if model.layer == "staging" else model_sql(model, rng)
    return tables, models


def dag_stats(models: list[Model]) -> dict[str, float]:
    """Longest chain of models, and how many views DuckDB expands per CREATE VIEW on average
    (the model plus every path to it from below: views are inlined, not memoised)."""
    parents = {m.name: m.parents for m in models}
    depth: dict[str, int] = {}
    paths: dict[str, int] = {}
    for m in models:  # planned in build order: parents come first
        depth[m.name] = 1 + max((depth[p] for p in m.parents), default=0)
        paths[m.name] = 1 + sum(paths[p] for p in parents[m.name])
    return {
        "max_depth": max(depth.values()),
        "mean_parents": round(sum(len(m.parents) for m in models) / len(models), 2),
        "mean_views_expanded": round(sum(paths.values()) / len(models), 1),
    }


def staging_sql(model: Model, rng: random.Random) -> str:
    src = model.source
    assert src is not None
    lines = []
    if rng.random() < 0.3:
        lines.append("{{ config(tags=['pii']) }}")
    lines += [
        "with src as (",
        f"    select * from {{{{ source('{src.system}', '{src.table}') }}}}",
        "),",
        "",
        "renamed as (",
        "    select",
        f"        id as {src.table}_id,",
        "        customer_id,",
        "        cast(created_at as date) as event_date,",
        "        {{ cents('amount_cents') }} as amount,",
        "        lower(status) as status,",
        "        channel",
        "    from src",
        "    where created_at >= date '{{ var(\"start_date\") }}'",
        "      and amount_cents >= {{ var('min_amount') }}",
        ")",
        "",
        "select * from renamed",
    ]
    return "\n".join(lines) + "\n"


def model_sql(model: Model, rng: random.Random) -> str:
    """A model reading 1-4 parents: the first in full (select *), the others aggregated."""
    lines: list[str] = []
    roll = rng.random()
    if roll < 0.15:
        lines.append("{{ config(materialized='table') }}")
    elif roll < 0.25:
        lines.append(f"{{{{ config(tags=['{model.layer}_extra']) }}}}")
    elif roll < 0.35:
        lines.append("{{ config(materialized='table', tags=['finance', 'nightly']) }}")
    first, others = model.parents[0], model.parents[1:]
    lines += ["with base as (", f"    select * from {{{{ ref('{first}') }}}}"]
    if rng.random() < 0.5:
        lines.append("    where event_date >= date '{{ var(\"start_date\") }}'")
    lines.append("),")
    lines.append("")
    for i, parent in enumerate(others, 1):
        lines += [
            f"p{i} as (",
            f"    select customer_id, count(*) as p{i}_rows, sum(amount) as p{i}_amount",
            f"    from {{{{ ref('{parent}') }}}}",
            "    group by customer_id",
            "),",
            "",
        ]
    amount = " + ".join(
        ["base.amount"]
        + [f"{{{{ coalesce_zero('p{i}.p{i}_amount') }}}}" for i in range(1, 3) if i <= len(others)]
    )
    lines += [
        "joined as (",
        "    select",
        "        base.customer_id,",
        "        base.event_date,",
        "        base.status,",
        f"        {amount} as amount" + ("," if others else ""),
    ]
    lines += [
        f"        {{{{ coalesce_zero('p{i}.p{i}_rows') }}}} as p{i}_rows"
        + ("," if i < len(others) else "")
        for i in range(1, len(others) + 1)
    ]
    lines.append("    from base")
    lines += [
        f"    left join p{i} on base.customer_id = p{i}.customer_id"
        for i in range(1, len(others) + 1)
    ]
    lines += [")", ""]
    shape = rng.random()
    if shape < 0.5:  # aggregate, sometimes with a loop over a var
        lines += [
            "select",
            "    customer_id,",
            "    {{ date_bucket('event_date', 'month') }} as event_date,",
            "    max(status) as status,",
            "    sum(amount) as amount,",
            "    count(*) as n_events,",
        ]
        if rng.random() < 0.5:
            lines += [
                "{%- for s in var('statuses') %}",
                "    sum(case when status = '{{ s }}' then 1 else 0 end) as n_{{ s }},",
                "{%- endfor %}",
            ]
        lines += [
            "    {{ ratio_pct('sum(amount)', 'count(*)') }} as avg_amount_pct",
            "from joined",
            "group by 1, 2",
        ]
    elif shape < 0.75:  # a plain star through a CTE
        lines.append("select * from joined")
    else:  # a qualified star plus derived columns
        den = "p1_rows" if others else "1"
        lines += [
            "select",
            "    joined.*,",
            f"    {{{{ safe_divide('amount', '{den}') }}}} as amount_per_row,",
            "    {{ date_bucket('event_date', 'week') }} as event_week",
            "from joined",
        ]
    return "\n".join(lines) + "\n"


def sources_yml(tables: list[SourceTable]) -> str:
    out = ["version: 2", "", "sources:"]
    for system in dict.fromkeys(t.system for t in tables):
        out += [f"  - name: {system}", f"    schema: raw_{system}", "    tables:"]
        for table in (t for t in tables if t.system == system):
            out += [f"      - name: {table.table}", "        columns:"]
            for name, type_, _ in RAW_COLUMNS:
                out += [f"          - name: {name}", f"            data_type: {type_}"]
    return "\n".join(out) + "\n"


def docs_yml(models: list[Model]) -> str:
    out = ["version: 2", "", "models:"]
    for model in models:
        out += [
            f"  - name: {model.name}",
            f"    description: The {model.layer} model {model.name}, one row per customer event.",
            "    columns:",
            "      - name: customer_id",
            "        description: The customer.",
            "      - name: event_date",
            "        description: Day (or month) of the event.",
            "      - name: amount",
            "        description: Amount in currency units.",
        ]
    return "\n".join(out) + "\n"


def profiles_yml(tables: list[SourceTable]) -> str:
    """profiles.yml: each source system's tables are CSV files in ``data/<system>/`` (the
    table names repeat across systems, so one folder per system keeps them apart)."""
    systems = dict.fromkeys(t.system for t in tables)
    sources = "".join(
        f"        {system}: {{from: files, path: data/{system}, format: csv}}\n"
        for system in systems
    )
    return PROFILES.format(sources=sources)


CHANNELS = ("web", "store", "app", "phone")
CUSTOMERS = 20  # customer ids 1-20, so the models' joins on customer_id match rows
DATA_START = dt.datetime(2019, 7, 1)  # a sixth of the rows fall before var('start_date')


def source_rows(table: SourceTable, rows: int, seed: int = SEED) -> list[list[str]]:
    """``rows`` rows of RAW_COLUMNS as CSV text, deterministic per table and seed: statuses
    in mixed case (staging lowercases them), amounts in cents, naive timestamps."""
    rng = random.Random(f"{seed}:{table.system}.{table.table}")
    out = []
    for i in range(1, rows + 1):
        created = DATA_START + dt.timedelta(seconds=rng.randrange(3 * 365 * 86_400))
        updated = created + dt.timedelta(seconds=rng.randrange(30 * 86_400))
        status = rng.choice(STATUSES)
        out.append(
            [
                str(i),
                str(rng.randint(1, CUSTOMERS)),
                str(rng.randint(0, 250_000)),
                status.capitalize() if rng.random() < 0.3 else status,
                rng.choice(CHANNELS),
                created.strftime("%Y-%m-%d %H:%M:%S"),
                updated.strftime("%Y-%m-%d %H:%M:%S"),
            ]
        )
    return out


def write_data(root: Path, tables: list[SourceTable], rows: int, seed: int = SEED) -> None:
    """``data/<system>/<table>.csv`` for every source table, with a header row."""
    for table in tables:
        folder = root / "data" / table.system
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{table.table}.csv").open("w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([name for name, _, _ in RAW_COLUMNS])
            writer.writerows(source_rows(table, rows, seed))


def write_project(
    root: Path, n: int, seed: int = SEED, rows: int = 50
) -> tuple[list[SourceTable], list[Model]]:
    """Write a project of ``n`` models under ``root`` (replacing it), with ``rows`` rows of
    data per source table under ``data/``; return what it holds."""
    tables, models = plan_project(n, seed)
    if root.exists():
        shutil.rmtree(root)
    (root / "macros").mkdir(parents=True)
    statuses = "[" + ", ".join(f'"{s}"' for s in STATUSES) + "]"
    (root / "pyproject.toml").write_text(PYPROJECT.format(statuses=statuses))
    (root / "profiles.yml").write_text(profiles_yml(tables))
    write_data(root, tables, rows, seed)
    for name, text in MACROS.items():
        (root / "macros" / name).write_text(text)
    models_dir = root / "models"
    for layer, _, _ in LAYERS:
        (models_dir / layer).mkdir(parents=True)
    (models_dir / "sources.yml").write_text(sources_yml(tables))
    rng = random.Random(seed + n)
    documented: dict[str, list[Model]] = {}
    for model in models:
        (models_dir / model.layer / f"{model.name}.sql").write_text(model.sql)
        if rng.random() < 0.3:
            documented.setdefault(model.layer, []).append(model)
    for layer, docs in documented.items():
        (models_dir / layer / f"_{layer}__models.yml").write_text(docs_yml(docs))
    return tables, models


# ------------------------------------------------------------------------------ timing


def runner_command() -> list[str]:
    exe = Path(sys.executable).with_name("runner")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("runner")
    if found is None:
        sys.exit("cannot find the runner CLI next to this Python or on PATH")
    return [found]


def _clean_env() -> dict[str, str]:
    """The environment minus RUNNER_* settings (project dir, vars, no-cache...) that would
    change what is measured; RUNNER_WORKERS passes through, to compare worker counts."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("RUNNER_") or k == "RUNNER_WORKERS"
    }
    # Measure the tool as a user runs it: with Python's bytecode cache. Some sandboxes set
    # PYTHONDONTWRITEBYTECODE, which makes every run recompile the package from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (and theirs): a
    subprocess's CPU time is the difference around it. On a shared machine it moves far
    less with the load than wall time does."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one subprocess; exits on failure or on any stderr."""
    cpu = children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_clean_env())
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or proc.stderr.strip():
        sys.exit(
            f"{' '.join(cmd)} failed (exit {proc.returncode}) in {cwd}:\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    return elapsed, children_cpu() - cpu


def timed(cmd: list[str], cwd: Path) -> float:
    """Wall-clock seconds of one subprocess; exits on failure or on any stderr output."""
    return measure(cmd, cwd)[0]


def time_cli(project: Path, repeats: int) -> dict[str, list[float]]:
    runner = runner_command()
    ls = [*runner, "ls", "--project-dir", str(project)]
    compile_ = [*runner, "compile", "--project-dir", str(project)]
    target = project / "target"
    kinds = ("ls_cold", "ls_warm", "compile_cold", "compile_warm")
    samples: dict[str, list[float]] = {k: [] for k in (*kinds, *(f"{k}_cpu" for k in kinds))}
    samples["load_average"] = []  # 1-minute, before each repeat
    timed(ls, project)  # untimed: warms the OS file cache and Python's bytecode cache

    def sample(kind: str, cmd: list[str]) -> None:
        wall, cpu = measure(cmd, project)
        samples[kind].append(wall)
        samples[f"{kind}_cpu"].append(cpu)

    for _ in range(repeats):
        samples["load_average"].append(round(os.getloadavg()[0], 2))
        shutil.rmtree(target, ignore_errors=True)
        sample("ls_cold", ls)
        sample("ls_warm", ls)
        shutil.rmtree(target, ignore_errors=True)
        sample("compile_cold", compile_)
        sample("compile_warm", compile_)
    return samples


def build_order(manifest: dict[str, Any]) -> list[str]:
    """Model unique ids, parents first (graphlib over parent_map; ties by id)."""
    parents = manifest["parent_map"]
    sorter = graphlib.TopologicalSorter({uid: list(ups) for uid, ups in parents.items()})
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return [uid for uid in order if manifest["nodes"][uid]["resource_type"] == "model"]


def time_raw(project: Path, tables: list[SourceTable], repeats: int) -> dict[str, Any]:
    """Create every compiled model as a view with duckdb directly; the floor for a build."""
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"]
    order = build_order(manifest)
    statements = [
        f"CREATE OR REPLACE VIEW {nodes[uid]['relation']['rendered']} AS\n"
        + (project / nodes[uid]["compiled_path"]).read_text()
        for uid in order
    ]
    schemas = sorted(
        {t.schema for t in tables} | {nodes[uid]["relation"]["schema"] for uid in order}
    )
    columns = ", ".join(f"{name} {type_}" for name, type_, _ in RAW_COLUMNS)
    samples: list[float] = []
    for _ in range(repeats):
        con = duckdb.connect(":memory:")
        for schema in schemas:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for t in tables:
            con.execute(f'CREATE TABLE "{t.schema}"."{t.table}" ({columns})')
        started = time.perf_counter()
        for sql in statements:
            con.execute(sql)
        samples.append(time.perf_counter() - started)
        con.close()
    resolved = sum(1 for uid in order if nodes[uid].get("output_columns") is not None)
    return {"samples": samples, "models": len(order), "columns_resolved": resolved}


def import_floor() -> dict[str, float]:
    """One run each: bare interpreter start, and start plus ``import runner.cli``."""
    out = {}
    for key, code in (("python_startup", "pass"), ("import_runner_cli", "import runner.cli")):
        subprocess.run([sys.executable, "-c", code], check=True, env=_clean_env())  # warm-up
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=_clean_env())
        out[key] = time.perf_counter() - started
    return out


# ------------------------------------------------------------------------------ building

# The raw side of ``runner run``, as a fresh process: start Python, import duckdb, open a
# new database file, create the schemas, run the statements the runner ran, close. Prints
# its in-process timings as JSON. argv: statements.json, database path.
RAW_BUILD = """\
import json, sys, time
t0 = time.perf_counter()
import duckdb
t1 = time.perf_counter()
with open(sys.argv[1]) as f:
    plan = json.load(f)
con = duckdb.connect(sys.argv[2])
for schema in plan["schemas"]:
    con.execute('CREATE SCHEMA IF NOT EXISTS "' + schema.replace('"', '""') + '"')
t2 = time.perf_counter()
for statement in plan["statements"]:
    con.execute(statement)
t3 = time.perf_counter()
con.close()
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "connect_s": t2 - t1, "statements_s": t3 - t2,
                  "close_s": t4 - t3}))
"""


def fresh_database(path: Path, schemas: list[str] | None = None) -> None:
    """Delete a DuckDB file and its write-ahead log; then, if ``schemas`` is given, create
    a database file holding just those (empty) schemas."""
    for file in (path, path.with_name(path.name + ".wal")):
        file.unlink(missing_ok=True)
    if schemas:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
        for schema in schemas:
            con.execute(f'CREATE SCHEMA "{schema}"')
        con.close()


def load_run_results(project: Path) -> dict[str, Any]:
    return json.loads((project / "target" / "run_results.json").read_text())


def check_run(project: Path, n_models: int, n_sources: int) -> tuple[bool, str]:
    """Whether the last run built every model and source, and if not, what failed."""
    if not (project / "target" / "run_results.json").is_file():
        return False, "no run_results.json"
    results = load_run_results(project)["results"]
    kinds: dict[str, int] = {}
    bad = []
    for r in results:
        kinds[r["resource_type"]] = kinds.get(r["resource_type"], 0) + 1
        if r["status"] != "success":
            bad.append(f"{r['name']}: {r['status']}: {r['message']}")
    if kinds.get("model") != n_models or kinds.get("source") != n_sources:
        return False, f"run_results has {kinds}, expected {n_models} models, {n_sources} sources"
    if bad:
        first = bad[0].splitlines()[0]
        return False, f"{len(bad)} nodes not successful, first: {first}"
    return True, ""


def raw_plan(project: Path) -> dict[str, Any]:
    """What the raw build runs: every statement of the last run, in the order the runner
    ran them (run_results lists nodes as they finished, so parents come first), and the
    schemas (the runner creates them outside the recorded statements)."""
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    results = load_run_results(project)["results"]
    schemas = sorted({manifest["nodes"][r["unique_id"]]["relation"]["schema"] for r in results})
    statements = [sql for r in results for sql in r["sql"]]
    materialized: dict[str, int] = {}
    for r in results:
        materialized[r["materialized"]] = materialized.get(r["materialized"], 0) + 1
    return {"schemas": schemas, "statements": statements, "materialized": materialized}


def time_runner_run(
    project: Path,
    threads: int | None,
    n_models: int,
    n_sources: int,
    attempts: int,
    failures: list[str],
    schemas: list[str] | None = None,
) -> tuple[float, float, list[str], float]:
    """One ``runner run`` on a fresh database (holding only ``schemas``, if given): wall
    seconds, the build's own elapsed time (run_results), the statements it ran, and its
    CPU seconds (user + system). A run
    that fails is recorded in ``failures`` and tried again, up to ``attempts`` times; only
    successful runs are timed."""
    cmd = [*runner_command(), "run", "--project-dir", str(project), "--log-format", "plain"]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    database = project / DATABASE
    for _ in range(attempts):
        fresh_database(database, schemas)
        (project / "target" / "run_results.json").unlink(missing_ok=True)
        cpu = children_cpu()
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=_clean_env())
        elapsed = time.perf_counter() - started
        cpu = children_cpu() - cpu
        ok, why = check_run(project, n_models, n_sources)
        if proc.returncode == 0 and ok and not proc.stderr.strip():
            data = load_run_results(project)
            statements = [sql for r in data["results"] for sql in r["sql"]]
            return elapsed, data["elapsed_time"], statements, cpu
        failures.append(f"exit {proc.returncode}: {why or proc.stderr.strip()[-500:]}")
        shown = threads or "(default)"
        print(f"  runner run --threads {shown} failed: {failures[-1]}", file=sys.stderr)
    sys.exit(f"{' '.join(cmd)} failed {attempts} times in {project}:\n" + "\n".join(failures))


def time_raw_build(plan_file: Path, database: Path) -> tuple[float, dict[str, float]]:
    """The raw build as a fresh process on a fresh database: wall seconds and its own
    in-process timings (import, connect + schemas, statements, close; ``cpu_s``: the
    process's user + system CPU seconds)."""
    fresh_database(database)
    cmd = [sys.executable, "-c", RAW_BUILD, str(plan_file), str(database)]
    cpu = children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_clean_env())
    elapsed = time.perf_counter() - started
    cpu = children_cpu() - cpu
    if proc.returncode != 0 or proc.stderr.strip():
        sys.exit(f"raw build failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return elapsed, {**json.loads(proc.stdout), "cpu_s": cpu}


THREADS = {"threads_1": 1, "threads_default": None}  # None: the profile's threads (2)


def time_build(
    project: Path,
    tables: list[SourceTable],
    models: list[Model],
    repeats: int,
    attempts: int,
    precreate_schemas: bool,
) -> dict[str, Any]:
    """Time ``runner run`` (both thread settings) against the raw build, interleaved so
    that drift in the machine's speed hits both sides alike. With ``precreate_schemas``
    the runner's fresh database already holds the (empty) schemas: a workaround for
    concurrent CREATE SCHEMA conflicting in the runner with more than one thread."""
    n_models, n_sources = len(models), len(tables)
    timed([*runner_command(), "compile", "--project-dir", str(project)], project)  # warm cache
    failures: dict[str, list[str]] = {key: [] for key in THREADS}
    # Untimed: a single-threaded run whose statements (in a deterministic order) the raw
    # build replays. It also warms the OS file cache for the data.
    time_runner_run(project, 1, n_models, n_sources, attempts, failures["threads_1"])
    plan = raw_plan(project)
    schemas = plan["schemas"] if precreate_schemas else None
    expected = sorted(plan["statements"])
    plan_file = project.parent / f"raw_plan_{n_models}.json"
    plan_file.write_text(json.dumps(plan))
    raw_db = project.parent / f"raw_{n_models}.duckdb"
    samples: dict[str, list[float]] = {
        "raw_process": [],
        "raw_statements": [],
        "raw_process_cpu": [],
        "load_average": [],  # 1-minute, before each repeat
    }
    for key in THREADS:
        samples[key] = []
        samples[f"{key}_in_process"] = []
        samples[f"{key}_cpu"] = []
    raw_parts: list[dict[str, float]] = []
    for _ in range(repeats):
        samples["load_average"].append(round(os.getloadavg()[0], 2))
        for key, threads in THREADS.items():
            wall, inner, statements, cpu = time_runner_run(
                project, threads, n_models, n_sources, attempts, failures[key], schemas
            )
            if sorted(statements) != expected:
                sys.exit(f"runner run ({key}) ran other statements than the first run")
            samples[key].append(wall)
            samples[f"{key}_in_process"].append(inner)
            samples[f"{key}_cpu"].append(cpu)
        wall, parts = time_raw_build(plan_file, raw_db)
        samples["raw_process"].append(wall)
        samples["raw_statements"].append(parts["statements_s"])
        samples["raw_process_cpu"].append(parts["cpu_s"])
        raw_parts.append(parts)
    fresh_database(raw_db)
    return {
        "samples": samples,
        "raw_parts": raw_parts,
        "failures": failures,
        "statements": len(plan["statements"]),
        "materialized": plan["materialized"],
        "schemas_precreated": precreate_schemas,
    }


def build_result(n: int, tables: list[SourceTable], rows: int, timing: dict[str, Any]) -> dict:
    samples = timing["samples"]
    med = {k: statistics.median(v) for k, v in samples.items()}
    raw = med["raw_process"]
    by_threads = {}
    for key in THREADS:
        by_threads[key] = {
            "runner_s": round(med[key], 4),
            "runner_in_process_s": round(med[f"{key}_in_process"], 4),
            "runner_over_raw": round(med[key] / raw, 2),
            "runner_cpu_s": round(med[f"{key}_cpu"], 4),
            "runner_over_raw_cpu": round(med[f"{key}_cpu"] / med["raw_process_cpu"], 2),
            "overhead_per_model_ms": round((med[key] - raw) / n * 1000, 2),
            "failed_attempts": len(timing["failures"][key]),
            "failures": timing["failures"][key][:5],
        }
    parts = timing["raw_parts"]
    return {
        "models": n,
        "source_tables": len(tables),
        "rows_per_source_table": rows,
        "statements": timing["statements"],
        "materialized": timing["materialized"],
        "schemas_precreated": timing["schemas_precreated"],
        "raw_process_s": round(raw, 4),
        "raw_statements_s": round(med["raw_statements"], 4),
        "raw_cpu_s": round(med["raw_process_cpu"], 4),
        "load_average": samples["load_average"],
        "raw_import_duckdb_s": round(statistics.median(p["import_s"] for p in parts), 4),
        "raw_per_model_ms": round(raw / n * 1000, 2),
        **by_threads,
        "samples_s": {k: [round(x, 4) for x in v] for k, v in samples.items()},
    }


# ------------------------------------------------------------------------------ reporting


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "runner": _version("runner"),
        "duckdb": _version("duckdb"),
        "sqlglot": _version("sqlglot"),
        "sqlglotc": _version("sqlglotc"),
        "sqlglotc_installed": _version("sqlglotc") is not None,
        "jinja2": _version("jinja2"),
        "runner_workers_env": os.environ.get("RUNNER_WORKERS"),
        "runner_git": git_state(),
    }


def git_state() -> str | None:
    """The commit of the checkout the runner is imported from, "+dirty" if it has changes."""
    try:
        import runner

        root = Path(runner.__file__).resolve().parent.parent
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "runner"],
            cwd=root,
            capture_output=True,
            text=True,
        )
    except (ImportError, OSError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def markdown_table(results: list[dict[str, Any]], floor: dict[str, float]) -> str:
    head = (
        "| models | ls cold | ls warm | compile cold | compile warm | raw views "
        "| cold / raw | warm / raw |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r['models']} | {r['ls_cold_s']:.2f} s | {r['ls_warm_s']:.2f} s "
        f"| {r['compile_cold_s']:.2f} s | {r['compile_warm_s']:.2f} s | {r['raw_views_s']:.2f} s "
        f"| {r['compile_cold_over_raw']:.1f}x | {r['compile_warm_over_raw']:.1f}x |"
        for r in results
    ]
    foot = (
        f'\nImport floor (`python -c "import runner.cli"`): '
        f"{floor['import_runner_cli']:.2f} s (bare interpreter: {floor['python_startup']:.2f} s)."
    )
    return head + "\n".join(rows) + "\n" + foot


def build_table(results: list[dict[str, Any]]) -> str:
    head = (
        "| models | threads | runner run | raw (process) | raw (statements) "
        "| runner / raw | overhead per model | failed runs |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for r in results:
        for key, label in (("threads_1", "1"), ("threads_default", "2 (default)")):
            t = r[key]
            rows.append(
                f"| {r['models']} | {label} | {t['runner_s']:.2f} s | {r['raw_process_s']:.2f} s "
                f"| {r['raw_statements_s']:.2f} s | {t['runner_over_raw']:.2f}x "
                f"| {t['overhead_per_model_ms']:+.1f} ms | {t['failed_attempts']} |"
            )
    return head + "\n".join(rows)


def run_compile(sizes: list[int], repeats: int, workdir: Path) -> dict[str, Any]:
    """The ls / compile part: its keys of the report."""
    floor = import_floor()
    results = []
    for n in sizes:
        project = workdir / f"project_{n}"
        tables, models = write_project(project, n)
        print(f"[{n} models] generated in {project}", file=sys.stderr)
        cli = time_cli(project, repeats)
        raw = time_raw(project, tables, repeats)
        if raw["models"] != len(models):
            sys.exit(f"manifest has {raw['models']} models, expected {len(models)}")
        med = {k: statistics.median(v) for k, v in cli.items()}
        raw_s = statistics.median(raw["samples"])
        results.append(
            {
                "models": n,
                "source_tables": len(tables),
                "models_with_resolved_columns": raw["columns_resolved"],
                "dag": dag_stats(models),
                **{f"{k}_s": round(v, 4) for k, v in med.items()},
                "raw_views_s": round(raw_s, 4),
                "compile_cold_over_raw": round(med["compile_cold"] / raw_s, 2),
                "compile_warm_over_raw": round(med["compile_warm"] / raw_s, 2),
                "samples_s": {
                    **{k: [round(x, 4) for x in v] for k, v in cli.items()},
                    "raw_views": [round(x, 4) for x in raw["samples"]],
                },
            }
        )
        print(
            f"[{n} models] compile cold {med['compile_cold']:.2f} s, "
            f"warm {med['compile_warm']:.2f} s, raw {raw_s:.3f} s",
            file=sys.stderr,
        )
    print(markdown_table(results, floor))
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "repeats": repeats,
        "import_floor_s": {k: round(v, 4) for k, v in floor.items()},
        "results": results,
    }


def run_build(
    sizes: list[int],
    repeats: int,
    rows: int,
    attempts: int,
    precreate_schemas: bool,
    workdir: Path,
) -> dict[str, Any]:
    """The ``runner run`` part: the report's ``run`` key."""
    results = []
    for n in sizes:
        project = workdir / f"project_{n}"
        tables, models = write_project(project, n, rows=rows)
        print(f"[{n} models] generated in {project}, timing runner run", file=sys.stderr)
        timing = time_build(project, tables, models, repeats, attempts, precreate_schemas)
        result = build_result(n, tables, rows, timing)
        results.append(result)
        print(
            f"[{n} models] runner run: 1 thread {result['threads_1']['runner_s']:.2f} s, "
            f"default {result['threads_default']['runner_s']:.2f} s; "
            f"raw {result['raw_process_s']:.2f} s",
            file=sys.stderr,
        )
    print(build_table(results))
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "repeats": repeats,
        "rows_per_source_table": rows,
        "attempts": attempts,
        "schemas_precreated": precreate_schemas,
        "results": results,
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Run the selected parts and write the report; a part not run keeps its previous
    results from ``--out``, if any."""
    report: dict[str, Any] = {}
    if args.out.is_file():
        try:
            report = json.loads(args.out.read_text())
        except json.JSONDecodeError:
            report = {}
    report.update(
        {
            "benchmark": "overhead",
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seed": SEED,
            "machine": machine_info(),
        }
    )
    if args.only in (None, "compile"):
        part = run_compile(args.sizes, args.repeats, workdir)
        report.update({k: part[k] for k in ("repeats", "import_floor_s", "results")})
        report["compile_date"] = part["date"]
        write_report(args.out, report)  # now, in case the run part stops the benchmark
    if args.only in (None, "run"):
        report["run"] = run_build(
            args.run_sizes,
            args.repeats,
            args.rows,
            args.attempts,
            args.schemas == "precreate",
            workdir,
        )
        write_report(args.out, report)
    return report


def write_report(out: Path, report: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("compile", "run"), help="run one part (default both)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument(
        "--run-sizes", type=int, nargs="+", default=[500, 1000], help="sizes for runner run"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=50, help="rows per source table")
    parser.add_argument(
        "--attempts",
        type=int,
        default=5,
        help="runner run tries per sample before giving up (failed runs are not timed)",
    )
    parser.add_argument(
        "--schemas",
        choices=("precreate", "fresh"),
        default="fresh",
        help="runner run's database before each run: no file at all (default, as a user "
        "runs it), or empty but for the schemas",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where to generate the projects (default: a temporary folder, deleted afterwards)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    args = parser.parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        run(args, args.workdir)
        return
    workdir = Path(tempfile.mkdtemp(prefix="runner-bench-"))
    try:
        run(args, workdir)
    finally:
        if args.keep:
            print(f"projects kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
