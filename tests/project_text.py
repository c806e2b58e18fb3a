"""The pyproject.toml and profiles.yml of the small projects the tests write.

One spelling of what most test projects share (a project named shop, a DuckDB target
dev), with the few settings they vary as arguments, instead of a copy per test file.
"""

from __future__ import annotations


def pyproject(*, validator_sql: bool = True, marts: bool = True) -> str:
    """[tool.runner] for project 'shop'; ``marts``: the marts folder builds tables in
    schema marts."""
    text = '[tool.runner]\nname = "shop"\n'
    if validator_sql:
        text += 'validator = "sql"\n'
    if marts:
        text += '\n[tool.runner.models.marts]\nmaterialized = "table"\nschema = "marts"\n'
    return text


def profiles(*, threads: int = 1, serve: bool = False, sources: str | None = None) -> str:
    """Profile 'shop' with one DuckDB target dev at target/work.duckdb; ``serve``: a
    serving file at target/serve.duckdb; ``sources``: the flow mapping of the `sources:`
    entry 'shop' (e.g. ``"{from: files, path: landing}"``)."""
    text = (
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: target/work.duckdb\n"
    )
    if serve:
        text += "      serve_path: target/serve.duckdb\n"
    text += f"      threads: {threads}\n"
    if sources is not None:
        text += f"      sources:\n        shop: {sources}\n"
    return text
