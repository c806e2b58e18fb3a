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
  the query has its current version closed; ``hard_deletes: new_record`` also adds a
  version flagged ``dbt_is_deleted = 'True'`` (every version carries the flag);
- ``snapshot_meta_column_names`` renames the meta columns, and ``dbt_valid_to_current``
  is what current versions hold in ``dbt_valid_to`` instead of NULL.

The first run creates the table; each later run closes and inserts in one transaction,
so a failure leaves the history as it was. On an engine without UPDATE and transactions
(Spark's built-in catalog) the new history is staged whole and written over the table in
one statement, which is the only write (``hard_deletes: new_record`` is refused there).
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
    meta_names(name, config, path)  # a bad snapshot_meta_column_names is an error here
    current = config.get("dbt_valid_to_current")
    if current is not None and (not isinstance(current, str) or not current.strip()):
        raise ProjectError(
            f"snapshot '{name}': dbt_valid_to_current must be a SQL expression, got {current!r}",
            path=path,
            hint="e.g. dbt_valid_to_current: \"cast('9999-12-31' as timestamp)\"",
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


META_KEYS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted")


def meta_names(name: str, config: Mapping[str, Any], path: PurePosixPath) -> dict[str, str]:
    """dbt's meta column names, as ``snapshot_meta_column_names`` renames them."""
    given = config.get("snapshot_meta_column_names") or {}
    unknown = [k for k in given if k not in META_KEYS]
    if unknown or not all(isinstance(v, str) and v for v in given.values()):
        raise ProjectError(
            f"snapshot '{name}': snapshot_meta_column_names takes {', '.join(META_KEYS)} "
            "mapped to column names" + (f", not {', '.join(map(str, unknown))}" if unknown else ""),
            path=path,
            hint="e.g. snapshot_meta_column_names: {dbt_valid_from: start_date, "
            "dbt_valid_to: end_date}",
        )
    return {key: str(given.get(key, key)) for key in META_KEYS}


def _keys(config: Mapping[str, Any]) -> list[str]:
    key = config["unique_key"]
    return [key] if isinstance(key, str) else [str(k) for k in key]


def _hard_deletes(config: Mapping[str, Any]) -> str:
    """ignore, invalidate (close the current version) or new_record (also add a deleted
    version, dbt_is_deleted 'True')."""
    if config.get("hard_deletes") in ("invalidate", "new_record"):
        return str(config["hard_deletes"])
    return "invalidate" if config.get("invalidate_hard_deletes") else "ignore"


def snapshot(session: Session, model: Model, sql: str) -> tuple[int | None, str]:
    """Bring the snapshot table up to date with ``sql``; returns (rows changed, message)."""
    config = model.config
    check_config(model.name, config, model.path)
    capabilities = session.engine.capabilities
    if not (capabilities.merge and capabilities.transactions):
        return _Rewrite(session, model, sql).run()
    m = {key: _q(value) for key, value in meta_names(model.name, config, model.path).items()}
    deletes = _hard_deletes(config)
    # what dbt_valid_to holds on current versions: NULL, or dbt_valid_to_current
    open_value = config.get("dbt_valid_to_current") or "null"
    open_to = f"cast({open_value} as timestamp)"
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
    deleted_flag = deletes == "new_record"
    flag = (
        (lambda value: f", '{value}' as {m['dbt_is_deleted']}")
        if deleted_flag
        else (lambda value: "")
    )
    if session.relation_kind(model.relation) != TABLE:
        session.create_schema(model.relation.schema)
        session.execute(
            f"create table {target} as select source.*, {scd_id} as {m['dbt_scd_id']}, "
            f"{valid_from} as {m['dbt_updated_at']}, {valid_from} as {m['dbt_valid_from']}, "
            f"{open_to} as {m['dbt_valid_to']}{flag('False')} from {source}"
        )
        rows = session.query(f"select count(*) from {target}").rows[0][0]
        return rows, f"snapshot created, {rows} rows"
    is_open = (
        f"current.{m['dbt_valid_to']} is null"
        if open_value == "null"
        else f"(current.{m['dbt_valid_to']} is null or current.{m['dbt_valid_to']} = {open_to})"
    )
    match = " and ".join(f"current.{_q(k)} is not distinct from source.{_q(k)}" for k in keys)
    if timestamp:
        changed = f"{valid_from} > current.{m['dbt_updated_at']}"
    else:
        check = config["check_cols"]
        cols = [c for c in columns if c.lower() not in {k.lower() for k in keys}]
        cols = cols if check == "all" else ([check] if isinstance(check, str) else list(check))
        changed = " or ".join(f"current.{_q(c)} is distinct from source.{_q(c)}" for c in cols)
    if deleted_flag:  # a record back after its deletion is a new version
        changed = f"({changed}) or current.{m['dbt_is_deleted']} = 'True'"
    current = f"{target} as current"
    column_list = ", ".join(_q(c) for c in columns)
    scratch = _q(f"__runner_snapshot_{model.name}")
    meta_list = f"{m['dbt_scd_id']}, {m['dbt_updated_at']}, {m['dbt_valid_from']}, "
    meta_list += m["dbt_valid_to"] + (f", {m['dbt_is_deleted']}" if deleted_flag else "")
    with session.transaction():
        session.execute(
            f"create temporary table {scratch} as "
            f"select source.*, {scd_id} as {m['dbt_scd_id']}, {valid_from} as "
            f"{m['dbt_valid_from']} from {source} left join {current} on {match} and "
            f"{is_open} where current.{m['dbt_scd_id']} is null or ({changed})"
        )
        session.execute(
            f"update {target} as current set {m['dbt_valid_to']} = changes.{m['dbt_valid_from']} "
            f"from {scratch} as changes where {is_open} and "
            + " and ".join(f"current.{_q(k)} is not distinct from changes.{_q(k)}" for k in keys)
        )
        closed_deleted = 0
        if deletes != "ignore":
            gone = " and ".join(
                f"source.{_q(k)} is not distinct from current.{_q(k)}" for k in keys
            )
            vanished = f"{is_open} and not exists (select 1 from {source} where {gone})"
            if deleted_flag:
                vanished += f" and current.{m['dbt_is_deleted']} = 'False'"
            closed_deleted = session.query(f"select count(*) from {current} where {vanished}").rows[
                0
            ][0]
            if deleted_flag:  # the deleted version: the last one's values, flagged
                deleted = _q(f"__runner_snapshot_deleted_{model.name}")
                session.execute(
                    f"create temporary table {deleted} as select current.* from {current} "
                    f"where {vanished}"
                )
            session.execute(
                f"update {target} as current set {m['dbt_valid_to']} = {now} where {vanished}"
            )
            if deleted_flag:
                deleted_key = " || '|' || ".join(
                    f"coalesce(cast(current.{_q(k)} as varchar), '')" for k in keys
                )
                session.execute(
                    f"insert into {target} ({column_list}, {meta_list}) select "
                    + ", ".join(f"current.{_q(c)}" for c in columns)
                    + f", md5({deleted_key} || '|' || cast({now} as varchar)), {now}, {now}, "
                    f"{open_to}, 'True' from {deleted} as current"
                )
                session.execute(f"drop table {deleted}")
        inserted = session.query(f"select count(*) from {scratch}").rows[0][0]
        session.execute(
            f"insert into {target} ({column_list}, {meta_list}) select {column_list}, "
            f"{m['dbt_scd_id']}, {m['dbt_valid_from']}, {m['dbt_valid_from']}, {open_to}"
            + (", 'False'" if deleted_flag else "")
            + f" from {scratch}"
        )
        session.execute(f"drop table {scratch}")
    message = f"snapshot: {inserted} new versions"
    if closed_deleted:
        message += f", {closed_deleted} deleted records closed"
    return inserted + closed_deleted, message


class _Rewrite:
    """A snapshot on an engine without UPDATE and transactions (Spark's built-in catalog).

    The query's rows are staged in a scratch table, the new versions computed into
    another, and the whole new history (every old version, closed where a new version or
    a hard delete ends it, then the new versions) written over the table in one
    statement (``Session.replace_rows``): the only write, so a failure before it leaves
    the history as it was. Statements are written in DuckDB's SQL, as the rest of this
    module, and rendered in the session's dialect."""

    def __init__(self, session: Session, model: Model, sql: str) -> None:
        config = model.config
        if _hard_deletes(config) == "new_record":
            raise ProjectError(
                f"snapshot '{model.name}': hard_deletes: new_record needs UPDATE, which "
                f"{session.engine.name}'s catalog does not have",
                path=model.path,
                hint="use hard_deletes: invalidate on this target",
            )
        self.session, self.model, self.sql, self.config = session, model, sql, config
        self.m = {k: _q(v) for k, v in meta_names(model.name, config, model.path).items()}
        self.keys = _keys(config)
        self.target = model.relation.render()
        open_value = config.get("dbt_valid_to_current") or "null"
        self.open_to = f"cast({open_value} as timestamp)"
        valid_to = f"current.{self.m['dbt_valid_to']}"
        self.is_open = (
            f"{valid_to} is null"
            if open_value == "null"
            else f"({valid_to} is null or {valid_to} = {self.open_to})"
        )
        self.now = "cast(now() as timestamp)"
        # check strategy with updated_at: that column, not the clock, dates a new version
        updated_at = config.get("updated_at")
        self.valid_from = f"cast(source.{_q(updated_at)} as timestamp)" if updated_at else self.now
        key_sql = " || '|' || ".join(
            f"coalesce(cast(source.{_q(k)} as varchar), '')" for k in self.keys
        )
        self.scd_id = f"md5({key_sql} || '|' || coalesce(cast({self.valid_from} as varchar), ''))"

    def _sql(self, text: str) -> str:
        from .sql.transpile import to_dialect  # sqlglot: only when a snapshot runs

        return to_dialect(text, self.session.dialect, path=self.model.path, source_text=text)

    def _count(self, text: str) -> int:
        return int(self.session.query(self._sql(text)).rows[0][0])

    def _match(self, left: str, right: str) -> str:
        return " and ".join(
            f"{left}.{_q(k)} is not distinct from {right}.{_q(k)}" for k in self.keys
        )

    def run(self) -> tuple[int | None, str]:
        session, model = self.session, self.model
        columns = [c.name for c in session.query_columns(self.sql)]
        missing = [k for k in self.keys if k.lower() not in {c.lower() for c in columns}]
        if missing:
            raise NodeError(
                f"snapshot '{model.name}': unique_key column(s) {', '.join(missing)} are not "
                "in its query",
                path=model.path,
            )
        staged = session.scratch_relation(f"__runner_snapshot_source_{model.name}")
        session.create_temp_table(staged, self.sql)
        try:
            return self._run(columns, f"{staged.render()} as source")
        finally:
            session.drop(staged, TABLE)

    def _run(self, columns: list[str], source: str) -> tuple[int | None, str]:
        session, model, m = self.session, self.model, self.m
        if session.relation_kind(model.relation) != TABLE:
            session.create_schema(model.relation.schema)
            session.replace_table(
                model.relation,
                self._sql(
                    f"select source.*, {self.scd_id} as {m['dbt_scd_id']}, "
                    f"{self.valid_from} as {m['dbt_updated_at']}, "
                    f"{self.valid_from} as {m['dbt_valid_from']}, "
                    f"{self.open_to} as {m['dbt_valid_to']} from {source}"
                ),
            )
            rows = self._count(f"select count(*) from {self.target}")
            return rows, f"snapshot created, {rows} rows"
        if self.config["strategy"] == "timestamp":
            changed = f"{self.valid_from} > current.{m['dbt_updated_at']}"
        else:
            check = self.config["check_cols"]
            key_names = {k.lower() for k in self.keys}
            cols = [c for c in columns if c.lower() not in key_names]
            cols = cols if check == "all" else ([check] if isinstance(check, str) else list(check))
            changed = " or ".join(f"current.{_q(c)} is distinct from source.{_q(c)}" for c in cols)
        changes = session.scratch_relation(f"__runner_snapshot_{model.name}")
        session.create_temp_table(
            changes,
            self._sql(
                f"select source.*, {self.scd_id} as {m['dbt_scd_id']}, "
                f"{self.valid_from} as {m['dbt_valid_from']} from {source} "
                f"left join {self.target} as current on {self._match('current', 'source')} "
                f"and {self.is_open} where current.{m['dbt_scd_id']} is null or ({changed})"
            ),
        )
        try:
            return self._write_history(columns, source, changes.render())
        finally:
            session.drop(changes, TABLE)

    def _write_history(
        self, columns: list[str], source: str, changes: str
    ) -> tuple[int | None, str]:
        session, m = self.session, self.m
        keys = ", ".join(_q(k) for k in self.keys)
        closed_deleted = 0
        valid_to = f"current.{m['dbt_valid_to']}"
        ends = [
            f"when not {self.is_open} then {valid_to}",
            f"when ended.runner_ended then ended.{m['dbt_valid_from']}",
        ]
        joins = (
            f"left join (select {keys}, min({m['dbt_valid_from']}) as {m['dbt_valid_from']}, "
            f"true as runner_ended from {changes} group by {keys}) as ended "
            f"on {self.is_open} and {self._match('current', 'ended')}"
        )
        if _hard_deletes(self.config) == "invalidate":
            gone = self._match("source", "current")
            closed_deleted = self._count(
                f"select count(*) from {self.target} as current where {self.is_open} "
                f"and not exists (select 1 from {source} where {gone})"
            )
            joins += (
                f" left join (select distinct {keys}, true as runner_kept from {source}) "
                f"as kept on {self._match('current', 'kept')}"
            )
            ends.append(f"when kept.runner_kept is null then {self.now}")
        names = {key: value.strip('"').lower() for key, value in m.items()}
        source_columns = {c.lower() for c in columns}
        old: list[str] = []
        new: list[str] = []
        for info in session.columns(self.model.relation):
            name, column = info.name.lower(), _q(info.name)
            if name == names["dbt_valid_to"]:
                old.append(f"case {' '.join(ends)} else {valid_to} end as {column}")
                new.append(f"{self.open_to} as {column}")
            elif name in (names["dbt_updated_at"], names["dbt_valid_from"]):
                old.append(f"current.{column}")
                new.append(f"changes.{m['dbt_valid_from']} as {column}")
            elif name == names["dbt_scd_id"] or name in source_columns:
                old.append(f"current.{column}")
                new.append(f"changes.{column}")
            else:  # a column the query no longer has: NULL in new versions
                old.append(f"current.{column}")
                new.append(f"null as {column}")
        history = (
            f"select {', '.join(old)} from {self.target} as current {joins} "
            f"union all select {', '.join(new)} from {changes} as changes"
        )
        inserted = self._count(f"select count(*) from {changes}")
        session.replace_rows(self.model.relation, self._sql(history))
        message = f"snapshot: {inserted} new versions"
        if closed_deleted:
            message += f", {closed_deleted} deleted records closed"
        return inserted + closed_deleted, message


def _q(identifier: str) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'
