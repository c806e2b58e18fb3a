"""DuckDB: opening a connection configured from a profiles.yml target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..project import Target


def connect(target: Target, root: Path, *, read_only: bool = False) -> Any:
    """Open the target's database with its threads, memory limit, extensions and settings."""
    import duckdb

    config: dict[str, Any] = {"threads": target.threads}
    if target.memory_limit:
        config["memory_limit"] = target.memory_limit
    for key, value in target.settings.items():
        config[key] = value
    path = target.resolved_path(root)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(path, read_only=read_only, config=config)
    try:
        for extension in target.extensions:
            connection.load_extension(extension)
    except Exception:
        connection.close()
        raise
    return connection


def check_connection(target: Target, root: Path) -> tuple[bool, str]:
    """Try to open the target and run ``select 1``; say what happened."""
    import duckdb

    path = target.resolved_path(root)
    # Never create a database file just to check; an existing one is opened read-only
    # so a running build is not disturbed more than necessary.
    if path == ":memory:" or not Path(path).exists():
        target_to_open = target if path == ":memory:" else _in_memory(target)
        read_only = False
    else:
        target_to_open, read_only = target, True
    try:
        connection = connect(target_to_open, root, read_only=read_only)
        try:
            version = connection.execute("select version()").fetchone()[0]
        finally:
            connection.close()
    except duckdb.Error as exc:
        return False, f"{type(exc).__name__}: {exc}"
    where = path if Path(path).exists() or path == ":memory:" else f"{path} (not created yet)"
    return True, f"OK, DuckDB {version} at {where}"


def _in_memory(target: Target) -> Target:
    from dataclasses import replace

    return replace(target, path=":memory:")
