"""What to tell someone whose template uses a name that is not defined.

Most undefined names in a migrated dbt project are not typos: they are dbt packages not
installed yet (``dbt_utils.star``) or the few parts of dbt's Jinja context this runner does
not provide (``flags``, ``selected_resources``). The hint says which it is. Anything else gets a
did-you-mean among the names the template could have meant (a var used without var(),
a macro, a context name), or the general advice.

The two tables are the place to edit when the runner learns a dbt name: remove its
entry from DBT_CONTEXT once the name is in the template namespace (a defined name never
reaches this module).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# Namespaces of dbt packages people install with `dbt deps`.
DBT_PACKAGES = frozenset(
    {
        "dbt_utils",
        "dbt_expectations",
        "dbt_date",
        "dbt_external_tables",
        "audit_helper",
        "codegen",
        "metrics",
        "elementary",
        "fivetran_utils",
        "dbt_artifacts",
        "dbt_project_evaluator",
    }
)

# dbt's Jinja context names the runner does not have, each with what to do instead (the
# rest of dbt's context, adapter.dispatch, run_query, log, modules, ..., is implemented).
DBT_CONTEXT = {
    "builtins": "dbt's builtins are not supported: ref, source, config and var are "
    "available by name",
    "flags": "dbt's flags are not supported",
    "fromyaml": "fromyaml is not supported",
    "schemas": "schemas is not supported",
    "selected_resources": "selected_resources is not supported",
    "store_result": "store_result is not supported: use run_query or a statement block",
    "toyaml": "toyaml is not supported",
}

GENERAL = "check the spelling; define vars under [tool.runner.vars] and use var('name')"

_UNDEFINED = re.compile(r"^'([A-Za-z_]\w*)' is undefined$")


def undefined_name(message: str) -> str | None:
    """The name in Jinja's "'x' is undefined", else None (an attribute error, say)."""
    found = _UNDEFINED.match(message)
    return found.group(1) if found else None


def undefined_hint(name: str, vars: Iterable[str], names: Iterable[str]) -> str:
    """The hint for an undefined ``name``; ``vars`` are the project's vars, ``names`` what
    the template namespace holds (context functions and macros)."""
    if name in DBT_PACKAGES or name.endswith("_utils"):
        return (
            f"'{name}' is a dbt package: declare it in packages.yml (local: or git:) and run "
            f"'runner deps', or write the macros you need under macros/"
        )
    if name in DBT_CONTEXT:
        return DBT_CONTEXT[name]
    var_names = sorted(set(vars))
    if name in var_names:
        return f"'{name}' is a var: write var('{name}')"
    close_vars = difflib.get_close_matches(name, var_names, n=1)
    close_names = difflib.get_close_matches(name, sorted(set(names)), n=1)
    if close_names:
        return f"did you mean '{close_names[0]}'?"
    if close_vars:
        return f"did you mean var('{close_vars[0]}')?"
    return GENERAL
