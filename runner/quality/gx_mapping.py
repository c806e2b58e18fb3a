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
# Checked through GX's UnexpectedRowsExpectation with a query of ours.
ROWS_TYPES = frozenset({"expression", "sql", "relationships", "recency"})


def to_gx(
    gx: Any,
    exp: Expectation,
    index: int,
    as_of: Any,
    resolve: Callable[[str], str] | None,
    detail: bool,
) -> Any:
    """The one GX expectation a declaration maps to (``index`` identifies its result)."""
    a = exp.arguments
    E = gx.expectations
    common: dict[str, Any] = {
        "meta": {"runner_index": index, "runner_name": exp.name},
        "severity": "critical" if exp.severity == "error" else "warning",
        "catch_exceptions": True,  # an error becomes this expectation's, not the suite's
    }
    mostly = {"mostly": exp.mostly} if exp.mostly is not None else {}
    t = exp.type
    if t == "not_null":
        return E.ExpectColumnValuesToNotBeNull(column=a["column"], **mostly, **common)
    if t == "unique":
        return E.ExpectColumnValuesToBeUnique(column=a["column"], **mostly, **common)
    if t == "accepted_values":
        return E.ExpectColumnValuesToBeInSet(
            column=a["column"], value_set=list(a["values"]), **mostly, **common
        )
    if t == "between":
        return E.ExpectColumnValuesToBeBetween(
            column=a["column"],
            min_value=a.get("min"),
            max_value=a.get("max"),
            **mostly,
            **common,
        )
    if t == "row_count_between":
        return E.ExpectTableRowCountToBeBetween(
            min_value=a.get("min"), max_value=a.get("max"), **common
        )
    if t == "compound_unique" and len(a["columns"]) == 1:
        # GX's compound check wants two columns or more; one column is `unique`.
        return E.ExpectColumnValuesToBeUnique(column=a["columns"][0], **mostly, **common)
    if t == "compound_unique":
        return E.ExpectCompoundColumnsToBeUnique(
            column_list=list(a["columns"]),
            ignore_row_if="any_value_is_missing",  # NULL passes
            **mostly,
            **common,
        )
    if t == "column_a_gte_b":
        return E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a["column_a"],
            column_B=a["column_b"],
            or_equal=True,
            ignore_row_if="either_value_is_missing",  # NULL passes
            **mostly,
            **common,
        )
    if t in ROWS_TYPES:
        rows_class = rows_expectation_classes(gx)[1 if detail else 0]
        return rows_class(
            unexpected_rows_query=gx_rows_query(exp, resolve, as_of),
            description=exp.name,
            **common,
        )
    if t == "gx":
        cls = getattr(E, a["type"], None)
        if cls is None or not isinstance(cls, type):
            raise ValueError(f"{exp.where}: unknown GX expectation '{a['type']}'")
        try:
            return cls(**dict(a.get("kwargs", {})), **common)
        except Exception as exc:  # pydantic's report spans lines: keep it on one
            detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            raise ValueError(f"{exp.where}: invalid gx {a['type']}: {detail}") from None
    raise ValueError(f"unknown expectation type '{t}'")


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
    if exp.mostly is not None and exp.type in ROWS_TYPES and failing is not None:
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
    failing: int | None
    observed: Any = None
    message = ""
    if exp.type in ROWS_TYPES:
        failing = int(result.get("observed_value") or 0)
        if exp.type == "relationships":  # one-column rows: show the orphaned keys
            sample = [next(iter(row.values())) for row in sample if row]
    else:
        failing = result.get("unexpected_count")
    if exp.type == "row_count_between":
        observed, failing = result.get("observed_value"), None
        if not success:
            message = aggregate_message(exp, observed, as_of)
    elif exp.type == "recency":
        observed = sample[0].get("max_value") if sample and isinstance(sample[0], dict) else None
        sample, failing = [observed] if not success else [], None
        if not success:
            message = aggregate_message(exp, observed, as_of)
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


def aggregate_message(exp: Expectation, observed: Any, as_of: Any) -> str:
    """Why a failed row_count_between or recency check failed."""
    if exp.type == "row_count_between":
        return f"{observed} rows, expected {_range(exp)}"
    days, column = exp.arguments["days"], exp.arguments["column"]
    latest = f"latest {column} is {observed}" if observed is not None else f"no {column}"
    return f"{latest}, expected within {days} days before {as_of}"


def _range(exp: Expectation) -> str:
    low, high = exp.arguments.get("min"), exp.arguments.get("max")
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"
