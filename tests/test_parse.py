"""Parsing: templating context, macros, YAML properties, config precedence, graph errors."""

from __future__ import annotations

import pytest

from runner.errors import ErrorGroup, ProjectError
from runner.parser import load_project
from runner.project import load_settings, load_target


def load(root, target=None, cli_vars=None, use_cache=True):
    settings = load_settings(root)
    return load_project(
        settings, load_target(settings, None, target), cli_vars, use_cache=use_cache
    )


def test_refs_sources_config_and_macros_are_recorded(make_project):
    root = make_project(
        {
            "macros/money.sql": """\
            {% macro cents(col) %}round({{ col }} / 100.0, {{ digits() }}){% endmacro %}
            {% macro digits() %}2{% endmacro %}
            {% macro unused() %}1{% endmacro %}
            """,
            "models/staging/stg_orders.sql": """\
            select order_id, {{ cents('amount') }} as amount
            from {{ source('shop', 'orders') }}
            where amount > {{ var('min_amount') }}
            """,
            "models/marts/revenue.sql": """\
            {{ config(tags=['mart'], alias='revenue_v2') }}

            select * from {{ ref('stg_orders') }}
            """,
        }
    )
    project = load(root)
    stg = project.graph.nodes["model.stg_orders"]
    assert [(s.source_name, s.table_name, s.line) for s in stg.sources] == [("shop", "orders", 2)]
    assert stg.macros == ("cents", "digits")
    assert stg.config == {"materialized": "view", "schema": "staging", "tags": ["daily"]}
    assert str(stg.relation) == '"staging"."stg_orders"'
    revenue = project.graph.nodes["model.revenue"]
    assert [(r.name, r.line) for r in revenue.refs] == [("stg_orders", 3)]
    assert revenue.config == {"materialized": "table", "tags": ["mart"], "alias": "revenue_v2"}
    assert str(revenue.relation) == '"main"."revenue_v2"'
    assert revenue.fqn == ("shop", "marts", "revenue")
    assert project.graph.parents["model.revenue"] == {"model.stg_orders"}
    assert project.graph.parents["model.stg_orders"] == {"source.shop.orders"}
    assert set(project.macros) == {"cents", "digits", "unused"}
    assert project.macros["digits"].line == 2


def test_config_precedence_folder_then_yaml_then_file(make_project):
    root = make_project(
        {
            "models/marts/m.sql": "{{ config(schema='final') }}select 1 as x",
            "models/marts/_marts.yml": """\
            models:
              - name: m
                description: The m model.
                config: {schema: from_yaml, materialized: incremental, unique_key: x}
                columns:
                  - name: x
                    description: the x
                    expectations: [not_null]
            """,
        }
    )
    model = load(root).graph.nodes["model.m"]
    assert model.config["schema"] == "final"
    assert model.config["materialized"] == "incremental"
    assert model.config["unique_key"] == "x"
    assert model.description == "The m model."
    assert model.columns[0].name == "x"
    assert model.columns[0].expectations == ("not_null",)
    assert model.columns[0].line == 6
    assert str(model.yaml_path) == "models/marts/_marts.yml"


def test_var_precedence_cli_over_project_and_default(make_project):
    root = make_project(
        {
            "models/a.sql": "select {{ var('min_amount') }} as a, {{ var('other', 7) }} as b",
        }
    )
    project = load(root, cli_vars={"min_amount": 99})
    assert project.vars["min_amount"] == 99
    from runner.compiler import compile_models

    sql = compile_models(project, write=False).nodes["model.a"].sql
    assert sql == "select 99 as a, 7 as b"


def test_missing_var_names_var_model_and_line(make_project):
    root = make_project({"models/a.sql": "select 1 as a\nwhere x > {{ var('nope') }}\n"})
    with pytest.raises(ProjectError) as info:
        load(root)
    assert "var 'nope' is not defined" in info.value.message
    assert "model 'a'" in info.value.message
    assert str(info.value.path) == "models/a.sql"
    assert info.value.line == 2


def test_missing_var_used_inside_macro_points_at_model_line(make_project):
    root = make_project(
        {
            "macros/m.sql": "{% macro threshold() %}{{ var('nope') }}{% endmacro %}",
            "models/a.sql": "select 1 as a\n\nwhere x > {{ threshold() }}\n",
        }
    )
    with pytest.raises(ProjectError) as info:
        load(root)
    assert str(info.value.path) == "models/a.sql"
    assert info.value.line == 3


