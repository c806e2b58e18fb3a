"""What running expectations produced, and what it means for the node."""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass, field
from typing import Any

from ..text import counted
from .declarations import Expectation

PASS, WARN, FAIL, ERROR = "pass", "warn", "fail", "error"


@dataclass(frozen=True)
class ExpectationResult:
    """The outcome of one expectation on one relation.

    ``status``: pass, warn (failed, severity warn or a warn_if threshold), fail (failed,
    severity error) or error (the check could not run: bad SQL, a missing column, ...).
    ``failing_count`` is None for aggregate checks (row_count_between, recency) and for
    errors; ``failing_share`` is failing_count over the relation's rows. ``sample`` holds
    at most 5 failing values (rows as dicts for expression/sql checks). ``duration`` is the
    node's GX validation time shared evenly among its expectations (GX resolves a suite's
    metrics together). ``observed`` is what an aggregate check saw (row count, latest value).
    """

    expectation: Expectation
    status: str
    failing_count: int | None = None
    failing_share: float | None = None
    sample: tuple[Any, ...] = ()
    duration: float = 0.0
    message: str = ""
    failures_table: str | None = None
    observed: Any = None
    element_count: int | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == PASS

    def to_json(self) -> dict[str, Any]:
        """For run_results.json (the build adds the node's layer)."""
        exp = self.expectation
        return {
            "node": exp.node,
            "name": exp.name,
            "column": exp.column,
            "type": exp.type,
            "arguments": jsonable(exp.arguments),
            "severity": exp.severity,
            "mostly": exp.mostly,
            "error_if": exp.error_if,
            "warn_if": exp.warn_if,
            "status": self.status,
            "failing_count": self.failing_count,
            "failing_share": self.failing_share,
            "sample": jsonable(list(self.sample)),
            "observed": jsonable(self.observed),
            "duration": round(self.duration, 6),
            "message": self.message,
            "failures_table": self.failures_table,
            "path": exp.path,
            "line": exp.line,
        }


def jsonable(value: Any) -> Any:
    """Values as JSON can hold them: dates ISO, decimals as strings, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def format_result(node_name: str, result: ExpectationResult) -> str:
    """One line for the CLI: node, expectation, status, count and share, a sample."""
    parts = [f"{result.status.upper():5} {node_name}: {result.expectation.name}"]
    if result.failing_count is not None and result.status != PASS:
        share = f" ({result.failing_share:.2%})" if result.failing_share is not None else ""
        parts.append(f"{_rows(result.failing_count)} failing{share}")
    if result.message:
        parts.append(result.message)
    if result.sample and result.status != PASS:
        parts.append("sample: " + ", ".join(_short(v) for v in result.sample))
    if result.failures_table:
        parts.append(f"failing rows in {result.failures_table}")
    return " — ".join(parts)


def _short(value: Any) -> str:
    text = repr(jsonable(value)) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def verdict(results: list[ExpectationResult], warn_error: bool = False) -> tuple[str, str]:
    """The node's status from its expectations: ("success"|"warn"|"error", message).

    error: an error-severity expectation failed, or a check could not run (fail closed),
    or a warning with ``warn_error``. warn: only warnings. The message names them.
    """
    errors = [r for r in results if r.status in (FAIL, ERROR)]
    warnings = [r for r in results if r.status == WARN]
    if warn_error:
        errors, warnings = errors + warnings, []
    if errors:
        message = _summary(errors, "expectation failed", "expectations failed")
        if warnings:
            message += "; " + _summary(warnings, "warning", "warnings")
        return "error", message
    if warnings:
        return "warn", _summary(warnings, "warning", "warnings")
    if not results:
        return "success", ""
    return "success", f"{len(results)} expectation{'s' if len(results) > 1 else ''} passed"


def _summary(results: list[ExpectationResult], one: str, many: str) -> str:
    def describe(r: ExpectationResult) -> str:
        if r.status == ERROR:
            return f"{r.expectation.name} (could not run)"
        if r.failing_count is not None:
            return f"{r.expectation.name} ({_rows(r.failing_count)})"
        return r.expectation.name

    head = f"{len(results)} {one if len(results) == 1 else many}"
    return f"{head}: " + ", ".join(describe(r) for r in results)


def _rows(count: int) -> str:
    return counted(count, "row")
