{#- The marts' nightly refresh (README "The nightly refresh"): which months and keys a night
    restates, and clearing the keys whose rows are all gone. -#}

{#- A post_hook for a delete+insert model whose `column` values `keys` (a subquery) were
    recomputed in this run: delete the rows of those keys it did not write again.
    delete+insert replaces only the keys among its new rows, so a key whose rows are all gone
    (every order of a month cancelled, an order no longer valid) would keep its old ones.
    Nothing on a full build. `column` may be a list of columns, `keys` then their tuples
    (compared with IS NOT DISTINCT FROM, so a NULL in one matches). -#}
{% macro delete_keys_not_written(column, keys) -%}
{%- if is_incremental() and column is string %}
delete from {{ this }}
where {{ column }} in {{ keys }}
    and {{ column }} not in (
        select {{ column }} from {{ changed_rows(this) }} where {{ column }} is not null
    )
{%- elif is_incremental() %}
{#- one IS NOT DISTINCT FROM per column: a hash join (on a row of columns it is not) #}
delete from {{ this }} as runner_this
where exists (
        select 1 from {{ keys }} as k ({{ column | join(', ') }})
        where {% for c in column %}k.{{ c }} is not distinct from runner_this.{{ c }}{{ ' and ' if not loop.last }}{% endfor %}
    )
    and not exists (
        select 1 from {{ changed_rows(this) }} as n
        where {% for c in column %}n.{{ c }} is not distinct from runner_this.{{ c }}{{ ' and ' if not loop.last }}{% endfor %}
    )
{%- endif %}
{%- endmacro %}

{#- The (order month, customer) pairs int_sales_customer_months restates tonight, as a
    subquery of (order_month, customer_id): those of the orders and lines the facts wrote or
    replaced (a new, moved, cancelled or refunded order restates its old and new pair; a line
    recategorised its own), and of the orders with a return whose product may have changed
    category: a product recategorised on some line (fct_order_items rewrites those), or one
    no line names (nothing else would notice). -#}
{% macro changed_sales_customer_months() -%}
(
    select order_month, customer_id
    from {{ changed_keys(['order_month', 'customer_id'], [ref('fct_orders'), ref('fct_order_items')]) }} as m
    union
    select o.order_month, o.customer_id
    from {{ ref('stg_shop__returns') }} as r
    inner join {{ ref('fct_orders') }} as o on o.order_id = r.order_id
    where r.product_id in (
        select n.product_id
        from {{ changed_rows(ref('fct_order_items')) }} as n
        inner join {{ replaced_rows(ref('fct_order_items')) }} as p
            on p.order_id = n.order_id and p.line_number = n.line_number
        where p.category is distinct from n.category
    )
        or r.product_id not in (
            select product_id from {{ ref('fct_order_items') }} where product_id is not null
        )
)
{%- endmacro %}

{#- The customers int_customer_closed_months writes again tonight (when its months stay
    those it holds), as a subquery. A closed month's row depends on the customer's valid
    orders in the closed months, their first order date and acquisition channel, so an order
    of the as-of month leaves it as it was, unless it is the customer's first (a new
    customer) or was. Hence: the customers sent tonight (a new channel, a new customer), those
    with an order written or replaced tonight in a closed month, and those with an order
    written or replaced tonight whose stored first order (before tonight) is not in a closed
    month (none stored: new to the table; one in the as-of month: it may be gone). Most nights
    that is the day's new customers, not the 9,000 who ordered (at 1e6 orders). -#}
{% macro closed_month_customers() -%}
{%- set as_of_month = "(select as_of_month from " ~ ref('as_of') ~ ")" -%}
(
    select customer_id from {{ changed_keys('customer_id', [ref('stg_shop__customers')]) }} as c
    union
    select customer_id from {{ changed_rows(ref('fct_orders')) }}
    where order_month < {{ as_of_month }} and customer_id is not null
    union
    select customer_id from {{ replaced_rows(ref('fct_orders')) }}
    where order_month < {{ as_of_month }} and customer_id is not null
    union
    (
        select customer_id from {{ changed_keys('customer_id', [ref('fct_orders')]) }} as o
        except
        select customer_id from {{ this }} where first_order_date < {{ as_of_month }}
    )
)
{%- endmacro %}

{#- The (customer_id, product_id) pairs of tonight's orders, as a subquery: those of the
    (order, product) rows int_order_products wrote or replaced, and of the lines
    fct_order_items wrote or replaced (which also name a pair whose order lost its last
    line, a row int_order_products' post_hook deletes without a copy). -#}
{% macro tonight_customer_products() -%}
{{ changed_keys(['customer_id', 'product_id'], [ref('int_order_products'), ref('fct_order_items')]) }}
{%- endmacro %}

{#- The cross-sell state's refresh (int_cross_sell_customers, int_cross_sell_pairs), keyed
    by (customer, product): the customers whose first or second valid order changed tonight
    (an int_order_sequence row written or replaced at place 1 or 2) are written again whole,
    since which products lie in the first order, and whether there is a later one, change
    for all their rows. For everyone else only tonight's (customer, product) pairs
    (tonight_customer_products) can change (in_later, or the row gone). -#}
{% macro cross_sell_whole_customers() -%}
(
    select customer_id from {{ changed_rows(ref('int_order_sequence')) }}
    where order_number <= 2
    union
    select customer_id from {{ replaced_rows(ref('int_order_sequence')) }}
    where order_number <= 2
)
{%- endmacro %}

{#- The two CTEs both cross-sell tables restate from: `touched`, tonight's (customer_id,
    product_id) pairs, and `whole`, the customers written whole (cross_sell_whole_customers,
    plus any union the caller's block adds). A model then reads the rows of a customer in
    `whole` or of a pair in `touched`. -#}
{% macro cross_sell_restated() -%}
touched as (
    select customer_id, product_id
    from {{ tonight_customer_products() }} as k
),

whole as (
    select customer_id from {{ cross_sell_whole_customers() }} as w
    {{- caller() }}
),
{%- endmacro %}

{#- The (customer_id, product) keys the two tables restate tonight, for their post_hooks:
    the pairs of tonight's (order, product) rows and every stored product of a customer
    written whole (`product_column`: the table's product column). -#}
{% macro cross_sell_keys(product_column) -%}
(
    select customer_id, product_id
    from {{ tonight_customer_products() }} as k
    union
    select customer_id, {{ product_column }} from {{ this }}
    where customer_id in {{ cross_sell_whole_customers() }}
)
{%- endmacro %}

{#- int_customer_months' movement flags (docs/metrics.md "Churn") from a row's snapshots, with
    the churn window `window_days` (the caller passes churn_window_days(), so a new value of
    the var rebuilds an incremental caller whole): shared by its closed months
    (int_customer_closed_months) and its as-of month. -#}
{% macro customer_month_flags(window_days) -%}
{%- set is_new = "cast(date_trunc('month', first_order_date) as date) = month" %}
{%- set active_start = "coalesce(datediff('day', last_order_date_at_start, period_start) <= "
    ~ window_days ~ ", false)" %}
{%- set active_end = "coalesce(datediff('day', last_order_date_at_end, period_end) <= "
    ~ window_days ~ ", false)" %}
    {{ is_new }} as is_new,
    {{ active_start }} as is_active_start,
    {{ active_end }} as is_active_end,
    {{ active_start }} and not {{ active_end }} as is_churned,
    not ({{ is_new }}) and not {{ active_start }} and has_ordered as is_reactivated
{%- endmacro %}

{#- The materialization of the marts' tables refreshed by key: incremental on DuckDB. On an
    engine whose tables take no DELETE (Spark's built-in catalog) the post_hook above cannot
    clear a key left without rows, so there they are tables built whole each night. -#}
{% macro refreshed_by_key() -%}
{{ 'incremental' if target.type == 'duckdb' else 'table' }}
{%- endmacro %}

{#- The months int_channel_months restates tonight, as a subquery of months: those of the
    orders and order places the facts changed (fct_orders rewrites an order whose answers
    arrived, so a complaint restates its order's month), of the answers changed (by
    submission; rows written again as they were do not count), and of the sessions staged;
    then what the as-of date moving brings: every month from the last as-of date's to
    tonight's (answers and sessions dated after the last as-of date count from tonight on)
    and the order months of the complaints submitted since; every month held when it moved
    back. -#}
{% macro changed_channel_months() -%}
(
    with as_of_window as materialized (
        select p.previous_as_of_date, a.as_of_date
        from {{ previous_as_of() }} as p
        cross join {{ ref('as_of') }} as a
    )
    select order_month
    from {{ differing_keys('order_month', [ref('fct_orders'), ref('int_order_sequence')]) }} as k
    union
    select submitted_month
    from {{ differing_keys('submitted_month', [ref('fct_feedback')]) }} as k
    union
    select cast(date_trunc('month', session_date) as date)
    from {{ changed_rows(ref('stg_shop__sessions')) }}
    where session_date is not null
    union
    select cast(m.month as date)
    from as_of_window as w
    cross join generate_series(
        cast(date_trunc('month', w.previous_as_of_date) as timestamp),
        cast(w.as_of_date as timestamp),
        interval 1 month
    ) as m (month)
    union
    select o.order_month
    from {{ ref('fct_feedback') }} as f
    inner join {{ ref('fct_orders') }} as o on o.order_id = f.order_id
    cross join as_of_window as w
    where f.is_complaint
        and f.submitted_date > w.previous_as_of_date and f.submitted_date <= w.as_of_date
    union
    select t.month
    from {{ this }} as t
    cross join as_of_window as w
    where w.as_of_date < w.previous_as_of_date or w.previous_as_of_date is null
)
{%- endmacro %}