def test_undefined_name_is_an_error_with_line(make_project):
    root = make_project({"models/a.sql": "select 1 as a\n-- hi\nfrom {{ reff('x') }}\n"})
    with pytest.raises(ProjectError) as info:
        load(root)
    assert "'reff' is undefined" in info.value.message
    assert (str(info.value.path), info.value.line) == ("models/a.sql", 3)


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        # a dbt package's namespace that is not installed
        ("{{ dbt_utils.star(ref('b')) }}", "'dbt_utils' is a dbt package: declare it"),
        ("{{ dbt_expectations.x() }}", "'dbt_expectations' is a dbt package"),
        # the parts of dbt's Jinja context the runner does not have
        ("{{ flags.FULL_REFRESH }}", "dbt's flags are not supported"),
        # a var written without var(), exactly or nearly
        ("{{ min_amount }}", "'min_amount' is a var: write var('min_amount')"),
        ("{{ min_amout }}", "did you mean var('min_amount')?"),
        # a near miss of a macro or of a context name
        ("{{ cent_to_dollars('x') }}", "did you mean 'cents_to_dollars'?"),
        ("{{ envvar('HOME') }}", "did you mean 'env_var'?"),
        # nothing it looks like
        ("{{ zzqx }}", "check the spelling; define vars under [tool.runner.vars]"),
    ],
)
def test_undefined_name_hint_says_what_the_name_looks_like(make_project, expression, hint):
    root = make_project(
        {
            "macros/money.sql": "{% macro cents_to_dollars(c) %}{{ c }} / 100{% endmacro %}",
            "models/b.sql": "select 1 as b",
            "models/a.sql": f"select 1 as a\nfrom {expression}\n",
        }
    )
    with pytest.raises(ProjectError) as info:
        load(root)
    assert "is undefined" in info.value.message
    assert (str(info.value.path), info.value.line) == ("models/a.sql", 2)
    assert hint in (info.value.hint or ""), info.value.hint


def test_undefined_inside_macro_names_macro_file_and_caller(make_project):
    root = make_project(
        {
            "macros/m.sql": "{% macro bad() %}\n{{ not_there }}\n{% endmacro %}\n",
            "models/a.sql": "select 1\n{{ bad() }}\n",
        }
    )
    with pytest.raises(ProjectError) as info:
        load(root)
    assert (str(info.value.path), info.value.line) == ("macros/m.sql", 2)
    assert "called by model 'a' at models/a.sql:2" in info.value.message


def test_jinja_syntax_error_names_file_and_line(make_project):
    root = make_project({"models/a.sql": "select 1\n{% if true %}\nx\n"})
    with pytest.raises(ProjectError) as info:
        load(root)
    assert info.value.message.startswith("Jinja syntax error")
    assert str(info.value.path) == "models/a.sql"
    assert info.value.line == 2  # Jinja points at the block left open


def test_env_var_this_target_and_is_incremental(make_project, monkeypatch):
    monkeypatch.setenv("SHOP_REGION", "eu")
    root = make_project(
        {
            "models/marts/a.sql": """\
            select '{{ env_var("SHOP_REGION") }}' as r, '{{ env_var("NOPE_X", "d") }}' as d,
              '{{ this }}' as t, '{{ this.identifier }}' as i, '{{ target.name }}' as tn,
              {{ is_incremental() }} as inc
            """,
        }
    )
    from runner.compiler import compile_models

    project = load(root, target="ci")
    sql = compile_models(project, write=False).nodes["model.a"].sql
    assert "'eu' as r, 'd' as d" in sql
    assert "'\"main\".\"a\"' as t, 'a' as i, 'ci' as tn" in sql
    assert "False as inc" in sql


def test_parse_cache_tracks_env_vars(make_project, monkeypatch):
    root = make_project({"models/a.sql": 'select \'{{ env_var("SHOP_X", "one") }}\' as x'})
    from runner.compiler import compile_models

    monkeypatch.setenv("SHOP_X", "first")
    assert "'first'" in compile_models(load(root), write=False).nodes["model.a"].sql
    monkeypatch.setenv("SHOP_X", "second")
    assert "'second'" in compile_models(load(root), write=False).nodes["model.a"].sql


def test_warm_parse_does_not_render(make_project, monkeypatch):
    root = make_project(
        {
            "models/a.sql": "select 1 as x",
            "models/b.sql": "select * from {{ ref('a') }}",
        }
    )
    load(root).cache.save()
    import runner.templating as templating

    def boom(*args, **kwargs):
        raise AssertionError("rendered although the cache was warm")

    monkeypatch.setattr(templating.Renderer, "render", boom)
    project = load(root)
    assert project.graph.parents["model.b"] == {"model.a"}
    # a changed var invalidates the parse of every model
    with pytest.raises(AssertionError, match="rendered although"):
        load(root, cli_vars={"min_amount": 1})


