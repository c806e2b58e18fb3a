-- Historical CLV per customer (docs/metrics.md "Customer lifetime value"): net revenue to date.
-- Grain: one row per customer with >= 1 valid order on or before the as-of date (customers
-- without one are in dim_customers only). Valid orders only; a refund is already taken off
-- its order's net revenue in fct_orders. A customer without an acquisition channel is
-- grouped under 'unknown'.
with as_of as (
    select as_of_date from {{ ref('as_of') }}
),

valid_orders as (
    select o.customer_id, o.order_date, o.gross_revenue, o.refund_amount, o.net_revenue
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.is_valid and o.order_date <= a.as_of_date
),

order_stats as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as valid_orders,
        cast(sum(gross_revenue) as decimal(18, 4)) as gross_revenue,
        cast(sum(refund_amount) as decimal(18, 4)) as refund_amount,
        cast(sum(net_revenue) as decimal(18, 4)) as net_revenue
    from valid_orders
    group by customer_id
)

select
    s.customer_id,
    cast(date_trunc('month', s.first_order_date) as date) as cohort_month,
    coalesce(c.acquisition_channel, 'unknown') as acquisition_channel,
    s.first_order_date,
    s.last_order_date,
    s.valid_orders,
    s.gross_revenue,
    s.refund_amount,
    s.net_revenue,
    s.net_revenue as historical_clv,
    {{ money_divide('s.net_revenue', 's.valid_orders') }} as aov,
    datediff('day', s.first_order_date, a.as_of_date) as tenure_days,
    a.as_of_date
from order_stats as s
cross join as_of as a
left join {{ ref('dim_customers') }} as c on c.customer_id = s.customer_id
