"""Running expectations through Great Expectations on the engine's own connection.

``import great_expectations`` takes seconds: it happens only when a Validator first
validates, and ``start_import_in_background()`` lets the build start it early, on a
daemon thread, while models run.

Thread safety: validations run one at a time, under the Validator's lock. Measured
without it: over one shared DuckDB cursor, concurrent validations fail ("connection is
busy", GX's "Invalid result values"); with a cursor per thread they came out right but no
faster (GX's work is Python under the GIL, and DuckDB already runs each query on all
cores), and GX keeps the active batch on the data source's execution engine, shared state
it does not document as thread-safe. Model builds in other threads go on meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .changed import changed_relation
from .declarations import Expectation
from .gx_mapping import (
    SAMPLE_SIZE,
    error_message,
    interpret,
    passed,
    raised_message,
    row_count_of,
    same_as,
    split_relation,
    to_gx,
)
from .plain_sql import store_failing_rows
from .results import ERROR, FAIL, WARN, ExpectationResult

CursorFactory = Callable[[], Any]
Resolver = Callable[[str], str]
# GX's context -> what reads a relation as a GX batch: ``batch(schema, table)``,
# ``interrupt()``, ``close()`` (runner/engines/duckdb_gx.py, spark_gx.py), and optionally
# ``query_batch(sql)`` (DuckDB: an incremental run's checks then read the rows it wrote)
BatchesFactory = Callable[[Any], Any]


_import_lock = threading.Lock()
_import_thread: threading.Thread | None = None
_import_error: BaseException | None = None
# seconds the import took on its thread (how much of it a build hid: this - import_wait)
import_seconds: float | None = None


def start_import_in_background() -> None:
    """Start importing great_expectations on a daemon thread (idempotent, returns at once)."""
    global _import_thread
    with _import_lock:
        if _import_thread is None:
            _import_thread = threading.Thread(
                target=_import_gx, name="runner-gx-import", daemon=True
            )
            _import_thread.start()


def _import_gx() -> None:
    global _import_error, import_seconds
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import great_expectations  # noqa: F401

            from ..engines import duckdb_gx  # noqa: F401
    except BaseException as exc:  # reported by the first validation that needs it
        _import_error = exc
    import_seconds = time.perf_counter() - started


def gx_module() -> Any:
    """The great_expectations module, waiting for the background import if one runs."""
    start_import_in_background()
    assert _import_thread is not None
    _import_thread.join()
    if _import_error is not None:
        raise RuntimeError(f"cannot import great_expectations: {_import_error}")
    import great_expectations

    return great_expectations


class Validator:
    """Runs nodes' expectations through GX; one per build, shared by the worker threads.

    ``cursor_factory`` returns a new cursor of the engine (e.g.
    ``engine.validator_session``); failing rows are written through one such cursor.
    ``gx_batches(context)`` adds the engine's GX datasource to GX's context and returns
    what reads a relation as a GX batch (``engine.gx_batches``: GX's SQL datasource on
    DuckDB, its Spark datasource on Spark); without it, GX's SQL datasource reads through
    a cursor of ``cursor_factory`` (a DuckDB connection). ``dialect`` and
    ``replace_table_as`` are the engine's, for the SQL of ours GX runs and stores.
    ``resolve`` maps a node name (``dim_customers``, ``shop.orders``) to its rendered
    relation, for relationships and ``{ref:name}``.
    """

    def __init__(
        self,
        cursor_factory: CursorFactory,
        *,
        resolve: Resolver | None = None,
        gx_batches: BatchesFactory | None = None,
        dialect: str = "duckdb",
        replace_table_as: bool = True,
    ) -> None:
        self._cursor_factory = cursor_factory
        self._gx_batches = gx_batches
        self.resolve = resolve
        self.dialect = dialect
        self.replace_table_as = replace_table_as
        self._lock = threading.RLock()
        self._context: Any = None
        self._batches: Any = None
        self._write_cursor: Any = None
        # indexes (in the running suite) of checks whose success means 0 failing rows
        self._maps: set[int] = set()
        # seconds: waiting for the import, building the context, validating (summed)
        self.timings: dict[str, float] = {"import_wait": 0.0, "setup": 0.0, "validate": 0.0}

    # ------------------------------------------------------------------ setup

    def _ensure_context(self) -> None:
        if self._context is not None:
            return
        started = time.perf_counter()
        gx = gx_module()
        ready = time.perf_counter()
        self.timings["import_wait"] = ready - started
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = {"globally": False, "metric_calculations": False}
            if self._gx_batches is not None:
                self._batches = self._gx_batches(context)
            else:
                from ..engines import duckdb_gx

                self._batches = duckdb_gx.SqlBatches(context, self._cursor_factory)
        self._context = context
        self.timings["setup"] = time.perf_counter() - ready

    def close(self) -> None:
        """Release GX's datasource and the cursors (the engine's connection stays open)."""
        with self._lock:
            if self._batches is not None:
                with contextlib.suppress(Exception):
                    self._batches.close()
            if self._write_cursor is not None:
                with contextlib.suppress(Exception):
                    self._write_cursor.close()
            self._context = self._batches = self._write_cursor = None

    def interrupt(self) -> None:
        """Cancel the query a validation is running (Ctrl-C); callable from any thread."""
        if self._batches is not None:
            with contextlib.suppress(Exception):
                self._batches.interrupt()
        if self._write_cursor is not None:
            with contextlib.suppress(Exception):
                self._write_cursor.interrupt()

    def __enter__(self) -> Validator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ validate

    def validate(
        self,
        node_uid: str,
        relation_sql_name: str,
        expectations: Sequence[Expectation],
        *,
        as_of: Any = None,
        store_failures: bool = False,
        audit_schema: str = "audit",
        resolve: Resolver | None = None,
        changed: str | None = None,
    ) -> list[ExpectationResult]:
        """Run ``expectations`` (all of one node) as one GX suite on ``relation_sql_name``.

        ``relation_sql_name`` is the rendered relation, e.g. ``"marts"."churn_monthly"``.
        ``as_of`` (a date) fills ``{as_of}`` and anchors recency. With ``store_failures``
        the failing rows of each failed or warned expectation are written to
        ``<audit_schema>.<node>__<expectation>``. ``changed``: the rows an incremental run
        wrote into the relation; where the engine's batches read a query (DuckDB, Spark), the
        checks that can be judged on those get a GX batch of them (``changed_relation``:
        the rows, or the rows sharing their keys), one suite per batch, as the SQL
        validator does. Returns one result per expectation, in order; never raises for a
        check that cannot run (its status is error).
        """
        if not expectations:
            return []
        resolve = resolve or self.resolve
        with self._lock:
            scopes: dict[str, list[int]] = {relation_sql_name: list(range(len(expectations)))}
            if changed:
                try:
                    self._ensure_context()
                except Exception:  # reported by the suite below, as an error of each check
                    pass
                else:
                    scopes = self._scopes(relation_sql_name, expectations, changed)
            results: dict[int, ExpectationResult] = {}
            for scope, indexes in scopes.items():
                group = [expectations[i] for i in indexes]
                got = self._validate_scope(node_uid, scope, group, as_of, resolve)
                if store_failures:
                    got = [
                        self._store(r, scope, audit_schema, resolve, as_of)
                        if r.status in (FAIL, WARN)
                        else r
                        for r in got
                    ]
                results.update(zip(indexes, got, strict=True))
            return [results[i] for i in range(len(expectations))]

    def _scopes(
        self, relation: str, expectations: Sequence[Expectation], changed: str
    ) -> dict[str, list[int]]:
        """What each check reads in an incremental run: the relation, the changed rows'
        relation, or a query of the rows sharing their keys (only if the engine's batches
        can read a query; otherwise everything reads the whole table)."""
        scopes: dict[str, list[int]] = {}
        reads_queries = hasattr(self._batches, "query_batch")
        for index, exp in enumerate(expectations):
            scope = (
                changed_relation(exp, relation, changed, plain_sql=False) if reads_queries else None
            )
            scopes.setdefault(scope or relation, []).append(index)
        return scopes

    def _validate_scope(
        self,
        node_uid: str,
        relation: str,
        expectations: Sequence[Expectation],
        as_of: Any,
        resolve: Resolver | None,
    ) -> list[ExpectationResult]:
        """One GX suite on one relation (or query); each check timed a share of it."""
        started = time.perf_counter()
        try:
            self._ensure_context()
            started = time.perf_counter()  # the import and setup are not the checks' time
            results = self._run_suite(node_uid, relation, expectations, as_of, resolve)
        except Exception as exc:  # the whole suite could not run
            message = error_message(exc)
            results = [ExpectationResult(e, ERROR, message=message) for e in expectations]
        elapsed = time.perf_counter() - started
        self.timings["validate"] += elapsed
        share = elapsed / len(expectations)
        return [replace(r, duration=share) for r in results]

    def _run_suite(
        self,
        node_uid: str,
        relation: str,
        expectations: Sequence[Expectation],
        as_of: Any,
        resolve: Resolver | None,
    ) -> list[ExpectationResult]:
        """Two passes, to keep a passing suite cheap.

        1. BOOLEAN_ONLY: GX computes each check's count but skips the queries fetching
           sample values (on a large table those cost as much as the check itself).
           A passing check without ``mostly`` has 0 failing rows: done.
        2. SUMMARY, for what failed and for checks with ``mostly`` (their count is not
           implied by success): counts, samples, and the row count for shares.
        """
        gx = gx_module()
        results: dict[int, ExpectationResult] = {}
        self._maps.clear()
        first = [i for i, e in enumerate(expectations) if e.mostly is None]
        second = [i for i, e in enumerate(expectations) if e.mostly is not None]
        if first:
            outcome = self._validate_batch(
                gx, relation, node_uid, expectations, first, as_of, resolve, detail=False
            )
            for index in first:
                exp = expectations[index]
                got = outcome[index]
                if isinstance(got, ExpectationResult):
                    results[index] = got
                elif raised_message(got.exception_info) is not None:  # it would raise again
                    results[index] = interpret(exp, got, None, as_of)
                elif got.success:
                    results[index] = passed(exp, counts_rows=index in self._maps)
                else:
                    second.append(index)
        if second:
            second.sort()
            outcome = self._validate_batch(
                gx, relation, node_uid, expectations, second, as_of, resolve, detail=True
            )
            row_count = row_count_of(outcome.get(-1))
            for index in second:
                got = outcome[index]
                results[index] = (
                    got
                    if isinstance(got, ExpectationResult)
                    else interpret(expectations[index], got, row_count, as_of)
                )
        return [results[i] for i in range(len(expectations))]

    def _validate_batch(
        self,
        gx: Any,
        relation: str,
        node_uid: str,
        expectations: Sequence[Expectation],
        indexes: list[int],
        as_of: Any,
        resolve: Resolver | None,
        *,
        detail: bool,
    ) -> dict[int, Any]:
        """GX's result (or our error result) for each index; -1 is the row count (detail)."""
        out: dict[int, Any] = {}
        # A suite is a set: GX's add_expectation drops an expectation equal to one it holds
        # (meta aside), e.g. `unique` on a column plus `compound_unique` of that column
        # alone. We dedupe here (same_as) and hand GX the list at construction, which skips
        # its pairwise comparison (quadratic in the suite, 1-2 ms per expectation).
        added: list[tuple[int, Any]] = []
        aliases: dict[int, int] = {}
        for index in indexes:
            exp = expectations[index]
            try:
                expectation = to_gx(gx, exp, index, as_of, resolve, detail, self.dialect)
                same = same_as(expectation, added)
                if same is not None:
                    aliases[index] = same
                    continue
                added.append((index, expectation))
                # A map expectation (or ours) that succeeds without mostly fails no row.
                if not exp.needs_gx or getattr(type(expectation), "map_metric", None):
                    self._maps.add(index)
            except Exception as exc:  # a placeholder or a gx: declaration GX rejects
                message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
                out[index] = ExpectationResult(exp, ERROR, message=message or repr(exc))
        gx_expectations = [expectation for _, expectation in added]
        if detail:
            # For failing_share and for `mostly` on unexpected-rows checks; GX computes the
            # row count once per batch, so this is free when a column check runs too.
            gx_expectations.append(
                gx.expectations.ExpectTableRowCountToBeBetween(
                    min_value=0, meta={"runner_index": -1}
                )
            )
        if not gx_expectations:
            return out
        suite = gx.ExpectationSuite(name=node_uid, expectations=gx_expectations)
        result_format = (
            {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
            if detail
            else {"result_format": "BOOLEAN_ONLY"}
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch = self._batch(relation)
            validation = batch.validate(suite, result_format=result_format)
        for gx_result in validation.results:
            out[gx_result.expectation_config.meta["runner_index"]] = gx_result
        for index, same in aliases.items():
            if same in out:
                out[index] = out[same]
        for index in indexes:
            out.setdefault(
                index, ExpectationResult(expectations[index], ERROR, message="GX gave no result")
            )
        return out

    def _batch(self, relation: str) -> Any:
        """GX's batch of a rendered relation name, or of a query (``select ...``: the rows
        an incremental run wrote, or those sharing a key with them)."""
        if relation.lstrip()[:7].lower() == "select ":
            return self._batches.query_batch(relation)
        return self._batches.batch(*split_relation(relation))

    # ------------------------------------------------------------------ store failures

    def _store(
        self,
        result: ExpectationResult,
        relation: str,
        audit_schema: str,
        resolve: Resolver | None,
        as_of: Any,
    ) -> ExpectationResult:
        exp = result.expectation
        if exp.needs_gx:
            return replace(result, message=_join(result.message, "failing rows not stored for gx:"))
        try:
            if self._write_cursor is None:
                self._write_cursor = self._cursor_factory()
            target = store_failing_rows(
                self._write_cursor,
                exp,
                relation,
                audit_schema,
                resolve,
                as_of,
                dialect=self.dialect,
                replace_table_as=self.replace_table_as,
            )
        except Exception as exc:
            message = f"could not store failing rows: {error_message(exc)}"
            return replace(result, message=_join(result.message, message))
        return replace(result, failures_table=target)


# ---------------------------------------------------------------------- helpers


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second
