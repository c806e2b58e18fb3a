{#- Incremental refresh helpers (README "The nightly refresh"). -#}

{#- True when any of `columns` differs between the rows aliased `a` and `b` (NULL = NULL). -#}
{% macro any_differs(a, b, columns) -%}
({% for c in columns %}{{ a }}.{{ c }} is distinct from {{ b }}.{{ c }}{% if not loop.last %} or {% endif %}{% endfor %})
{%- endmacro %}

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

{#- A landing table that keeps every re-sent version (orders, customers), deduplicated
    incrementally: the keys a version was sent for since the stored one was picked, or that
    are new. A version that does not rank at or above the stored one (its updated_at is
    older) cannot be the latest, so it changes nothing; every other key's latest version is
    picked again from all of its versions. -#}
{% macro keys_with_new_versions(versions, key, columns) -%}
(
    select distinct v.{{ key }}
    from {{ versions }} as v
    left join {{ this }} as s on s.{{ key }} = v.{{ key }}
    where s.{{ key }} is null
        or coalesce(v.updated_at >= s.updated_at, true)
        and {{ any_differs('v', 's', columns) }}
)
{%- endmacro %}
