"""Project settings (pyproject.toml [tool.runner]) and targets (profiles.yml), as typed data.

Every error names the file and, where it can be known, the line.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import dbt_project, redaction
from .config_schema import CONFIGS, check_config, did_you_mean
from .errors import ProjectError, UsageError
from .files import read_text
from .nodes import MODEL_CONFIG_KEYS
from .yamlio import LineDict, line_of, load_yaml

# Engines this runner can build on (issue 12 adds spark: until it does, `type: spark`
# is refused rather than quietly built on DuckDB).
ENGINE_TYPES = ("duckdb", "spark")
PLANNED_ENGINE_TYPES: tuple[str, ...] = ()  # accepted by name, refused until built
# More worker threads than this only queue on DuckDB's own threads (and 100,000 hangs
# while they start): a larger setting is lowered to it, with a warning.
MAX_THREADS = 64
_MEMORY = re.compile(r"\s*\d+(\.\d+)?\s*([kmgt]i?b|b|%)\s*", re.IGNORECASE)
MEMORY_FORMS = (
    "a size with a unit (e.g. 4GB, 512MiB; B, KB, MB, GB, TB, KiB..TiB) or a share of RAM (80%)"
)
UNDECLARED_TABLE_POLICIES = ("warn", "error", "ignore")
VALIDATORS = ("gx", "sql")


@dataclass(frozen=True)
class ProjectSettings:
    """What ``[tool.runner]`` says. Paths are relative to ``root``."""

    root: Path
    name: str
    profile: str
    model_paths: tuple[str, ...] = ("models",)
    seed_paths: tuple[str, ...] = ("seeds",)
    macro_paths: tuple[str, ...] = ("macros",)
    target_path: str = "target"
    vars: Mapping[str, Any] = field(default_factory=dict)
    models: Mapping[str, Any] = field(default_factory=dict)  # per-folder config tree
    seeds: Mapping[str, Any] = field(default_factory=dict)
    undeclared_tables: str = "warn"
    validator: str = "gx"  # who runs expectations: gx, or sql (plain SQL, GX for gx: only)
    # dbt projects (read from dbt_project.yml: flavour "dbt") also use these.
    flavour: str = "runner"  # "dbt": dbt's naming rules (schema <target>_<custom>, ...)
    config_path: Path | None = None  # the file the settings came from
    snapshot_paths: tuple[str, ...] = ("snapshots",)
    test_paths: tuple[str, ...] = ("tests",)
    docs_paths: tuple[str, ...] = ()
    packages_install_path: str = "dbt_packages"
    config_trees: Mapping[str, Any] = field(default_factory=dict)  # dbt: models/seeds/... trees
    on_run_start: tuple[str, ...] = ()
    on_run_end: tuple[str, ...] = ()
    dispatch: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (namespace, search order)
    vars_tree: Mapping[str, Any] = field(default_factory=dict)  # dbt: vars: as written
    warnings: tuple[Any, ...] = ()  # found while reading the settings file

    @property
    def pyproject(self) -> Path:
        return self.config_path or self.root / "pyproject.toml"

    @property
    def is_dbt(self) -> bool:
        return self.flavour == "dbt"

    @property
    def target_dir(self) -> Path:
        return self.root / self.target_path


@dataclass(frozen=True)
class Target:
    """One output of profiles.yml: where and how to build."""

    name: str
    profile: str
    type: str = "duckdb"
    path: str = ":memory:"
    schema: str = "main"
    threads: int = 1
    memory_limit: str | None = None
    extensions: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)  # engine-specific extras
    secrets: frozenset[str] = frozenset()  # values that came from env_var(): never print them
    profiles_path: Path | None = None  # the profiles.yml it came from (for error locations)
    warnings: tuple[ProjectError, ...] = ()  # e.g. threads lowered to MAX_THREADS

    def resolved_path(self, root: Path) -> str:
        if self.path == ":memory:" or self.path.startswith("md:"):
            return self.path
        return str((root / self.path).resolve())

    def public_dict(self) -> dict[str, Any]:
        """The target as shown to templates, logs and artifacts, secrets masked."""
        data = {
            "name": self.name,
            "profile_name": self.profile,
            "type": self.type,
            "path": self.path,
            "schema": self.schema,
            "threads": self.threads,
            "memory_limit": self.memory_limit,
            "extensions": list(self.extensions),
            "settings": dict(self.settings),
            **dict(self.options),
        }
        return _mask(data, self.secrets)


def _mask(value: Any, secrets: frozenset[str]) -> Any:
    if isinstance(value, str):
        return "****" if value in secrets else value
    if isinstance(value, Mapping):
        return {k: _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v, secrets) for v in value]
    return value


# ---------------------------------------------------------------------------- pyproject


def load_settings(project_dir: Path) -> ProjectSettings:
    root = project_dir.resolve()
    path = root / "pyproject.toml"
    dbt_file = dbt_project.find(root)
    if dbt_file is not None and not _has_runner_section(path):
        kwargs, warnings = dbt_project.load(root, dbt_file)
        return ProjectSettings(**kwargs, warnings=tuple(warnings))
    if not path.is_file():
        raise UsageError(
            f"no pyproject.toml or dbt_project.yml in {root}",
            hint="run from the project folder or pass --project-dir (env RUNNER_PROJECT_DIR)",
        )
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        raise ProjectError(
            f"invalid TOML: {exc}",
            path=path,
            line=int(match.group(1)) if match else None,
            hint="fix the TOML syntax at that line",
        ) from None
    tool = data.get("tool", {})
    section = tool.get("runner") if isinstance(tool, dict) else None
    if section is not None and not isinstance(section, dict):
        raise ProjectError(
            "[tool.runner] must be a table",
            path=path,
            line=_TomlLines(text, path).line("runner"),
            hint="write it as a section: [tool.runner] then name = '<project name>'",
        )
    if section is None:
        raise ProjectError(
            "pyproject.toml has no [tool.runner] section",
            path=path,
            hint="add [tool.runner] with at least name = '<project name>'",
        )
    where = _TomlLines(text, path)
    known = {
        "name",
        "profile",
        "model-paths",
        "seed-paths",
        "macro-paths",
        "target-path",
        "vars",
        "models",
        "seeds",
        "undeclared-tables",
        "validator",
        "snapshot-paths",
        "test-paths",
    }
    warnings = []
    for key in section:
        if key not in known:
            warnings.append(
                where.error(
                    key,
                    f"unknown setting '{key}' in [tool.runner] (ignored)",
                    did_you_mean(key, known) or f"known settings: {', '.join(sorted(known))}",
                )
            )
    name = section.get("name") or data.get("project", {}).get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name):
        raise where.error(
            "name",
            f"project name must be an identifier, got {name!r}",
            "set [tool.runner] name = 'my_project'",
        )
    name = name.replace("-", "_")
    policy = section.get("undeclared-tables", "warn")
    if policy not in UNDECLARED_TABLE_POLICIES:
        raise where.error(
            "undeclared-tables",
            f"undeclared-tables must be one of {UNDECLARED_TABLE_POLICIES}, got {policy!r}",
            "use 'warn' (default), 'error' or 'ignore'",
        )
    validator = section.get("validator", "gx")
    if validator not in VALIDATORS:
        raise where.error(
            "validator",
            f"validator must be one of {VALIDATORS}, got {validator!r}",
            "use 'gx' (Great Expectations, default) or 'sql' (plain SQL queries)",
        )
    vars_ = section.get("vars", {})
    if not isinstance(vars_, dict):
        raise where.error("vars", "[tool.runner.vars] must be a table", None)
    for kind in ("models", "seeds"):
        warnings += _check_folder_configs(section.get(kind, {}), where, kind)
    return ProjectSettings(
        root=root,
        name=name,
        profile=str(section.get("profile", name)),
        model_paths=_paths(section, "model-paths", ("models",), where, root),
        seed_paths=_paths(section, "seed-paths", ("seeds",), where, root),
        macro_paths=_paths(section, "macro-paths", ("macros",), where, root),
        snapshot_paths=_paths(section, "snapshot-paths", ("snapshots",), where, root),
        # Beside pyproject.toml, tests/ is pytest's (here it even holds a dbt project as a
        # fixture): singular SQL tests are read only from folders named in test-paths.
        test_paths=_paths(section, "test-paths", (), where, root, allow_empty=True),
        target_path=_target_path(section, where),
        vars=vars_,
        models=section.get("models", {}),
        seeds=section.get("seeds", {}),
        undeclared_tables=policy,
        validator=validator,
        warnings=tuple(warnings),
    )


def unused_folder_configs(
    settings: ProjectSettings, kind: str, node_parts: set[tuple[str, ...]]
) -> list[ProjectError]:
    """A warning per ``[tool.runner.<kind>.<folder>]`` table that no node lies under (a
    misspelt folder would lose its configs without a word). ``node_parts``: the folders
    and name of each node below its path. dbt_project.yml trees are not checked here."""
    if settings.is_dbt:
        return []
    tree = settings.models if kind == "models" else settings.seeds
    prefixes = {parts[:n] for parts in node_parts for n in range(1, len(parts) + 1)}
    unused: list[tuple[str, ...]] = []

    def walk(level: Mapping[str, Any], trail: tuple[str, ...]) -> None:
        for key, value in level.items():
            if key.startswith("+") or not isinstance(value, Mapping):
                continue
            if key in CONFIGS["model" if kind == "models" else "seed"]:
                continue  # a config whose value is a table (meta, column_types, ...)
            path = (*trail, key)
            if path not in prefixes:
                unused.append(path)
            else:
                walk(value, path)

    walk(tree, ())
    if not unused:
        return []
    pyproject = settings.root / "pyproject.toml"
    where = _TomlLines(pyproject.read_text(encoding="utf-8"), pyproject)
    known = sorted({p[-1] for p in prefixes})
    warnings = []
    for path in unused:
        section = ".".join(("tool.runner", kind, *path))
        warnings.append(
            ProjectError(
                f"[{section}] applies to no {kind[:-1]}: no folder or {kind[:-1]} named "
                f"'{path[-1]}' there",
                path=pyproject,
                line=where.line(path[-1], section) or where.line(path[-1]),
                hint=did_you_mean(path[-1], known) or "fix the folder name or remove the table",
            )
        )
    return warnings


def _has_runner_section(path: Path) -> bool:
    """Whether pyproject.toml has [tool.runner] (it wins over a dbt_project.yml beside it)."""
    if not path.is_file():
        return False
    try:
        return "runner" in tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
    except tomllib.TOMLDecodeError:
        return True  # let load_settings report the syntax error


def check_target_dir(settings: ProjectSettings) -> Path:
    """Create the target folder if needed and make sure a file can be written in it, so a
    command that cannot write its artifacts stops before doing anything (exit 2)."""
    folder = settings.target_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
        reason = exc.strerror or type(exc).__name__
        if blocker is not None and not blocker.is_dir():
            inside = blocker.is_relative_to(settings.root)
            why = f"{blocker.relative_to(settings.root) if inside else blocker} is a file"
        elif folder.is_dir():
            why = f"cannot write a file in it ({reason})"
        else:
            why = f"cannot create it ({reason})"
        shown = settings.target_path
        text = read_text(settings.pyproject)
        if settings.is_dbt:
            line = line_containing(text, "target-path")
        else:
            line = _TomlLines(text, settings.pyproject).line("target-path")
        raise ProjectError(
            f"cannot write to the target folder {shown}: {why}",
            path=settings.pyproject,
            line=line,
            hint=f"set {'' if settings.is_dbt else '[tool.runner] '}target-path to a folder "
            "the runner can create and write "
            "(default: target), or free that path; nothing was run",
        ) from None
    return folder


class _TomlLines:
    """Finds the line of a key in the TOML text, for errors (tomllib gives no positions)."""

    def __init__(self, text: str, path: Path) -> None:
        self.lines = text.splitlines()
        self.path = path

    def line(self, key: str, section: str | None = None) -> int | None:
        """The line of ``key`` under ``[section]`` (default: any [tool.runner...] table);
        failing that, its first line anywhere under [tool.runner] (inline tables)."""
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=|^\s*\[.*\b{re.escape(key)}\]")
        fallback = None
        in_runner = in_section = False
        for number, text in enumerate(self.lines, 1):
            stripped = text.strip()
            if stripped.startswith("["):
                header = stripped.strip("[]").replace(" ", "")
                in_runner = header.startswith("tool.runner")
                in_section = section is None or header == section
            if in_runner and pattern.search(text):
                if in_section:
                    return number
                fallback = fallback or number
        return fallback

    def error(self, key: str, message: str, hint: str | None) -> ProjectError:
        return ProjectError(message, path=self.path, line=self.line(key), hint=hint)


def _paths(
    section: Mapping,
    key: str,
    default: tuple[str, ...],
    where: _TomlLines,
    root: Path,
    *,
    allow_empty: bool = False,
) -> tuple:
    value = section.get(key, list(default))
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or (not value and not allow_empty)
        or not all(isinstance(v, str) and v.strip() and "\0" not in v for v in value)
    ):
        raise where.error(
            key, f"{key} must be a list of folder names, got {value!r}", f'e.g. {key} = ["models"]'
        )
    if key in section:  # written by the user: a folder of the project (models: existing)
        for folder in value:
            full = root / folder
            if full.is_dir() or (not full.exists() and key != "model-paths"):
                continue
            what = "is a file, not a folder" if full.exists() else "does not exist"
            raise where.error(
                key,
                f"{key}: '{folder}' {what}",
                f"create the folder {folder}/, or fix {key} in [tool.runner]",
            )
    return tuple(value)


def _target_path(section: Mapping, where: _TomlLines) -> str:
    value = section.get("target-path", "target")
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise where.error(
            "target-path",
            f"target-path must be a folder name, got {value!r}",
            'e.g. target-path = "target" (a folder inside the project, created if missing)',
        )
    return value


def _check_folder_configs(
    tree: Any, where: _TomlLines, kind: str, trail: str = ""
) -> list[ProjectError]:
    """Check a per-folder config tree (``[tool.runner.models.*]``): a '+key' or a known
    config key is a config, a table under another name is a folder. Raises on a wrong
    value; returns warnings for unknown keys."""
    section = f"tool.runner.{kind}{trail}"
    if not isinstance(tree, dict):
        raise where.error(kind, f"[{section}] must be a table", "e.g. [tool.runner.models.marts]")
    node_kind = "model" if kind == "models" else "seed"
    rules = CONFIGS[node_kind]
    configs = {
        k: v for k, v in tree.items() if k.startswith("+") or k in rules or not isinstance(v, dict)
    }
    warnings = check_config(
        configs,
        node_kind,
        path=where.path,
        line_of=lambda key: where.line(key, section),
        where=f"[{section}]",
    )
    for key, value in tree.items():
        if key not in configs:
            warnings += _check_folder_configs(value, where, kind, f"{trail}.{key}")
    return warnings


_HOOK_SPELLINGS = {"pre-hook": "pre_hook", "post-hook": "post_hook"}


def folder_config(tree: Mapping[str, Any], parts: tuple[str, ...]) -> dict[str, Any]:
    """Merge configs down a folder path the way dbt_project.yml does.

    ``parts`` are the folders (and finally the node name) below the model path.
    Deeper levels override; ``tags`` accumulate and ``meta`` merges.
    """
    merged: dict[str, Any] = {}
    level: Mapping[str, Any] | None = tree
    for part in (None, *parts):
        if part is not None:
            nxt = level.get(part) if level is not None else None
            level = nxt if isinstance(nxt, Mapping) else None
        if level is None:
            break
        for key, value in level.items():
            config_key = key.lstrip("+")
            if not (key.startswith("+") or config_key in MODEL_CONFIG_KEYS):
                continue  # a folder (or an unknown key, warned about when loaded)
            merge_config(merged, {_HOOK_SPELLINGS.get(config_key, config_key): value})
    return merged


def merge_trees(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Two config trees as one, ``over`` winning key by key at every level."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_trees(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_config(into: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """dbt's config precedence: later wins, except tags (union) and meta (merged)."""
    for key, value in new.items():
        if key == "tags":
            tags = [value] if isinstance(value, str) else list(value)
            into["tags"] = list(dict.fromkeys([*into.get("tags", []), *tags]))
        elif key == "meta" and isinstance(value, Mapping):
            into["meta"] = {**into.get("meta", {}), **value}
        else:
            into[key] = value
    return into


