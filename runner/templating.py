"""The Jinja environment models are rendered in, spelled like dbt.

``ref``, ``source``, ``config``, ``var``, ``env_var``, ``this``, ``is_incremental``,
``target`` and every macro under the macro paths are in scope, in models and in
macros alike. Undefined names are errors (``StrictUndefined``), and every error
names the template file and line it happened on.

A model is rendered twice: once to *parse* it (record its refs, sources and
config; refs render as placeholders) and once to *compile* it (refs render as
the relations they resolve to). Templates are compiled to Python code once;
that code object can be cached on disk (``marshal``) by the caller.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import CodeType
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes

from .errors import ProjectError, RunnerError
from .nodes import Macro, RefCall, Relation, SourceCall

_MISSING = object()
_ENV_OPTIONS = {
    "undefined": jinja2.StrictUndefined,
    "extensions": ["jinja2.ext.do", "jinja2.ext.loopcontrols"],
    "keep_trailing_newline": True,
    "autoescape": False,
}
JINJA_VERSION = jinja2.__version__


@dataclass
class RenderResult:
    """What one render produced and what it read from outside the file."""

    text: str
    refs: list[RefCall] = field(default_factory=list)
    sources: list[SourceCall] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    env_vars: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateCode:
    """A compiled template and the names it loads (to find which macros it calls)."""

    code: CodeType
    names: frozenset[str]

    def dumps(self) -> tuple[bytes, tuple[str, ...]]:
        return marshal.dumps(self.code), tuple(sorted(self.names))

    @classmethod
    def loads(cls, data: tuple[bytes, tuple[str, ...]]) -> TemplateCode:
        return cls(marshal.loads(data[0]), frozenset(data[1]))


class Renderer:
    """One Jinja environment per project load: macros compiled once, models rendered often."""

    def __init__(
        self,
        *,
        vars: Mapping[str, Any],
        target: Mapping[str, Any],
        macro_files: list[tuple[PurePosixPath, str]] = (),  # type: ignore[assignment]
        code_cache: Callable[[str], TemplateCode | None] | None = None,
        code_store: Callable[[str, TemplateCode], None] | None = None,
    ) -> None:
        self.env = jinja2.Environment(**_ENV_OPTIONS)
        self.vars = dict(vars)
        self.target = dict(target)
        self._code_cache = code_cache
        self._code_store = code_store
        self.macros: dict[str, Macro] = {}
        self._macro_templates: list[tuple[jinja2.Template, tuple[str, ...]]] = []
        self._template_files: set[str] = set()
        for path, text in macro_files:
            self._load_macro_file(path, text)

    # ------------------------------------------------------------------ templates

    def compile_template(self, path: PurePosixPath, source: str) -> TemplateCode:
        """Jinja source to Python code; a syntax error names the file and line."""
        key = template_key(source)
        if self._code_cache is not None:
            cached = self._code_cache(key)
            if cached is not None:
                return cached
        try:
            ast = self.env.parse(source, name=str(path), filename=str(path))
            code = self.env.compile(ast, name=str(path), filename=str(path))
        except jinja2.TemplateSyntaxError as exc:
            raise ProjectError(
                f"Jinja syntax error: {exc.message}",
                path=path,
                line=exc.lineno,
                hint="fix the template tag at that line ({{ ... }} or {% ... %})",
            ) from None
        names = frozenset(n.name for n in ast.find_all(jinja2.nodes.Name) if n.ctx == "load")
        compiled = TemplateCode(code, names)
        if self._code_store is not None:
            self._code_store(key, compiled)
        return compiled

    def template(self, code: TemplateCode) -> jinja2.Template:
        return self.env.template_class.from_code(self.env, code.code, self.env.globals)

    def _load_macro_file(self, path: PurePosixPath, text: str) -> None:
        try:
            ast = self.env.parse(text, name=str(path), filename=str(path))
        except jinja2.TemplateSyntaxError as exc:
            raise ProjectError(
                f"Jinja syntax error: {exc.message}", path=path, line=exc.lineno
            ) from None
        checksum = hashlib.sha256(text.encode()).hexdigest()
        self._template_files.add(str(path))
        names = []
        for node in ast.find_all(jinja2.nodes.Macro):
            if node.name in self.macros:
                other = self.macros[node.name]
                raise ProjectError(
                    f"macro '{node.name}' is defined twice: {other.path}:{other.line} "
                    f"and {path}:{node.lineno}",
                    path=path,
                    line=node.lineno,
                    hint="rename or remove one of them",
                )
            loads = {n.name for n in node.find_all(jinja2.nodes.Name) if n.ctx == "load"}
            self.macros[node.name] = Macro(
                name=node.name,
                path=path,
                line=node.lineno,
                checksum=checksum,
                calls=tuple(sorted(loads)),
            )
            names.append(node.name)
        code = self.env.compile(ast, name=str(path), filename=str(path))
        self._macro_templates.append((self.template(TemplateCode(code, frozenset())), tuple(names)))

    def macros_used(self, names: frozenset[str] | set[str]) -> tuple[str, ...]:
        """Project macros reachable from the names a template loads (transitively)."""
        seen: set[str] = set()
        stack = [n for n in names if n in self.macros]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(c for c in self.macros[name].calls if c in self.macros and c not in seen)
        return tuple(sorted(seen))

    @property
    def macros_checksum(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.macros):
            digest.update(f"{name}:{self.macros[name].checksum};".encode())
        return digest.hexdigest()

    # ------------------------------------------------------------------ rendering

    def render(
        self,
        template: jinja2.Template,
        *,
        path: PurePosixPath,
        model_name: str,
        this: Relation,
        resolve_ref: Callable[[str], Relation] | None = None,
        resolve_source: Callable[[str, str], Relation] | None = None,
        is_incremental: bool = False,
    ) -> RenderResult:
        """Render a model. Without resolvers it is a parse render: calls are recorded."""
        result = RenderResult(text="")
        filename = str(path)

        def ref(*args: str, **kwargs: Any) -> Relation:
            if not args or len(args) > 2 or kwargs:
                raise self._error(filename, "ref() takes a model name: ref('stg_orders')")
            name = args[-1]  # ref('package', 'name'): one project, so the package is ignored
            result.refs.append(RefCall(name, _caller_line(filename)))
            if resolve_ref is None:
                return Relation(schema=str(self.target.get("schema", "main")), identifier=name)
            return resolve_ref(name)

        def source(source_name: str, table_name: str) -> Relation:
            result.sources.append(SourceCall(source_name, table_name, _caller_line(filename)))
            if resolve_source is None:
                return Relation(schema=source_name, identifier=table_name)
            return resolve_source(source_name, table_name)

        def config(*args: Any, **kwargs: Any) -> str:
            if args:
                if len(args) == 1 and isinstance(args[0], Mapping):
                    kwargs = {**args[0], **kwargs}
                else:
                    raise self._error(filename, "config() takes keyword arguments only")
            from .project import merge_config

            merge_config(result.config, kwargs)
            return ""

        def var(name: str, default: Any = _MISSING) -> Any:
            if name in self.vars:
                return self.vars[name]
            if default is not _MISSING:
                return default
            raise ProjectError(
                f"var '{name}' is not defined (used by model '{model_name}')",
                path=path,
                line=_caller_line(filename),
                hint=f"define it under [tool.runner.vars] in pyproject.toml, pass "
                f"--vars '{{{name}: ...}}', or give a default: var('{name}', ...)",
            )

        def env_var(name: str, default: Any = _MISSING) -> str:
            value = os.environ.get(name)
            result.env_vars[name] = value
            if value is not None:
                return value
            if default is not _MISSING:
                return str(default)
            raise ProjectError(
                f"environment variable '{name}' is not set (used by model '{model_name}')",
                path=path,
                line=_caller_line(filename),
                hint=f"export {name}=... or give a default: env_var('{name}', 'value')",
            )

        def raise_compiler_error(message: str) -> None:
            raise ProjectError(message, path=path, line=_caller_line(filename))

        namespace = dict(self.env.globals)
        namespace.update(
            ref=ref,
            source=source,
            config=config,
            var=var,
            env_var=env_var,
            this=this,
            is_incremental=lambda: is_incremental,
            target=self.target,
            exceptions={"raise_compiler_error": raise_compiler_error},
            model={"name": model_name, "path": filename},
        )
        # Macro modules share this namespace, so a macro sees the same ref/var/this
        # as the model that called it, and macros can call each other across files.
        for macro_template, names in self._macro_templates:
            module = macro_template.make_module(namespace, shared=True)
            for name in names:
                namespace[name] = getattr(module, name)
        try:
            result.text = template.render(namespace)
        except RunnerError:
            raise
        except jinja2.TemplateError as exc:
            raise _locate(exc, filename, path, self._template_files) from None
        except Exception as exc:  # a Python error raised inside a template expression
            raise _locate(exc, filename, path, self._template_files) from None
        return result

    def _error(self, filename: str, message: str) -> ProjectError:
        return ProjectError(message, path=filename, line=_caller_line(filename))


def template_key(source: str) -> str:
    return hashlib.sha256(f"jinja{JINJA_VERSION}\0{source}".encode()).hexdigest()


def _caller_line(filename: str) -> int | None:
    """The template line currently executing in ``filename`` (walks the Python stack)."""
    frame = sys._getframe(1)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None and template.filename == filename:
            return template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


def _locate(
    exc: BaseException, filename: str, path: PurePosixPath, macro_files: set[str]
) -> ProjectError:
    """Turn an exception raised while rendering into a ProjectError at its template line.

    Jinja rewrites tracebacks so template frames carry the template file and line.
    The innermost template frame is where it happened; if that is a macro, the
    model line that called it is added.
    """
    frames: list[tuple[str, int]] = []
    tb = exc.__traceback__
    while tb is not None:
        code_file = tb.tb_frame.f_code.co_filename
        if code_file == filename or code_file in macro_files:
            frames.append((code_file, tb.tb_lineno))
        tb = tb.tb_next
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(exc, jinja2.UndefinedError):
        message = f"undefined: {message}"
        hint = "check the spelling; define vars under [tool.runner.vars] and use var('name')"
    elif isinstance(exc, jinja2.TemplateError):
        hint = "fix the template at that line"
    else:
        message = f"{type(exc).__name__}: {message}"
        hint = "a Python error inside a {{ ... }} expression; fix the expression"
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return ProjectError(
            f"Jinja syntax error: {message}", path=exc.filename or path, line=exc.lineno, hint=hint
        )
    if not frames:
        return ProjectError(message, path=path, hint=hint)
    where_file, where_line = frames[-1]
    if where_file != filename:
        called_from = [line for f, line in frames if f == filename]
        if called_from:
            message += f" (in a macro called from {filename}:{called_from[-1]})"
    return ProjectError(message, path=where_file, line=where_line, hint=hint)
