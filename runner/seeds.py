"""Seeds: CSV files under a seed path, each loaded into a table of the same name.

Declared column types (``seeds/_seeds.yml``) are applied while reading, so money stays
DECIMAL and never passes through a sniffed DOUBLE; undeclared columns are inferred by the
engine. A malformed file fails the seed node with the file, the line and the column.
"""

from __future__ import annotations

from pathlib import Path

from .engines.base import DataError, Session
from .errors import RunnerError
from .nodes import Seed


class SeedError(RunnerError):
    """A seed's CSV could not be loaded. A seed is a node, so this fails the node (exit 1)."""

    exit_code = 1


def load_seed(session: Session, seed: Seed, root: Path) -> int:
    """Load ``seed``'s CSV into a table at ``seed.relation``, replacing the old table
    atomically (a failed load leaves it as it was). Returns the number of rows loaded."""
    session.create_schema(seed.relation.schema)
    try:
        rows = session.load_csv(seed.relation, root / seed.path, seed.column_types)
    except DataError as exc:
        raise SeedError(
            f"seed '{seed.name}': {exc.message}", path=seed.path, line=exc.line, hint=exc.hint
        ) from None
    return rows or 0
