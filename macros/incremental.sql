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

{#- Like changed_keys, but only of the rows that differ: a row an incremental model wrote
    again exactly as it was (fct_feedback rewrites the answers of a customer sent tonight,
    most of them unchanged) changes nothing that sums it, so only the rows written that were
    not there before and the rows replaced that are not there now count. The rows are
    compared column by column in order, so the model's table must hold its SQL's columns in
    its order: a table left with other columns (on_schema_change 'ignore' warns about it)
    needs the model built again with --full-refresh first, or the comparison fails (another
    column count) or matches the wrong columns. Only called under is_incremental(). -#}
{% macro differing_keys(column, relations) -%}
(
    {%- for r in relations %}
    select {{ column }}
    from (
        (select * from {{ changed_rows(r) }} except select * from {{ replaced_rows(r) }})
        union all
        (select * from {{ replaced_rows(r) }} except select * from {{ changed_rows(r) }})
    ) as differing
    where {{ column }} is not null
    {%- if not loop.last %}
    union{% endif %}
    {%- endfor %}
)
{%- endmacro %}

{#- The as-of date of the last run, as a one-row subquery (previous_as_of_date): the as_of
    model's rule over the staged orders as that run left them, the ones this run did not
    write again and the versions it replaced. Only called under is_incremental(). -#}
{% macro previous_as_of() -%}
(
    select {{ as_of_date_of_orders() }} as previous_as_of_date
    from (
        select order_date
        from {{ ref('stg_shop__orders') }}
        where order_id not in (
            select order_id from {{ changed_rows(ref('stg_shop__orders')) }}
            where order_id is not null
        )
        union all
        select order_date from {{ replaced_rows(ref('stg_shop__orders')) }}
    ) as orders_before
)
{%- endmacro %}