# ---------------------------------------------------------------------------- profiles


def load_target(
    settings: ProjectSettings, profiles_dir: Path | None, target_name: str | None
) -> Target:
    """Read profiles.yml (rendering ``env_var`` first) and return the chosen target."""
    path = profiles_file(settings, profiles_dir)
    text, secrets = _render_profiles(path)
    redaction.register(secrets)  # from here on, a command's output masks them
    data = load_yaml(text, path)
    raw_text = read_text(path)
    if not isinstance(data, dict) or settings.profile not in data:
        raise ProjectError(
            f"profile '{settings.profile}' not found in profiles.yml",
            path=path,
            line=1,
            hint=f"add a top-level key '{settings.profile}:' with 'target:' and 'outputs:', "
            "or set [tool.runner] profile",
        )
    profile = data[settings.profile]
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise ProjectError(
            f"profile '{settings.profile}' needs an 'outputs:' mapping of targets",
            path=path,
            line=line_of(data, settings.profile),
            hint="e.g. outputs: {dev: {type: duckdb, path: target/dev.duckdb}}",
        )
    outputs: LineDict = profile["outputs"]
    chosen = target_name if target_name is not None else profile.get("target", "dev")
    _check_env_vars_set([chosen], raw_text, path)  # target: "{{ env_var('DBT_TARGET') }}"
    if not isinstance(chosen, str) or not chosen or chosen not in outputs:
        given = "--target" if target_name is not None else "target:"
        raise ProjectError(
            f"target {chosen!r} is not defined in profile '{settings.profile}' ({given})",
            path=path,
            line=line_of(profile, "target") if target_name is None else line_of(outputs),
            hint=f"defined targets: {', '.join(map(str, outputs))}; name one of them "
            "(target: dev, or --target dev)",
        )
    _check_env_vars_set(outputs[chosen], raw_text, path)
    target = _make_target(str(chosen), settings.profile, outputs[chosen], path, secrets)
    unknown = [
        ProjectError(
            f"profile '{settings.profile}': unknown key '{key}'",
            path=path,
            line=line_of(profile, key),
            hint=did_you_mean(str(key), _PROFILE_KEYS)
            or "a profile holds 'target:' and 'outputs:'",
        )
        for key in profile
        if key not in _PROFILE_KEYS
    ]
    if unknown:
        target = replace(target, warnings=(*unknown, *target.warnings))
    redaction.register(_secret_path_forms(target, settings))
    return target


