"""Compile models: render with resolved refs, check with sqlglot, derive output columns.

Models are compiled parents first, so a ``select *`` can be resolved from the
columns of what it reads. Rendered SQL and sqlglot's findings are cached by
hashes of their inputs; an unchanged project compiles without Jinja or sqlglot.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from . import redaction
from .cache import ParseCache, digest, text_hash
from .errors import ErrorGroup, ProjectError, RunnerError
from .graph import Graph
from .nodes import CompiledNode, Model, Node, Relation, Seed, Source, changed_rows_relation
from .parallel import Workers
from .parser import Project


@dataclass
class Compilation:
    """Compiled models by unique id, and the warnings found on the way."""

    nodes: dict[str, CompiledNode] = field(default_factory=dict)
    warnings: list[RunnerError] = field(default_factory=list)


def compile_models(
    project: Project,
    selected: Iterable[str] | None = None,
    *,
    write: bool = True,
    is_incremental: Callable[[Model], bool] = lambda model: False,
    query: Callable[[str], Any] | None = None,
) -> Compilation:
    """Compile the selected models (all by default) and the models they read from.

    Models are compiled level by level through the DAG (each level in parallel
    worker processes when it is large), since a model's columns may depend on its
    parents' columns. Every error found is reported at once; a model downstream
    of an error is not compiled.

    A model that queries the database while it compiles (``run_query``, ``execute``)
    is compiled here only when ``query`` is given; a build compiles it with
    ``compile_now`` right before it runs, once what it reads is built.
    """
    graph = project.graph
    wanted = set(graph.nodes) if selected is None else set(selected)
    needed = set(wanted)
    for uid in wanted:
        needed |= graph.ancestors(uid)
    result = Compilation()
    errors: list[RunnerError] = []
    failed: set[str] = set()

    def task(job: _Job) -> tuple[Any, ...]:
        uid = job.uid
        model = graph.nodes[uid]
        assert isinstance(model, Model)
        try:
            compiled, warning = _compile_one(project, model, job, is_incremental(model))
            if write and uid in wanted:
                compiled = _write(project, model, compiled)
            return compiled, warning, _take_puts(project)
        except RunnerError as exc:
            return exc, None, _take_puts(project)

    with Workers(task) as workers:
        for level in _levels(graph, needed):
            batch = []
            for uid in level:
                if graph.parents[uid] & failed:
                    failed.add(uid)
                    continue
                node = graph.nodes[uid]
                if isinstance(node, Model) and node.needs_execution:
                    if query is not None:
                        try:
                            result.nodes[uid] = compile_now(
                                project, node, result, query, is_incremental(node), write
                            )
                        except RunnerError as exc:
                            errors.append(exc)
                            failed.add(uid)
                    continue
                batch.append(_job(project, uid, result, is_incremental))
            # Cached renders are cheap: only the rest is worth sending to worker processes.
            cache = project.cache
            misses = [
                j for j in batch if cache is None or cache.get("compiled", j.render_key) is None
            ]
            if misses:
                project.renderer()  # built before workers fork, so they inherit it
            done = dict(zip((j.uid for j in misses), workers.map(misses), strict=True))
            for job in batch:
                uid = job.uid
                outcome, warning, puts = done[uid] if uid in done else task(job)
                if project.cache is not None:
                    project.cache.merge(puts)
                if isinstance(outcome, RunnerError):
                    errors.append(outcome)
                    failed.add(uid)
                    continue
                result.nodes[uid] = outcome
                if warning is not None:
                    result.warnings.append(warning)
    if project.cache is not None:
        project.cache.save()
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
    return result


def compile_now(
    project: Project,
    model: Model,
    done: Compilation,
    query: Callable[[str], Any],
    incremental: bool = False,
    write: bool = True,
) -> CompiledNode:
    """Compile one model in this process, its templates free to query the database."""
    job = _job(project, model.unique_id, done, lambda m: incremental)
    compiled, warning = _compile_one(project, model, job, incremental, query)
    if warning is not None:
        done.warnings.append(warning)
    if write:
        compiled = _write(project, model, compiled)
    done.nodes[model.unique_id] = compiled
    return compiled


@dataclass(frozen=True)
class _Job:
    """What compiling one model needs from its parents (small: it may go to a worker)."""

    uid: str
    upstream: dict[str, tuple[str, ...] | None]  # table key -> columns (None: unknown)
    render_key: str
    ctes: tuple[tuple[str, str], ...] = ()  # ephemeral parents to inline: (name, sql)
    also_read: frozenset[str] = frozenset()  # tables the inlined ephemerals read


def _job(
    project: Project, uid: str, done: Compilation, is_incremental: Callable[[Model], bool]
) -> _Job:
    graph = project.graph
    model = graph.nodes[uid]
    assert isinstance(model, Model)
    upstream = {}
    ctes = []
    also_read: set[str] = set()
    for parent_uid in sorted(graph.parents[uid]):
        parent = graph.nodes[parent_uid]
        if isinstance(parent, Model) and parent.materialized == "ephemeral":
            compiled = done.nodes[parent_uid]
            ctes.append((ephemeral_name(parent), compiled.sql))
            also_read |= set(compiled.reads)
            upstream[ephemeral_name(parent).lower()] = compiled.columns
        else:
            upstream[_table_key(parent.relation)] = _columns_of(parent, done)
            if parent.materialized == "incremental":  # changed_rows(ref(...)), replaced_rows
                for kind in ("changed", "replaced"):
                    also_read.add(_table_key(changed_rows_relation(parent.relation, kind)))
    if model.materialized == "incremental":  # new_source_rows('source', 'table')
        from .landing import new_rows_relation, sources_of

        for source in sources_of(graph, model):
            new = new_rows_relation(model.relation, source.source_name, source.name)
            also_read.add(_table_key(new))
    return _Job(
        uid,
        upstream,
        _render_key(project, model, is_incremental(model)),
        tuple(ctes),
        frozenset(also_read),
    )


def ephemeral_name(model: Model) -> str:
    """The CTE name an ephemeral model is inlined under."""
    return f"__runner_ephemeral__{model.name}"


def _levels(graph: Graph, needed: set[str]) -> list[list[str]]:
    """Models grouped so that each group only reads models of earlier groups."""
    depth: dict[str, int] = {}
    levels: list[list[str]] = []
    for uid in graph.topological_order(needed):
        if not isinstance(graph.nodes[uid], Model):
            continue
        level = 1 + max((depth.get(p, -1) for p in graph.parents[uid]), default=-1)
        depth[uid] = level
        if level == len(levels):
            levels.append([])
        levels[level].append(uid)
    return levels


def _take_puts(project: Project) -> list[tuple[str, Any]]:
    return project.cache.take_puts() if project.cache is not None else []


def _write(project: Project, model: Model, compiled: CompiledNode) -> CompiledNode:
    """Write target/compiled/<project>/<path> unless it already holds this SQL.

    Runs in the worker that compiled the model: creating files is slow on some
    disks, and this spreads it over the workers.
    """
    settings = project.settings
    out = (
        settings.target_dir
        / "compiled"
        / settings.name
        / _below_model_path(model.path, settings.model_paths)
    )
    cache = project.cache
    if not _unchanged(cache, out, compiled.sql):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(redaction.text(compiled.sql), encoding="utf-8")
        if cache is not None:
            stat = out.stat()
            cache.put(
                "written", str(out), (text_hash(compiled.sql), stat.st_size, stat.st_mtime_ns)
            )
    relative = PurePosixPath(out.relative_to(settings.root).as_posix())
    return replace(compiled, compiled_path=relative)


def _unchanged(cache: ParseCache | None, out: Path, sql: str) -> bool:
    """True when ``out`` still holds what this run would write (checked by stat, not read)."""
    if cache is None:
        return False
    known = cache.get("written", str(out))
    if known is None or known[0] != text_hash(sql):
        return False
    try:
        stat = out.stat()
    except FileNotFoundError:
        return False
    return (stat.st_size, stat.st_mtime_ns) == (known[1], known[2])


def _compile_one(
    project: Project,
    model: Model,
    job: _Job,
    incremental: bool,
    query: Callable[[str], Any] | None = None,
) -> tuple[CompiledNode, RunnerError | None]:
    if model.language == "python":  # runs as it is; its columns are known once it ran
        return CompiledNode(unique_id=model.unique_id, sql=model.raw_sql, columns=None), None
    sql = _render(project, model, incremental, job.render_key, query)
    if job.ctes:
        sql = _with_ctes(project, sql, job.ctes)
    tree = _parsed_once(model, sql)
    facts = _analyze(project, model, sql, job.upstream, tree)
    undeclared = tuple(
        t for t in facts["tables"] if t not in job.upstream and t not in job.also_read
    )
    warning = _undeclared(project, model, undeclared) if undeclared else None
    compiled = CompiledNode(
        unique_id=model.unique_id,
        sql=sql,
        columns=facts["columns"],
        undeclared_tables=undeclared,
        reads=tuple(facts["tables"]),
        target_sql=_transpile(project, model, sql, tree),
    )
    return compiled, warning


def _with_ctes(project: Project, sql: str, ctes: Sequence[tuple[str, str]]) -> str:
    """The ephemeral models it reads inlined as CTEs; sqlglot re-prints the query, so the
    result is cached by the SQL and the CTEs (a warm build does not import sqlglot)."""
    cache = project.cache
    key = digest("with_ctes", text_hash(sql), ctes)
    found = cache.get("with_ctes", key) if cache is not None else None
    if found is None:
        from . import sql as sqlmod

        found = sqlmod.inject_ctes(sql, ctes)
        if cache is not None:
            cache.put("with_ctes", key, found)
    return found


def target_dialect(project: Project) -> str:
    """The SQL dialect of the target's engine (models are written in DuckDB's)."""
    return "spark" if project.target.type == "spark" else "duckdb"


def _parsed_once(model: Model, sql: str) -> Callable[[], Any]:
    """The compiled SQL's syntax tree, parsed on first use: the analysis and (on a Spark
    target) the transpilation share it instead of each parsing the model again."""

    @functools.cache
    def tree() -> Any:
        from . import sql as sqlmod

        return sqlmod.parse_query(sql, path=model.path, source_text=model.raw_sql)

    return tree


def _transpile(
    project: Project, model: Model, sql: str, tree: Callable[[], Any] | None = None
) -> str | None:
    """The model in the target's dialect; a construct that cannot be carried over is a
    ProjectError at the model's line, now rather than a wrong number later."""
    dialect = target_dialect(project)
    if dialect == "duckdb":
        return None
    from .sql.transpile import VERSION

    key = digest("transpile", VERSION, dialect, text_hash(sql), model.checksum)
    cache = project.cache
    cached = cache.get("transpiled", key) if cache is not None else None
    if cached is not None:
        return cached
    from .sql.transpile import to_dialect

    text = to_dialect(
        sql,
        dialect,
        path=model.path,
        source_text=model.raw_sql,
        tree=tree() if tree is not None else None,
    )
    if cache is not None:
        cache.put("transpiled", key, text)
    return text


