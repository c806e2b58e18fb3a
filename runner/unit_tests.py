"""dbt unit tests: a model's SQL run on fixed input rows, compared with expected rows.

::

    unit_tests:
      - name: cents_become_dollars
        model: stg_payments
        given:
          - input: ref('raw_payments')
            rows: [{id: 1, order_id: 1, payment_method: coupon, amount: 250}]
        expect:
          rows: [{payment_id: 1, amount: 2.50}]

Rows are given as a list of mappings (``format: dict``, the default), CSV text
(``format: csv``) or a query (``format: sql``). Each input replaces what the model reads
with a CTE of those rows, typed like the real relation's columns (those not given are
NULL); the model's result is compared with the expected rows on the expected columns,
as multisets. A model's unit tests run right before it is built (``runner build``) or
when it is tested (``runner test``); a failure fails the model, which is then not built.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from .engines.base import Session
from .errors import NodeError, ProjectError
from .nodes import Model, Relation
from .yamlio import line_of

FORMATS = ("dict", "csv", "sql")


@dataclass(frozen=True)
class UnitTest:
    name: str
    model: str
    given: tuple[Mapping[str, Any], ...]
    expect: Mapping[str, Any]
    path: PurePosixPath
    line: int
    overrides: Mapping[str, Any]


def parse(entries: list[tuple[Any, PurePosixPath, int]]) -> dict[str, list[UnitTest]]:
    """The ``unit_tests:`` entries of the properties files, by the model they test."""
    found: dict[str, list[UnitTest]] = {}
    for entry, path, line in entries:

        def fail(
            message: str,
            key: str | None = None,
            entry: Any = entry,
            path: PurePosixPath = path,
            line: int = line,
        ) -> ProjectError:
            where = line_of(entry, key) if key else line
            return ProjectError(f"unit test: {message}", path=path, line=where or line)

        name, model = entry.get("name"), entry.get("model")
        if not isinstance(name, str) or not isinstance(model, str):
            raise fail("each unit test needs a name and a model", None)
        given = entry.get("given", [])
        if not isinstance(given, list) or not all(
            isinstance(g, Mapping) and "input" in g for g in given
        ):
            raise fail(
                f"'{name}': given must be a list of {{input: ref('...'), rows: ...}}", "given"
            )
        expect = entry.get("expect")
        if not isinstance(expect, Mapping) or "rows" not in expect:
            raise fail(f"'{name}': expect needs rows", "expect")
        for part in (*given, expect):
            fmt = part.get("format", "dict")
            if fmt not in FORMATS:
                raise fail(f"'{name}': format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        overrides = entry.get("overrides", {}) or {}
        unsupported = set(overrides) - {"macros", "vars", "env_vars"}
        if unsupported or not all(
            isinstance(overrides.get(k) or {}, Mapping) for k in ("macros", "vars", "env_vars")
        ):
            raise fail(
                f"'{name}': overrides takes macros:, vars: and env_vars: mappings"
                + (f", not {', '.join(sorted(map(str, unsupported)))}" if unsupported else ""),
                "overrides",
            )
        test = UnitTest(name, model, tuple(given), expect, path, line, overrides)
        found.setdefault(model, []).append(test)
    return found


def run_unit_tests(project: Any, model: Model, session: Session) -> int:
    """Run ``model``'s unit tests; raise NodeError naming the first that fails."""
    tests = project.unit_tests.get(model.name, [])
    for test in tests:
        _run_one(project, model, session, test)
    return len(tests)


