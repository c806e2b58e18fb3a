{{ config(
    materialized='incremental', unique_key='month', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('month', changed_sales_months()) }}",
) }}
-- Distribution (docs/metrics.md "Products"): units and net revenue by order month x product
-- category x customer region. Valid orders placed on or before the as-of date.
-- - Lines count in their product's category; a refund is taken off the category of the
--   product it returns (a return names a product), in its ORDER's month, so a late return
--   restates the past month, as in fct_orders. Every refund of a valid order lands in exactly
--   one row, so the months add up to fct_orders' net revenue to the cent.
-- - region is the ordering customer's region (their latest version); a product missing from
--   the catalogue (or a return without a product) has category 'unknown', a customer without
--   a region 'unknown'.
-- Sparse: a row only where a line or a refund exists.
-- Incremental by month: a night restates the months macros/marts_refresh.sql
-- changed_sales_months() names (a month left without a row is cleared by the post_hook).
{%- set months = changed_sales_months() if is_incremental() else none %}
with as_of as (
    select as_of_date from {{ ref('as_of') }}
),

orders as (
    select o.order_id, o.customer_id, o.order_month
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.is_valid and o.order_date <= a.as_of_date
    {%- if months %}
        and o.order_month in {{ months }}
    {%- endif %}
),

amounts as (
    select
        o.order_month,
        o.order_id,
        o.customer_id,
        i.category,
        true as is_line,
        coalesce(i.quantity, 0) as units,
        coalesce(i.line_amount, 0) as gross_revenue,
        0 as refund_amount
    from {{ ref('fct_order_items') }} as i
    inner join orders as o on o.order_id = i.order_id
    {%- if months %}
    where i.order_month in {{ months }}
    {%- endif %}
    union all
    select
        o.order_month,
        o.order_id,
        o.customer_id,
        p.category,
        false as is_line,
        0 as units,
        0 as gross_revenue,
        coalesce(r.refund_amount, 0) as refund_amount
    from {{ ref('stg_shop__returns') }} as r
    inner join orders as o on o.order_id = r.order_id
    left join {{ ref('stg_shop__products') }} as p on p.product_id = r.product_id
)

select
    a.order_month as month,
    coalesce(a.category, 'unknown') as category,
    coalesce(c.region, 'unknown') as region,
    count(distinct a.order_id) filter (where a.is_line) as orders,
    count(distinct a.customer_id) filter (where a.is_line) as customers,
    cast(sum(a.units) as bigint) as units,
    cast(sum(a.gross_revenue) as decimal(18, 4)) as gross_revenue,
    cast(sum(a.refund_amount) as decimal(18, 4)) as refund_amount,
    cast(sum(a.gross_revenue) - sum(a.refund_amount) as decimal(18, 4)) as net_revenue
from amounts as a
left join {{ ref('stg_shop__customers') }} as c on c.customer_id = a.customer_id
group by all
