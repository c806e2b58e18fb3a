"""Snapshots: SCD type 2 history of a query, as dbt keeps it.

Every row of the snapshot table is one version of a record (``unique_key``), valid from
``dbt_valid_from`` until ``dbt_valid_to`` (NULL for the current version); ``dbt_scd_id``
identifies the version and ``dbt_updated_at`` is when it was seen. A run compares the
query's rows with the current versions:

- ``strategy: timestamp``: a record changed when its ``updated_at`` is later than the
  current version's; the new version is valid from that ``updated_at``;
- ``strategy: check``: a record changed when one of ``check_cols`` (or ``all``) differs;
  the new version is valid from the run's timestamp (or, as dbt allows, its
  ``updated_at`` column);
- ``invalidate_hard_deletes: true`` (or ``hard_deletes: invalidate``): a record gone from
  the query has its current version closed.

The first run creates the table; each later run closes and inserts in one transaction,
so a failure leaves the history as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from .engines.base import TABLE, Session
from .errors import NodeError, ProjectError
from .nodes import Model

STRATEGIES = ("timestamp", "check")
META_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")
_BLOCK = re.compile(
    r"\{%-?\s*snapshot\s+([A-Za-z_]\w*)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}", re.DOTALL
)


def blocks(text: str) -> list[tuple[str, str, int]]:
    """The ``{% snapshot name %}...{% endsnapshot %}`` blocks of a file: (name, body, line)."""
    found = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start(2)) + 1
        # keep the lines above the body, so template errors point at the file's own lines
        found.append((match.group(1), "\n" * (line - 1) + match.group(2), line))
    return found


def check_config(name: str, config: Mapping[str, Any], path: PurePosixPath) -> None:
    """A snapshot's config must say how records are keyed and how changes are detected."""
    strategy = config.get("strategy")
    if strategy not in STRATEGIES:
        raise ProjectError(
            f"snapshot '{name}': strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}",
            path=path,
            hint="config(strategy='timestamp', updated_at='updated_at') or "
            "config(strategy='check', check_cols=['status'])",
        )
    if config.get("hard_deletes") == "new_record" or config.get("snapshot_meta_column_names"):
        raise ProjectError(
            f"snapshot '{name}': hard_deletes: new_record and snapshot_meta_column_names are "
            "not supported",
            path=path,
            hint="use hard_deletes: invalidate (or ignore); the meta columns are dbt's "
            "default names (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)",
        )
    if config.get("dbt_valid_to_current") is not None:
        raise ProjectError(
            f"snapshot '{name}': dbt_valid_to_current is not supported (current rows have "
            "dbt_valid_to NULL)",
            path=path,
        )
    if not config.get("unique_key"):
        raise ProjectError(
            f"snapshot '{name}' needs a unique_key", path=path, hint="config(unique_key='id')"
        )
    if strategy == "timestamp" and not config.get("updated_at"):
        raise ProjectError(
            f"snapshot '{name}': strategy 'timestamp' needs updated_at",
            path=path,
            hint="config(updated_at='updated_at'): the column saying when a row last changed",
        )
    if strategy == "check" and not config.get("check_cols"):
        raise ProjectError(
            f"snapshot '{name}': strategy 'check' needs check_cols",
            path=path,
            hint="check_cols=['status', 'tier'] or check_cols='all'",
        )


def _keys(config: Mapping[str, Any]) -> list[str]:
    key = config["unique_key"]
    return [key] if isinstance(key, str) else [str(k) for k in key]


def _hard_deletes(config: Mapping[str, Any]) -> bool:
    return bool(config.get("invalidate_hard_deletes")) or config.get("hard_deletes") == "invalidate"


