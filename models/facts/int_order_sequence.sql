{{ config(
    materialized=refreshed_by_key() | trim,
    unique_key='customer_id', incremental_strategy='delete+insert',
    post_hook="{{ delete_keys_not_written('customer_id', changed_keys('customer_id', [ref('fct_orders')])) }}",
    publish=false,
) }}  -- intermediate: not for BI
-- Each customer's valid orders on or before the as-of date in sequence: one row per order
-- with its place among the customer's orders (by date, then time, then order id: two orders
-- on one day are two purchases) and the days since the previous one (0 for a second order on
-- the same day, NULL for the first). The marts that rank or space a customer's orders
-- (customer_segments, purchase_intervals, next_purchase_cross_sell,
-- channel_kpis_monthly) read this table instead of
-- sorting every order each night. It does not move with the as-of date: a later order gets
-- the next number, the earlier ones keep theirs.
-- Incremental (delete+insert on customer_id): the customers of the orders fct_orders wrote or
-- replaced tonight get all their orders again (an order moved to another customer restates
-- both); a customer left without a valid order loses their rows (the post_hook).
with valid_orders as (
    select
        o.customer_id, o.order_id, o.order_date, o.ordered_at, o.order_month, o.channel,
        o.net_revenue
    from {{ ref('fct_orders') }} as o
    cross join {{ ref('as_of') }} as a
    where o.is_valid and o.customer_id is not null and o.order_date <= a.as_of_date
    {%- if is_incremental() %}
        and o.customer_id in {{ changed_keys('customer_id', [ref('fct_orders')]) }}
    {%- endif %}
)

select
    customer_id,
    order_id,
    order_date,
    ordered_at,
    order_month,
    channel,
    net_revenue,
    row_number() over (
        partition by customer_id order by order_date, ordered_at, order_id
    ) as order_number,
    datediff('day', lag(order_date) over (
        partition by customer_id order by order_date, ordered_at, order_id
    ), order_date) as gap_days
from valid_orders