def _run_one(project: Any, model: Model, session: Session, test: UnitTest) -> None:
    from . import sql as sqlmod
    from .dbt_tests import _node_name

    graph = project.graph
    ctes = []
    names = {}
    for given in test.given:
        wanted = _node_name(str(given["input"]))
        node = _find(graph, wanted)
        if node is None:
            raise ProjectError(
                f"unit test '{test.name}': input {given['input']} is not a node of the project",
                path=test.path,
                line=test.line,
            )
        cte = "__unit_" + wanted.replace(".", "__")
        names[wanted] = Relation(schema="", identifier=cte)
        columns = [(c.name, c.type) for c in session.columns(node.relation)]
        ctes.append((cte, _rows_sql(given, columns, test)))
    renderer = project.renderer()
    code = renderer.compile_template(model.path, model.raw_sql)
    incremental = bool((test.overrides.get("macros") or {}).get("is_incremental", False))

    def resolve(name: str) -> Relation:
        if name in names:
            return names[name]
        node = _find(graph, name)
        if node is None:
            raise ProjectError(f"unit test '{test.name}': unknown ref '{name}'", path=test.path)
        return node.relation

    sql = renderer.render(
        renderer.template(code, str(model.path)),
        path=model.path,
        model_name=model.name,
        this=model.relation,
        resolve_ref=resolve,
        resolve_source=lambda s, t: resolve(f"{s}.{t}"),
        is_incremental=incremental,
        query=session.query,
        overrides=test.overrides,
    ).text
    sql = sqlmod.inject_ctes(sql, ctes) if ctes else sql
    output = [(c.name, c.type) for c in session.query_columns(sql)]
    expected = _rows_sql(test.expect, output, test, only_given=True)
    compare = [c for c, _ in output if c.lower() in _given_columns(test.expect, expected)]
    cols = ", ".join(f'"{c}"' for c in compare)
    diff = (
        f"with actual as (select {cols} from ({sql}) as model_output), "
        f"expected as (select {cols} from ({expected}) as expected_rows) "
        "(select 'missing' as diff, * from "
        "(select * from expected except all select * from actual)) union all "
        "(select 'unexpected', * from (select * from actual except all select * from expected))"
    )
    result = session.query(diff)
    if result.rows:
        shown = "; ".join(
            f"{row[0]} {dict(zip(compare, row[1:], strict=True))}" for row in result.rows[:5]
        )
        raise NodeError(
            f"unit test '{test.name}' failed: {len(result.rows)} row(s) differ: {shown}",
            path=test.path,
            line=test.line,
            hint="'missing' rows are expected and not produced, 'unexpected' rows the reverse",
        )


def _find(graph: Any, name: str) -> Any:
    if "." in name:
        return graph.nodes.get("source." + name)
    for prefix in ("model.", "seed.", "snapshot."):
        if prefix + name in graph.nodes:
            return graph.nodes[prefix + name]
    return None


def _given_columns(part: Mapping[str, Any], sql: str) -> set[str]:
    fmt = part.get("format", "dict")
    if fmt == "dict":
        return {str(k).lower() for row in part["rows"] or [] for k in row}
    if fmt == "csv":
        header = next(csv.reader(io.StringIO(str(part["rows"]).strip())), [])
        return {h.strip().lower() for h in header}
    return {"*"}


def _rows_sql(
    part: Mapping[str, Any],
    columns: Sequence[tuple[str, str]],
    test: UnitTest,
    only_given: bool = False,
) -> str:
    """The rows of a fixture as a query with the relation's columns and types."""
    fmt = part.get("format", "dict")
    rows = part["rows"]
    if fmt == "sql":
        return str(rows)
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(str(rows).strip()))
        rows = [{k.strip(): (v if v != "" else None) for k, v in r.items()} for r in reader]
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ProjectError(
            f"unit test '{test.name}': rows must be a list of mappings", path=test.path
        )
    known = {name.lower(): (name, type_) for name, type_ in columns}
    for row in rows:
        for key in row:
            if str(key).lower() not in known:
                raise ProjectError(
                    f"unit test '{test.name}': column '{key}' is not in "
                    f"{', '.join(n for n, _ in columns)}",
                    path=test.path,
                    line=test.line,
                )
    wanted = columns
    if only_given:
        given = {str(k).lower() for r in rows for k in r}
        wanted = [c for c in columns if c[0].lower() in given]
    if not rows:
        cols = ", ".join(f'cast(null as {t}) as "{n}"' for n, t in wanted)
        return f"select {cols} where false"
    selects = []
    for row in rows:
        values = {str(k).lower(): v for k, v in row.items()}
        cols = ", ".join(
            f'cast({_literal(values.get(n.lower()))} as {t}) as "{n}"' for n, t in wanted
        )
        selects.append(f"select {cols}")
    return " union all ".join(selects)


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
