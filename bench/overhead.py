"""How much time the runner adds before any SQL runs, on generated projects of N models.

Run with the project's virtualenv::

    python bench/overhead.py [--sizes 100 500 1000] [--repeats 3] [--out PATH] [--keep]

For each size it generates a dbt-shaped project (staging / intermediate / facts / marts,
Jinja macros, vars, config(), for loops, ``select *`` from refs), then times the ``runner``
CLI as separate processes (wall clock, median of ``--repeats``): ``ls`` and ``compile``,
cold (no ``target/``) and warm (unchanged project, parse cache present). The reference
("raw") is DuckDB itself creating every compiled model as a view, in build order, in an
in-memory database where the raw sources exist as empty tables: a build of views cannot
be faster than that, so ``compile / raw`` is what the runner adds on top of execution.

See bench/README.md for the columns and the targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import graphlib
import json
import os
import platform
import random
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
      path: "target/dev.duckdb"
      threads: 2
"""

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
            out += [f"          - name: {name}" for name, _, _ in RAW_COLUMNS]
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


def write_project(root: Path, n: int, seed: int = SEED) -> tuple[list[SourceTable], list[Model]]:
    """Write a project of ``n`` models under ``root`` (replacing it); return what it holds."""
    tables, models = plan_project(n, seed)
    if root.exists():
        shutil.rmtree(root)
    (root / "macros").mkdir(parents=True)
    statuses = "[" + ", ".join(f'"{s}"' for s in STATUSES) + "]"
    (root / "pyproject.toml").write_text(PYPROJECT.format(statuses=statuses))
    (root / "profiles.yml").write_text(PROFILES)
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


def timed(cmd: list[str], cwd: Path) -> float:
    """Wall-clock seconds of one subprocess; exits on failure or on any stderr output."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_clean_env())
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or proc.stderr.strip():
        sys.exit(
            f"{' '.join(cmd)} failed (exit {proc.returncode}) in {cwd}:\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    return elapsed


def time_cli(project: Path, repeats: int) -> dict[str, list[float]]:
    runner = runner_command()
    ls = [*runner, "ls", "--project-dir", str(project)]
    compile_ = [*runner, "compile", "--project-dir", str(project)]
    target = project / "target"
    samples: dict[str, list[float]] = {
        k: [] for k in ("ls_cold", "ls_warm", "compile_cold", "compile_warm")
    }
    timed(ls, project)  # untimed: warms the OS file cache and Python's bytecode cache
    for _ in range(repeats):
        shutil.rmtree(target, ignore_errors=True)
        samples["ls_cold"].append(timed(ls, project))
        samples["ls_warm"].append(timed(ls, project))
        shutil.rmtree(target, ignore_errors=True)
        samples["compile_cold"].append(timed(compile_, project))
        samples["compile_warm"].append(timed(compile_, project))
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
    }


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


def run(sizes: list[int], repeats: int, out: Path, workdir: Path) -> dict[str, Any]:
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
    report = {
        "benchmark": "overhead",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "repeats": repeats,
        "seed": SEED,
        "machine": machine_info(),
        "import_floor_s": {k: round(v, 4) for k, v in floor.items()},
        "results": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown_table(results, floor))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--repeats", type=int, default=3)
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
        run(args.sizes, args.repeats, args.out, args.workdir)
        return
    workdir = Path(tempfile.mkdtemp(prefix="runner-bench-"))
    try:
        run(args.sizes, args.repeats, args.out, workdir)
    finally:
        if args.keep:
            print(f"projects kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
