"""Discover a project's files and turn them into nodes and a graph.

Parsing a model means rendering it once with recording ``ref``/``source``/
``config``. The result is cached by everything it can depend on, so an
unchanged project re-parses nothing and does not even import Jinja.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from .cache import ParseCache, digest, text_hash
from .config_schema import check_config, check_keys, did_you_mean
from .errors import ErrorGroup, ProjectError, RunnerError
from .files import builtin_macro_files, check_no_nul, csv_header, decode, read_text
from .freshness import declared_rule
from .graph import Graph, build_graph
from .nodes import (
    MATERIALIZATIONS,
    Column,
    Macro,
    Model,
    Node,
    RefCall,
    Relation,
    Seed,
    Snapshot,
    Source,
    SourceCall,
)
from .parallel import Workers
from .project import (
    ProjectSettings,
    Target,
    folder_config,
    line_containing,
    merge_config,
    merge_trees,
    unused_folder_configs,
)
from .yamlio import LineDict, LineList, line_of, load_yaml, with_line

EXPECTATION_KEYS = ("expectations", "data_tests", "tests")
# dbt properties the runner reads besides models, seeds and sources
DBT_PROPERTIES = ("snapshots", "unit_tests", "macros")
# dbt properties the runner does not build: said once per run, with where they are
UNSUPPORTED_PROPERTIES = (
    "semantic_models",
    "metrics",
    "saved_queries",
    "exposures",
    "groups",
    "analyses",
)


@dataclass
class Project:
    """A parsed project: settings, target, nodes, macros and the graph joining them."""

    settings: ProjectSettings
    target: Target
    vars: dict[str, Any]
    graph: Graph
    macros: dict[str, Macro]
    disabled: list[Node] = field(default_factory=list)
    warnings: list[RunnerError] = field(default_factory=list)
    cache: ParseCache | None = None
    unit_tests: dict[str, list[Any]] = field(default_factory=dict)  # by model name
    _loader: _Loader | None = None

    @property
    def models(self) -> list[Model]:
        return [n for n in self.graph if isinstance(n, Model)]

    def renderer(self) -> Any:
        """The Jinja renderer (created on first use: warm parses never need it)."""
        assert self._loader is not None
        renderer = self._loader.renderer
        if renderer.graph_provider is None:
            built: list[Any] = []

            def graph() -> Any:  # built on first use, once
                if not built:
                    from . import dbt_graph

                    path = self.target.path
                    database = "memory" if path == ":memory:" else PurePosixPath(path).stem
                    built.append(dbt_graph.build(self.graph, database))
                return built[0]

            renderer.graph_provider = graph
        return renderer


def load_project(
    settings: ProjectSettings,
    target: Target,
    cli_vars: Mapping[str, Any] | None = None,
    *,
    use_cache: bool = True,
) -> Project:
    """Read every file of the project, parse models, and build the graph."""
    vars_ = {**settings.vars, **(cli_vars or {})}
    cache = ParseCache(settings.target_dir / ".cache" / "parse.pickle" if use_cache else None)
    loader = _Loader(settings, target, vars_, cache, dict(cli_vars or {}))
    return loader.load()


class _Loader:
    def __init__(
        self,
        settings: ProjectSettings,
        target: Target,
        vars_: dict[str, Any],
        cache: ParseCache,
        cli_vars: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.root = settings.root
        self.target = target
        self.vars = vars_
        self.cache = cache
        self.errors: list[RunnerError] = []
        self.warnings: list[RunnerError] = [*settings.warnings, *target.warnings]
        # dbt reads generic tests ({% test %} blocks) from tests/generic too
        generic_tests = (
            tuple(f"{p}/generic" for p in settings.test_paths) if settings.is_dbt else ()
        )
        macro_paths = self._files((*settings.macro_paths, *generic_tests), ".sql")
        self.macro_files = [(p, read_text(self.root / p, shown=p)) for p in macro_paths]
        from .packages import installed

        self.packages = installed(self.root, settings.packages_install_path)
        self.package_vars = self._package_vars(cli_vars or {})
        self.package_macro_files = {
            package.name: [
                (p, read_text(self.root / p, shown=p))
                for p in self._files(tuple(map(str, package.macro_paths)), ".sql")
            ]
            for package in self.packages
        }

    # ------------------------------------------------------------------ files

    def _files(self, folders: tuple[str, ...], *suffixes: str) -> Iterator[PurePosixPath]:
        found = []
        for folder in folders:
            base = self.root / folder
            if not base.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for filename in filenames:
                    if filename.endswith(suffixes) and not filename.startswith("."):
                        full = Path(dirpath) / filename
                        found.append(PurePosixPath(full.relative_to(self.root).as_posix()))
        return iter(sorted(found))

    # ------------------------------------------------------------------ lazily built

    @cached_property
    def renderer(self) -> Any:
        from .templating import Renderer, TemplateCode

        def code_cache(key: str) -> TemplateCode | None:
            data = self.cache.get("jinja", key)
            return TemplateCode.loads(data) if data is not None else None

        def code_store(key: str, code: TemplateCode) -> None:
            self.cache.put("jinja", key, code.dumps())

        def macro_file_cache(key: str) -> Any:
            return self.cache.get("jinja", key)

        def macro_file_store(key: str, value: Any) -> None:
            self.cache.put("jinja", key, value)

        return Renderer(
            vars=self.vars,
            target=self.target_context,
            macro_files=self.macro_files,
            code_cache=code_cache,
            code_store=code_store,
            macro_file_cache=macro_file_cache,
            macro_file_store=macro_file_store,
            packages=self.package_macro_files,
            project_name=self.settings.name,
            dispatch=self.settings.dispatch,
            package_vars={str(p.root): self.package_vars[p.name] for p in self.packages},
        )

    def _check_contracts(
        self, models: list[Model], entries: Mapping[str, tuple[LineDict, Any]]
    ) -> None:
        """Contracted models declare a type for every column (runner/contracts.py)."""
        from . import contracts

        for model in models:
            if not contracts.enforced(model):
                continue
            entry = entries.get(model.name, (None, None))[0] or {}
            columns = entry.get("columns") or []
            constraints = "constraints" in entry or any(
                isinstance(c, Mapping) and "constraints" in c for c in columns
            )
            try:
                contracts.check_declaration(model, constraints)
            except ProjectError as exc:
                self.errors.append(exc)

    def _custom_materializations(self) -> list[tuple[str, PurePosixPath, int]]:
        files = [*self.macro_files, *(f for fs in self.package_macro_files.values() for f in fs)]
        files = [(path, text) for path, text in files if "materialization" in text]
        if not files:
            return []  # templating (jinja2) is not imported for nothing
        from .templating import materializations_in

        return [
            (name, path, line) for path, text in files for name, line in materializations_in(text)
        ]

    def _package_vars(self, cli_vars: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """What var() returns in each package's own models (see dbt_project.package_vars)."""
        from .dbt_project import package_vars

        names = [p.name for p in self.packages]
        return {
            p.name: package_vars(p.vars, p.name, self.settings.vars_tree, names, cli_vars)
            for p in self.packages
        }

    @cached_property
    def target_context(self) -> dict[str, Any]:
        """The target as templates see it (secrets masked): once per load, not per model."""
        return self.target.public_dict()

    @cached_property
    def macros(self) -> dict[str, Macro]:
        key = digest([(str(p), text_hash(t)) for p, t in self.macro_files])
        cached = self.cache.get("macros", key)
        if cached is not None:
            return cached
        macros = dict(self.renderer.macros)
        self.cache.put("macros", key, macros)
        return macros

    @cached_property
    def context_key(self) -> str:
        """Everything outside a model file that its render may depend on."""
        return digest(
            self.vars,
            self.package_vars,
            self.target_context,
            sorted(self.target.secrets),
            [(str(p), text_hash(t)) for p, t in self.macro_files],
            {
                k: [(str(p), text_hash(t)) for p, t in v]
                for k, v in self.package_macro_files.items()
            },
            [text_hash(t) for _, t in builtin_macro_files()],
            self.settings.dispatch,
            self.settings.flavour,
        )

    # ------------------------------------------------------------------ load

    def load(self) -> Project:
        properties = self._load_properties()
        if properties.unsupported:
            self.warnings.append(_unsupported_warning(properties.unsupported))
        materializations = self._custom_materializations()
        if materializations:
            where = ", ".join(f"'{name}' ({p}:{n})" for name, p, n in materializations)
            self.warnings.append(
                ProjectError(
                    f"custom materializations are not supported by the runner, not used: {where}",
                    path=materializations[0][1],
                    line=materializations[0][2],
                    hint="a model configured with one of them is refused; the runner builds "
                    "view, table, incremental and ephemeral models",
                )
            )
        all_seeds = self._load_seeds(properties.seeds)
        # `+enabled: false` on a seed folder (jaffle-shop's seeds are enabled only with
        # --vars '{load_source_data: true}'): the seed is not loaded, as in dbt.
        seeds = [seed for seed in all_seeds if seed.enabled]
        all_sources = self._load_sources(properties.sources)
        # `enabled: false` on a source (its YAML config, or dbt_project.yml's sources: tree)
        sources = [source for source in all_sources if source.enabled]
        self._snapshot_entries = properties.snapshots
        models, disabled_models = self._load_models(properties.models)
        self._check_contracts(models, properties.models)
        disabled: list[Node] = [
            *disabled_models,
            *(s for s in all_seeds if not s.enabled),
            *(s for s in all_sources if not s.enabled),
        ]
        docs = self._docs_blocks()
        if docs is not None:
            seeds, sources, models = (
                [_with_docs(n, docs) for n in nodes] for nodes in (seeds, sources, models)
            )
        model_names = {m.name for m in [*models, *disabled]}
        for name, (path, line) in properties.model_lines.items():
            if name not in model_names:
                self.warnings.append(
                    ProjectError(
                        f"YAML documents a model '{name}' that does not exist",
                        path=path,
                        line=line,
                        hint="fix the name or remove the entry",
                    )
                )
        own = self.settings.name
        for kind, nodes in (("models", [*models, *disabled]), ("seeds", seeds)):
            parts = {n.fqn[1:] for n in nodes if n.fqn and n.fqn[0] == own}
            self.warnings += unused_folder_configs(self.settings, kind, parts)
        seed_names = {s.name for s in seeds}
        for name, (_entry, (path, line)) in properties.seeds.items():
            if name not in seed_names:  # its column_types would be lost without a word
                self.warnings.append(
                    ProjectError(
                        f"YAML documents a seed '{name}' that has no CSV file",
                        path=path,
                        line=line,
                        hint=did_you_mean(str(name), seed_names)
                        or f"fix the name or add {name}.csv under a seed path",
                    )
                )
        from .sources import relation_clashes

        self.errors.extend(relation_clashes(sources, seeds, dbt_project=self.settings.is_dbt))
        if self.errors:
            raise self.errors[0] if len(self.errors) == 1 else ErrorGroup(self.errors)
        graph = build_graph(
            models, seeds, sources, disabled, source_parents=self._source_seeds(sources, seeds)
        )
        return Project(
            settings=self.settings,
            target=self.target,
            vars=self.vars,
            graph=graph,
            macros=self.macros,
            disabled=disabled,
            warnings=self.warnings,
            unit_tests=self._unit_tests(properties.unit_tests, model_names),
            cache=self.cache,
            _loader=self,
        )

    def _unit_tests(self, entries: list, model_names: set[str]) -> dict[str, list[Any]]:
        from .unit_tests import parse

        tests = parse(entries)
        for name, found in tests.items():
            if name not in model_names:
                first = found[0]
                raise ProjectError(
                    f"unit test '{first.name}' tests '{name}', which is not a model",
                    path=first.path,
                    line=first.line,
                    hint="model: names the model under test",
                )
        return tests

    def _docs_blocks(self) -> dict[str, str] | None:
        """``{% docs name %}...{% enddocs %}`` blocks of the .md files in the project's and
        packages' folders, for ``{{ doc('name') }}`` in descriptions (None: no .md files)."""
        settings = self.settings
        folders = (
            *settings.model_paths,
            *settings.seed_paths,
            *settings.macro_paths,
            *settings.snapshot_paths,
            *settings.docs_paths,
            *(str(p) for pkg in self.packages for p in (*pkg.model_paths, *pkg.macro_paths)),
        )
        files = list(self._files(folders, ".md"))
        if not files:
            return None
        blocks: dict[str, str] = {}
        for path in files:
            for match in _DOCS.finditer(read_text(self.root / path, shown=path)):
                blocks[match.group(1)] = match.group(2).strip()
        return blocks

    def _source_seeds(self, sources: list[Source], seeds: list[Seed]) -> dict[str, str]:
        """Source -> the seed it reads, for sources loaded from seeds (a DAG edge)."""
        from .sources import seed_for, source_locations

        locations = source_locations(  # a location that is not there: refused here
            self.target,
            self.vars,
            self.root,
            profiles_path=self.target.profiles_path,
            must_exist=True,
        )
        seed_ids = {seed.name: seed.unique_id for seed in seeds}
        edges = {}
        for source in sources:
            location = locations.for_source(source.source_name)
            if location.kind == "seeds":
                seed = seed_ids.get(seed_for(source, location))
                if seed is not None:  # a missing seed is reported when the source is built
                    edges[source.unique_id] = seed
        return edges

    def _yaml(self, path: PurePosixPath) -> Any:
        """A properties file, parsed (cached by content: YAML parsing is a warm run's
        largest single cost)."""
        text = read_text(self.root / path, shown=path)
        key = text_hash(text)
        cached = self.cache.get("yaml", key)
        if cached is None:
            cached = (load_yaml(text, path),)
            self.cache.put("yaml", key, cached)
        return cached[0]

    def _load_properties(self) -> _Properties:
        props = _Properties()
        settings = self.settings
        folders = (*settings.model_paths, *settings.seed_paths, *settings.snapshot_paths)
        for path in self._files(folders, ".yml", ".yaml"):
            data = self._yaml(path)
            if data is None:
                continue
            if not isinstance(data, dict):
                raise ProjectError(
                    "a properties file must be a mapping",
                    path=path,
                    line=1,
                    hint="top-level keys: models, seeds, sources",
                )
            self._check_keys(data, "top", path)
            for key in data:
                if key in UNSUPPORTED_PROPERTIES:
                    props.unsupported.setdefault(str(key), []).append((path, line_of(data, key)))
            for kind in ("models", "seeds"):
                for entry, line in _entries(data, kind, path):
                    name = entry.get("name")
                    if not isinstance(name, str):
                        raise ProjectError(
                            f"each entry under '{kind}' needs a name", path=path, line=line
                        )
                    target = props.models if kind == "models" else props.seeds
                    if name in target:
                        first = target[name][1]
                        raise ProjectError(
                            f"'{name}' is documented twice: {first[0]}:{first[1]} "
                            f"and {path}:{line}",
                            path=path,
                            line=line,
                            hint="merge the two entries into one",
                        )
                    self._check_keys(entry, kind[:-1], path, name)
                    if kind == "models":
                        _refuse_versions(entry, path, name)
                    target[name] = (entry, (path, line))
                    if kind == "models":
                        props.model_lines[name] = (path, line)
            for entry, line in _entries(data, "snapshots", path):
                name = entry.get("name")
                if not isinstance(name, str):
                    raise ProjectError("each snapshot entry needs a name", path=path, line=line)
                props.snapshots.append((entry, path, line))
            for entry, line in _entries(data, "unit_tests", path):
                props.unit_tests.append((entry, path, line))
            for entry, line in _entries(data, "sources", path):
                self._check_keys(entry, "source", path, entry.get("name"))
                props.sources.append((entry, path, line))
        return props

    def _check_keys(self, entry: Any, kind: str, path: PurePosixPath, name: Any = None) -> None:
        """Warn about keys that mean nothing in a YAML entry (and its columns and tables),
        and check its config: a typo must never drop what the user meant silently."""
        if not isinstance(entry, LineDict):
            return
        label = name if isinstance(name, str) else None
        self.warnings += check_keys(entry, kind, path=path, line_of=entry.line_of, name=label)
        config_kind = {"model": "model", "seed": "seed", "source": "source"}.get(kind)
        config_kind = "source" if kind == "source_table" else config_kind
        if config_kind and "config" in entry:
            config = entry["config"]
            self.warnings += check_config(
                config,
                config_kind,
                path=path,
                line_of=config.line_of if isinstance(config, LineDict) else entry.line_of,
                where=f"the config of {kind} '{label}'",
            )
        children = {"model": "columns", "seed": "columns", "source": "tables"}.get(kind)
        child_kind = "source_table" if kind == "source" else "column"
        items = entry.get(children) if children else None
        if isinstance(items, list):
            for item in items:
                if isinstance(item, LineDict):
                    self._check_keys(item, child_kind, path, item.get("name"))
        if kind == "source_table" and isinstance(entry.get("columns"), list):
            for item in entry["columns"]:
                self._check_keys(
                    item, "column", path, item.get("name") if isinstance(item, dict) else None
                )

    # ------------------------------------------------------------------ seeds

    def _load_seeds(self, patches: dict[str, tuple[LineDict, tuple]]) -> list[Seed]:
        """The project's seeds, then each installed package's (dbt loads those too: a
        package's seed is configured by its own seeds: tree and the root's block for it)."""
        places = [(self.settings.name, self.settings.seed_paths, self.settings.seeds)]
        for package in self.packages:
            tree = merge_trees(package.seeds, self._tree("seeds", package.name))
            places.append((package.name, tuple(map(str, package.seed_paths)), tree))
        seeds = []
        for package_name, seed_paths, tree in places:
            for path in self._files(seed_paths, ".csv"):
                seeds.append(self._seed(path, seed_paths, tree, package_name, patches))
        return seeds

    def _seed(
        self,
        path: PurePosixPath,
        seed_paths: tuple[str, ...],
        tree: Mapping[str, Any],
        package_name: str,
        patches: dict[str, tuple[LineDict, tuple]],
    ) -> Seed:
        folders = _folders_below(path, seed_paths)
        name = path.stem
        config = self._folder_config(tree, (*folders, name))
        entry, where = patches.get(name, (None, None))
        columns: tuple[Column, ...] = ()
        description = ""
        if entry is not None:
            merge_config(config, _mapping(entry, "config", where[0]))
            columns = _columns(entry, where[0])
            description = str(entry.get("description", ""))
        column_types = dict(config.get("column_types", {}))
        for column in columns:
            if column.data_type:
                column_types.setdefault(column.name, column.data_type)
        config["materialized"] = "seed"
        full = self.root / path
        return Seed(
            unique_id=f"seed.{name}",
            name=name,
            path=path,
            fqn=(package_name, *folders, name),
            relation=self._relation(config, name, "seed", path),
            config=config,
            description=description,
            columns=columns or tuple(Column(c) for c in csv_header(full, shown=path)),
            expectations=_expectations(entry, where[0] if where else None),
            yaml_path=where[0] if where else None,
            checksum=_seed_checksum(full, path),
            column_types=column_types,
        )

    # ------------------------------------------------------------------ sources

    def _load_sources(self, entries: list[tuple[LineDict, PurePosixPath, int]]) -> list[Source]:
        sources: list[Source] = []
        seen: dict[str, tuple[PurePosixPath, int]] = {}
        for entry, path, line in entries:
            source_name = entry.get("name")
            if not isinstance(source_name, str):
                raise ProjectError("each source needs a name", path=path, line=line)
            schema = str(entry.get("schema", source_name))
            tables = entry.get("tables", [])
            if not isinstance(tables, list):
                raise ProjectError(
                    f"source '{source_name}': tables must be a list",
                    path=path,
                    line=line_of(entry, "tables"),
                )
            for index, table in enumerate(tables):
                table_line = line_of(tables, index, line) or line
                if not isinstance(table, dict) or not isinstance(table.get("name"), str):
                    raise ProjectError(
                        f"source '{source_name}': each table needs a name",
                        path=path,
                        line=table_line,
                    )
                name = table["name"]
                uid = f"source.{source_name}.{name}"
                if uid in seen:
                    raise ProjectError(
                        f"source table '{source_name}.{name}' is declared twice "
                        f"({seen[uid][0]}:{seen[uid][1]})",
                        path=path,
                        line=table_line,
                    )
                seen[uid] = (path, table_line)
                identifier = str(table.get("identifier", name))
                columns = _columns(table, path)
                loaded_at_field, freshness_rule = declared_rule(
                    table,
                    entry,
                    columns=[c.name for c in columns],
                    label=f"{source_name}.{name}",
                    path=path,
                    warnings=self.warnings,
                )
                config = self._source_config(entry, table, path, source_name, name)
                meta = {
                    **config.get("meta", {}),
                    **entry.get("meta", {}),
                    **table.get("meta", {}),
                }
                sources.append(
                    Source(
                        unique_id=uid,
                        name=name,
                        path=path,
                        fqn=(self.settings.name, source_name, name),
                        relation=Relation(schema=schema, identifier=identifier),
                        config=config,
                        description=str(table.get("description", "")),
                        columns=columns,
                        expectations=_expectations(table, path),
                        yaml_path=path,
                        line=table_line,
                        checksum=digest(entry.get("schema"), {k: v for k, v in table.items()}),
                        source_name=source_name,
                        identifier=identifier,
                        loader=dict(entry.get("loader", {}))
                        if isinstance(entry.get("loader"), dict)
                        else {},
                        freshness=freshness_rule,
                        loaded_at_field=loaded_at_field,
                        meta=meta,
                    )
                )
        return sources

    def _source_config(
        self,
        entry: LineDict,
        table: LineDict,
        path: PurePosixPath,
        source_name: str,
        name: str,
    ) -> dict[str, Any]:
        """A source table's enabled / tags / meta: dbt_project.yml's sources: tree down the
        source's fqn (folders of its YAML file, source, table), then the source's and the
        table's own config: and tags: (deeper wins; tags add up)."""
        from .dbt_project import SOURCE_TREE_KEYS

        folders = _folders_below(path, self.settings.model_paths)
        tree = self._tree("sources", self.settings.name)
        found = self._folder_config(tree, (*folders, source_name, name))
        config = {k: v for k, v in found.items() if k in SOURCE_TREE_KEYS}
        for level in (entry, table):
            own = level.get("config")
            if isinstance(own, Mapping):
                merge_config(config, {k: v for k, v in own.items() if k in SOURCE_TREE_KEYS})
            if level.get("tags"):
                merge_config(config, {"tags": level["tags"]})
        config.setdefault("tags", [])
        if isinstance(config.get("enabled"), str):  # a var rendered to text
            config["enabled"] = config["enabled"].strip().lower() not in ("false", "0", "")
        return config

    # ------------------------------------------------------------------ models

    def _load_models(
        self, patches: dict[str, tuple[LineDict, tuple]]
    ) -> tuple[list[Model], list[Model]]:
        files: list[_ModelFile] = []
        for path in self._files(self.settings.model_paths, ".sql", ".py"):
            files.append(self._model_file(path, patches))
        files.extend(self._snapshot_files(patches))
        for package in self.packages:
            paths = tuple(map(str, package.model_paths))
            tree = merge_trees(package.models, self._tree("models", package.name))
            for path in self._files(paths, ".sql", ".py"):
                files.append(self._model_file(path, patches, tree, paths, package.name))
        misses = [f for f in files if f.parsed is None]
        if misses:
            self.renderer  # noqa: B018 - build it before workers fork, so they inherit it
            with Workers(self._parse_render) as workers:
                outcomes = workers.map(misses)
            for file, (outcome, puts) in zip(misses, outcomes, strict=True):
                self.cache.merge(puts)
                if isinstance(outcome, RunnerError):
                    self.errors.append(outcome)
                else:
                    file.parsed = outcome
        models: list[Model] = []
        disabled: list[Model] = []
        for file in files:
            if file.parsed is None:
                continue
            try:
                model = self._make_model(file)
            except RunnerError as exc:
                self.errors.append(exc)
                continue
            (models if model.enabled else disabled).append(model)
        return models, disabled

    def _snapshot_files(self, patches: dict) -> list[_ModelFile]:
        """Snapshot blocks under the snapshot paths, each parsed like a model."""
        from .snapshots import blocks

        files = []
        tree = self._tree("snapshots", self.settings.name)
        entries = {e["name"]: (e, (p, n)) for e, p, n in getattr(self, "_snapshot_entries", [])}
        patches = {**patches, **entries}  # a YAML entry documents and configures a block
        for path in self._files(self.settings.snapshot_paths, ".sql"):
            folders = _folders_below(path, self.settings.snapshot_paths)
            for name, body, _line in blocks(read_text(self.root / path, shown=path)):
                config = self._folder_config(tree, (*folders, name))
                file = self._model_file(path, patches, config=config, name=name, raw_sql=body)
                file.snapshot = True
                files.append(file)
                entries.pop(name, None)
        # dbt 1.9: a snapshot declared in YAML alone, of a relation
        for name, (entry, (path, line)) in entries.items():
            relation = entry.get("relation")
            if not isinstance(relation, str) or not relation.strip():
                raise ProjectError(
                    f"snapshot '{name}' has no {{% snapshot %}} block and no relation:",
                    path=path,
                    line=line,
                    hint="add relation: ref('model') (or source('s', 't')) to the entry",
                )
            folders = _folders_below(path, self.settings.snapshot_paths)
            config = self._folder_config(tree, (*folders, name))
            body = "\n" * (line - 1) + "select * from {{ " + relation.strip() + " }}\n"
            file = self._model_file(path, patches, config=config, name=name, raw_sql=body)
            file.snapshot = True
            files.append(file)
        return files

    def _tree(self, kind: str, package: str) -> dict[str, Any]:
        """The config tree dbt_project.yml gives ``package``'s nodes of one kind."""
        from .dbt_project import subtree

        return subtree(self.settings.config_trees.get(kind, {}), package)

    def _folder_config(self, tree: Mapping[str, Any], parts: tuple[str, ...]) -> dict[str, Any]:
        from .dbt_project import render_config

        return render_config(folder_config(tree, parts), self.vars, self.target_context)

    def _model_file(
        self,
        path: PurePosixPath,
        patches: dict,
        tree: Mapping[str, Any] | None = None,
        model_paths: tuple[str, ...] | None = None,
        package: str | None = None,
        *,
        config: dict[str, Any] | None = None,
        name: str | None = None,
        raw_sql: str | None = None,
    ) -> _ModelFile:
        """Read a model file and its configs; take its parse from the cache when valid."""
        raw_sql = read_text(self.root / path, shown=path) if raw_sql is None else raw_sql
        checksum = text_hash(raw_sql)
        folders = _folders_below(path, model_paths or self.settings.model_paths)
        name = name or path.stem
        tree = self.settings.models if tree is None else tree
        if config is None:
            config = self._folder_config(tree, (*folders, name))
        if path.suffix == ".py":  # a Python model is a table, whatever its folder says
            config["materialized"] = "table"
        config.setdefault("materialized", "view")
        entry, where = patches.get(name, (None, None))
        if entry is not None:
            merge_config(config, _mapping(entry, "config", where[0]))
        key = digest(self.context_key, str(path), checksum, config)
        package = package or self.settings.name
        cached = self.cache.get("parse", key)
        if cached is not None and any(
            os.environ.get(k) != v for k, v in cached["env_vars"].items()
        ):
            cached = None
        return _ModelFile(
            path, name, raw_sql, checksum, folders, config, entry, where, key, cached, package
        )

    def _parse_render(self, file: _ModelFile) -> tuple[Any, list]:
        """Render once, recording ref/source/config calls. Runs in a worker process."""
        try:
            if file.path.suffix == ".py":
                from .python_models import parse_python_model

                parsed = parse_python_model(file.path, file.raw_sql)
                self.cache.put("parse", file.key, parsed)
                return parsed, self.cache.take_puts()
            renderer = self.renderer
            code = renderer.compile_template(file.path, file.raw_sql)
            result = renderer.render(
                renderer.template(code, str(file.path)),
                path=file.path,
                model_name=file.name,
                this=self._relation(file.config, file.name),
            )
            parsed = {
                "refs": [(r.name, r.line) for r in result.refs],
                "sources": [(s.source_name, s.table_name, s.line) for s in result.sources],
                "config": result.config,
                "env_vars": result.env_vars,
                "macros": renderer.macros_used(code.names),
                "execution": renderer.needs_execution(code.names, result.macros_called),
            }
            self.cache.put("parse", file.key, parsed)
            return parsed, self.cache.take_puts()
        except RunnerError as exc:
            return exc, self.cache.take_puts()

    def _make_model(self, file: _ModelFile) -> Model:
        parsed = file.parsed
        assert parsed is not None
        in_file = parsed["config"]
        config_kind = "snapshot" if file.snapshot else "model"
        self.warnings += check_config(
            in_file,
            config_kind,
            path=file.path,
            line_of=lambda key: line_containing(file.raw_sql, key) or 1,
            where=f"the config() of {config_kind} '{file.name}'",
        )
        config = merge_config(dict(file.config), in_file)
        for_models = MATERIALIZATIONS - {"seed", "snapshot"}
        if not file.snapshot and config.get("materialized") not in for_models:
            raise ProjectError(
                f"model '{file.name}' has unknown materialization {config.get('materialized')!r}",
                path=file.path,
                line=line_containing(file.raw_sql, "materialized") or 1,
                hint=f"use one of: {', '.join(sorted(for_models))}"
                + (
                    "; a snapshot is a {% snapshot %} block under snapshots/"
                    if config.get("materialized") == "snapshot"
                    else ""
                ),
            )
        entry, where = file.entry, file.where
        kind = Model
        relation = self._relation(config, file.name, "model", file.path)
        if file.snapshot:
            from .snapshots import check_config as check_snapshot

            kind = Snapshot
            config["materialized"] = "snapshot"
            check_snapshot(file.name, config, file.path)
            if config.get("target_schema"):  # dbt's legacy spelling: the schema, as it is
                relation = Relation(schema=str(config["target_schema"]), identifier=file.name)
            else:
                relation = self._relation(config, file.name, "snapshot", file.path)
        return kind(
            unique_id=f"{kind.resource_type}.{file.name}",
            name=file.name,
            path=file.path,
            fqn=(file.package, *file.folders, file.name),
            relation=relation,
            config=config,
            description=str(entry.get("description", "")) if entry else "",
            columns=_columns(entry, where[0]) if entry else (),
            expectations=_expectations(entry, where[0] if where else None),
            yaml_path=where[0] if where else None,
            checksum=file.checksum,
            raw_sql=file.raw_sql,
            refs=tuple(RefCall(*r) for r in parsed["refs"]),
            sources=tuple(SourceCall(*s) for s in parsed["sources"]),
            macros=tuple(parsed["macros"]),
            language="python" if file.path.suffix == ".py" else "sql",
            needs_execution=bool(parsed.get("execution")),
        )

    def _relation(
        self,
        config: Mapping[str, Any],
        name: str,
        resource_type: str = "model",
        path: PurePosixPath | None = None,
    ) -> Relation:
        """Where a node is built: generate_schema_name / generate_alias_name when the
        project defines them (as dbt calls them), else dbt's default rule for a dbt
        project (``<target schema>_<custom schema>``) or the custom schema itself."""
        from .naming import relation_for

        return relation_for(self, config, name, resource_type, path)


