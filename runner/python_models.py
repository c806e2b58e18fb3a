"""Python models: a ``models/**/*.py`` file defining ``model(ctx)`` is a node like a SQL one.

::

    def model(ctx):
        ctx.config(publish=True)
        orders = ctx.ref("fct_orders")           # lazy: nothing is read yet
        df = orders.df()                          # pandas (DECIMAL as float), on any engine
        table = ctx.sql("select ...").arrow()     # a query on the build's engine, as Arrow
        return df                                 # pandas or pyarrow (or orders.native)

``ctx.ref``/``ctx.source``/``ctx.sql`` give ``ModelData``: ``.df()``, ``.arrow()`` and
``.native``, the engine's own lazy handle (a DuckDB relation, a Spark DataFrame). On
DuckDB the relation's methods also work on it directly (``ctx.ref("x").filter(...)``).

Dependencies are read from the file without running it (as dbt does): the calls
``ctx.ref("name")``, ``ctx.source("src", "table")`` and ``ctx.config(key=value)`` must
have literal arguments, so the DAG, selection and the manifest know them at parse time.
The result is materialized as a table (the only materialization a Python model has).
An exception raised by the model names the file and the line in it.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import NodeError, ProjectError
from .nodes import Relation

_MISSING = object()
_import_lock = threading.Lock()


def parse_python_model(path: PurePosixPath, text: str) -> dict[str, Any]:
    """refs, sources and config of a Python model, from its syntax tree (never run)."""
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise ProjectError(
            f"Python syntax error: {exc.msg}",
            path=path,
            line=exc.lineno,
            hint="fix the model file; it is parsed before anything runs",
        ) from None
    func = next(
        (
            n
            for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "model"
        ),
        None,
    )
    if func is None or isinstance(func, ast.AsyncFunctionDef) or not func.args.args:
        raise ProjectError(
            "a Python model must define `def model(ctx):` at the top level",
            path=path,
            line=func.lineno if func is not None else 1,
            hint="return a pandas/pyarrow DataFrame or a DuckDB relation from model(ctx)",
        )
    ctx = func.args.args[0].arg
    refs: list[tuple[str, int]] = []
    sources: list[tuple[str, str, int]] = []
    config: dict[str, Any] = {}
    for node in ast.walk(func):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == ctx
            and node.func.attr in ("ref", "source", "config")
        ):
            continue
        what = node.func.attr
        if what == "config":
            for keyword in node.keywords:
                if keyword.arg is None:
                    raise _not_literal(path, node, "ctx.config(**...)")
                config[keyword.arg] = _literal(
                    path, keyword.value, f"ctx.config({keyword.arg}=...)"
                )
            continue
        args = [_literal(path, a, f"ctx.{what}(...)") for a in node.args]
        want = 1 if what == "ref" else 2
        if len(args) != want or node.keywords or not all(isinstance(a, str) for a in args):
            example = "ctx.ref('model_name')" if what == "ref" else "ctx.source('shop', 'orders')"
            raise ProjectError(
                f"ctx.{what}() takes {want} literal string argument{'s' * (want > 1)}",
                path=path,
                line=node.lineno,
                hint=f"e.g. {example}",
            )
        if what == "ref":
            refs.append((args[0], node.lineno))
        else:
            sources.append((args[0], args[1], node.lineno))
    materialized = config.get("materialized", "table")
    if materialized != "table":
        raise ProjectError(
            f"a Python model is materialized as a table, not {materialized!r}",
            path=path,
            line=_line_of_keyword(func, ctx, "materialized") or func.lineno,
            hint="drop materialized= from ctx.config(...)",
        )
    config["materialized"] = "table"
    return {"refs": refs, "sources": sources, "config": config, "env_vars": {}, "macros": []}


def _literal(path: PurePosixPath, value: ast.expr, what: str) -> Any:
    try:
        return ast.literal_eval(value)
    except ValueError:
        raise _not_literal(path, value, what) from None


def _not_literal(path: PurePosixPath, node: ast.AST, what: str) -> ProjectError:
    return ProjectError(
        f"{what} needs literal arguments",
        path=path,
        line=getattr(node, "lineno", None),
        hint="the runner reads dependencies and config without running the file: "
        "write names and values out, e.g. ctx.ref('fct_orders')",
    )


def _line_of_keyword(func: ast.FunctionDef, ctx: str, key: str) -> int | None:
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and any(k.arg == key for k in node.keywords):
            return node.lineno
    return None


class ModelContext:
    """What ``model(ctx)`` receives: upstream data, vars and config, on the build's engine."""

    def __init__(
        self,
        session: Any,
        this: Relation,
        resolve_ref: Callable[[str], Relation],
        resolve_source: Callable[[str, str], Relation],
        variables: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> None:
        self._session = session
        self._resolve_ref = resolve_ref
        self._resolve_source = resolve_source
        self._vars = variables
        self._config = dict(config)
        self.this = this

    def ref(self, name: str) -> ModelData:
        """The model ``name``'s data (lazy)."""
        return self._relation(self._resolve_ref(name))

    def source(self, source_name: str, table_name: str) -> ModelData:
        return self._relation(self._resolve_source(source_name, table_name))

    def sql(self, query: str) -> ModelData:
        """Any query on the build's engine, in that engine's SQL."""
        return ModelData(self._session, query)

    def _relation(self, relation: Relation) -> ModelData:
        from . import sql as sqlmod

        return ModelData(self._session, sqlmod.select_all_sql(relation, self._session.dialect))

    def var(self, name: str, default: Any = _MISSING) -> Any:
        if name in self._vars:
            return self._vars[name]
        if default is _MISSING:
            raise KeyError(f"var '{name}' is not defined ([tool.runner.vars] or --vars)")
        return default

    def config(self, **values: Any) -> Any:
        """Declares config (read at parse time); returns the model's resolved config."""
        return dict(self._config)


class ModelData:
    """Data a Python model reads, on the build's engine; read only when asked."""

    def __init__(self, session: Any, query: str) -> None:
        self._session = session
        self.query = query

    def df(self) -> Any:
        """pandas (DECIMAL columns as float64, as DuckDB's ``.df()`` gives them)."""
        return self._session.query_pandas(self.query)

    def arrow(self) -> Any:
        """A pyarrow Table (DECIMAL kept exact)."""
        return self._session.query_arrow(self.query)

    def order(self, expression: str) -> ModelData:
        """The same rows sorted by ``expression`` (e.g. ``"customer_id"``), on any engine."""
        return ModelData(
            self._session, f"select * from ({self.query}) as ordered order by {expression}"
        )

    @property
    def native(self) -> Any:
        """The engine's own lazy handle: a DuckDB relation, or a Spark DataFrame."""
        return self._session.sql_relation(self.query)

    def __getattr__(self, name: str) -> Any:
        # The engine's own methods, for convenience (DuckDB relations' filter, aggregate...)
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.native, name)


