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

SEVERITIES = ("error", "warn")
CONFIG_KEYS = ("severity", "mostly", "error_if", "warn_if", "name")


@dataclass(frozen=True)
class _Spec:
    """What one vocabulary entry takes."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    column_slot: str | None = None  # the argument a column-level declaration fills in
    scalar: str | None = None  # the argument a scalar shorthand (`type: value`) fills in
    row_based: bool = True  # has a failing-row count (so mostly/error_if/warn_if apply)
    one_of: tuple[str, ...] = ()  # at least one of these must be given


SPECS: dict[str, _Spec] = {
    "not_null": _Spec(required=("column",), column_slot="column"),
    "unique": _Spec(required=("column",), column_slot="column"),
    "accepted_values": _Spec(required=("column", "values"), column_slot="column"),
    "between": _Spec(
        required=("column",), optional=("min", "max"), column_slot="column", one_of=("min", "max")
    ),
    "relationships": _Spec(required=("column", "to"), optional=("field",), column_slot="column"),
    "row_count_between": _Spec(optional=("min", "max"), row_based=False, one_of=("min", "max")),
    "compound_unique": _Spec(required=("columns",)),
    "column_a_gte_b": _Spec(required=("column_a", "column_b"), column_slot="column_a"),
    "expression": _Spec(required=("expression",), scalar="expression"),
    "sql": _Spec(required=("sql",), scalar="sql"),
    "recency": _Spec(required=("column", "days"), column_slot="column", row_based=False),
    "gx": _Spec(required=("type",), optional=("kwargs",)),
}

# Placeholders understood in `expression` and `sql` text.
PLACEHOLDER_RE = re.compile(r"\{(this|as_of|ref:([A-Za-z_][\w.]*))\}")

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
    def row_based(self) -> bool:
        """Whether it counts failing rows (everything but row_count_between and recency)."""
        return SPECS[self.type].row_based

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
        if self.type == "relationships":
            return (str(self.arguments["to"]),)
        if self.type in ("expression", "sql"):
            text = str(self.arguments[self.type])
            return tuple(m.group(2) for m in PLACEHOLDER_RE.finditer(text) if m.group(2))
        return ()

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
    spec = SPECS.get(type_name)
    if spec is None:
        close = difflib.get_close_matches(type_name, list(SPECS), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(SPECS)}"
        raise ctx.error(f"unknown expectation type '{type_name}'", hint=hint)
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
    if column is not None and spec.column_slot:
        args[spec.column_slot] = column.name
    if column is not None and type_name == "gx" and isinstance(args.get("kwargs", {}), Mapping):
        # A gx: declared on a column checks that column unless its kwargs say otherwise.
        kwargs = dict(args.get("kwargs", {}))
        if not {"column", "column_list", "column_A", "column_B"} & set(kwargs):
            kwargs["column"] = column.name
        args["kwargs"] = kwargs
    for key in spec.required:
        if key not in args:
            raise ctx.error(
                f"missing argument '{key}'",
                line=ctx.line_of(item, type_name),
                hint=_usage(type_name, spec, column is not None),
            )
    if spec.one_of and not any(args.get(k) is not None for k in spec.one_of):
        raise ctx.error(
            f"give at least one of {' or '.join(spec.one_of)}",
            line=ctx.line_of(item, type_name),
            hint=_usage(type_name, spec, column is not None),
        )
    args = _check_arguments(type_name, args, args_map, ctx, known)

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
    if type_name == "gx" and mostly is not None:
        args["kwargs"] = {**args.get("kwargs", {}), "mostly": mostly}
    name = config.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ctx.error("name must be a non-empty string", line=config_lines.get("name"))
    return Expectation(
        node=node.unique_id,
        column=column.name if column else _reported_column(type_name, args),
        type=type_name,
        arguments=args,
        severity=severity,
        mostly=mostly,
        error_if=thresholds["error_if"],
        warn_if=thresholds["warn_if"],
        path=path,
        line=ctx.line,
        name=name.strip() if name else _default_name(type_name, args),
    )


def _usage(type_name: str, spec: _Spec, at_column: bool) -> str:
    shown = [
        k for k in (*spec.required, *spec.optional) if not (at_column and k == spec.column_slot)
    ]
    if not shown:
        return f"write `- {type_name}`"
    return f"write `- {type_name}: {{{', '.join(f'{k}: ...' for k in shown)}}}`"


def _check_arguments(
    type_name: str,
    args: dict[str, Any],
    args_map: Mapping[str, Any],
    ctx: _Ctx,
    known: dict[str, str] | None,
) -> dict[str, Any]:
    """Type-check each argument; resolve column names against ``known``. Returns plain data."""

    def fail(key: str, message: str, hint: str | None = None) -> ProjectError:
        return ctx.error(message, line=ctx.line_of(args_map, key), hint=hint)

    def col(key: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise fail(key, f"'{key}' must be a column name, not {value!r}")
        if known is None:
            return value
        if value.lower() in known:
            return known[value.lower()]
        close = difflib.get_close_matches(value.lower(), list(known), n=1)
        hint = f"did you mean '{known[close[0]]}'?" if close else None
        raise fail(key, f"column '{value}' does not exist", hint=hint or "check the column name")

    out = _plain(args)
    for key in ("column", "column_a", "column_b"):
        if key in out:
            out[key] = col(key, out[key])
    if type_name == "accepted_values":
        values = out["values"]
        if not isinstance(values, list) or not values:
            raise fail("values", "'values' must be a non-empty list")
        if any(isinstance(v, list | dict) for v in values):
            raise fail("values", "'values' must be a list of plain values")
    elif type_name in ("between", "row_count_between"):
        for key in ("min", "max"):
            value = out.get(key)
            if value is None:
                continue
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if type_name == "row_count_between" and (not isinstance(value, int) or value < 0):
                raise fail(key, f"'{key}' must be a whole number of rows, not {value!r}")
            if not numeric and not _is_date_like(value):
                raise fail(key, f"'{key}' must be a number or a date, not {value!r}")
    elif type_name == "relationships":
        if not isinstance(out["to"], str) or not out["to"]:
            raise fail("to", "'to' must name a model, seed or source ('source.table')")
        field_name = out.get("field", out["column"])
        if not isinstance(field_name, str) or not field_name:
            raise fail("field", "'field' must be a column name of the parent")
        out["field"] = field_name
    elif type_name == "compound_unique":
        columns = out["columns"]
        if not isinstance(columns, list) or not columns:
            raise fail("columns", "'columns' must be a non-empty list of column names")
        out["columns"] = [col("columns", c) for c in columns]
    elif type_name in ("expression", "sql"):
        text = out[type_name]
        if not isinstance(text, str) or not text.strip():
            raise fail(type_name, f"'{type_name}' must be non-empty SQL text")
        out[type_name] = text.strip().rstrip(";").strip()
    elif type_name == "recency":
        days = out["days"]
        if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
            raise fail("days", f"'days' must be a non-negative number, not {days!r}")
    elif type_name == "gx":
        gx_type = out["type"]
        if not isinstance(gx_type, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", gx_type):
            raise fail(
                "type",
                f"'type' must name a GX expectation class, not {gx_type!r}",
                hint="e.g. ExpectColumnValuesToMatchRegex (see gx.expectations)",
            )
        kwargs = out.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise fail("kwargs", "'kwargs' must be a mapping of the expectation's arguments")
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                kwargs[key] = col("kwargs", kwargs[key])
        for key in ("column_list",):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = [col("kwargs", c) for c in kwargs[key]]
        out["kwargs"] = kwargs
    return out


def _is_date_like(value: Any) -> bool:
    import datetime

    if isinstance(value, datetime.date):
        return True
    return isinstance(value, str) and bool(re.fullmatch(r"\d{4}-\d\d-\d\d([ T][\d:.]+)?", value))


def _reported_column(type_name: str, args: Mapping[str, Any]) -> str | None:
    if type_name == "column_a_gte_b":
        return str(args["column_a"])
    if "column" in args:
        return str(args["column"])
    if type_name == "gx":
        return args.get("kwargs", {}).get("column")
    return None


def _default_name(type_name: str, args: Mapping[str, Any]) -> str:
    if type_name in ("not_null", "unique", "accepted_values", "between", "relationships"):
        return f"{type_name}({args['column']})"
    if type_name == "recency":
        return f"recency({args['column']})"
    if type_name == "compound_unique":
        return f"compound_unique({', '.join(args['columns'])})"
    if type_name == "column_a_gte_b":
        return f"column_a_gte_b({args['column_a']}, {args['column_b']})"
    if type_name in ("expression", "sql"):
        text = " ".join(str(args[type_name]).split())
        if len(text) > 60:
            digest = hashlib.sha1(text.encode()).hexdigest()[:6]
            text = f"{text[:50].rstrip()}… {digest}"
        return f"{type_name}({text})"
    if type_name == "gx":
        kwargs = args.get("kwargs", {})
        target = kwargs.get("column") or ", ".join(kwargs.get("column_list", []))
        return f"gx.{args['type']}({target})" if target else f"gx.{args['type']}"
    return type_name


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