@dataclass
class _ModelFile:
    """A model file read from disk, with its configs before the parse render."""

    path: PurePosixPath
    name: str
    raw_sql: str
    checksum: str
    folders: tuple[str, ...]
    config: dict[str, Any]
    entry: LineDict | None
    where: tuple[PurePosixPath, int] | None
    key: str
    parsed: dict[str, Any] | None
    package: str = ""
    snapshot: bool = False


@dataclass
class _Properties:
    models: dict[str, tuple[LineDict, tuple[PurePosixPath, int]]] = field(default_factory=dict)
    seeds: dict[str, tuple[LineDict, tuple[PurePosixPath, int]]] = field(default_factory=dict)
    sources: list[tuple[LineDict, PurePosixPath, int]] = field(default_factory=list)
    model_lines: dict[str, tuple[PurePosixPath, int]] = field(default_factory=dict)
    unsupported: dict[str, list[tuple[PurePosixPath, int]]] = field(default_factory=dict)
    snapshots: list[tuple[LineDict, PurePosixPath, int]] = field(default_factory=list)
    unit_tests: list[tuple[LineDict, PurePosixPath, int]] = field(default_factory=list)


_DOCS = re.compile(r"\{%-?\s*docs\s+(\w+)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}", re.DOTALL)
_DOC_CALL = re.compile(r"""\{\{\s*doc\(\s*['"](\w+)['"]\s*\)\s*\}\}""")


