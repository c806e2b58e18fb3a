{#- Generic tests, dbt-utils style: each returns the failing rows. -#}
{% test expression_is_true(model, expression, column_name=none) %}
  {{ return(adapter.dispatch('test_expression_is_true', 'shop_utils')(model, expression, column_name)) }}
{% endtest %}

{% macro default__test_expression_is_true(model, expression, column_name) -%}
select * from {{ model }}
where not ({{ column_name ~ ' ' if column_name else '' }}{{ expression }})
{%- endmacro %}

{% test at_least_one(model, column_name) %}
select count({{ column_name }}) as non_null_values
from {{ model }}
having count({{ column_name }}) = 0
{% endtest %}