_PROFILE_KEYS = ("target", "outputs")


def profiles_file(settings: ProjectSettings, profiles_dir: Path | None) -> Path:
    """Where profiles.yml is: --profiles-dir, else (as dbt looks) $DBT_PROFILES_DIR, the
    project folder, the current folder, then ~/.dbt (a runner project: its own folder)."""
    if profiles_dir is not None:
        candidates = [profiles_dir]
    elif settings.is_dbt:
        env = os.environ.get("DBT_PROFILES_DIR")
        candidates = [*([Path(env)] if env else []), settings.root, Path.cwd()]
        candidates.append(Path.home() / ".dbt")
    else:
        candidates = [settings.root]
    for directory in candidates:
        path = directory.resolve() / "profiles.yml"
        if path.is_file():
            return path
    looked = ", ".join(str(d.resolve()) for d in dict.fromkeys(candidates))
    raise UsageError(
        f"no profiles.yml in {looked}",
        hint="create profiles.yml in the project folder or pass --profiles-dir "
        "(env RUNNER_PROFILES_DIR)",
    )


def _secret_path_forms(target: Target, settings: ProjectSettings) -> set[str]:
    """How a database or serving path from env_var() shows in messages: resolved ('./x'
    is shown '/abs/x'), and its folder, where DuckDB names .wal and temporary files. Not
    the project folder, the target folder or above them: that would mask every path."""
    keep = {settings.root, settings.target_dir.resolve(), *settings.root.parents}
    forms = set()
    for value in (target.path, target.options.get("serve_path")):
        if not isinstance(value, str) or value not in target.secrets:
            continue
        if value == ":memory:" or value.startswith("md:"):
            continue
        resolved = (settings.root / value).resolve()
        forms.add(str(resolved))
        if resolved.parent not in keep:
            forms.add(str(resolved.parent))
    return forms


