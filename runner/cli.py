"""The ``runner`` command: click wiring only; the work happens in the library modules."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import UsageError
from .text import counted

LS_OUTPUTS = ("name", "path", "json")
MAX_THREADS = 64  # as project.MAX_THREADS (not imported: --help stays fast)
MAX_SHOW_ROWS = 1_000_000_000  # a preview, not an export (and DuckDB fetches an int64)


class _Group(click.Group):
    """The one place every exception of a command ends: a RunnerError, or anything else
    (see ``errors.as_runner_error``), becomes one clear message and its exit code. The
    traceback shows only with --debug or RUNNER_DEBUG."""

    def invoke(self, ctx: click.Context) -> Any:
        from .redaction import redacted_output

        # Everything the command prints goes through one redacting stream: values from
        # env_var() in profiles.yml show as **** (registered when the target is loaded).
        with redacted_output():
            try:
                return super().invoke(ctx)
            except (click.exceptions.Exit, click.ClickException, click.Abort):
                raise  # click's own: usage errors, --help, ctx.exit()
            except Exception as exc:
                if os.environ.get("RUNNER_DEBUG") or (ctx.obj or {}).get("debug"):
                    raise
                from .console import print_error
                from .errors import as_runner_error

                error = as_runner_error(exc)
                print_error(error)
                ctx.exit(error.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runner")
@click.option("--debug", is_flag=True, envvar="RUNNER_DEBUG", help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Build a warehouse from Jinja-templated SQL models, checked by sqlglot."""
    ctx.obj = {"debug": debug}


@dataclass(frozen=True)
class Options:
    project_dir: Path
    profiles_dir: Path | None
    target: str | None
    vars: str | None
    no_cache: bool


def project_options(func: Callable) -> Callable:
    """Options every command that reads the project takes (also as RUNNER_* env vars)."""

    @click.option(
        "--project-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        envvar="RUNNER_PROJECT_DIR",
        show_default=True,
        help="Folder holding pyproject.toml.",
    )
    @click.option(
        "--profiles-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="RUNNER_PROFILES_DIR",
        help="Folder holding profiles.yml (default: the project folder).",
    )
    @click.option("--target", "-t", envvar="RUNNER_TARGET", help="Target in profiles.yml.")
    @click.option(
        "--vars",
        "vars_",
        envvar="RUNNER_VARS",
        help="Project vars as YAML or JSON, e.g. '{churn_window_days: 60}'.",
    )
    @click.option(
        "--no-cache",
        is_flag=True,
        envvar="RUNNER_NO_CACHE",
        help="Ignore and do not write the parse cache.",
    )
    @functools.wraps(func)
    def wrapper(
        project_dir: Path,
        profiles_dir: Path | None,
        target: str | None,
        vars_: str | None,
        no_cache: bool,
        **kwargs: Any,
    ) -> Any:
        options = Options(project_dir, profiles_dir, target, vars_, no_cache)
        return func(options, **kwargs)

    return wrapper


