"""Seeds: CSV files under a seed path, each loaded into a table of the same name.

Declared column types (``seeds/_seeds.yml``) are applied while reading, so money stays
DECIMAL and never passes through a sniffed DOUBLE; undeclared columns are inferred by the
engine. A malformed file fails the seed node with the file, the line and the column.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .engines.base import DataError, Session
from .errors import RunnerError
from .nodes import Seed


class SeedError(RunnerError):
    """A seed's CSV could not be loaded. A seed is a node, so this fails the node (exit 1)."""

    exit_code = 1


# dbt infers a seed's column types with agate and maps them through the adapter
# (dbt-adapters' SQLAdapter.convert_*_type, which dbt-duckdb keeps): whole numbers are
# `integer`, other numbers `float8`, ISO dates `date`, date-times `timestamp`, true/false
# `boolean`, anything else (a time of day too) `text`. DuckDB's own sniffer says BIGINT,
# DECIMAL or TIME instead; in a dbt project the runner loads what dbt would.
_DBT_SEED_TYPES = {
    **dict.fromkeys(
        [
            "TINYINT",
            "SMALLINT",
            "INTEGER",
            "BIGINT",
            "HUGEINT",
            "UTINYINT",
            "USMALLINT",
            "UINTEGER",
            "UBIGINT",
            "UHUGEINT",
        ],
        "INTEGER",
    ),
    **dict.fromkeys(["FLOAT", "DOUBLE", "DECIMAL"], "DOUBLE"),
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "BOOLEAN": "BOOLEAN",
}


def dbt_seed_types(
    sniffed: Mapping[str, str], declared: Mapping[str, str], whole: set[str] = frozenset()
) -> dict[str, str]:
    """The types dbt-duckdb gives a seed's columns: ``declared`` (column_types) as they
    are, every other column mapped from what the engine sniffed, as dbt's agate would;
    ``whole`` are numeric columns whose every value is whole (``3.00``), which dbt makes
    ``integer`` too."""
    lowered = {name.lower() for name in declared}
    types = dict(declared)
    for name, sniffed_type in sniffed.items():
        if name.lower() not in lowered:
            dbt_type = _DBT_SEED_TYPES.get(_base_type(sniffed_type), "VARCHAR")
            types[name] = "INTEGER" if name in whole else dbt_type
    return types


def _base_type(sniffed_type: str) -> str:
    return sniffed_type.split("(")[0].strip().upper()


def _dbt_types_of(session: Session, path: Path, declared: Mapping[str, str]) -> dict[str, str]:
    sniffed = session.sniff_csv_types(path)
    if not sniffed:
        return dict(declared)
    declared_lower = {name.lower() for name in declared}
    tests = {}
    for name, sniffed_type in sniffed.items():
        dbt_type = _DBT_SEED_TYPES.get(_base_type(sniffed_type))
        if name.lower() not in declared_lower and dbt_type in _TESTS:
            tests[name] = _TESTS[dbt_type]
    passed = session.csv_columns_matching(path, tests)
    whole = {name for name in passed if tests[name] == "whole_number"}
    # DuckDB reads yes/no, t/f as booleans; dbt's agate only true/false: those stay text
    not_boolean = {name for name, test in tests.items() if test == "true_false"} - passed
    sniffed = {n: "VARCHAR" if n in not_boolean else t for n, t in sniffed.items()}
    return dbt_seed_types(sniffed, declared, whole)


_TESTS = {"DOUBLE": "whole_number", "BOOLEAN": "true_false"}


def load_seed(session: Session, seed: Seed, root: Path, *, dbt_types: bool = False) -> int:
    """Load ``seed``'s CSV into a table at ``seed.relation``, replacing the old table
    atomically (a failed load leaves it as it was). Returns the number of rows loaded.
    With ``dbt_types`` (a dbt project) undeclared columns get the types dbt would give."""
    session.create_schema(seed.relation.schema)
    column_types: Mapping[str, str] = seed.column_types
    if dbt_types:
        column_types = _dbt_types_of(session, root / seed.path, seed.column_types)
    try:
        rows = session.load_csv(seed.relation, root / seed.path, column_types)
    except DataError as exc:
        raise SeedError(
            f"seed '{seed.name}': {exc.message}", path=seed.path, line=exc.line, hint=exc.hint
        ) from None
    return rows or 0