# An unset env_var() renders as this marker; only the chosen target must be free of it,
# as dbt renders only the target it uses (jaffle_shop_duckdb's profiles.yml has MotherDuck
# targets whose token a local build never sets).
_MISSING_ENV = "__runner_unset_env_var__"
_MISSING_ENV_RE = re.compile(_MISSING_ENV + r"(\w+)__")


def _check_env_vars_set(raw: Any, text: str, path: Path) -> None:
    """Fail on the first env_var() without a value or a default in the chosen target."""
    values = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else [raw]
    for value in values:
        if isinstance(value, (dict, list)):
            _check_env_vars_set(value, text, path)
        elif isinstance(value, str) and (found := _MISSING_ENV_RE.search(value)):
            name = found.group(1)
            raise ProjectError(
                f"environment variable '{name}' is not set",
                path=path,
                line=line_containing(text, name),
                hint=f"export {name}=... or give a default: env_var('{name}', 'value')",
            )


def _render_profiles(path: Path) -> tuple[str, frozenset[str]]:
    """Render ``{{ env_var('X', 'default') }}`` in profiles.yml; remember values as secrets.
    An unset variable without a default renders as a marker that ``load_target`` refuses
    in the chosen target only."""
    text = read_text(path)
    if "{{" not in text and "{%" not in text:
        return text, frozenset()
    import jinja2

    secrets: set[str] = set()

    def env_var(name: str, default: Any = None) -> str:
        if name in os.environ:
            value = os.environ[name]
            secrets.add(value)
            return value
        if default is None:
            if not re.fullmatch(r"\w+", name):
                raise ProjectError(
                    f"environment variable '{name}' is not set",
                    path=path,
                    line=line_containing(text, name),
                    hint=f"export {name}=... or give a default: env_var('{name}', 'value')",
                )
            return f"{_MISSING_ENV}{name}__"
        return str(default)

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        rendered = env.from_string(text).render(env_var=env_var)
    except jinja2.TemplateSyntaxError as exc:
        raise ProjectError(f"template error: {exc.message}", path=path, line=exc.lineno) from None
    except jinja2.UndefinedError as exc:
        raise ProjectError(
            f"template error: {exc.message}",
            path=path,
            line=_template_line(exc),
            hint="only env_var('NAME', 'default') is available in profiles.yml",
        ) from None
    except ProjectError:
        raise
    except Exception as exc:  # e.g. {{ 1/0 }}: a Python error inside an expression
        raise ProjectError(
            f"template error: {type(exc).__name__}: {exc}",
            path=path,
            line=_template_line(exc),
            hint="fix the {{ ... }} expression; profiles.yml takes env_var('NAME', 'default')",
        ) from None
    return rendered, frozenset(s for s in secrets if s)


