"""Running the vocabulary as plain SQL in the engine's dialect (``validator = "sql"``).

The same checks as the GX path, with the same results: the tests run every behaviour
through both validators and compare. What differs is the cost: one query per node for
all its counts (no GX import, no per-expectation Python in GX), then a sample query only
for what failed. ``gx:`` declarations have no SQL of ours and go to a GX ``Validator``,
created (and imported) only if the project declares one.

Thread safety: each ``validate`` call reads through a cursor of its own (DuckDB runs
them side by side); only the lazily created GX delegate is shared, and it locks itself.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlglot import exp as sg

from .changed import changed_relation
from .declarations import Expectation
from .gx_mapping import SAMPLE_SIZE, error_message, status_of
from .gx_run import BatchesFactory, CursorFactory, Resolver, Validator
from .plain_sql import store_failing_rows
from .results import ERROR, FAIL, WARN, ExpectationResult
from .sql_build import SqlBuilder, columns, count_star, select_from


class SqlValidator:
    """Runs nodes' expectations as plain SQL; the interface of ``Validator``."""

    def __init__(
        self,
        cursor_factory: CursorFactory,
        *,
        resolve: Resolver | None = None,
        dialect: str = "duckdb",
        replace_table_as: bool = True,
        gx_batches: BatchesFactory | None = None,
    ) -> None:
        self._cursor_factory = cursor_factory
        self._gx_batches = gx_batches  # how the GX delegate reads relations (gx: entries)
        self.resolve = resolve
        self.dialect = dialect  # what the cursors read: the checks are rendered in it
        self.replace_table_as = replace_table_as  # how --store-failures replaces its tables
        self._lock = threading.Lock()
        self._cursors: set[Any] = set()  # in use, for interrupt()
        self._gx: Validator | None = None
        self.timings: dict[str, float] = {"import_wait": 0.0, "setup": 0.0, "validate": 0.0}

    def __enter__(self) -> SqlValidator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._gx is not None:
            self.timings["import_wait"] = self._gx.timings["import_wait"]
            self.timings["setup"] = self._gx.timings["setup"]
            self._gx.close()
            self._gx = None

    def interrupt(self) -> None:
        with self._lock:
            cursors = list(self._cursors)
            gx = self._gx
        for cursor in cursors:
            with contextlib.suppress(Exception):
                cursor.interrupt()
        if gx is not None:
            gx.interrupt()

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
        """As ``Validator.validate``: one result per expectation, in order; never raises.
        ``changed``: the rows an incremental run wrote into the relation; the checks that
        can be judged on those read only them (``changed_relation``)."""
        if not expectations:
            return []
        resolve = resolve or self.resolve
        results: dict[int, ExpectationResult] = {}
        gx_indexes = [i for i, e in enumerate(expectations) if e.needs_gx]
        if gx_indexes:
            gx_results = self._gx_validator().validate(
                node_uid,
                relation_sql_name,
                [expectations[i] for i in gx_indexes],
                as_of=as_of,
                store_failures=store_failures,
                audit_schema=audit_schema,
                resolve=resolve,
            )
            results.update(zip(gx_indexes, gx_results, strict=True))
        ours = [i for i in range(len(expectations)) if i not in results]
        if ours:
            started = time.perf_counter()
            by_relation: dict[str, list[int]] = {}
            for i in ours:
                scope = changed and changed_relation(expectations[i], relation_sql_name, changed)
                by_relation.setdefault(scope or relation_sql_name, []).append(i)
            cursor = self._open_cursor()
            try:
                for relation, indexes in by_relation.items():
                    builder = SqlBuilder(
                        relation,
                        resolve,
                        as_of,
                        dialect=self.dialect,
                        replace_table_as=self.replace_table_as,
                    )
                    checked = _Node(cursor, builder)
                    got = checked.run([expectations[i] for i in indexes])
                    if store_failures:
                        got = [checked.store(r, audit_schema) for r in got]
                    results.update(zip(indexes, got, strict=True))
            finally:
                self._close_cursor(cursor)
            elapsed = time.perf_counter() - started
            share = elapsed / len(ours)
            for index in ours:
                results[index] = replace(results[index], duration=share)
            with self._lock:
                self.timings["validate"] += elapsed
        return [results[i] for i in range(len(expectations))]

    def _gx_validator(self) -> Validator:
        with self._lock:
            if self._gx is None:
                self._gx = Validator(
                    self._cursor_factory,
                    resolve=self.resolve,
                    gx_batches=self._gx_batches,
                    dialect=self.dialect,
                    replace_table_as=self.replace_table_as,
                )
            return self._gx

    def _open_cursor(self) -> Any:
        cursor = self._cursor_factory()
        with self._lock:
            self._cursors.add(cursor)
        return cursor

    def _close_cursor(self, cursor: Any) -> None:
        with self._lock:
            self._cursors.discard(cursor)
        with contextlib.suppress(Exception):
            cursor.close()