class ModuleLoader:
    """Loads the Python models' files (running their imports) on a background thread as
    the build starts, so importing pandas or scipy overlaps the SQL models upstream
    instead of delaying the Python model when its turn comes. Top-level code of a model
    file must not read data (that is model(ctx)'s job), so loading it early is safe."""

    def __init__(self, root: Path, models: list[Any]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._root = root
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runner-py-models")
        self._futures = {m.unique_id: self._pool.submit(_load_module, root, m) for m in models}

    def module(self, model: Any) -> Any:
        future = self._futures.get(model.unique_id)
        return future.result() if future is not None else _load_module(self._root, model)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _load_module(root: Path, model: Any) -> Any:
    module_name = f"runner_python_model_{model.name}"
    with _import_lock:  # module creation is not something to race on
        spec = importlib.util.spec_from_file_location(module_name, root / model.path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules.pop(module_name, None)
        spec.loader.exec_module(module)
    return module


def run_python_model(
    root: Path, model: Any, ctx: ModelContext, loader: ModuleLoader | None = None
) -> Any:
    """Load the model's file (or take it from ``loader``) and call ``model(ctx)``; errors
    name the file and line."""
    path = root / model.path
    try:
        module = loader.module(model) if loader is not None else _load_module(root, model)
        result = module.model(ctx)
    except Exception as exc:
        line = _line_in(exc, path)
        raise NodeError(
            f"{type(exc).__name__}: {exc}",
            path=model.path,
            line=line,
            hint="raised by model(ctx)" + (f" at line {line}" if line else ""),
        ) from None
    if result is None:
        raise NodeError(
            "model(ctx) returned None",
            path=model.path,
            hint="return a pandas or pyarrow DataFrame, or a DuckDB relation",
        )
    return result


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The deepest line of the traceback inside the model file."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    return line
