{#- Incremental refresh helpers (README "The nightly refresh"). -#}

{#- The values of `column` in what the incremental models `relations` wrote in this run and in
    the rows those replaced (a row moved from one key to another changes both), as a subquery
    for `where key in (...)`. Only called under is_incremental(). -#}
{% macro changed_keys(column, relations) -%}
(
    {%- for r in relations %}
    select {{ column }} from {{ changed_rows(r) }} where {{ column }} is not null
    union
    select {{ column }} from {{ replaced_rows(r) }} where {{ column }} is not null
    {%- if not loop.last %}
    union{% endif %}
    {%- endfor %}
)
{%- endmacro %}
