{#- Incremental refresh helpers (README "The nightly refresh"). -#}

{#- The values of `column` in what the incremental models `relations` wrote in this run and in
    the rows those replaced (a row moved from one key to another changes both), as a subquery
    for `where key in (...)`. `column` may be a list of columns: then their tuples, a column
    NULL included (match them with IS NOT DISTINCT FROM). Only called under is_incremental(). -#}
{% macro changed_keys(column, relations) -%}
{%- set columns = column if column is not string else none -%}
{%- set selected = columns | join(', ') if columns else column -%}
{%- set present = columns[0] if columns else column -%}
(
    {%- for r in relations %}
    select {{ selected }} from {{ changed_rows(r) }} where {{ present }} is not null
    union
    select {{ selected }} from {{ replaced_rows(r) }} where {{ present }} is not null
    {%- if not loop.last %}
    union{% endif %}
    {%- endfor %}
)
{%- endmacro %}
