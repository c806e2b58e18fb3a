{#- Distinct values of a column, sorted, read from the database when the model compiles. -#}
{% macro get_column_values(table, column) -%}
  {{ return(adapter.dispatch('get_column_values', 'shop_utils')(table, column)) }}
{%- endmacro %}

{% macro default__get_column_values(table, column) -%}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set query -%}
    select distinct {{ column }} as value from {{ table }} order by 1
  {%- endset -%}
  {%- set result = run_query(query) -%}
  {{ return(result.columns[0].values() | list) }}
{%- endmacro %}
