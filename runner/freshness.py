"""Source freshness, spelled as dbt spells it in sources.yml::

    sources:
      - name: shop
        loaded_at_field: updated_at          # per source, or per table (the table wins)
        freshness:                           # per source, or per table; `freshness: null`
          warn_after: {count: 1, period: day}  # on a table turns it off
          error_after: {count: 3, period: day}
          filter: "updated_at is not null"     # optional: rows that count

A table is as old as the newest ``loaded_at_field`` in it, measured against "now": the wall
clock in UTC, or the ``--now`` a scheduler (or a test) passes. ``runner source freshness``
writes the results to target/sources.json; ``runner build`` does not publish while a source
it reads is stale past ``error_after``.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ProjectError, RunnerError, first_line
from .nodes import Source
from .yamlio import line_of

PERIODS = {"minute": 60, "hour": 3600, "day": 86400}
RULE_KEYS = ("warn_after", "error_after", "filter")
THRESHOLD_KEYS = ("count", "period")
PASS, WARN, ERROR, RUNTIME_ERROR = "pass", "warn", "error", "runtime error"


@dataclass(frozen=True)
class Threshold:
    count: int
    period: str

    @property
    def seconds(self) -> int:
        return self.count * PERIODS[self.period]

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "period": self.period}

    def __str__(self) -> str:
        return f"{self.count} {self.period}{'' if self.count == 1 else 's'}"


@dataclass(frozen=True)
class Rule:
    """A table's freshness rule, validated."""

    loaded_at_field: str
    warn_after: Threshold | None
    error_after: Threshold | None
    filter: str | None = None

    def criteria(self) -> dict[str, Any]:
        return {
            "warn_after": self.warn_after.to_json() if self.warn_after else None,
            "error_after": self.error_after.to_json() if self.error_after else None,
            "filter": self.filter,
        }


@dataclass(frozen=True)
class Result:
    """One table's freshness at ``snapshotted_at``."""

    unique_id: str
    name: str  # source.table
    status: str
    max_loaded_at: datetime | None
    snapshotted_at: datetime
    age_seconds: float | None
    rule: Rule
    execution_time: float
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "status": self.status,
            "max_loaded_at": _iso(self.max_loaded_at),
            "snapshotted_at": _iso(self.snapshotted_at),
            "max_loaded_at_time_ago_in_s": self.age_seconds,
            "criteria": self.rule.criteria(),
            "execution_time": round(self.execution_time, 4),
            "message": self.message,
        }


# ------------------------------------------------------------------ sources.yml


def declared_rule(
    table: Mapping[str, Any],
    source: Mapping[str, Any],
    *,
    columns: Iterable[str],
    label: str,
    path: PurePosixPath,
    warnings: list[RunnerError],
) -> tuple[str | None, Mapping[str, Any] | None]:
    """The table's ``loaded_at_field`` and ``freshness`` (the table's own, else its source's),
    checked: a wrong type or value raises ProjectError at its line; an unknown key warns."""
    loaded_at = table.get("loaded_at_field", source.get("loaded_at_field"))
    owner = table if "freshness" in table else source
    rule = owner.get("freshness")
    if rule is None:
        return (str(loaded_at) if loaded_at else None), None
    line = line_of(owner, "freshness")

    def fail(message: str, at: int | None, hint: str) -> ProjectError:
        return ProjectError(f"source {label}: {message}", path=path, line=at, hint=hint)

    if not isinstance(rule, Mapping):
        raise fail("freshness must be a mapping", line, "e.g. freshness: " + _EXAMPLE)
    for key in rule:
        if key not in RULE_KEYS:
            warnings.append(_unknown(f"source {label}: freshness", key, RULE_KEYS, path, rule))
    for key in ("warn_after", "error_after"):
        if key in rule:
            _threshold(rule[key], key, line_of(rule, key) or line, fail, path, warnings, label)
    if rule.get("warn_after") is None and rule.get("error_after") is None:
        raise fail("freshness needs warn_after or error_after", line, "e.g. " + _EXAMPLE)
    if "filter" in rule and not isinstance(rule["filter"], str):
        raise fail("freshness filter must be a SQL condition (text)", line_of(rule, "filter"), "")
    if not isinstance(loaded_at, str) or not loaded_at:
        raise fail(
            "has a freshness rule but no loaded_at_field",
            line,
            "add loaded_at_field: <a timestamp column> to the table or its source",
        )
    names = [c.lower() for c in columns]
    if names and loaded_at.lower() not in names:
        close = difflib.get_close_matches(loaded_at.lower(), names, n=1)
        where = table if "loaded_at_field" in table else source
        raise fail(
            f"loaded_at_field '{loaded_at}' is not a declared column",
            line_of(where, "loaded_at_field") or line,
            f"did you mean '{close[0]}'?" if close else "name a timestamp column of the table",
        )
    return loaded_at, rule


_EXAMPLE = "{warn_after: {count: 1, period: day}, error_after: {count: 3, period: day}}"


def _threshold(value, key, line, fail, path, warnings, label) -> None:
    if value is None:  # dbt allows an explicit null to drop one level
        return
    if not isinstance(value, Mapping):
        raise fail(f"{key} must be a mapping", line, f"e.g. {key}: {{count: 1, period: day}}")
    for k in value:
        if k not in THRESHOLD_KEYS:
            warnings.append(_unknown(f"source {label}: {key}", k, THRESHOLD_KEYS, path, value))
    count = value.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise fail(
            f"{key}.count must be a whole number of at least 1, not {count!r}",
            line_of(value, "count") or line,
            f"e.g. {key}: {{count: 1, period: day}}",
        )
    period = value.get("period")
    if period not in PERIODS:
        raise fail(
            f"{key}.period must be one of {', '.join(PERIODS)}, not {period!r}",
            line_of(value, "period") or line,
            f"e.g. {key}: {{count: 1, period: day}}",
        )


