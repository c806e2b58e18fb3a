"""Expectations as declared in YAML: the vocabulary, its arguments, and file:line errors.

Nothing here imports Great Expectations: a project is parsed (and a bad declaration
reported) without paying for that import.

A declaration is one item of an ``expectations:`` list, per table or per column::

    expectations:
      - not_null                                   # a bare name: no arguments
      - accepted_values: {values: [a, b], severity: warn}
      - between: {min: 0, max: 1, mostly: 0.99}
      - expression: "net_revenue = gross_revenue - refund_amount"   # scalar shorthand
        severity: warn                             # config keys may also sit beside the type
      - relationships: {to: dim_customers, field: customer_id, error_if: ">10"}

Config keys (``severity``, ``mostly``, ``error_if``, ``warn_if``, ``name``) may be given
inside the arguments, beside the type key, or dbt-style under ``config:``.

The vocabulary (``column`` is implied when declared under a column; NULL passes every
check except not_null):

=================  =============================================  ==========================
type               arguments                                      fails a row when
=================  =============================================  ==========================
not_null           column                                         it is NULL
unique             column                                         its value repeats
accepted_values    column, values                                 its value is not listed
between            column, min and/or max (numbers or dates)      outside [min, max]
relationships      column, to (model/seed, or source.table),      its value is missing from
                   field (default: the same column name)          ``to``'s ``field``
compound_unique    columns                                        the combination repeats
column_a_gte_b     column_a, column_b                             column_a < column_b
expression         expression (a boolean SQL condition)           it is false (NULL passes)
sql                sql (a query returning the failing rows)       the query returns it
row_count_between  min and/or max                                 (whole table)
recency            column, days                                   (whole table) max(column)
                                                                  older than as_of - days
gx                 type (a gx.expectations class), kwargs         as GX decides
=================  =============================================  ==========================

``expression`` and ``sql`` may use ``{this}`` (the checked relation), ``{ref:name}``
(another node's relation) and ``{as_of}`` (the warehouse's as-of date, a DATE literal).
``mostly`` (a fraction) lets that share of rows pass instead of all (for column checks,
GX's rule: of the non-NULL values); ``error_if`` / ``warn_if`` are dbt-style thresholds
on the failing count (``">10"``, ``"!=0"``); neither applies to whole-table checks.
"""

from __future__ import annotations

import difflib
import hashlib
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProjectError
from ..nodes import Column, Node
from ..yamlio import LineDict
from .registry import REGISTRY, ArgumentError, Arguments, ExpectationType, UnknownType, lookup

SEVERITIES = ("error", "warn")
CONFIG_KEYS = ("severity", "mostly", "error_if", "warn_if", "name")

# Every type, by name (the registry: what each takes, its SQL, its GX mapping).
SPECS = REGISTRY

_THRESHOLD_RE = re.compile(r"^\s*(>=|<=|!=|==|=|>|<)\s*(\d+)\s*$")
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}


def threshold_holds(spec: str, count: int) -> bool:
    """Whether a dbt-style threshold such as ``">10"`` or ``"!=0"`` holds for ``count``."""
    match = _THRESHOLD_RE.match(spec)
    if match is None:  # parse_expectations only lets valid ones through
        raise ValueError(f"invalid threshold {spec!r}")
    return _OPERATORS[match.group(1)](count, int(match.group(2)))


@dataclass(frozen=True)
class Expectation:
    """One declared expectation, checked and normalised; where it was declared.

    ``arguments`` holds the type's arguments (``column`` included when the type has
    one); ``column`` is the column it is reported under (None for table-level ones).
    ``name`` is stable across runs and unique within the node, e.g. ``not_null(customer_id)``.
    """

    node: str  # the node's unique id
    column: str | None
    type: str
    arguments: Mapping[str, Any] = field(hash=False)
    severity: str = "error"
    mostly: float | None = None
    error_if: str | None = None
    warn_if: str | None = None
    path: str | None = None
    line: int | None = None
    name: str = ""

    @property
    def kind(self) -> ExpectationType:
        """Its type in the registry: what knows its SQL and its GX mapping."""
        return REGISTRY[self.type]

    @property
    def row_based(self) -> bool:
        """Whether it counts failing rows (everything but row_count_between and recency)."""
        return self.kind.row_based

    @property
    def needs_gx(self) -> bool:
        """Whether only Great Expectations can run it (``gx:``; no SQL of ours)."""
        return not self.kind.plain_sql

    @property
    def slug(self) -> str:
        """``name`` as a lower-case identifier, for the audit table's name."""
        cleaned = re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_") or self.type
        if len(cleaned) > 48:
            digest = hashlib.sha1(self.name.encode()).hexdigest()[:6]
            cleaned = f"{cleaned[:48].rstrip('_')}_{digest}"
        return cleaned

    @property
    def references(self) -> tuple[str, ...]:
        """Names of other nodes the check reads (relationships' parent, ``{ref:x}`` in SQL).

        The build must have built them before this expectation runs.
        """
        return self.kind.references(self.arguments)

    @property
    def where(self) -> str:
        """``path:line`` of the declaration (for messages)."""
        if not self.path:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "name": self.name,
            "column": self.column,
            "type": self.type,
            "arguments": _plain(self.arguments),
            "severity": self.severity,
            "mostly": self.mostly,
            "error_if": self.error_if,
            "warn_if": self.warn_if,
            "path": self.path,
            "line": self.line,
        }


