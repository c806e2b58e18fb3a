"""Running the vocabulary as plain DuckDB queries (``validator = "sql"``).

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

from .declarations import Expectation
from .gx_mapping import ROWS_TYPES, SAMPLE_SIZE, aggregate_message, error_message, status_of
from .gx_run import CursorFactory, Resolver, Validator
from .plain_sql import (
    expectation_sql,
    failing_rows_sql,
    quote,
    row_predicate,
    store_failing_rows,
)
from .results import ERROR, FAIL, WARN, ExpectationResult


class SqlValidator:
    """Runs nodes' expectations as plain SQL; the interface of ``Validator``."""

    def __init__(self, cursor_factory: CursorFactory, *, resolve: Resolver | None = None) -> None:
        self._cursor_factory = cursor_factory
        self.resolve = resolve
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
    ) -> list[ExpectationResult]:
        """As ``Validator.validate``: one result per expectation, in order; never raises."""
        if not expectations:
            return []
        resolve = resolve or self.resolve
        results: dict[int, ExpectationResult] = {}
        gx_indexes = [i for i, e in enumerate(expectations) if e.type == "gx"]
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
            cursor = self._open_cursor()
            try:
                checked = _Node(cursor, relation_sql_name, resolve, as_of)
                got = checked.run([expectations[i] for i in ours])
                if store_failures:
                    got = [checked.store(r, audit_schema) for r in got]
            finally:
                self._close_cursor(cursor)
            elapsed = time.perf_counter() - started
            share = elapsed / len(ours)
            for index, result in zip(ours, got, strict=True):
                results[index] = replace(result, duration=share)
            with self._lock:
                self.timings["validate"] += elapsed
        return [results[i] for i in range(len(expectations))]

    def _gx_validator(self) -> Validator:
        with self._lock:
            if self._gx is None:
                self._gx = Validator(self._cursor_factory, resolve=self.resolve)
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


# What GX's `mostly` divides by: the rows the check looks at (NULLs are skipped, except
# by not_null). Without mostly, success is simply "no failing row".
def _checked_rows_condition(exp: Expectation) -> str | None:
    a = exp.arguments
    if exp.type in ("unique", "accepted_values", "between"):
        return f"{quote(a['column'])} is not null"
    if exp.type == "compound_unique":
        return " and ".join(f"{quote(c)} is not null" for c in a["columns"])
    if exp.type == "column_a_gte_b":
        return f"{quote(a['column_a'])} is not null and {quote(a['column_b'])} is not null"
    return None  # not_null and the unexpected-rows checks: every row


class _Node:
    """The checks of one node on one cursor."""

    def __init__(self, cursor: Any, relation: str, resolve: Resolver | None, as_of: Any) -> None:
        self.cursor = cursor
        self.relation = relation
        self.resolve = resolve
        self.as_of = as_of

    def run(self, expectations: list[Expectation]) -> list[ExpectationResult]:
        scans: dict[int, str] = {}  # key -> predicate, counted in one scan of the relation
        queries: dict[int, str] = {}  # key -> a query of its own returning the count
        errors: dict[int, ExpectationResult] = {}
        for i, exp in enumerate(expectations):
            try:
                predicate = row_predicate(exp, self.relation, self.resolve, as_of=self.as_of)
                if predicate is not None:
                    scans[i] = predicate
                else:
                    queries[i] = expectation_sql(exp, self.relation, self.resolve, as_of=self.as_of)
            except Exception as exc:  # a placeholder that cannot be filled
                errors[i] = ExpectationResult(exp, ERROR, message=error_message(exc))
                continue
            if exp.mostly is not None and (condition := _checked_rows_condition(exp)):
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
        self, scans: dict[int, str], queries: dict[int, str]
    ) -> tuple[dict[int, int], int | None, dict[int, str]]:
        """Every count in one statement: the row-by-row checks as filtered counts of one
        scan (a view is read once, not once per check), the others as subqueries. If it
        fails, one by one to find which check broke.

        Keys: i for expectation i's failing count, -1 - i for its mostly denominator.
        """
        keys = list(scans) + list(queries)
        columns = ["count(*)"]
        columns += [f"count(*) filter (where {scans[k]})" for k in scans]
        columns += [f"({queries[k]})" for k in queries]
        try:
            row = self.cursor.execute(
                f"select {', '.join(columns)} from {self.relation}"
            ).fetchone()
            return dict(zip(keys, row[1:], strict=True)), row[0], {}
        except Exception:
            pass  # find out which
        counts: dict[int, int] = {}
        failed: dict[int, str] = {}
        row_count: int | None
        try:
            row_count = self.cursor.execute(f"select count(*) from {self.relation}").fetchone()[0]
        except Exception as exc:  # the relation itself is unreadable: every check errors
            message = error_message(exc)
            return {}, None, {k: message for k in keys}
        for key in keys:
            one = (
                f"select count(*) filter (where {scans[key]}) from {self.relation}"
                if key in scans
                else queries[key]
            )
            try:
                counts[key] = self.cursor.execute(one).fetchone()[0]
            except Exception as exc:
                failed[key] = error_message(exc)
        return counts, row_count, failed

    def _result(
        self, exp: Expectation, failing: int, checked_rows: int | None, row_count: int | None
    ) -> ExpectationResult:
        if not exp.row_based:
            return self._aggregate(exp, failing == 0, row_count)
        success = failing == 0
        if exp.mostly is not None and exp.type not in ROWS_TYPES:
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
        observed: Any
        if exp.type == "row_count_between":
            observed = row_count
        else:  # recency: the latest value, shown when it is too old
            observed = None
            if not success:
                rows = self.cursor.execute(
                    failing_rows_sql(exp, self.relation, self.resolve, as_of=self.as_of)
                ).fetchall()
                observed = rows[0][0] if rows else None
        status = status_of(exp, success, None, row_count)
        message = "" if success else aggregate_message(exp, observed, self.as_of)
        sample = (observed,) if exp.type == "recency" and not success else ()
        return ExpectationResult(
            exp, status, sample=sample, message=message, observed=observed, element_count=row_count
        )

    def _sample(self, exp: Expectation) -> tuple[Any, ...]:
        """Up to 5 failing values, shaped as GX reports them."""
        query = failing_rows_sql(exp, self.relation, self.resolve, as_of=self.as_of)
        a = exp.arguments
        if exp.type in ("not_null", "unique", "accepted_values", "between", "relationships"):
            columns = [a["column"]]
        elif exp.type == "compound_unique":
            columns = list(a["columns"])
        elif exp.type == "column_a_gte_b":
            columns = [a["column_a"], a["column_b"]]
        else:
            columns = []  # whole rows
        select = ", ".join(quote(c) for c in columns) if columns else "*"
        cursor = self.cursor.execute(f"select {select} from ({query}) as f limit {SAMPLE_SIZE}")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        if len(columns) == 1:
            return tuple(row[0] for row in rows)
        return tuple(dict(zip(names, row, strict=True)) for row in rows)

    def store(self, result: ExpectationResult, audit_schema: str) -> ExpectationResult:
        if result.status not in (FAIL, WARN):
            return result
        try:
            table = store_failing_rows(
                self.cursor,
                result.expectation,
                self.relation,
                audit_schema,
                self.resolve,
                self.as_of,
            )
        except Exception as exc:
            message = f"could not store failing rows: {error_message(exc)}"
            return replace(
                result, message=f"{result.message}; {message}" if result.message else message
            )
        return replace(result, failures_table=table)
