"""Data-quality expectations: declared in YAML, run through Great Expectations.

- ``parse_expectations(node, columns)`` reads a node's declarations (no GX import);
- ``Validator(cursor_factory, resolve=..., gx_batches=...)`` runs them through GX, one suite
  per node, on the engine's GX datasource (``Engine.gx_batches``);
- ``SqlValidator`` (same interface) runs them as plain SQL in the engine's dialect, GX only
  for ``gx:``;
- ``verdict(results, warn_error)`` turns the results into the node's status;
- ``start_import_in_background()`` overlaps the slow GX import with model execution;
- ``expectation_sql(...)`` is the same check as one plain DuckDB query (benchmark, tests).
"""

from __future__ import annotations

from .declarations import SPECS, Expectation, parse_expectations, threshold_holds
from .gx_run import Validator, start_import_in_background
from .plain_sql import expectation_sql, failing_rows_sql
from .results import ERROR, FAIL, PASS, WARN, ExpectationResult, format_result, verdict
from .sql_run import SqlValidator

__all__ = [
    "ERROR",
    "FAIL",
    "PASS",
    "SPECS",
    "WARN",
    "Expectation",
    "ExpectationResult",
    "SqlValidator",
    "Validator",
    "expectation_sql",
    "failing_rows_sql",
    "format_result",
    "parse_expectations",
    "start_import_in_background",
    "threshold_holds",
    "verdict",
]
