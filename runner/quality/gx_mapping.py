"""From declarations to GX expectations, and from GX's results back to ours.

Each declaration maps to one GX expectation (``to_gx``); ``interpret`` reads GX's
validation result: an exception GX recorded is an *error in the check*, never failed
data; severity, ``mostly`` on unexpected-rows checks, and error_if/warn_if are applied
here (GX keeps severity as metadata only).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, ClassVar

from .declarations import Expectation, threshold_holds
from .plain_sql import gx_rows_query
from .results import ERROR, FAIL, PASS, WARN, ExpectationResult

SAMPLE_SIZE = 5


def to_gx(
    gx: Any,
    exp: Expectation,
    index: int,
    as_of: Any,
    resolve: Callable[[str], str] | None,
    detail: bool,
    dialect: str = "duckdb",
) -> Any:
    """The one GX expectation a declaration maps to (``index`` identifies its result):
    the type's own (``to_gx``), else an UnexpectedRowsExpectation over its failing rows
    (rendered in the engine's ``dialect``)."""
    common: dict[str, Any] = {
        "meta": {"runner_index": index, "runner_name": exp.name},
        "severity": "critical" if exp.severity == "error" else "warning",
        "catch_exceptions": True,  # an error becomes this expectation's, not the suite's
    }
    mostly = {"mostly": exp.mostly} if exp.mostly is not None else {}
    try:
        native = exp.kind.to_gx(gx, exp.arguments, {**mostly, **common})
    except ValueError as exc:
        raise ValueError(f"{exp.where}: {exc}") from None
    if native is not None:
        return native
    rows_class = rows_expectation_classes(gx)[1 if detail else 0]
    return rows_class(
        unexpected_rows_query=gx_rows_query(exp, resolve, as_of, dialect=dialect),
        description=exp.name,
        **common,
    )


@functools.cache
def rows_expectation_classes(gx: Any) -> tuple[Any, Any]:
    """Two UnexpectedRowsExpectations: one that only counts, one that also samples.

    Stock UnexpectedRowsExpectation always runs its query twice (the rows, up to 200, and
    their count) and reports the rows only in COMPLETE format. The first pass needs the
    count alone; the detailed pass reports a sample in SUMMARY format.
    """
    base = gx.expectations.UnexpectedRowsExpectation

    class RunnerUnexpectedRowCount(base):  # type: ignore[misc, valid-type]
        metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

        def _validate(
            self,
            metrics: dict,
            runtime_configuration: dict | None = None,
            execution_engine: Any = None,
        ) -> Any:
            count = metrics["unexpected_rows_query.row_count"]
            return {"success": count == 0, "result": {"observed_value": count}}

    class RunnerUnexpectedRows(base):  # type: ignore[misc, valid-type]
        def _validate(
            self,
            metrics: dict,
            runtime_configuration: dict | None = None,
            execution_engine: Any = None,
        ) -> Any:
            result = super()._validate(metrics, runtime_configuration, execution_engine)
            rows = metrics.get("unexpected_rows_query.table") or []
            if isinstance(result, dict) and isinstance(result.get("result"), dict):
                result["result"]["partial_unexpected_list"] = list(rows[:SAMPLE_SIZE])
            return result

    return RunnerUnexpectedRowCount, RunnerUnexpectedRows


def same_as(expectation: Any, added: list[tuple[int, Any]]) -> int | None:
    """The index of an added expectation GX would consider the same one, if any."""
    ignored = {"id", "rendered_content", "notes", "meta"}
    mine = expectation.dict(exclude=ignored)
    for index, other in added:
        if type(other) is type(expectation) and other.dict(exclude=ignored) == mine:
            return index
    return None


_PART = re.compile(r'"((?:[^"]|"")*)"|([^."]+)')


def split_relation(relation: str) -> tuple[str, str]:
    """``"schema"."table"`` (quoted or not) as (schema, table); one part means schema main."""
    parts = []
    position = 0
    text = relation.strip()
    while position <= len(text):
        match = _PART.match(text, position)
        if match is None:
            raise ValueError(f"cannot read relation name {relation!r}")
        parts.append(
            match.group(1).replace('""', '"') if match.group(1) is not None else match.group(2)
        )
        position = match.end()
        if position == len(text):
            break
        if text[position] != ".":
            raise ValueError(f"cannot read relation name {relation!r}")
        position += 1
    if len(parts) == 1:
        return "main", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise ValueError(
        f"relation {relation!r} names a database: GX reads the runner's own database only"
    )


def row_count_of(result: Any) -> int | None:
    if result is None:
        return None
    value = (result.result or {}).get("observed_value")
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def raised_message(exception_info: Any) -> str | None:
    """The first exception message GX recorded (its shape varies: flat or per metric)."""
    if not isinstance(exception_info, dict):
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message") or "GX raised an exception")
    for value in exception_info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "GX raised an exception")
    return None


def error_message(exc: BaseException | str) -> str:
    """The useful first line of a DuckDB/SQLAlchemy/GX error."""
    text = str(exc)
    text = text.split("\n[SQL:")[0]
    text = re.sub(r"^\(_?duckdb\.\w+\)\s*", "", text.strip())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def passed(exp: Expectation, counts_rows: bool) -> ExpectationResult:
    """A check GX found successful, without ``mostly``: nothing failed."""
    if exp.row_based and counts_rows:
        return ExpectationResult(
            exp, status_of(exp, True, 0, None), failing_count=0, failing_share=0.0
        )
    return ExpectationResult(exp, status_of(exp, True, None, None))


def status_of(exp: Expectation, success: bool, failing: int | None, row_count: int | None) -> str:
    """pass/warn/fail from GX's success, the failing count, severity, thresholds, mostly."""
    if exp.error_if or exp.warn_if:
        # dbt semantics: error if error_if holds (severity error only), else warn if
        # warn_if holds; both default to "!=0".
        count = failing if failing is not None else (0 if success else 1)
        if exp.severity == "error" and threshold_holds(exp.error_if or "!=0", count):
            return FAIL
        return WARN if threshold_holds(exp.warn_if or "!=0", count) else PASS
    if exp.mostly is not None and not exp.kind.gx_native and failing is not None:
        # GX's unexpected-rows check has no `mostly`: the passing share of all rows.
        total = row_count or 0
        success = total == 0 or (total - failing) / total >= exp.mostly
    if success:
        return PASS
    return FAIL if exp.severity == "error" else WARN


def interpret(
    exp: Expectation, gx_result: Any, row_count: int | None, as_of: Any
) -> ExpectationResult:
    """Status, failing count, share and sample from one GX validation result."""
    exception = raised_message(gx_result.exception_info)
    if exception is not None:
        return ExpectationResult(exp, ERROR, message=error_message(exception))
    result = gx_result.result or {}
    success = bool(gx_result.success)
    sample = list(result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
    element_count = result.get("element_count", row_count)
    failing, sample, observed = exp.kind.read_gx(result, success, sample)
    message = ""
    if not exp.row_based and not success:
        message = exp.kind.aggregate_message(exp.arguments, observed, as_of)
    share = None
    if failing is not None and element_count:
        share = failing / element_count
    elif failing == 0:
        share = 0.0

    status = status_of(exp, success, failing, row_count)
    return ExpectationResult(
        exp,
        status,
        failing_count=failing,
        failing_share=share,
        sample=tuple(sample),
        message=message,
        observed=observed,
        element_count=element_count,
    )
