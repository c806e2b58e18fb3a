"""The run history in the working database, for whoever schedules the builds:

``_runner.runs``       one row per command: when, what, how it ended, rows, seconds
``_runner.run_nodes``  one row per node of each run: status, rows, seconds, attempts

A scheduler (or a person) asks it what ran last night and how long each step took, with
SQL, without keeping logs: ``select * from _runner.runs order by started_at desc limit 7``.
Writing it never fails a build: the run already happened; a warning says it is missing.
The tables live wherever the target's engine keeps its runner state (DuckDB: the working
database; Spark: the ``_runner`` database of its catalog), written by the engine.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .results import ERROR, SKIPPED, SUCCESS, WARN

if TYPE_CHECKING:
    from .engines.base import Engine

# The columns, in order (each engine's RunnerState creates the tables):
# runs:      run_id, command, started_at, finished_at, status (success, error,
#            interrupted), exit_code, nodes, succeeded, warned, errored, skipped,
#            rows_affected (summed over the nodes that reported rows), seconds,
#            published (the serving store was refreshed by this run), args (JSON)
# run_nodes: run_id, unique_id, status, started_at, rows_affected, seconds,
#            attempts (1 + the retries after transient errors), message


def _status(exit_code: int) -> str:
    return {0: "success", 130: "interrupted"}.get(exit_code, "error")


def _utc(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) if ts else None


def record_run(
    engine: Engine,
    summary: Any,
    *,
    command: str,
    args: dict[str, Any],
    started_at: float,
    exit_code: int,
) -> str:
    """Append this run (and each of its nodes) to the history; returns its run_id."""
    run_id = uuid.uuid4().hex
    results = list(summary.results.values())
    counts = {s: sum(1 for r in results if r.status == s) for s in (SUCCESS, WARN, ERROR, SKIPPED)}
    reported = [r.rows_affected for r in results if r.rows_affected is not None]
    finished = datetime.now(UTC).replace(tzinfo=None)
    run = [
        run_id,
        command,
        _utc(started_at),
        finished,
        _status(exit_code),
        exit_code,
        len(results),
        counts[SUCCESS],
        counts[WARN],
        counts[ERROR],
        counts[SKIPPED],
        sum(reported) if reported else None,
        round(summary.elapsed, 6),
        getattr(summary, "publish", None) is not None,
        json.dumps(args, default=str, sort_keys=True),
    ]
    nodes = [
        [
            run_id,
            r.unique_id,
            r.status,
            _utc(r.started_at),
            r.rows_affected,
            round(r.execution_time, 6),
            1 + len(r.extra.get("retries", ())),
            r.message,
        ]
        for r in results
    ]
    store = engine.runner_state()
    try:
        store.record_run(run, nodes)
    finally:
        store.close()
    return run_id
