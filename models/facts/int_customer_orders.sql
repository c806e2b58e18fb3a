{{ config(materialized='incremental', unique_key='customer_id') }}
-- One row per customer of the landing: what their valid orders say whatever the as-of date
-- moves to (dim_customers adds what depends on it: recency, churn); NULL without a valid
-- order. Valid orders on or before the as-of date (with var as_of unset: every order).
-- Incremental: the customers sent in this run and those of the orders fct_orders wrote or
-- replaced are summed up again (macros/incremental.sql), so an order moved to another
-- customer leaves the first one too.
{%- set changed = changed_keys('customer_id', [
    ref('fct_orders'), ref('stg_shop__customers'),
]) if is_incremental() else none %}
with valid_orders as (
    select o.customer_id, o.order_id, o.order_date, o.net_revenue, o.gross_revenue
    from {{ ref('fct_orders') }} as o
    cross join {{ ref('as_of') }} as a
    where o.is_valid and o.order_date <= a.as_of_date
    {%- if changed %}
        and o.customer_id in {{ changed }}
    {%- endif %}
),

gaps as (
    select
        customer_id,
        datediff('day', lag(order_date) over (
            partition by customer_id order by order_date, order_id
        ), order_date) as gap_days
    from valid_orders
),

gap_stats as (
    select
        customer_id,
        avg(gap_days) as mean_days_between_orders,
        median(gap_days) as median_days_between_orders
    from gaps
    where gap_days is not null
    group by customer_id
),

order_stats as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as valid_orders,
        count(distinct order_date) as purchase_days,
        cast(sum(gross_revenue) as decimal(18, 4)) as gross_revenue,
        cast(sum(net_revenue) as decimal(18, 4)) as net_revenue
    from valid_orders
    group by customer_id
),

customers as (
    select customer_id
    from {{ ref('stg_shop__customers') }}
    {%- if changed %}
    where customer_id in {{ changed }}
    {%- endif %}
)

select
    c.customer_id,
    s.first_order_date,
    s.last_order_date,
    s.valid_orders,
    s.purchase_days,
    s.gross_revenue,
    s.net_revenue,
    g.mean_days_between_orders,
    g.median_days_between_orders
from customers as c
left join order_stats as s on s.customer_id = c.customer_id
left join gap_stats as g on g.customer_id = c.customer_id
