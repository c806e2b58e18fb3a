"""Simple templates are evaluated from Jinja's parse tree; the output must equal Jinja's."""

from __future__ import annotations

import jinja2
import pytest

from runner.static_templates import StaticTemplate, program_names, to_program

ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)

NAMESPACE = {
    "ref": lambda name: f'"main"."{name}"',
    "var": lambda name, default=None: {"n": 3}.get(name, default),
    "cfg": {"a": {"b": [10, 20]}},
    "obj": type("Obj", (), {"attr": "value", "method": lambda self, x: x * 2})(),
    "kw": lambda *args, **kwargs: f"{args}|{sorted(kwargs.items())}",
    "none_value": None,
}

STATIC = [
    "select 1",
    "",
    "select * from {{ ref('orders') }} where n > {{ var('n') }}\n",
    "{{ var('missing', 'fallback') }} {{ var('missing') }}",
    "{{ cfg.a.b[1] }} {{ cfg['a']['b'][0] }} {{ obj.attr }} {{ obj.method(21) }}",
    "{{ kw(1, 'x', [1, 2], (3,), {'k': 'v'}, flag=true, other=none) }}",
    "{{ none_value }} {{ 1.5 }} {{ 'quoted' }} {{ true }}",
    "line1\n  {{- ref('a') -}}  \nline3 {#- a comment -#} end",
]

DYNAMIC = [
    "{% if true %}x{% endif %}",
    "{% for c in ['a'] %}{{ c }}{% endfor %}",
    "{{ ref('a') | upper }}",
    "{{ 1 + 2 }}",
    "{{ -3 }}",
    "{{ 'a' ~ 'b' }}",
    "{% set x = 1 %}{{ x }}",
    "{{ kw(*[1]) }}",
]


@pytest.mark.parametrize("source", STATIC)
def test_static_render_equals_jinja(source):
    program = to_program(ENV.parse(source))
    assert program is not None
    expected = ENV.from_string(source).render(NAMESPACE)
    assert StaticTemplate(program, ENV, "m.sql").render(NAMESPACE) == expected


@pytest.mark.parametrize("source", DYNAMIC)
def test_other_templates_go_through_jinja(source):
    assert to_program(ENV.parse(source)) is None


def test_program_names_match_jinja_names():
    source = "{{ a(b.c, [d], {'k': e[f]}, x=g(h)) }} {{ 'const' }} {{ i }}"
    ast = ENV.parse(source)
    expected = {n.name for n in ast.find_all(jinja2.nodes.Name)}
    assert program_names(to_program(ast)) == expected == set("abdefghi")


def test_undefined_name_raises_like_jinja():
    program = to_program(ENV.parse("select\n{{ nope }}"))
    with pytest.raises(jinja2.UndefinedError, match="'nope' is undefined") as info:
        StaticTemplate(program, ENV, "m.sql").render(NAMESPACE)
    assert info.value.__dict__["runner_static_line"] == ("m.sql", 2)
    with pytest.raises(jinja2.UndefinedError):
        StaticTemplate(to_program(ENV.parse("{{ nope() }}")), ENV, "m.sql").render(NAMESPACE)
    with pytest.raises(jinja2.UndefinedError):
        StaticTemplate(to_program(ENV.parse("{{ obj.nope }}")), ENV, "m.sql").render(NAMESPACE)


def test_project_static_and_dynamic_models_compile_alike(make_project):
    from runner.compiler import compile_models
    from runner.parser import load_project
    from runner.project import load_settings, load_target

    body = (
        "select {{ cents('amount') }} as amount from {{ ref('base') }}\n"
        "where {{ var('min_amount') }} > 0"
    )
    root = make_project(
        {
            "macros/m.sql": "{% macro cents(c) %}round({{ c }} / 100.0, 2){% endmacro %}",
            "models/base.sql": "select 1 as amount",
            "models/static.sql": body,
            "models/dynamic.sql": "{% if true %}" + body + "{% endif %}",
        }
    )
    settings = load_settings(root)
    project = load_project(settings, load_target(settings, None, None))
    compiled = compile_models(project, write=False).nodes
    assert compiled["model.static"].sql == compiled["model.dynamic"].sql
    assert compiled["model.static"].sql == (
        'select round(amount / 100.0, 2) as amount from "main"."base"\nwhere 10 > 0'
    )
    assert project.graph.nodes["model.static"].macros == ("cents",)