def _with_docs(node: Node, docs: dict[str, str]) -> Node:
    """The node with ``{{ doc('name') }}`` in its descriptions replaced by the blocks."""

    def text(value: str) -> str:
        if "doc(" not in value:
            return value

        def block(match: re.Match) -> str:
            name = match.group(1)
            if name not in docs:
                raise ProjectError(
                    f"doc('{name}') in the description of {node.display_name}: no such docs block",
                    path=node.yaml_path,
                    hint="define {% docs " + name + " %}...{% enddocs %} in a .md file",
                )
            return docs[name]

        return _DOC_CALL.sub(block, value)

    columns = tuple(replace(c, description=text(c.description)) for c in node.columns)
    return replace(node, description=text(node.description), columns=columns)


def _refuse_versions(entry: LineDict, path: PurePosixPath, name: str) -> None:
    """Model versions (dbt 1.5) would build one relation per version and make ref('x')
    mean the latest: the runner builds none of that, so it says so rather than building
    the unversioned file alone."""
    present = [key for key in ("versions", "latest_version") if key in entry]
    for key in sorted(present, key=lambda k: line_of(entry, k) or 0)[:1]:
        if key in entry:
            raise ProjectError(
                f"model '{name}' declares {key}: model versions are not supported by the runner",
                path=path,
                line=line_of(entry, key),
                hint="keep one version: remove versions: / latest_version: and name the "
                "file after the model (ref('x') then means that file), or build with dbt",
            )