def test_macros_call_each_other_across_files(make_project):
    root = make_project(
        {
            "macros/a.sql": "{% macro outer(x) %}({{ inner(x) }} + 1){% endmacro %}",
            "macros/b.sql": "{% macro inner(x) %}{{ x }} * 2{% endmacro %}",
            "models/m.sql": "select {{ outer('c') }} as y from {{ ref('n') }}",
            "models/n.sql": "select 1 as c",
        }
    )
    from runner.compiler import compile_models

    project = load(root)
    assert project.graph.nodes["model.m"].macros == ("inner", "outer")
    assert (
        compile_models(project, write=False)
        .nodes["model.m"]
        .sql.startswith('select (c * 2 + 1) as y from "main"."n"')
    )


def test_duplicate_macro_names_both_places(make_project):
    root = make_project(
        {
            "macros/a.sql": "{% macro m() %}1{% endmacro %}",
            "macros/b.sql": "\n{% macro m() %}2{% endmacro %}",
            "models/x.sql": "select {{ m() }}",
        }
    )
    with pytest.raises(ProjectError, match="macro 'm' is defined twice") as info:
        load(root)
    assert "macros/a.sql:1" in info.value.message
    assert (str(info.value.path), info.value.line) == ("macros/b.sql", 2)


def test_unknown_ref_suggests_closest(make_project):
    root = make_project(
        {
            "models/stg_orders.sql": "select 1 as x",
            "models/b.sql": "select 1\nfrom {{ ref('stg_order') }}",
        }
    )
    with pytest.raises(ProjectError) as info:
        load(root)
    assert "unknown node 'stg_order'" in info.value.message
    assert "did you mean 'stg_orders'" in info.value.hint
    assert (str(info.value.path), info.value.line) == ("models/b.sql", 2)


def test_unknown_source(make_project):
    root = make_project({"models/b.sql": "select 1\n\nfrom {{ source('shop', 'order') }}"})
    with pytest.raises(ProjectError) as info:
        load(root)
    assert "unknown source 'shop.order'" in info.value.message
    assert "'shop.orders'" in info.value.hint
    assert info.value.line == 3


