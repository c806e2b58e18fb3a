"""The runner's own records in DuckDB's working database: ``_runner.runs``,
``_runner.run_nodes`` (run history), ``_runner.fingerprints`` (incremental inputs) and
``_runner.landing_files`` (the landing files each incremental table read)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from .base import RunnerState

RUNS = '"_runner"."runs"'
RUN_NODES = '"_runner"."run_nodes"'
FINGERPRINTS = '"_runner"."fingerprints"'
LANDING_FILES = '"_runner"."landing_files"'

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
create table if not exists {FINGERPRINTS} (
    unique_id varchar primary key,
    fingerprint varchar not null,
    inputs varchar not null
);
alter table {FINGERPRINTS} add column if not exists builds integer default 0;
create table if not exists {LANDING_FILES} (
    unique_id varchar not null,
    source varchar not null,      -- source.table
    files varchar not null,       -- JSON: [[path, size, mtime_ns], ...]
    primary key (unique_id, source)
);
"""


class DuckDBRunnerState(RunnerState):
    def __init__(self, connection: Any) -> None:
        self._cursor = connection.cursor()
        self._lock = threading.Lock()
        self._cursor.execute(_DDL)

    def record_run(self, run: Sequence[Any], nodes: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            cursor = self._cursor
            cursor.execute("begin transaction")
            try:
                marks = ", ".join("?" * len(run))
                cursor.execute(f"insert into {RUNS} values ({marks})", list(run))
                if nodes:
                    marks = ", ".join("?" * len(nodes[0]))
                    cursor.executemany(
                        f"insert into {RUN_NODES} values ({marks})", [list(n) for n in nodes]
                    )
                cursor.execute("commit")
            except Exception:
                with contextlib.suppress(Exception):
                    cursor.execute("rollback")
                raise

    def fingerprints(self) -> dict[str, tuple[str, str, int]]:
        with self._lock:
            rows = self._cursor.execute(
                f"select unique_id, fingerprint, inputs, coalesce(builds, 0) from {FINGERPRINTS}"
            ).fetchall()
        return {uid: (print_, inputs, builds) for uid, print_, inputs, builds in rows}

    def record_fingerprint(
        self, unique_id: str, fingerprint: str, inputs: str, builds: int
    ) -> None:
        with self._lock:
            self._cursor.execute(
                f"insert or replace into {FINGERPRINTS} (unique_id, fingerprint, inputs, builds) "
                "values (?, ?, ?, ?)",
                [unique_id, fingerprint, inputs, builds],
            )

    def landing_files(self) -> dict[tuple[str, str], str]:
        with self._lock:
            rows = self._cursor.execute(
                f"select unique_id, source, files from {LANDING_FILES}"
            ).fetchall()
        return {(uid, source): files for uid, source, files in rows}

    def record_landing_files(self, unique_id: str, files: Mapping[str, str]) -> None:
        with self._lock:
            self._cursor.executemany(
                f"insert or replace into {LANDING_FILES} (unique_id, source, files) "
                "values (?, ?, ?)",
                [[unique_id, source, text] for source, text in sorted(files.items())],
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cursor.close()