def parse_expectations(node: Node, columns: Sequence[str] | None = None) -> list[Expectation]:
    """Every expectation declared for ``node``: table-level first, then per column.

    ``columns`` (the relation's actual columns, when known) lets a declaration naming a
    column that does not exist fail here; names are matched case-insensitively and
    normalised to the spelling in ``columns``. Raises ProjectError at the declaration's
    file and line for anything malformed.
    """
    path = str(node.yaml_path or node.path)
    known = {c.lower(): c for c in columns} if columns is not None else None
    result: list[Expectation] = []
    fallback = node.line if node.resource_type == "source" else None
    for item in node.expectations:
        result.append(_parse_one(node, None, item, path, fallback, known))
    for column in node.columns:
        for item in column.expectations:
            result.append(_parse_one(node, column, item, path, column.line, known))
    return _unique_names(result)


# ---------------------------------------------------------------------------- parsing


class _Ctx:
    """Where one declaration sits, to raise errors at the right line."""

    def __init__(self, path: str, item: Any, fallback: int | None, label: str) -> None:
        self.path = path
        self.item = item
        self.line = getattr(item, "line", None) or fallback
        self.label = label

    def line_of(self, *mappings_and_key: Any) -> int | None:
        """Line of ``key`` in the innermost mapping that has one, else the declaration's."""
        *mappings, key = mappings_and_key
        for mapping in mappings:
            if isinstance(mapping, LineDict) and key in mapping:
                return mapping.line_of(key)
        return self.line

    def error(self, message: str, line: int | None = None, hint: str | None = None) -> ProjectError:
        return ProjectError(
            f"{self.label}: {message}", path=self.path, line=line or self.line, hint=hint
        )


