"""Everything the docs page shows, gathered into one JSON-able document.

From the project: every node as in manifest.json (``artifacts.node_dict``), its source file
and compiled SQL, its declared expectations. From the target folder: the last run's
results (``run_results.json``: when each node was built, how long it took, each
expectation's outcome) and source freshness (``sources.json``, when present). From the
working database, read-only: the actual column types (its catalog). Column lineage comes
from ``runner.column_lineage``; the charts from ``charts``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..artifacts import node_dict
from ..compiler import Compilation
from ..engines.duckdb_serving import open_read_only
from ..errors import RunnerError
from ..nodes import Model, Node
from ..parser import Project

RUN_RESULTS = "run_results.json"
SOURCES = "sources.json"
MAX_SOURCE_CHARS = 200_000  # a file bigger than this is cut in the page (the link has it all)


def read_catalog(database: str | None) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) lower-cased -> [(column, type)] from the built database; empty when
    there is none yet or it cannot be opened (a build holding it)."""
    if database is None or database == ":memory:" or not Path(database).is_file():
        return {}
    connection = open_read_only(database)
    if connection is None:
        return {}
    try:
        rows = connection.execute(
            # duckdb_columns() rather than information_schema.columns: the same rows, 2-3x
            # faster on a thousand views
            "select schema_name, table_name, column_name, data_type from duckdb_columns() "
            "where database_name = current_database() "
            "order by schema_name, table_name, column_index"
        ).fetchall()
    finally:
        connection.close()
    catalog: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, type_ in rows:
        catalog.setdefault((schema.lower(), table.lower()), []).append((column, type_))
    return catalog


def read_json(path: Path) -> tuple[Any, str | None]:
    """A JSON artifact, or (None, why not) for a missing or unreadable one."""
    if not path.is_file():
        return None, None
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name} could not be read: {exc}"


def site_data(
    project: Project,
    compilation: Compilation,
    lineage: Mapping[str, Any],
    charts: list[dict[str, Any]],
    catalog: Mapping[tuple[str, str], list[tuple[str, str]]],
) -> dict[str, Any]:
    graph = project.graph
    target_dir = project.settings.target_dir
    notes: list[str] = []
    run_results, problem = read_json(target_dir / RUN_RESULTS)
    notes += [problem] if problem else []
    freshness, problem = read_json(target_dir / SOURCES)
    notes += [problem] if problem else []
    results = _results_by_node(run_results)
    fresh = _results_by_node(freshness)

    nodes = {}
    for uid, node in sorted(graph.nodes.items()):
        compiled = compilation.nodes.get(uid)
        data = node_dict(node, compiled, graph.parents[uid])
        data["parents"] = sorted(graph.parents[uid])
        data["children"] = sorted(graph.children[uid])
        data["display_name"] = node.display_name
        data["materialized"] = node.materialized
        data["source_text"] = _source_text(project, node)
        data["compiled_sql"] = compiled.sql if compiled is not None else None
        _add_types(
            data, catalog.get((node.relation.schema.lower(), node.relation.identifier.lower()))
        )
        data["declared_expectations"] = _declared(node, data.get("output_columns"))
        result = results.get(uid)
        data["last_run"] = _last_run(result)
        data["expectation_results"] = list(result.get("expectations") or []) if result else []
        data["freshness_rule"] = data.pop("freshness", None)  # declared (sources only)
        data["freshness"] = fresh.get(uid)  # the latest check, from sources.json
        nodes[uid] = data

    return {
        "metadata": {
            "runner_version": __version__,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "project_name": project.settings.name,
            "target": project.target.name,
            "run": (run_results or {}).get("metadata") if isinstance(run_results, dict) else None,
            "freshness": (freshness or {}).get("metadata") if isinstance(freshness, dict) else None,
            "notes": notes,
        },
        "nodes": nodes,
        "lineage": lineage.get("models", {}),
        "charts": charts,
    }


def _results_by_node(document: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        return {}
    return {
        r["unique_id"]: r for r in document["results"] if isinstance(r, dict) and "unique_id" in r
    }


def _source_text(project: Project, node: Node) -> str | None:
    path = project.settings.root / str(node.path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if len(text) > MAX_SOURCE_CHARS:
        text = text[:MAX_SOURCE_CHARS] + "\n... (cut: the file is longer)"
    return text


def _add_types(data: dict[str, Any], actual: list[tuple[str, str]] | None) -> None:
    """Each column's type in the warehouse (``type``), next to the declared ``data_type``;
    columns only the warehouse knows (a Python model's) are added."""
    columns = data["columns"]
    for name, type_ in actual or ():
        entry = columns.get(name) or next(
            (c for key, c in columns.items() if key.lower() == name.lower()), None
        )
        if entry is None:
            entry = columns[name] = {
                "name": name,
                "description": "",
                "data_type": None,
                "documented": False,
                "in_output": True,
            }
        entry["type"] = type_
    if actual and not data.get("output_columns"):
        data["output_columns"] = [name for name, _ in actual]


def _declared(node: Node, columns: list[str] | None) -> list[dict[str, Any]]:
    from ..quality import parse_expectations

    if isinstance(node, Model) and node.materialized == "ephemeral":
        return []
    try:
        parsed = parse_expectations(node, columns)
    except RunnerError as exc:  # the build reports it too; the page shows the reason
        return [{"name": "(invalid declaration)", "error": exc.message}]
    return [
        {
            "name": e.name,
            "column": e.column,
            "type": e.type,
            "severity": e.severity,
            "path": e.path,
            "line": e.line,
        }
        for e in parsed
    ]


def _last_run(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if not result:
        return None
    return {
        key: result.get(key)
        for key in ("status", "started_at", "execution_time", "rows_affected", "message")
    }
