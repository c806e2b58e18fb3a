"""The runner's own records on Spark: ``_runner.runs``, ``_runner.run_nodes`` (run
history), ``_runner.fingerprints`` (incremental inputs) and ``_runner.landing_files``
(the landing files each incremental table read), Parquet tables in the catalog
beside the warehouse, so SQL on the cluster reads them as on DuckDB.

Spark's built-in catalog has no transactions and no upsert: a run's row and its nodes'
rows are two appends (the run's row last, so a run listed in ``runs`` has all its nodes),
and the fingerprints and landing files, a few rows each, are rewritten whole under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..nodes import Relation
from .base import TABLE, RunnerState

if TYPE_CHECKING:
    from .spark import SparkEngine

SCHEMA = "_runner"
RUNS = (
    "run_id string, command string, started_at timestamp_ntz, finished_at timestamp_ntz, "
    "status string, exit_code int, nodes int, succeeded int, warned int, errored int, "
    "skipped int, rows_affected bigint, seconds double, published boolean, args string"
)
RUN_NODES = (
    "run_id string, unique_id string, status string, started_at timestamp_ntz, "
    "rows_affected bigint, seconds double, attempts int, message string"
)
FINGERPRINTS = "unique_id string, fingerprint string, inputs string, builds int"
LANDING_FILES = "unique_id string, source string, files string"


class SparkRunnerState(RunnerState):
    def __init__(self, engine: SparkEngine) -> None:
        from .spark import qualified

        self.engine = engine
        self.spark = engine.spark
        self._lock = threading.Lock()
        session = engine.session()
        session.create_schema(SCHEMA)
        self.tables: dict[str, str] = {}
        for name, columns in (
            ("runs", RUNS),
            ("run_nodes", RUN_NODES),
            ("fingerprints", FINGERPRINTS),
            ("landing_files", LANDING_FILES),
        ):
            relation = Relation(schema=SCHEMA, identifier=name)
            self.tables[name] = qualified(relation)
            if session.relation_kind(relation) != TABLE:
                session.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.tables[name]} ({columns}) USING parquet"
                )
                engine._remember(relation, TABLE)

    def _append(
        self, name: str, columns: str, rows: Sequence[Sequence[Any]], *, overwrite: bool = False
    ) -> None:
        frame = self.spark.createDataFrame([tuple(r) for r in rows], columns)
        frame.write.insertInto(self.tables[name], overwrite=overwrite)

    def record_run(self, run: Sequence[Any], nodes: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            if nodes:
                self._append("run_nodes", RUN_NODES, nodes)
            self._append("runs", RUNS, [run])

    def fingerprints(self) -> dict[str, tuple[str, str, int]]:
        with self._lock:
            return self._read()

    def _read(self) -> dict[str, tuple[str, str, int]]:
        rows = self.spark.table(self.tables["fingerprints"]).collect()
        return {uid: (print_, inputs, builds or 0) for uid, print_, inputs, builds in rows}

    def record_fingerprint(
        self, unique_id: str, fingerprint: str, inputs: str, builds: int
    ) -> None:
        with self._lock:
            recorded = self._read()  # collected: the overwrite below reads nothing of it
            recorded[unique_id] = (fingerprint, inputs, builds)
            rows = [(uid, *entry) for uid, entry in sorted(recorded.items())]
            self._append("fingerprints", FINGERPRINTS, rows, overwrite=True)

    def landing_files(self) -> dict[tuple[str, str], str]:
        with self._lock:
            return self._landing()

    def _landing(self) -> dict[tuple[str, str], str]:
        rows = self.spark.table(self.tables["landing_files"]).collect()
        return {(uid, source): files for uid, source, files in rows}

    def record_landing_files(self, unique_id: str, files: Mapping[str, str]) -> None:
        with self._lock:
            recorded = self._landing()  # collected: the overwrite below reads nothing of it
            recorded.update({(unique_id, source): text for source, text in files.items()})
            rows = [(*key, text) for key, text in sorted(recorded.items())]
            self._append("landing_files", LANDING_FILES, rows, overwrite=True)

    def close(self) -> None:
        pass
