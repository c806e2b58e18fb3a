"""dbt's data tests as the runner's expectations.

A dbt project declares tests in dbt's spellings; before the expectations are parsed
each declaration is rewritten into the runner's vocabulary:

- ``relationships: {to: ref('customers'), field: id}`` -> ``to: customers``
  (``source('shop', 'orders')`` -> ``shop.orders``);
- dbt 1.10+'s ``arguments:`` block is flattened; ``config:`` keeps severity, error_if,
  warn_if and name (``where`` filters a generic test's model; ``enabled: false`` drops
  the test); other test configs are named once in a warning;
- ``accepted_values`` with ``quote: false`` is an ``expression`` (values are SQL);
- any other name is a generic test (``{% test name(model, ...) %}`` in the project, a
  package, ``tests/generic``): rendered with its arguments into a ``sql`` expectation
  (rows returned = failures), refs written as ``{ref:name}`` so the build orders it.

Singular tests (``tests/*.sql``) become ``sql`` expectations of the last node they read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from .errors import ProjectError, RunnerError
from .nodes import Column, Node, Relation
from .quality.declarations import CONFIG_KEYS, SPECS
from .quality.registry import REGISTRY
from .quality.sql_build import SqlBuilder
from .yamlio import with_line

_REF = re.compile(r"""^\s*ref\(\s*['"]([^'"]+)['"](?:\s*,\s*['"]([^'"]+)['"])?\s*\)\s*$""")
_SOURCE = re.compile(r"""^\s*source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*$""")
# dbt test configs the runner does not act on: accepted, and named in one warning.
NOT_USED_CONFIGS = frozenset(
    {
        "tags",
        "meta",
        "store_failures",
        "store_failures_as",
        "limit",
        "alias",
        "fail_calc",
        "schema",
        "database",
        "group",
    }
)


class _Placeholder(Relation):
    """A relation a check reads, rendered as the expectation placeholder ``{ref:name}``."""

    def render(self) -> str:
        return "{ref:" + self.identifier + "}"

    def __str__(self) -> str:
        return self.render()


class _Filtered(Relation):
    """A generic test's ``model`` under ``config: {where: ...}``: a filtered subquery."""

    where: str = ""

    def render(self) -> str:
        inner = Relation(self.schema, self.identifier, self.database).render()
        return f"(select * from {inner} where {self.where}) as dbt_subquery"

    def __str__(self) -> str:
        return self.render()


@dataclass
class Translation:
    """What rewriting found besides the expectations: configs it could not use."""

    unused: set[str]
    warnings: list[RunnerError]


def project_defaults(project: Any, node: Node) -> dict[str, Any]:
    """Test configs dbt_project.yml gives the tests of ``node`` (``data_tests:`` or
    ``tests:``, by project and folder, as for models)."""
    from .dbt_project import render_config, subtree
    from .project import folder_config

    trees = project.settings.config_trees
    tree = trees.get("data_tests") or trees.get("tests") or {}
    if not tree:
        return {}
    config = folder_config(subtree(tree, node.fqn[0]), tuple(node.fqn[1:-1]))
    return render_config(config, project.vars, project.target.public_dict())


def translate_node(project: Any, node: Node, found: Translation) -> Node:
    """``node`` with its table- and column-level dbt tests in the runner's vocabulary."""
    if not node.expectations and not any(c.expectations for c in node.columns):
        return node
    defaults = project_defaults(project, node)
    if defaults:
        node = _with_defaults(node, defaults)
    path = str(node.yaml_path or node.path)

    def translated(column: Column | None, item: Any) -> Any:
        # the runner's declaration keeps the line of the YAML entry it came from
        return with_line(
            _one(project, node, column, item, path, found), getattr(item, "line", None)
        )

    table = tuple(t for t in (translated(None, item) for item in node.expectations) if t)
    columns = []
    for column in node.columns:
        items = tuple(t for t in (translated(column, i) for i in column.expectations) if t)
        columns.append(replace(column, expectations=items))
    return replace(node, expectations=table, columns=tuple(columns))


def _with_defaults(node: Node, defaults: Mapping[str, Any]) -> Node:
    """Each test of ``node`` with the project's test configs under its own."""

    def one(item: Any) -> Any:
        line = getattr(item, "line", None)
        if isinstance(item, str):
            return with_line({item: None, "config": dict(defaults)}, line)
        if isinstance(item, Mapping) and item:
            merged = {**item, "config": {**defaults, **dict(item.get("config") or {})}}
            return with_line(merged, line)
        return item

    columns = tuple(
        replace(c, expectations=tuple(one(i) for i in c.expectations)) for c in node.columns
    )
    return replace(node, expectations=tuple(one(i) for i in node.expectations), columns=columns)


