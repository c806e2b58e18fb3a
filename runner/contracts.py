"""Model contracts (``contract: {enforced: true}``), checked as dbt checks them.

Before the model is built, the columns its query would produce are compared with the
columns its YAML declares: the same names (any case) and, for each, the declared
``data_type`` (normalised by the engine, so ``int`` is ``INTEGER``). Any difference fails
the model with every mismatch listed, and nothing is built. The model is then built with
its columns in the contract's order, as dbt does. ``constraints:`` are not applied by the
runner: a contracted model that declares them is refused rather than built without them.
"""

from __future__ import annotations

from .engines.base import Session
from .errors import NodeError, ProjectError
from .nodes import Model


def enforced(model: Model) -> bool:
    contract = model.config.get("contract")
    return isinstance(contract, dict) and contract.get("enforced") is True


def check_declaration(model: Model, constraints: bool) -> None:
    """A contracted model must type every column it declares, and be buildable with one."""
    if model.materialized == "ephemeral":
        raise ProjectError(
            f"model '{model.name}': an enforced contract needs a relation, and an ephemeral "
            "model has none",
            path=model.yaml_path or model.path,
            hint="materialize it as a view or table, or remove the contract",
        )
    if not model.columns:
        raise ProjectError(
            f"model '{model.name}' has an enforced contract but declares no columns",
            path=model.yaml_path or model.path,
            hint="list its columns with their data_type in its YAML file",
        )
    untyped = [c for c in model.columns if not c.data_type]
    if untyped:
        raise ProjectError(
            f"model '{model.name}' has an enforced contract: column '{untyped[0].name}' "
            "needs a data_type",
            path=model.yaml_path or model.path,
            line=untyped[0].line,
            hint="every column of a contracted model declares data_type (e.g. integer)",
        )
    if constraints:
        raise ProjectError(
            f"model '{model.name}': constraints are not applied by the runner",
            path=model.yaml_path or model.path,
            hint="check them with data tests (not_null, unique, relationships) and remove "
            "constraints:, or build with dbt",
        )


def contracted_sql(session: Session, model: Model, sql: str) -> str:
    """``sql`` with its columns in the contract's order, once they match it; NodeError
    listing every mismatch otherwise."""
    produced = {c.name.lower(): c for c in session.query_columns(sql)}
    problems = []
    for column in model.columns:
        found = produced.pop(column.name.lower(), None)
        declared = _normalised(session, str(column.data_type))
        if found is None:
            problems.append(f"'{column.name}' ({declared}) is declared but not produced")
        elif found.type.upper() != declared.upper():
            problems.append(f"'{column.name}' is {found.type}, the contract says {declared}")
    problems += [f"'{c.name}' ({c.type}) is produced but not declared" for c in produced.values()]
    if problems:
        raise NodeError(
            f"model '{model.name}' breaks its contract: " + "; ".join(problems),
            path=model.yaml_path or model.path,
            hint="change the model's SQL, or the columns and data_types in its YAML",
        )
    names = ", ".join(_quote(c.name) for c in model.columns)
    return f"select {names} from (\n{sql}\n) as contracted"


def _normalised(session: Session, data_type: str) -> str:
    """How the engine names a declared type (``int`` -> ``INTEGER``)."""
    try:
        (column,) = session.query_columns(f"select cast(null as {data_type}) as c")
    except Exception:  # not a type the engine knows: compare as written
        return data_type
    return column.type


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
