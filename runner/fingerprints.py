"""What an incremental table was built from, so a run can tell its inputs changed.

An incremental run only adds what is new to the table; if the table was built from other
data (the sources now read another folder, the model's SQL changed, an upstream model
moved), adding to it mixes two datasets. So every incremental build records, with the
table, a fingerprint of its inputs: the model's SQL and config, the macros it calls, and
for everything upstream of it the relation it reads and, for sources and seeds, where
their data comes from. When the next run's fingerprint differs, the table is rebuilt
whole, and the run says which input changed.

The fingerprints live in the working database (``_runner.fingerprints``), next to the
audit log publishing keeps there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .nodes import Model
    from .parser import Project
    from .sources import SourceLocations

TABLE = '"_runner"."fingerprints"'


def inputs_of(project: Project, model: Model, locations: SourceLocations) -> dict[str, str]:
    """What ``model``'s table is built from, one entry per input, each a short text that
    changes when that input does: ``sql``, ``config``, ``macro <name>`` and one per node
    upstream of it (``source shop.orders``, ``seed orders``, ``model stg_orders``)."""
    from .nodes import Model, Seed, Source

    graph = project.graph
    inputs = {
        "sql": _digest(model.raw_sql),
        "config": _digest(json.dumps(_config(model.config), sort_keys=True, default=str)),
    }
    for name in sorted(model.macros):
        macro = project.macros.get(name)
        inputs[f"macro {name}"] = macro.checksum if macro is not None else "?"
    for uid in sorted(graph.ancestors(model.unique_id)):
        node = graph.nodes[uid]
        if isinstance(node, Source):
            location = locations.for_source(node.source_name)
            name = location.name_for(node.identifier)
            if location.kind == "seeds":
                where = f"seed '{name}'"
            elif location.kind == "files":
                formats = "csv or parquet" if location.format == "auto" else location.format
                where = f"{location.path / name} ({formats})"
            else:
                where = f"table {location.schema}.{name} in {location.path}"
            inputs[f"source {node.display_name}"] = f"{node.relation.render()} reads {where}"
        elif isinstance(node, Seed):
            inputs[f"seed {node.name}"] = f"{node.relation.render()} from {node.path}"
        elif isinstance(node, Model):
            identity = node.relation.render() if node.materialized != "ephemeral" else "inlined"
            if node.materialized == "ephemeral":  # its SQL is part of this model's
                identity += f" {_digest(node.raw_sql)}"
            inputs[f"model {node.name}"] = identity
    return inputs


def fingerprint(inputs: Mapping[str, str]) -> str:
    return _digest(json.dumps(dict(inputs), sort_keys=True))


def what_changed(old: Mapping[str, str] | None, new: Mapping[str, str]) -> str:
    """Why a table's recorded inputs differ from the current ones, in a few words."""
    if old is None:
        return "no record says what its table was built from"
    if old.get("sql") != new.get("sql"):
        return "its SQL changed"
    for key in sorted(set(old) | set(new), key=_rank):
        if key == "sql" or old.get(key) == new.get(key):
            continue
        if key not in old:
            return f"it now reads {key}"
        if key not in new:
            return f"it no longer reads {key}"
        if key.startswith("source "):
            return f"{key} now reads {_read(new[key])}, not {_read(old[key])}"
        return f"{key} changed"
    return "its inputs changed"


class FingerprintStore:
    """The recorded inputs of each incremental table, in the working database."""

    def __init__(self, connection: Any) -> None:
        self._cursor = connection.cursor()
        self._lock = threading.Lock()
        self._cursor.execute(
            'create schema if not exists "_runner";'
            f"create table if not exists {TABLE} (unique_id varchar primary key, "
            "fingerprint varchar not null, inputs varchar not null)"
        )

    def read(self) -> dict[str, tuple[str, dict[str, str]]]:
        with self._lock:
            rows = self._cursor.execute(f"select * from {TABLE}").fetchall()
        return {uid: (print_, json.loads(inputs)) for uid, print_, inputs in rows}

    def record(self, unique_id: str, inputs: Mapping[str, str]) -> None:
        with self._lock:
            self._cursor.execute(
                f"insert or replace into {TABLE} values (?, ?, ?)",
                [unique_id, fingerprint(inputs), json.dumps(dict(inputs), sort_keys=True)],
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cursor.close()


# Reported first: where the data comes from (a source's new location explains its seed).
_RANKS = ("sql", "source ", "model ", "seed ", "macro ", "config")


def _rank(key: str) -> tuple[int, str]:
    rank = next((i for i, prefix in enumerate(_RANKS) if key.startswith(prefix)), len(_RANKS))
    return rank, key


def _read(entry: str) -> str:
    return entry.split(" reads ", 1)[-1]


def _config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config that shapes the table's rows (not tags, docs or publishing)."""
    keep = ("materialized", "unique_key", "incremental_strategy", "on_schema_change")
    return {key: config.get(key) for key in keep if key in config}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