def _one(
    project: Any, node: Node, column: Column | None, item: Any, path: str, found: Translation
) -> Any:
    if isinstance(item, str):
        if item in SPECS or project.renderer().generic_test(item) is None:
            return item
        return _generic(project, node, column, item, {}, {}, path, None, found)
    if not isinstance(item, Mapping) or not item:
        return item  # parse_expectations reports it
    type_keys = [k for k in item if k not in (*CONFIG_KEYS, "config")]
    if len(type_keys) != 1:
        return item
    type_name = str(type_keys[0])
    if type_name not in SPECS and project.renderer().generic_test(type_name) is None:
        return item  # parse_expectations names it, with a did-you-mean
    raw = item[type_name]
    if raw is not None and not isinstance(raw, Mapping) and type_name in SPECS:
        # a scalar shorthand of the runner's vocabulary: keep the configs it understands
        nested = dict(item.get("config") or {})
        if not nested:
            return item
        found.unused |= {k for k in nested if k in NOT_USED_CONFIGS}
        kept = {k: v for k, v in nested.items() if k not in NOT_USED_CONFIGS}
        return {**{k: v for k, v in item.items() if k != "config"}, "config": kept}
    args = dict(raw or {}) if isinstance(raw, Mapping) else {}
    config = {k: v for k, v in item.items() if k != type_name}
    nested = dict(config.pop("config", {}) or {})
    if "arguments" in args:  # dbt 1.10+: arguments and config side by side
        arguments = args.pop("arguments") or {}
        nested.update(args.pop("config", {}) or {})
        args = {**dict(arguments), **args}
    elif "config" in args:
        nested.update(args.pop("config") or {})
    for key in CONFIG_KEYS:
        if key in args and type_name not in SPECS:
            config[key] = args.pop(key)
    config.update(nested)
    if config.get("enabled") is False:
        return None
    config.pop("enabled", None)
    where = config.pop("where", None)
    for key in list(config):
        if key in NOT_USED_CONFIGS:
            found.unused.add(key)
            config.pop(key)
    if isinstance(config.get("severity"), str):
        config["severity"] = config["severity"].lower()
    if type_name in SPECS and where is None:
        args = _builtin(type_name, args)
        return SPECS[type_name].from_dbt(args, column.name if column else None, config)
    if type_name in SPECS:  # a built-in with `where`: dbt's own test macro semantics
        args = _builtin(type_name, args)
    return _generic(project, node, column, type_name, args, config, path, where, found)


def _builtin(type_name: str, args: dict[str, Any]) -> dict[str, Any]:
    for key in REGISTRY[type_name].node_arguments:  # ref('x') -> x, source('s', 't') -> s.t
        if isinstance(args.get(key), str):
            args[key] = _node_name(args[key])
    return args


def _node_name(text: str) -> str:
    """``ref('x')`` -> ``x``; ``source('s', 't')`` -> ``s.t``; anything else as it is."""
    ref = _REF.match(text)
    if ref:
        return ref.group(2) or ref.group(1)
    source = _SOURCE.match(text)
    if source:
        return f"{source.group(1)}.{source.group(2)}"
    return text


def _generic(
    project: Any,
    node: Node,
    column: Column | None,
    type_name: str,
    args: dict[str, Any],
    config: dict[str, Any],
    path: str,
    where: Any,
    found: Translation,
) -> dict[str, Any]:
    renderer = project.renderer()
    builtin = type_name in SPECS
    macro = None if builtin else renderer.generic_test(type_name)
    if macro is None and not builtin:
        raise ProjectError(
            f"unknown test '{type_name}' on {node.display_name}",
            path=path,
            line=column.line if column else node.line,
            hint="built-in: " + ", ".join(SPECS) + "; a generic test is a "
            "{% test name(model, ...) %} block in macros/, tests/generic/ or a package",
        )
    model: Relation = node.relation
    if where is not None:
        model = _Filtered(node.relation.schema, node.relation.identifier, node.relation.database)
        object.__setattr__(model, "where", str(where))
    kwargs = {k: _argument(v) for k, v in args.items()}
    kwargs["model"] = model
    if column is not None:
        kwargs["column_name"] = column.name
    if builtin:
        sql = _builtin_sql(type_name, kwargs)
    else:
        package, name = macro
        value, _ = renderer.call_macro(
            package,
            name,
            kwargs,
            path=PurePosixPath(path),
            model_name=node.name,
            this=node.relation,
            resolve_ref=lambda ref: _Placeholder(schema="", identifier=ref),
            resolve_source=lambda s, t: _Placeholder(schema="", identifier=f"{s}.{t}"),
        )
        sql = str(value)
    target = f"({column.name})" if column else ""
    config.setdefault("name", f"{type_name}{target}")
    return {"sql": sql, **config}


