"""Column lineage of a whole project, and ``target/lineage.json`` (schema in docs/artifacts.md).

For every compiled SQL model, ``runner.sql.lineage`` names the upstream columns of each
output column; here those table keys become unique ids, the ephemeral CTEs crossed become
the ephemeral models' ids, and results are cached by the hash of the SQL and the upstream
columns, so a second ``runner docs generate`` on an unchanged project runs no sqlglot.
Models are independent once compiled (their parents' columns are known), so they are spread
over worker processes in one batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import __version__
from .cache import digest, text_hash
from .compiler import Compilation, ephemeral_name
from .compiler import _levels as model_levels  # the compiler's own grouping by DAG depth
from .nodes import Model, Node, Relation
from .parallel import Workers
from .parser import Project

LINEAGE_SCHEMA_VERSION = "runner.lineage.v1"
LINEAGE_FILE = "lineage.json"


def _table_key(relation: Relation) -> str:
    parts = [p for p in (relation.database, relation.schema, relation.identifier) if p]
    return ".".join(p.lower() for p in parts)


def project_lineage(
    project: Project,
    compilation: Compilation,
    extra_columns: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """The lineage.json document: per model, per output column, its upstream columns.

    ``extra_columns`` (unique id -> columns) fills in columns the compiler cannot know,
    such as a Python model's, read from the built warehouse.
    """
    graph = project.graph
    by_key = {_table_key(n.relation): uid for uid, n in graph.nodes.items()}
    ephemeral = {
        ephemeral_name(n).lower(): uid
        for uid, n in graph.nodes.items()
        if isinstance(n, Model) and n.materialized == "ephemeral"
    }
    columns_of = {
        uid: _columns(node, compilation, extra_columns) for uid, node in graph.nodes.items()
    }

    models: dict[str, dict[str, Any]] = {}
    with Workers(_analyse) as workers:
        # Level by level: where the compiler could not name a model's columns, the lineage
        # found them, and its children's stars are expanded with those.
        for level in model_levels(graph, set(graph.nodes)):
            jobs: list[tuple[str, str, dict[str, list[str]]]] = []
            for uid in level:
                node = graph.nodes[uid]
                compiled = compilation.nodes.get(uid)
                if node.language != "sql":
                    models[uid] = _entry(error=f"a {node.language} model: its code is not analysed")
                elif compiled is None:
                    models[uid] = _entry(error="not compiled")
                else:
                    schema = {
                        key: list(columns_of[by_key[key]])
                        for key in compiled.reads
                        if key in by_key and columns_of.get(by_key[key])
                    }
                    jobs.append((uid, compiled.sql, schema))
            for (uid, _, _), outcome in zip(jobs, _run(project, workers, jobs), strict=True):
                if isinstance(outcome, str):
                    models[uid] = _entry(error=outcome)
                    continue
                spelled = {c.lower(): c for c in columns_of.get(uid) or ()}
                columns = {
                    spelled.get(name.lower(), name): _column(item, by_key, ephemeral)
                    for name, item in outcome.items()
                }
                models[uid] = _entry(columns)
                if not columns_of.get(uid):
                    columns_of[uid] = tuple(columns)
    if project.cache is not None:
        project.cache.save()
    return {
        "metadata": {
            "schema_version": LINEAGE_SCHEMA_VERSION,
            "runner_version": __version__,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "project_name": project.settings.name,
        },
        "models": models,
    }


def _columns(
    node: Node, compilation: Compilation, extra: Mapping[str, tuple[str, ...]] | None
) -> tuple[str, ...]:
    compiled = compilation.nodes.get(node.unique_id)
    if compiled is not None and compiled.columns:
        return tuple(compiled.columns)
    if extra and extra.get(node.unique_id):
        return tuple(extra[node.unique_id])
    return tuple(c.name for c in node.columns)


def _entry(columns: dict[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    return {"columns": columns or {}, "error": error}


def _column(item: dict[str, Any], by_key: Mapping[str, str], ephemeral: Mapping[str, str]) -> dict:
    return {
        "upstream": [
            {"node": by_key.get(table), "table": table, "column": column}
            for table, column in item["upstream"]
        ],
        "transform": item["transform"],
        "through": [ephemeral[v.lower()] for v in item["via"] if v.lower() in ephemeral],
    }


# --- the sqlglot part, cached and in worker processes -------------------------------------


def _run(
    project: Project, workers: Workers, jobs: list[tuple[str, str, dict[str, list[str]]]]
) -> list[Any]:
    cache = project.cache
    keys = [digest("lineage", text_hash(sql), schema) for _, sql, schema in jobs]
    outcomes: list[Any] = [cache.get("lineage", k) if cache is not None else None for k in keys]
    todo = [i for i, o in enumerate(outcomes) if o is None]
    done = workers.map([(jobs[i][1], jobs[i][2]) for i in todo]) if todo else []
    for i, outcome in zip(todo, done, strict=True):
        outcomes[i] = outcome
        if cache is not None:
            cache.put("lineage", keys[i], outcome)
    return outcomes


def _analyse(job: tuple[str, dict[str, list[str]]]) -> dict[str, Any] | str:
    """One model's lineage as plain data (picklable), or the reason it has none."""
    from .sql.lineage import LineageError, column_lineage

    sql, schema = job
    try:
        found = column_lineage(sql, schema)
    except LineageError as exc:
        return str(exc)
    return {
        name: {
            "upstream": [(u.table, u.column) for u in item.upstream],
            "transform": item.transform,
            "via": list(item.via),
        }
        for name, item in found.items()
    }
