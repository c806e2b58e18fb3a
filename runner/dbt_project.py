"""dbt_project.yml as the project settings, for a dbt project folder without [tool.runner].

dbt's spellings map onto ``ProjectSettings``: ``model-paths`` and the other paths,
``vars`` (global ones; a package-scoped block applies to that package only), the
``models:`` / ``seeds:`` / ``snapshots:`` config trees (keyed by project or package name
first, as dbt writes them), ``on-run-start`` / ``on-run-end`` and ``dispatch``. Keys dbt
documents but the runner does not use are named once in a warning; an unknown key warns
with a did-you-mean.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ProjectError, RunnerError
from .yamlio import line_of, load_yaml

FILE_NAME = "dbt_project.yml"

# dbt_project.yml keys the runner reads.
USED_KEYS = frozenset(
    {
        "name",
        "version",
        "config-version",
        "profile",
        "model-paths",
        "seed-paths",
        "macro-paths",
        "snapshot-paths",
        "test-paths",
        "docs-paths",
        "analysis-paths",
        "target-path",
        "packages-install-path",
        "clean-targets",
        "vars",
        "models",
        "seeds",
        "snapshots",
        "data_tests",
        "tests",
        "sources",
        "on-run-start",
        "on-run-end",
        "dispatch",
        "require-dbt-version",
    }
)
# Documented dbt keys the runner accepts and does not act on (said once, in a warning).
NOT_USED_KEYS = frozenset(
    {
        "asset-paths",
        "dbt-cloud",
        "function-paths",
        "functions",
        "query-comment",
        "quoting",
        "metrics",
        "semantic-models",
        "saved-queries",
        "exposures",
        "unit_tests",
        "flags",
        "restrict-access",
        "log-path",
        "source-paths",
        "data-paths",
    }
)


def find(root: Path) -> Path | None:
    path = root / FILE_NAME
    return path if path.is_file() else None


def load(root: Path, path: Path) -> tuple[dict[str, Any], list[RunnerError]]:
    """The settings of a dbt project as ``ProjectSettings`` keyword arguments, and the
    warnings found reading it. Raises ProjectError (file and line) on a wrong value."""
    data = load_yaml(path.read_text(encoding="utf-8"), path)
    if not isinstance(data, dict):
        raise ProjectError(
            "dbt_project.yml must be a mapping", path=path, line=1, hint="start with name: ..."
        )
    warnings: list[RunnerError] = []
    ignored = []
    for key in data:
        if key in USED_KEYS:
            continue
        if key in NOT_USED_KEYS:
            ignored.append(str(key))
            continue
        close = difflib.get_close_matches(str(key), sorted(USED_KEYS | NOT_USED_KEYS), n=1)
        warnings.append(
            ProjectError(
                f"unknown key '{key}' in dbt_project.yml (ignored)",
                path=path,
                line=line_of(data, key),
                hint=f"did you mean '{close[0]}'?" if close else "see dbt's dbt_project.yml keys",
            )
        )
    if ignored:
        warnings.append(
            ProjectError(
                f"dbt_project.yml: {', '.join(ignored)} not supported by the runner (ignored)",
                path=path,
                line=line_of(data, ignored[0]),
                hint="see the migration guide in the README",
            )
        )

    def fail(key: str, message: str, hint: str | None = None) -> ProjectError:
        return ProjectError(message, path=path, line=line_of(data, key), hint=hint)

    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise fail("name", f"project name must be an identifier, got {name!r}", "name: my_project")

    def paths(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = data.get(key, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, f"{key} must be a list of folder names", f'e.g. {key}: ["models"]')
        return tuple(value)

    def hooks(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, f"{key} must be a SQL statement or a list of them")
        return tuple(value)

    vars_ = data.get("vars", {}) or {}
    if not isinstance(vars_, dict):
        raise fail("vars", "vars must be a mapping", "vars: {start_date: '2020-01-01'}")
    trees = {}
    for kind in ("models", "seeds", "snapshots", "data_tests", "tests", "sources"):
        tree = data.get(kind, {}) or {}
        if not isinstance(tree, dict):
            raise fail(kind, f"{kind} must be a mapping of project or folder names to configs")
        trees[kind] = tree
    warnings.extend(_unapplied_source_configs(trees["sources"], path))
    dispatch = data.get("dispatch", []) or []
    if not isinstance(dispatch, list) or not all(
        isinstance(d, dict) and isinstance(d.get("macro_namespace"), str) for d in dispatch
    ):
        raise fail(
            "dispatch",
            "dispatch must be a list of {macro_namespace: ..., search_order: [...]}",
            "e.g. dispatch: [{macro_namespace: dbt_utils, search_order: [my_project, dbt_utils]}]",
        )
    target_path = data.get("target-path", "target")
    if not isinstance(target_path, str):
        raise fail("target-path", "target-path must be a folder name")
    profile = data.get("profile", name)
    if not isinstance(profile, str):
        raise fail("profile", "profile must be the name of a profile in profiles.yml")
    settings = {
        "root": root,
        "name": name,
        "profile": profile,
        "model_paths": paths("model-paths", ("models",)),
        "seed_paths": paths("seed-paths", ("seeds",)),
        "macro_paths": paths("macro-paths", ("macros",)),
        "snapshot_paths": paths("snapshot-paths", ("snapshots",)),
        "test_paths": paths("test-paths", ("tests",)),
        "docs_paths": paths("docs-paths", ()),
        "target_path": target_path,
        "packages_install_path": str(data.get("packages-install-path", "dbt_packages")),
        "vars": _global_vars(vars_, name),
        "vars_tree": vars_,
        "models": subtree(trees["models"], name),
        "seeds": subtree(trees["seeds"], name),
        "config_trees": trees,
        "on_run_start": hooks("on-run-start"),
        "on_run_end": hooks("on-run-end"),
        "dispatch": tuple(
            (d["macro_namespace"], tuple(d.get("search_order") or ())) for d in dispatch
        ),
        "flavour": "dbt",
        "config_path": path,
    }
    return settings, warnings


# What the runner applies from the sources: tree of dbt_project.yml (see parser.py).
SOURCE_TREE_KEYS = frozenset({"enabled", "tags", "meta"})


def _unapplied_source_configs(tree: Mapping[str, Any], path: Path) -> list[ProjectError]:
    """A sources: config the runner does not apply from dbt_project.yml (freshness,
    loaded_at_field, quoting, ...): named once, with the first one's line."""
    found: list[tuple[str, int | None]] = []

    def walk(level: Mapping[str, Any]) -> None:
        for key, value in level.items():
            name = str(key).lstrip("+")
            if str(key).startswith("+") or not isinstance(value, Mapping):
                if name not in SOURCE_TREE_KEYS:
                    found.append((name, line_of(level, key)))
            else:
                walk(value)

    walk(tree)
    if not found:
        return []
    names = ", ".join(dict.fromkeys(name for name, _ in found))
    return [
        ProjectError(
            f"dbt_project.yml: sources: {names} not applied by the runner from here",
            path=path,
            line=found[0][1],
            hint="the runner applies enabled, tags and meta from the sources: tree; set the "
            "others on the source in its YAML file",
        )
    ]


