{% macro cents_to_dollars(column_name, scale=2) -%}
  {{ return(adapter.dispatch('cents_to_dollars')(column_name, scale)) }}
{%- endmacro %}

{% macro default__cents_to_dollars(column_name, scale) -%}
  cast({{ column_name }} / 100 as numeric(16, {{ scale }}))
{%- endmacro %}