def _template_line(exc: BaseException) -> int | None:
    """The line of a string template (Jinja's frames carry it) an exception came from."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def line_containing(text: str, needle: str) -> int | None:
    """The first line of ``text`` that contains ``needle`` (for error locations)."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return None


_TARGET_KEYS = {
    "type",
    "path",
    "schema",
    "threads",
    "memory_limit",
    "extensions",
    "settings",
}


# Keys a target may hold beyond _TARGET_KEYS, by engine type (read through Target.options).
_SHARED_OPTION_KEYS = {"sources", "serve_path", "serve_schema", "serve_storage_version"}
_OPTION_KEYS = {
    "duckdb": _SHARED_OPTION_KEYS,
    "spark": _SHARED_OPTION_KEYS | {"master", "remote", "shuffle_partitions"},
}
# dbt adapters' profile settings the runner has no use for: a dbt project's profiles.yml
# may hold them, so they are named as such rather than as typos.
_DBT_PROFILE_KEYS = {
    "database",
    "attach",
    "plugins",
    "filesystems",
    "external_root",
    "module_paths",
    "secrets",
    "keep_open",
    "disable_transactions",
    "retries",
    "config_options",
    "use_credential_provider",
    "is_ducklake",
    "host",
    "port",
    "user",
    "method",
    "cluster",
    "connect_retries",
    "connect_timeout",
}


