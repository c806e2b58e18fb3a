"""What the runner needs to know about a model's SQL; the only module that imports sqlglot.

``analyze`` parses a compiled model once (DuckDB dialect by default) and returns
``SqlFacts``: the tables it reads and, when they can be known, its output columns.

* Validation: the model must be exactly one query (``SELECT``, ``WITH ... SELECT``, a set
  operation, ``VALUES`` or a DuckDB ``PIVOT`` statement). Syntax errors become a
  ``ProjectError`` pointing at the line of the *source* file: compiled lines are mapped back
  with ``map_line`` (a line diff of the compiled SQL against the Jinja source).
* Tables: every table reference that is not a CTE visible at that point of the query and
  not a table function (``read_csv(...)``, ``range(...)``) or a DuckDB file scan
  (``FROM 'data.csv'``), as a lower-cased key (``table_key``).
* Columns: the names DuckDB gives the relation built from the model. Unaliased column
  references keep the case *as written* (DuckDB would report the catalog's spelling, and
  compares case-insensitively anyway); aliases keep the case as written, as DuckDB does;
  columns expanded from a star take the spelling of the upstream schema. Duplicate names are
  renamed like DuckDB does when it stores a view or table (``a, a`` -> ``a, a_1``). When a
  name cannot be known for certain (an unaliased expression such as ``1 + 1``, a star over a
  relation of unknown columns, ``COLUMNS(...)``, ``* LIKE``, ``PIVOT``, ``UNNEST``, table
  functions), ``columns`` is ``None``: never a guess, never an exception.

Stars are expanded by a small resolver here rather than ``sqlglot.optimizer.qualify``: the
optimizer costs a deep copy plus a scope build per model, lower-cases every identifier
(DuckDB's normalisation), invents ``_col_0`` names for unaliased expressions and resolves
bare table names by suffix against the schema; all of which would have to be undone.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from ..errors import ProjectError

__all__ = ["SqlFacts", "analyze", "map_line", "parse_query", "table_key"]

# Statements DuckDB accepts as the body of CREATE VIEW / CREATE TABLE AS.
_QUERY_TYPES = (exp.Query, exp.Values, exp.Pivot)


@dataclass(frozen=True)
class SqlFacts:
    """What a compiled model reads and produces.

    ``tables``: normalised keys (see ``table_key``) of the relations the query reads, sorted
    and unique; CTEs and table functions are left out.
    ``columns``: the output column names in order, or ``None`` when they cannot be resolved.
    """

    tables: tuple[str, ...]
    columns: tuple[str, ...] | None


def table_key(*parts: str | None) -> str:
    """Normalise a table reference: ``("Staging", "Orders")`` -> ``"staging.orders"``.

    ``None`` and empty parts are skipped, so ``table_key(None, "s", "t")`` is ``"s.t"``.
    DuckDB identifiers are case-insensitive, quoted or not, hence the lower-casing.
    """
    return ".".join(p.lower() for p in parts if p)


def analyze(
    sql: str,
    *,
    path: PurePosixPath | str,
    source_text: str,
    schema: Mapping[str, Sequence[str]] | None = None,
    dialect: str = "duckdb",
    tree: exp.Expr | None = None,
) -> SqlFacts:
    """Parse the compiled SQL of one model and return its tables and output columns.

    ``path`` and ``source_text`` are the model's source file and raw Jinja text; they are
    only used to report errors at the right place. ``schema`` maps table keys (as in
    ``SqlFacts.tables``) to the known columns of upstream relations; it is only consulted
    to expand stars. Raises ``ProjectError`` when the SQL does not parse or is not exactly
    one query. ``tree``: what ``parse_query`` returned for this SQL, if it was parsed
    already (it is only read, so the transpiler may render the same tree).
    """
    if tree is None:
        tree = parse_query(sql, path=path, source_text=source_text, dialect=dialect)
    root = tree
    tables = _tables(root, sql)
    try:
        columns = _Resolver(schema, sql).output(root)
    except RecursionError:  # absurdly deep nesting: not worth failing the compile over
        columns = None
    return SqlFacts(tables=tables, columns=None if columns is None else tuple(columns))


def map_line(compiled_sql: str, source_text: str, compiled_line: int) -> tuple[int, bool]:
    """Map a 1-based line of compiled SQL to a line of the Jinja source.

    Returns ``(source_line, exact)``. The two texts are diffed line by line (surrounding
    whitespace ignored, ``difflib.SequenceMatcher`` without autojunk). A line inside an
    unchanged block maps exactly. So does a line inside a changed block that Jinja rewrote
    line for line: same number of lines on both sides and no ``{% ... %}`` / ``{# ... #}``
    tag in the source block (a ``ref()`` or a variable substituted in place). Otherwise
    Jinja changed the layout (a loop, an ``if``, a macro expanding to several lines): the
    line maps to the most similar source line of that block (ties: the nearest by
    position), or for lines only the compiled SQL has, to the source line just before
    them; ``exact`` is then False.
    """
    compiled = [line.strip() for line in compiled_sql.splitlines()]
    source = [line.strip() for line in source_text.splitlines()]
    if not source or not compiled:
        return 1, False
    beyond = compiled_line > len(compiled)  # e.g. "unexpected end" past the last line
    i = min(max(compiled_line, 1), len(compiled)) - 1
    matcher = difflib.SequenceMatcher(None, compiled, source, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if not i1 <= i < i2:
            continue
        offset = i - i1
        if tag == "equal":
            return j1 + offset + 1, not beyond
        if tag == "delete" or j2 == j1:  # lines only the compiled SQL has
            return max(j1, 1), False
        block = source[j1:j2]
        if i2 - i1 == j2 - j1 and not any("{%" in s or "{#" in s for s in block):
            return j1 + offset + 1, not beyond
        scores = [
            (
                difflib.SequenceMatcher(None, compiled[i], source[j], autojunk=False).ratio(),
                -abs(j - j1 - offset),
                j,
            )
            for j in range(j1, j2)
        ]
        return max(scores)[2] + 1, False
    return len(source), False  # not reached: the opcodes cover every compiled line


# --------------------------------------------------------------------------- parsing


def parse_query(
    sql: str, *, path: PurePosixPath | str, source_text: str, dialect: str = "duckdb"
) -> exp.Expr:
    """The one query of a compiled model as a syntax tree; ``ProjectError`` at the source
    line when it does not parse or is not exactly one query."""
    return _parse_single_query(sql, path=path, source_text=source_text, dialect=dialect)


@functools.lru_cache(maxsize=8)
def _dialect(name: str) -> Dialect:
    return Dialect.get_or_raise(name)


def _parse_single_query(
    sql: str, *, path: PurePosixPath | str, source_text: str, dialect: str
) -> exp.Expr:
    try:
        d = _dialect(dialect)
    except ValueError as e:
        raise ProjectError(
            f"unknown SQL dialect {dialect!r}: {e}",
            path=path,
            hint="use a dialect name sqlglot knows, e.g. 'duckdb'",
        ) from None

    tokenizer = d.tokenizer()
    try:
        tokens = tokenizer.tokenize(sql)
    except TokenError:
        offset = _token_error_offset(sql, tokenizer.tokens)
        line = sql.count("\n", 0, offset) + 1
        col = offset - (sql.rfind("\n", 0, offset) + 1) + 1
        what = _unterminated(sql, offset)
        near = _snippet(sql[offset : offset + 20])
        raise _syntax_error(
            f"SQL syntax error: {what} near '{near}'", sql, source_text, path, line, col
        ) from None

    try:
        statements = d.parser().parse(tokens, sql)
    except RecursionError:
        depth, line = _deepest_parenthesis(sql)
        raise ProjectError(
            f"SQL nested too deeply to check: parentheses {depth} deep at compiled line {line}",
            path=path,
            line=map_line(sql, source_text, line)[0],
            hint="flatten the expression (a CTE per level, or fewer nested parentheses)",
        ) from None
    except ParseError as e:
        info = e.errors[0] if e.errors else {}
        description = info.get("description") or str(e).splitlines()[0]
        # "missing for <class 'sqlglot.expressions.core.EQ'>" -> "missing for EQ"
        description = re.sub(r"<class '(?:[\w.]*\.)?(\w+)'>", r"\1", description)
        line = info.get("line") or 1
        col = info.get("col") or 1
        near = _near(info.get("start_context") or "", info.get("highlight") or "")
        message = f"SQL syntax error: {description}"
        if near:
            message += f" near '{near}'"
        raise _syntax_error(message, sql, source_text, path, line, col) from None

    found = [s for s in statements if s is not None and not isinstance(s, exp.Semicolon)]
    if not found:
        raise ProjectError(
            "model is empty: the compiled SQL contains no statement",
            path=path,
            line=1,
            hint="a model is one SELECT query; write it, or disable the model",
        )
    if len(found) > 1:
        starts = _statement_lines(tokens)
        line = starts[1] if len(starts) > 1 else 1
        raise ProjectError(
            f"model has {len(found)} SQL statements; a model must be exactly one query",
            path=path,
            line=map_line(sql, source_text, line)[0],
            hint="remove the extra statements (and the ';' between them); "
            "put set-up SQL in a pre_hook instead",
        )
    statement = found[0]
    if not isinstance(statement, _QUERY_TYPES):
        starts = _statement_lines(tokens)
        line = starts[0] if starts else 1
        raise ProjectError(
            "model must be a single query (SELECT / WITH ... SELECT), "
            f"found {_describe(statement)} statement",
            path=path,
            line=map_line(sql, source_text, line)[0],
            hint="write only the SELECT: the runner wraps it in CREATE VIEW / CREATE TABLE "
            "itself according to the model's materialization",
        )
    return statement


def _deepest_parenthesis(sql: str) -> tuple[int, int]:
    """How deep parentheses nest (quotes not considered) and the line of the deepest."""
    depth = deepest = 0
    line = deepest_line = 1
    for char in sql:
        if char == "(":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
        elif char == ")":
            depth -= 1
        elif char == "\n":
            line += 1
    return deepest, deepest_line


def _syntax_error(
    message: str,
    sql: str,
    source_text: str,
    path: PurePosixPath | str,
    line: int,
    col: int,
) -> ProjectError:
    source_line, exact = map_line(sql, source_text, line)
    if exact:
        hint = f"fix the SQL at line {source_line} (compiled SQL line {line} col {col})"
    else:
        hint = (
            "line is approximate: Jinja changed the layout of this model; "
            f"the compiled SQL has the error at line {line} col {col}"
        )
    return ProjectError(message, path=path, line=source_line, hint=hint)


def _near(start_context: str, highlight: str) -> str:
    """The last word before the error and the offending token, e.g. ``wher y``."""
    before = start_context.rsplit("\n", 1)[-1]
    match = re.search(r"\S+\s*$", before)
    return _snippet((match.group(0) if match else "") + highlight)


def _snippet(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _token_error_offset(sql: str, tokens: Sequence[Token]) -> int:
    """Where the tokenizer gave up: the first non-blank character after the last good token."""
    offset = tokens[-1].end + 1 if tokens else 0
    while offset < len(sql) and sql[offset].isspace():
        offset += 1
    return min(offset, max(len(sql) - 1, 0))


def _unterminated(sql: str, offset: int) -> str:
    if sql.startswith("/*", offset):
        return "unterminated comment"
    if sql.startswith("$", offset):
        return "unterminated dollar-quoted string"
    char = sql[offset : offset + 1]
    if char == "'" or (char.isalpha() and sql[offset + 1 : offset + 2] == "'"):
        return "unterminated string literal"
    if char == '"':
        return "unterminated quoted identifier"
    return "cannot tokenize the SQL"


def _statement_lines(tokens: Sequence[Token]) -> list[int]:
    """Compiled line of the first token of every non-empty statement."""
    lines: list[int] = []
    fresh = True
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            fresh = True
        elif fresh:
            lines.append(token.line)
            fresh = False
    return lines


def _describe(statement: exp.Expr) -> str:
    """``a CREATE TABLE``, ``an INSERT``, ``a PRAGMA``: what the model holds instead of a query."""
    if isinstance(statement, exp.Command):
        name = str(statement.this).upper()
    else:
        name = statement.key.upper()
        kind = statement.args.get("kind")
        if isinstance(kind, str) and kind:
            name = f"{name} {kind.upper()}"
    return ("an " if name[:1] in "AEIOU" else "a ") + name


# ---------------------------------------------------------------------------- tables


def _tables(root: exp.Expr, sql: str) -> tuple[str, ...]:
    keys: set[str] = set()
    for table in root.find_all(exp.Table):
        ident = table.this
        if not isinstance(ident, exp.Identifier):
            continue  # table function: read_csv(...), range(...), glob(...)
        if _is_file_scan(ident, sql):
            continue
        db = table.args.get("db")
        catalog = table.args.get("catalog")
        name = ident.name
        if db is None and catalog is None and _cte_visible(table, name.lower()):
            continue
        keys.add(
            table_key(
                catalog.name if catalog is not None else None,
                db.name if db is not None else None,
                name,
            )
        )
    return tuple(sorted(keys))


def _is_file_scan(ident: exp.Identifier, sql: str) -> bool:
    """DuckDB's ``FROM 'data.csv'``: sqlglot turns the string into a quoted identifier."""
    if not ident.quoted:
        return False
    start = ident.meta.get("start")
    return isinstance(start, int) and sql[start : start + 1] == "'"


def _cte_names(with_: exp.With, upto: int | None = None) -> Iterable[str]:
    ctes = with_.expressions if upto is None else with_.expressions[:upto]
    return (cte.alias.lower() for cte in ctes)


def _cte_visible(node: exp.Expr, name: str) -> bool:
    """Is ``name`` a CTE visible where ``node`` stands? Walks up through the enclosing queries."""
    child = node
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            # ``child`` is one of its CTEs: it sees the CTEs defined before it (and itself
            # when RECURSIVE), not the ones after.
            index = child.index if isinstance(child, exp.CTE) and child.index is not None else 0
            upto = index + 1 if parent.args.get("recursive") else index
            if name in _cte_names(parent, upto):
                return True
            child = parent.parent  # the query owning this WITH: its CTEs are done
            if child is None:
                return False
            parent = child.parent
            continue
        with_ = parent.args.get("with_")
        if isinstance(with_, exp.With) and name in _cte_names(with_):
            return True
        child = parent
        parent = parent.parent
    return False


# --------------------------------------------------------------------------- columns

_Env = dict[str, "tuple[exp.CTE, _Env]"]


class _Unknown(Exception):
    """The output columns cannot be known for certain."""


class _Resolver:
    """Output column names of a query, resolving stars through CTEs, subqueries and ``schema``.

    Only stars need relation columns; a query without stars never looks at its sources.
    """

    def __init__(self, schema: Mapping[str, Sequence[str]] | None, sql: str) -> None:
        self._schema = schema or {}
        self._sql = sql
        self._lower_schema: dict[str, Sequence[str]] | None = None
        self._ctes: dict[int, list[str]] = {}
        self._busy: set[int] = set()

    def output(self, root: exp.Expr) -> list[str] | None:
        try:
            return self._query(root, {})
        except _Unknown:
            return None

    # queries ---------------------------------------------------------------------

    def _query(self, node: exp.Expr, env: _Env) -> list[str]:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            env = self._extend(env, with_)
        if isinstance(node, exp.Select):
            names = self._select(node, env)
        elif isinstance(node, exp.Subquery):
            names = self._query(node.this, env)
        elif isinstance(node, exp.SetOperation):
            names = self._query(node.left, env)
            if node.args.get("by_name"):
                seen = {n.lower() for n in names}
                for name in self._query(node.right, env):
                    if name.lower() not in seen:
                        seen.add(name.lower())
                        names.append(name)
        elif isinstance(node, exp.Values):
            names = self._values(node)
        else:
            raise _Unknown
        return _dedupe(names)

    def _extend(self, env: _Env, with_: exp.With) -> _Env:
        env = dict(env)
        recursive = bool(with_.args.get("recursive"))
        for cte in with_.expressions:
            name = cte.alias.lower()
            if recursive:
                env[name] = (cte, env)  # sees itself: the same dict, updated in place
            else:
                env[name] = (cte, dict(env))
        return env

    def _cte(self, cte: exp.CTE, env: _Env) -> list[str]:
        key = id(cte)
        if key in self._ctes:
            return list(self._ctes[key])
        if key in self._busy:  # recursive CTE whose leftmost part reads itself
            raise _Unknown
        self._busy.add(key)
        try:
            names = _apply_alias_columns(self._query(cte.this, env), cte.args.get("alias"))
        finally:
            self._busy.discard(key)
        self._ctes[key] = names
        return list(names)

    def _values(self, node: exp.Values) -> list[str]:
        rows = node.expressions
        if not rows or not isinstance(rows[0], exp.Tuple):
            raise _Unknown
        return [f"col{i}" for i in range(len(rows[0].expressions))]

    # SELECT ----------------------------------------------------------------------

    def _select(self, select: exp.Select, env: _Env) -> list[str]:
        names: list[str] = []
        sources: list[tuple[str, exp.Expr, exp.Join | None]] | None = None
        for projection in select.expressions:
            if isinstance(projection, exp.Alias):
                if isinstance(projection.this, exp.Columns):  # COLUMNS(...) AS x: many columns
                    raise _Unknown
                names.append(projection.alias)
            elif isinstance(projection, exp.Column):
                if isinstance(projection.this, exp.Star):
                    sources = sources if sources is not None else self._sources(select)
                    names.extend(self._table_star(projection, sources, env))
                elif isinstance(projection.this, exp.Identifier):
                    names.append(projection.this.name)
                else:
                    raise _Unknown
            elif isinstance(projection, exp.Star):
                sources = sources if sources is not None else self._sources(select)
                names.extend(self._star(projection, sources, env))
            else:
                # 1 + 1, a::int, count(*), 'x', COLUMNS(...), * LIKE '...': DuckDB derives a
                # name from the expression text (or expands it); not worth guessing.
                raise _Unknown
        return names

    def _sources(self, select: exp.Select) -> list[tuple[str, exp.Expr, exp.Join | None]]:
        if select.args.get("laterals") or select.args.get("pivots"):
            raise _Unknown
        from_ = select.args.get("from_")
        if from_ is None:
            return []
        sources: list[tuple[str, exp.Expr, exp.Join | None]] = [
            (from_.this.alias_or_name.lower(), from_.this, None)
        ]
        for join in select.args.get("joins") or ():
            sources.append((join.this.alias_or_name.lower(), join.this, join))
        return sources

    def _star(
        self,
        star: exp.Star,
        sources: list[tuple[str, exp.Expr, exp.Join | None]],
        env: _Env,
    ) -> list[str]:
        if not sources:
            raise _Unknown  # SELECT * without FROM is an error in DuckDB
        expanded: list[tuple[str, str]] = []
        for alias, source, join in sources:
            names = self._source(source, env)
            if join is not None:
                kind = (join.args.get("kind") or "").upper()
                method = (join.args.get("method") or "").upper()
                if kind in ("SEMI", "ANTI"):
                    continue  # only the left side is output
                using = join.args.get("using")
                if using:
                    drop = {u.name.lower() for u in using}
                    names = [n for n in names if n.lower() not in drop]
                elif method == "NATURAL":
                    seen = {n.lower() for _, n in expanded}
                    names = [n for n in names if n.lower() not in seen]
            expanded.extend((alias, n) for n in names)
        return _modify(star, expanded)

    def _table_star(
        self,
        column: exp.Column,
        sources: list[tuple[str, exp.Expr, exp.Join | None]],
        env: _Env,
    ) -> list[str]:
        star = column.this
        assert isinstance(star, exp.Star)
        wanted = column.table.lower()
        matches = [(alias, source) for alias, source, _ in sources if alias == wanted]
        if len(matches) != 1:
            raise _Unknown  # struct.* expansion, or an ambiguous name
        alias, source = matches[0]
        return _modify(star, [(alias, n) for n in self._source(source, env)])

    def _source(self, source: exp.Expr, env: _Env) -> list[str]:
        if source.args.get("pivots") or source.args.get("joins"):
            raise _Unknown
        alias = source.args.get("alias")
        if isinstance(source, exp.Table):
            ident = source.this
            if not isinstance(ident, exp.Identifier) or _is_file_scan(ident, self._sql):
                raise _Unknown  # table function or file scan
            db = source.args.get("db")
            catalog = source.args.get("catalog")
            if db is None and catalog is None and ident.name.lower() in env:
                cte, cte_env = env[ident.name.lower()]
                names = self._cte(cte, cte_env)
            else:
                names = self._known(
                    table_key(
                        catalog.name if catalog is not None else None,
                        db.name if db is not None else None,
                        ident.name,
                    )
                )
        elif isinstance(source, exp.Subquery):
            names = self._query(source.this, env)
        elif isinstance(source, exp.Values):
            names = self._values(source)
        else:
            raise _Unknown  # UNNEST, LATERAL, ...
        return _apply_alias_columns(names, alias)

    def _known(self, key: str) -> list[str]:
        columns = self._schema.get(key)
        if columns is None:
            if self._lower_schema is None:
                self._lower_schema = {k.lower(): v for k, v in self._schema.items()}
            columns = self._lower_schema.get(key)
        if columns is None:
            raise _Unknown
        return list(columns)


def _apply_alias_columns(names: list[str], alias: exp.Expr | None) -> list[str]:
    """``AS t(x, y)`` renames the first columns of a relation."""
    if not isinstance(alias, exp.TableAlias):
        return names
    renamed = [c.name for c in alias.columns]
    if not renamed:
        return names
    if len(renamed) > len(names):
        raise _Unknown  # DuckDB rejects this
    return renamed + names[len(renamed) :]


def _modify(star: exp.Star, expanded: list[tuple[str, str]]) -> list[str]:
    """Apply ``EXCLUDE`` and ``RENAME`` to an expanded star (``REPLACE`` keeps the names)."""
    if star.args.get("ilike"):
        raise _Unknown
    excluded = star.args.get("except_") or ()
    if excluded:
        drop = [_qualified(c) for c in excluded]
        expanded = [
            (src, n)
            for src, n in expanded
            if not any(n.lower() == name and table in ("", src) for table, name in drop)
        ]
    renames = star.args.get("rename") or ()
    if renames:
        mapping = [(_qualified(r.this), r.alias) for r in renames]
        out = []
        for src, n in expanded:
            for (table, name), new in mapping:
                if n.lower() == name and table in ("", src):
                    n = new
                    break
            out.append((src, n))
        expanded = out
    return [n for _, n in expanded]


def _qualified(node: exp.Expr) -> tuple[str, str]:
    if isinstance(node, exp.Column):
        return node.table.lower(), node.name.lower()
    return "", node.name.lower()


def _dedupe(names: list[str]) -> list[str]:
    """Rename duplicates the way DuckDB does when it stores a relation: ``a, A`` -> ``a, A_1``."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        candidate = name
        if candidate.lower() in seen:
            n = 1
            while f"{name}_{n}".lower() in seen:
                n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out
