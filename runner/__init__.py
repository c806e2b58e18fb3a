"""runner: build a SQL warehouse from Jinja-templated models, checked by sqlglot."""

__version__ = "0.1.0"
