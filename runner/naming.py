"""Where a node is built: dbt's generate_schema_name / generate_alias_name.

A project macro of that name is called as dbt calls it (``custom_schema_name``, ``node``);
without one, a dbt project follows dbt's default (a custom schema is appended to the
target's: ``main_staging``) and a runner project uses the custom schema as it is
(``staging``). generate_database_name is refused: every relation lives in the target's
one DuckDB database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from .errors import ProjectError
from .nodes import Relation

_DEFINES = {
    name: re.compile(r"\{%-?\s*macro\s+" + name + r"\s*\(")
    for name in ("generate_schema_name", "generate_alias_name", "generate_database_name")
}


def overrides(macro_files: list[tuple[PurePosixPath, str]]) -> set[str]:
    """Which of the three naming macros the project's own macro files define."""
    return {
        name
        for name, pattern in _DEFINES.items()
        for _, text in macro_files
        if pattern.search(text)
    }


def relation_for(
    loader: Any,
    config: Mapping[str, Any],
    name: str,
    resource_type: str,
    path: PurePosixPath | None,
) -> Relation:
    defined = _overrides_of(loader)
    custom_schema = config.get("schema")
    custom_alias = config.get("alias")
    target_schema = loader.target.schema
    if "generate_database_name" in defined and config.get("database") is not None:
        raise ProjectError(
            f"'{name}' sets a database, and generate_database_name is not supported",
            path=path,
            hint="every relation is built in the target's DuckDB database; remove the "
            "database config (or attach the other database as a source)",
        )
    node = {
        "name": name,
        "resource_type": resource_type,
        "unique_id": f"{resource_type}.{name}",
        "config": dict(config),
        "original_file_path": str(path) if path else "",
        "path": str(path) if path else "",
        "package_name": loader.settings.name,
        "fqn": [loader.settings.name, name],
    }
    if "generate_schema_name" in defined:
        schema = _call(loader, "generate_schema_name", custom_schema, node, path)
    elif custom_schema is None:
        schema = target_schema
    elif loader.settings.is_dbt:
        schema = f"{target_schema}_{str(custom_schema).strip()}"
    else:
        schema = str(custom_schema)
    if "generate_alias_name" in defined:
        identifier = _call(loader, "generate_alias_name", custom_alias, node, path)
    else:
        identifier = str(custom_alias or name)
    return Relation(schema=schema, identifier=identifier, database=config.get("database"))


def _overrides_of(loader: Any) -> set[str]:
    found = loader.__dict__.get("_naming_overrides")
    if found is None:
        found = overrides(loader.macro_files)
        loader.__dict__["_naming_overrides"] = found
    return found


def _call(loader: Any, macro: str, custom: Any, node: dict, path: PurePosixPath | None) -> str:
    renderer = loader.renderer
    value, _ = renderer.call_macro(
        None,
        macro,
        {"custom_schema_name" if "schema" in macro else "custom_alias_name": custom, "node": node},
        path=path or PurePosixPath("dbt_project.yml"),
        model_name=node["name"],
        this=Relation(schema=loader.target.schema, identifier=node["name"]),
    )
    text = str(value).strip()
    if not text:
        raise ProjectError(
            f"{macro} returned nothing for '{node['name']}'",
            path=renderer.macros[macro].path,
            line=renderer.macros[macro].line,
            hint="it must return (or print) a schema or alias name",
        )
    return text
