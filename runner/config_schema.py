"""What a user may write: the allowed config keys of models, seeds and sources, and the
allowed keys of each entry of a properties (YAML) file, with their types and values.

One table, checked wherever config comes from (``[tool.runner.models.*]`` folder
defaults, YAML ``config:``, ``{{ config(...) }}``). An unknown key is a warning with a
did-you-mean (dbt projects carry keys the runner does not use); a known key with a wrong
type or value is an error naming what is allowed. To teach the runner a new key, add
one line to the tables below.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePath
from typing import Any

from .errors import ProjectError

# ---------------------------------------------------------------------- value checks


class Rule:
    """What a key's value must be: ``check`` says whether a value is good, ``expected``
    says in words what is allowed (it goes into the error). For a choice, ``values``
    gives the allowed values (a function, so the list can live in the module that
    implements them and never goes stale)."""

    def __init__(
        self,
        check: Callable[[Any], bool] | None = None,
        expected: str = "",
        values: Callable[[], tuple[str, ...]] | None = None,
    ) -> None:
        self._check, self._expected, self.values = check, expected, values

    def check(self, value: Any) -> bool:
        if self.values is not None:
            return isinstance(value, str) and value in self.values()
        assert self._check is not None
        return self._check(value)

    @property
    def expected(self) -> str:
        if self.values is not None:
            return "one of: " + ", ".join(self.values())
        return self._expected


def choice(*values: str) -> Rule:
    return Rule(values=lambda: values)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


ANY = Rule(lambda v: True, "anything")
BOOL = Rule(lambda v: isinstance(v, bool), "true or false")
OPTIONAL_BOOL = Rule(lambda v: v is None or isinstance(v, bool), "true, false or null")
NAME = Rule(lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty name")
OPTIONAL_NAME = Rule(lambda v: v is None or (isinstance(v, str) and bool(v.strip())), "a name")
TEXT = Rule(lambda v: isinstance(v, str), "a string")
STR_OR_LIST = Rule(lambda v: isinstance(v, str) or _is_str_list(v), "a string or a list of strings")
MAPPING = Rule(lambda v: isinstance(v, Mapping), "a mapping")
LIST = Rule(lambda v: isinstance(v, list), "a list")
INT = Rule(lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
HOOKS = Rule(
    lambda v: (
        isinstance(v, str | Mapping)
        or (isinstance(v, list) and all(isinstance(h, str | Mapping) for h in v))
    ),
    "a SQL statement or a list of them",
)


def _materializations() -> tuple[str, ...]:
    from .nodes import MATERIALIZATIONS

    return tuple(sorted(MATERIALIZATIONS - {"seed", "snapshot"}))  # not a model's


def _strategies() -> tuple[str, ...]:
    from .materialize import STRATEGIES

    return tuple(STRATEGIES)


def _schema_policies() -> tuple[str, ...]:
    from .materialize import SCHEMA_CHANGE_POLICIES

    return tuple(SCHEMA_CHANGE_POLICIES)


# ---------------------------------------------------------------------- config keys

# Keys every node kind shares (dbt's general configs).
_COMMON: dict[str, Rule] = {
    "enabled": BOOL,
    "tags": STR_OR_LIST,
    "meta": MAPPING,
    "docs": MAPPING,
    "group": NAME,
    "event_time": TEXT,
}

_RELATION: dict[str, Rule] = {
    "schema": NAME,
    "alias": NAME,
    "database": OPTIONAL_NAME,
    "persist_docs": MAPPING,
    "grants": MAPPING,
    "pre_hook": HOOKS,
    "post_hook": HOOKS,
    "pre-hook": HOOKS,
    "post-hook": HOOKS,
    "full_refresh": OPTIONAL_BOOL,
    "publish": BOOL,  # the runner's own: copy the model to the serving file
    "quoting": MAPPING,
}

MODEL_CONFIG: dict[str, Rule] = {
    **_COMMON,
    **_RELATION,
    "materialized": Rule(values=_materializations),
    "unique_key": STR_OR_LIST,
    "incremental_strategy": Rule(values=_strategies),
    "on_schema_change": Rule(values=_schema_policies),
    "incremental_predicates": LIST,
    "merge_update_columns": LIST,
    "merge_exclude_columns": LIST,
    "contract": MAPPING,
    "access": choice("private", "protected", "public"),
    "sql_header": TEXT,
    "on_configuration_change": choice("apply", "continue", "fail"),
    "batch_size": choice("hour", "day", "month", "year"),
    "begin": ANY,
    "lookback": INT,
    "concurrent_batches": OPTIONAL_BOOL,
    "packages": LIST,  # Python models
    "severity": choice("error", "warn", "ERROR", "WARN"),
    "column_types": MAPPING,
}

SEED_CONFIG: dict[str, Rule] = {
    **_COMMON,
    **_RELATION,
    "column_types": MAPPING,
    "quote_columns": BOOL,
    "delimiter": TEXT,
    "materialized": choice("seed"),
}

SOURCE_CONFIG: dict[str, Rule] = {
    **_COMMON,
    "freshness": ANY,
    "loaded_at_field": TEXT,
}

# Snapshots (runner/snapshots.py): a model's configs, and how history is kept.
SNAPSHOT_CONFIG: dict[str, Rule] = {
    **MODEL_CONFIG,
    "materialized": choice("snapshot"),
    "strategy": choice("timestamp", "check"),
    "updated_at": NAME,
    "check_cols": Rule(lambda v: v == "all" or _is_str_list(v), "'all' or a list of columns"),
    "target_schema": NAME,
    "target_database": OPTIONAL_NAME,
    "invalidate_hard_deletes": BOOL,
    "hard_deletes": choice("ignore", "invalidate", "new_record"),
    "snapshot_meta_column_names": MAPPING,
    "dbt_valid_to_current": TEXT,
}

CONFIGS = {
    "model": MODEL_CONFIG,
    "seed": SEED_CONFIG,
    "source": SOURCE_CONFIG,
    "snapshot": SNAPSHOT_CONFIG,
}

# ---------------------------------------------------------------------- YAML entry keys

EXPECTATIONS = ("expectations", "data_tests", "tests")

# Keys of one entry of a properties file, by where the entry is (dbt's property keys,
# so a dbt project does not drown in warnings; the runner reads the ones it uses).
YAML_KEYS: dict[str, frozenset[str]] = {
    "top": frozenset(
        {
            "version",
            "models",
            "seeds",
            "sources",
            "macros",
            "snapshots",
            "analyses",
            "exposures",
            "metrics",
            "semantic_models",
            "saved_queries",
            "groups",
            "unit_tests",
            "data_tests",
        }
    ),
    "model": frozenset(
        {
            "name",
            "description",
            "config",
            "columns",
            *EXPECTATIONS,
            "meta",
            "docs",
            "access",
            "group",
            "constraints",
            "latest_version",
            "versions",
            "deprecation_date",
            "time_spine",
            "tags",
        }
    ),
    "seed": frozenset(
        {"name", "description", "config", "columns", *EXPECTATIONS, "meta", "docs", "tags"}
    ),
    "column": frozenset(
        {
            "name",
            "description",
            "data_type",
            *EXPECTATIONS,
            "meta",
            "quote",
            "constraints",
            "tags",
            "config",
            "policy_tags",
            "granularity",
            "docs",
        }
    ),
    "source": frozenset(
        {
            "name",
            "description",
            "schema",
            "database",
            "loader",
            "tables",
            "meta",
            "tags",
            "config",
            "freshness",
            "loaded_at_field",
            "quoting",
            "overrides",
            "event_time",
            *EXPECTATIONS,
        }
    ),
    "source_table": frozenset(
        {
            "name",
            "description",
            "identifier",
            "columns",
            *EXPECTATIONS,
            "meta",
            "tags",
            "config",
            "freshness",
            "loaded_at_field",
            "quoting",
            "external",
            "loader",
            "event_time",
        }
    ),
}

_WHAT = {
    "top": "a properties file",
    "model": "a model",
    "seed": "a seed",
    "column": "a column",
    "source": "a source",
    "source_table": "a source table",
}


# ---------------------------------------------------------------------- checking


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest known word, or ''."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def check_config(
    config: Any,
    kind: str,
    *,
    path: PurePath | str | None,
    line_of: Callable[[str], int | None],
    where: str,
) -> list[ProjectError]:
    """Check one config mapping of a ``kind`` node ("model", "seed", "source").

    Raises the first wrong value (a ProjectError at its line); returns warnings for
    unknown keys. ``where`` names the place in messages (e.g. "[tool.runner.models]").
    A leading '+' (dbt's spelling in project files) is ignored.
    """
    if not isinstance(config, Mapping):
        raise ProjectError(
            f"config must be a mapping of settings, got {_shown(config)}",
            path=path,
            line=line_of("config"),
            hint="e.g. config: {materialized: table, tags: [daily]}",
        )
    rules = CONFIGS[kind]
    warnings = []
    for raw_key, value in config.items():
        key = str(raw_key).lstrip("+")
        rule = rules.get(key)
        if rule is None:
            suggestion = did_you_mean(key, rules)
            warnings.append(
                ProjectError(
                    f"unknown {kind} config '{key}' in {where} (the runner does not use it)",
                    path=path,
                    line=line_of(str(raw_key)),
                    hint=suggestion or f"known {kind} configs: " + ", ".join(sorted(rules)),
                )
            )
            continue
        if key in _NOT_APPLIED and value not in (None, [], {}, ""):
            warnings.append(
                ProjectError(
                    f"{kind} config '{key}' in {where} is not applied by the runner: "
                    + _NOT_APPLIED[key],
                    path=path,
                    line=line_of(str(raw_key)),
                    hint=f"remove {key}, or build this model with dbt if it needs it",
                )
            )
        refused = _refused(key, value)
        if refused is not None:
            message, hint = refused
            raise ProjectError(
                f"{kind} config '{key}' in {where}: {message}",
                path=path,
                line=line_of(str(raw_key)),
                hint=hint,
            )
        if value is not None and not rule.check(value):  # None: not set (as in dbt)
            raise ProjectError(
                f"{kind} config '{key}' in {where} must be {rule.expected}; got {_shown(value)}",
                path=path,
                line=line_of(str(raw_key)),
                hint=_value_hint(key, value, rule),
            )
    return warnings


def check_keys(
    entry: Mapping[str, Any],
    kind: str,
    *,
    path: PurePath | str | None,
    line_of: Callable[[str], int | None],
    name: str | None = None,
) -> list[ProjectError]:
    """Warnings for the keys of a YAML entry that mean nothing there (with a did-you-mean)."""
    known = YAML_KEYS[kind]
    label = _WHAT[kind] + (f" '{name}'" if name else "")
    warnings = []
    for key in entry:
        if key in known:
            continue
        suggestion = did_you_mean(str(key), known)
        warnings.append(
            ProjectError(
                f"unknown key '{key}' in {label} (ignored)",
                path=path,
                line=line_of(str(key)),
                hint=suggestion or "known keys: " + ", ".join(sorted(known)),
            )
        )
    return warnings


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# dbt configs the runner accepts (a dbt project builds unchanged) but does not act on: each
# is a warning saying what the runner does instead, never silently dropped.
_NOT_APPLIED = {
    "incremental_predicates": "a merge or delete+insert matches keys over the whole table",
    "sql_header": "the model's SQL runs without it",
    "persist_docs": "descriptions stay in the YAML, the docs site and manifest.json",
    "grants": "no GRANT statements are run",
    "on_configuration_change": "it concerns materialized views, which the runner does not build",
}


def _refused(key: str, value: Any) -> tuple[str, str] | None:
    """dbt configs the runner cannot honour and must not quietly drop: (message, hint)."""
    if key == "materialized" and value == "microbatch":
        return (
            "the microbatch strategy is not supported by the runner",
            "use materialized='incremental' with incremental_strategy='delete+insert' and a "
            "filter on the event time inside {% if is_incremental() %}, or build with dbt",
        )
    return None


def _value_hint(key: str, value: Any, rule: Rule) -> str:
    if rule.values is not None and isinstance(value, str):
        close = difflib.get_close_matches(value, rule.values(), n=1)
        if close:
            return f"did you mean '{close[0]}'?"
        if key == "materialized":
            return (
                f"materialized takes {rule.expected}; custom {{% materialization %}} blocks "
                "are not supported by the runner"
            )
    if rule is BOOL and isinstance(value, str):
        return f"write {key}: true or {key}: false, without quotes"
    return f"{key} takes {rule.expected}"
