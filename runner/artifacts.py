"""target/manifest.json: every node, its config, dependencies and columns.

The schema is documented in docs/artifacts.md.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__, redaction
from .compiler import Compilation
from .nodes import CompiledNode, Macro, Model, Node, Seed, Source
from .parser import Project

MANIFEST_SCHEMA_VERSION = "runner.manifest.v1"


def node_dict(node: Node, compiled: CompiledNode | None, parents: frozenset[str]) -> dict[str, Any]:
    """One node as it appears in the manifest."""
    declared = {c.name: c for c in node.columns}
    output = list(compiled.columns) if compiled and compiled.columns is not None else None
    names = list(output or []) + [n for n in declared if n not in (output or [])]
    columns = {
        name: {
            "name": name,
            "description": declared[name].description if name in declared else "",
            "data_type": declared[name].data_type if name in declared else None,
            "documented": name in declared,
            "in_output": output is not None and name in output,
        }
        for name in names
    }
    data: dict[str, Any] = {
        "unique_id": node.unique_id,
        "resource_type": node.resource_type,
        "name": node.name,
        "path": str(node.path),
        "yaml_path": str(node.yaml_path) if node.yaml_path else None,
        "line": node.line,
        "fqn": list(node.fqn),
        "checksum": node.checksum,
        "config": node.config,
        "tags": list(node.tags),
        "description": node.description,
        "relation": {
            "database": node.relation.database,
            "schema": node.relation.schema,
            "identifier": node.relation.identifier,
            "rendered": node.relation.render(),
        },
        "depends_on": {
            "nodes": sorted(parents),
            "macros": list(node.macros) if isinstance(node, Model) else [],
        },
        "columns": columns,
        "output_columns": output,
        "expectations": list(node.expectations),
    }
    if isinstance(node, Model):
        data["language"] = node.language
        data["materialized"] = node.materialized
        data["refs"] = [{"name": r.name, "line": r.line} for r in node.refs]
        data["sources"] = [
            {"source_name": s.source_name, "table_name": s.table_name, "line": s.line}
            for s in node.sources
        ]
        data["compiled_path"] = (
            str(compiled.compiled_path) if compiled and compiled.compiled_path else None
        )
        data["undeclared_tables"] = list(compiled.undeclared_tables) if compiled else []
    elif isinstance(node, Source):
        data["source_name"] = node.source_name
        data["identifier"] = node.identifier
        data["loader"] = node.loader
        data["freshness"] = dict(node.freshness) if node.freshness else None
        data["loaded_at_field"] = node.loaded_at_field
        data["meta"] = node.meta
    elif isinstance(node, Seed):
        data["column_types"] = dict(node.column_types)
    return data


def build_manifest(project: Project, compilation: Compilation | None = None) -> dict[str, Any]:
    graph = project.graph
    compiled = compilation.nodes if compilation else {}
    return {
        "metadata": {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "runner_version": __version__,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "project_name": project.settings.name,
            "target": project.target.name,
            "vars": project.vars,
        },
        "nodes": {
            uid: node_dict(node, compiled.get(uid), graph.parents[uid])
            for uid, node in sorted(graph.nodes.items())
        },
        "disabled": {n.unique_id: {"name": n.name, "path": str(n.path)} for n in project.disabled},
        "macros": {name: _macro_dict(m) for name, m in sorted(project.macros.items())},
        "parent_map": {uid: sorted(p) for uid, p in sorted(graph.parents.items())},
        "child_map": {uid: sorted(c) for uid, c in sorted(graph.children.items())},
    }


def _macro_dict(macro: Macro) -> dict[str, Any]:
    return {
        "name": macro.name,
        "path": str(macro.path),
        "line": macro.line,
        "checksum": macro.checksum,
        "calls": list(macro.calls),
    }


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename), so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        # Compact JSON: the C encoder only runs without indent (10x faster on big manifests).
        # Redacted as text, so values stringified by default=str are covered too.
        text = redaction.text(json.dumps(data, separators=(",", ":"), default=str))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(state_dir: Path) -> dict[str, Any]:
    """A previous run's manifest, for ``state:`` selectors."""
    from .errors import UsageError

    path = state_dir / "manifest.json"
    if not path.is_file():
        raise UsageError(
            f"no manifest.json in {state_dir}",
            hint="--state must point at the target folder of a previous run "
            "(copy it aside before changing the project)",
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
