"""The run history in the working database, for whoever schedules the builds:

``_runner.runs``       one row per command: when, what, how it ended, rows, seconds
``_runner.run_nodes``  one row per node of each run: status, rows, seconds, attempts

A scheduler (or a person) asks it what ran last night and how long each step took, with
SQL, without keeping logs: ``select * from _runner.runs order by started_at desc limit 7``.
Writing it never fails a build: the run already happened; a warning says it is missing.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from .results import ERROR, SKIPPED, SUCCESS, WARN

RUNS = '"_runner"."runs"'
RUN_NODES = '"_runner"."run_nodes"'

_DDL = f"""
create schema if not exists "_runner";
create table if not exists {RUNS} (
    run_id varchar primary key,
    command varchar not null,
    started_at timestamp not null,
    finished_at timestamp not null,
    status varchar not null,      -- success, error, interrupted
    exit_code integer not null,
    nodes integer not null,
    succeeded integer not null,
    warned integer not null,
    errored integer not null,
    skipped integer not null,
    rows_affected bigint,         -- summed over the nodes that reported rows
    seconds double not null,
    published boolean not null,   -- the serving file was refreshed by this run
    args varchar                  -- the command's options, JSON
);
create table if not exists {RUN_NODES} (
    run_id varchar not null,
    unique_id varchar not null,
    status varchar not null,
    started_at timestamp,
    rows_affected bigint,
    seconds double not null,
    attempts integer not null,    -- 1 + the retries after transient errors
    message varchar
);
"""


def _status(exit_code: int) -> str:
    return {0: "success", 130: "interrupted"}.get(exit_code, "error")


def _utc(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) if ts else None


def record_run(
    connection: Any,
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
    cursor = connection.cursor()
    try:
        cursor.execute(_DDL)
        cursor.execute("begin transaction")
        cursor.execute(
            f"insert into {RUNS} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
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
            ],
        )
        rows = [
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
        if rows:
            cursor.executemany(f"insert into {RUN_NODES} values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        cursor.execute("commit")
    except Exception:
        with contextlib.suppress(Exception):
            cursor.execute("rollback")
        raise
    finally:
        cursor.close()
    return run_id
