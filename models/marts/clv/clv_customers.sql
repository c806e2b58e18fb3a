-- Historical CLV per customer (docs/metrics.md "Customer lifetime value"): net revenue to date.
-- Grain: one row per customer with >= 1 valid order on or before the as-of date (customers
-- without one are in dim_customers only), including customers of orders that staging does
-- not know. Valid orders only; a refund is already taken off its order's net revenue in
-- fct_orders. A customer without an acquisition channel is grouped under 'unknown'.
with as_of as (
    select as_of_date from {{ ref('as_of') }}
),

-- The customers staging knows: their valid orders are summed once, incrementally, in
-- int_customer_orders (NULL without one).
known as (
    select customer_id, first_order_date, last_order_date, valid_orders, gross_revenue, net_revenue
    from {{ ref('int_customer_orders') }}
    where valid_orders > 0
),

valid_orders as (
    select o.customer_id, o.order_date, o.gross_revenue, o.net_revenue
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.is_valid and o.order_date <= a.as_of_date
),

-- Whether any valid order's customer is unknown to staging: the valid orders outnumber those
-- of the known customers. Usually not, and then the search below reads nothing (it costs
-- 0.15 s a night at 1e6 orders).
any_unknown as (
    select (select count(*) from valid_orders) > (select coalesce(sum(valid_orders), 0) from known)
        as found
),

-- Orders whose customer staging does not know (or without a customer) are summed here.
unknown as (
    select
        o.customer_id,
        min(o.order_date) as first_order_date,
        max(o.order_date) as last_order_date,
        count(*) as valid_orders,
        cast(sum(o.gross_revenue) as decimal(18, 4)) as gross_revenue,
        cast(sum(o.net_revenue) as decimal(18, 4)) as net_revenue
    from valid_orders as o
    cross join any_unknown as u
    where u.found
        and not exists (
            select 1 from {{ ref('stg_shop__customers') }} as c where c.customer_id = o.customer_id
        )
    group by o.customer_id
),

order_stats as (
    select * from known
    union all
    select * from unknown
)

select
    s.customer_id,
    cast(date_trunc('month', s.first_order_date) as date) as cohort_month,
    coalesce(c.acquisition_channel, 'unknown') as acquisition_channel,
    s.first_order_date,
    s.last_order_date,
    s.valid_orders,
    s.gross_revenue,
    -- fct_orders: net = gross - refund per order, in exact decimals, so also per customer
    cast(s.gross_revenue - s.net_revenue as decimal(18, 4)) as refund_amount,
    s.net_revenue,
    s.net_revenue as historical_clv,
    {{ money_divide('s.net_revenue', 's.valid_orders') }} as aov,
    datediff('day', s.first_order_date, a.as_of_date) as tenure_days,
    a.as_of_date
from order_stats as s
cross join as_of as a
left join {{ ref('dim_customers') }} as c on c.customer_id = s.customer_id
