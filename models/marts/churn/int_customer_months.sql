{{ config(materialized='table', publish=false) }}  -- intermediate: not for BI
-- Shared churn logic (docs/metrics.md "Churn"), one row per customer with a valid order x calendar
-- month, from the first month anyone ordered to the as-of month. Month-end snapshots:
-- the last valid order date on or before period_start and on or before period_end (a running
-- max over months, never a customer x day grid), whether the customer was active at each
-- (d - last <= W days), and this month's movement flags. Orders after the as-of date are
-- not known yet and are left out, so the as-of month ends on the as-of date.
with as_of as (
    select as_of_date, as_of_month
    from {{ ref('as_of') }}
),

valid_orders as (
    select
        o.customer_id,
        o.order_date,
        o.order_month
    from {{ ref('fct_orders') }} as o
    cross join as_of as a
    where o.is_valid and o.order_date <= a.as_of_date
),

customers as (
    select
        v.customer_id,
        d.acquisition_channel,
        min(v.order_date) as first_order_date
    from valid_orders as v
    inner join {{ ref('dim_customers') }} as d on d.customer_id = v.customer_id
    group by v.customer_id, d.acquisition_channel
),

bounds as (
    select min(v.order_month) as first_month, any_value(a.as_of_month) as as_of_month
    from valid_orders as v
    cross join as_of as a
),

months as (
    {{ month_spine('bounds', 'first_month', 'as_of_month') }}
),

monthly_orders as (
    select
        customer_id,
        order_month,
        max(order_date) as last_order_in_month
    from valid_orders
    group by customer_id, order_month
),

snapshots as (
    select
        c.customer_id,
        c.acquisition_channel,
        m.month,
        cast(m.month - 1 as date) as period_start,
        least(last_day(m.month), a.as_of_date) as period_end,
        c.first_order_date,
        mo.last_order_in_month is not null as has_ordered,
        max(mo.last_order_in_month) over (
            partition by c.customer_id
            order by m.month
            rows between unbounded preceding and 1 preceding
        ) as last_order_date_at_start,
        max(mo.last_order_in_month) over (
            partition by c.customer_id
            order by m.month
            rows between unbounded preceding and current row
        ) as last_order_date_at_end
    from customers as c
    cross join months as m
    cross join as_of as a
    left join monthly_orders as mo
        on mo.customer_id = c.customer_id and mo.order_month = m.month
),

flags as (
    select
        *,
        cast(date_trunc('month', first_order_date) as date) = month as is_new,
        coalesce(
            datediff('day', last_order_date_at_start, period_start) <= {{ churn_window_days() }},
            false
        ) as is_active_start,
        coalesce(
            datediff('day', last_order_date_at_end, period_end) <= {{ churn_window_days() }},
            false
        ) as is_active_end
    from snapshots
)

select
    customer_id,
    acquisition_channel,
    month,
    period_start,
    period_end,
    first_order_date,
    last_order_date_at_start,
    last_order_date_at_end,
    has_ordered,
    is_new,
    is_active_start,
    is_active_end,
    is_active_start and not is_active_end as is_churned,
    not is_new and not is_active_start and has_ordered as is_reactivated
from flags
