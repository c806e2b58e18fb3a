{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key=['month', 'customer_id'], incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written(['month', 'customer_id'], changed_sales_customer_months()) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- What product_sales_monthly adds up, per order month x product category x ordering customer
-- (docs/metrics.md "Products"; the lines and refunds of valid orders placed on or before the
-- as-of date, as described there): the customer's distinct orders with a line, units, gross
-- revenue and refunds. The customer's region is left to product_sales_monthly, so a
-- customer who moves restates no month here: each night moves a few dozen customers, whose
-- orders lie in every month. An order has one customer and one month, so the distinct
-- orders add up over customers.
-- Incremental by (month, customer): a night restates the pairs macros/marts_refresh.sql
-- changed_sales_customer_months() names, every category of each (a pair left without a row
-- is cleared by the post_hook). By month it restated the whole month of tonight's orders:
-- 101,000 of 1.1M rows at 1e6 orders, for the 9,000 customers a day touches.
{%- set pairs = changed_sales_customer_months() if is_incremental() else none %}
with as_of as (
    select as_of_date from {{ ref('as_of') }}
),

orders as (
    select o.order_id, o.customer_id, o.order_month
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    {%- if pairs %}
    inner join {{ pairs }} as k
        on k.order_month = o.order_month and k.customer_id is not distinct from o.customer_id
    {%- endif %}
    where o.is_valid and o.order_date <= a.as_of_date
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
    a.customer_id,
    count(distinct a.order_id) filter (where a.is_line) as line_orders,
    cast(sum(a.units) as bigint) as units,
    sum(a.gross_revenue) as gross_revenue,
    sum(a.refund_amount) as refund_amount
from amounts as a
group by all