def resolved_relations(project: Project, model: Model) -> tuple[dict, dict]:
    """What the model's refs (name -> Relation) and sources ((source, table) -> Relation)
    point at; an ephemeral parent is its CTE name."""
    return _resolved(project, model)


def _resolved(project: Project, model: Model) -> tuple[dict, dict]:
    graph = project.graph
    refs = {}
    for ref in model.refs:
        target = graph.nodes[_uid_by_name(project, ref.name)]
        if isinstance(target, Model) and target.materialized == "ephemeral":
            refs[ref.name] = Relation(schema="", identifier=ephemeral_name(target))
        else:
            refs[ref.name] = target.relation
    sources = {
        (c.source_name, c.table_name): graph.nodes[
            f"source.{c.source_name}.{c.table_name}"
        ].relation
        for c in model.sources
    }
    return refs, sources


def _render_key(project: Project, model: Model, incremental: bool) -> str:
    loader = project._loader
    assert loader is not None
    refs, sources = _resolved(project, model)
    return digest(
        loader.context_key,
        str(model.path),
        model.checksum,
        model.config,
        {k: str(v) for k, v in refs.items()},
        [[*k, str(v)] for k, v in sorted(sources.items())],
        incremental,
    )


def _render(
    project: Project,
    model: Model,
    incremental: bool,
    key: str,
    query: Callable[[str], Any] | None = None,
) -> str:
    # What the database returns is not in the key: such a render is never cached.
    cache = project.cache if query is None else None
    cached = cache.get("compiled", key) if cache is not None else None
    if cached is not None and all(os.environ.get(k) == v for k, v in cached[1].items()):
        return cached[0]
    refs, sources = _resolved(project, model)
    renderer = project.renderer()

    def resolve_ref(name: str) -> Relation:
        if name not in refs:
            raise ProjectError(
                f"ref('{name}') appeared only at compile time in model '{model.name}'",
                path=model.path,
                hint="refs must be visible when the model is parsed; avoid putting ref() "
                "inside {% if is_incremental() %} only — add it unconditionally",
            )
        return refs[name]

    def resolve_source(source_name: str, table_name: str) -> Relation:
        return sources[(source_name, table_name)]

    code = renderer.compile_template(model.path, model.raw_sql)
    rendered = renderer.render(
        renderer.template(code, str(model.path)),
        path=model.path,
        model_name=model.name,
        this=model.relation,
        resolve_ref=resolve_ref,
        resolve_source=resolve_source,
        is_incremental=incremental,
        query=query,
    )
    if cache is not None:
        cache.put("compiled", key, (rendered.text, rendered.env_vars))
    return rendered.text


