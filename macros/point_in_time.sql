{#- Point in time: a rebuild with var as_of set to D says what a build made on D would have
    said. A raw row counts only when `column` (when it was sent, happened or was answered) is
    on or before D; staging then picks the latest version at or before D, since the landing
    tables keep every re-sent version. An unknown time (NULL) is not in the future. Without
    var as_of the as-of date is the day of the latest order and every landed row counts
    (the build sees all that has landed: answers and refunds after the last order day too). -#}
{% macro known_at_as_of(column) -%}
{%- set as_of = var('as_of', none) -%}
{%- if as_of -%}
coalesce(cast({{ column }} as date) <= cast('{{ as_of }}' as date), true)
{%- else -%}
true
{%- endif -%}
{%- endmacro %}

{#- The as-of date the staged orders selected with it give, an aggregate: var as_of, or the
    day of their latest order (any status). The as_of model's rule, and previous_as_of()'s. -#}
{% macro as_of_date_of_orders() -%}
{%- set as_of = var('as_of', none) -%}
cast(coalesce(cast({{ "'" ~ as_of ~ "'" if as_of else "null" }} as date), max(order_date)) as date)
{%- endmacro %}