def package_vars(
    own: Mapping[str, Any],
    package: str,
    root_tree: Mapping[str, Any],
    packages: Iterable[str],
    cli_vars: Mapping[str, Any],
) -> dict[str, Any]:
    """The vars a package's nodes see, as dbt layers them: the package's own dbt_project.yml
    vars (global, then its own block), the root project's global vars, the root's block
    for this package (``vars: {dbt_utils: {...}}``), then --vars. A block scoped to any
    package is not a var itself."""
    scoped = {*packages, package}
    root_global = {k: v for k, v in root_tree.items() if k not in scoped}
    block = root_tree.get(package)
    return {
        **_global_vars(own, package),
        **root_global,
        **(block if isinstance(block, Mapping) else {}),
        **cli_vars,
    }


def _global_vars(vars_: Mapping[str, Any], project: str) -> dict[str, Any]:
    """dbt's vars: top-level ones, plus the block scoped to this project (which wins)."""
    own = vars_.get(project)
    merged = {k: v for k, v in vars_.items() if k != project}
    return {**merged, **own} if isinstance(own, Mapping) else merged


def subtree(tree: Mapping[str, Any], package: str) -> dict[str, Any]:
    """The config tree for one package: the top-level config keys (they apply to every
    package), with that package's own block under them."""
    top = {k: v for k, v in tree.items() if _is_config_key(k, v)}
    own = tree.get(package)
    return {**top, **own} if isinstance(own, Mapping) else top


def _is_config_key(key: str, value: Any) -> bool:
    return key.startswith("+") or not isinstance(value, Mapping)


def render_config(config: dict[str, Any], vars_: Mapping[str, Any], target: Any) -> dict[str, Any]:
    """Render ``{{ var('x') }}`` / ``{{ env_var('X') }}`` / ``{{ target.name }}`` in config
    values (dbt renders dbt_project.yml), turning "true"/"false" into booleans."""
    if not any(_templated(v) for v in config.values()):
        return config
    return {key: _render_value(value, vars_, target) for key, value in config.items()}


def _templated(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, list):
        return any(_templated(v) for v in value)
    if isinstance(value, Mapping):
        return any(_templated(v) for v in value.values())
    return False


def _render_value(value: Any, vars_: Mapping[str, Any], target: Any) -> Any:
    if isinstance(value, list):
        return [_render_value(v, vars_, target) for v in value]
    if isinstance(value, Mapping):
        return {k: _render_value(v, vars_, target) for k, v in value.items()}
    if not _templated(value):
        return value
    import os

    import jinja2

    missing = object()

    def var(name: str, default: Any = missing) -> Any:
        if name in vars_:
            return vars_[name]
        if default is not missing:
            return default
        raise ProjectError(
            f"var '{name}' is not defined (used in a config: {value!r})",
            hint=f"define it under vars: in dbt_project.yml or pass --vars '{{{name}: ...}}'",
        )

    def env_var(name: str, default: Any = missing) -> Any:
        if name in os.environ:
            return os.environ[name]
        if default is not missing:
            return default
        raise ProjectError(f"environment variable '{name}' is not set (used in a config)")

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    try:
        text = env.from_string(value).render(var=var, env_var=env_var, target=target)
    except jinja2.TemplateError as exc:
        raise ProjectError(f"cannot render config value {value!r}: {exc}") from None
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text