def _parse_one(
    node: Node,
    column: Column | None,
    item: Any,
    path: str,
    fallback: int | None,
    known: dict[str, str] | None,
) -> Expectation:
    where = f"column '{column.name}' of " if column else ""
    ctx = _Ctx(path, item, fallback, f"expectation on {where}{node.display_name}")
    outer: Mapping[str, Any] = {}
    if isinstance(item, str):
        type_name, raw = item, None
    elif isinstance(item, Mapping) and item:
        type_keys = [k for k in item if k not in (*CONFIG_KEYS, "config")]
        if len(type_keys) != 1:
            raise ctx.error(
                "each expectation is one type, optionally with config keys beside it "
                f"(found {', '.join(map(str, type_keys)) or 'none'})",
                hint="write e.g. `- not_null` or `- between: {min: 0, max: 1}`",
            )
        type_name = str(type_keys[0])
        raw = item[type_keys[0]]
        outer = item  # its config keys sit beside the type key (a LineDict: keeps lines)
    else:
        raise ctx.error(
            f"cannot read {item!r} as an expectation",
            hint="write a name (`- not_null`) or a mapping (`- between: {min: 0}`)",
        )
    try:
        spec = lookup(type_name)
    except UnknownType as unknown:
        raise ctx.error(unknown.message, hint=unknown.hint) from None
    ctx.label = f"{type_name} on {where}{node.display_name}"

    # Split arguments from config, wherever the config was written.
    args_map: Mapping[str, Any]
    if raw is None:
        args_map = {}
    elif isinstance(raw, Mapping):
        args_map = raw
    elif spec.scalar is not None:
        args_map = {spec.scalar: raw}
    else:
        raise ctx.error(
            f"arguments must be a mapping, not {raw!r}",
            line=ctx.line_of(item, type_name),
            hint=f"e.g. `{type_name}: {{{', '.join(spec.required or spec.optional)}: ...}}`",
        )
    config: dict[str, Any] = {}
    config_lines: dict[str, int | None] = {}
    for source in (outer, args_map):
        nested = source.get("config")
        if nested is not None:
            if not isinstance(nested, Mapping):
                raise ctx.error("'config' must be a mapping", line=ctx.line_of(source, "config"))
            for key, value in nested.items():
                if key not in CONFIG_KEYS:
                    raise ctx.error(
                        f"unknown config key '{key}'",
                        line=ctx.line_of(nested, key),
                        hint=f"config keys: {', '.join(CONFIG_KEYS)}",
                    )
                config[key], config_lines[key] = value, ctx.line_of(nested, key)
        for key in CONFIG_KEYS:
            if key in source:
                config[key], config_lines[key] = source[key], ctx.line_of(source, key)
    args = {k: v for k, v in args_map.items() if k not in (*CONFIG_KEYS, "config")}

    allowed = set(spec.required) | set(spec.optional)
    for key in args:
        if key not in allowed or (column is not None and key == spec.column_slot):
            if column is not None and key == spec.column_slot:
                message = f"'{key}' is implied by the column it is declared on"
                hint = "remove it, or declare the expectation at table level"
            else:
                message = f"unknown argument '{key}'"
                close = difflib.get_close_matches(str(key), sorted(allowed | set(CONFIG_KEYS)), 1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"'{type_name}' takes: {', '.join(sorted(allowed)) or 'no arguments'}"
                )
            raise ctx.error(message, line=ctx.line_of(args_map, key), hint=hint)
    if column is not None:
        spec.on_column(args, column.name)
    for key in spec.required:
        if key not in args:
            raise ctx.error(
                f"missing argument '{key}'",
                line=ctx.line_of(item, type_name),
                hint=spec.usage(column is not None),
            )
    if spec.one_of and not any(args.get(k) is not None for k in spec.one_of):
        raise ctx.error(
            f"give at least one of {' or '.join(spec.one_of)}",
            line=ctx.line_of(item, type_name),
            hint=spec.usage(column is not None),
        )
    checked = Arguments(_plain(args), known)
    try:
        spec.check(checked)
    except ArgumentError as bad:
        raise ctx.error(bad.message, line=ctx.line_of(args_map, bad.key), hint=bad.hint) from None
    args = checked.values

    severity = config.get("severity", "error")
    if severity not in SEVERITIES:
        raise ctx.error(
            f"severity must be error or warn, not {severity!r}", line=config_lines.get("severity")
        )
    mostly = config.get("mostly")
    if mostly is not None:
        if isinstance(mostly, bool) or not isinstance(mostly, int | float) or not 0 <= mostly <= 1:
            raise ctx.error(
                f"mostly must be a fraction between 0 and 1, not {mostly!r}",
                line=config_lines.get("mostly"),
            )
        mostly = float(mostly)
    thresholds: dict[str, str | None] = {}
    for key in ("error_if", "warn_if"):
        value = config.get(key)
        if value is not None and (not isinstance(value, str) or not _THRESHOLD_RE.match(value)):
            raise ctx.error(
                f'{key} must be a comparison with a count such as ">10" or "!=0", not {value!r}',
                line=config_lines.get(key),
            )
        thresholds[key] = value
    for key in ("mostly", "error_if", "warn_if"):
        if config.get(key) is not None and not spec.row_based:
            raise ctx.error(
                f"'{key}' does not apply to '{type_name}' (it has no failing rows to count)",
                line=config_lines.get(key),
            )
    if mostly is not None and (thresholds["error_if"] or thresholds["warn_if"]):
        raise ctx.error(
            "use either mostly or error_if/warn_if, not both",
            line=config_lines.get("mostly"),
        )
    if mostly is not None:
        args = spec.with_mostly(args, mostly)
    name = config.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ctx.error("name must be a non-empty string", line=config_lines.get("name"))
    return Expectation(
        node=node.unique_id,
        column=column.name if column else spec.reported_column(args),
        type=type_name,
        arguments=args,
        severity=severity,
        mostly=mostly,
        error_if=thresholds["error_if"],
        warn_if=thresholds["warn_if"],
        path=path,
        line=ctx.line,
        name=name.strip() if name else spec.default_name(args),
    )


def _unique_names(expectations: list[Expectation]) -> list[Expectation]:
    """Suffix ``#2``, ``#3`` to names repeated within a node, in declaration order."""
    from dataclasses import replace

    seen: dict[str, int] = {}
    out = []
    for exp in expectations:
        count = seen.get(exp.name, 0) + 1
        seen[exp.name] = count
        out.append(exp if count == 1 else replace(exp, name=f"{exp.name}#{count}"))
    return out


def _plain(value: Any) -> Any:
    """A deep copy as plain dicts and lists (no LineDict), safe to keep and serialise."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