class _Node:
    """The checks of one node on one cursor, rendered by one builder."""

    def __init__(self, cursor: Any, builder: SqlBuilder) -> None:
        self.cursor = cursor
        self.q = builder

    def execute(self, statement: sg.Expression) -> Any:
        return self.cursor.execute(self.q.render(statement))

    def run(self, expectations: list[Expectation]) -> list[ExpectationResult]:
        scans: dict[int, sg.Expr] = {}  # key -> predicate, counted in one scan of the relation
        queries: dict[int, sg.Query] = {}  # key -> a query of its own returning the count
        errors: dict[int, ExpectationResult] = {}
        for i, exp in enumerate(expectations):
            kind = exp.kind
            try:
                predicate = kind.row_predicate(exp.arguments, self.q)
                if predicate is not None:
                    scans[i] = predicate
                else:
                    queries[i] = kind.failing_count(exp.arguments, self.q)
            except Exception as exc:  # a placeholder that cannot be filled
                errors[i] = ExpectationResult(exp, ERROR, message=error_message(exc))
                continue
            if exp.mostly is not None and (condition := kind.checked_rows(exp.arguments)):
                scans[-1 - i] = condition  # mostly's denominator: the rows it looks at
        counts, row_count, failed = self._counts(scans, queries)
        results = []
        for i, exp in enumerate(expectations):
            if i in errors:
                results.append(errors[i])
            elif i in failed or -1 - i in failed:
                message = failed.get(i) or failed[-1 - i]
                results.append(ExpectationResult(exp, ERROR, message=message))
            else:
                results.append(self._result(exp, counts[i], counts.get(-1 - i), row_count))
        return results

    def _counts(
        self, scans: dict[int, sg.Expr], queries: dict[int, sg.Query]
    ) -> tuple[dict[int, int], int | None, dict[int, str]]:
        """Every count in one statement: the row-by-row checks as filtered counts of one
        scan (a view is read once, not once per check), the others as subqueries. If it
        fails, one by one to find which check broke.

        Keys: i for expectation i's failing count, -1 - i for its mostly denominator.
        """
        keys = list(scans) + list(queries)
        projections: list[sg.Expr] = [count_star()]
        projections += [_filtered_count(scans[k].copy()) for k in scans]
        projections += [sg.Subquery(this=queries[k].copy()) for k in queries]
        try:
            row = self.execute(select_from(self.q.relation, *projections)).fetchone()
            return dict(zip(keys, row[1:], strict=True)), row[0], {}
        except Exception:
            pass  # find out which
        counts: dict[int, int] = {}
        failed: dict[int, str] = {}
        row_count: int | None
        try:
            row_count = self.execute(select_from(self.q.relation, count_star())).fetchone()[0]
        except Exception as exc:  # the relation itself is unreadable: every check errors
            message = error_message(exc)
            return {}, None, {k: message for k in keys}
        for key in keys:
            one = (
                select_from(self.q.relation, _filtered_count(scans[key]))
                if key in scans
                else queries[key]
            )
            try:
                counts[key] = self.execute(one).fetchone()[0]
            except Exception as exc:
                failed[key] = error_message(exc)
        return counts, row_count, failed

    def _result(
        self, exp: Expectation, failing: int, checked_rows: int | None, row_count: int | None
    ) -> ExpectationResult:
        if not exp.row_based:
            return self._aggregate(exp, failing == 0, row_count)
        success = failing == 0
        if exp.mostly is not None and exp.kind.gx_native:
            total = checked_rows if checked_rows is not None else row_count
            success = not total or (total - failing) / total >= exp.mostly
        status = status_of(exp, success, failing, row_count)
        share = failing / row_count if row_count else 0.0
        sample: tuple[Any, ...] = ()
        if failing:
            sample = self._sample(exp)
        return ExpectationResult(
            exp,
            status,
            failing_count=failing,
            failing_share=share,
            sample=sample,
            element_count=row_count,
        )

    def _aggregate(
        self, exp: Expectation, success: bool, row_count: int | None
    ) -> ExpectationResult:
        def first_failing() -> Any:  # the violating aggregate (recency: the latest value)
            rows = self.execute(exp.kind.failing_rows(exp.arguments, self.q)).fetchall()
            return rows[0][0] if rows else None

        observed = exp.kind.observed(row_count, success, first_failing)
        status = status_of(exp, success, None, row_count)
        message = ""
        if not success:
            message = exp.kind.aggregate_message(exp.arguments, observed, self.q.as_of)
        sample = (observed,) if exp.kind.observed_in_sample and not success else ()
        return ExpectationResult(
            exp, status, sample=sample, message=message, observed=observed, element_count=row_count
        )

    def _sample(self, exp: Expectation) -> tuple[Any, ...]:
        """Up to 5 failing values, shaped as GX reports them."""
        rows_query = exp.kind.failing_rows(exp.arguments, self.q)
        shown = exp.kind.sample_columns(exp.arguments)  # []: whole rows
        sample = select_from(rows_query, *columns(shown)).limit(SAMPLE_SIZE, copy=False)
        cursor = self.execute(sample)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        if len(shown) == 1:
            return tuple(row[0] for row in rows)
        return tuple(dict(zip(names, row, strict=True)) for row in rows)

    def store(self, result: ExpectationResult, audit_schema: str) -> ExpectationResult:
        if result.status not in (FAIL, WARN):
            return result
        try:
            table = store_failing_rows(
                self.cursor,
                result.expectation,
                self.q.relation_name,
                audit_schema,
                self.q.resolve_name,
                self.q.as_of,
                dialect=self.q.dialect,
                replace_table_as=self.q.replace_table_as,
            )
        except Exception as exc:
            message = f"could not store failing rows: {error_message(exc)}"
            return replace(
                result, message=f"{result.message}; {message}" if result.message else message
            )
        return replace(result, failures_table=table)


def _filtered_count(predicate: sg.Expr) -> sg.Expr:
    """``count(*) filter (where predicate)``."""
    return sg.Filter(this=count_star(), expression=sg.Where(this=predicate))
