"""``graph`` in templates: the project's nodes and sources as dbt exposes them.

dbt's ``graph.nodes`` maps ``model.<package>.<name>`` (also seeds and snapshots) to the
node's manifest entry, ``graph.sources`` maps ``source.<package>.<source>.<table>`` to the
source's; packages (dbt_project_evaluator, audit helpers, ...) loop over them with
``selectattr('resource_type', 'equalto', 'model')``. The runner builds the same shape from
its parsed graph: the keys those loops read (name, resource_type, package_name, fqn,
config, tags, schema, alias, relation_name, columns, depends_on, refs, sources, ...).
As in dbt, ``graph`` is empty while the project is parsed and complete when a model is
compiled to run (a model using it is compiled right before it runs).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from .nodes import Model, Node, Seed, Snapshot, Source

EMPTY: dict[str, dict[str, Any]] = {
    "nodes": {},
    "sources": {},
    "exposures": {},
    "metrics": {},
    "groups": {},
    "semantic_models": {},
    "saved_queries": {},
}


def dbt_id(node: Node) -> str:
    """dbt's unique id for a runner node: the package is the fqn's first part."""
    package = node.fqn[0] if node.fqn else ""
    if isinstance(node, Source):
        return f"source.{package}.{node.source_name}.{node.name}"
    return f"{node.resource_type}.{package}.{node.name}"


def build(graph: Any, database: str) -> dict[str, dict[str, Any]]:
    """The ``graph`` object for templates from the runner's parsed ``graph``."""
    ids = {uid: dbt_id(node) for uid, node in graph.nodes.items()}
    nodes, sources = {}, {}
    for uid, node in graph.nodes.items():
        if isinstance(node, Source):
            sources[ids[uid]] = _source(node, ids[uid], database)
        elif isinstance(node, Model | Seed):
            parents = sorted(ids[p] for p in graph.parents.get(uid, ()) if p in ids)
            nodes[ids[uid]] = _node(node, ids[uid], database, parents)
    return {**EMPTY, "nodes": nodes, "sources": sources}


def _common(node: Node, unique_id: str, database: str) -> dict[str, Any]:
    config = dict(node.config)
    config.setdefault("enabled", True)
    config.setdefault("tags", [])
    config.setdefault("meta", {})
    return {
        "unique_id": unique_id,
        "name": node.name,
        "resource_type": node.resource_type,
        "package_name": node.fqn[0] if node.fqn else "",
        "original_file_path": str(node.path),
        "path": _path_in_package(node.path),
        "fqn": list(node.fqn),
        "description": node.description,
        "config": config,
        "tags": list(node.tags),
        "meta": dict(config.get("meta") or {}),
        "database": database,
        "schema": node.relation.schema,
        "relation_name": node.relation.render(),
        "columns": {
            column.name: {
                "name": column.name,
                "description": column.description,
                "data_type": column.data_type,
                "meta": {},
                "tags": [],
            }
            for column in node.columns
        },
    }


def _node(node: Node, unique_id: str, database: str, parents: list[str]) -> dict[str, Any]:
    entry = _common(node, unique_id, database)
    entry["alias"] = node.relation.identifier
    entry["identifier"] = node.relation.identifier
    if isinstance(node, Model):
        entry["raw_code"] = entry["raw_sql"] = node.raw_sql
        entry["language"] = node.language
        entry["refs"] = [{"name": r.name, "package": None, "version": None} for r in node.refs]
        entry["sources"] = [[s.source_name, s.table_name] for s in node.sources]
        entry["depends_on"] = {"nodes": parents, "macros": list(node.macros)}
        if isinstance(node, Snapshot):
            entry["resource_type"] = "snapshot"
    else:
        entry["depends_on"] = {"nodes": [], "macros": []}
        entry["refs"], entry["sources"] = [], []
    return entry


def _source(node: Source, unique_id: str, database: str) -> dict[str, Any]:
    entry = _common(node, unique_id, database)
    entry.update(
        source_name=node.source_name,
        identifier=node.identifier,
        loaded_at_field=node.loaded_at_field,
        loader=node.loader.get("name", "") if isinstance(node.loader, dict) else "",
        source_meta=dict(node.meta),
        meta=dict(node.meta),
    )
    return entry


def _path_in_package(path: PurePosixPath) -> str:
    """dbt's ``path``: relative to the model folder (models/staging/x.sql -> staging/x.sql)."""
    parts = path.parts
    if len(parts) > 2 and parts[0] == "dbt_packages":
        parts = parts[2:]
    return str(PurePosixPath(*parts[1:])) if len(parts) > 1 else str(path)