def _unknown_target_keys(
    name: str, engine: str, raw: Mapping[str, Any], path: Path
) -> list[ProjectError]:
    """A warning per key of the target the runner does not read: a misspelt ``threads``
    or ``type`` would otherwise fall back to its default without a word."""
    known = _TARGET_KEYS | _OPTION_KEYS.get(engine, set())
    warnings = []
    for key in raw:
        if key in known:
            continue
        if key in _DBT_PROFILE_KEYS:
            message = f"target '{name}': '{key}' (a dbt adapter setting) is not used by the runner"
            hint = "remove it, or keep it for dbt; the runner ignores it"
        else:
            message = f"target '{name}': unknown key '{key}'"
            hint = did_you_mean(str(key), known) or f"known keys: {', '.join(sorted(known))}"
        warnings.append(ProjectError(message, path=path, line=line_of(raw, key), hint=hint))
    return warnings


def _make_target(name: str, profile: str, raw: Any, path: Path, secrets: frozenset[str]) -> Target:
    if not isinstance(raw, dict):
        raise ProjectError(
            f"target '{name}' must be a mapping",
            path=path,
            line=line_of(raw),
            hint="e.g. dev: {type: duckdb, path: target/dev.duckdb}",
        )

    def fail(key: str, message: str, hint: str | None = None) -> ProjectError:
        return ProjectError(message, path=path, line=line_of(raw, key), hint=hint)

    engine = raw.get("type", "duckdb")
    if engine in PLANNED_ENGINE_TYPES and engine not in ENGINE_TYPES:
        raise fail(
            "type",
            f"target '{name}' has type {engine!r}, which this version of the runner cannot "
            "build on yet",
            f"use one of: {', '.join(ENGINE_TYPES)}",
        )
    if engine not in ENGINE_TYPES:
        raise fail(
            "type",
            f"target '{name}' has unknown type {engine!r}",
            f"use one of: {', '.join(ENGINE_TYPES)}",
        )
    threads = raw.get("threads", 1)
    if isinstance(threads, str) and threads.isdigit():
        threads = int(threads)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise fail(
            "threads", f"threads must be a positive integer, got {threads!r}", "e.g. threads: 2"
        )
    warnings = _unknown_target_keys(name, engine, raw, path)
    if threads > MAX_THREADS:
        warnings.append(
            fail(
                "threads",
                f"threads: {threads} is more than the runner uses; building with {MAX_THREADS}",
                f"set threads to at most {MAX_THREADS} (about the number of CPU cores is best)",
            )
        )
        threads = MAX_THREADS
    db_path = raw.get("path", ":memory:")
    if not isinstance(db_path, str) or not db_path:
        raise fail(
            "path", "path must be a file name or ':memory:'", "e.g. path: target/warehouse.duckdb"
        )
    extensions = raw.get("extensions", [])
    if not isinstance(extensions, list) or not all(isinstance(e, str) for e in extensions):
        raise fail(
            "extensions",
            "extensions must be a list of extension names",
            "e.g. extensions: [parquet, httpfs]",
        )
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise fail(
            "settings",
            "settings must be a mapping of DuckDB settings",
            "e.g. settings: {preserve_insertion_order: false}",
        )
    schema = raw.get("schema", "main")
    if not isinstance(schema, str) or not schema:
        raise fail("schema", "schema must be a non-empty name", "e.g. schema: main")
    memory_limit = raw.get("memory_limit")
    if memory_limit is not None and not _valid_memory(memory_limit):
        raise fail(
            "memory_limit",
            f"memory_limit must be {MEMORY_FORMS}; got {memory_limit!r}",
            "e.g. memory_limit: 4GB (leave it out for DuckDB's default, 80% of RAM)",
        )
    if engine == "spark":
        _check_spark_target(raw, fail)
    return Target(
        name=name,
        profile=profile,
        type=engine,
        path=db_path,
        schema=schema,
        threads=threads,
        memory_limit=str(memory_limit) if memory_limit is not None else None,
        extensions=tuple(extensions),
        settings=dict(settings),
        options={k: v for k, v in raw.items() if k not in _TARGET_KEYS},
        secrets=secrets,
        profiles_path=path,
        warnings=tuple(warnings),
    )


