"""target/run_results.json: what one run did to each node.

The schema is documented in docs/artifacts.md. A later run reads it back for
``result:<status>`` selectors (``--state``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import UsageError
from .execute import count_statuses
from .results import ERROR, NodeResult

if TYPE_CHECKING:
    from .execute import ExecutionSummary
    from .graph import Graph

RUN_RESULTS_SCHEMA_VERSION = "runner.run_results.v1"
RUN_RESULTS_FILE = "run_results.json"


def _iso(ts: float) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds") if ts else None


def result_dict(result: NodeResult, graph: Graph) -> dict[str, Any]:
    """One node's result as it appears in run_results.json."""
    node = graph.nodes.get(result.unique_id)
    err = result.error
    error: dict[str, Any] | None = None
    if err is not None:
        error = {
            "path": str(err.path) if err.path is not None else None,
            "line": err.line,
            "message": err.message,
            "hint": err.hint,
        }
    elif result.status == ERROR:  # an error result without details: point at the node
        error = {
            "path": str(node.path) if node is not None else None,
            "line": None,
            "message": result.message,
            "hint": None,
        }
    return {
        "unique_id": result.unique_id,
        "name": node.name if node is not None else None,
        "resource_type": node.resource_type if node is not None else None,
        "status": result.status,
        "started_at": _iso(result.started_at),
        "execution_time": round(result.execution_time, 6),
        "rows_affected": result.rows_affected,
        "materialized": result.materialized or (node.materialized if node is not None else None),
        "sql": list(result.sql),
        "message": result.message,
        "error": error,
        "expectations": list(result.extra.get("expectations", [])),
        "retries": list(result.extra.get("retries", [])),
    }


def build_run_results(
    summary: ExecutionSummary,
    graph: Graph,
    *,
    command: str,
    args: dict[str, Any],
    generated_at: str | None = None,
) -> dict[str, Any]:
    """The run_results.json document for ``summary``; results in completion order.

    Reads only ``results`` (unique id -> NodeResult), ``elapsed`` and ``interrupted``, so
    an object merging several execute() calls (e.g. a build's phases) works as well.
    """
    return {
        "metadata": {
            "schema_version": RUN_RESULTS_SCHEMA_VERSION,
            "runner_version": __version__,
            "generated_at": generated_at or datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "args": dict(args),
        },
        "elapsed_time": round(summary.elapsed, 6),
        "counts": count_statuses(summary.results.values()),
        "interrupted": summary.interrupted,
        "expectations": getattr(summary, "quality", None),
        "publish": _publish_json(summary),
        "results": [result_dict(r, graph) for r in summary.results.values()],
    }


def _publish_json(summary: Any) -> dict[str, Any] | None:
    error = getattr(summary, "publish_error", None)
    if error is not None:
        return {"error": error.message}
    skipped = getattr(summary, "publish_skipped", None)
    if skipped is not None:
        return {"skipped": skipped}
    report = getattr(summary, "publish", None)
    return report.to_json() if report is not None else None


def write_run_results(target_dir: Path, data: dict[str, Any]) -> Path:
    """Write ``target_dir/run_results.json`` atomically; returns its path."""
    from .artifacts import write_json  # lazily: runner.artifacts pulls in the compiler

    path = target_dir / RUN_RESULTS_FILE
    write_json(path, data)
    return path


def load_run_results(state_dir: Path) -> dict[str, str]:
    """unique_id -> status from a previous run's run_results.json, for ``result:`` selectors."""
    path = state_dir / RUN_RESULTS_FILE
    if not path.is_file():
        raise UsageError(
            f"no {RUN_RESULTS_FILE} in {state_dir}",
            hint="result: selectors need --state pointing at the target folder of a previous "
            "run or build (copy it aside before running again)",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{path} is not valid JSON: {exc}",
            hint="it may be truncated or from another tool; run again to write a new one",
        ) from None
    version = data.get("metadata", {}).get("schema_version") if isinstance(data, dict) else None
    results = data.get("results") if isinstance(data, dict) else None
    if not (isinstance(version, str) and version.startswith("runner.run_results.")) or not (
        isinstance(results, list)
    ):
        raise UsageError(
            f"{path} is not a runner run_results file (schema_version {version!r})",
            hint=f"expected schema {RUN_RESULTS_SCHEMA_VERSION}; run again to write a new one",
        )
    return {
        r["unique_id"]: r["status"]
        for r in results
        if isinstance(r, dict) and "unique_id" in r and "status" in r
    }


RETRIED_STATUSES = (ERROR, "skipped")


def retry_plan(target_dir: Path) -> tuple[str, dict[str, Any], list[str]]:
    """What ``runner retry`` reruns: the last run's command, its options, and the nodes that
    failed or were skipped in it (in the order they finished)."""
    path = target_dir / RUN_RESULTS_FILE
    load_run_results(target_dir)  # the same checks (exists, JSON, schema) and messages
    data = json.loads(path.read_text(encoding="utf-8"))
    metadata = data.get("metadata", {})
    command = metadata.get("command")
    if command not in ("build", "run", "seed", "test"):
        raise UsageError(
            f"{path} is from `runner {command}`, which runner retry cannot rerun",
            hint="retry reruns build, run, seed and test",
        )
    ids = [r["unique_id"] for r in data["results"] if r.get("status") in RETRIED_STATUSES]
    return command, dict(metadata.get("args") or {}), ids
