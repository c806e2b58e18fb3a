"""The docs site: ``runner docs generate`` writes ``target/docs/index.html``, one file with
everything inlined (data, scripts, styles), and ``target/lineage.json``; ``runner docs
serve`` serves the folder on localhost.

``generate`` compiles the project, reads the warehouse's catalog for column types, computes
column lineage, queries the serving file for the charts, and renders the page.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import redaction
from ..artifacts import build_manifest, write_json
from ..column_lineage import LINEAGE_FILE, project_lineage
from ..compiler import compile_models
from ..nodes import Model
from ..parser import Project
from ..publish import serve_path
from .charts import chart_data
from .collect import read_catalog, site_data
from .page import render_page

__all__ = ["DOCS_DIR", "GenerateReport", "generate"]

DOCS_DIR = "docs"
INDEX = "index.html"


@dataclass
class GenerateReport:
    index: Path
    lineage: Path
    nodes: int
    columns_traced: int
    models_without_lineage: dict[str, str] = field(default_factory=dict)
    charts_missing: dict[str, str] = field(default_factory=dict)
    charts_drawn: int = 0
    size_bytes: int = 0
    elapsed: float = 0.0


def generate(project: Project) -> GenerateReport:
    """Write target/docs/index.html, target/lineage.json and target/manifest.json."""
    started = time.perf_counter()
    settings = project.settings
    target_dir = settings.target_dir
    compilation = compile_models(project)
    write_json(target_dir / "manifest.json", build_manifest(project, compilation))

    catalog = {}
    if project.target.type == "duckdb":
        catalog = read_catalog(project.target.resolved_path(settings.root))
    python_columns = {
        m.unique_id: tuple(c for c, _ in found)
        for m in project.models
        if m.language != "sql"
        and (found := catalog.get((m.relation.schema.lower(), m.relation.identifier.lower())))
    }
    lineage = project_lineage(project, compilation, python_columns)
    lineage_path = target_dir / LINEAGE_FILE
    write_json(lineage_path, lineage)

    relations = {n.name: n.relation for n in project.graph if isinstance(n, Model)}
    # The charts are the customer-analytics warehouse's marts: a dbt project (jaffle-shop,
    # ...) has none of them, and a line per chart it cannot draw would only be noise.
    charts = [] if settings.is_dbt else chart_data(serve_path(project), relations)
    data = site_data(project, compilation, lineage, charts, catalog)
    docs_dir = target_dir / DOCS_DIR
    data["metadata"]["project_root_from_docs"] = Path(
        os.path.relpath(settings.root, docs_dir.resolve() if docs_dir.exists() else docs_dir)
    ).as_posix()
    page = redaction.text(render_page(data))
    index = docs_dir / INDEX
    _write_atomically(index, page)

    models = lineage["models"]
    return GenerateReport(
        index=index,
        lineage=lineage_path,
        nodes=len(data["nodes"]),
        columns_traced=sum(len(m["columns"]) for m in models.values()),
        models_without_lineage={uid: m["error"] for uid, m in models.items() if m["error"]},
        charts_missing={c["id"]: c["missing"] for c in charts if "missing" in c},
        charts_drawn=sum(1 for c in charts if "spec" in c),
        size_bytes=len(page.encode("utf-8")),
        elapsed=time.perf_counter() - started,
    )


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # a page to open and share, unlike mkstemp's private default
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