def _unknown(what: str, key: Any, known: tuple[str, ...], path, mapping) -> ProjectError:
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
    return ProjectError(
        f"{what}: unknown key '{key}' (ignored)",
        path=path,
        line=line_of(mapping, str(key)),
        hint=hint,
    )


def rule_of(source: Source) -> Rule | None:
    """The validated rule of a source table, or None when it has none."""
    raw = source.freshness
    if not raw or not source.loaded_at_field:
        return None

    def threshold(key: str) -> Threshold | None:
        value = raw.get(key)
        return Threshold(int(value["count"]), str(value["period"])) if value else None

    return Rule(
        source.loaded_at_field, threshold("warn_after"), threshold("error_after"), raw.get("filter")
    )


# ------------------------------------------------------------------ checking


def parse_now(text: str | None) -> datetime:
    """``--now`` (an ISO date or timestamp, UTC) or the wall clock, as a naive UTC time."""
    if not text:
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        from .errors import UsageError

        raise UsageError(
            f"--now must be an ISO date or timestamp, not {text!r}",
            hint="e.g. --now 2024-07-01T06:00:00 (UTC) or RUNNER_NOW=2024-07-01",
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def check(session: Any, source: Source, rule: Rule, now: datetime) -> Result:
    """How old ``source`` is at ``now``: max(loaded_at_field) over its relation."""
    from . import sql as sqlmod

    started = time.perf_counter()
    query = sqlmod.max_of_sql(source.relation, rule.loaded_at_field, rule.filter, session.dialect)
    try:
        newest = session.query(query, limit=1).rows[0][0]
    except Exception as exc:
        return Result(
            source.unique_id,
            source.display_name,
            RUNTIME_ERROR,
            None,
            now,
            None,
            rule,
            time.perf_counter() - started,
            f"could not read max({rule.loaded_at_field}): {first_line(exc)}",
        )
    if isinstance(newest, str):
        newest = datetime.fromisoformat(newest)
    elapsed = time.perf_counter() - started
    if newest is None:
        status = ERROR if rule.error_after else WARN
        return Result(
            source.unique_id,
            source.display_name,
            status,
            None,
            now,
            None,
            rule,
            elapsed,
            f"no {rule.loaded_at_field} in it: nothing has landed",
        )
    if not isinstance(newest, datetime):  # a DATE column: the start of its day
        newest = datetime(newest.year, newest.month, newest.day)
    if newest.tzinfo is not None:
        newest = newest.astimezone(UTC).replace(tzinfo=None)
    age = (now - newest).total_seconds()
    status, limit = PASS, None
    if rule.error_after and age > rule.error_after.seconds:
        status, limit = ERROR, rule.error_after
    elif rule.warn_after and age > rule.warn_after.seconds:
        status, limit = WARN, rule.warn_after
    message = f"last loaded {_age(age)} ago ({_iso(newest)})"
    if limit is not None:
        message += f", stale: {status} after {limit}"
    return Result(
        source.unique_id, source.display_name, status, newest, now, age, rule, elapsed, message
    )


def check_sources(
    project: Any, engine: Any, selected: Iterable[str] | None, now: datetime, *, create: bool
) -> list[Result]:
    """Check every selected source table that has a rule (all of them when ``selected`` is
    None). ``create``: (re)create each one's view first, as a build does, so the check
    reads what has landed now; a source that cannot be read is a runtime error result."""
    from .sources import create_source_view, source_locations

    graph = project.graph
    chosen = set(graph.nodes) if selected is None else set(selected)
    tables = [
        (n, rule)
        for uid in sorted(chosen)
        if isinstance(n := graph.nodes[uid], Source) and (rule := rule_of(n)) is not None
    ]
    if not tables:
        return []
    session = engine.session()
    target = project.target
    locations = source_locations(
        target, project.vars, project.settings.root, profiles_path=target.profiles_path
    )
    results = []
    for source, rule in tables:
        if create:
            try:
                create_source_view(session, source, graph, locations, project.settings.root)
            except RunnerError as exc:
                results.append(
                    Result(
                        source.unique_id,
                        source.display_name,
                        RUNTIME_ERROR,
                        None,
                        now,
                        None,
                        rule,
                        0.0,
                        exc.message,
                    )
                )
                continue
        results.append(check(session, source, rule, now))
    return results


def stale(results: Iterable[Result]) -> list[Result]:
    """The results that stop a build from publishing: past error_after, or unreadable."""
    return [r for r in results if r.status in (ERROR, RUNTIME_ERROR)]


def _age(seconds: float) -> str:
    if seconds < 0:
        return "in the future by " + _age(-seconds)
    for unit in ("day", "hour", "minute"):
        if seconds >= PERIODS[unit]:
            n = seconds / PERIODS[unit]
            return f"{n:.1f} {unit}s"
    return f"{seconds:.0f} seconds"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


def sources_json(results: list[Result], elapsed: float, invocation: Mapping[str, Any]) -> dict:
    """target/sources.json (docs/artifacts.md): dbt's shape, one entry per checked table."""
    from . import __version__

    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
            "runner_schema_version": 1,
            "runner_version": __version__,
            "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            **invocation,
        },
        "results": [r.to_json() for r in results],
        "elapsed_time": round(elapsed, 4),
    }


def write_sources_json(target_dir: Path, data: dict) -> Path:
    from .artifacts import write_json

    path = target_dir / "sources.json"
    write_json(path, data)
    return path