def _unsupported_warning(found: dict[str, list[tuple[PurePosixPath, int]]]) -> ProjectError:
    first_path, first_line = next(iter(found.values()))[0]
    where = "; ".join(
        f"{key} ({', '.join(f'{p}:{n}' for p, n in places)})" for key, places in found.items()
    )
    return ProjectError(
        f"not supported by the runner, not built: {where}",
        path=first_path,
        line=first_line,
        hint="semantic models, metrics, saved queries and exposures are dbt Semantic Layer "
        "and docs features; see the migration guide in the README",
    )


def _entries(data: LineDict, key: str, path: PurePosixPath) -> Iterator[tuple[LineDict, int]]:
    items = data.get(key)
    if items is None:
        return
    if not isinstance(items, LineList):
        raise ProjectError(
            f"'{key}' must be a list of entries",
            path=path,
            line=line_of(data, key),
            hint=f"{key}:\n  - name: ...",
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ProjectError(
                f"each entry under '{key}' must be a mapping with a name",
                path=path,
                line=items.line_of(index),
            )
        yield item, items.line_of(index)


def _mapping(entry: LineDict, key: str, path: PurePosixPath) -> dict[str, Any]:
    value = entry.get(key, {})
    if not isinstance(value, dict):
        raise ProjectError(f"'{key}' must be a mapping", path=path, line=line_of(entry, key))
    return dict(value)


def _columns(entry: Any, path: PurePosixPath | None) -> tuple[Column, ...]:
    if not entry:
        return ()
    columns = entry.get("columns", [])
    if not isinstance(columns, list):
        raise ProjectError("'columns' must be a list", path=path, line=line_of(entry, "columns"))
    result = []
    seen: dict[str, int] = {}  # lower-cased name -> index of its first entry
    for index, col in enumerate(columns):
        if not isinstance(col, dict) or not isinstance(col.get("name"), str):
            raise ProjectError("each column needs a name", path=path, line=line_of(columns, index))
        # SQL names are case-insensitive: 'id' and 'ID' are one column, so a second entry
        # would quietly split its description, type and expectations in two.
        first = seen.setdefault(col["name"].lower(), index)
        if first != index:
            raise ProjectError(
                f"column '{col['name']}' is listed twice (first at line {line_of(columns, first)})",
                path=path,
                line=line_of(columns, index),
                hint="merge the two entries into one (names are case-insensitive)",
            )
        data_type = col.get("data_type")
        if data_type is not None and not isinstance(data_type, str):
            raise ProjectError(
                f"column '{col['name']}': data_type must be a type name, got {data_type!r}",
                path=path,
                line=line_of(col, "data_type"),
                hint="e.g. data_type: integer (quote it if it holds YAML characters: "
                "data_type: 'decimal(10,2)')",
            )
        result.append(
            Column(
                name=col["name"],
                description=str(col.get("description", "")),
                data_type=col.get("data_type"),
                expectations=_expectations(col, path),
                line=line_of(columns, index),
            )
        )
    return tuple(result)


def _expectations(entry: Any, path: PurePosixPath | None) -> tuple[Mapping[str, Any], ...]:
    if not entry:
        return ()
    for key in EXPECTATION_KEYS:
        if key not in entry or entry[key] is None:  # 'tests:' with nothing under it
            continue
        if not isinstance(entry[key], list):
            # a string here would drop every check the entry meant to run
            raise ProjectError(
                f"'{key}' must be a list of expectations, got {entry[key]!r}",
                path=path,
                line=line_of(entry, key),
                hint=f"e.g. {key}: [not_null, unique]",
            )
        items = entry[key]
        # each item keeps its own line (a bare name like `- unique` has none otherwise)
        return tuple(
            with_line(item, items.line_of(i) if isinstance(items, LineList) else None)
            for i, item in enumerate(items)
        )
    return ()


def _folders_below(path: PurePosixPath, roots: tuple[str, ...]) -> tuple[str, ...]:
    for root in roots:
        root_parts = PurePosixPath(root).parts
        if path.parts[: len(root_parts)] == root_parts:
            return tuple(path.parts[len(root_parts) : -1])
    return tuple(path.parts[:-1])


def _env_changed(recorded: Mapping[str, str | None]) -> bool:
    return any(os.environ.get(name) != value for name, value in recorded.items())


def _seed_checksum(full: Path, shown: PurePosixPath) -> str:
    """The seed file's hash, once its text is known to be UTF-8 without NUL bytes (a
    seed is small: checking it whole costs less than a load that fails half-way)."""
    data = full.read_bytes()
    check_no_nul(decode(data, shown), shown)  # raises at the line of the bad byte
    return hashlib.sha256(data).hexdigest()