def selection_options(func: Callable) -> Callable:
    options = [
        click.option("--select", "-s", multiple=True, help="Nodes to include (dbt syntax)."),
        click.option("--exclude", multiple=True, help="Nodes to leave out (same syntax)."),
        click.option(
            "--state",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="RUNNER_STATE",
            help="Target folder of a previous run, for state:modified selectors.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load(options: Options, warn_error: bool = False) -> Any:
    from .parser import load_project
    from .project import check_target_dir, load_settings, load_target, parse_vars

    settings = load_settings(options.project_dir)
    check_target_dir(settings)
    target = load_target(settings, options.profiles_dir, options.target)
    project = load_project(
        settings, target, parse_vars(options.vars), use_cache=not options.no_cache
    )
    from .console import print_warning

    for warning in project.warnings:
        print_warning(warning)
    _fail_on_warnings(len(project.warnings), warn_error)
    return project


def _fail_on_warnings(count: int, warn_error: bool) -> None:
    if warn_error and count:
        raise UsageError(
            f"{count} warning{'s' if count != 1 else ''} above, and --warn-error makes "
            "warnings errors; nothing was run",
            hint="fix what they name, or run without --warn-error",
        )


def _select(
    project: Any, select: tuple[str, ...], exclude: tuple[str, ...], state: Path | None
) -> set[str]:
    from .selection import select_nodes

    state_manifest = None
    if state is not None:
        from .artifacts import load_state

        state_manifest = load_state(state)
    return select_nodes(
        project.graph, list(select), list(exclude), state=state_manifest, macros=project.macros
    )


@cli.command("ls")
@project_options
@selection_options
@click.option(
    "--output",
    "-o",
    type=click.Choice(LS_OUTPUTS),
    default="name",
    show_default=True,
    help="What to print for each node.",
)
@click.option(
    "--resource-type",
    multiple=True,
    type=click.Choice(["model", "seed", "source", "snapshot"]),
    help="Only nodes of these types.",
)
def ls_command(
    options: Options,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    state: Path | None,
    output: str,
    resource_type: tuple[str, ...],
) -> None:
    """List nodes in build order."""
    project = _load(options)
    chosen = _select(project, select, exclude, state)
    if project.cache is not None:
        project.cache.save(prune=False)  # keep the compile entries: ls compiles nothing
    lines = []
    for uid in project.graph.topological_order(chosen):
        node = project.graph.nodes[uid]
        if resource_type and node.resource_type not in resource_type:
            continue
        if output == "name":
            lines.append(
                f"source:{node.source_name}.{node.name}"
                if node.resource_type == "source"
                else node.name
            )
        elif output == "path":
            lines.append(str(node.path))
        else:
            lines.append(
                json.dumps(
                    {
                        "unique_id": uid,
                        "name": node.name,
                        "resource_type": node.resource_type,
                        "path": str(node.path),
                        "relation": node.relation.render(),
                        "tags": list(node.tags),
                        "config": node.config,
                        "depends_on": sorted(project.graph.parents[uid]),
                    },
                    default=str,
                    sort_keys=True,
                )
            )
    if lines:
        click.echo("\n".join(lines))


@cli.command("compile")
@project_options
@selection_options
@click.option(
    "--inline",
    help="Compile this SQL snippet and print it, e.g. "
    "\"select * from {{ ref('dim_customers') }}\".",
)
@click.option("--warn-error", is_flag=True, help="Warnings are errors (exit 2).")
def compile_command(
    options: Options,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    state: Path | None,
    inline: str | None,
    warn_error: bool,
) -> None:
    """Render every model's SQL into target/compiled and check it with sqlglot."""
    started = time.perf_counter()
    project = _load(options, warn_error)
    if inline is not None:
        from .compiler import compile_inline

        click.echo(compile_inline(project, inline))
        return
    from .artifacts import build_manifest, write_json
    from .compiler import compile_models
    from .console import print_warning

    chosen = _select(project, select, exclude, state)
    models = {uid for uid in chosen if project.graph.nodes[uid].resource_type == "model"}
    if any(getattr(project.graph.nodes[uid], "needs_execution", False) for uid in models):
        # Some models query the database as they compile (run_query): as dbt does, they
        # read what the target holds now.
        from .engines.duckdb import DuckDBEngine

        with DuckDBEngine(project.target, project.settings.root) as engine:
            compilation = compile_models(project, models, query=engine.session().query)
    else:
        compilation = compile_models(project, models)
    for warning in compilation.warnings:
        print_warning(warning)
    _fail_on_warnings(len(compilation.warnings), warn_error)
    write_json(project.settings.target_dir / "manifest.json", build_manifest(project, compilation))
    elapsed = time.perf_counter() - started
    click.echo(
        f"Compiled {counted(len(models), 'model')} into "
        f"{project.settings.target_path}/compiled in {elapsed:.2f}s"
    )


def build_options(func: Callable) -> Callable:
    options = [
        click.option("--full-refresh", is_flag=True, help="Rebuild incremental models whole."),
        click.option("--fail-fast", "-x", is_flag=True, help="Stop scheduling after a failure."),
        click.option(
            "--threads",
            type=click.IntRange(min=1, max=MAX_THREADS),
            envvar="RUNNER_THREADS",
            help="Worker threads (default: the target's threads).",
        ),
        click.option(
            "--log-format",
            type=click.Choice(["auto", "rich", "plain", "json"]),
            default="auto",
            envvar="RUNNER_LOG_FORMAT",
            show_default=True,
            help="auto: a live display on a terminal, plain lines otherwise.",
        ),
        click.option(
            "--warn-error",
            is_flag=True,
            help="Warnings are errors: a project warning (e.g. an unknown config key) stops "
            "the command (exit 2), an expectation warning fails its node.",
        ),
        click.option(
            "--store-failures",
            is_flag=True,
            help="Keep the failing rows of each failed expectation in audit.* tables.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=0,
            envvar="RUNNER_RETRIES",
            help="Run a node again up to N times after an error the engine calls transient "
            "(a locked file, a conflicting transaction, a failed remote read).",
        ),
        click.option(
            "--retry-delay",
            type=click.FloatRange(min=0),
            default=1.0,
            show_default=True,
            help="Seconds before the first retry; doubled after each.",
        ),
        click.option(
            "--validator",
            type=click.Choice(["gx", "sql"]),
            envvar="RUNNER_VALIDATOR",
            help="Who runs the expectations: gx (Great Expectations, default) or sql (the same "
            "checks as plain SQL queries on the target, GX only for gx: entries). "
            "Default: [tool.runner] validator.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _build(command: str, options: Options, **kwargs: Any) -> None:
    import time

    from .artifacts import build_manifest, write_json
    from .build import BuildOptions, exit_code, run_build
    from .console import print_error
    from .engines import open_engine
    from .lock import ProjectLock
    from .run_results import build_run_results, write_run_results

    started = time.time()
    project = _load(options, warn_error=kwargs.get("warn_error", False))
    args = {k: (list(v) if isinstance(v, tuple | frozenset) else v) for k, v in kwargs.items()}
    args = {k: (str(v) if isinstance(v, Path) else v) for k, v in args.items()}
    args.update(target=options.target, vars=options.vars)  # for `runner retry`
    with (
        ProjectLock(project.settings.target_dir, f"runner {command}"),
        open_engine(project.target, project.settings.root) as engine,
    ):
        summary, compilation = run_build(project, BuildOptions(command=command, **kwargs), engine)
        _record_history(engine, summary, command, args, started)
    write_json(project.settings.target_dir / "manifest.json", build_manifest(project, compilation))
    lines = [
        line for r in summary.results.values() for line in r.extra.get("expectation_lines", ())
    ]
    if lines and kwargs.get("log_format") != "json":
        click.echo("Expectations not passing:")
        for line in lines:
            click.echo("  " + line)
    docs = (summary.quality or {}).get("data_docs")
    if docs:
        click.echo(f"Data Docs: {docs}")
    if summary.publish is not None and kwargs.get("log_format") != "json":
        for line in summary.publish.lines():
            click.echo(line)
    if summary.publish_skipped is not None and kwargs.get("log_format") != "json":
        click.echo(summary.publish_skipped)
    if summary.publish_error is not None:
        print_error(summary.publish_error)
    if summary.hook_error is not None:
        print_error(summary.hook_error)
    write_run_results(
        project.settings.target_dir,
        build_run_results(summary, project.graph, command=command, args=args),
    )
    sys.exit(exit_code(summary))


def _record_history(engine: Any, summary: Any, command: str, args: dict, started: float) -> None:
    """This run in _runner.runs and _runner.run_nodes; a warning if it cannot be written."""
    from .build import exit_code
    from .console import print_warning
    from .errors import RunnerError, first_line
    from .history import record_run

    try:
        record_run(
            engine,
            summary,
            command=command,
            args=args,
            started_at=started,
            exit_code=exit_code(summary),
        )
    except Exception as exc:  # the run happened; only its history row is missing
        print_warning(
            RunnerError(
                f"could not record this run in _runner.runs: {first_line(exc)}",
                hint="run_results.json has it; the history table gets the next run",
            )
        )


@cli.command("build")
@project_options
@selection_options
@build_options
@click.option(
    "--no-publish",
    is_flag=True,
    help="Do not refresh the serving database (profiles.yml serve_path) at the end.",
)
@click.option(
    "--now",
    envvar="RUNNER_NOW",
    help="The time source freshness is measured against (ISO, UTC; default: the clock).",
)
def build_command(options: Options, **kwargs: Any) -> None:
    """Load seeds and sources, build models in dependency order, check their expectations,
    then publish what passed to the serving database (not while a source is stale past its
    freshness error_after)."""
    _build("build", options, **kwargs)


@cli.command("retry")
@project_options
@click.option(
    "--log-format",
    type=click.Choice(["auto", "rich", "plain", "json"]),
    envvar="RUNNER_LOG_FORMAT",
    help="Default: the last run's.",
)
def retry_command(options: Options, log_format: str | None) -> None:
    """Rerun what failed or was skipped in the last build/run/seed/test (from
    target/run_results.json), with that run's options; --vars and --target given here win."""
    import dataclasses

    from .build import BuildOptions
    from .project import load_settings
    from .run_results import retry_plan

    settings = load_settings(options.project_dir)
    command, args, ids = retry_plan(settings.target_dir)
    if not ids:
        click.echo(f"Nothing to retry: every node of the last `runner {command}` passed.")
        sys.exit(0)
    options = dataclasses.replace(
        options,
        target=options.target or args.get("target"),
        vars=options.vars or args.get("vars"),
    )
    known = {f.name for f in dataclasses.fields(BuildOptions)} - {"command", "only"}
    kwargs = {k: v for k, v in args.items() if k in known}
    kwargs.update(select=(), exclude=(), state=None)  # the nodes are named exactly instead
    if log_format is not None:
        kwargs["log_format"] = log_format
    for key in ("select", "exclude"):
        kwargs[key] = tuple(kwargs[key])
    click.echo(f"Retrying {len(ids)} node(s) of the last `runner {command}`.")
    _build(command, options, only=tuple(ids), **kwargs)


@cli.group("source")
def source_group() -> None:
    """Commands about the raw sources."""


@source_group.command("freshness")
@project_options
@selection_options
@click.option(
    "--now",
    envvar="RUNNER_NOW",
    help="The time freshness is measured against (ISO, UTC; default: the clock).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the results (default: target/sources.json).",
)
def source_freshness_command(
    options: Options,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    state: Path | None,
    now: str | None,
    output: Path | None,
) -> None:
    """How old each source table is (max loaded_at_field) against its freshness rule in
    sources.yml; exit 1 when one is stale past error_after."""
    import time

    from . import freshness
    from .build import BuildOptions, select_for
    from .engines import open_engine
    from .lock import ProjectLock

    moment = freshness.parse_now(now)
    project = _load(options)
    chosen = None
    if select or exclude:
        chosen = select_for(
            project, BuildOptions(command="run", select=select, exclude=exclude, state=state)
        )
    clock = time.perf_counter()
    with (
        ProjectLock(project.settings.target_dir, "runner source freshness"),
        open_engine(project.target, project.settings.root) as engine,
    ):
        results = freshness.check_sources(project, engine, chosen, moment, create=True)
    data = freshness.sources_json(
        results, time.perf_counter() - clock, {"command": "source freshness"}
    )
    path = output or project.settings.target_dir / "sources.json"
    if output is not None:
        from .artifacts import write_json

        write_json(path, data)
    else:
        freshness.write_sources_json(project.settings.target_dir, data)
    if not results:
        click.echo("No source table has a freshness rule (freshness and loaded_at_field).")
    for r in results:
        click.echo(f"{r.status.upper():<14} {r.name}: {r.message}")
    click.echo(f"Wrote {path}")
    sys.exit(1 if freshness.stale(results) else 0)


@cli.command("publish")
@project_options
@click.option(
    "--to",
    "to",
    nargs=2,
    type=(click.Choice(["duckdb"]), click.Path(dir_okay=False, path_type=Path)),
    help="Export what the target serves to this DuckDB file instead (e.g. --to duckdb "
    "target/serving.duckdb): the BI side reads the same file whichever engine built it.",
)
def publish_command(options: Options, to: tuple[str, Path] | None) -> None:
    """Write the serving database from what passed its audit in the working database."""
    from . import publish
    from .engines import open_engine
    from .lock import ProjectLock

    project = _load(options)
    path = publish.serve_path(project)
    if to is None and not publish.publishes(project):
        raise UsageError(
            f"target '{project.target.name}' has no serve_path",
            path=project.target.profiles_path,
            hint="add e.g. serve_path: target/serving.duckdb to the target in profiles.yml",
        )
    with (
        ProjectLock(project.settings.target_dir, "runner publish"),
        open_engine(project.target, project.settings.root) as engine,
    ):
        if to is None:
            report = publish.publish(project, engine, path)
        else:
            report = publish.export(project, engine, to[1].resolve())
    for line in report.lines():
        click.echo(line)


@cli.command("run")
@project_options
@selection_options
@build_options
def run_command(options: Options, **kwargs: Any) -> None:
    """Build models (and check sources), without loading seeds."""
    _build("run", options, **kwargs)


@cli.command("seed")
@project_options
@selection_options
@build_options
def seed_command(options: Options, **kwargs: Any) -> None:
    """Load the CSV files under the seed paths into tables."""
    _build("seed", options, **kwargs)


@cli.command("snapshot")
@project_options
@selection_options
@build_options
def snapshot_command(options: Options, **kwargs: Any) -> None:
    """Bring the snapshots (SCD2 history tables) up to date with their queries."""
    _build("snapshot", options, **kwargs)


@cli.command("test")
@project_options
@selection_options
@build_options
@click.option(
    "--docs",
    is_flag=True,
    help="Also write GX Data Docs of the results to target/data_docs/index.html (its HTML "
    "loads styles and scripts from the internet: offline it shows unstyled).",
)
def test_command(options: Options, **kwargs: Any) -> None:
    """Run the data-quality expectations of what is built (no building)."""
    _build("test", options, **kwargs)


@cli.command("deps")
@project_options
def deps_command(options: Options) -> None:
    """Install the packages of packages.yml (local: and git: with a revision) into
    dbt_packages/."""
    from .packages import install
    from .project import load_settings

    settings = load_settings(options.project_dir)
    install(settings.root, settings.packages_install_path, echo=click.echo)


@cli.command("show")
@project_options
@click.argument("model", required=False)
@click.option("--inline", help="Run this SQL (Jinja allowed) instead of reading a model.")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=0, max=MAX_SHOW_ROWS),
    default=10,
    show_default=True,
    help="Rows to show.",
)
def show_command(options: Options, model: str | None, inline: str | None, limit: int) -> None:
    """Preview the rows of a built model, or of --inline SQL."""
    from .build import preview
    from .engines import open_engine

    if (model is None) == (inline is None):
        raise UsageError(
            "give a model name or --inline SQL (one of the two)",
            hint="e.g. runner show dim_customers --limit 5",
        )
    project = _load(options)
    with open_engine(project.target, project.settings.root) as engine:
        shown = preview(project, engine, model=model, inline=inline, limit=limit)
    from rich import box
    from rich.console import Console
    from rich.table import Table

    result = shown.result
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for column in result.columns:
        table.add_column(column, no_wrap=True)
    for row in result.rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: never wrap, whatever the width
        console = Console(highlight=False, width=100_000)
    console.print(table)
    if shown.order:
        console.print(shown.order, style="dim", soft_wrap=True)


@cli.group("docs")
def docs_group() -> None:
    """The documentation site: every node, model and column lineage, charts of the marts."""


@docs_group.command("generate")
@project_options
def docs_generate_command(options: Options) -> None:
    """Write target/docs/index.html (one file, opens from disk) and target/lineage.json."""
    from .docs_site import generate

    report = generate(_load(options))
    click.echo(
        f"Wrote {report.index} ({report.size_bytes / 1e6:.1f} MB, {report.nodes} nodes, "
        f"{report.columns_traced} columns traced, {report.charts_drawn} charts) "
        f"in {report.elapsed:.2f}s"
    )
    for uid, why in sorted(report.models_without_lineage.items()):
        click.echo(f"  no column lineage for {uid}: {why}")
    for chart, why in sorted(report.charts_missing.items()):
        click.echo(f"  chart {chart} not drawn: {why}")


@docs_group.command("serve")
@project_options
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
def docs_serve_command(options: Options, port: int, host: str) -> None:
    """Serve the generated docs (runner docs generate) until Ctrl-C."""
    from .docs_site import DOCS_DIR
    from .docs_site.serve import make_server
    from .project import load_settings

    settings = load_settings(options.project_dir)
    docs_dir = settings.target_dir / DOCS_DIR
    if not (docs_dir / "index.html").is_file():
        raise UsageError(
            f"no {settings.target_path}/{DOCS_DIR}/index.html yet",
            hint="run `runner docs generate` first",
        )
    try:
        server = make_server(docs_dir, settings.root, host, port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port (0 takes any free one)",
        ) from None
    click.echo(f"Serving {docs_dir} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.command("demo-data")
@click.option(
    "--customers", type=click.IntRange(min=1), default=2000, show_default=True, help="Sign-ups."
)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default="2023-01-01",
    show_default=True,
    help="First day of the data.",
)
@click.option(
    "--months", type=click.IntRange(min=1), default=24, show_default=True, help="Months of data."
)
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same files.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write <table>.csv or <table>.parquet into, e.g. seeds/shop.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="File format.",
)
def demo_data_command(
    customers: int, start: Any, months: int, seed: int, out: Path, fmt: str
) -> None:
    """Write a synthetic shop's raw tables (the landing contract) as CSV or Parquet files."""
    from .demo import generate

    started = time.perf_counter()
    counts = generate(
        out, customers=customers, start=start.date(), months=months, seed=seed, fmt=fmt
    )
    for table, rows in counts.items():
        click.echo(f"  {table:<16} {rows:>12,} rows")
    elapsed = time.perf_counter() - started
    click.echo(f"Wrote {len(counts)} tables to {out} in {elapsed:.1f}s")


@cli.command("debug")
@project_options
def debug_command(options: Options) -> None:
    """Show the project, the profile, versions, and check the connection."""
    from importlib import metadata

    from .project import load_settings, load_target

    def row(label: str, value: Any) -> None:
        click.echo(f"  {label:<14} {value}")

    settings = load_settings(options.project_dir)
    click.echo("project")
    row("name", settings.name)
    row("root", settings.root)
    row("model paths", ", ".join(settings.model_paths))
    row("seed paths", ", ".join(settings.seed_paths))
    row("macro paths", ", ".join(settings.macro_paths))
    row("target path", settings.target_path)
    click.echo("versions")
    row("python", sys.version.split()[0])
    row("runner", __version__)
    packages = ("duckdb", "pyspark", "sqlglot", "sqlglotc", "jinja2", "click", "pyyaml", "rich")
    for package in packages:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "not installed"
        row(package, version)
    target = load_target(settings, options.profiles_dir, options.target)
    click.echo("profile")
    row("profile", target.profile)
    row("target", target.name)
    for key, value in target.public_dict().items():
        if key not in ("name", "profile_name") and value not in (None, [], {}):
            row(key, value)
    project = _load(options)
    nodes = list(project.graph)
    click.echo("nodes")
    for kind in ("model", "seed", "source"):
        row(kind + "s", sum(1 for n in nodes if n.resource_type == kind))
    row("macros", len(project.macros))
    click.echo("connection")
    from .engines import engine_class

    ok, message = engine_class(target).check_connection(target, settings.root)
    row(target.type, message)
    if not ok:
        raise UsageError(
            f"cannot connect to target '{target.name}': {message}",
            hint="check path, extensions and settings in profiles.yml",
        )
    click.echo("All checks passed.")


@cli.command("clean")
@project_options
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also delete the DuckDB files in it (the working database and the serving file).",
)
def clean_command(options: Options, everything: bool) -> None:
    """Delete what the target folder holds (compiled SQL, artifacts, cache, Data Docs),
    keeping the databases in it unless --all: a serving file BI tools read and a warehouse
    that took hours to build are not build leftovers."""
    from .lock import LOCK_FILE, ProjectLock
    from .project import load_settings

    settings = load_settings(options.project_dir)
    target_dir = settings.target_dir.resolve()
    if target_dir == settings.root or settings.root not in target_dir.parents:
        raise UsageError(
            f"refusing to delete {target_dir}: it is not inside the project folder",
            hint="set [tool.runner] target-path to a folder inside the project",
        )
    if not target_dir.exists():
        click.echo(f"Nothing to clean: {settings.target_path}/ does not exist")
        return
    with ProjectLock(target_dir, "runner clean"):  # never while a build writes there
        kept = []
        for entry in sorted(target_dir.iterdir()):
            if entry.name == LOCK_FILE:
                continue
            if not everything and _is_database(entry):
                kept.append(entry.name)
            elif entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    if not kept:
        shutil.rmtree(target_dir)
        click.echo(f"Removed {settings.target_path}/")
    else:
        click.echo(
            f"Cleaned {settings.target_path}/, keeping {', '.join(kept)} (--all deletes them too)"
        )


def _is_database(path: Path) -> bool:
    """A DuckDB file (or its write-ahead log), by name."""
    return path.is_file() and path.name.endswith((".duckdb", ".duckdb.wal", ".db", ".db.wal"))


def main() -> None:
    cli(prog_name="runner")


if __name__ == "__main__":
    main()
