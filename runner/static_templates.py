"""Render simple templates straight from Jinja's parse tree, skipping code generation.

Most models are text with a few ``{{ ref('x') }}``, ``{{ var('y') }}`` or
``{{ macro(arg) }}`` expressions. For those, Jinja's compile step (generate
Python source, then ``compile()`` it) costs about three times its parse and
dominates a cold compile of a large project. A template whose body is only text
and expressions built from constants, names, attribute/item access, calls and
literal lists/tuples/dicts is turned into a small *program* of plain tuples and
evaluated here, with Jinja's own ``getattr``/``getitem``/``undefined`` so the
result is the same as Jinja's. Anything else (``{% if %}``, ``{% for %}``,
filters, operators, ...) returns ``None`` and goes through Jinja as usual.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2 import nodes

# Where a static template is being evaluated, for error locations (no Python frame
# of the template exists to read the line from).
current_line: ContextVar[tuple[str, int] | None] = ContextVar("current_line", default=None)

Program = tuple[Any, ...]  # items: str (text) or (line, expression)


class _NotStatic(Exception):
    pass


def to_program(template: nodes.Template) -> Program | None:
    """The template as a program, or None when it needs full Jinja."""
    items: list[Any] = []
    try:
        for statement in template.body:
            if not isinstance(statement, nodes.Output):
                return None
            for node in statement.nodes:
                if isinstance(node, nodes.TemplateData):
                    items.append(node.data)
                else:
                    items.append((node.lineno, _expression(node)))
    except _NotStatic:
        return None
    return tuple(items)


def _expression(node: nodes.Node) -> tuple[Any, ...]:
    if isinstance(node, nodes.Const):
        return ("const", node.value)
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return ("name", node.name)
    if isinstance(node, nodes.Getattr):
        return ("getattr", _expression(node.node), node.attr)
    if isinstance(node, nodes.Getitem):
        return ("getitem", _expression(node.node), _expression(node.arg))
    if isinstance(node, nodes.Call) and node.dyn_args is None and node.dyn_kwargs is None:
        args = tuple(_expression(a) for a in node.args)
        kwargs = tuple((k.key, _expression(k.value)) for k in node.kwargs)
        return ("call", _expression(node.node), args, kwargs)
    if isinstance(node, nodes.List):
        return ("list", tuple(_expression(i) for i in node.items))
    if isinstance(node, nodes.Tuple) and node.ctx == "load":
        return ("tuple", tuple(_expression(i) for i in node.items))
    if isinstance(node, nodes.Dict):
        return ("dict", tuple((_expression(p.key), _expression(p.value)) for p in node.items))
    raise _NotStatic


def program_names(program: Program) -> frozenset[str]:
    """Every name a program loads (to find the macros a model calls)."""
    names: set[str] = set()
    stack = [item[1] for item in program if not isinstance(item, str)]
    while stack:
        expression = stack.pop()
        kind = expression[0]
        if kind == "name":
            names.add(expression[1])
        elif kind in ("getattr", "getitem"):
            stack.extend(e for e in expression[1:] if isinstance(e, tuple))
        elif kind == "call":
            stack.append(expression[1])
            stack.extend(expression[2])
            stack.extend(value for _, value in expression[3])
        elif kind in ("list", "tuple"):
            stack.extend(expression[1])
        elif kind == "dict":
            stack.extend(e for pair in expression[1] for e in pair)
    return frozenset(names)


class StaticTemplate:
    """Quacks like ``jinja2.Template.render`` for a program from ``to_program``."""

    def __init__(self, program: Program, environment: jinja2.Environment, filename: str) -> None:
        self.program = program
        self.environment = environment
        self.filename = filename

    def render(self, namespace: Mapping[str, Any]) -> str:
        out: list[str] = []
        token = current_line.set(None)
        try:
            for item in self.program:
                if isinstance(item, str):
                    out.append(item)
                    continue
                line, expression = item
                current_line.set((self.filename, line))
                value = self._eval(expression, namespace)
                out.append(value if isinstance(value, str) else _to_string(value))
        except Exception as exc:
            # Keep the location for the caller's error report after the reset below, and
            # let Jinja map the frames of any macro involved to template lines, as
            # Template.render does.
            exc.__dict__.setdefault("runner_static_line", current_line.get())
            self.environment.handle_exception()
        finally:
            current_line.reset(token)
        return "".join(out)

    def _eval(self, expression: tuple[Any, ...], namespace: Mapping[str, Any]) -> Any:
        kind = expression[0]
        if kind == "const":
            return expression[1]
        if kind == "name":
            name = expression[1]
            if name in namespace:
                return namespace[name]
            return self.environment.undefined(name=name)
        if kind == "call":
            func = self._eval(expression[1], namespace)
            args = [self._eval(a, namespace) for a in expression[2]]
            kwargs = {k: self._eval(v, namespace) for k, v in expression[3]}
            return func(*args, **kwargs)
        if kind == "getattr":
            return self.environment.getattr(self._eval(expression[1], namespace), expression[2])
        if kind == "getitem":
            obj = self._eval(expression[1], namespace)
            return self.environment.getitem(obj, self._eval(expression[2], namespace))
        if kind == "list":
            return [self._eval(i, namespace) for i in expression[1]]
        if kind == "tuple":
            return tuple(self._eval(i, namespace) for i in expression[1])
        if kind == "dict":
            return {self._eval(k, namespace): self._eval(v, namespace) for k, v in expression[1]}
        raise AssertionError(f"unknown static expression {kind!r}")


def _to_string(value: Any) -> str:
    # What Jinja's generated code does for {{ value }} without autoescape; an
    # Undefined raises here exactly as it does in Jinja.
    return str(value)