# local, local[2], local[*], local[2,3] (retries), spark://host:7077, yarn, k8s://...
_SPARK_MASTER = re.compile(r"local(\[(\d+|\*)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn")
# sc://host[:port][/;param=value...]; "local[...]" is pyspark's own in-process server
_SPARK_REMOTE = re.compile(r"sc://[^\s/:;]+(:\d{1,5})?(/.*)?|local(\[(\d+|\*)\])?")


def _check_spark_target(raw: Mapping[str, Any], fail: Any) -> None:
    """A Spark target's own keys: master or remote (not both), their forms, and
    shuffle_partitions (unknown keys are warned about with every target's)."""
    master, remote = raw.get("master"), raw.get("remote")
    if master is not None and remote is not None:
        raise fail(
            "remote",
            "a Spark target has master (Spark in this process) or remote (a Spark Connect "
            "server), not both",
            "keep master: local[2] for a local build, or remote: sc://host:15002 for a cluster",
        )
    if master is not None and not (isinstance(master, str) and _SPARK_MASTER.fullmatch(master)):
        raise fail(
            "master",
            f"master must be a Spark master URL, got {master!r}",
            "e.g. master: local[2] (or spark://host:7077, yarn)",
        )
    if remote is not None and not (isinstance(remote, str) and _SPARK_REMOTE.fullmatch(remote)):
        raise fail(
            "remote",
            f"remote must be a Spark Connect URL sc://host[:port], got {remote!r}",
            "e.g. remote: sc://spark.example.com:15002 (15002 is Spark Connect's port)",
        )
    partitions = raw.get("shuffle_partitions")
    if partitions is not None and (
        not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1
    ):
        raise fail(
            "shuffle_partitions",
            f"shuffle_partitions must be a positive integer, got {partitions!r}",
            "e.g. shuffle_partitions: 4 (Spark's 200 is for clusters)",
        )


def _valid_memory(value: Any) -> bool:
    if not isinstance(value, str) or not _MEMORY.fullmatch(value):
        return False
    number = float(re.match(r"\s*([\d.]+)", value).group(1))  # type: ignore[union-attr]
    return number > 0 and (not value.strip().endswith("%") or number <= 100)


def parse_vars(text: str | None) -> dict[str, Any]:
    """``--vars`` as YAML or JSON (JSON is YAML); must be a mapping."""
    if not text:
        return {}
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(
            f"--vars is not valid YAML or JSON: {exc}", hint="e.g. --vars '{churn_window_days: 60}'"
        ) from None
    except RecursionError:
        raise UsageError(
            "--vars is nested too deeply to read",
            hint="flatten it: a var's value can be a mapping or list a few levels deep",
        ) from None
    if not isinstance(value, dict):
        raise UsageError(
            f"--vars must be a mapping, got {text!r}", hint="e.g. --vars '{churn_window_days: 60}'"
        )
    return value
