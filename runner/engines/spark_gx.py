"""Great Expectations on Spark: GX's Spark datasource over the engine's own session.

Imported only when expectations run through GX on a Spark target. Each relation is
validated as a batch of one dataframe asset (``spark.table(...)`` passed as the batch's
``dataframe`` parameter), so GX computes its metrics as Spark jobs where the data is; in
an incremental run, the rows it wrote (or those sharing their keys) are such a dataframe
too (``query_batch``).

GX's datasource looks for a session itself (``getOrCreate``, which in this process finds
the engine's); the engine's session is then pinned on the datasource, so GX never starts
or reconfigures one of its own. ``persist=False``: GX would otherwise cache every
validated table in memory for the rest of the build.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .spark import SparkEngine, q

# GX's query metrics on Spark register the batch under this temporary view name.
GX_BATCH_VIEW = "tmp_view"


class SparkBatches:
    """GX batches of Spark relations, on the engine's one session."""

    dialect = "spark"  # what the unexpected-rows queries are rendered in

    def __init__(self, context: Any, engine: SparkEngine) -> None:
        self.engine = engine
        self.spark = engine.spark
        datasource = context.data_sources.add_spark(name="runner", persist=False)
        datasource._spark = self.spark  # the engine's session, never one GX makes
        execution_engine = datasource.get_execution_engine()
        if execution_engine.spark is not self.spark:
            raise RuntimeError("GX's Spark datasource did not take the runner's Spark session")
        asset = datasource.add_dataframe_asset(name="relations")
        self._definition = asset.add_batch_definition_whole_dataframe("whole")

    def batch(self, schema: str, table: str) -> Any:
        frame = self.spark.table(f"{q(schema)}.{q(table)}")
        return self._definition.get_batch(batch_parameters={"dataframe": frame})

    def query_batch(self, query: str) -> Any:
        """A batch of a query's rows (the rows an incremental run wrote, or the table's
        rows sharing a key with them); the query comes in DuckDB's spelling."""
        import sqlglot

        from ..sql.transpile import RunnerSpark

        spelled = sqlglot.transpile(query, read="duckdb", write=RunnerSpark)[0]
        return self._definition.get_batch(batch_parameters={"dataframe": self.spark.sql(spelled)})

    def interrupt(self) -> None:
        self.engine.interrupt()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.spark.catalog.dropTempView(GX_BATCH_VIEW)
