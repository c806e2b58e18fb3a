"""Hooks: on-run-start / on-run-end of dbt_project.yml, and a model's pre_hook / post_hook.

Each is Jinja-rendered SQL (``target``, ``var``, ``this`` for a model's hooks, and
``run_query`` since the database is there) run on the build's engine. A hook that fails
stops the run: what it was meant to prepare or finish is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from .engines.base import Session
from .errors import NodeError, RunnerError, first_line
from .nodes import Model, Relation

RUN_HOOK_COMMANDS = frozenset({"build", "run", "seed", "test"})


def run_hooks(project: Any, session: Session, which: str) -> int:
    """Run ``on-run-start`` or ``on-run-end``; returns how many statements ran."""
    settings = project.settings
    statements = settings.on_run_start if which == "on-run-start" else settings.on_run_end
    path = settings.config_path or settings.pyproject
    this = Relation(schema=project.target.schema, identifier=which)
    return _run(project, session, statements, PurePosixPath(path.name), which, this)


def model_hooks(
    project: Any, model: Model, session: Session, which: str, *, incremental: bool = False
) -> int:
    """Run a model's ``pre_hook`` or ``post_hook`` (a statement or a list of them);
    ``is_incremental()`` in them says what it says in the model (as in dbt)."""
    hooks = model.config.get(which)
    if not hooks:
        return 0
    if isinstance(hooks, str | dict):
        hooks = [hooks]
    statements = [h["sql"] if isinstance(h, dict) else str(h) for h in hooks]
    return _run(project, session, statements, model.path, model.name, model.relation, incremental)


def _run(
    project: Any,
    session: Session,
    statements: Sequence[str],
    path: PurePosixPath,
    name: str,
    this: Relation,
    incremental: bool = False,
) -> int:
    renderer = project.renderer() if statements else None
    count = 0
    for text in statements:
        code = renderer.compile_template(path, text)
        sql = renderer.render(
            renderer.template(code, str(path)),
            path=path,
            model_name=name,
            this=this,
            resolve_ref=lambda ref: _resolve(project, ref),
            resolve_source=lambda s, t: project.graph.nodes[f"source.{s}.{t}"].relation,
            query=session.query,
            is_incremental=incremental,
        ).text
        if not sql.strip():
            continue
        try:
            session.execute(sql)
        except RunnerError:
            raise
        except Exception as exc:
            raise NodeError(
                f"{name} hook failed: {first_line(exc)}",
                path=path,
                hint=f"the hook's SQL was: {' '.join(sql.split())[:200]}",
            ) from None
        count += 1
    return count


def _resolve(project: Any, name: str) -> Relation:
    for node in project.graph.by_name(name):
        if node.resource_type != "source":
            return node.relation
    raise NodeError(f"a hook refers to unknown node '{name}'")