def snapshot(session: Session, model: Model, sql: str) -> tuple[int | None, str]:
    """Bring the snapshot table up to date with ``sql``; returns (rows changed, message)."""
    config = model.config
    check_config(model.name, config, model.path)
    target = model.relation.render()
    keys = _keys(config)
    key_sql = " || '|' || ".join(f"coalesce(cast(source.{_q(k)} as varchar), '')" for k in keys)
    timestamp = config["strategy"] == "timestamp"
    now = "cast(now() as timestamp)"
    # check strategy with updated_at: that column, not the clock, dates a new version
    updated_at = config.get("updated_at")
    valid_from = f"cast(source.{_q(updated_at)} as timestamp)" if updated_at else now
    scd_id = f"md5({key_sql} || '|' || coalesce(cast({valid_from} as varchar), ''))"
    source = f"(\n{sql}\n) as source"
    columns = [c.name for c in session.query_columns(sql)]
    missing = [k for k in keys if k.lower() not in {c.lower() for c in columns}]
    if missing:
        raise NodeError(
            f"snapshot '{model.name}': unique_key column(s) {', '.join(missing)} are not in "
            "its query",
            path=model.path,
        )
    if session.relation_kind(model.relation) != TABLE:
        session.create_schema(model.relation.schema)
        session.execute(
            f"create table {target} as select source.*, {scd_id} as dbt_scd_id, "
            f"{valid_from} as dbt_updated_at, {valid_from} as dbt_valid_from, "
            f"cast(null as timestamp) as dbt_valid_to from {source}"
        )
        rows = session.query(f"select count(*) from {target}").rows[0][0]
        return rows, f"snapshot created, {rows} rows"
    match = " and ".join(f"current.{_q(k)} is not distinct from source.{_q(k)}" for k in keys)
    if timestamp:
        changed = f"{valid_from} > current.dbt_updated_at"
    else:
        check = config["check_cols"]
        cols = [c for c in columns if c.lower() not in {k.lower() for k in keys}]
        cols = cols if check == "all" else ([check] if isinstance(check, str) else list(check))
        changed = " or ".join(f"current.{_q(c)} is distinct from source.{_q(c)}" for c in cols)
    current = f"{target} as current"
    column_list = ", ".join(_q(c) for c in columns)
    scratch = _q(f"__runner_snapshot_{model.name}")
    with session.transaction():
        session.execute(
            f"create temporary table {scratch} as "
            f"select source.*, {scd_id} as dbt_scd_id, {valid_from} as dbt_valid_from "
            f"from {source} left join {current} on {match} and current.dbt_valid_to is null "
            f"where current.dbt_scd_id is null or ({changed})"
        )
        session.execute(
            f"update {target} as current set dbt_valid_to = changes.dbt_valid_from "
            f"from {scratch} as changes where current.dbt_valid_to is null and "
            + " and ".join(f"current.{_q(k)} is not distinct from changes.{_q(k)}" for k in keys)
        )
        closed_deleted = 0
        if _hard_deletes(config):
            gone = " and ".join(
                f"source.{_q(k)} is not distinct from current.{_q(k)}" for k in keys
            )
            closed_deleted = session.query(
                f"select count(*) from {current} where current.dbt_valid_to is null and "
                f"not exists (select 1 from {source} where {gone})"
            ).rows[0][0]
            session.execute(
                f"update {target} as current set dbt_valid_to = {now} "
                f"where current.dbt_valid_to is null and "
                f"not exists (select 1 from {source} where {gone})"
            )
        inserted = session.query(f"select count(*) from {scratch}").rows[0][0]
        session.execute(
            f"insert into {target} ({column_list}, dbt_scd_id, dbt_updated_at, dbt_valid_from, "
            f"dbt_valid_to) select {column_list}, dbt_scd_id, dbt_valid_from, dbt_valid_from, "
            f"cast(null as timestamp) from {scratch}"
        )
        session.execute(f"drop table {scratch}")
    message = f"snapshot: {inserted} new versions"
    if closed_deleted:
        message += f", {closed_deleted} deleted records closed"
    return inserted + closed_deleted, message


def _q(identifier: str) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'