def test_cycle_prints_whole_path(make_project):
    root = make_project(
        {
            "models/a.sql": "select * from {{ ref('c') }}",
            "models/b.sql": "select * from {{ ref('a') }}",
            "models/c.sql": "select 1\nfrom {{ ref('b') }}",
        }
    )
    with pytest.raises(ProjectError) as info:
        load(root)
    message = info.value.message
    assert message.startswith("dependency cycle: ")
    cycle = message.removeprefix("dependency cycle: ").split(" -> ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]
    # each name is read by the next one
    reads = {"a": "c", "b": "a", "c": "b"}
    assert all(reads[cycle[i + 1]] == cycle[i] for i in range(3))
    assert str(info.value.path) == f"models/{cycle[1]}.sql"


def test_duplicate_model_names_name_both_files(make_project):
    root = make_project(
        {
            "models/staging/orders.sql": "select 1",
            "models/marts/orders.sql": "select 2",
        }
    )
    with pytest.raises(ProjectError) as info:
        load(root)
    assert "models/marts/orders.sql" in info.value.message
    assert "models/staging/orders.sql" in info.value.message


def test_ref_to_disabled_model(make_project):
    root = make_project(
        {
            "models/old.sql": "{{ config(enabled=false) }}select 1",
            "models/new.sql": "select * from {{ ref('old') }}",
        }
    )
    with pytest.raises(ProjectError, match="refers to 'old', which is disabled") as info:
        load(root)
    assert str(info.value.path) == "models/new.sql"


def test_all_graph_errors_reported_together(make_project):
    root = make_project(
        {
            "models/a.sql": "select * from {{ ref('nope1') }}",
            "models/b.sql": "select * from {{ ref('nope2') }}",
        }
    )
    with pytest.raises(ErrorGroup) as info:
        load(root)
    assert [str(e.path) for e in info.value.errors] == ["models/a.sql", "models/b.sql"]


def test_yaml_errors_name_file_and_line(make_project):
    root = make_project({"models/_m.yml": "models:\n  - name: a\n    columns: [\n"})
    with pytest.raises(ProjectError, match="invalid YAML") as info:
        load(root)
    assert str(info.value.path) == "models/_m.yml"
    assert info.value.line == 3  # where the "[" left open at the end of the file is
    assert "still open at the end of the file" in info.value.message


@pytest.mark.parametrize(
    ("yml", "line", "first"),
    [
        # two entries for one column, told apart only by letter case
        (
            "models:\n  - name: a\n    columns:\n      - name: id\n"
            "        description: key\n      - name: ID\n        expectations: [unique]\n",
            6,
            4,
        ),
        # a flow list on one line: told apart by position, not by line
        ("models:\n  - name: a\n    columns: [{name: id}, {name: id}]\n", 3, 3),
    ],
)
def test_a_column_listed_twice_is_an_error_at_its_second_entry(make_project, yml, line, first):
    root = make_project({"models/_m.yml": yml, "models/a.sql": "select 1 as id"})
    with pytest.raises(ProjectError, match="is listed twice") as info:
        load(root)
    assert str(info.value.path) == "models/_m.yml"
    assert info.value.line == line
    assert f"(first at line {first})" in info.value.message
    assert "merge the two entries" in info.value.hint


def test_yaml_for_unknown_model_is_a_warning(make_project):
    root = make_project(
        {
            "pyproject.toml": '[tool.runner]\nname = "shop"\n',  # no folder configs
            "models/_m.yml": "models:\n  - name: a\n  - name: ghost\n",
            "models/a.sql": "select 1",
        }
    )
    project = load(root)
    assert [(w.message, w.line) for w in project.warnings] == [
        ("YAML documents a model 'ghost' that does not exist", 3)
    ]


def test_seed_properties_and_header(make_project):
    root = make_project(
        {
            "seeds/regions.csv": "region_id,name\n1,north\n",
            "seeds/_seeds.yml": """\
            seeds:
              - name: regions
                config: {column_types: {region_id: integer}}
                columns:
                  - name: name
                    data_type: varchar
            """,
            "seeds/lookups/codes.csv": "code\nA\n",
        }
    )
    project = load(root)
    regions = project.graph.nodes["seed.regions"]
    assert regions.column_types == {"region_id": "integer", "name": "varchar"}
    codes = project.graph.nodes["seed.codes"]
    assert [c.name for c in codes.columns] == ["code"]
    assert codes.fqn == ("shop", "lookups", "codes")


def test_unknown_materialization_in_file(make_project):
    root = make_project({"models/a.sql": "\n{{ config(materialized='tabel') }}select 1"})
    with pytest.raises(ProjectError, match=r"config 'materialized' .* must be one of") as info:
        load(root)
    assert info.value.line == 2


def test_macro_files_are_read_from_the_cache_once_unchanged(make_project, monkeypatch):
    """A warm load takes each unchanged macro file's macros and code from the parse cache
    (parsing and compiling them was 0.08 s of a warm compile); an edited file is parsed
    again, and a name defined twice is still an error."""
    import jinja2

    from runner.compiler import compile_models

    root = make_project(
        {
            "macros/a.sql": "{% macro outer(x) %}({{ inner(x) }} + 1){% endmacro %}",
            "macros/b.sql": "\n{% macro inner(x) %}{{ x }} * 2{% endmacro %}",
            "models/m.sql": "select {{ outer('c') }} as y from {{ ref('n') }}",
            "models/n.sql": "select 1 as c",
        }
    )
    compile_models(load(root), write=False)  # saves the cache
    parse = jinja2.Environment.parse

    def no_macro_parse(self, source, name=None, filename=None):
        assert not str(name).startswith("macros/"), f"{name} parsed again"
        return parse(self, source, name, filename)

    monkeypatch.setattr(jinja2.Environment, "parse", no_macro_parse)
    warm = load(root, cli_vars={"x": 1})  # a var changed: every model renders again
    assert (warm.macros["inner"].line, warm.macros["outer"].calls) == (
        2,
        ("inner", "x"),
    )
    sql = compile_models(warm, write=False).nodes["model.m"].sql
    assert sql.startswith('select (c * 2 + 1) as y from "main"."n"')
    monkeypatch.undo()

    (root / "macros" / "b.sql").write_text("{% macro inner(x) %}{{ x }} * 3{% endmacro %}")
    sql = compile_models(load(root), write=False).nodes["model.m"].sql
    assert sql.startswith("select (c * 3 + 1) as y")
    (root / "macros" / "c.sql").write_text("\n\n{% macro outer(x) %}{% endmacro %}")
    with pytest.raises(ProjectError, match="macro 'outer' is defined twice") as info:
        load(root)
    assert (str(info.value.path), info.value.line) == ("macros/c.sql", 3)
