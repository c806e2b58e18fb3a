"""Compile models: render with resolved refs, check with sqlglot, derive output columns.

Models are compiled parents first, so a ``select *`` can be resolved from the
columns of what it reads. Rendered SQL and sqlglot's findings are cached by
hashes of their inputs; an unchanged project compiles without Jinja or sqlglot.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .cache import digest
from .errors import ErrorGroup, ProjectError, RunnerError
from .nodes import CompiledNode, Model, Node, Relation, Seed, Source
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
) -> Compilation:
    """Compile the selected models (all by default) and the models they read from.

    Every error found is reported at once; a model downstream of an error is not
    compiled (its columns could not be known).
    """
    graph = project.graph
    wanted = set(graph.nodes) if selected is None else set(selected)
    needed = set(wanted)
    for uid in wanted:
        needed |= graph.ancestors(uid)
    result = Compilation()
    errors: list[RunnerError] = []
    failed: set[str] = set()
    compiled_dir = project.settings.target_dir / "compiled" / project.settings.name
    for uid in graph.topological_order(needed):
        node = graph.nodes[uid]
        if not isinstance(node, Model):
            continue
        if graph.parents[uid] & failed:
            failed.add(uid)
            continue
        try:
            compiled = _compile_one(project, node, result, is_incremental(node))
        except RunnerError as exc:
            errors.append(exc)
            failed.add(uid)
            continue
        if write and uid in wanted:
            out = compiled_dir / _below_model_path(node.path, project.settings.model_paths)
            _write_if_changed(out, compiled.sql)
            compiled = CompiledNode(
                unique_id=compiled.unique_id,
                sql=compiled.sql,
                columns=compiled.columns,
                undeclared_tables=compiled.undeclared_tables,
                compiled_path=PurePosixPath(out.relative_to(project.settings.root).as_posix()),
            )
        result.nodes[uid] = compiled
    if project.cache is not None:
        project.cache.save()
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
    return result


def _compile_one(
    project: Project, model: Model, done: Compilation, incremental: bool
) -> CompiledNode:
    graph = project.graph
    refs = {ref.name: graph.nodes[_uid_by_name(project, ref.name)].relation for ref in model.refs}
    sources = {
        (c.source_name, c.table_name): graph.nodes[
            f"source.{c.source_name}.{c.table_name}"
        ].relation
        for c in model.sources
    }
    sql = _render(project, model, refs, sources, incremental)
    upstream = {
        _table_key(graph.nodes[p].relation): _columns_of(graph.nodes[p], done)
        for p in graph.parents[model.unique_id]
    }
    facts = _analyze(project, model, sql, upstream)
    declared = set(upstream)
    undeclared = tuple(t for t in facts["tables"] if t not in declared)
    if undeclared:
        _report_undeclared(project, model, sql, undeclared, done)
    return CompiledNode(
        unique_id=model.unique_id,
        sql=sql,
        columns=facts["columns"],
        undeclared_tables=undeclared,
    )


def _render(
    project: Project,
    model: Model,
    refs: dict[str, Relation],
    sources: dict[tuple[str, str], Relation],
    incremental: bool,
) -> str:
    loader = project._loader
    assert loader is not None
    key = digest(
        loader.context_key,
        str(model.path),
        model.checksum,
        model.config,
        {k: str(v) for k, v in refs.items()},
        [[*k, str(v)] for k, v in sorted(sources.items())],
        incremental,
    )
    cache = project.cache
    cached = cache.get("compiled", key) if cache is not None else None
    if cached is not None and all(os.environ.get(k) == v for k, v in cached[1].items()):
        return cached[0]
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
        renderer.template(code),
        path=model.path,
        model_name=model.name,
        this=model.relation,
        resolve_ref=resolve_ref,
        resolve_source=resolve_source,
        is_incremental=incremental,
    )
    if cache is not None:
        cache.put("compiled", key, (rendered.text, rendered.env_vars))
    return rendered.text


def _analyze(
    project: Project, model: Model, sql: str, upstream: dict[str, tuple[str, ...] | None]
) -> dict[str, Any]:
    known = {k: list(v) for k, v in upstream.items() if v is not None}
    key = digest(sql, known)
    cache = project.cache
    cached = cache.get("sql", key) if cache is not None else None
    if cached is not None:
        return cached
    from . import sql as sqlmod

    facts = sqlmod.analyze(sql, path=model.path, source_text=model.raw_sql, schema=known)
    value = {"tables": facts.tables, "columns": facts.columns}
    if cache is not None:
        cache.put("sql", key, value)
    return value


def _report_undeclared(
    project: Project, model: Model, sql: str, tables: tuple[str, ...], done: Compilation
) -> None:
    policy = project.settings.undeclared_tables
    if policy == "ignore":
        return
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
    done.warnings.append(error)


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
    for prefix in ("model.", "seed."):
        if prefix + name in graph.nodes:
            return prefix + name
    raise ProjectError(f"unknown ref '{name}'")


def _below_model_path(path: PurePosixPath, model_paths: tuple[str, ...]) -> PurePosixPath:
    for root in model_paths:
        parts = PurePosixPath(root).parts
        if path.parts[: len(parts)] == parts:
            return PurePosixPath(*path.parts[len(parts) :])
    return path


def _write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


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
        renderer.template(code),
        path=path,
        model_name="inline_query",
        this=Relation(schema=project.target.schema, identifier="inline_query"),
        resolve_ref=resolve_ref,
        resolve_source=resolve_source,
    ).text
    from . import sql as sqlmod

    sqlmod.analyze(sql, path=path, source_text=text)
    return sql