def _argument(value: Any) -> Any:
    """A test argument as dbt passes it: ``ref('x')`` / ``source('s', 't')`` strings are
    relations (placeholders the build resolves)."""
    if isinstance(value, str) and (_REF.match(value) or _SOURCE.match(value)):
        return _Placeholder(schema="", identifier=_node_name(value))
    return value


def _builtin_sql(type_name: str, kwargs: Mapping[str, Any]) -> str:
    """A built-in test over a filtered model (``where``), as the query of failing rows
    (DuckDB SQL with the model and its parents as ``{ref:...}`` placeholders)."""
    text = SqlBuilder("runner_unused")
    args = dict(kwargs)
    for key in REGISTRY[type_name].node_arguments:
        value = args.get(key)
        parent = value if isinstance(value, Relation) else _Placeholder("", _node_name(str(value)))
        args[key] = text.verbatim(str(parent))
    column = str(kwargs.get("column_name") or kwargs.get("column"))
    try:
        rows = REGISTRY[type_name].dbt_where_rows(
            text.verbatim(str(kwargs["model"])), column, args, text
        )
    except ValueError as exc:
        raise ProjectError(str(exc)) from None
    return text.render(rows)


def singular_tests(project: Any) -> dict[str, list[tuple[dict[str, Any], PurePosixPath]]]:
    """Each ``tests/*.sql`` (not ``tests/generic``) as a ``sql`` expectation, keyed by the
    node it is checked with: of the nodes it reads, the one built last."""
    loader = project._loader
    settings = project.settings
    graph = project.graph
    order = {uid: i for i, uid in enumerate(graph.topological_order())}
    found: dict[str, list[tuple[dict[str, Any], PurePosixPath]]] = {}
    for path in loader._files(settings.test_paths, ".sql"):
        if "generic" in path.parts:
            continue
        renderer = project.renderer()
        text = (settings.root / path).read_text(encoding="utf-8")
        code = renderer.compile_template(path, text)
        reads: list[str] = []

        def ref(name: str, reads: list[str] = reads) -> Relation:
            reads.append(name)
            return _Placeholder(schema="", identifier=name)

        def source(s: str, t: str, reads: list[str] = reads) -> Relation:
            reads.append(f"{s}.{t}")
            return _Placeholder(schema="", identifier=f"{s}.{t}")

        rendered = renderer.render(
            renderer.template(code, str(path)),
            path=path,
            model_name=path.stem,
            this=Relation(schema=project.target.schema, identifier=path.stem),
            resolve_ref=ref,
            resolve_source=source,
        )
        owners = []
        for name in reads:
            uid = _uid(graph, name)
            if uid is None:
                raise ProjectError(
                    f"singular test {path.stem} reads unknown node '{name}'",
                    path=path,
                    hint="check the ref()/source() name",
                )
            owners.append(uid)
        if not owners:
            raise ProjectError(
                f"singular test {path.stem} reads no model, seed or source",
                path=path,
                hint="select from {{ ref('model') }} so the runner knows when to run it",
            )
        if rendered.config.get("enabled") is False:
            continue
        config = {k: v for k, v in rendered.config.items() if k in CONFIG_KEYS}
        if isinstance(config.get("severity"), str):
            config["severity"] = config["severity"].lower()
        owner = max(owners, key=order.__getitem__)
        item = {"sql": rendered.text, "name": path.stem, **config}
        found.setdefault(owner, []).append((item, path))
    return found


def _uid(graph: Any, name: str) -> str | None:
    if "." in name:
        source, table = name.split(".", 1)
        uid = f"source.{source}.{table}"
        return uid if uid in graph.nodes else None
    for prefix in ("model.", "seed.", "snapshot."):
        if prefix + name in graph.nodes:
            return prefix + name
    return None


def unused_warning(found: Translation) -> RunnerError | None:
    if not found.unused:
        return None
    return RunnerError(
        "test configs not used by the runner (accepted, no effect): "
        + ", ".join(sorted(found.unused)),
        hint="see the migration guide in the README",
    )
