{{ config(materialized='table', publish=false) }}  -- intermediate: not for BI
-- int_customer_months' rows of the as-of month (docs/metrics.md "Churn"): one row per
-- customer with a valid order on or before the as-of date. The month is not over, its period
-- ends on the as-of date, which moves every night for every customer: a full table, computed
-- once a night from dim_customers (first and last valid order) and the customer's snapshot at
-- the end of the month before (int_customer_closed_months), and read by every churn mart
-- (as a view it was computed again by each).
with as_of as (
    select as_of_date, as_of_month
    from {{ ref('as_of') }}
),

previous_month as (
    select c.customer_id, c.last_order_date_at_end
    from {{ ref('int_customer_closed_months') }} as c
    where c.month = (select cast(as_of_month - interval 1 month as date) from as_of)
),

as_of_month as (
    select
        d.customer_id,
        d.acquisition_channel,
        a.as_of_month as month,
        cast(a.as_of_month - 1 as date) as period_start,
        least(last_day(a.as_of_month), a.as_of_date) as period_end,
        d.first_order_date,
        p.last_order_date_at_end as last_order_date_at_start,
        d.last_order_date as last_order_date_at_end,
        d.last_order_date >= a.as_of_month as has_ordered
    from {{ ref('dim_customers') }} as d
    cross join as_of as a
    left join previous_month as p on p.customer_id = d.customer_id
    where d.first_order_date is not null
)

select
    *,
    {{ customer_month_flags(churn_window_days()) }}
from as_of_month