def _analyze(
    project: Project,
    model: Model,
    sql: str,
    upstream: dict[str, tuple[str, ...] | None],
    tree: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    known = {k: list(v) for k, v in upstream.items() if v is not None}
    key = digest(text_hash(sql), known)
    cache = project.cache
    cached = cache.get("sql", key) if cache is not None else None
    if cached is not None:
        return cached
    from . import sql as sqlmod

    facts = sqlmod.analyze(
        sql,
        path=model.path,
        source_text=model.raw_sql,
        schema=known,
        tree=tree() if tree is not None else None,
    )
    value = {"tables": facts.tables, "columns": facts.columns}
    if cache is not None:
        cache.put("sql", key, value)
    return value


def _undeclared(project: Project, model: Model, tables: tuple[str, ...]) -> RunnerError | None:
    """A table read without ref()/source(): a warning, an error, or nothing (per setting)."""
    policy = project.settings.undeclared_tables
    if policy == "ignore":
        return None
    names = ", ".join(tables)
    error = ProjectError(
        f"model '{model.name}' reads {names} without ref() or source()",
        path=model.path,
        line=_line_mentioning(model.raw_sql, tables[0]),
        hint="use {{ ref('model') }} or {{ source('name', 'table') }} so the runner "
        "knows the dependency (undeclared-tables = 'error' makes this an error)",
    )
    if policy == "error":
        raise error
    return error


def _line_mentioning(text: str, table: str) -> int | None:
    name = table.rsplit(".", 1)[-1].lower()
    for number, line in enumerate(text.splitlines(), 1):
        if name in line.lower():
            return number
    return None


def _columns_of(node: Node, done: Compilation) -> tuple[str, ...] | None:
    if isinstance(node, Model):
        compiled = done.nodes.get(node.unique_id)
        return compiled.columns if compiled else None
    if isinstance(node, Seed | Source):
        return tuple(c.name for c in node.columns) or None
    return None


def _table_key(relation: Relation) -> str:
    parts = [p for p in (relation.database, relation.schema, relation.identifier) if p]
    return ".".join(p.lower() for p in parts)


def _uid_by_name(project: Project, name: str) -> str:
    graph = project.graph
    for prefix in ("model.", "seed.", "snapshot."):
        if prefix + name in graph.nodes:
            return prefix + name
    raise ProjectError(f"unknown ref '{name}'")


def _below_model_path(path: PurePosixPath, model_paths: tuple[str, ...]) -> PurePosixPath:
    for root in model_paths:
        parts = PurePosixPath(root).parts
        if path.parts[: len(parts)] == parts:
            return PurePosixPath(*path.parts[len(parts) :])
    return path


def compile_inline(project: Project, text: str) -> str:
    """Compile a snippet as if it were a model named ``inline_query``; refs must exist."""
    renderer = project.renderer()
    path = PurePosixPath("<inline>")
    code = renderer.compile_template(path, text)
    graph = project.graph

    def resolve_ref(name: str) -> Relation:
        for node in graph.by_name(name):
            if not isinstance(node, Source):
                return node.relation
        import difflib

        names = [n.name for n in graph if not isinstance(n, Source)]
        close = difflib.get_close_matches(name, names, n=3)
        raise ProjectError(
            f"--inline refers to unknown node '{name}'",
            hint=("did you mean " + " or ".join(f"'{c}'" for c in close) + "?")
            if close
            else "check the name",
        )

    def resolve_source(source_name: str, table_name: str) -> Relation:
        uid = f"source.{source_name}.{table_name}"
        if uid not in graph.nodes:
            raise ProjectError(f"--inline uses unknown source '{source_name}.{table_name}'")
        return graph.nodes[uid].relation

    sql = renderer.render(
        renderer.template(code, str(path)),
        path=path,
        model_name="inline_query",
        this=Relation(schema=project.target.schema, identifier="inline_query"),
        resolve_ref=resolve_ref,
        resolve_source=resolve_source,
    ).text
    from . import sql as sqlmod

    tree = sqlmod.parse_query(sql, path=path, source_text=text)
    sqlmod.analyze(sql, path=path, source_text=text, tree=tree)
    dialect = target_dialect(project)
    if dialect != "duckdb":
        from .sql.transpile import to_dialect

        return to_dialect(sql, dialect, path=path, source_text=text, tree=tree)
    return sql
